'use strict';
// Measures how long the event loop is blocked while `fn` (async) runs: a 1 ms
// interval timer notes the longest gap between its ticks. A synchronous stop()
// or serialization shows up whole; async gzip on the thread pool does not.
// The figure includes up to ~1 ms of timer granularity.
const { performance } = require('node:perf_hooks');

async function withBlockProbe(fn) {
  let last = performance.now();
  let maxGap = 0;
  const tick = () => {
    const now = performance.now();
    if (now - last > maxGap) maxGap = now - last;
    last = now;
  };
  const timer = setInterval(tick, 1);
  // Let the timer run once so `last` is a tick, not the setup.
  await new Promise((resolve) => setTimeout(resolve, 3));
  maxGap = 0;
  last = performance.now();
  const t0 = performance.now();
  const result = await fn();
  const elapsedMillis = performance.now() - t0;
  // The gap that ends after fn (if fn blocked right up to its end).
  await new Promise((resolve) => setTimeout(resolve, 2));
  clearInterval(timer);
  return { result, elapsedMillis, maxBlockMillis: maxGap };
}

module.exports = { withBlockProbe };
