#!/usr/bin/env node
'use strict';
// labelprof's overhead benchmark. Runs every workload under every variant,
// each measurement in a fresh child process, variants interleaved
// round-robin; prints a markdown report on stdout (progress on stderr) and
// writes the raw and summarized results to bench/results/.
//
//   node bench/run.js [--quick] [--runs N] [--node <path|major>] [--binding <file.node>]
//                     [--long-runs N] [--long-seconds S] [--micro-runs N]
//                     [--workloads cpu,http,http-fixed,async,deep-async,native|none] [--variants id,id] [--no-long] [--no-micro]
//                     [--max-retries N] [--foreign-limit CORES] [--quiet-wait SECONDS] [--no-snapshot]
//                     [--out file.json]
//
// See bench/README.md for what is measured and how to read it.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { VARIANTS, LONG_VARIANTS, variantById, appliesTo } = require('./lib/variants');
const { driveHttp } = require('./lib/http-driver');
const { machine, gitCommit, cpuTimes, cpuTimesDelta, busyFraction, foreignCores } = require('./lib/system');
const { aggregate } = require('./lib/aggregate');
const { renderMarkdown } = require('./lib/report');
const { resolveNode, snapshotLabelprof } = require('./lib/node-select');

const BENCH_DIR = __dirname;
const REPO_ROOT = path.join(BENCH_DIR, '..');
const WORKLOADS = ['cpu', 'http', 'http-fixed', 'async', 'deep-async', 'native'];
const MICRO_MODES = [
  'call-plain',
  'call-als',
  'call-labelprof',
  'call-lpprofiling',
  'await-plain',
  'await-als',
  'await-labelprof',
  'await-lpprofiling',
  'spanid-plain',
  'spanid-als',
  'spanid-labelprof',
  'spanid-lpprofiling',
];

function usage(message) {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write(
    'usage: node bench/run.js [--quick] [--runs N] [--node <path|major>] [--binding <file.node>]\n' +
      '                         [--long-runs N] [--long-seconds S] [--micro-runs N] [--no-long] [--no-micro]\n' +
      '                         [--workloads cpu,http,http-fixed,async,deep-async,native|none] [--variants id,id,...] [--out <file.json>]\n' +
      '                         [--max-retries N] [--foreign-limit CORES] [--quiet-wait SECONDS] [--no-snapshot]\n',
  );
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const o = {
    quick: false,
    runs: undefined,
    node: undefined,
    binding: process.env.LABELPROF_BINDING || undefined,
    longRuns: undefined,
    longSeconds: 60,
    microRuns: undefined,
    workloads: WORKLOADS,
    variants: VARIANTS.map((v) => v.id),
    long: true,
    micro: true,
    out: undefined,
    foreignLimit: 0.15,
    maxRetries: undefined,
    snapshot: true,
    quietWaitSeconds: undefined,
  };
  const positiveInt = (name, s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) usage(`expected a whole number for ${name} but received ${JSON.stringify(s)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--runs') o.runs = positiveInt(a, value());
    else if (a === '--node') o.node = value();
    else if (a === '--binding') o.binding = value();
    else if (a === '--long-runs') o.longRuns = positiveInt(a, value());
    else if (a === '--long-seconds') o.longSeconds = positiveInt(a, value());
    else if (a === '--micro-runs') o.microRuns = positiveInt(a, value());
    else if (a === '--no-long') o.long = false;
    else if (a === '--no-micro') o.micro = false;
    else if (a === '--no-snapshot') o.snapshot = false;
    else if (a === '--out') o.out = value();
    else if (a === '--max-retries') o.maxRetries = positiveInt(a, value());
    else if (a === '--quiet-wait') o.quietWaitSeconds = positiveInt(a, value());
    else if (a === '--foreign-limit') {
      o.foreignLimit = Number(value());
      if (!(o.foreignLimit >= 0)) usage('--foreign-limit must be a number of cores >= 0');
    }
    else if (a === '--workloads') {
      const list = value();
      o.workloads = list === 'none' ? [] : list.split(',');
      for (const w of o.workloads) if (!WORKLOADS.includes(w)) usage(`unknown workload ${w}; known: ${WORKLOADS.join(', ')}`);
    } else if (a === '--variants') {
      o.variants = value().split(',');
      for (const v of o.variants) variantById(v);
      if (!o.variants.includes('baseline')) o.variants.unshift('baseline');
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (o.runs === undefined) o.runs = o.quick ? 1 : 5;
  if (o.runs < 1) usage('--runs must be at least 1');
  if (o.longRuns === undefined) o.longRuns = o.quick ? 1 : 1;
  if (o.quick && o.longSeconds === 60) o.longSeconds = 1;
  if (o.maxRetries === undefined) o.maxRetries = o.quick ? 0 : 2;
  if (o.quietWaitSeconds === undefined) o.quietWaitSeconds = o.quick ? 0 : 30;
  if (o.microRuns === undefined) o.microRuns = o.quick ? 1 : o.runs;
  return o;
}

function log(s) {
  process.stderr.write(`${s}\n`);
}

function childEnv(ctx, job) {
  const env = { ...process.env, BENCH_JOB: JSON.stringify(job) };
  delete env.NODE_OPTIONS; // nothing preloaded into the measured process
  if (ctx.binding) env.LABELPROF_BINDING = path.resolve(ctx.binding);
  else delete env.LABELPROF_BINDING;
  if (ctx.labelprofRoot) env.BENCH_LABELPROF_ROOT = ctx.labelprofRoot;
  else delete env.BENCH_LABELPROF_ROOT;
  return env;
}

// Spawns one child and collects its messages. `drive` (HTTP only) runs the load.
function runChild({ ctx, script, job, timeoutMillis, drive }) {
  return new Promise((resolve) => {
    const child = spawn(ctx.nodeBin, [script], {
      env: childEnv(ctx, job),
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    const waiting = new Map();
    const inbox = [];
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ type: 'error', message: `timed out after ${timeoutMillis} ms` });
    }, timeoutMillis);
    const waitFor = (type) =>
      new Promise((res) => {
        const i = inbox.findIndex((m) => m.type === type);
        if (i >= 0) res(inbox.splice(i, 1)[0]);
        else waiting.set(type, res);
      });
    child.on('message', (msg) => {
      if (msg.type === 'error' || msg.type === 'unsupported') return finish(msg);
      const w = waiting.get(msg.type);
      if (w) {
        waiting.delete(msg.type);
        w(msg);
      } else inbox.push(msg);
    });
    child.on('exit', (code, signal) => {
      // Messages sent just before exit can arrive after this event: give them a moment.
      setTimeout(
        () => finish({ type: 'error', message: `child exited (code ${code}, signal ${signal}) without a result` }),
        500,
      );
    });
    (async () => {
      let driven = {};
      if (drive) {
        try {
          driven = await drive({ child, waitFor });
        } catch (err) {
          child.kill('SIGKILL');
          return finish({ type: 'error', message: `load driver: ${err.stack || err}` });
        }
      }
      const result = await waitFor('result');
      finish({ ...result, ...driven });
    })();
  });
}

// Fresh process: what the suite runs under, and what this build supports.
async function probe(ctx) {
  const script = path.join(BENCH_DIR, 'lib', 'probe-child.js');
  return runChild({ ctx, script, job: {}, timeoutMillis: 60_000 });
}

function rotate(list, k) {
  if (list.length === 0) return list;
  const s = k % list.length;
  return list.slice(s).concat(list.slice(0, s));
}

async function measureOnce(ctx, workloadName, variant, params) {
  const workload = require(`./workloads/${workloadName}`);
  const job = { workload: workloadName, variant, params };
  const before = cpuTimes();
  const runnerCpu = process.cpuUsage();
  const loadBefore = os.loadavg()[0];
  const t0 = Date.now();
  const timeoutMillis = workload.kind === 'http' ? (params.warmupSeconds + params.seconds) * 1000 + 120_000 : 600_000;
  const res = await runChild({
    ctx,
    script: path.join(BENCH_DIR, 'lib', 'child.js'),
    job,
    timeoutMillis,
    drive:
      workload.kind === 'http'
        ? ({ child, waitFor }) => driveHttp({ child, waitFor, params, routes: workload.ROUTES })
        : undefined,
  });
  const after = cpuTimes();
  res.elapsedMillis = Date.now() - t0;
  const r = process.cpuUsage(runnerCpu);
  res.machineBusy = busyFraction(before, after);
  res.foreignCores = foreignCores(before, after, res.elapsedMillis, (r.user + r.system) / 1000 + (res.processCpuMillis ?? NaN));
  res.loadAvg1 = loadBefore;
  res.procStatMillis = cpuTimesDelta(before, after);
  res.runnerCpuMillis = (r.user + r.system) / 1000;
  return res;
}

// Before a measurement, waits (up to ctx.quietWaitMillis) until the machine
// has been quiet for a second: less than ctx.foreignLimit cores busy while
// nothing of ours runs. Returns how long it waited.
async function waitForQuiet(ctx) {
  const t0 = Date.now();
  for (;;) {
    const a = cpuTimes();
    const r0 = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const r = process.cpuUsage(r0);
    const busy = foreignCores(a, cpuTimes(), 1000, (r.user + r.system) / 1000);
    if (busy === null || busy <= ctx.foreignLimit || Date.now() - t0 >= ctx.quietWaitMillis) return Date.now() - t0;
  }
}

// One measurement; repeated (up to ctx.maxRetries times) when other work on
// the machine used more than ctx.foreignLimit cores meanwhile.
async function measure(ctx, workloadName, variant, params, label) {
  const kind = require(`./workloads/${workloadName}`).kind;
  let res;
  for (let attempt = 0; ; attempt++) {
    const waitedMillis = ctx.quietWaitMillis > 0 ? await waitForQuiet(ctx) : 0;
    res = await measureOnce(ctx, workloadName, variant, params);
    res.waitedForQuietMillis = waitedMillis;
    res.attempts = attempt + 1;
    const what =
      res.type === 'result'
        ? kind === 'http'
          ? `${Math.round(res.throughput)} req/s p50 ${res.latencyP50Millis} p99 ${res.latencyP99Millis} ms, ${Math.round(res.cpuMicrosPerRequest)} µs CPU/req`
          : `${Math.round(res.wallMillis)} ms wall, ${Math.round(res.cpuMillis)} ms CPU`
        : `${res.type}: ${String(res.message || res.reason).split('\n')[0]}`;
    const foreign = res.foreignCores ?? 0;
    const disturbed = res.type === 'result' && foreign > ctx.foreignLimit;
    log(
      `  ${label} ${workloadName.padEnd(10)} ${variant.id.padEnd(14)} ${what}` +
        (disturbed ? `  [other work on the machine: ${foreign.toFixed(2)} cores${attempt < ctx.maxRetries ? ', measuring again' : ''}]` : ''),
    );
    res.disturbed = disturbed;
    if (!disturbed || attempt >= ctx.maxRetries) return res;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { nodeBin, binding } = resolveNode(opts, usage);
  const mode = opts.quick ? 'quick' : 'full';
  const started = new Date();

  const commit = gitCommit(REPO_ROOT);
  let snapshot;
  let probed;
  const ctx = {
    nodeBin,
    binding,
    foreignLimit: opts.foreignLimit,
    maxRetries: opts.maxRetries,
    quietWaitMillis: opts.quietWaitSeconds * 1000,
  };
  // A rebuild in progress can leave dist/ or the addon half-written: take the
  // snapshot again until a fresh process loads it.
  for (let attempt = 1; ; attempt++) {
    if (opts.snapshot) {
      snapshot = snapshotLabelprof(binding);
      ctx.binding = snapshot.binding;
      ctx.labelprofRoot = snapshot.root;
    }
    probed = await probe(ctx);
    if (probed.type === 'result' || attempt >= 6) break;
    log(`bench: labelprof does not load yet (${String(probed.message).split('\n')[0]}); trying again in 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
  if (probed.type !== 'result') {
    log(`bench: the probe child failed under ${nodeBin}: ${probed.message}`);
    process.exit(1);
  }
  log(
    `bench: ${mode} run under Node ${probed.node} (${nodeBin}); ${opts.runs} run(s) per variant; ` +
      `AsyncContextFrame ${probed.asyncContextFrame ? 'on' : 'off'}; nativeFrames ${probed.nativeFrames.supported ? 'supported' : 'not supported'}; ` +
      `@datadog/pprof ${probed.datadog.loaded ? probed.datadog.version : `not loadable (${probed.datadog.error})`}; ` +
      `@pyroscope/nodejs ${probed.pyroscope.loaded ? probed.pyroscope.version : `not loadable (${probed.pyroscope.error})`}`,
  );

  const unsupported = {};
  for (const id of opts.variants) {
    const v = variantById(id);
    if (v.nativeFrames && !probed.nativeFrames.supported) unsupported[id] = 'not supported by this build';
    if (v.profiler === 'datadog' && !probed.datadog.loaded) unsupported[id] = `@datadog/pprof does not load: ${probed.datadog.error}`;
    if (v.profiler === 'pyroscope' && !probed.pyroscope.loaded) unsupported[id] = `@pyroscope/nodejs does not load: ${probed.pyroscope.error}`;
  }
  const active = opts.variants.filter((id) => unsupported[id] === undefined).map(variantById);
  const paramsOf = (w) => require(`./workloads/${w}`).params[mode];

  const measurements = [];
  for (let round = 0; round < opts.runs; round++) {
    log(`bench: round ${round + 1}/${opts.runs}`);
    for (const w of opts.workloads) {
      for (const variant of rotate(active.filter((v) => appliesTo(v, w)), round)) {
        const res = await measure(ctx, w, variant, paramsOf(w), `[${round + 1}/${opts.runs}]`);
        if (res.type === 'unsupported') {
          unsupported[variant.id] = res.reason;
        }
        measurements.push({ round, workload: w, variant: variant.id, ...res });
      }
      // A variant found unsupported at run time is skipped from then on.
      for (let i = active.length - 1; i >= 0; i--) if (unsupported[active[i].id]) active.splice(i, 1);
    }
  }

  const long = [];
  if (opts.long && opts.longRuns > 0 && opts.workloads.includes('http')) {
    const base = require('./workloads/http').params.long;
    const params = { ...base, seconds: opts.longSeconds, warmupSeconds: opts.quick ? 0 : base.warmupSeconds };
    const longActive = LONG_VARIANTS.filter((id) => opts.variants.includes(id) && !unsupported[id]).map(variantById);
    for (let round = 0; round < opts.longRuns; round++) {
      log(`bench: ${opts.longSeconds}-second profiles, round ${round + 1}/${opts.longRuns}`);
      for (const variant of rotate(longActive, round)) {
        const res = await measure(ctx, 'http', variant, params, `[long ${round + 1}/${opts.longRuns}]`);
        long.push({ round, workload: 'http', variant: variant.id, ...res });
      }
    }
  }

  const micro = [];
  if (opts.micro && opts.microRuns > 0) {
    const params = opts.quick ? { iterations: 200_000, batches: 3 } : { iterations: 300_000, batches: 7 };
    for (let round = 0; round < opts.microRuns; round++) {
      log(`bench: micro, round ${round + 1}/${opts.microRuns}`);
      for (const m of rotate(MICRO_MODES, round)) {
        const res = await runChild({
          ctx,
          script: path.join(BENCH_DIR, 'micro', 'micro.js'),
          job: { mode: m, params },
          timeoutMillis: 300_000,
        });
        log(`  [${round + 1}/${opts.microRuns}] ${m.padEnd(16)} ${res.type === 'result' ? `${res.nsPerOp.toFixed(1)} ns/op` : res.message}`);
        micro.push({ round, mode: m, ...res });
      }
    }
  }

  const finished = new Date();
  const meta = {
    date: started.toISOString(),
    finished: finished.toISOString(),
    durationSeconds: Math.round((finished - started) / 1000),
    mode,
    machine: machine(),
    node: { version: probed.node, v8: probed.v8, execPath: nodeBin, asyncContextFrame: probed.asyncContextFrame },
    runnerNode: process.version,
    labelprof: {
      commit,
      addon: snapshot ? snapshot.addonSource : binding ? path.resolve(binding) : 'default (build/Release)',
      addonSha256: snapshot?.addonSha256,
      distSha256: snapshot?.distSha256,
      snapshot: Boolean(snapshot),
    },
    datadog: probed.datadog,
    pyroscope: probed.pyroscope,
    nativeFrames: probed.nativeFrames,
    runs: opts.runs,
    foreignLimitCores: opts.foreignLimit,
    maxRetries: opts.maxRetries,
    quietWaitSeconds: opts.quietWaitSeconds,
    longRuns: long.length > 0 ? opts.longRuns : 0,
    longSeconds: opts.longSeconds,
    microRuns: micro.length > 0 ? opts.microRuns : 0,
    loadAvgAtStart: probed.loadavg,
    workloads: Object.fromEntries(
      opts.workloads.map((w) => [w, require(`./workloads/${w}`).describe(paramsOf(w))]),
    ),
    params: Object.fromEntries(opts.workloads.map((w) => [w, paramsOf(w)])),
    variants: opts.variants.map(variantById),
    unsupported,
  };
  const summary = aggregate({ meta, measurements, long, micro });
  const report = renderMarkdown(summary);
  process.stdout.write(report);

  const resultsDir = path.join(BENCH_DIR, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = started.toISOString().replace(/[:]/g, '').replace(/\..*$/, '');
  const file =
    opts.out !== undefined
      ? path.resolve(opts.out)
      : path.join(resultsDir, `${stamp}-node${probed.node.replace(/^v/, '').split('.')[0]}${opts.quick ? '-quick' : ''}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ meta, summary: summary.tables, measurements, long, micro }, null, 1)}\n`);
  fs.writeFileSync(file.replace(/\.json$/, '.md'), report);
  log(`bench: wrote ${path.relative(process.cwd(), file)} and .md (${meta.durationSeconds} s)`);
  if (snapshot) fs.rmSync(snapshot.root, { recursive: true, force: true });
  const failures = [...measurements, ...long, ...micro].filter((m) => m.type === 'error');
  if (failures.length > 0) {
    log(`bench: ${failures.length} measurement(s) failed; see "error" entries in the JSON`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  log(`bench: ${err.stack || err}`);
  process.exit(1);
});
