#!/usr/bin/env bash
# CI step for the prebuilt binaries (one line in .ci/run calls it):
# 1. the cross compiler and qemu-user (apt), qemu registered for arm64;
# 2. every prebuild: linux-x64 and linux-arm64, Node 20 22 24 26;
# 3. the packed tarball installed into an empty project with no compiler on
#    PATH, on every Node major (x64), plus the from-source fallback and a
#    simulated unsupported platform;
# 4. the whole suite on arm64 under qemu, for one Node major (24: the
#    AsyncContextFrame label path); all four are scripts/test-arm64.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=qemu-arm64-env.sh
. scripts/qemu-arm64-env.sh
( qemu_arm64_setup --install )
step() { echo "=== ci-prebuild: $* (at ${SECONDS}s)"; }
step "prebuilds"
bash scripts/prebuild.sh all
step "packed install, no compiler, Node 20 22 24 26"
node scripts/test-packed-install.js 20 22 24 26
step "suite on arm64 under qemu, Node 24: the whole suite"
# The whole suite (12 min on 2 quiet cores; the other majors under qemu,
# ~12 min each, are scripts/test-arm64.sh 20 22 26, run by hand).
bash scripts/test-arm64.sh --no-prebuild 24
step "done"
