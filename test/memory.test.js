'use strict';
// What a profile costs in memory at high rates: the handler's buffers are
// reserved, backed only as they fill, and given back at stop (they used to
// be allocated and touched whole at start: 255 MB for intervalMicros 100,
// 407 MB for maxSamples 1e7).
const test = require('node:test');
const assert = require('node:assert/strict');
const { runJson, EMULATED } = require('./helpers');

test('high rates and large maxSamples do not allocate their whole buffer up front (child process)', () => {
  const out = runJson('memory.js');
  for (const [name, m] of Object.entries(out)) {
    assert.ok(m.atStart < 40, `${name}: RSS grew ${m.atStart.toFixed(1)} MB at start`);
    assert.ok(m.afterWork < 60, `${name}: RSS grew ${m.afterWork.toFixed(1)} MB after 300 ms of work`);
    assert.ok(m.samples > 0, `${name}: no samples`);
  }
});

// The .eh_frame pages read to compile the CFI table (node's: ~4.5 MB) are
// handed back once the rows are built: only the table itself stays. File
// pages over the same start without native frames (which maps +2.9-3.3 MB:
// the addon, V8's profiler code): +3.4 MB before (Node 20, 2026-11-29),
// -1.9 to +0.4 MB after (Node 20, 22, 26).
test('native frames: the .eh_frame pages compiled into the CFI table are not left in RSS (child process)', { skip: EMULATED && `RSS under ${EMULATED} is the emulator's` }, () => {
  const on = runJson('cfi-rss.js', { args: ['on'] });
  const off = runJson('cfi-rss.js', { args: ['off'] });
  assert.equal(on.nativeFrames, true);
  // (The table itself, anonymous memory, depends on the node binary: +6.6 MB
  // over nativeFrames:false on Node 20, +11 MB on Node 26; not checked here.)
  const shown = `file pages: +${on.fileMB.toFixed(1)} MB with native frames, +${off.fileMB.toFixed(1)} MB without; anonymous: +${on.anonMB.toFixed(1)} / +${off.anonMB.toFixed(1)} MB`;
  assert.ok(on.fileMB - off.fileMB < 1.5, shown);
});
