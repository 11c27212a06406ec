'use strict';
// Workload 1: CPU-bound JavaScript, fixed work. `units` units of work, each a
// mix of a numeric loop, allocation into a Map, a sort with a comparator and
// string work (~1.1 ms per unit on the reference machine), each unit run
// under a label set of 4 (like one job of a batch).
const { warmUp, hashLoop, buildIndex, sortNumbers, textWork } = require('../lib/kernels');

// Before anything is measured (module load, in every variant alike).
warmUp();

const TASKS = ['parse', 'score', 'rank', 'render'];

function cpuUnit(i) {
  return (
    hashLoop(300_000) + buildIndex(2_000, i) + sortNumbers(1_000, i) + textWork(1_000, i)
  );
}

module.exports = {
  kind: 'fixed',
  params: { full: { units: 1200 }, quick: { units: 60 } },
  describe: (p) => `${p.units} units of mixed JS work (~1.1 ms each), each under withLabels({task})`,
  run({ wrap, params }) {
    let checksum = 0;
    for (let i = 0; i < params.units; i++) {
      checksum = (checksum + wrap({ task: TASKS[i & 3] }, () => cpuUnit(i))) | 0;
    }
    return { checksum, units: params.units };
  },
};
