'use strict';
// What a profile costs in memory at high rates: the handler's buffers are
// reserved, backed only as they fill, and given back at stop (they used to
// be allocated and touched whole at start: 255 MB for intervalMicros 100,
// 407 MB for maxSamples 1e7).
const test = require('node:test');
const assert = require('node:assert/strict');
const { runJson } = require('./helpers');

test('high rates and large maxSamples do not allocate their whole buffer up front (child process)', () => {
  const out = runJson('memory.js');
  for (const [name, m] of Object.entries(out)) {
    assert.ok(m.atStart < 40, `${name}: RSS grew ${m.atStart.toFixed(1)} MB at start`);
    assert.ok(m.afterWork < 60, `${name}: RSS grew ${m.afterWork.toFixed(1)} MB after 300 ms of work`);
    assert.ok(m.samples > 0, `${name}: no samples`);
  }
});
