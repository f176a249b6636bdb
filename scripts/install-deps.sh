#!/usr/bin/env bash
# Installs what building and testing need on Debian 12, only what is missing.
# Usage: scripts/install-deps.sh [build|test|bench]   (default: build)
set -euo pipefail
what=${1:-build}

pkgs=(cmake g++ make pkg-config libcaf-dev libboost1.81-dev nlohmann-json3-dev libspdlog-dev doctest-dev libssl-dev openssl curl)
if [ "$what" = test ]; then
  # chromium: browser tests; iproute2 + dnsmasq-base: the pod-like cluster.
  pkgs+=(chromium iproute2 dnsmasq-base)
  # clang + its runtime: the ASan/UBSan/TSan builds and the libFuzzer harnesses.
  pkgs+=(clang libclang-rt-14-dev)
fi
if [ "$what" = bench ]; then
  # jq: the bench scripts' JSON; gnuplot-nox: the plot in docs/benchmarks.md;
  # linux-perf: profiles and the frame-encode count (scenario 4);
  # redis-server: the Socket.IO + Redis adapter reference (bench/socketio).
  pkgs+=(jq gnuplot-nox linux-perf redis-server)
fi
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node from another source (e.g. nodesource) counts as present.
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
