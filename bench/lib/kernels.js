'use strict';
// Small deterministic CPU kernels the workloads are built from. Each does a
// fixed amount of work for its argument (no time-based loops), so every
// variant of a measurement does exactly the same work, and each returns a
// value the caller folds into a checksum so V8 cannot drop the work.

// FNV-1a over integers: a tight numeric loop (optimized code, no allocation).
function hashLoop(iterations) {
  let h = 0x811c9dc5 | 0; // int32 from the start: a double here deopts the loop ("lost precision")
  for (let i = 0; i < iterations; i++) {
    h ^= i & 0xff;
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

// Allocation-heavy: short-lived objects in a Map (scavenges, some promotion).
function buildIndex(count, seed) {
  const index = new Map();
  for (let i = 0; i < count; i++) {
    const key = `k${(i * 2654435761 + seed) % (count >> 1 || 1)}`;
    const entry = index.get(key);
    if (entry === undefined) index.set(key, { key, hits: 1, last: i });
    else {
      entry.hits++;
      entry.last = i;
    }
  }
  let sum = 0;
  for (const e of index.values()) sum += e.hits * (e.last & 7);
  return sum;
}

// Sorting numbers with a comparator (builtins calling back into JS).
function sortNumbers(count, seed) {
  const a = new Array(count);
  let x = seed | 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = (x >>> 0) % 100000;
  }
  a.sort((p, q) => p - q);
  return a[count >> 1];
}

// Strings: building, a regular expression, splitting.
function textWork(words, seed) {
  let s = '';
  for (let i = 0; i < words; i++) s += `w${(i * 31 + seed) % 97} `;
  const m = s.match(/w(\d)\d? /g);
  return (m ? m.length : 0) + s.split(' ').length;
}

// A deterministic PRNG for inputs.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

// Runs every kernel briefly with small arguments, so V8 has type feedback for
// all of their code before the measured part. Without it, V8 13 (Node 24)
// OSR-compiles hashLoop's loop on the first long call and then deoptimizes
// at the code after the loop ("insufficient type feedback"), ~200 times per
// run of the cpu workload: a deopt loop whose cost depends on how the caller
// happened to be compiled, which is noise, not profiler overhead. With it,
// `--trace-deopt` runs of the cpu workload on Node 24 showed one or two
// deopts. It does not remove the other inlining effect on Node 24 (a
// wrapper's size decides whether the unit is inlined; bench/README.md).
let warm = false;
function warmUp() {
  if (warm) return;
  warm = true;
  let sink = 0;
  for (let i = 0; i < 300; i++) {
    sink += hashLoop(1000 + i) + buildIndex(50, i) + sortNumbers(50, i) + textWork(20, i);
  }
  return sink;
}

module.exports = { hashLoop, buildIndex, sortNumbers, textWork, rng, warmUp };
