'use strict';
// Workload 5: deeply nested async calls, the shape of service code where one
// request goes through layers of async helpers (handler -> service ->
// repository -> client), each awaiting the next. `chains` chains run at once,
// each under one label set entered once (withLabels at the top, as a request
// handler would); a chain is `steps` steps, each step an await of a helper
// `depth` async calls deep, and every 16th step a turn of the event loop
// (setImmediate). Little CPU work per call: the cost is that of the promise
// machinery and of what runs on every continuation (async hooks, the
// profilers' context switching), paid `depth` + 1 times per step. Unlike the
// async workload, there are many continuations per label set and many chains
// interleaved, so the per-continuation path dominates, not withLabels.
const { warmUp, hashLoop } = require('../lib/kernels');

// Before anything is measured (module load, in every variant alike).
warmUp();

const TENANTS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'];

async function helper(depth, i) {
  if (depth === 0) {
    await null;
    return hashLoop(8 + (i & 7));
  }
  return (await helper(depth - 1, i)) + 1;
}

async function chain(c, params) {
  let sum = 0;
  for (let s = 0; s < params.steps; s++) {
    sum = (sum + (await helper(params.depth, c + s))) | 0;
    if ((s & 15) === 15) await new Promise((resolve) => setImmediate(resolve));
  }
  return sum;
}

module.exports = {
  kind: 'fixed',
  params: {
    full: { chains: 1000, steps: 2000, depth: 3 },
    quick: { chains: 100, steps: 64, depth: 3 },
  },
  describe: (p) =>
    `${p.chains} concurrent chains × ${p.steps} steps, each an await of async helpers nested ${p.depth} deep ` +
    `(+1 leaf await), setImmediate every 16 steps, one withLabels({tenant, job}) per chain`,
  async run({ wrap, params }) {
    const chains = [];
    for (let c = 0; c < params.chains; c++) {
      const labels = { tenant: TENANTS[c & 7], job: `chain${c}` };
      chains.push(wrap(labels, () => chain(c, params)));
    }
    let checksum = 0;
    for (const sum of await Promise.all(chains)) checksum = (checksum + sum) | 0;
    return { checksum, units: params.chains * params.steps };
  },
};
