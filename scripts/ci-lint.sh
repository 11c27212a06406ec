#!/usr/bin/env bash
# CI: formatting and lint (npm run lint), with clang-format from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq clang-format >/dev/null
fi
clang-format --version
npm run lint
