#!/usr/bin/env bash
# Checks that every C++ file of ours is as clang-format (Debian 12's, 14)
# writes it with .clang-format; --fix rewrites them. Ends with
# "N passed, M failed" (files).
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' | grep -v '/node_modules/')
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
pass=0
fail=0
for f in "${files[@]}"; do
  if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "not formatted: $f (scripts/check-format.sh --fix)"
    clang-format "$f" | diff -u "$f" - | head -20
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
