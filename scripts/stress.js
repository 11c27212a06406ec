'use strict';
// npm run stress: labelprof tried the way a hostile or merely unlucky user
// would, for a bounded time, each part in its own child process (a crash
// there is counted, not fatal):
//   restart-copy     labelprof stopped and started again and again while a
//                    second copy of its addon (another path) chains on top
//   restart-datadog  the same beside @datadog/pprof's time profiler
//   worker-churn     Workers that start profiling and are terminated at
//                    random moments, while the main thread profiles at 1 kHz
//   fuzz             random arguments to every exported function and method:
//                    only TypeError/RangeError/Error with a message may come out
//   labels           random label objects (NUL, separators, unicode, shared
//                    prefixes): getLabels() inside withLabels returns exactly
//                    what went in, and two different sets never share an id
// Prints a summary table; exits 1 if any part failed.
//   node scripts/stress.js [--seconds N] [part...]     (default 60 s in all)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const PARTS = {
  'restart-copy': 0.15,
  'restart-datadog': 0.15,
  'worker-churn': 0.25,
  fuzz: 0.25,
  labels: 0.2,
};

// --- the parts, each run in a child: `node stress.js --child <part> <millis>` ---

function burnUntil(profiler, minSignals, millis) {
  const deadline = Date.now() + millis;
  let x = 0;
  while (profiler.stats().signals < minSignals && Date.now() < deadline) for (let i = 0; i < 5000; i++) x += Math.sqrt(i + x) % 3;
  return x;
}

function foreignHandler(kind) {
  if (kind === 'copy') {
    const built = process.env.LABELPROF_BINDING ?? path.join(ROOT, 'build', 'Release', 'labelprof.node');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-stress-'));
    fs.copyFileSync(built, path.join(dir, 'labelprof.node'));
    const copy = require(path.join(dir, 'labelprof.node'));
    fs.rmSync(dir, { recursive: true, force: true });
    return { start: () => copy.start(new ArrayBuffer(16), 1000, 100000, false, false), stop: () => copy.stop() };
  }
  const { time } = require('@datadog/pprof');
  return {
    start: () => time.start({ intervalMicros: 1000, durationMillis: 60000, withContexts: true, collectCpuTime: true }),
    stop: () => time.stop(),
  };
}

async function partRestart(kind, millis) {
  const lp = require(ROOT);
  const other = foreignHandler(kind);
  const deadline = Date.now() + millis;
  const out = { cycles: 0, foreignRestarts: 0, profilesWithoutSamples: 0, samples: 0, displaced: 0 };
  let foreignOn = false;
  let order = 0;
  while (Date.now() < deadline) {
    // Vary who goes on top of whom: labelprof first, the foreign handler
    // first, or the foreign one stopping while labelprof runs.
    order = (order + 1) % 3;
    if (order === 0 && !foreignOn) (other.start(), (foreignOn = true), out.foreignRestarts++);
    const profiler = lp.start({ intervalMicros: 1000, nativeFrames: out.cycles % 2 === 0 });
    if (order === 1 && !foreignOn) (other.start(), (foreignOn = true), out.foreignRestarts++);
    burnUntil(profiler, 10, 300);
    if (order === 2 && foreignOn) (other.stop(), (foreignOn = false));
    const profile = await profiler.stop();
    out.cycles++;
    out.samples += profile.sampleCount;
    if (profile.sampleCount === 0) out.profilesWithoutSamples++;
    if (profile.stats.displaced) out.displaced++;
  }
  if (foreignOn) other.stop();
  return out;
}

async function partWorkerChurn(millis) {
  const { Worker } = require('node:worker_threads');
  const lp = require(ROOT);
  const main = lp.start({ intervalMicros: 1000 });
  const deadline = Date.now() + millis;
  const out = { workers: 0, terminatedWhileProfiling: 0, finished: 0, workerErrors: 0 };
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const lp = require(${JSON.stringify(ROOT)});
    const p = lp.start({ intervalMicros: workerData.interval, nativeFrames: workerData.native });
    parentPort.postMessage('profiling');
    let x = 0;
    const end = Date.now() + workerData.runMillis;
    lp.withLabels({ worker: String(workerData.i) }, () => { while (Date.now() < end) x += Math.sqrt(x + 1); });
    p.stop().then((profile) => parentPort.postMessage({ samples: profile.sampleCount }));`;
  let x = 0;
  while (Date.now() < deadline) {
    const batch = [];
    for (let k = 0; k < 4; k++) {
      const i = out.workers++;
      batch.push(
        new Promise((resolve) => {
          const w = new Worker(code, {
            eval: true,
            workerData: { i, interval: [200, 500, 1000][i % 3], native: i % 2 === 0, runMillis: 5 + (i % 40) },
          });
          w.on('message', (m) => {
            // Terminate some right after they start, some mid-run, let some finish.
            if (m === 'profiling' && i % 3 !== 2) setTimeout(() => w.terminate(), i % 3 === 0 ? 0 : 3 + (i % 20));
            else if (m !== 'profiling') out.finished++;
          });
          w.on('error', () => out.workerErrors++);
          w.on('exit', (exitCode) => {
            if (exitCode === 1) out.terminatedWhileProfiling++;
            resolve();
          });
        }),
      );
    }
    for (let i = 0; i < 2e5; i++) x += Math.sqrt(i);
    await Promise.all(batch);
  }
  const profile = await main.stop();
  out.mainSamples = profile.sampleCount;
  out.mainDisplaced = profile.stats.displaced;
  return out;
}

// Random values of every kind a caller could pass.
function randomValue(rand, depth = 0) {
  const pick = Math.floor(rand() * 22);
  switch (pick) {
    case 0: return undefined;
    case 1: return null;
    case 2: return rand() < 0.5;
    case 3: return Math.floor(rand() * 4000) - 1000;
    case 4: return [0, -0, NaN, Infinity, -Infinity, 1e308, 2 ** 31, 2 ** 53, 0.5, 99, 100, 1e6, 1e7][Math.floor(rand() * 13)];
    case 5: return BigInt(Math.floor(rand() * 1e6));
    case 6: return randomString(rand);
    case 7: return Symbol('fuzz');
    case 8: return () => 42;
    case 9: return async () => { throw new Error('inside'); };
    case 10: return [];
    case 11: return depth < 2 ? [randomValue(rand, depth + 1)] : [];
    case 12: return {};
    case 13: return depth < 2 ? { intervalMicros: randomValue(rand, depth + 1) } : {};
    case 14: return depth < 2 ? { maxSamples: randomValue(rand, depth + 1), nativeFrames: randomValue(rand, depth + 1) } : {};
    case 15: return depth < 2 ? { [randomString(rand)]: randomValue(rand, depth + 1) } : {};
    case 16: return Object.create(null);
    case 17: return new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
    case 18: return { [Symbol('k')]: 'v' };
    case 19: return new Date();
    case 20: return Buffer.from('x');
    default: return JSON.parse('{"__proto__": {"x": "1"}, "a": "b"}');
  }
}

function randomString(rand) {
  const alphabet = ['a', 'b', '=', ',', ':', '\u0000', '\u0001', '"', '\\', 'é', '\u{1F600}', ' ', '\n', '__proto__', 'constructor'];
  let s = '';
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

// A seeded generator (mulberry32), so a failure can be replayed with its seed.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function partFuzz(millis, seed) {
  const lp = require(ROOT);
  const rand = seeded(seed);
  const deadline = Date.now() + millis;
  const out = { seed, calls: 0, returned: 0, TypeError: 0, RangeError: 0, Error: 0, bad: [] };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-fuzz-'));
  // Random strings become relative paths for write(): keep them in here.
  const cwd = process.cwd();
  process.chdir(tmp);
  let profiler;
  let profile;
  const record = async (what, call) => {
    out.calls++;
    try {
      await call();
      out.returned++;
    } catch (err) {
      const ok = (err instanceof TypeError || err instanceof RangeError || err instanceof Error) &&
        typeof err.message === 'string' && err.message.length > 0;
      // The fuzzer's own async function rejecting through withLabels is its own error.
      if (ok && err.message === 'inside') return void out.returned++;
      if (!ok) out.bad.push(`${what}: threw ${String(err)}`);
      else out[err instanceof RangeError ? 'RangeError' : err instanceof TypeError ? 'TypeError' : 'Error']++;
    }
  };
  const args = () => Array.from({ length: Math.floor(rand() * 3) }, () => randomValue(rand));
  const paths = () => [path.join(tmp, 'p.pb.gz'), path.join(tmp, 'missing', 'p.pb.gz'), tmp, '', ...args()];
  while (Date.now() < deadline) {
    const which = Math.floor(rand() * 14);
    if (which === 0) await record('start', () => { profiler = lp.start(...args()); });
    else if (which === 1) await record('start(valid)', () => { profiler = lp.start({ intervalMicros: 100 + Math.floor(rand() * 5000) }); });
    else if (which === 2) await record('isProfiling', () => lp.isProfiling(...args()));
    else if (which === 3) await record('withLabels', () => lp.withLabels(...args()));
    else if (which === 4) await record('withLabels(fn)', () => lp.withLabels(randomValue(rand), () => lp.getLabels()));
    else if (which === 5) await record('setLabels', () => lp.setLabels(...args()));
    else if (which === 6) await record('getLabels', () => lp.getLabels(...args()));
    else if (which === 7) await record('getLabel', () => lp.getLabel(...args()));
    else if (which === 8 && profiler) await record('Profiler.stop', async () => { profile = await profiler.stop(...args()); });
    else if (which === 9 && profiler) await record('Profiler.stopSync', () => { profile = profiler.stopSync(...args()); });
    else if (which === 10 && profiler) await record('Profiler.stats', () => profiler.stats(...args()));
    else if (which === 11 && profile) await record('Profile.encode', () => (rand() < 0.5 ? profile.encode(...args()) : profile.encodeSync(...args())));
    else if (which === 12 && profile) {
      const file = paths()[Math.floor(rand() * 5)];
      await record('Profile.write', () => (rand() < 0.5 ? profile.write(file) : profile.writeSync(file)));
    } else if (which === 13 && profile) await record('Profile.toPprof', () => profile.toPprof(...args()).encode());
  }
  if (lp.isProfiling() && profiler?.running) await profiler.stop();
  process.chdir(cwd);
  fs.rmSync(tmp, { recursive: true, force: true });
  out.bad = out.bad.slice(0, 10);
  return out;
}

// Random label objects; the property: what goes in comes out, and ids
// identify sets. NUL and separators are in the alphabet on purpose, and one
// case in four is built to fold into another set if keys and values were
// joined with a separator (issue 10, item 2).
function partLabels(millis, seed) {
  const { AsyncResource } = require('node:async_hooks');
  const { withLabels, getLabels } = require(ROOT);
  const { _currentSetId } = require(path.join(ROOT, 'dist', 'labels.js'));
  const rand = seeded(seed);
  const deadline = Date.now() + millis;
  const out = { seed, sets: 0, rejected: 0, roundTripFailures: 0, collisions: 0, examples: [] };
  const byId = new Map();
  const held = [];
  const canonical = (labels) => JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
  const key = () => { let k = ''; while (k === '') k = randomString(rand); return k; };
  while (Date.now() < deadline) {
    const labels = {};
    const n = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < n; i++) labels[key()] = randomString(rand);
    const candidates = [labels];
    if (rand() < 0.25) {
      // The same keys and values folded into one value with NUL between.
      const keys = Object.keys(labels).sort();
      const first = keys[0];
      let folded = labels[first];
      for (const k of keys.slice(1)) folded += `\u0000${k}\u0000${labels[k]}`;
      candidates.push({ [first]: folded });
    }
    for (const candidate of candidates) {
      out.sets++;
      let seen;
      try {
        // The resource holds the context, so the set stays live and its id
        // is not handed to a later set (ids of freed sets are reused).
        seen = withLabels(candidate, () => ({ labels: getLabels(), id: _currentSetId(), hold: new AsyncResource('hold') }));
      } catch (err) {
        // Rejecting a label is allowed, with a TypeError that names it.
        if (err instanceof TypeError && /label/.test(err.message)) {
          out.rejected++;
          if (out.rejectedExample === undefined) out.rejectedExample = `${JSON.stringify(candidate)}: ${err.message}`;
          continue;
        }
        throw err;
      }
      const want = canonical(candidate);
      if (canonical(seen.labels) !== want) {
        out.roundTripFailures++;
        if (out.examples.length < 3) out.examples.push({ in: candidate, out: seen.labels });
      }
      held.push(seen.hold);
      const before = byId.get(seen.id);
      if (before !== undefined && before !== want) {
        out.collisions++;
        if (out.examples.length < 3) out.examples.push({ id: seen.id, first: JSON.parse(before), second: JSON.parse(want) });
      }
      if (before === undefined && seen.id > 1) byId.set(seen.id, want);
    }
  }
  return out;
}

const CHECKS = {
  'restart-copy': (r) => r.cycles > 0 && r.profilesWithoutSamples < r.cycles,
  'restart-datadog': (r) => r.cycles > 0 && r.profilesWithoutSamples < r.cycles,
  'worker-churn': (r) => r.workers > 0 && r.workerErrors === 0 && r.mainSamples > 0 && !r.mainDisplaced,
  fuzz: (r) => r.calls > 0 && r.bad.length === 0,
  labels: (r) => r.sets > 0 && r.roundTripFailures === 0 && r.collisions === 0,
};

async function child(part, millis, seed) {
  let result;
  if (part === 'restart-copy') result = await partRestart('copy', millis);
  else if (part === 'restart-datadog') result = await partRestart('datadog', millis);
  else if (part === 'worker-churn') result = await partWorkerChurn(millis);
  else if (part === 'fuzz') result = await partFuzz(millis, seed);
  else if (part === 'labels') result = partLabels(millis, seed);
  result.maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv[1], Number(argv[2]), Number(argv[3]));
  let seconds = 60;
  const chosen = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else chosen.push(argv[i]);
  }
  if (!(seconds > 0)) throw new RangeError(`Expected a positive number for --seconds but received ${seconds}`);
  const parts = chosen.length > 0 ? chosen : Object.keys(PARTS);
  for (const p of parts) if (!(p in PARTS)) throw new RangeError(`Unknown part ${JSON.stringify(p)}; parts: ${Object.keys(PARTS).join(', ')}`);
  const share = parts.reduce((sum, p) => sum + PARTS[p], 0);
  const seed = Number(process.env.STRESS_SEED ?? Date.now() % 1e9);
  console.log(`stress: Node ${process.version}, ${seconds} s, seed ${seed}${process.env.LABELPROF_BINDING ? `, addon ${process.env.LABELPROF_BINDING}` : ''}`);
  let failed = 0;
  for (const part of parts) {
    const millis = Math.round((seconds * 1000 * PARTS[part]) / share);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [__filename, '--child', part, String(millis), String(seed)], {
      cwd: ROOT, encoding: 'utf8', timeout: millis + 120000,
    });
    const elapsed = ((Date.now() - t0) / 1000).toFixed(1);
    let result;
    try {
      result = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      result = undefined;
    }
    const ok = r.status === 0 && result !== undefined && CHECKS[part](result);
    if (!ok) failed++;
    const how = r.status === 0 ? '' : ` exit ${r.status}${r.signal ? ` (${r.signal})` : ''}`;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${part.padEnd(16)} ${elapsed.padStart(5)} s${how}  ${result ? JSON.stringify(result) : ''}`);
    if (!ok && r.stderr) console.log(r.stderr.split('\n').slice(-15).join('\n'));
  }
  console.log(failed === 0 ? 'stress: all parts held' : `stress: ${failed} part(s) failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main();
