'use strict';
// One measurement: one workload under one variant, in a fresh process. The
// runner passes the job in $BENCH_JOB and gets one {type:'result'} message
// back over IPC (or {type:'unsupported'}).
const { performance } = require('node:perf_hooks');
const { setupVariant } = require('./setup');

function send(msg) {
  return new Promise((resolve) => process.send(msg, resolve));
}

function onMessage(fn) {
  process.on('message', fn);
}

// A fixed workload starts inside a callback (an Immediate), as a service's
// work starts inside a request's callback, never at the top level of the
// main module. Where AsyncLocalStorage runs on async hooks (Node 20, 22),
// where it starts changes every variant that labels: at the top level (no
// async resource entered, which is what child.js's main is once its first
// await resumed with no hook enabled) AsyncLocalStorage.run stores its
// value on Node's shared top-level resource object, one more object shape
// for the symbol-keyed store and load in Node's storage propagation, which
// then stay megamorphic for the rest of the process. A wiring that enables
// an async hook at setup (@datadog/pprof's) had entered a resource by then
// and a lazy one (labelprof's, on the first label set) had not: deep-async
// measured x1.12 of the peer started at the top level and x1.00 started
// here (bench/README.md, "Deep nested async calls").
function runInCallback(fn) {
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        Promise.resolve(fn()).then(resolve, reject);
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function main() {
  const job = JSON.parse(process.env.BENCH_JOB);
  const workload = require(`../workloads/${job.workload}`);
  const setup = await setupVariant(job.variant);
  if (setup.unsupported) {
    await send({ type: 'unsupported', reason: setup.unsupported });
    process.exit(0);
  }
  let measured;
  if (workload.kind === 'http') {
    measured = await workload.serve({ wrap: setup.wrap, express: setup.express, params: job.params, send, onMessage });
  } else {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await runInCallback(() => workload.run({ wrap: setup.wrap, params: job.params }));
    const wallMillis = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    measured = { wallMillis, cpuMillis: (cpu.user + cpu.system) / 1000, checksum: r.checksum, units: r.units };
  }
  const rssBeforeStopBytes = process.memoryUsage.rss();
  const { profileBuffer, ...profile } = await setup.finish();
  const usage = process.resourceUsage();
  // After the measured part (and after peak RSS was read).
  if (profileBuffer) profile.labelledShare = require('./inspect-profile').labelledShare(profileBuffer);
  await send({
    type: 'result',
    node: process.version,
    startMillis: setup.startMillis,
    ...measured,
    rssBeforeStopBytes,
    maxRssBytes: usage.maxRSS * 1024,
    ...profile,
    processCpuMillis: ((c) => (c.user + c.system) / 1000)(process.cpuUsage()),
  });
  process.exit(0);
}

main().catch(async (err) => {
  await send({ type: 'error', message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
