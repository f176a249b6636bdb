#!/usr/bin/env bash
# Self-test of tests/pods/pods.sh without the chat node: every pod runs a
# stand-in HTTP server (python3 -m http.server on the pod's address, port
# 8080) through POD_CMD. Checks namespaces, addresses, the DNS name that lists
# live pods, kill/stop/restart, cut/heal, the data directory each pod keeps
# across them, and that `down` leaves nothing.
# Needs root. Every wait is bounded; cleanup (pods.sh down) runs on any exit.
# Ends with "N passed, M failed"; exits non-zero when a check failed.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pods="$here/pods.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "selftest: needs root (network namespaces)"
  echo "0 passed, 1 failed"
  exit 1
fi

# One pod cluster per machine: wait for any other suite that holds the lock.
mkdir -p /run/lock
exec 8>/run/lock/chatpods.lock
if ! flock -w "${PODS_LOCK_WAIT:-600}" 8; then
  echo "selftest: another suite held /run/lock/chatpods.lock for ${PODS_LOCK_WAIT:-600} s"
  echo "0 passed, 1 failed"
  exit 1
fi
# A cluster of a suite that does not take the lock: wait (bounded) for it to
# go, never pull it from under its owner (PODS_SELFTEST_FORCE=1 does).
live_owner() {
  local o
  o=$(cat /run/chatpods.owner 2>/dev/null) || return 1
  ip link show chatbr0 >/dev/null 2>&1 && [ -f "$o/dnsmasq.pid" ] &&
    kill -0 "$(awk '{print $1}' "$o/dnsmasq.pid")" 2>/dev/null && echo "$o"
}
deadline=$((SECONDS + ${PODS_LOCK_WAIT:-600}))
while [ "${PODS_SELFTEST_FORCE:-0}" != 1 ] && owner=$(live_owner); do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "selftest: a pod cluster is up and running (PODS_STATE=$owner); not touching it."
    echo "  take it down (PODS_STATE=$owner $pods down) or set PODS_SELFTEST_FORCE=1"
    echo "0 passed, 1 failed"
    exit 1
  fi
  [ -n "${said:-}" ] || { echo "selftest: waiting for the pod cluster of PODS_STATE=$owner to go"; said=1; }
  sleep 2
done
if ip link show chatbr0 >/dev/null 2>&1; then
  echo "selftest: removing a leftover pod cluster (PODS_STATE=$(cat /run/chatpods.owner 2>/dev/null || echo unknown))"
  "$pods" down --force >/dev/null 2>&1
fi

PODS_STATE=$(mktemp -d /tmp/chatpods-selftest.XXXXXX)
export PODS_STATE
export PODS_STOP_TIMEOUT=5
# The stand-in "node": an HTTP server bound to the pod's own address, serving
# the pod's data directory (so a file put there shows that the node got it).
PY=$(command -v python3 || true)
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
export POD_CMD="$PY -m http.server --bind \"\$POD_IP\" --directory \"\$POD_DATA_DIR\" 8080"
NAME=chat-headless.pods.test

pass=0
fail=0
failed=()
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
nok() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL - $1${2:+: $2}"; }
check() { # name cmd...
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else nok "$name" "$(echo "$out" | tail -3 | tr '\n' ' ')"; fi
}

cleanup() {
  "$pods" down >/dev/null 2>&1 || true
  if [ "$fail" -eq 0 ]; then rm -rf "$PODS_STATE"; else echo "logs kept in $PODS_STATE"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers (all bounded)

# Sorted unique addresses the pod's resolver returns for NAME ("" if none).
resolve_in() { # I
  ip netns exec "chatpod$1" getent ahosts "$NAME" 2>/dev/null | awk '{print $1}' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
# Waits up to 10 s until pod I resolves NAME to exactly WANT.
dns_is() { # I WANT
  local got deadline=$((SECONDS + 10))
  while :; do
    got=$(resolve_in "$1")
    [ "$got" = "$2" ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || { echo "pod $1 resolves '$got', want '$2'"; return 1; }
    sleep 0.2
  done
}
# HTTP status code of a GET from inside pod I (or from the host when I=host).
http_from() { # I URL
  local pre=()
  [ "$1" = host ] || pre=(ip netns exec "chatpod$1")
  "${pre[@]}" curl -s --noproxy '*' --max-time 2 -o /dev/null -w '%{http_code}' "$2" 2>/dev/null
}
reach() { # FROM TO_INDEX: 200 within 10 s
  local deadline=$((SECONDS + 10)) code
  while :; do
    code=$(http_from "$1" "http://10.77.0.$2:8080/")
    [ "$code" = 200 ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || { echo "from $1 to 10.77.0.$2: HTTP '$code'"; return 1; }
    sleep 0.2
  done
}
# Pod I's node serves the file NAME of its data directory (200 within 10 s).
serves_file() { # I NAME
  local deadline=$((SECONDS + 10)) code
  while :; do
    code=$(http_from host "http://10.77.0.$1:8080/$2")
    [ "$code" = 200 ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || { echo "GET /$2 from pod $1: HTTP '$code'"; return 1; }
    sleep 0.2
  done
}
# Pod I has its data directory under PODS_STATE, named in its data-dir file.
data_dir_ok() { # I
  local d=$PODS_STATE/pods/$1/data
  [ -d "$d" ] || { echo "no $d"; return 1; }
  [ "$(cat "$PODS_STATE/pods/$1/data-dir" 2>/dev/null)" = "$d" ] || { echo "data-dir file of pod $1: '$(cat "$PODS_STATE/pods/$1/data-dir" 2>/dev/null)'"; return 1; }
}
unreachable() { # FROM TO_INDEX: no answer within curl's 2 s
  local code
  code=$(http_from "$1" "http://10.77.0.$2:8080/")
  [ "$code" = 000 ] || { echo "from $1 to 10.77.0.$2 answered HTTP $code"; return 1; }
}
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
gone() { # PID: exited within 10 s
  local deadline=$((SECONDS + 10))
  while alive "$1"; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "pid $1 still alive"; return 1; }
    sleep 0.1
  done
}
pid_in_ns() { # PID I: the process runs in pod I's network namespace, in its own session
  [ "$(ip netns identify "$1")" = "chatpod$2" ] || { echo "pid $1 in '$(ip netns identify "$1")'"; return 1; }
  [ "$(ps -o sid= -p "$1" | tr -d ' ')" = "$1" ] || { echo "pid $1 is not a session leader"; return 1; }
}
dns_listens_only_on_bridge() {
  local pid socks
  pid=$(awk '{print $1}' "$PODS_STATE/dnsmasq.pid")
  socks=$(ss -Hlntup 2>/dev/null | grep "pid=$pid," | awk '{print $5}' | sort -u)
  [ -n "$socks" ] || { echo "dnsmasq (pid $pid) listens nowhere"; return 1; }
  if grep -qv '^10\.77\.0\.254:53$' <<<"$socks"; then echo "dnsmasq also listens on: $socks"; return 1; fi
}
ns_setup_ok() { # I
  local ns=chatpod$1
  # (grep on captured output: with pipefail, `cmd | grep -q` can fail by SIGPIPE)
  grep -q "inet 10\.77\.0\.$1/24" <<<"$(ip -n "$ns" -o addr show dev eth0)" || { echo "no 10.77.0.$1 in $ns"; return 1; }
  grep -Eq '<([^>]*,)?UP[,>]' <<<"$(ip -n "$ns" -o link show dev lo)" || { echo "lo down in $ns"; return 1; }
  grep -qx 'nameserver 10.77.0.254' "/etc/netns/$ns/resolv.conf" || { echo "resolv.conf of $ns"; return 1; }
}
nothing_left() {
  local left=""
  grep -Eq '^chatpod[0-9]+' <<<"$(ip netns list)" && left+=" namespaces"
  grep -Eq ': (chatbr0|vchat[0-9]+)[:@]' <<<"$(ip -o link show)" && left+=" links"
  ls -d /etc/netns/chatpod* >/dev/null 2>&1 && left+=" /etc/netns"
  local p
  for p in "${all_pids[@]}"; do
    [ -n "$p" ] || continue
    gone "$p" >/dev/null || left+=" pid:$p($(ps -o stat=,args= -p "$p" 2>/dev/null | cut -c1-60))"
  done
  [ -z "$left" ] || { echo "left behind:$left"; return 1; }
}

# --- the test

all_pids=()
check "up 3 creates the bridge with 10.77.0.254/24" \
  bash -c "'$pods' up 3 && ip -o addr show dev chatbr0 | grep -q 'inet 10.77.0.254/24'"
for i in 1 2 3; do check "pod $i: namespace, address 10.77.0.$i, lo up, resolv.conf" ns_setup_ok "$i"; done
check "pods have no route outside 10.77.0.0/24 (ip route get, no traffic)" \
  bash -c "! ip -n chatpod1 route get 192.0.2.1 >/dev/null 2>&1 && ip -n chatpod1 route get 10.77.0.2 >/dev/null"
all_pids+=("$(awk '{print $1}' "$PODS_STATE/dnsmasq.pid" 2>/dev/null)")
check "dnsmasq listens only on 10.77.0.254:53" dns_listens_only_on_bridge
check "no pod started: the name has no address" bash -c "! ip netns exec chatpod1 getent ahosts $NAME"

for i in 1 2 3; do "$pods" start "$i" >/dev/null 2>&1; done
for i in 1 2 3; do
  check "pod $i serves, reached from the host" reach host "$i"
  p=$("$pods" pid "$i" 2>/dev/null) && all_pids+=("$p")
  check "pod $i: pid is the stand-in itself, in chatpod$i, own session" pid_in_ns "${p:-0}" "$i"
  check "pod $i: data directory \$PODS_STATE/pods/$i/data made and recorded" data_dir_ok "$i"
  echo "pod$i" >"$PODS_STATE/pods/$i/data/marker" 2>/dev/null
  check "pod $i: the node got its data directory (POD_DATA_DIR)" serves_file "$i" marker
done
check "DNS from pod 1 lists pods 1 2 3" dns_is 1 "10.77.0.1 10.77.0.2 10.77.0.3"
check "DNS from pod 3 lists pods 1 2 3" dns_is 3 "10.77.0.1 10.77.0.2 10.77.0.3"
check "an unknown name in pods.test does not resolve" bash -c "! ip netns exec chatpod1 getent ahosts nope.pods.test"
check "pod 1 reaches pod 2" reach 1 2
check "pod 3 reaches pod 1" reach 3 1
check "start on a running pod is refused" bash -c "! '$pods' start 1"
other=$(mktemp -d /tmp/chatpods-other.XXXXXX)
check "another PODS_STATE cannot bring up a second cluster" bash -c "! PODS_STATE='$other' '$pods' up 2"
check "another PODS_STATE cannot take this cluster down" bash -c "! PODS_STATE='$other' '$pods' down && '$pods' pid 1 >/dev/null"
rm -rf "$other"

p3=$("$pods" pid 3)
"$pods" kill 3
check "kill 3: the process is gone" gone "$p3"
check "kill 3: DNS lists pods 1 2 only" dns_is 1 "10.77.0.1 10.77.0.2"
check "kill 3: pid 3 reports nothing" bash -c "! '$pods' pid 3"
check "kill 3: its data directory is kept" test -s "$PODS_STATE/pods/3/data/marker"

p2=$("$pods" pid 2)
"$pods" cut 2
check "cut 2: pod 1 gets no answer from pod 2" unreachable 1 2
check "cut 2: the host gets no answer from pod 2" unreachable host 2
check "cut 2: the process lives on and stays in DNS" bash -c "kill -0 $p2 && '$pods' dns | grep -q '^10.77.0.2 '"
check "cut 2: status shows it cut" bash -c "'$pods' status | grep -Eq '^pod2 .* cut '"
check "cut 2: pod 1 still resolves through the bridge DNS" bash -c "ip netns exec chatpod1 getent ahosts $NAME >/dev/null"
"$pods" heal 2
check "heal 2: pod 1 reaches pod 2 again" reach 1 2
check "heal 2: pod 2 resolves the name again" dns_is 2 "10.77.0.1 10.77.0.2"

p1=$("$pods" pid 1)
check "stop 1 (SIGTERM) returns" "$pods" stop 1
check "stop 1: the process is gone" gone "$p1"
check "stop 1: DNS lists pod 2 only" dns_is 2 "10.77.0.2"
check "restart 1 starts it again" "$pods" restart 1
p=$("$pods" pid 1 2>/dev/null) && all_pids+=("$p")
check "restart 1: serving again" reach 2 1
check "restart 1: back in DNS" dns_is 2 "10.77.0.1 10.77.0.2"
check "restart 1: the node has the same data directory (a file put there before)" serves_file 1 marker
check "start 3 after a kill works" bash -c "'$pods' start 3 >/dev/null"
p=$("$pods" pid 3 2>/dev/null) && all_pids+=("$p")
check "start 3: back in DNS" dns_is 1 "10.77.0.1 10.77.0.2 10.77.0.3"
check "start 3 after a kill: the node has the same data directory" serves_file 3 marker
check "ip 2 prints 10.77.0.2" bash -c "[ \"\$('$pods' ip 2)\" = 10.77.0.2 ]"

check "down exits 0" "$pods" down
check "down leaves no namespace, link, /etc/netns dir or process" nothing_left
check "down a second time exits 0" "$pods" down
check "down keeps the data directories (like the logs)" test -s "$PODS_STATE/pods/2/data/marker"
check "a fresh up starts with empty data directories" \
  bash -c "'$pods' up 1 >/dev/null 2>&1 && [ ! -e '$PODS_STATE/pods/1/data/marker' ] && '$pods' down"
check "and its down leaves nothing either" nothing_left

echo
[ "$fail" -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
