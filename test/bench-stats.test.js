'use strict';
// The bench's statistics (bench/lib/stats.js): medians and the percentile
// bootstrap interval of a median that the report puts next to every paired
// ratio. Pure: hand-made data, no profiler, no timing.
const test = require('node:test');
const assert = require('node:assert/strict');
const { summarize, summarizeWithInterval, bootstrapMedianInterval } = require('../bench/lib/stats');

// Ratios of one variant to the baseline over 15 rounds, in no order.
const ROUNDS = [1.031, 0.987, 1.012, 1.054, 0.996, 1.021, 1.008, 0.975, 1.043, 1.017, 1.002, 0.991, 1.026, 1.011, 1.064];

test('summarize: median, min, max and n of the finite values', () => {
  assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.deepEqual(summarize([4, 1, 3, 2, NaN, undefined]), { median: 2.5, min: 1, max: 4, n: 4 });
  assert.equal(summarize([]), null);
});

test('bootstrap: constant data gives a zero-width interval at that value', () => {
  const iv = bootstrapMedianInterval([1.25, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25]);
  assert.equal(iv.low, 1.25);
  assert.equal(iv.high, 1.25);
});

test('bootstrap: the interval contains the median and lies within the data', () => {
  const s = summarizeWithInterval(ROUNDS);
  assert.equal(s.median, 1.012);
  assert.ok(s.interval.low <= s.median && s.median <= s.interval.high, JSON.stringify(s));
  assert.ok(s.interval.low >= s.min && s.interval.high <= s.max, JSON.stringify(s));
  assert.ok(s.interval.high > s.interval.low, 'spread data gives a non-zero width');
  // A bootstrap median of n values is a value of the data or the midpoint of two.
  const sorted = [...ROUNDS].sort((a, b) => a - b);
  const possible = new Set(sorted.flatMap((a) => sorted.map((b) => (a + b) / 2)));
  assert.ok(possible.has(s.interval.low) && possible.has(s.interval.high));
});

test('bootstrap: a fixed seed gives the same interval; another seed may not', () => {
  const a = bootstrapMedianInterval(ROUNDS);
  const b = bootstrapMedianInterval([...ROUNDS].reverse());
  assert.deepEqual(a, b, 'same data in another order, same default seed');
  const seeds = new Set();
  for (let seed = 1; seed <= 20; seed++) {
    const iv = bootstrapMedianInterval(ROUNDS, { seed, resamples: 200 });
    seeds.add(`${iv.low}/${iv.high}`);
  }
  assert.ok(seeds.size > 1, 'the seed drives the resampling');
});

test('bootstrap: the interval narrows as rounds are added', () => {
  // The same spread of values, repeated: 10 rounds, then 40.
  const few = ROUNDS.slice(0, 10);
  const many = [...few, ...few, ...few, ...few];
  const w = (iv) => iv.high - iv.low;
  assert.ok(w(bootstrapMedianInterval(many)) < w(bootstrapMedianInterval(few)));
});

test('bootstrap: quantiles of a known resampling distribution', () => {
  // Medians of 3 draws from {1, 2, 3}: 1 with probability 7/27 (0.26), 2 with
  // 13/27, 3 with 7/27. A 95 % interval spans 1..3; a 40 % one (quantiles
  // 0.30 and 0.70) is 2..2.
  assert.deepEqual(bootstrapMedianInterval([3, 1, 2]), { low: 1, high: 3, confidence: 0.95 });
  assert.deepEqual(bootstrapMedianInterval([3, 1, 2], { confidence: 0.4 }), { low: 2, high: 2, confidence: 0.4 });
  // Of {1, 3}: 1 (1/4), 2 (1/2), 3 (1/4); a 40 % interval is 2..2.
  assert.deepEqual(bootstrapMedianInterval([1, 3], { confidence: 0.4 }), { low: 2, high: 2, confidence: 0.4 });
});

test('bootstrap: a 90 % interval lies within the 95 % one', () => {
  const i95 = bootstrapMedianInterval(ROUNDS);
  const i90 = bootstrapMedianInterval(ROUNDS, { confidence: 0.9 });
  assert.ok(i90.low >= i95.low && i90.high <= i95.high, `${JSON.stringify(i90)} within ${JSON.stringify(i95)}`);
});

test('bootstrap: fewer than two values give no interval', () => {
  assert.equal(bootstrapMedianInterval([1.1]), null);
  assert.equal(bootstrapMedianInterval([]), null);
  assert.equal(summarizeWithInterval([1.1]).interval, null);
});

test('bootstrap: bad arguments name the culprit', () => {
  assert.throws(() => bootstrapMedianInterval('1,2'), { name: 'TypeError', message: /values/ });
  assert.throws(() => bootstrapMedianInterval(ROUNDS, { confidence: 95 }), { name: 'RangeError', message: /confidence/ });
  assert.throws(() => bootstrapMedianInterval(ROUNDS, { resamples: 10 }), { name: 'RangeError', message: /resamples/ });
  assert.throws(() => bootstrapMedianInterval(ROUNDS, { seed: 'x' }), { name: 'TypeError', message: /seed/ });
});
