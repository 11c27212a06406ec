'use strict';
// Server side of bench/continuous.js: the HTTP workload's handler
// (workloads/http.js), each request under labels { span_id, endpoint } with a
// span id of its own (a random 64-bit decimal, as tracers make them), profiled
// by one profiler ($BENCH_JOB.variant):
//   labelprof  startContinuous() at 1 kHz, one Profile per period, each
//              encoded as soon as it is handed over (as an exporter would)
//   datadog    @datadog/pprof's time profiler wired as dd-trace wires it
//              (lib/datadog.js), time.stop(true) every period, then encoded
//   none       no profiler (AsyncLocalStorage carries the labels): what the
//              process's RSS does by itself
//
// Two modes ($BENCH_JOB.mode):
//   continuous  profiles from start to 'end'; one {type:'period'} message per
//               period: RSS at the period's end, longest event-loop block
//               during the period, the encode's cost and bytes, samples
//   once        serves unprofiled until 'begin', profiles until 'end', then
//               stops and encodes that one profile: {type:'result'}
//
// Event-loop blocks: perf_hooks.monitorEventLoopDelay at 1 ms resolution (a
// libuv timer in C++, no JavaScript per tick). Its maximum is the longest
// interval between two ticks of that timer, so a figure includes up to ~1 ms
// of timer period; a period's histogram is reset at the period's end, so the
// encode of period N counts in period N+1 (where it runs). The stop + encode
// of each period is also measured alone (encodeBlockMillis, lib/probe.js: a
// 1 ms interval timer's longest gap).
const http = require('node:http');
const os = require('node:os');
const crypto = require('node:crypto');
const { AsyncLocalStorage } = require('node:async_hooks');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const { handle, ROUTES } = require('../workloads/http');
const { withBlockProbe } = require('./probe');

const job = JSON.parse(process.env.BENCH_JOB);
const LABEL_KEYS = ['span_id', 'endpoint'];

function send(msg) {
  return new Promise((resolve) => process.send(msg, resolve));
}

function blockMonitor() {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return {
    // Longest gap in ms since the last take(), and restarts the count.
    take() {
      const max = h.max / 1e6;
      h.reset();
      return Number.isFinite(max) && max > 0 ? max : 0;
    },
    stop: () => h.disable(),
  };
}

// A 64-bit span id in decimal, as dd-trace and OpenTelemetry-to-Datadog ids are.
function newSpanId() {
  return crypto.randomBytes(8).readBigUInt64BE().toString();
}

function labelprof() {
  return require(require('./labelprof-root'));
}

// Returns { wrap, stop(): Promise, stats?() } for the continuous mode.
// `onPeriod(collect)` is called at each period's end; collect() stops the
// period if the profiler has not (synchronously, as the profiler's own stop)
// and returns { samples, stopMillis, encode(): Promise<Buffer> }.
function startContinuousVariant(onPeriod) {
  if (job.variant === 'labelprof') {
    const lp = labelprof();
    const profiler = lp.startContinuous({
      intervalMicros: job.intervalMicros,
      nativeFrames: job.nativeFrames,
      periodSeconds: job.periodSeconds,
      // The profiler cut the period already: nothing left to stop.
      onProfile: (profile) => onPeriod(() => ({ samples: profile.sampleCount, stopMillis: 0, encode: () => profile.encode() })),
      onError: (err) => send({ type: 'error', message: `onProfile: ${err && err.stack ? err.stack : err}` }),
    });
    return { wrap: lp.withLabels, stop: () => profiler.stop(), stats: () => profiler.stats() };
  }
  if (job.variant === 'datadog') {
    const dd = require('./datadog').startDatadog(job.intervalMicros, { labelKeys: LABEL_KEYS, lowCardinalityKeys: ['endpoint'] });
    const timer = setInterval(() => {
      onPeriod(() => {
        // Synchronous: time.stop(true) restarts, then serializes the period.
        const s0 = performance.now();
        const profile = dd.stopAndRestart();
        const stopMillis = performance.now() - s0;
        // value[0] of each sample is its count of samples.
        const samples = profile.sample.reduce((n, x) => n + Number(x.value[0]), 0);
        return { samples, stopMillis, encode: () => dd.encode(profile) };
      });
    }, job.periodSeconds * 1000);
    return {
      wrap: dd.wrap,
      stop: async () => {
        clearInterval(timer);
        dd.stop();
      },
    };
  }
  if (job.variant === 'none') {
    const als = new AsyncLocalStorage();
    const timer = setInterval(
      () => onPeriod(() => ({ samples: 0, stopMillis: 0, encode: async () => Buffer.alloc(0) })),
      job.periodSeconds * 1000,
    );
    return { wrap: (labels, fn) => als.run(labels, fn), stop: async () => clearInterval(timer) };
  }
  throw new RangeError(`unknown variant ${job.variant}`);
}

function serve(getWrap) {
  const counters = { served: 0, failed: 0 };
  const server = http.createServer((req, res) => {
    const i = counters.served++;
    const endpoint = ROUTES.includes(req.url) ? req.url : 'other';
    const labels = { span_id: newSpanId(), endpoint };
    Promise.resolve(getWrap()(labels, () => handle(req, res, labels, i))).catch(() => {
      counters.failed++;
      res.statusCode = 500;
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  return { server, counters };
}

async function continuous() {
  const blocks = blockMonitor();
  const t0 = performance.now();
  let period = 0;
  let lastCpu = process.cpuUsage();
  let lastServed = 0;
  let encoding = Promise.resolve();
  let ending = false;
  let counters;

  // Called at each period's end, from the profiler's callback or timer.
  const onPeriod = (collect) => {
    const n = ++period;
    const atEnd = {
      type: 'period',
      period: n,
      partial: ending,
      elapsedSeconds: (performance.now() - t0) / 1000,
      rssBytes: process.memoryUsage.rss(),
      // Where RSS goes: V8's heap (committed, used), and memory outside it.
      ...((m) => ({ heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers }))(process.memoryUsage()),
      maxBlockMillis: blocks.take(),
      requests: counters.served - lastServed,
      cpuMillis: ((c) => (c.user + c.system) / 1000)(process.cpuUsage(lastCpu)),
      loadAvg1: os.loadavg()[0],
    };
    lastServed = counters.served;
    lastCpu = process.cpuUsage();
    // Stopped (where the profiler needs it) and encoded one after another, as
    // an exporter's queue would, under a 1 ms timer that notes the longest gap.
    encoding = encoding.then(async () => {
      const measured = await withBlockProbe(async () => {
        const { samples, stopMillis, encode } = collect();
        const e0 = performance.now();
        const bytes = (await encode()).length;
        return { samples, stopMillis, bytes, encodeMillis: performance.now() - e0 };
      });
      await send({ ...atEnd, ...measured.result, encodeBlockMillis: measured.maxBlockMillis });
    });
  };

  const variant = startContinuousVariant(onPeriod);
  const s = serve(() => variant.wrap);
  counters = s.counters;
  await new Promise((resolve) => s.server.listen(0, '127.0.0.1', resolve));
  await send({ type: 'listening', port: s.server.address().port, pid: process.pid });
  await new Promise((resolve) => process.once('message', (m) => m.type === 'end' && resolve()));
  ending = true;
  await variant.stop();
  await encoding;
  s.server.closeAllConnections();
  s.server.close();
  blocks.stop();
  await send({ type: 'done', served: counters.served, failed: counters.failed, stats: variant.stats?.() });
  process.exit(0);
}

// What a profile holds, read back (after the measurement): samples with a
// span_id label (weighted by their count), distinct span ids, locations.
function contents(gzipped) {
  const { Profile } = require(require.resolve('pprof-format', { paths: [require('./labelprof-root')] }));
  const p = Profile.decode(require('node:zlib').gunzipSync(gzipped));
  const str = (i) => p.stringTable.strings[Number(i)];
  const spanIds = new Set();
  let spanSamples = 0;
  for (const s of p.sample) {
    const l = s.label.find((x) => str(x.key) === 'span_id');
    if (l === undefined) continue;
    spanIds.add(str(l.str));
    spanSamples += Number(s.value[0]);
  }
  return { spanIds: spanIds.size, spanSamples, locations: p.location.length, pprofSamples: p.sample.length };
}

// One profile of the load between 'begin' and 'end': stop + encode measured.
async function once() {
  const plain = (labels, fn) => fn();
  let wrap = plain;
  let finish;
  const s = serve(() => wrap);
  await new Promise((resolve) => s.server.listen(0, '127.0.0.1', resolve));
  const messages = [];
  let waiting;
  process.on('message', (m) => (waiting ? (waiting(m), (waiting = undefined)) : messages.push(m)));
  const next = () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((r) => (waiting = r)));
  await send({ type: 'listening', port: s.server.address().port, pid: process.pid });
  await next(); // begin
  const served0 = s.counters.served;
  if (job.variant === 'labelprof') {
    const lp = labelprof();
    const profiler = lp.start({ intervalMicros: job.intervalMicros, nativeFrames: job.nativeFrames });
    wrap = lp.withLabels;
    finish = async () => {
      const s0 = performance.now();
      const profile = await profiler.stop();
      const stopMillis = performance.now() - s0;
      const buf = await profile.encode();
      return { stopMillis, encodeMillis: performance.now() - s0 - stopMillis, bytes: buf.length, samples: profile.sampleCount, buf };
    };
  } else {
    const dd = require('./datadog').startDatadog(job.intervalMicros, { labelKeys: LABEL_KEYS, lowCardinalityKeys: ['endpoint'] });
    wrap = dd.wrap;
    finish = async () => {
      const samples = dd.sampleCount();
      const s0 = performance.now();
      const profile = dd.stop();
      const stopMillis = performance.now() - s0;
      const buf = await dd.encode(profile);
      return { stopMillis, encodeMillis: performance.now() - s0 - stopMillis, bytes: buf.length, samples, buf };
    };
  }
  await next(); // end
  const requests = s.counters.served - served0;
  s.server.closeAllConnections();
  s.server.close();
  const measured = await withBlockProbe(finish);
  const { buf, ...result } = measured.result;
  Object.assign(result, contents(buf));
  // --save-profiles DIR: the encoded profile, to compare contents.
  if (job.saveDir) require('node:fs').writeFileSync(require('node:path').join(job.saveDir, `${job.variant}-${process.pid}.pb.gz`), buf);
  await send({
    type: 'result',
    node: process.version,
    requests,
    ...result,
    stopEncodeMillis: measured.elapsedMillis,
    maxBlockMillis: measured.maxBlockMillis,
    loadAvg1: os.loadavg()[0],
  });
  process.exit(0);
}

(job.mode === 'once' ? once() : continuous()).catch(async (err) => {
  await send({ type: 'error', message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
