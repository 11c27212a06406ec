'use strict';
// Runs every test file under test/ with node's test runner, on the Node that
// runs this script (the matrix runs it under each Node version).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const testDir = path.join(__dirname, '..', 'test');
const files = fs
  .readdirSync(testDir)
  .filter((f) => f.endsWith('.test.js') || f.endsWith('.test.mjs'))
  .sort()
  .map((f) => path.join('test', f));
const only = process.argv.slice(2);
const selected = only.length > 0 ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const r = spawnSync(process.execPath, ['--test', ...selected], {
  stdio: 'inherit',
  cwd: path.join(__dirname, '..'),
});
process.exit(r.status ?? 1);
