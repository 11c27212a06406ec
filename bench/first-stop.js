'use strict';
// The first stop() of a process with native frames against nativeFrames:
// false: how long it blocks the event loop and what it adds to peak RSS (the
// first stop is the one that reads the symbol tables). Each measurement is
// a fresh process; variants are interleaved round-robin.
//
//   node bench/first-stop.js [--rounds N] [--seconds S] [--node <bin>] [--binding <labelprof.node>]
//                            [--root name=<labelprof dir>]...
//
// --root compares builds (e.g. --root before=/tmp/base --root after=.): each
// is a directory with labelprof's dist/ (and build/ unless --binding).
// Prints a markdown table: medians (min–max) over the rounds.
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

function child(root, nativeFrames, seconds) {
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const zlib = require('node:zlib');
  const crypto = require('node:crypto');
  const lp = require(root);
  const profiler = lp.start({ intervalMicros: 1000, nativeFrames });
  // Work in JavaScript, zlib and OpenSSL, in slices that let the loop turn.
  const data = Buffer.from('labelprof '.repeat(20000) + Math.random().toString(36).repeat(5000));
  const end = Date.now() + seconds * 1000;
  let x = 0;
  const slice = () => {
    const t = Date.now() + 20;
    while (Date.now() < t) {
      for (let i = 0; i < 2e4; i++) x += Math.sqrt(i);
      zlib.deflateSync(data);
      crypto.createHash('sha256').update(data).digest();
    }
  };
  const finish = async () => {
    // The probe: a 1 ms timer; the longest gap between its ticks while
    // stop() runs is the longest block. monitorEventLoopDelay agrees within
    // its resolution.
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    let last = performance.now();
    let longestGapMs = 0;
    const probe = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 1);
    await new Promise((r) => setTimeout(r, 30));
    longestGapMs = 0;
    histogram.enable();
    const rssBeforeStopMB = process.memoryUsage().rss / 2 ** 20;
    const t0 = performance.now();
    const stopping = profiler.stop();
    const stopCallMs = performance.now() - t0;
    const profile = await stopping;
    const stopMs = performance.now() - t0;
    // One more probe tick after the stop, so a block at its very end counts.
    await new Promise((r) => setTimeout(r, 5));
    const stopBlockMs = Math.max(longestGapMs, performance.now() - last);
    histogram.disable();
    const peakAfterStopMB = process.resourceUsage().maxRSS / 1024;
    const t1 = performance.now();
    await profile.encode();
    const encodeMs = performance.now() - t1;
    clearInterval(probe);
    let nativeFramesSeen = 0;
    for (const c of profile._chunks) for (const part of c.native ?? []) nativeFramesSeen += part.frames.length;
    console.log(JSON.stringify({
      samples: profile.sampleCount,
      nativeFramesSeen,
      stopCallMs,
      stopMs,
      stopBlockMs,
      eldMaxMs: histogram.max / 1e6,
      encodeMs,
      rssBeforeStopMB,
      peakAfterStopMB,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      x: x > 0,
    }));
  };
  const step = () => {
    slice();
    if (Date.now() < end) setImmediate(step);
    else finish();
  };
  step();
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const rounds = Number(opt('--rounds', '5'));
  const seconds = Number(opt('--seconds', '3'));
  const node = opt('--node', process.execPath);
  const binding = opt('--binding', undefined);
  const roots = [];
  args.forEach((a, i) => {
    if (a === '--root') {
      const [name, dir] = args[i + 1].split('=');
      roots.push({ name, dir: path.resolve(dir) });
    }
  });
  if (roots.length === 0) roots.push({ name: 'this', dir: path.join(__dirname, '..') });
  const variants = [];
  for (const r of roots) for (const nf of [false, true]) variants.push({ ...r, nativeFrames: nf, id: `${r.name} nativeFrames:${nf}` });
  const results = new Map(variants.map((v) => [v.id, []]));
  const version = spawnSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim();
  const load = os.loadavg()[0];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + round) % variants.length];
      const env = { ...process.env };
      if (binding !== undefined) env.LABELPROF_BINDING = path.resolve(binding);
      const r = spawnSync(node, [__filename, '--child', v.dir, String(v.nativeFrames), String(seconds)], { encoding: 'utf8', env, timeout: 120000 });
      if (r.status !== 0) throw new Error(`${v.id}: status ${r.status}\n${r.stderr}`);
      const lines = r.stdout.trim().split('\n');
      results.get(v.id).push(JSON.parse(lines[lines.length - 1]));
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  const cell = (xs, digits = 0) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
  console.log(`Node ${version}, ${rounds} rounds, ${seconds}-second profiles at 1 kHz; 1-min load average at start ${load.toFixed(1)} on ${os.cpus().length} cores (${new Date().toISOString()})\n`);
  console.log('| variant | stop() call ms | longest block during stop ms (probe) | eld max ms | stop resolved ms | encode ms | RSS before stop MB | peak RSS after stop MB | Δ peak RSS vs nativeFrames:false MB | samples | native frames |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const v of variants) {
    const rs = results.get(v.id);
    const base = results.get(`${v.name} nativeFrames:false`);
    // Paired by round: same round, same machine state.
    const delta = rs.map((r, i) => r.peakAfterStopMB - base[i].peakAfterStopMB);
    console.log(`| ${v.id} | ${cell(rs.map((r) => r.stopCallMs), 1)} | ${cell(rs.map((r) => r.stopBlockMs), 1)} | ${cell(rs.map((r) => r.eldMaxMs), 1)} | ${cell(rs.map((r) => r.stopMs), 1)} | ${cell(rs.map((r) => r.encodeMs), 1)} | ${cell(rs.map((r) => r.rssBeforeStopMB))} | ${cell(rs.map((r) => r.peakAfterStopMB))} | ${v.nativeFrames ? cell(delta, 1) : '—'} | ${median(rs.map((r) => r.samples))} | ${median(rs.map((r) => r.nativeFramesSeen))} |`);
  }
}

if (process.argv[2] === '--child') child(process.argv[3], process.argv[4] === 'true', Number(process.argv[5]));
else main();
