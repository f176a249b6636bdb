#!/usr/bin/env bash
# Configures and builds into build/ (chatd at build/chatd, unit tests at build/tests/unit_tests).
set -euo pipefail
cd "$(dirname "$0")/.."
type=${BUILD_TYPE:-RelWithDebInfo}
# BUILD_BENCH=OFF skips bench/ (the test run does not use it).
cmake -S . -B build -DCMAKE_BUILD_TYPE="$type" -DBUILD_TESTING=ON -DCHAT_FAULT_HOOKS=ON -DBUILD_BENCH="${BUILD_BENCH:-ON}" >/dev/null
cmake --build build -j"$(nproc)" "$@"
