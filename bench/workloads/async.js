'use strict';
// Workload 3: promise-heavy async code with labels, fixed work. `tasks` tasks,
// `concurrency` at a time, each under its own label set; a task is `steps`
// steps of async functions that await resolved promises, a chained
// promise and, every 8th step, a turn of the event loop (setImmediate). The
// CPU work per step is small, so the cost of the machinery behind `await`
// (promise hooks, AsyncLocalStorage, context frames) dominates.
const { warmUp, hashLoop } = require('../lib/kernels');

// Before anything is measured (module load, in every variant alike).
warmUp();

const TENANTS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'];

async function leaf(i) {
  await null;
  return hashLoop(40 + (i & 15));
}

async function step(i) {
  const a = await leaf(i);
  const b = await Promise.resolve(i).then((v) => v * 3);
  if ((i & 7) === 0) await new Promise((resolve) => setImmediate(resolve));
  return (a + b) | 0;
}

async function task(t, steps) {
  let sum = 0;
  for (let s = 0; s < steps; s++) sum = (sum + (await step(t * steps + s))) | 0;
  return sum;
}

module.exports = {
  kind: 'fixed',
  params: {
    full: { tasks: 16000, concurrency: 32, steps: 48 },
    quick: { tasks: 200, concurrency: 16, steps: 24 },
  },
  describe: (p) =>
    `${p.tasks} tasks × ${p.steps} async steps (~6 awaits each), ${p.concurrency} concurrent, each task under withLabels({tenant, job})`,
  async run({ wrap, params }) {
    let next = 0;
    let checksum = 0;
    async function worker() {
      while (next < params.tasks) {
        const t = next++;
        const labels = { tenant: TENANTS[t & 7], job: `j${t % 3}` };
        checksum = (checksum + (await wrap(labels, () => task(t, params.steps)))) | 0;
      }
    }
    const workers = [];
    for (let w = 0; w < params.concurrency; w++) workers.push(worker());
    await Promise.all(workers);
    return { checksum, units: params.tasks };
  },
};
