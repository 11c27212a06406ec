#!/usr/bin/env node
'use strict';
// What labelprof/otel adds per traced request, without HTTP: CPU per
// "request" made of the span operations an Express request under the http
// and express instrumentations makes (counted in the bench's app: 5 context
// manager `with` calls, 3 spans):
//   a server span entered with RPC metadata (endpoint provisional: method
//   only), the route found (as Express's instrumentation sets it), a
//   middleware span entered and ended, a handler span entered across an
//   `await`, the server context re-entered through `context.bind` (a response
//   callback), the spans ended.
// Variants, one fresh process each, interleaved round-robin:
//   sdk               the real SDK (NodeTracerProvider, BatchSpanProcessor to a
//                     dropping exporter), no labelprof
//   <name>            the same with labelprof/otel enabled (before the SDK, the
//                     drop-in order) and a labelprof profile at 99 Hz
//   <name>-idle       labelprof/otel enabled, no profile running
//   <name>-profiler   a labelprof profile at 99 Hz, labelprof/otel not enabled
//                     (what profiling costs whatever the spans)
// <name> is a labelprof root given with --root name=dir (a checkout or a bench
// snapshot with dist/ built; its addon from --binding-<name> or dir's build).
// Prints per variant the median over rounds of the median CPU ns per request
// over batches, each variant's median paired ratio to `sdk`, and the last
// batch's cost (a long run, e.g. --requests 8000 --batches 10, shows what a
// process that has served many requests pays: 65536 is where labelprof/otel's
// provisional-endpoint tables start forgetting).
//
//   node bench/micro/otel-spans.js [--rounds 5] [--requests 2000] [--batches 15]
//        [--root lp=<dir>]... [--binding-lp <file.node>] [--no-idle] [--no-profiler]
const path = require('node:path');
const { spawn } = require('node:child_process');

const BENCH_DIR = path.join(__dirname, '..');

function parent(argv) {
  const o = { rounds: 5, requests: 2000, batches: 15, roots: [], bindings: {}, idle: true, profiler: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new TypeError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--rounds') o.rounds = Number(value());
    else if (a === '--requests') o.requests = Number(value());
    else if (a === '--batches') o.batches = Number(value());
    else if (a === '--no-idle') o.idle = false;
    else if (a === '--no-profiler') o.profiler = false;
    else if (a === '--root') {
      const [name, dir] = value().split('=');
      if (!name || !dir) throw new RangeError(`--root expects name=dir but received ${JSON.stringify(argv[i])}`);
      o.roots.push({ name, dir: path.resolve(dir) });
    } else if (a.startsWith('--binding-')) o.bindings[a.slice('--binding-'.length)] = path.resolve(value());
    else throw new RangeError(`unknown argument ${JSON.stringify(a)}: see the header of ${__filename}`);
  }
  for (const k of ['rounds', 'requests', 'batches']) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`--${k} must be a whole number >= 1 but received ${o[k]}`);
  }
  if (o.roots.length === 0) o.roots.push({ name: 'lp', dir: path.join(BENCH_DIR, '..') });
  const variants = [{ id: 'sdk' }];
  for (const r of o.roots) {
    variants.push({ id: r.name, root: r.dir, binding: o.bindings[r.name], profiling: true });
    if (o.idle) variants.push({ id: `${r.name}-idle`, root: r.dir, binding: o.bindings[r.name], profiling: false });
    if (o.profiler) variants.push({ id: `${r.name}-profiler`, root: r.dir, binding: o.bindings[r.name], profiling: true, otel: false });
  }
  return { o, variants };
}

function runChild(variant, o) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, OTEL_SPANS_JOB: JSON.stringify({ ...variant, requests: o.requests, batches: o.batches }) };
    if (variant.binding) env.LABELPROF_BINDING = variant.binding;
    const child = spawn(process.execPath, [__filename], { cwd: BENCH_DIR, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${variant.id} exited with ${code}: ${out}`));
      resolve(JSON.parse(out));
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main() {
  const { o, variants } = parent(process.argv.slice(2));
  const byVariant = new Map(variants.map((v) => [v.id, []]));
  const lastBatch = new Map(variants.map((v) => [v.id, []]));
  const ratios = new Map(variants.map((v) => [v.id, []]));
  for (let round = 0; round < o.rounds; round++) {
    const thisRound = {};
    for (const v of variants) {
      const r = await runChild(v, o);
      thisRound[v.id] = r.nsPerRequest;
      byVariant.get(v.id).push(r.nsPerRequest);
      lastBatch.get(v.id).push(r.nsLastBatch);
      process.stderr.write(`[${round + 1}/${o.rounds}] ${v.id.padEnd(12)} ${(r.nsPerRequest / 1000).toFixed(1)} µs CPU/request (${r.node}, ${r.labelSetsPerRequest} label sets/request)\n`);
    }
    for (const v of variants) ratios.get(v.id).push(thisRound[v.id] / thisRound.sdk);
  }
  console.log(`| variant | µs CPU/request (median of ${o.rounds}) | × sdk (paired, median) | + µs over sdk | last batch, µs/request |`);
  console.log('|---|---|---|---|---|');
  const sdk = median(byVariant.get('sdk'));
  for (const v of variants) {
    const m = median(byVariant.get(v.id));
    const last = median(lastBatch.get(v.id));
    console.log(`| ${v.id} | ${(m / 1000).toFixed(1)} | ${median(ratios.get(v.id)).toFixed(3)} | ${((m - sdk) / 1000).toFixed(1)} | ${(last / 1000).toFixed(1)} |`);
  }
}

// --- the measured process ------------------------------------------------------

async function child(job) {
  let lp;
  if (job.root !== undefined) {
    if (job.otel !== false) require(path.join(job.root, 'dist', 'otel.js')).enableSpanLabels();
    lp = require(path.join(job.root, 'dist', 'index.js'));
  }
  const api = require('@opentelemetry/api');
  const { setRPCMetadata, RPCType } = require('@opentelemetry/core');
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const exporter = { export: (spans, done) => done({ code: 0 }), shutdown: async () => {}, forceFlush: async () => {} };
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 1 << 16 })] });
  provider.register();
  const tracer = api.trace.getTracer('otel-spans');
  const { context, trace, ROOT_CONTEXT, SpanKind } = api;
  const ROUTES = ['/api/users', '/api/orders', '/api/search', '/api/report'];
  let sink = 0;
  const work = (i) => {
    sink = (sink + i * 2654435761) | 0;
  };

  async function request(i) {
    const root = tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } }, ROOT_CONTEXT);
    const rpc = { type: RPCType.HTTP, span: root };
    const serverContext = setRPCMetadata(trace.setSpan(ROOT_CONTEXT, root), rpc);
    await context.with(serverContext, async () => {
      rpc.route = ROUTES[i & 3]; // Express's instrumentation, once a layer matched
      const middleware = tracer.startSpan('middleware - query');
      context.with(trace.setSpan(context.active(), middleware), work, undefined, i);
      middleware.end();
      const handler = tracer.startSpan(`request handler - ${rpc.route}`);
      await context.with(trace.setSpan(context.active(), handler), async () => {
        await null;
        work(i);
      });
      handler.end();
      context.bind(serverContext, work)(i); // a response callback bound to the request
    });
    root.setAttribute('http.route', rpc.route);
    root.end();
  }

  const labelSets = () => (lp === undefined ? 0 : require(path.join(job.root, 'dist', 'label-sets.js')).labelStats().labelSetsCreated);
  let profiler;
  if (job.profiling) profiler = lp.start({ intervalMicros: 10101 });
  async function batch(n, base) {
    const c0 = process.cpuUsage();
    // A turn of the event loop per request, as a server's requests come from
    // I/O callbacks: objects a WeakRef made during a job are kept until the
    // job's microtasks are done, and the span processor's timer runs.
    for (let i = 0; i < n; i++) {
      await request(base + i);
      await new Promise(setImmediate);
    }
    const c = process.cpuUsage(c0);
    return ((c.user + c.system) * 1000) / n;
  }
  await batch(job.requests, 0); // warm-up: JIT, hooks enabled
  const sets0 = labelSets();
  const results = [];
  for (let b = 0; b < job.batches; b++) results.push(await batch(job.requests, (b + 1) * job.requests));
  const setsPerRequest = (labelSets() - sets0) / (job.batches * job.requests);
  if (profiler !== undefined) await profiler.stop();
  await provider.shutdown();
  process.stdout.write(JSON.stringify({ nsPerRequest: median(results), nsLastBatch: results[results.length - 1], node: process.version, labelSetsPerRequest: setsPerRequest.toFixed(2), sink }));
}

if (process.env.OTEL_SPANS_JOB !== undefined) {
  child(JSON.parse(process.env.OTEL_SPANS_JOB)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err.message);
    process.exit(2);
  });
}
