'use strict';
// The pure matcher and sample assembly (native/sample-matcher.*,
// native/sample-assembly.*) on hand-made V8 sample times and handler records:
// out-of-order lists, GC-start samples, deopt samples, a second profile's
// StartProfiling sample, ticks V8 declines. No V8, no signals, no timing.
const test = require('node:test');
const assert = require('node:assert/strict');
const addon = require('./native/addon.js');

addon.ensureBuilt();
const native = addon.load();

// Flags, as in native/sample-ring.h and native/stack-walker.h.
const GC_START = 1 << 15;
const GC_END = 1 << 14;
const V8_SAMPLED = 1 << 13;
const FRAME_SETUP = 1 << 12;
const WALK_REACHED_END = 1 << 0;

// A tick our handler took at `us` microseconds (CLOCK_MONOTONIC), with V8's
// chained handler done 4 us later; V8 reports its stamp (~2 us in) as
// floor + 1 us, as TimeTicks::Now does on Linux.
const tick = (us, extra = {}) => ({ wall: us * 1000, done: us * 1000 + 4000, cpu: us * 1000, label: 0, flags: 0, ...extra });
const v8StampOf = (us) => us + 2 + 1;
const gcStart = (us) => ({ wall: us * 1000, done: us * 1000 + 20000, cpu: us * 1000, label: 0, flags: GC_START | V8_SAMPLED });
const gcEnd = (us) => ({ wall: us * 1000, done: us * 1000, cpu: us * 1000, label: 0, flags: GC_END });

test('matcher: ticks in order pair one to one', () => {
  const records = [tick(1000), tick(2000), tick(3000)];
  const r = native._matchSamples({ sampleMicros: [1000, 2000, 3000].map(v8StampOf), records, installNanos: 0 });
  assert.deepEqual(r.record, [0, 1, 2]);
  assert.deepEqual(r.fate, ['matched', 'matched', 'matched']);
  assert.equal(r.recordsUnmatched, 0);
});

test('matcher: a GC-start sample V8 lists before an older tick takes only its marker', () => {
  // The bug of issue 9: V8 processes its own samples (CollectSample) ahead of
  // ticks still queued, so the list runs 1000, 2500 (GC start), 2000, 3000.
  const records = [tick(1000), tick(2000), gcStart(2500), tick(3000)];
  const sampleMicros = [v8StampOf(1000), 2500 + 10, v8StampOf(2000), v8StampOf(3000)];
  const r = native._matchSamples({ sampleMicros, records, installNanos: 0 });
  assert.deepEqual(r.record, [0, 2, 1, 3]);
  assert.deepEqual(r.fate, ['matched', 'gcStart', 'matched', 'matched']);
  assert.deepEqual(r.order, [0, 2, 1, 3], 'time order');
  assert.equal(r.recordsUnmatched, 0);
});

test('matcher: many GCs between ticks, all listed first: every tick still matched', () => {
  const records = [];
  const sampleMicros = [];
  const ticks = [];
  for (let i = 0; i < 50; i++) {
    const t = 10000 + i * 1000;
    records.push(tick(t));
    ticks.push(v8StampOf(t));
    for (let g = 0; g < 3; g++) {
      records.push(gcStart(t + 100 + g * 250), gcEnd(t + 300 + g * 250));
      sampleMicros.push(t + 100 + g * 250 + 5);
    }
  }
  sampleMicros.push(...ticks); // every tick listed after every GC-start sample
  const r = native._matchSamples({ sampleMicros, records, installNanos: 0 });
  assert.equal(r.fate.filter((f) => f === 'matched').length, 50);
  assert.equal(r.fate.filter((f) => f === 'gcStart').length, 150);
  assert.equal(r.recordsUnmatched, 0);
});

test('matcher: a deopt sample never takes a record, not even one V8 did not sample', () => {
  // 5000: another profiler's SIGPROF (no V8 sample of ours). 5008: V8's
  // deopt stack, stamped on the isolate thread after that handler returned.
  const records = [tick(4000), tick(5000), tick(6000)];
  const sampleMicros = [v8StampOf(4000), 5008, v8StampOf(6000)];
  const r = native._matchSamples({ sampleMicros, records, installNanos: 0 });
  assert.deepEqual(r.record, [0, -1, 2]);
  assert.deepEqual(r.fate, ['matched', 'noRecord', 'matched']);
  assert.equal(r.recordsUnmatched, 1);
});

test('matcher: a second profile\'s StartProfiling sample between ticks is no tick', () => {
  // Starting a profile on a CpuProfiler that runs adds the current stack,
  // synchronously, to every profile of it: here 10 us after a tick.
  const records = [tick(7000), tick(8000)];
  const sampleMicros = [v8StampOf(7000), 7014, v8StampOf(8000)];
  const r = native._matchSamples({ sampleMicros, records, installNanos: 0 });
  assert.deepEqual(r.fate, ['matched', 'noRecord', 'matched']);
});

test('matcher: before install, after stop, frame setups', () => {
  const records = [tick(2000), tick(3000, { flags: FRAME_SETUP }), tick(4000), tick(9000)];
  // 1500: StartProfiling's own sample; no V8 sample for 3000 (V8 declines
  // frame setups); 9000 is stamped after stop began.
  const sampleMicros = [1500, v8StampOf(2000), v8StampOf(4000), v8StampOf(9000)];
  const r = native._matchSamples({ sampleMicros, records, installNanos: 1800 * 1000, stopNanos: 8000 * 1000 });
  assert.deepEqual(r.fate, ['beforeInstall', 'matched', 'matched', 'afterStop']);
  // Every record is matched or counted: the frame setup, and the signal
  // recorded after stop began (none of it can be in the profile).
  assert.equal(r.recordsUnmatched, 2);
  assert.equal(r.recordsUnmatchedFrameSetup, 1);
  assert.equal(r.recordsUnmatchedAfterStop, 1);
  assert.equal(r.record.filter((k) => k >= 0).length + r.recordsUnmatched, records.length);
});

test('matcher: a second signal pending while the first was handled has no V8 sample, and is counted so', () => {
  // V8's sampler, late, sent two SIGPROFs; V8 sampled the first only.
  const records = [tick(1000), { wall: 1004 * 1000 + 2000, done: 1006 * 1000 + 800, cpu: 0, label: 0, flags: 0 }, tick(2000)];
  const r = native._matchSamples({ sampleMicros: [v8StampOf(1000), v8StampOf(2000)], records, installNanos: 0 });
  assert.deepEqual(r.record, [0, 2]);
  assert.equal(r.recordsUnmatched, 1);
  assert.equal(r.recordsUnmatchedBackToBack, 1);
});

test('matcher: microsecond edges of the bracket', () => {
  // Handler entry at x.999 us, V8 stamps at (x+1).001 us and reports x+2.
  const records = [{ wall: 7000999, done: 7001003, cpu: 0, label: 0, flags: 0 }];
  assert.deepEqual(native._matchSamples({ sampleMicros: [7002], records, installNanos: 0 }).fate, ['matched']);
  // A microsecond later than the bracket allows: not this record's.
  assert.deepEqual(native._matchSamples({ sampleMicros: [7003], records, installNanos: 0 }).fate, ['noRecord']);
  // Stamped before the handler began: not this record's either.
  assert.deepEqual(native._matchSamples({ sampleMicros: [6999], records, installNanos: 0 }).fate, ['noRecord']);
});

test('matcher: a GC-start marker V8 was not asked to sample takes nothing', () => {
  const records = [tick(1000), { ...gcStart(1500), flags: GC_START }, gcEnd(1600), tick(2000)];
  const r = native._matchSamples({ sampleMicros: [v8StampOf(1000), 1505, v8StampOf(2000)], records, installNanos: 0 });
  assert.deepEqual(r.fate, ['matched', 'noRecord', 'matched']);
});

// (root) -> main -> alloc ; (root) -> (garbage collector) ; (root) -> (program)
const nodes = {
  nodeParent: [-1, 0, 1, 0, 0],
  nodeName: ['(root)', 'main', 'alloc', '(garbage collector)', '(program)'],
};
const MAIN = 1;
const ALLOC = 2;
const GC = 3;
const PROGRAM = 4;

test('assembly: GC samples go under the GC-start stack; rows in time order; CPU since the previous row', () => {
  const records = [
    tick(1000, { cpu: 1e6, label: 7, pcs: [0x1000, 0x2000], flags: WALK_REACHED_END }),
    gcStart(1400),
    tick(2000, { cpu: 1.9e6, label: 7, pcs: [0x3000] }), // inside the GC
    gcEnd(2200),
    tick(3000, { cpu: 2.5e6, label: 8 }), // V8 declined it (frame setup)
    tick(4000, { cpu: 3.9e6, label: 8, pcs: [0x4000, 0x5000, 0x6000] }),
  ];
  records[4].flags = FRAME_SETUP;
  // V8's order: GC-start sample first, a deopt stack, then the ticks.
  const sampleMicros = [1405, 3500, v8StampOf(1000), v8StampOf(2000), v8StampOf(4000)];
  const sampleNode = [ALLOC, MAIN, MAIN, GC, ALLOC];
  const out = native._assembleSamples({
    ...nodes, sampleMicros, sampleNode, records,
    installNanos: 500 * 1000, startCpuNanos: 0.5e6, nativeFrames: true, pcsDropped: 2,
  });
  assert.deepEqual(out.node, [MAIN, GC, ALLOC]);
  assert.deepEqual(out.label, [7, 7, 8]);
  assert.deepEqual(out.gcParent, [-1, ALLOC, -1]);
  // The declined tick's CPU goes to the next row.
  assert.deepEqual(out.cpuNanos, [0.5e6, 0.9e6, 2.0e6]);
  assert.deepEqual(out.wallNanos, [500e3, 1000e3, 2000e3]);
  assert.deepEqual(out.pcsCount, [2, 1, 3]);
  assert.deepEqual(out.pcs, [0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000]);
  assert.deepEqual(out.stats, {
    v8Samples: 5, matched: 3, gcStartSamples: 1, unmatched: 1, beforeInstall: 0, afterStop: 0,
    unmatchedRecords: 1, unmatchedRecordsFrameSetup: 1, unmatchedRecordsBackToBack: 0, unmatchedRecordsAfterStop: 0, gcSamplesAttributed: 1, walksComplete: 1,
    walksNoRoom: 2,
  });
});

test('assembly: a GC that starts outside JavaScript gives no parent', () => {
  const records = [gcStart(1000), tick(1100), gcEnd(1200)];
  const out = native._assembleSamples({
    ...nodes, sampleMicros: [1010, v8StampOf(1100)], sampleNode: [PROGRAM, GC], records, installNanos: 0, nativeFrames: false,
  });
  assert.deepEqual(out.node, [GC]);
  assert.deepEqual(out.gcParent, [-1]);
  assert.equal(out.stats.gcStartSamples, 1);
  assert.equal(out.stats.gcSamplesAttributed, 0);
  assert.deepEqual(out.pcsCount, [], 'no native frames asked for');
});

test('assembly: every V8 sample is counted once, whatever its fate', () => {
  const records = [];
  const sampleMicros = [900]; // before install
  const sampleNode = [MAIN];
  for (let i = 0; i < 200; i++) {
    const t = 1000 + i * 1000;
    records.push(tick(t, { cpu: t * 1000 }));
    if (i % 7 !== 3) {
      sampleMicros.push(v8StampOf(t));
      sampleNode.push(MAIN);
    }
    if (i % 5 === 0) {
      records.push(gcStart(t + 300), gcEnd(t + 600));
      sampleMicros.unshift(t + 305);
      sampleNode.unshift(ALLOC);
    }
    if (i % 11 === 0) {
      sampleMicros.push(t + 700); // deopt
      sampleNode.push(MAIN);
    }
  }
  const out = native._assembleSamples({ ...nodes, sampleMicros, sampleNode, records, installNanos: 950 * 1000, stopNanos: 150000 * 1000 });
  const s = out.stats;
  assert.equal(s.v8Samples, s.matched + s.gcStartSamples + s.unmatched + s.beforeInstall + s.afterStop);
  assert.equal(s.beforeInstall, 1);
  assert.equal(s.gcStartSamples, 30);
  assert.equal(s.unmatched, 14, 'the deopt samples up to stop');
  assert.ok(s.afterStop > 0);
  // Records up to stop that V8 sampled are all matched.
  const sampledTicks = [...Array(150).keys()].filter((i) => i % 7 !== 3).length;
  assert.equal(s.matched, sampledTicks);
  // The 50 ticks recorded after stop began are counted, not lost: every
  // tick record is matched or unmatched.
  assert.equal(s.unmatchedRecordsAfterStop, 50);
  assert.equal(s.unmatchedRecords, 150 - sampledTicks + 50);
  assert.equal(s.matched + s.unmatchedRecords, 200);
});
