#!/usr/bin/env node
'use strict';
// npm's install script for labelprof.
// - Linux x64/arm64 with glibc: node-gyp-build, which keeps a prebuilt addon
//   from prebuilds/ that loads in this Node (no compiler needed), and
//   otherwise builds from source (python3, make and a C++ compiler).
// - Anywhere else (macOS, Windows, musl...): nothing is built and the
//   install succeeds: the label API is plain JavaScript, and start() throws
//   an error naming the platform and what is supported.
const { currentPlatform, unsupportedReason } = require('./platform.js');

const why = unsupportedReason(currentPlatform());
if (why !== null) {
  process.stderr.write(`labelprof: ${why}.\nlabelprof: installed without its native addon: start() will throw on this platform.\n`);
  process.exit(0);
}
// node-gyp-build's own install command: test-load a prebuild, else build.
require('node-gyp-build/bin.js');
