#!/usr/bin/env bash
# CI smoke run of bench/continuous.js (under a minute): labelprof's
# ContinuousProfiler and @datadog/pprof restarted per period, two 10-second
# periods each under HTTP load with a span id per request, and one 2-second
# stop + encode of each. Fails if a period or a profile is missing, empty or
# errored; the figures are printed, never asserted (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d dist ] && [ -d build ] || npm run build
npm install --prefix bench --no-audit --no-fund >/dev/null
node bench/continuous.js --quick
