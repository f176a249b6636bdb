#!/usr/bin/env bash
# Builds the Dockerfile without Docker and smoke-tests the image (needs root,
# debootstrap and the Debian mirror; about 10 minutes on 2 cores; not part of
# CI). This machine has no Docker engine, so this script carries out the
# Dockerfile's instructions itself, for the subset it uses:
#   FROM debian:12 / debian:12-slim  -> a debootstrap --variant=minbase bookworm
#                                       root file system (cached), with the same
#                                       apt sources as the Debian image
#   RUN        -> /bin/sh -c in a chroot (private mount namespace: /proc, /dev)
#   COPY . .   -> the context less .dockerignore; COPY --from=STAGE SRC DST
#   WORKDIR, ENV, USER, EXPOSE, ENTRYPOINT -> recorded and applied
# Then it runs the final stage's ENTRYPOINT as its USER, in a network
# namespace of its own, with the root file system read-only and a tmpfs on
# /tmp (as the StatefulSet's securityContext has it), and checks /healthz,
# /readyz and a SIGTERM drain that ends with exit status 0 within 15 s.
# Then it runs it as the StatefulSet does, with a data volume: a directory of
# its own mounted at /var/lib/chatd, root-owned with group 10001 and mode
# 2775 (what fsGroup makes of a fresh volume, lost+found included), and
# CHAT_DATA_DIR=/var/lib/chatd/history. It checks /readyz, the store's files
# (CURRENT), a message published over WebSocket (a client on the host's node,
# run in the node's network namespace) and read back over HTTP, the drain;
# then starts the node again on the same directory and checks /readyz and
# that the message is still in the room's history (HTTP and WebSocket).
# Every wait is bounded; the node's mounts live in a private mount namespace
# and go with it, the network namespace is deleted on exit.
# Ends with "N passed, M failed".
#   tests/k8s/dockerfile-chroot.sh [--keep]        (--keep: leave the work dir)
#   tests/k8s/dockerfile-chroot.sh --reuse DIR     (smoke-test a kept work dir again
#                                                   without building: RUN/COPY skipped)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ctx=$(cd "$here/../.." && pwd)
dockerfile=$ctx/Dockerfile
cache=${DOCKERFILE_CHROOT_CACHE:-/var/cache/chat-dockerfile-chroot}
keep=0
reuse=""
case ${1:-} in
  --keep) keep=1 ;;
  --reuse) reuse=$(realpath "${2:?--reuse DIR}"); keep=1 ;;
esac

[ "$(id -u)" -eq 0 ] || { echo "needs root (chroot, mounts)"; echo "0 passed, 1 failed"; exit 1; }
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 ||
    { echo "cannot install debootstrap"; echo "0 passed, 1 failed"; exit 1; }
fi

if [ -n "$reuse" ]; then work=$reuse; else work=$(mktemp -d /var/tmp/dockerfile-chroot.XXXXXX); fi
netns=chatimg$$
node_pid=""
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
nok() { fail=$((fail + 1)); echo "FAIL - $1${2:+: $2}"; }
cleanup() {
  # The node's mounts are in its private mount namespace: they go with it.
  if [ -n "$node_pid" ]; then kill -KILL "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; fi
  ip netns del "$netns" 2>/dev/null
  if [ "$keep" = 1 ]; then echo "work dir kept: $work"; else rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- base images

base_tar() { # -> path of a cached minbase bookworm tarball
  local tar=$cache/bookworm-minbase.tar
  if [ ! -s "$tar" ]; then
    mkdir -p "$cache"
    local r; r=$(mktemp -d /var/tmp/debootstrap.XXXXXX)
    echo "# debootstrap --variant=minbase bookworm (once; cached in $cache)" >&2
    timeout --kill-after=10 1800 debootstrap --variant=minbase bookworm "$r" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
      { tail -5 "$work/debootstrap.log" >&2; rm -rf "$r"; return 1; }
    # The apt sources of the debian:12 image.
    rm -f "$r/etc/apt/sources.list"
    cat >"$r/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"*
    chmod 755 "$r"   # mktemp made it 0700; an image's / is 0755
    tar -C "$r" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$r"
  fi
  echo "$tar"
}

# --- the interpreter

declare -A stage_dir=()
stage=""
root=""
workdir=/
user=""
entrypoint=""
exposed=""
declare -a envs=()
n_stage=0

in_root() { # CMD: /bin/sh -c CMD in the stage's root, private mounts; at most 45 minutes
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  local envfile="$root/.chroot-env"
  printf '%s\n' "${envs[@]}" >"$envfile"
  timeout --kill-after=10 2700 unshare -m --propagation private /bin/sh -c '
    r=$1; wd=$2; cmd=$3
    mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" || exit 99
    exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      $(cat "$r/.chroot-env") /bin/sh -c "mkdir -p \"$wd\" && cd \"$wd\" && $cmd"
  ' sh "$root" "$workdir" "$1"
  local rc=$?
  rm -f "$envfile"
  return $rc
}

context_tar() { # the build context less .dockerignore
  local -a ex=()
  local pat
  while IFS= read -r pat; do
    pat=${pat%%#*}; pat=$(echo "$pat" | xargs)
    [ -z "$pat" ] && continue
    case $pat in
      '**/'*) ex+=(--no-anchored "--exclude=${pat#'**/'}") ;;
      *) ex+=(--anchored "--exclude=./$pat") ;;
    esac
  done <"$ctx/.dockerignore"
  tar -C "$ctx" -cf - "${ex[@]}" .
}

do_from() { # IMAGE [AS NAME]
  local image=$1 name=${3:-}
  case $image in
    debian:12 | debian:12-slim) ;;
    *) echo "unsupported base image $image"; return 1 ;;
  esac
  n_stage=$((n_stage + 1))
  root=$work/stage$n_stage
  if [ -n "$reuse" ] && [ -d "$root" ]; then
    chmod 755 "$root"
  else
    mkdir -p "$root"
    local t; t=$(base_tar) || return 1
    tar -C "$root" -xf "$t"
    chmod 755 "$root"
  fi
  if [ "$image" = debian:12-slim ]; then
    # What debian:12-slim drops from the minimal system: docs, man pages, locales.
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  fi
  stage=${name:-$n_stage}
  stage_dir[$stage]=$root
  stage_dir[$n_stage]=$root
  workdir=/; user=""; entrypoint=""; exposed=""; envs=()
}

do_copy() { # [--from=STAGE] SRC DST
  local from=""
  if [[ $1 == --from=* ]]; then from=${1#--from=}; shift; fi
  local src=$1 dst=$2
  [[ $dst == /* ]] || dst=$workdir/$dst
  if [ -z "$from" ]; then
    [ "$src" = . ] || { echo "COPY from the context supports only '.'"; return 1; }
    mkdir -p "$root$dst"
    context_tar | tar -C "$root$dst" -xf -
  else
    local fr=${stage_dir[$from]:-}
    [ -n "$fr" ] || { echo "no stage $from"; return 1; }
    [[ $src == /* ]] || src=/$src
    if [[ $dst == */ ]]; then mkdir -p "$root$dst"; else mkdir -p "$(dirname "$root$dst")"; fi
    cp -a "$fr$src" "$root$dst"
  fi
}

build() {
  local line instr rest
  # Join continuation lines, drop comments and blank lines.
  sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$dockerfile" | grep -v '^[[:space:]]*#' | grep -v '^[[:space:]]*$' >"$work/Dockerfile.flat"
  while IFS= read -r line; do
    instr=${line%% *}; rest=${line#* }
    echo "# $line" | cut -c1-160
    case ${instr^^} in
      FROM) do_from $rest || return 1 ;;
      RUN) [ -n "$reuse" ] && continue; in_root "$rest" >>"$work/build.log" 2>&1 || { echo "RUN failed; last lines of $work/build.log:"; tail -15 "$work/build.log"; return 1; } ;;
      COPY) [ -n "$reuse" ] && continue; do_copy $rest || return 1 ;;
      WORKDIR) workdir=$rest; mkdir -p "$root$workdir" ;;
      ENV) local kv; for kv in $rest; do envs+=("$kv"); done ;;
      USER) user=$rest ;;
      EXPOSE) exposed=$rest ;;
      ENTRYPOINT) entrypoint=$rest ;;
      *) echo "unsupported instruction $instr"; return 1 ;;
    esac
  done <"$work/Dockerfile.flat"
}

echo "# building $dockerfile in chroots under $work"
start=$SECONDS
if build; then
  if [ -n "$reuse" ]; then ok "the Dockerfile's stages are there (reused from $work, not rebuilt)"; else ok "the Dockerfile builds ($((SECONDS - start)) s)"; fi
else nok "the Dockerfile builds"; echo "$pass passed, $fail failed"; exit 1; fi

# --- smoke test of the final stage

img=$root
bin=$(echo "$entrypoint" | sed -E 's/^\[\s*"([^"]+)".*/\1/')
uid=${user%%:*}; gid=${user#*:}; [ "$gid" = "$user" ] && gid=$uid
[ -x "$img$bin" ] && ok "the image has $bin" || nok "the image has $bin"
missing=$(chroot "$img" /usr/bin/ldd "$bin" 2>&1 | grep 'not found' || true)
[ -z "$missing" ] && ok "every shared library of $bin resolves in the runtime image" || nok "libraries resolve" "$missing"
[[ $uid =~ ^[0-9]+$ ]] && [ "$uid" -ne 0 ] && grep -q ":$uid:" "$img/etc/passwd" &&
  ok "USER $user is a non-root user of the image" || nok "USER $user is a non-root user of the image"
for p in libcaf-core0.17 libcaf-io0.17 librocksdb7.8; do
  chroot "$img" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && ok "runtime image has $p" || nok "runtime image has $p"
done
! chroot "$img" dpkg-query -W -f='${Status}' g++ 2>/dev/null | grep -q 'install ok installed' &&
  ok "runtime image has no compiler" || nok "runtime image has no compiler"
owner=$(stat -c '%u:%g' "$img/var/lib/chatd" 2>/dev/null)
[ "$owner" = "$uid:$gid" ] && ok "the image has /var/lib/chatd owned by $uid:$gid (the volume's mount point)" ||
  nok "the image has /var/lib/chatd owned by $uid:$gid" "${owner:-missing}"

ip netns add "$netns"
ip -n "$netns" link set lo up
export UIDGID="$uid:$gid"

start_node() { # LOG [DATA]: sets node_pid
  # Read-only root, tmpfs /tmp, the image's ENV plus what the pod sets, as USER.
  # With DATA: that directory at /var/lib/chatd (the claim's volume) and the
  # StatefulSet's CHAT_DATA_DIR.
  local log=$1 data=${2:-}
  local -a pod=(CHAT_NODE_NAME=chat-0 CHAT_ADVERTISE_ADDR=127.0.0.1 CHAT_DISCOVERY_DNS=localhost CHAT_DRAIN_GRACE_MS=2000)
  [ -n "$data" ] && pod+=(CHAT_DATA_DIR=/var/lib/chatd/history)
  ip netns exec "$netns" unshare -m --propagation private /bin/sh -c '
    r=$1; d=$2; shift 2
    mount --bind "$r" "$r" && mount -o remount,bind,ro "$r" && mount -t tmpfs -o size=64m tmpfs "$r/tmp" &&
    mount -t proc proc "$r/proc" || exit 99
    if [ -n "$d" ]; then mount --bind "$d" "$r/var/lib/chatd" || exit 99; fi
    exec chroot --userspec="$UIDGID" "$r" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin "$@"
  ' sh "$img" "$data" "${envs[@]}" "${pod[@]}" "$bin" >"$log" 2>&1 &
  node_pid=$!
}
exited() { # PID: gone, or a zombie not yet reaped
  local st; st=$(cut -d')' -f2 "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)
  [ -z "$st" ] || [ "$st" = Z ]
}
wait_ready() { # 0 once /readyz is 200, within 30 s; 1 if the node exits or does not get there
  local t0=$SECONDS
  while [ $((SECONDS - t0)) -lt 30 ]; do
    ip netns exec "$netns" curl -fsS --noproxy '*' --max-time 1 -o /dev/null http://127.0.0.1:8080/readyz 2>/dev/null && return 0
    exited "$node_pid" && return 1
    sleep 0.2
  done
  return 1
}
stop_node() { # SIGTERM; SIGKILL after 20 s. Sets stop_rc and stop_ms.
  local t0=${EPOCHREALTIME/./}
  kill -TERM "$node_pid" 2>/dev/null
  while ! exited "$node_pid" && [ $(((${EPOCHREALTIME/./} - t0) / 1000000)) -lt 20 ]; do sleep 0.1; done
  exited "$node_pid" || kill -KILL "$node_pid" 2>/dev/null
  wait "$node_pid"
  stop_rc=$?
  stop_ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
  node_pid=""
}
check_stop() { # WHAT
  stop_node
  if [ "$stop_rc" -eq 0 ] && [ "$stop_ms" -le 15000 ]; then
    ok "$1: SIGTERM drains and exits 0 in $((stop_ms / 1000)).$((stop_ms % 1000 / 100)) s (<= terminationGracePeriodSeconds 15)"
  else nok "$1: SIGTERM drains and exits 0 within 15 s" "status $stop_rc after $stop_ms ms"; fi
}
code() { ip netns exec "$netns" curl -s --noproxy '*' --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080$1"; }
get() { ip netns exec "$netns" curl -fsS --noproxy '*' --max-time 2 "http://127.0.0.1:8080$1" 2>&1; }

# 1. As `docker run` has it: no data directory, history in memory.
start_node "$work/node.log"
ready=0; wait_ready && ready=1
[ "$(code /healthz)" = 200 ] && ok "the image serves /healthz (read-only root, non-root user)" || nok "the image serves /healthz" "$(tail -3 "$work/node.log")"
[ "$ready" = 1 ] && ok "the image becomes ready (/readyz 200)" || nok "the image becomes ready" "$(tail -3 "$work/node.log")"
check_stop "no data dir"

# 2. As the StatefulSet has it: the claim's volume at /var/lib/chatd. The
# kubelet's fsGroup (10001, OnRootMismatch) leaves a fresh volume root-owned,
# group 10001, mode 2775; an ext4 volume has lost+found.
data=$work/data
rm -rf "$data"
install -d -m 2775 -o 0 -g "$gid" "$data"
install -d -m 0700 -o 0 -g 0 "$data/lost+found"
room=smoke
text="kept on the volume $$"
# A WebSocket client on the host's node (>= 20; 21 and older behind a flag),
# run in the node's network namespace.
#   publish ROOM TEXT -> prints the acked id;  expect ROOM ID -> prints the text of ID in the room's history
ws_client='
const [mode, room, arg] = process.argv.slice(1);
const fail = (why) => { console.error(why); process.exit(1); };
setTimeout(() => fail("no answer within 10 s"), 10000);
const ws = new WebSocket(`ws://127.0.0.1:8080/ws?user=smoke&rooms=${room}`);
ws.onerror = () => fail("WebSocket error");
ws.onclose = (e) => fail(`closed ${e.code}`);
ws.onmessage = (e) => {
  const f = JSON.parse(e.data);
  if (f.type === "error") fail(`error ${f.code}: ${f.message}`);
  if (f.type === "ack" && f.client_id === "smoke-1") { console.log(f.id); process.exit(0); }
  if (f.type !== "history" || f.room !== room) return;
  if (mode === "publish") return ws.send(JSON.stringify({ type: "message", room, text: arg, client_id: "smoke-1" }));
  const m = f.messages.find((x) => x.id === arg);
  if (!m) fail(`the history of ${room} has no ${arg}: ${JSON.stringify(f.messages)}`);
  console.log(m.text); process.exit(0);
};'
ws_node=()
if command -v node >/dev/null 2>&1; then
  for flag in "" --experimental-websocket; do
    if node ${flag:+"$flag"} -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null; then
      ws_node=(node ${flag:+"$flag"}); break
    fi
  done
fi
ws() { timeout -k 2 20 ip netns exec "$netns" "${ws_node[@]}" -e "$ws_client" "$@" 2>>"$work/ws.log"; }
has_message() { # JSON ID TEXT
  grep -qF "\"id\":\"$2\"" <<<"$1" && grep -qF "\"text\":\"$3\"" <<<"$1"
}

start_node "$work/node-data.log" "$data"
ready=0; wait_ready && ready=1
[ "$ready" = 1 ] && ok "with a data volume: ready (/readyz 200), CHAT_DATA_DIR=/var/lib/chatd/history" ||
  nok "with a data volume: ready" "$(tail -3 "$work/node-data.log")"
owner=$(stat -c '%u' "$data/history/CURRENT" 2>/dev/null)
[ "$owner" = "$uid" ] && ok "the store's files are on the volume (history/CURRENT, owner $uid)" ||
  nok "the store's files are on the volume" "history/CURRENT: ${owner:-missing}; $(ls -la "$data" "$data/history" 2>&1 | tr '\n' ' ')"
id=""
if [ "${#ws_node[@]}" -gt 0 ]; then
  id=$(ws publish "$room" "$text")
  [ -n "$id" ] && ok "a message published over WebSocket is acked (id $id)" || nok "a message published over WebSocket is acked" "$(tail -2 "$work/ws.log")"
  body=$(get "/api/rooms/$room/history")
  [ -n "$id" ] && has_message "$body" "$id" "$text" && ok "GET /api/rooms/$room/history has it" ||
    nok "GET /api/rooms/$room/history has the message" "$body"
else
  echo "# skipped: publishing over WebSocket (no node >= 20 with WebSocket on this host)"
  body=$(get "/api/rooms/$room/history")
  [ "$body" = "[]" ] && ok "GET /api/rooms/$room/history answers []" || nok "GET /api/rooms/$room/history answers []" "$body"
fi
check_stop "with a data volume"

# 3. The same pod started again on its claim.
start_node "$work/node-data-again.log" "$data"
ready=0; wait_ready && ready=1
[ "$ready" = 1 ] && ok "started again on the same volume: ready (/readyz 200)" ||
  nok "started again on the same volume: ready" "$(tail -3 "$work/node-data-again.log")"
if [ "${#ws_node[@]}" -gt 0 ]; then
  body=$(get "/api/rooms/$room/history")
  has_message "$body" "$id" "$text" && ok "after the restart GET /api/rooms/$room/history still has $id" ||
    nok "after the restart GET /api/rooms/$room/history still has $id" "$body"
  got=$(ws expect "$room" "$id")
  [ "$got" = "$text" ] && ok "after the restart a WebSocket subscriber gets it in the room's history" ||
    nok "after the restart a WebSocket subscriber gets it in the room's history" "$(tail -2 "$work/ws.log")"
else
  body=$(get "/api/rooms/$room/history")
  [ "$body" = "[]" ] && ok "after the restart GET /api/rooms/$room/history answers []" || nok "after the restart GET /api/rooms/$room/history answers []" "$body"
fi
check_stop "started again"

echo "# image size (final stage): $(du -sh --exclude=proc "$img" | cut -f1); node logs: $work/node*.log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
