'use strict';
// Shared by the cli-*.test.js files: run the built `labelprof` command in a
// child process, and check the one-line error contract.
const { spawnSync } = require('node:child_process');
const assert = require('node:assert/strict');
const path = require('node:path');
const { ROOT } = require('./helpers');

const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

function labelprof(args, { cwd = ROOT, env = {}, timeoutMs = 120000 } = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

// Bad input: one line on stderr, naming what is wrong; status 1; no stack trace.
function assertOneLineError(r, pattern) {
  assert.equal(r.status, 1, `status ${r.status}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^labelprof: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
}

module.exports = { CLI, labelprof, assertOneLineError };
