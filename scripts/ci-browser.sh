#!/usr/bin/env bash
# CI: the headless browser the labelprof html tests drive (test/cli-html.test.js):
# Debian's chromium, run through playwright-core from npm (no browser download).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null || true
