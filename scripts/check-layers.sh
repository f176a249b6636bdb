#!/usr/bin/env bash
# Checks that each layer of src/ includes only its own headers and those of
# the layers below it:
#   base < protocol < cluster < chat < net < app
# The build refuses an upward include as well (src/CMakeLists.txt gives each
# layer only its own and the lower include directories); this check names
# the edge, and also covers headers that no source includes yet.
# --self-test first shows on made-up trees that it passes a clean one and
# fails an upward edge. Ends with "N passed, M failed" (files).
set -uo pipefail
cd "$(dirname "$0")/.."
layers=(base protocol cluster chat net app)

rank() {
  local i
  for i in "${!layers[@]}"; do
    if [ "${layers[$i]}" = "$1" ]; then
      echo "$i"
      return
    fi
  done
  echo -1
}

# check_tree ROOT: prints each upward edge, then "N passed, M failed".
check_tree() {
  local root=$1 pass=0 fail=0 layer r f target t bad
  for layer in "${layers[@]}"; do
    r=$(rank "$layer")
    for f in "$root/$layer"/*.cpp "$root/$layer"/*.hpp; do
      [ -e "$f" ] || continue
      bad=0
      while read -r target; do
        t=$(rank "$target")
        if [ "$t" -lt 0 ] || [ "$t" -gt "$r" ]; then
          echo "upward include: ${f#"$root"/} includes $target/ (layers, lowest first: ${layers[*]})"
          bad=1
        fi
      done < <(sed -n 's|^#include "\([A-Za-z0-9_]*\)/.*|\1|p' "$f")
      if [ "$bad" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    done
  done
  for f in "$root"/*/; do
    [ "$(rank "$(basename "$f")")" -ge 0 ] && continue
    echo "not a layer: ${f#"$root"/} (add it to the list in scripts/check-layers.sh and src/CMakeLists.txt)"
    fail=$((fail + 1))
  done
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

if [ "${1:-}" = --self-test ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/base" "$tmp/cluster" "$tmp/chat"
  printf '#include "base/a.hpp"\n' >"$tmp/base/a.cpp"
  printf '#include "base/a.hpp"\n#include "cluster/b.hpp"\n' >"$tmp/chat/c.cpp"
  printf '#include <caf/all.hpp>\n#include "protocol/x.hpp"\n' >"$tmp/cluster/b.hpp"
  check_tree "$tmp" >/dev/null || { echo "self-test: a clean tree failed"; exit 1; }
  printf '#include "chat/c.hpp"\n' >"$tmp/cluster/up.cpp"
  out=$(check_tree "$tmp") && { echo "self-test: an upward edge passed"; exit 1; }
  grep -q 'upward include: cluster/up.cpp includes chat/' <<<"$out" || { echo "self-test: $out"; exit 1; }
  rm "$tmp/cluster/up.cpp"
  mkdir "$tmp/misc"
  out=$(check_tree "$tmp") && { echo "self-test: an unknown folder passed"; exit 1; }
  grep -q 'not a layer: misc/' <<<"$out" || { echo "self-test: $out"; exit 1; }
fi
check_tree src
