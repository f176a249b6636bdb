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
  [ -n "$node_pid" ] && kill -KILL "$node_pid" 2>/dev/null
  ip netns del "$netns" 2>/dev/null
  if [ "$keep" = 1 ]; then echo "work dir kept: $work"; else rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT

# --- base images

base_tar() { # -> path of a cached minbase bookworm tarball
  local tar=$cache/bookworm-minbase.tar
  if [ ! -s "$tar" ]; then
    mkdir -p "$cache"
    local r; r=$(mktemp -d /var/tmp/debootstrap.XXXXXX)
    echo "# debootstrap --variant=minbase bookworm (once; cached in $cache)" >&2
    debootstrap --variant=minbase bookworm "$r" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
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

in_root() { # CMD: /bin/sh -c CMD in the stage's root, private mounts
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  local envfile="$root/.chroot-env"
  printf '%s\n' "${envs[@]}" >"$envfile"
  unshare -m --propagation private /bin/sh -c '
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
for p in libcaf-core0.17 libcaf-io0.17; do
  chroot "$img" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && ok "runtime image has $p" || nok "runtime image has $p"
done
! chroot "$img" dpkg-query -W -f='${Status}' g++ 2>/dev/null | grep -q 'install ok installed' &&
  ok "runtime image has no compiler" || nok "runtime image has no compiler"

ip netns add "$netns"
ip -n "$netns" link set lo up
export UIDGID="$uid:$gid"
# Read-only root, tmpfs /tmp, the image's ENV plus what the pod sets, as USER.
ip netns exec "$netns" unshare -m --propagation private /bin/sh -c '
  r=$1; shift
  mount --bind "$r" "$r" && mount -o remount,bind,ro "$r" && mount -t tmpfs -o size=64m tmpfs "$r/tmp" &&
  mount -t proc proc "$r/proc" || exit 99
  exec chroot --userspec="$UIDGID" "$r" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin "$@"
' sh "$img" "${envs[@]}" CHAT_NODE_NAME=chat-0 CHAT_ADVERTISE_ADDR=127.0.0.1 \
  CHAT_DISCOVERY_DNS=localhost CHAT_DRAIN_GRACE_MS=2000 "$bin" >"$work/node.log" 2>&1 &
node_pid=$!
ready=0
for _ in $(seq 1 100); do
  if ip netns exec "$netns" curl -fsS --noproxy '*' --max-time 1 -o /dev/null http://127.0.0.1:8080/readyz 2>/dev/null; then ready=1; break; fi
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 0.2
done
code() { ip netns exec "$netns" curl -s --noproxy '*' --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:8080$1"; }
[ "$(code /healthz)" = 200 ] && ok "the image serves /healthz (read-only root, non-root user)" || nok "the image serves /healthz" "$(tail -3 "$work/node.log")"
[ "$ready" = 1 ] && ok "the image becomes ready (/readyz 200)" || nok "the image becomes ready" "$(tail -3 "$work/node.log")"
t0=$SECONDS
kill -TERM "$node_pid" 2>/dev/null
wait "$node_pid"
rc=$?
node_pid=""
if [ "$rc" -eq 0 ] && [ $((SECONDS - t0)) -le 15 ]; then ok "SIGTERM drains and exits 0 in $((SECONDS - t0)) s (<= terminationGracePeriodSeconds 15)"; else nok "SIGTERM drains and exits 0 within 15 s" "status $rc after $((SECONDS - t0)) s"; fi
echo "# image size (final stage): $(du -sh --exclude=proc "$img" | cut -f1); node log: $work/node.log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
