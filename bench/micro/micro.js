'use strict';
// Micro-benchmarks, one mode per fresh process (the runner interleaves them):
//   call-*:  cost of one run(labels, fn) call with a trivial fn: a plain call,
//            AsyncLocalStorage.run, labelprof.withLabels (no profiler running)
//   await-*: cost of one `await` inside such a call (the continuation
//            machinery: promise hooks on Node 20, context frames on Node 24)
//   spanid-*: one call as call-*, but with a new label set per call:
//            { span_id: <unique per call>, endpoint } (a tracer's span ids),
//            the object and the id string made in the timed loop for every
//            mode alike; labelprof cannot use its cache of sets there
//   *-lpprofiling: labelprof.withLabels while a 99 Hz labelprof profile runs
//            (no native frames), where slot mode (Node 20, 22) adds the hook
//            that keeps the handler's slot current
// Reports the median over batches of nanoseconds per operation.
const { AsyncLocalStorage } = require('node:async_hooks');

const job = JSON.parse(process.env.BENCH_JOB);
const [kind, how] = job.mode.split('-');
if (!['call', 'await', 'spanid'].includes(kind)) throw new RangeError(`unknown micro mode ${job.mode}`);

let run;
if (how === 'plain') run = (labels, fn) => fn();
else if (how === 'als') {
  const als = new AsyncLocalStorage();
  run = (labels, fn) => als.run(labels, fn);
} else if (how === 'labelprof' || how === 'lpprofiling') {
  const labelprof = require(require('../lib/labelprof-root'));
  run = labelprof.withLabels;
  if (how === 'lpprofiling') labelprof.start({ intervalMicros: 10101, nativeFrames: false });
} else throw new RangeError(`unknown micro mode ${job.mode}`);

const LABELS = [];
for (let i = 0; i < 8; i++) LABELS.push({ endpoint: `/api/r${i & 3}`, tenant: `t${i}` });
const one = () => 1;

function callBatch(n) {
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) acc = (acc + run(LABELS[i & 7], one)) | 0;
  const ns = Number(process.hrtime.bigint() - t0);
  if (acc !== n) throw new Error('checksum');
  return ns / n;
}

// Span ids: 16-digit decimals, one per call, never repeated in a process.
const ENDPOINTS = ['/api/users', '/api/orders', '/api/search', '/api/report'];
let nextSpanId = 4_000_000_000_000_000;

function spanIdBatch(n) {
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) acc = (acc + run({ span_id: String(nextSpanId++), endpoint: ENDPOINTS[i & 3] }, one)) | 0;
  const ns = Number(process.hrtime.bigint() - t0);
  if (acc !== n) throw new Error('checksum');
  return ns / n;
}

async function awaits(n) {
  for (let i = 0; i < n; i++) await null;
}

async function awaitBatch(n) {
  const t0 = process.hrtime.bigint();
  await run(LABELS[0], () => awaits(n));
  return Number(process.hrtime.bigint() - t0) / n;
}

async function main() {
  const { iterations, batches } = job.params;
  const n = kind === 'await' ? iterations >> 1 : iterations;
  const batch = kind === 'await' ? awaitBatch : kind === 'spanid' ? async (k) => spanIdBatch(k) : async (k) => callBatch(k);
  await batch(n); // warm-up: JIT, interning, hooks enabled
  const results = [];
  for (let b = 0; b < batches; b++) results.push(await batch(n));
  results.sort((a, b) => a - b);
  process.send({ type: 'result', nsPerOp: results[results.length >> 1], batches: results, node: process.version }, () =>
    process.exit(0),
  );
}

main().catch((err) => {
  process.send({ type: 'error', message: String(err.stack || err) }, () => process.exit(1));
});
