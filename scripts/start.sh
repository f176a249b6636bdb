#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build,
# start a local 3-node cluster (mutual TLS between nodes, certificates made
# by scripts/make-certs.sh; see scripts/cluster.sh) and print each node's
# chat page URL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh --target chatd
exec scripts/cluster.sh "${N:-3}"
