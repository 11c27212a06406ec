#!/usr/bin/env bash
# CI: the sanitizer job on this machine's Node (one major): the whole suite
# with the addon built under ASan + UBSan, then a short stress run under the
# same build. A few minutes (the suite took 3 m 52 s under ASan on the
# shared 2-core machine).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-asan.sh
bash scripts/test-asan.sh --stress 30
