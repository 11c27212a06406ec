'use strict';
// Bad input for start() and the Profile methods: clear errors naming the
// culprit, and no profiler left running.
const test = require('node:test');
const assert = require('node:assert/strict');
const lp = require('..');

const bad = [
  [null, TypeError, /options.*null/],
  ['fast', TypeError, /options.*"fast" of type string/],
  [[], TypeError, /options.*array/],
  [{ intervalMicros: '1000' }, TypeError, /intervalMicros.*"1000" of type string/],
  [{ intervalMicros: NaN }, TypeError, /intervalMicros/],
  [{ intervalMicros: 0.5 }, RangeError, /Expected an integer from 100 to 1000000 for intervalMicros but received 0.5 of type number/],
  [{ intervalMicros: 99 }, RangeError, /intervalMicros.*99/],
  [{ intervalMicros: 1_000_001 }, RangeError, /intervalMicros/],
  [{ intervalMicros: Infinity }, RangeError, /intervalMicros/],
  [{ intervalMicros: 1000n }, TypeError, /intervalMicros.*1000n of type bigint/],
  [{ maxSamples: 0 }, RangeError, /maxSamples/],
  [{ maxSamples: -5 }, RangeError, /maxSamples/],
  [{ maxSamples: 1e9 }, RangeError, /maxSamples/],
  [{ maxSamples: true }, TypeError, /maxSamples.*true of type boolean/],
  [{ interval: 1000 }, TypeError, /Unknown option "interval"/],
  [{ gcStacks: 'yes' }, TypeError, /Expected a boolean for gcStacks but received "yes" of type string/],
  // Symbol keys used to be ignored without a word.
  [{ [Symbol('intervalMicros')]: 1000 }, TypeError, /Unknown option Symbol\(intervalMicros\)/],
];

for (const [options, Type, message] of bad) {
  const shown = JSON.stringify(options, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const symbols = options !== null && typeof options === 'object' ? Object.getOwnPropertySymbols(options).map(String) : [];
  test(`start(${shown}${symbols.length > 0 ? ` with ${symbols}` : ''}) throws ${Type.name}`, () => {
    assert.throws(() => lp.start(options), (err) => err instanceof Type && message.test(err.message));
    assert.equal(lp.isProfiling(), false);
  });
}

test('good options are accepted', async () => {
  for (const options of [undefined, {}, { intervalMicros: 100 }, { intervalMicros: 1_000_000, maxSamples: 1 }, { gcStacks: false }]) {
    const p = lp.start(options);
    assert.equal(p.running, true);
    assert.equal(p.intervalMicros, options?.intervalMicros ?? lp.DEFAULT_INTERVAL_MICROS);
    assert.equal(p.stats().gcStacks, options?.gcStacks ?? true);
    if (options?.gcStacks === false) assert.equal(p.stats().gcStacksOff, 'start({ gcStacks: false })');
    await p.stop();
    assert.equal(p.running, false);
  }
});

test('profile write/writeSync reject a non-string path', async () => {
  const profile = await lp.start().stop();
  await assert.rejects(profile.write(undefined), { name: 'TypeError', message: /path.*undefined/ });
  assert.throws(() => profile.writeSync({}), { name: 'TypeError', message: /path.*an object/ });
});

test('a full buffer drops and counts instead of growing', async () => {
  const p = lp.start({ intervalMicros: 100, maxSamples: 5 });
  // Allocates, so GCs happen in the window: their markers must not take the
  // place of samples (maxSamples counts samples).
  const keep = [];
  const end = Date.now() + 100;
  while (Date.now() < end) keep.push(new Array(64).fill(keep.length)), keep.length > 1000 && (keep.length = 0);
  const profile = await p.stop();
  const stats = profile.stats;
  assert.ok(stats.gcs > 0, JSON.stringify(stats));
  assert.equal(stats.recorded, 5);
  assert.ok(stats.dropped > 0, JSON.stringify(stats));
  assert.ok(profile.sampleCount <= 6);
});
