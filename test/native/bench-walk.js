'use strict';
// Walk cost, two ways, per main-executable CFI mode:
//  - hot: the same walk repeated from one context, no signal (lower bound);
//  - in the handler: clock_gettime around each walk inside SIGPROF, sampled
//    every 1 ms during a workload (caches as a real profile finds them).
//   node test/native/bench-walk.js [workload=deflate] [millis=2000]
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const workload = process.argv[2] || 'deflate';
const millis = process.argv[3] || '2000';
const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];

if (process.argv[2] === '--hot') {
  const native = require('./addon.js').load();
  native._prepareUnwindTables(process.argv[3]);
  const runs = [];
  for (let i = 0; i < 7; i++) runs.push(native._walkHere(0, 100000));
  const ns = runs.map((r) => r.nanosPerWalk).sort((a, b) => a - b);
  console.log(JSON.stringify({ nanos: ns[3], frames: runs[0].pcs.length }));
  process.exit(0);
}

for (const mode of ['off', 'none', 'leaf', 'all']) {
  const hot = JSON.parse(spawnSync(process.execPath, [__filename, '--hot', mode], { encoding: 'utf8' }).stdout);
  const r = spawnSync(process.execPath, [path.join(__dirname, 'sample-workload.js'), workload, millis, '1000'],
    { encoding: 'utf8', env: { ...process.env, LABELPROF_TEST_MAIN_CFI: mode }, maxBuffer: 256 << 20 });
  const out = JSON.parse(r.stdout);
  const ns = out.samples.map((s) => s.walkNanos).sort((a, b) => a - b);
  const depth = out.samples.map((s) => s.frames.length).sort((a, b) => a - b);
  console.log(`${mode.padEnd(4)} hot ${hot.nanos.toFixed(0)} ns / ${hot.frames} frames (${(hot.nanos / hot.frames).toFixed(1)} ns/frame) | ` +
    `in handler (${workload}, ${ns.length} walks, median depth ${q(depth, 0.5)}): p50 ${q(ns, 0.5)} ns, p90 ${q(ns, 0.9)} ns, p99 ${q(ns, 0.99)} ns`);
}
