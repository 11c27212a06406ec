'use strict';
// Sampling under pressure: GC-heavy labelled async work at 10 kHz, in a child
// process (a crash fails the test, not the runner).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { runJson, readProfile } = require('./helpers');

test('GC-heavy labelled work sampled every 100 us: no crash, labels right, GC samples labelled', () => {
  const { file, stats } = runJson('gc-stress.js', { nodeArgs: ['--max-semi-space-size=1'] });
  const { samples } = readProfile(fs.readFileSync(file));
  fs.unlinkSync(file);
  let gc = 0;
  let gcLabelled = 0;
  const wrong = [];
  let checked = 0;
  for (const s of samples) {
    if (s.stack.includes('(garbage collector)')) {
      gc += s.count;
      if (s.labels.kind) gcLabelled += s.count;
    }
    const fn = s.stack.find((f) => f === 'allocA' || f === 'allocB');
    if (fn === undefined) continue;
    checked += s.count;
    if (s.labels.kind !== fn.slice(-1)) wrong.push(`${fn} with ${JSON.stringify(s.labels)}`);
  }
  assert.ok(checked >= 100, `too few samples in alloc functions: ${checked}, ${JSON.stringify(stats)}`);
  assert.deepEqual(wrong, []);
  assert.ok(gc >= 10, `too few GC samples: ${gc}`);
  assert.ok(gcLabelled / gc >= 0.5, `GC samples mostly unlabelled: ${gcLabelled}/${gc}`);
});
