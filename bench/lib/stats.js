'use strict';
// Medians with min–max over runs, and 95 % bootstrap intervals of a median.

function finiteSorted(values) {
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
}

function medianOfSorted(xs) {
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

function summarize(values) {
  const xs = finiteSorted(values);
  if (xs.length === 0) return null;
  return { median: medianOfSorted(xs), min: xs[0], max: xs[xs.length - 1], n: xs.length };
}

// mulberry32: a small seeded generator, so that a report rendered twice from
// the same measurements shows the same intervals.
function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_BOOTSTRAP = { confidence: 0.95, resamples: 10_000, seed: 20261129 };

// Percentile bootstrap interval of the median of `values` (one value per
// round; for paired ratios each value already pairs two variants measured in
// the same round, so resampling rounds keeps the pairing). Resamples rounds
// with replacement `resamples` times, takes each resample's median, and
// returns the (1 − confidence)/2 and (1 + confidence)/2 quantiles of those
// medians. Returns null with fewer than 2 values (no interval to give).
// With few rounds the interval can only fall on the measured values (and
// midpoints of two), so it is coarse: it narrows as rounds are added.
function bootstrapMedianInterval(values, options = {}) {
  const { confidence, resamples, seed } = { ...DEFAULT_BOOTSTRAP, ...options };
  if (!Array.isArray(values)) throw new TypeError(`Expected an array for values but received ${typeof values}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`Expected a number in (0, 1) for confidence but received ${confidence}`);
  if (!Number.isInteger(resamples) || resamples < 100) throw new RangeError(`Expected an integer >= 100 for resamples but received ${resamples}`);
  if (!Number.isInteger(seed)) throw new TypeError(`Expected an integer for seed but received ${seed}`);
  const xs = finiteSorted(values);
  const n = xs.length;
  if (n < 2) return null;
  const random = seededRandom(seed);
  // A resample is n indices into the sorted values, drawn with replacement;
  // its median is found by counting how often each index was drawn (the
  // values are sorted, so the k-th drawn index in order is the k-th value).
  const counts = new Uint32Array(n);
  const medians = new Float64Array(resamples);
  const lowRank = (n - 1) >> 1; // 0-based ranks of the middle one or two
  const highRank = n >> 1;
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[Math.floor(random() * n)]++;
    let seen = 0;
    let low;
    let high;
    for (let j = 0; j < n && high === undefined; j++) {
      seen += counts[j];
      if (low === undefined && seen > lowRank) low = xs[j];
      if (seen > highRank) high = xs[j];
    }
    medians[r] = (low + high) / 2;
  }
  medians.sort();
  const at = (q) => medians[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { low: at((1 - confidence) / 2), high: at((1 + confidence) / 2), confidence };
}

// summarize() plus the 95 % bootstrap interval of the median (`interval`,
// null with fewer than 2 values).
function summarizeWithInterval(values, options) {
  const s = summarize(values);
  if (s === null) return null;
  return { ...s, interval: bootstrapMedianInterval(values, options) };
}

module.exports = { summarize, summarizeWithInterval, bootstrapMedianInterval };
