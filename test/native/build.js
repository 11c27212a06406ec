'use strict';
// Builds the test addon against the running node (or $npm_config_nodedir):
//   node test/native/build.js
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.join(__dirname, '..', '..')] });
execFileSync(process.execPath, [gyp, 'rebuild'], { cwd: __dirname, stdio: 'inherit' });
