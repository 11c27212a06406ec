#!/usr/bin/env node
'use strict';
// What slot mode's `before` hook costs per continuation, and whether its body
// matters: the deep-async workload in one process, AsyncLocalStorage on in
// every mode, each mode's hook enabled only around its own batch; modes
// interleaved, median CPU ms per batch. Run by hand (issue 14):
//
//   nice -n 5 node bench/micro/slot-hook-ab.js [batches=12] [modes]
//   nice -n 5 .matrix/node22/package/bin/node bench/micro/slot-hook-ab.js
//
// The hook bodies are copies, kept as they are in the code they stand for:
//   none          AsyncLocalStorage only (no before hook)
//   labelprof     src/label-context.ts slot hook (idOfEnteredResource; no frame
//                 symbol on Node 20/22 without the flag)
//   store-only    the same without the frame-symbol branch
//   resource-read executionAsyncResource()[kResourceStore], skipping getStore()
//   datadog       bench/lib/datadog.js's enter(): sample counter, holder swap
// Only where AsyncLocalStorage runs on async hooks (Node 20, 22 without
// --experimental-async-context-frame).
const { AsyncLocalStorage, createHook, executionAsyncResource } = require('node:async_hooks');
const workload = require('../workloads/deep-async');

const storage = new AsyncLocalStorage();
if (typeof storage.kResourceStore !== 'symbol') {
  process.stderr.write('slot-hook-ab: AsyncLocalStorage is not built on async hooks here (Node 24+?)\n');
  process.exit(2);
}
const kResourceStore = storage.kResourceStore;
const slot = new Int32Array(4);
const frameSymbol = undefined; // what label-context.ts finds on Node 20/22 without the flag

class LabelSet {
  constructor(id) {
    this.magic = 0x4c50f00d;
    this.tag = 0x4c500000 + id;
    this.id = id;
    this.labels = Object.freeze({});
  }
}
function idInStorage() {
  return storage.getStore()?.id ?? 0;
}
function idOfEnteredResource() {
  if (frameSymbol !== undefined) {
    const resource = executionAsyncResource();
    if (resource !== undefined && resource !== null && Object.prototype.hasOwnProperty.call(resource, frameSymbol)) {
      return resource[frameSymbol]?.get(storage)?.id ?? 0;
    }
  }
  return idInStorage();
}
const sampleCount = new Uint32Array(1);
let lastSampleCount = 0;
let holder = { ref: {} };

const HOOKS = {
  none: undefined,
  labelprof: createHook({ before: () => void (slot[0] = idOfEnteredResource()) }),
  'store-only': createHook({
    before() {
      const set = storage.getStore();
      slot[0] = set === undefined ? 0 : set.id;
    },
  }),
  'resource-read': createHook({
    before() {
      const set = executionAsyncResource()[kResourceStore];
      slot[0] = set === undefined ? 0 : set.id;
    },
  }),
  datadog: createHook({
    before() {
      const c = sampleCount[0];
      if (c !== lastSampleCount) {
        lastSampleCount = c;
        holder = { ref: {} };
      }
      const store = storage.getStore();
      holder.ref = store === undefined ? {} : store;
    },
  }),
};

const sets = Array.from({ length: 1000 }, (_, i) => new LabelSet(i + 2));
const wrap = (labels, fn) => storage.run(sets[Number(labels.job.slice('chain'.length)) % sets.length], fn);
const params = { chains: 1000, steps: 300, depth: 3 };

async function main() {
  const batches = Number(process.argv[2] ?? 12);
  const modes = (process.argv[3] ?? Object.keys(HOOKS).join(',')).split(',');
  for (const m of modes) if (!(m in HOOKS)) throw new RangeError(`unknown mode ${m}; known: ${Object.keys(HOOKS).join(', ')}`);
  const cpuMillis = Object.fromEntries(modes.map((m) => [m, []]));
  await workload.run({ wrap, params }); // warm-up, not counted
  for (let b = 0; b < batches; b++) {
    for (const m of modes.slice(b % modes.length).concat(modes.slice(0, b % modes.length))) {
      HOOKS[m]?.enable();
      const c0 = process.cpuUsage();
      await workload.run({ wrap, params });
      const c = process.cpuUsage(c0);
      HOOKS[m]?.disable();
      cpuMillis[m].push((c.user + c.system) / 1000);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const continuations = params.chains * params.steps * (params.depth + 2);
  const none = cpuMillis.none ? median(cpuMillis.none) : undefined;
  console.log(`Node ${process.version}, ${batches} batches of ${params.chains} chains × ${params.steps} steps (~${continuations / 1e6} M continuations); CPU ms per batch, median (all)`);
  for (const m of modes) {
    const med = median(cpuMillis[m]);
    const extra = none !== undefined && m !== 'none' ? `; +${(((med - none) * 1e6) / continuations).toFixed(0)} ns per continuation over none` : '';
    console.log(`${m.padEnd(14)} ${med.toFixed(1)}${extra}  (${cpuMillis[m].map(Math.round).join(' ')})`);
  }
}

main();
