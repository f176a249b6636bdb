#!/usr/bin/env bash
# Builds the sanitizer builds the test suites use, each in its own directory
# with clang (see cmake/Sanitizers.cmake):
#   asan  build-asan/: chatd, the attack tools and unit_tests under ASan+UBSan
#   tsan  build-tsan/: unit_tests_actors (the tests that run actors) under TSan
# Usage: scripts/sanitize-build.sh asan|tsan
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?usage: scripts/sanitize-build.sh asan|tsan}
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
case $what in
  asan) dir=build-asan san=address,undefined targets=(chatd rogue_chat rogue_node unit_tests) ;;
  tsan) dir=build-tsan san=thread targets=(unit_tests_actors) ;;
  *) echo "unknown sanitizer build '$what'" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCHAT_SANITIZE="$san" -DBUILD_TESTING=ON -DBUILD_BENCH=OFF -DCHAT_FAULT_HOOKS=ON "${launcher[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
