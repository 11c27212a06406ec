'use strict';
// Continuous profiling: back-to-back periods, span ids of any cardinality,
// consumers that fail, and misuse.
const test = require('node:test');
const assert = require('node:assert/strict');
const lp = require('..');
const { runJson, TIME_SCALE } = require('./helpers');

test('1-second periods abut, every sample lands in exactly one period, a failing consumer does not stop profiling (child process)', () => {
  const out = runJson('periods.js');
  const periods = out.periods;
  assert.ok(periods.length >= 5, `periods: ${periods.length}`);
  for (let i = 1; i < periods.length; i++) {
    const prevEnd = periods[i - 1].startNanos + periods[i - 1].durationNanos;
    // Contiguous: each period starts where the previous one ended (epoch
    // nanoseconds are doubles: ~256 ns of rounding).
    assert.ok(Math.abs(periods[i].startNanos - prevEnd) < 1e6, `gap of ${periods[i].startNanos - prevEnd} ns before period ${i}`);
  }
  for (const p of periods.slice(0, -1)) {
    assert.ok(Math.abs(p.durationNanos - 1e9) < 0.25e9, `period of ${p.durationNanos} ns`);
  }
  let sampledByV8 = 0;
  let samples = 0;
  for (const p of periods) {
    // The pprof holds what the period says it holds.
    assert.equal(p.pprofSamples, p.samples);
    assert.equal(p.samples, p.matched);
    // No sample twice: a period has at most the samples its signals recorded.
    assert.ok(p.matched <= p.recorded, JSON.stringify(p));
    assert.equal(p.dropped, 0);
    assert.ok(p.labelled, 'periodWork samples carry their round label');
    // Never lost quietly: every record is in the period or counted unmatched.
    assert.equal(p.matched + p.unmatchedRecords, p.recorded, JSON.stringify(p));
    // Signals V8 did not sample (a second SIGPROF while the first was taken,
    // on a loaded machine) have nothing to match; of the rest, nearly all are.
    sampledByV8 += p.recorded - p.notSampledByV8;
    samples += p.samples;
  }
  assert.ok(samples >= 0.98 * sampledByV8, `${samples} samples of ${sampledByV8} signals V8 sampled`);
  // The CPU the periods hold is the CPU the process used (the process also
  // ran GC threads and the test's own start-up and reading).
  const cpuNanos = periods.reduce((n, p) => n + p.cpuNanos, 0);
  assert.ok(cpuNanos <= out.cpuMicros * 1000 * 1.05, `profile ${cpuNanos} ns, process ${out.cpuMicros} us`);
  assert.ok(cpuNanos >= out.cpuMicros * 1000 * 0.6, `profile ${cpuNanos} ns, process ${out.cpuMicros} us`);
  assert.deepEqual(out.errors, ['consumer threw', 'consumer rejected']);
  assert.equal(out.stats.consumerErrors, 2);
  assert.equal(out.stats.periods, periods.length);
  assert.ok(out.lastIsLastPeriod, 'stop() returns the last period, also handed to onProfile');
});

test('200,000 distinct span ids: every labelled sample carries its own span, none overflow, and the label-set table shrinks back (child process)', () => {
  const out = runJson('span-ids.js', { nodeArgs: ['--expose-gc'], timeoutMs: 300000 });
  assert.equal(out.during.created, 200000, JSON.stringify(out));
  assert.equal(out.during.overflowed, 0);
  assert.ok(out.spanSamples >= 100, `too few samples of span work: ${out.spanSamples}`);
  assert.deepEqual(out.bad, []);
  assert.equal(out.withOwnSpan, out.spanSamples);
  assert.ok(out.distinctSpansSampled >= out.spanSamples * 0.5, JSON.stringify(out));
  assert.ok(out.periods >= 2, `periods: ${out.periods}`);
  // Spans ended, periods assembled, garbage collected: back near the start.
  assert.ok(out.after.labelSets <= out.before.labelSets + 100, JSON.stringify(out));
  assert.equal(out.after.labelSetsRetiring, 0);
});

test('startContinuous validates its options and says what to do when misused', async () => {
  assert.throws(() => lp.startContinuous('x'), TypeError);
  assert.throws(() => lp.startContinuous({ periodSeconds: '60' }), /Expected a number of seconds .* for periodSeconds but received "60"/);
  assert.throws(() => lp.startContinuous({ periodSeconds: 0 }), RangeError);
  assert.throws(() => lp.startContinuous({ periodSeconds: NaN }), TypeError);
  assert.throws(() => lp.startContinuous({ onProfile: 'no' }), /Expected a function for onProfile/);
  assert.throws(() => lp.startContinuous({ onError: 1 }), TypeError);
  assert.throws(() => lp.startContinuous({ intervalMicros: 5 }), RangeError);
  assert.throws(() => lp.startContinuous({ periods: 1 }), /Unknown option "periods"/);
  assert.equal(lp.isProfiling(), false);

  const p = lp.startContinuous({ periodSeconds: 60, intervalMicros: 1000 });
  try {
    assert.throws(() => lp.start(), /already running on this thread: call stop\(\)/);
    assert.throws(() => lp.startContinuous(), /already running/);
    assert.throws(() => p.profile(0), RangeError);
    assert.throws(() => p.profile('2'), TypeError);
    assert.throws(() => p.profile(3601), RangeError);
    const window = await p.profile(0.3);
    // Late timers (qemu, a loaded machine) lengthen the window: 4.5 s seen
    // under qemu, hence the time scale.
    assert.ok(window.durationNanos >= 0.25e9 && window.durationNanos < 2e9 * TIME_SCALE, `window of ${window.durationNanos} ns`);
    const aborted = new AbortController();
    const pending = p.profile(10, { signal: aborted.signal });
    aborted.abort();
    await assert.rejects(pending, /aborted/);
  } finally {
    const last = await p.stop();
    assert.ok(last.durationNanos > 0);
  }
  assert.throws(() => p.stopSync(), /already stopped: call startContinuous\(\) for a new one/);
  await assert.rejects(p.profile(1), /stopped/);
  assert.equal(lp.isProfiling(), false);
});
