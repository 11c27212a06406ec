#!/usr/bin/env node
'use strict';
// Continuous profiling of a service, measured: the HTTP workload
// (workloads/http.js) with a span id of its own per request (labels
// { span_id, endpoint }), profiled at 1 kHz with back-to-back 60-second
// periods, each period's profile encoded as an exporter would; load from
// autocannon in a separate process at a fixed rate well under saturation.
// Per period: RSS at the period's end, longest event-loop block, bytes of the
// encoded profile, samples. Variants: labelprof's ContinuousProfiler,
// @datadog/pprof's time profiler restarted every period as dd-trace does, and
// none (no profiler: what the process and the machine do by themselves, the
// control for RSS and for blocks on a shared machine).
//
//   node bench/continuous.js [--minutes N] [--variant labelprof|datadog|both|none[,...]]
//                            [--parallel] [--node <path|major>] [--binding file.node]
//                            [--rate REQ_PER_S] [--connections N] [--period-seconds S]
//                            [--interval-micros US] [--native-frames] [--nice N] [--node-arg ARG]
//                            [--quick] [--out file.json]
//   node bench/continuous.js --six-seconds [--rounds N] [--seconds S] [--save-profiles DIR] [...]
//   node bench/continuous.js --render results.json     (the markdown of a results file again)
//
// --six-seconds: stop + encode and bytes of one 6-second profile of the same
// workload, labelprof against @datadog/pprof, a fresh process per
// measurement, variants interleaved, medians over --rounds (default 5).
// --quick: a smoke run under a minute (two 10-second periods per variant,
// one round of --six-seconds with 2-second profiles), checking that every
// period arrived with samples and bytes. See bench/README.md.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { resolveNode, snapshotLabelprof, BENCH_DIR, REPO_ROOT } = require('./lib/node-select');
const { machine, gitCommit } = require('./lib/system');
const { summarize } = require('./lib/stats');
const { ROUTES } = require('./workloads/http');

function usage(message) {
  if (message) process.stderr.write(`bench/continuous: ${message}\n`);
  process.stderr.write(
    'usage: node bench/continuous.js [--minutes N] [--variant labelprof|datadog|both|none] [--parallel]\n' +
      '                                [--node <path|major>] [--binding file.node] [--rate REQ_PER_S] [--connections N]\n' +
      '                                [--period-seconds S] [--interval-micros US] [--native-frames] [--nice N] [--node-arg ARG] [--quick] [--out file.json]\n' +
      '       node bench/continuous.js --six-seconds [--rounds N] [--seconds S] [same options]\n',
  );
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const o = {
    minutes: 30,
    variant: 'both',
    parallel: false,
    node: undefined,
    binding: process.env.LABELPROF_BINDING || undefined,
    rate: 200,
    connections: 8,
    periodSeconds: 60,
    intervalMicros: 1000,
    nativeFrames: false,
    quick: false,
    sixSeconds: false,
    rounds: 5,
    seconds: 6,
    out: undefined,
    snapshot: true,
    nice: undefined,
  };
  const number = (name, s, min) => {
    const n = Number(s);
    if (!Number.isFinite(n) || n < min) usage(`${name} needs a number >= ${min}, not ${JSON.stringify(s)}`);
    return n;
  };
  const given = new Set();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    given.add(a);
    if (a === '--minutes') o.minutes = number(a, value(), 0.05);
    else if (a === '--variant') {
      o.variant = value();
      for (const v of o.variant.split(',')) {
        if (!['labelprof', 'datadog', 'both', 'none'].includes(v)) usage(`--variant: labelprof, datadog, both or none (or a list), not ${v}`);
      }
    } else if (a === '--parallel') o.parallel = true;
    else if (a === '--node') o.node = value();
    else if (a === '--binding') o.binding = value();
    else if (a === '--rate') o.rate = number(a, value(), 1);
    else if (a === '--connections') o.connections = Math.round(number(a, value(), 1));
    else if (a === '--period-seconds') o.periodSeconds = number(a, value(), 1);
    else if (a === '--interval-micros') o.intervalMicros = Math.round(number(a, value(), 100));
    else if (a === '--native-frames') o.nativeFrames = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--six-seconds') o.sixSeconds = true;
    else if (a === '--rounds') o.rounds = Math.round(number(a, value(), 1));
    else if (a === '--seconds') o.seconds = number(a, value(), 0.5);
    else if (a === '--out') o.out = value();
    else if (a === '--no-snapshot') o.snapshot = false;
    else if (a === '--node-arg') serverNodeArgs.push(value());
    else if (a === '--save-profiles') o.saveDir = path.resolve(value());
    else if (a === '--nice') {
      o.nice = Number(value());
      if (!Number.isInteger(o.nice) || o.nice < -20 || o.nice > 19) usage('--nice needs a whole number from -20 to 19');
    }
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (o.quick) {
    if (!given.has('--minutes')) o.minutes = 1 / 3;
    if (!given.has('--period-seconds')) o.periodSeconds = 10;
    if (!given.has('--rounds')) o.rounds = 1;
    if (!given.has('--seconds')) o.seconds = 2;
    if (!given.has('--parallel')) o.parallel = true;
  }
  return o;
}

function log(s) {
  process.stderr.write(`${s}\n`);
}

function childEnv(ctx, extra) {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS; // nothing preloaded into the measured process
  if (ctx.binding) env.LABELPROF_BINDING = path.resolve(ctx.binding);
  else delete env.LABELPROF_BINDING;
  if (ctx.labelprofRoot) env.BENCH_LABELPROF_ROOT = ctx.labelprofRoot;
  else delete env.BENCH_LABELPROF_ROOT;
  return env;
}

// A child with an IPC channel; `onMessage` sees every message; resolves on exit.
// With --nice N the child runs at that scheduling priority (N < 0 needs
// root): on a machine shared with other work, the measured server and its
// load then get the CPU when they need it, so its blocks are its own.
let childNice;
// --node-arg ARG (repeatable): passed to the server's node, e.g. --cpu-prof.
const serverNodeArgs = [];
function startChild(nodeBin, script, env, onMessage) {
  // Through nice(1), so every thread (V8's, libuv's) has the priority.
  const nodeArgs = [...(script.endsWith('continuous-server.js') ? serverNodeArgs : []), script];
  const [file, args] = childNice === undefined ? [nodeBin, nodeArgs] : ['nice', ['-n', String(childNice), nodeBin, ...nodeArgs]];
  const child = spawn(file, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', onMessage);
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

function waitForMessage(child, type, timeoutMillis) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${type}' message within ${timeoutMillis} ms`)), timeoutMillis);
    const on = (m) => {
      if (m.type === type || m.type === 'error') {
        clearTimeout(timer);
        child.off('message', on);
        if (m.type === 'error') reject(new Error(m.message));
        else resolve(m);
      }
    };
    child.on('message', on);
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`child exited (code ${code}, signal ${signal}) before '${type}'`));
    });
  });
}

function startLoad(ctx, port, seconds) {
  const env = {
    ...process.env,
    BENCH_LOAD: JSON.stringify({ port, rate: ctx.opts.rate, seconds, connections: ctx.opts.connections, routes: ROUTES }),
  };
  delete env.NODE_OPTIONS;
  // The load generator runs under the runner's Node: it is not measured.
  const child = startChild(process.execPath, path.join(BENCH_DIR, 'lib', 'load.js'), env, () => {});
  return child;
}

// One continuous run of one variant; resolves with its periods and totals.
// `live` ({ periods, errors }) receives the periods as they arrive (ctx.flush writes it).
async function continuousRun(ctx, variant, live = { periods: [], errors: [] }) {
  const { opts } = ctx;
  const { periods, errors } = live;
  const job = {
    mode: 'continuous',
    variant,
    intervalMicros: opts.intervalMicros,
    periodSeconds: opts.periodSeconds,
    nativeFrames: opts.nativeFrames,
  };
  const server = startChild(ctx.nodeBin, path.join(BENCH_DIR, 'lib', 'continuous-server.js'), childEnv(ctx, { BENCH_JOB: JSON.stringify(job) }), (m) => {
    if (m.type === 'period') {
      periods.push(m);
      log(
        `  ${variant.padEnd(9)} period ${String(m.period).padStart(3)}${m.partial ? ' (partial)' : ''}: RSS ${mb(m.rssBytes)} MB, ` +
          `max block ${m.maxBlockMillis.toFixed(1)} ms (encode ${m.encodeBlockMillis.toFixed(1)} ms), ` +
          `stop ${m.stopMillis.toFixed(1)} ms + encode ${m.encodeMillis.toFixed(0)} ms, ${kb(m.bytes)} KB, ${m.samples} samples, ` +
          `${m.requests} req, load ${m.loadAvg1.toFixed(1)}`,
      );
      ctx.flush?.();
    } else if (m.type === 'error') {
      errors.push(m.message);
      log(`  ${variant}: error: ${m.message}`);
    }
  });
  const { port } = await waitForMessage(server, 'listening', 60_000);
  const seconds = opts.minutes * 60;
  const load = startLoad(ctx, port, Math.ceil(seconds) + 60);
  const loadResult = waitForMessage(load, 'result', (seconds + 180) * 1000).catch((err) => ({ error: String(err.message) }));
  // The whole periods asked for, and a little more so the last one is handed over.
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + Math.min(2000, opts.periodSeconds * 100)));
  load.send({ type: 'stop' });
  const loadStats = await loadResult;
  server.send({ type: 'end' });
  const done = await waitForMessage(server, 'done', 120_000).catch((err) => ({ error: String(err.message) }));
  await server.exited;
  return { variant, periods, errors, load: loadStats, done };
}

const mb = (b) => (b / 1048576).toFixed(1);
const kb = (b) => (b / 1024).toFixed(0);

// Per variant: drift of RSS after the first whole period, longest blocks, bytes.
function summarizeContinuous(run) {
  const whole = run.periods.filter((p) => !p.partial);
  if (whole.length === 0) return { variant: run.variant, periods: 0 };
  const first = whole[0].rssBytes;
  const later = whole.slice(1).map((p) => p.rssBytes);
  return {
    variant: run.variant,
    periods: whole.length,
    rssFirstBytes: first,
    rssLastBytes: whole[whole.length - 1].rssBytes,
    rssDriftLastBytes: later.length > 0 ? later[later.length - 1] - first : null,
    rssDriftMaxBytes: later.length > 0 ? Math.max(...later) - first : null,
    // RSS at one instant swings with the GC's timing: the median of the later periods is the steadier figure.
    rssDriftMedianBytes: later.length > 0 ? summarize(later).median - first : null,
    maxBlockMillis: summarize(whole.map((p) => p.maxBlockMillis)),
    encodeBlockMillis: summarize(whole.map((p) => p.encodeBlockMillis)),
    encodeMillis: summarize(whole.map((p) => p.encodeMillis)),
    stopMillis: summarize(whole.map((p) => p.stopMillis)),
    bytes: summarize(whole.map((p) => p.bytes)),
    samples: summarize(whole.map((p) => p.samples)),
    requests: summarize(whole.map((p) => p.requests)),
    cpuMillis: summarize(whole.map((p) => p.cpuMillis)),
    loadAvg1: summarize(whole.map((p) => p.loadAvg1)),
    errors: run.errors.length,
    load: run.load,
  };
}

const fmt = (s, digits = 1) => (s == null ? 'n/a' : `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`);
const fmtMb = (b) => (b == null ? 'n/a' : `${b >= 0 ? '+' : ''}${mb(b)}`);

function renderContinuous(meta, runs, summaries) {
  const lines = [];
  lines.push(`## Continuous profiling, ${+meta.minutes.toFixed(2)} min, ${meta.periodSeconds}-second periods (${meta.node}, ${meta.date})`, '');
  lines.push(
    `HTTP workload at a fixed ${meta.rate} req/s (autocannon, ${meta.connections} connections, separate process), ` +
      `labels { span_id (unique per request), endpoint }, ${1e6 / meta.intervalMicros} Hz, native frames ${meta.nativeFrames ? 'on' : 'off'}; ` +
      `variants ${meta.parallel ? 'run at the same time (separate processes)' : 'one after the other'}` +
      `${meta.nice ? `, server and load processes at nice ${meta.nice}` : ''}. ` +
      `Machine: ${meta.machine.cores} × ${meta.machine.cpuModel}, load average at start ${meta.loadAvgAtStart.map((x) => x.toFixed(1)).join(' / ')} (shared with other work: block figures are pessimistic).`,
    '',
  );
  lines.push('| variant | periods | RSS period 1 (MB) | RSS drift after period 1: last / median / max (MB) | longest block per period, ms: median (min–max) | of which stop + encode, ms | stop + encode time, ms | bytes per period (KB) | samples per period | req per period | load avg 1 min |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of summaries) {
    if (!s.periods) {
      lines.push(`| ${s.variant} | 0 | | | | | | | | | |`);
      continue;
    }
    const kbs = s.bytes && { median: s.bytes.median / 1024, min: s.bytes.min / 1024, max: s.bytes.max / 1024 };
    const se = fmt(s.encodeMillis, 0);
    lines.push(
      `| ${s.variant} | ${s.periods} | ${mb(s.rssFirstBytes)} | ${fmtMb(s.rssDriftLastBytes)} / ${fmtMb(s.rssDriftMedianBytes)} / ${fmtMb(s.rssDriftMaxBytes)} | ${fmt(s.maxBlockMillis)} | ${fmt(s.encodeBlockMillis)} | stop ${fmt(s.stopMillis)}; encode ${se} | ${fmt(kbs, 0)} | ${fmt(s.samples, 0)} | ${fmt(s.requests, 0)} | ${fmt(s.loadAvg1)} |`,
    );
  }
  lines.push('');
  for (const r of runs) {
    lines.push(`<details><summary>${r.variant}: every period</summary>`, '');
    lines.push('| period | t (s) | RSS (MB) | heap used / total (MB) | external (MB) | longest block (ms) | stop + encode block (ms) | stop (ms) | encode (ms) | KB | samples | requests | CPU (ms) | load avg |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const p of r.periods) {
      lines.push(
        `| ${p.period}${p.partial ? ' (partial)' : ''} | ${p.elapsedSeconds.toFixed(0)} | ${mb(p.rssBytes)} | ${mb(p.heapUsedBytes)}${p.heapTotalBytes !== undefined ? ` / ${mb(p.heapTotalBytes)}` : ''} | ${p.externalBytes !== undefined ? mb(p.externalBytes) : ''} | ${p.maxBlockMillis.toFixed(1)} | ${p.encodeBlockMillis.toFixed(1)} | ${p.stopMillis.toFixed(1)} | ${p.encodeMillis.toFixed(0)} | ${kb(p.bytes)} | ${p.samples} | ${p.requests} | ${p.cpuMillis.toFixed(0)} | ${p.loadAvg1.toFixed(1)} |`,
      );
    }
    lines.push('', '</details>', '');
  }
  return `${lines.join('\n')}\n`;
}

// One measurement of --six-seconds: warm-up unprofiled, then profile for
// `seconds` under load, then stop + encode.
async function onceRun(ctx, variant) {
  const { opts } = ctx;
  const job = { mode: 'once', variant, intervalMicros: opts.intervalMicros, nativeFrames: opts.nativeFrames, saveDir: opts.saveDir };
  const server = startChild(ctx.nodeBin, path.join(BENCH_DIR, 'lib', 'continuous-server.js'), childEnv(ctx, { BENCH_JOB: JSON.stringify(job) }), () => {});
  try {
    const { port } = await waitForMessage(server, 'listening', 60_000);
    const warmup = startLoad(ctx, port, 1);
    await waitForMessage(warmup, 'result', 60_000);
    const load = startLoad(ctx, port, opts.seconds + 30);
    const loaded = waitForMessage(load, 'result', (opts.seconds + 60) * 1000).catch((err) => ({ error: String(err.message) }));
    await waitForMessage(load, 'ready', 60_000);
    server.send({ type: 'begin' });
    await new Promise((resolve) => setTimeout(resolve, opts.seconds * 1000));
    server.send({ type: 'end' });
    load.send({ type: 'stop' });
    const result = await waitForMessage(server, 'result', 120_000);
    const loadStats = await loaded;
    return { variant, ...result, load: loadStats };
  } catch (err) {
    server.kill('SIGKILL');
    return { variant, type: 'error', message: String(err.message) };
  } finally {
    await server.exited;
  }
}

function renderOnce(meta, results) {
  const lines = [];
  lines.push(`## Stop + encode of a ${meta.seconds}-second profile (${meta.node}, ${meta.date})`, '');
  lines.push(
    `HTTP workload at a fixed ${meta.rate} req/s, labels { span_id (unique per request), endpoint }, ${1e6 / meta.intervalMicros} Hz, ` +
      `native frames ${meta.nativeFrames ? 'on' : 'off'}; a fresh process per measurement, variants interleaved, ${meta.rounds} round(s)` +
      `${meta.nice ? `, server and load processes at nice ${meta.nice}` : ''}; ` +
      `median (min–max). Load average at start ${meta.loadAvgAtStart.map((x) => x.toFixed(1)).join(' / ')}.`,
    '',
  );
  lines.push('| variant | stop + encode (ms) | stop (ms) | encode (ms) | longest block (ms) | bytes (KB) | samples | samples with a span_id | span ids | bytes per span id | locations | requests | load avg |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const byVariant = {};
  for (const v of meta.variants) {
    const ok = results.filter((r) => r.variant === v && r.type === 'result');
    const s = (f) => summarize(ok.map(f));
    const row = {
      stopEncodeMillis: s((r) => r.stopEncodeMillis),
      stopMillis: s((r) => r.stopMillis),
      encodeMillis: s((r) => r.encodeMillis),
      maxBlockMillis: s((r) => r.maxBlockMillis),
      bytes: s((r) => r.bytes),
      samples: s((r) => r.samples),
      requests: s((r) => r.requests),
      loadAvg1: s((r) => r.loadAvg1),
      spanSamples: s((r) => r.spanSamples),
      spanIds: s((r) => r.spanIds),
      bytesPerSpanId: s((r) => r.bytes / r.spanIds),
      locations: s((r) => r.locations),
      n: ok.length,
    };
    byVariant[v] = row;
    const kbs = row.bytes && { median: row.bytes.median / 1024, min: row.bytes.min / 1024, max: row.bytes.max / 1024 };
    lines.push(
      `| ${v} (n=${ok.length}) | ${fmt(row.stopEncodeMillis, 0)} | ${fmt(row.stopMillis, 0)} | ${fmt(row.encodeMillis, 0)} | ${fmt(row.maxBlockMillis, 0)} | ${fmt(kbs, 0)} | ${fmt(row.samples, 0)} | ${fmt(row.spanSamples, 0)} | ${fmt(row.spanIds, 0)} | ${fmt(row.bytesPerSpanId, 1)} | ${fmt(row.locations, 0)} | ${fmt(row.requests, 0)} | ${fmt(row.loadAvg1)} |`,
    );
  }
  lines.push('');
  return { markdown: `${lines.join('\n')}\n`, byVariant };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { nodeBin, binding } = resolveNode(opts, usage);
  const ctx = { opts, nodeBin, binding };
  childNice = opts.nice;
  let snapshot;
  if (opts.snapshot) {
    snapshot = snapshotLabelprof(binding);
    ctx.binding = snapshot.binding;
    ctx.labelprofRoot = snapshot.root;
  }
  const nodeVersion = require('node:child_process').execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  const started = new Date();
  const variants = [...new Set(opts.variant.split(',').flatMap((v) => (v === 'both' ? ['labelprof', 'datadog'] : [v])))];
  const meta = {
    date: started.toISOString(),
    node: `Node ${nodeVersion}`,
    nodeBin,
    machine: machine(),
    commit: gitCommit(REPO_ROOT),
    addonSha256: snapshot?.addonSha256,
    distSha256: snapshot?.distSha256,
    datadog: require('./node_modules/@datadog/pprof/package.json').version,
    loadAvgAtStart: os.loadavg(),
    minutes: opts.minutes,
    periodSeconds: opts.periodSeconds,
    rate: opts.rate,
    connections: opts.connections,
    intervalMicros: opts.intervalMicros,
    nativeFrames: opts.nativeFrames,
    parallel: opts.parallel,
    nice: opts.nice ?? 0,
    variants,
    sixSeconds: opts.sixSeconds,
    rounds: opts.rounds,
    seconds: opts.seconds,
    quick: opts.quick,
  };
  const major = nodeVersion.replace(/^v/, '').split('.')[0];
  const stamp = started.toISOString().replace(/[:]/g, '').replace(/\..*$/, '');
  const kind = opts.sixSeconds ? 'once' : 'continuous'; // --quick: both, named after 'continuous'
  const file =
    opts.out !== undefined
      ? path.resolve(opts.out)
      : path.join(BENCH_DIR, 'results', `${stamp}-${kind}-${variants.join('+')}-node${major}${opts.quick ? '-quick' : ''}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let failed = false;

  if (opts.sixSeconds || opts.quick) {
    log(`bench/continuous: ${opts.seconds}-second profiles under ${meta.node}, ${opts.rounds} round(s), variants ${variants.join(', ')}`);
    const results = [];
    const onceVariants = variants.filter((v) => v !== 'none');
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? onceVariants : [...onceVariants].reverse();
      for (const v of order) {
        const r = await onceRun(ctx, v);
        results.push({ round, ...r });
        log(
          `  [${round + 1}/${opts.rounds}] ${v.padEnd(9)} ` +
            (r.type === 'result'
              ? `stop ${r.stopMillis.toFixed(0)} ms + encode ${r.encodeMillis.toFixed(0)} ms = ${r.stopEncodeMillis.toFixed(0)} ms, block ${r.maxBlockMillis.toFixed(0)} ms, ${kb(r.bytes)} KB, ${r.samples} samples (${r.spanSamples} with ${r.spanIds} span ids), ${r.requests} req, load ${r.loadAvg1.toFixed(1)}`
              : `error: ${r.message}`),
        );
      }
    }
    const { markdown, byVariant } = renderOnce({ ...meta, variants: onceVariants }, results);
    process.stdout.write(markdown);
    const onceFile = opts.quick && opts.out === undefined ? file.replace('-continuous-', '-once-') : opts.quick ? file.replace(/\.json$/, '-once.json') : file;
    fs.writeFileSync(onceFile, `${JSON.stringify({ meta, summary: byVariant, results }, null, 1)}\n`);
    fs.writeFileSync(onceFile.replace(/\.json$/, '.md'), markdown);
    log(`bench/continuous: wrote ${path.relative(process.cwd(), onceFile)} and .md`);
    if (results.some((r) => r.type !== 'result' || !(r.bytes > 0) || !(r.samples > 0))) failed = true;
  }

  if (!opts.sixSeconds) {
    log(
      `bench/continuous: ${+opts.minutes.toFixed(2)} min of ${opts.periodSeconds}-second periods under ${meta.node}, ` +
        `${opts.rate} req/s, variants ${variants.join(', ')}${opts.parallel ? ' at the same time' : ''}`,
    );
    const runs = [];
    // Partial results are written as periods arrive: a long run that is cut short keeps what it measured.
    const live = variants.map((variant) => ({ variant, periods: [], errors: [] }));
    ctx.flush = () => fs.writeFileSync(file, `${JSON.stringify({ meta, partial: true, runs: live }, null, 1)}\n`);
    const one = async (v, i) => {
      const r = await continuousRun(ctx, v, live[i]);
      live[i] = r;
      return r;
    };
    if (opts.parallel) runs.push(...(await Promise.all(variants.map(one))));
    else for (let i = 0; i < variants.length; i++) runs.push(await one(variants[i], i));
    const summaries = runs.map(summarizeContinuous);
    const markdown = renderContinuous(meta, runs, summaries);
    process.stdout.write(markdown);
    fs.writeFileSync(file, `${JSON.stringify({ meta, summary: summaries, runs }, null, 1)}\n`);
    fs.writeFileSync(file.replace(/\.json$/, '.md'), markdown);
    log(`bench/continuous: wrote ${path.relative(process.cwd(), file)} and .md`);
    const expected = Math.floor((opts.minutes * 60) / opts.periodSeconds);
    for (const s of summaries) {
      if (s.periods < expected || s.errors > 0 || !(s.bytes?.min > 0 || s.variant === 'none') || !(s.samples?.min > 0 || s.variant === 'none')) {
        log(`bench/continuous: ${s.variant}: ${s.periods} whole period(s) of ${expected} expected, ${s.errors} error(s)`);
        failed = true;
      }
    }
  }
  if (snapshot) fs.rmSync(snapshot.root, { recursive: true, force: true });
  if (failed) process.exitCode = 1;
}

// --render FILE.json: the markdown of a results file again (e.g. after the report changed).
function render(file) {
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (data.runs !== undefined) {
    process.stdout.write(renderContinuous(data.meta, data.runs, data.runs.map(summarizeContinuous)));
  } else {
    process.stdout.write(renderOnce({ ...data.meta, variants: data.meta.variants.filter((v) => v !== 'none') }, data.results).markdown);
  }
}

const renderAt = process.argv.indexOf('--render');
(renderAt > 0 ? Promise.resolve().then(() => render(process.argv[renderAt + 1])) : main()).catch((err) => {
  log(`bench/continuous: ${err.stack || err}`);
  process.exit(1);
});
