#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build,
# start a local 3-node cluster (mutual TLS between nodes, certificates made
# by scripts/make-certs.sh; see scripts/cluster.sh) and print each node's
# chat page URL and data directory. Node i keeps its history on disk in
# /tmp/chat-cluster/data/nodeI, so starting again brings it back (as long as
# /tmp is kept); DATA_BASE=DIR puts it in DIR/nodeI instead, DATA_BASE=none
# keeps it in memory only (docs/data.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh --target chatd
exec scripts/cluster.sh "${N:-3}"
