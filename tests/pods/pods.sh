#!/usr/bin/env bash
# A pod-like local cluster for fault-injection tests (needs root).
#
# Each "pod" is a network namespace chatpodI with its own address 10.77.0.I on
# a private bridge (chatbr0, 10.77.0.254/24). A dnsmasq of our own, bound only
# to the bridge address, answers chat-headless.pods.test with the A records of
# every live pod, like a Kubernetes headless Service with
# publishNotReadyAddresses: the record is added when a pod is started and
# removed when it is killed or has stopped. Nothing outside 10.77.0.0/24 and
# the namespaces made here is ever used.
#
# usage: tests/pods/pods.sh COMMAND [ARGS]
#   up N              create bridge, DNS server and namespaces chatpod1..N
#                     (only the missing ones: a second `up` with a larger N adds pods)
#   start I [FLAGS]   start the node in pod I (extra FLAGS go after ours);
#                     adds 10.77.0.I to the DNS name
#   kill I            SIGKILL the node of pod I (a crash); removes its DNS record
#   stop I            SIGTERM, wait up to PODS_STOP_TIMEOUT s (default 15, then
#                     SIGKILL); removes its DNS record once the process is gone
#   restart I [FLAGS] stop, then start again (with the last FLAGS unless new ones are given)
#   cut I / heal I    host-side veth of pod I down / up: a silent peer, no socket is closed
#   wait I [PATH] [S] wait until http://10.77.0.I:8080PATH answers 200 (default
#                     /readyz, 30 s); exit 1 on time-out
#   exec I CMD...     run CMD inside pod I's namespace
#   ip I / pid I      print the pod's address / its live node's PID (exit 1 if none)
#   log I             print the path of pod I's log
#   dns               print the current DNS records
#   status            one line per pod
#   down [--force]    kill every process started here (by PID), delete namespaces,
#                     veths, bridge and /etc/netns dirs; idempotent. Logs and
#                     data directories are kept.
#                     Refuses while the cluster belongs to another live PODS_STATE
#                     (see below) unless --force.
#
# One cluster per machine: the bridge, the namespaces and 10.77.0.0/24 are
# global. `up` records its PODS_STATE in /run/chatpods.owner, and commands run
# with another PODS_STATE refuse to touch a cluster whose owner is still live.
# A test suite that brings a cluster up should hold the machine-wide lock for
# its whole run, so that two suites wait for each other instead of failing:
#   exec 8>/run/lock/chatpods.lock && flock -w 900 8     (or: flock FILE CMD)
#
# environment:
#   CHATD_BIN      node binary (default: build/chatd of this repository)
#   POD_CMD        stand-in command instead of the node, run with `bash -c "exec $POD_CMD"`
#                  and POD_IP, POD_INDEX, POD_NAME, POD_DNS_NAME in its environment;
#                  extra FLAGS are passed as "$@"
#   PODS_STATE     state directory: pid files, logs, DNS hosts file (default /tmp/chatpods)
#   PODS_STOP_TIMEOUT  seconds `stop` waits after SIGTERM (default 15)
#   PODS_PLAINTEXT set to 1: no cluster TLS. By default every node gets mutual
#                  TLS on the cluster port, with a CA and a certificate per pod
#                  (IP and DNS name) made by scripts/make-certs.sh in $PODS_STATE/certs
#   PODS_DATA_DIR  auto (default), 1 or 0. Every pod has a data directory,
#                  $PODS_STATE/pods/I/data, kept across kill, stop and restart (and
#                  by `down`, like the logs; a fresh `up` starts with empty ones).
#                  1: the node gets --data-dir DIR (a stand-in: POD_DATA_DIR=DIR);
#                  auto: the same, unless the node binary's --help lists no
#                  --data-dir (then memory only, said once per start);
#                  0: memory only (--data-dir= when the binary knows the flag, so
#                  that a CHAT_DATA_DIR in the environment does not count).
#                  $PODS_STATE/pods/I/data-dir names the directory while one is used.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

NET=10.77.0                     # the /24 every address comes from
BRIDGE=chatbr0
BRIDGE_IP=$NET.254
NS_PREFIX=chatpod               # namespaces chatpod1..N
VETH_PREFIX=vchat               # host-side veths vchat1..N (peer renamed eth0 in the pod)
DNS_NAME=chat-headless.pods.test
DNS_DOMAIN=pods.test
HTTP_PORT=8080
STATE=$(realpath -m "${PODS_STATE:-/tmp/chatpods}")
OWNER_FILE=/run/chatpods.owner
STOP_TIMEOUT=${PODS_STOP_TIMEOUT:-15}
CHATD_BIN=${CHATD_BIN:-$repo/build/chatd}

die() { echo "pods.sh: $*" >&2; exit 1; }
log() { echo "pods.sh: $*" >&2; }

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, bridge, port 53)"; }

check_index() {
  [[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 253 ] || die "pod index must be 1..253, got '${1:-}'"
}

ns_of() { echo "$NS_PREFIX$1"; }
veth_of() { echo "$VETH_PREFIX$1"; }
ip_of() { echo "$NET.$1"; }
pod_dir() { echo "$STATE/pods/$1"; }

ns_exists() { [ -e "/run/netns/$1" ]; }
link_exists() { ip link show dev "$1" >/dev/null 2>&1; }

# The state dir of another cluster that is still live (its dnsmasq runs), if any.
other_owner() {
  local o
  o=$(cat "$OWNER_FILE" 2>/dev/null) || return 1
  [ -n "$o" ] && [ "$o" != "$STATE" ] && link_exists "$BRIDGE" && live_pid "$o/dnsmasq.pid" >/dev/null && echo "$o"
}
check_owner() {
  local o
  if o=$(other_owner); then
    die "the pod cluster belongs to PODS_STATE=$o (still running); use that PODS_STATE, or take it down: PODS_STATE=$o $0 down"
  fi
  return 0
}

# --- processes, always by PID, guarded by the start time so a recycled PID is never hit

proc_start() { # PID -> start time in clock ticks (field 22 of /proc/PID/stat)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }               # drop "pid (comm) ", comm may hold spaces
  set -- $stat                    # now $1 is field 3 (state)
  [ "$1" != Z ] || return 1       # a zombie is dead
  echo "${20}"
}

record_pid() { # FILE PID
  local st
  st=$(proc_start "$2") || return 1
  echo "$2 $st" >"$1"
}

# FILE -> prints the PID when the recorded process is still alive
live_pid() {
  [ -f "$1" ] || return 1
  local pid st now
  read -r pid st <"$1" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  now=$(proc_start "$pid") || return 1
  [ "$now" = "$st" ] || return 1
  echo "$pid"
}

wait_dead() { # FILE TENTHS -> 0 once the recorded process is gone
  local n=0
  while live_pid "$1" >/dev/null; do
    [ "$n" -lt "$2" ] || return 1
    sleep 0.1
    n=$((n + 1))
  done
}

kill_recorded() { # FILE: SIGKILL and wait (bounded)
  local pid
  if pid=$(live_pid "$1"); then
    kill -KILL "$pid" 2>/dev/null || true
    wait_dead "$1" 50 || log "pid $pid still there after SIGKILL"
  fi
  rm -f "$1"
}

# --- data directories

# The node binary takes --data-dir (its --help lists it). Not `--help | grep -q`:
# with pipefail, grep quitting early can fail the pipeline by SIGPIPE.
knows_data_dir() { grep -q -- '--data-dir' <<<"$("$CHATD_BIN" --help 2>&1)"; }

# Prints the data directory pod I's next node gets ("" = memory only) and
# records it in the pod's data-dir file; makes the directory.
data_dir_for() { # I
  local dir want=0
  dir=$(pod_dir "$1")
  case ${PODS_DATA_DIR:-auto} in
    1) want=1 ;;
    0) want=0 ;;
    auto)
      if [ -n "${POD_CMD:-}" ] || knows_data_dir; then
        want=1
      else
        log "pod $1: memory only ($CHATD_BIN has no --data-dir)"
      fi
      ;;
    *) die "PODS_DATA_DIR must be auto, 1 or 0, got '$PODS_DATA_DIR'" ;;
  esac
  if [ "$want" = 1 ]; then
    mkdir -p "$dir/data"
    chmod 700 "$dir/data"
    echo "$dir/data" >"$dir/data-dir"
    echo "$dir/data"
  else
    rm -f "$dir/data-dir"
  fi
}

# --- installing what is missing

ensure_tools() {
  local missing=()
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  command -v dnsmasq >/dev/null 2>&1 || missing+=(dnsmasq-base)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v flock >/dev/null 2>&1 || missing+=(util-linux)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  # dnsmasq-base is the bare binary: no system service gets enabled or started.
  # policy-rc.d keeps any other package from starting one during this install.
  local prc=/usr/sbin/policy-rc.d made_prc=0
  if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"; made_prc=1; fi
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { [ "$made_prc" = 1 ] && rm -f "$prc"; die "apt-get install ${missing[*]} failed"; }
  [ "$made_prc" = 1 ] && rm -f "$prc"
  return 0
}

# --- state directory and lock

init_state() {
  if [ -d "$STATE" ] && [ ! -e "$STATE/.chatpods" ] && [ -n "$(ls -A "$STATE" 2>/dev/null)" ]; then
    die "$STATE exists and was not made by pods.sh; set PODS_STATE"
  fi
  mkdir -p "$STATE/pods"
  touch "$STATE/.chatpods"
  chmod 755 "$STATE"
}

with_lock() { # run "$@" holding the state lock (serialises concurrent pods.sh calls)
  mkdir -p "$STATE"
  exec 9>>"$STATE/.lock"
  flock -w 30 9 || die "could not lock $STATE/.lock"
  local rc=0
  "$@" || rc=$?
  flock -u 9
  exec 9>&-   # no started process inherits the lock file
  return $rc
}

# --- DNS

# Rewrites the hosts file from the pods marked "in DNS", then asks dnsmasq to
# read it again (SIGHUP re-reads --addn-hosts and clears its cache).
dns_sync() {
  local tmp="$STATE/hosts.tmp" d i
  : >"$tmp"
  for d in "$STATE"/pods/*/; do
    [ -e "$d/dns" ] || continue
    i=$(basename "$d")
    echo "$(ip_of "$i") $DNS_NAME" >>"$tmp"
  done
  sort -t . -k 4 -n "$tmp" -o "$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$STATE/hosts"
  local pid
  if pid=$(live_pid "$STATE/dnsmasq.pid"); then kill -HUP "$pid"; fi
}

dns_add() { touch "$(pod_dir "$1")/dns"; dns_sync; }
dns_del() { rm -f "$(pod_dir "$1")/dns"; dns_sync; }

start_dns() {
  live_pid "$STATE/dnsmasq.pid" >/dev/null && return 0
  [ -f "$STATE/hosts" ] || : >"$STATE/hosts"
  chmod 644 "$STATE/hosts"
  # Bound only to the bridge address; no upstream, no /etc/hosts, no DHCP;
  # answers for pods.test come from our hosts file alone, with a 1 s TTL and
  # no negative caching, so a change is seen by the next lookup.
  ( exec setsid dnsmasq --keep-in-foreground --conf-file=/dev/null \
      --bind-interfaces --listen-address="$BRIDGE_IP" --port=53 \
      --no-resolv --no-hosts --no-poll --addn-hosts="$STATE/hosts" \
      --local="/$DNS_DOMAIN/" --domain-needed \
      --local-ttl=1 --neg-ttl=1 --no-negcache \
      --user=root --group=root \
      --pid-file="$STATE/dnsmasq.daemon.pid" \
      --log-facility="$STATE/dnsmasq.log" ${PODS_DNS_LOG_QUERIES:+--log-queries}
  ) </dev/null >>"$STATE/dnsmasq.out" 2>&1 &
  local pid=$! n=0
  while ! record_pid "$STATE/dnsmasq.pid" "$pid" 2>/dev/null; do
    [ "$n" -lt 20 ] || die "dnsmasq did not start (see $STATE/dnsmasq.out)"
    sleep 0.05; n=$((n + 1))
  done
  # Ready once it listens on the bridge address.
  n=0
  until [ -n "$(ss -Hlun "src $BRIDGE_IP:53" 2>/dev/null)" ]; do
    live_pid "$STATE/dnsmasq.pid" >/dev/null || die "dnsmasq exited (see $STATE/dnsmasq.out, $STATE/dnsmasq.log)"
    [ "$n" -lt 100 ] || die "dnsmasq does not listen on $BRIDGE_IP:53"
    sleep 0.05; n=$((n + 1))
  done
}

# --- network

make_bridge() {
  if ! link_exists "$BRIDGE"; then
    ip link add "$BRIDGE" type bridge forward_delay 0 stp_state 0
  fi
  ip addr replace "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

make_pod() { # I
  local i=$1 ns veth pod_if
  ns=$(ns_of "$i"); veth=$(veth_of "$i"); pod_if="${veth}p"
  mkdir -p "/etc/netns/$ns" "$(pod_dir "$i")"
  printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$BRIDGE_IP" >"/etc/netns/$ns/resolv.conf"
  ns_exists "$ns" || ip netns add "$ns"
  if link_exists "$veth" && ! ip -n "$ns" link show dev eth0 >/dev/null 2>&1; then
    ip link del "$veth" 2>/dev/null || true   # a stale pair: make it anew
  fi
  if ! link_exists "$veth"; then
    ip link add "$veth" type veth peer name "$pod_if"
    ip link set "$pod_if" netns "$ns"
    ip -n "$ns" link set "$pod_if" name eth0
  fi
  ip link set "$veth" master "$BRIDGE"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$(ip_of "$i")/24" dev eth0
  ip -n "$ns" link set eth0 up
  # No default route: a pod reaches 10.77.0.0/24 and nothing else.
}

cmd_up() {
  local n=${1:-}
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 253 ] || die "usage: up N (1..253)"
  check_owner
  if ! link_exists "$BRIDGE" && [ -e "$STATE/.chatpods" ]; then
    # A fresh cluster: forget the last one's pid files, records, logs and data directories.
    rm -rf "${STATE:?}/pods" "$STATE/hosts" "$STATE"/dnsmasq.*
  fi
  init_state
  echo "$STATE" >"$OWNER_FILE"
  make_bridge
  local i
  for i in $(seq 1 "$n"); do make_pod "$i"; done
  with_lock dns_sync
  start_dns
  [ "$(cat "$STATE/n" 2>/dev/null || echo 0)" -ge "$n" ] || echo "$n" >"$STATE/n"
  log "up: $n pod(s) on $BRIDGE ($BRIDGE_IP/24), DNS $DNS_NAME at $BRIDGE_IP, state in $STATE"
}

# --- pods

cmd_start() {
  local i=${1:-}; check_index "$i"; shift
  local ns dir ip
  ns=$(ns_of "$i"); dir=$(pod_dir "$i"); ip=$(ip_of "$i")
  ns_exists "$ns" || die "pod $i does not exist (run: up N)"
  live_pid "$STATE/dnsmasq.pid" >/dev/null || start_dns
  if live_pid "$dir/pid" >/dev/null; then die "pod $i is already running (pid $(live_pid "$dir/pid"))"; fi
  mkdir -p "$dir"
  printf '%q ' "$@" >"$dir/args"
  local -a cmd
  if [ -n "${POD_CMD:-}" ]; then
    local data; data=$(data_dir_for "$i")
    cmd=(env POD_IP="$ip" POD_INDEX="$i" POD_NAME="pod$i" POD_DNS_NAME="$DNS_NAME" POD_DATA_DIR="$data"
      bash -c "exec $POD_CMD" "pod$i" "$@")
  else
    [ -x "$CHATD_BIN" ] || die "no node binary at $CHATD_BIN (set CHATD_BIN)"
    local data; data=$(data_dir_for "$i")
    local -a store=()
    if [ -n "$data" ]; then
      store=(--data-dir "$data")
    elif knows_data_dir; then
      store=(--data-dir=)
    fi
    local -a tls=()
    if [ -z "${PODS_PLAINTEXT:-}" ]; then
      local certs="$STATE/certs"
      if [ ! -s "$certs/pod$i.pem" ]; then
        with_lock "$repo/scripts/make-certs.sh" "$certs" "pod$i=IP:$ip,DNS:pod$i.$DNS_NAME" 2>/dev/null \
          || die "cannot make the certificate of pod $i (openssl?)"
      fi
      tls=(--cluster-tls-cert "$certs/pod$i.pem" --cluster-tls-key "$certs/pod$i.key" --cluster-tls-ca "$certs/ca.pem")
    fi
    # The admin port (9180: /metrics, /api/cluster, /debug) on the pod's
    # address too, so the runner reaches it as a monitoring system would.
    cmd=("$CHATD_BIN" "${tls[@]}" --node-name "pod$i" --http-addr "$ip" --cluster-addr "$ip"
      --admin-addr "$ip" --advertise-addr "$ip" --discovery-dns "$DNS_NAME"
      --discovery-interval-ms 500 --peer-timeout-ms 3000 "${store[@]}" "$@")
  fi
  echo "=== $(date -u +%FT%T.%3NZ) start pod$i: ${cmd[*]}" >>"$dir/log"
  # setsid: a session of its own, so the node outlives this script and a kill
  # hits exactly it; `ip netns exec` execs the command, so $! is the node itself.
  ( exec setsid ip netns exec "$ns" "${cmd[@]}" ) </dev/null >>"$dir/log" 2>&1 &
  local pid=$! n=0
  until record_pid "$dir/pid" "$pid" 2>/dev/null; do
    [ "$n" -lt 20 ] || die "pod $i exited at once (see $dir/log)"
    sleep 0.05; n=$((n + 1))
  done
  with_lock dns_add "$i"
  echo "$pid"
}

cmd_kill() {
  local i=${1:-}; check_index "$i"
  local dir; dir=$(pod_dir "$i")
  kill_recorded "$dir/pid"
  with_lock dns_del "$i"
}

cmd_stop() {
  local i=${1:-}; check_index "$i"
  local dir pid; dir=$(pod_dir "$i")
  if pid=$(live_pid "$dir/pid"); then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_dead "$dir/pid" $((STOP_TIMEOUT * 10)); then
      log "pod $i did not exit ${STOP_TIMEOUT}s after SIGTERM: SIGKILL"
      kill_recorded "$dir/pid"
    fi
  fi
  rm -f "$dir/pid"
  # Like a headless Service with publishNotReadyAddresses: the address stays
  # listed while the pod terminates and goes once the process is gone.
  with_lock dns_del "$i"
}

cmd_restart() {
  local i=${1:-}; check_index "$i"; shift
  local dir; dir=$(pod_dir "$i")
  cmd_stop "$i"
  if [ $# -eq 0 ] && [ -s "$dir/args" ]; then
    eval "set -- $(cat "$dir/args")"
  fi
  cmd_start "$i" "$@"
}

cmd_cut() {
  local i=${1:-}; check_index "$i"
  link_exists "$(veth_of "$i")" || die "pod $i does not exist"
  ip link set "$(veth_of "$i")" down
}

cmd_heal() {
  local i=${1:-}; check_index "$i"
  link_exists "$(veth_of "$i")" || die "pod $i does not exist"
  ip link set "$(veth_of "$i")" up
}

cmd_wait() {
  local i=${1:-}; check_index "$i"
  local path=${2:-/readyz} secs=${3:-30} url deadline
  url="http://$(ip_of "$i"):$HTTP_PORT$path"
  deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ]; do
    curl -fsS --noproxy '*' --max-time 1 -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  log "$url did not answer 200 within ${secs}s"
  return 1
}

cmd_status() {
  local d i ns pid link dns
  printf '%-5s %-10s %-11s %-8s %-5s %-4s\n' pod namespace ip pid link dns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$NS_PREFIX[0-9]+$" | sort -V); do
    i=${ns#"$NS_PREFIX"}
    d=$(pod_dir "$i")
    pid=$(live_pid "$d/pid" 2>/dev/null) || pid=-
    if grep -Eq '<([^>]*,)?UP[,>]' <<<"$(ip -o link show dev "$(veth_of "$i")" 2>/dev/null)"; then link=up; else link=cut; fi
    [ -e "$d/dns" ] && dns=yes || dns=no
    printf '%-5s %-10s %-11s %-8s %-5s %-4s\n' "pod$i" "$ns" "$(ip_of "$i")" "$pid" "$link" "$dns"
  done
  local dp; dp=$(live_pid "$STATE/dnsmasq.pid" 2>/dev/null) || dp="not running"
  echo "dns: $DNS_NAME at $BRIDGE_IP (dnsmasq pid $dp)"
  echo "state: $STATE (cluster owner: $(cat "$OWNER_FILE" 2>/dev/null || echo none))"
}

cmd_down() {
  local d ns veth pid o
  if [ "${1:-}" != --force ] && o=$(other_owner); then
    die "the pod cluster belongs to PODS_STATE=$o (still running): PODS_STATE=$o $0 down, or down --force"
  fi
  if [ "${1:-}" = --force ] && o=$(cat "$OWNER_FILE" 2>/dev/null) && [ -n "$o" ] && [ "$o" != "$STATE" ]; then
    # Its nodes and dnsmasq, by the PIDs it recorded.
    for d in "$o"/pods/*/; do [ -d "$d" ] && kill_recorded "$d/pid"; done
    kill_recorded "$o/dnsmasq.pid"
  fi
  # 1. Nodes we started, by their recorded PID.
  if [ -d "$STATE/pods" ]; then
    for d in "$STATE"/pods/*/; do
      [ -d "$d" ] || continue
      kill_recorded "$d/pid"
      rm -f "$d/dns" "$d/args"
    done
  fi
  # 2. Anything else still inside our namespaces (e.g. a child of a node),
  #    by the PIDs the kernel lists for that namespace.
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$NS_PREFIX[0-9]+$" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  # 3. Our dnsmasq.
  kill_recorded "$STATE/dnsmasq.pid"
  rm -f "$STATE/dnsmasq.daemon.pid" "$STATE/hosts" "$STATE/n"
  # 4. Veths first (deleting one end deletes the pair at once; a namespace's
  #    deletion would only do it later, in the background), then the
  #    namespaces, the bridge and /etc/netns; wait until they are gone.
  for veth in $(our_veths); do ip link del "$veth" 2>/dev/null || true; done
  for ns in $(our_namespaces); do ip netns del "$ns" 2>/dev/null || true; done
  link_exists "$BRIDGE" && { ip link del "$BRIDGE" 2>/dev/null || true; }
  local n=0
  while [ -n "$(our_veths)$(our_namespaces)" ] || link_exists "$BRIDGE"; do
    [ "$n" -lt 100 ] || { log "down: $(our_veths) $(our_namespaces) still there after 10 s"; break; }
    sleep 0.1; n=$((n + 1))
  done
  for d in /etc/netns/"$NS_PREFIX"*; do
    [[ $(basename "$d") =~ ^$NS_PREFIX[0-9]+$ ]] && rm -rf "$d"
  done
  rmdir /etc/netns 2>/dev/null || true
  rm -f "$OWNER_FILE"
  return 0
}

our_veths() { ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^$VETH_PREFIX[0-9]+$" || true; }
our_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$NS_PREFIX[0-9]+$" || true; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    up) need_root; ensure_tools; cmd_up "$@" ;;
    start) need_root; check_owner; cmd_start "$@" ;;
    kill) need_root; check_owner; cmd_kill "$@" ;;
    stop) need_root; check_owner; cmd_stop "$@" ;;
    restart) need_root; check_owner; cmd_restart "$@" ;;
    cut) need_root; check_owner; cmd_cut "$@" ;;
    heal) need_root; check_owner; cmd_heal "$@" ;;
    wait) cmd_wait "$@" ;;
    exec) need_root; local i=${1:-}; check_index "$i"; shift; exec ip netns exec "$(ns_of "$i")" "$@" ;;
    ip) check_index "${1:-}"; ip_of "$1" ;;
    pid) check_index "${1:-}"; live_pid "$(pod_dir "$1")/pid" ;;
    log) check_index "${1:-}"; echo "$(pod_dir "$1")/log" ;;
    dns) cat "$STATE/hosts" 2>/dev/null || true ;;
    status) cmd_status ;;
    down) need_root; cmd_down "$@" ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
