'use strict';
// The drop-in for services: one file per period, rotation, the last period at
// SIGTERM, no truncated file after SIGKILL, and the whole-run profile.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { spawn, spawnSync } = require('node:child_process');
const helpers = require('./helpers');
const { ROOT, FIXTURES, TIME_SCALE, EMULATED, readProfile } = helpers;

const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-svc-'));
fs.mkdirSync(path.join(appDir, 'node_modules'));
fs.symlinkSync(ROOT, path.join(appDir, 'node_modules', 'labelprof'), 'dir');
fs.copyFileSync(path.join(FIXTURES, 'service.js'), path.join(appDir, 'service.js'));
test.after(() => fs.rmSync(appDir, { recursive: true, force: true }));

// The fixture's work, whether TurboFan inlined serviceWork into its caller or not.
const isServiceWork = (s) => s.stack.includes('serviceWork') || s.stack.includes('serviceRequest');

function freshDir(name) {
  const dir = path.join(appDir, name);
  fs.mkdirSync(dir);
  return dir;
}

function env(extra) {
  return { ...process.env, LABELPROF_INTERVAL_MICROS: '1000', ...extra };
}

function goPprofReads(file) {
  const r = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8', env: { ...process.env, PPROF_TMPDIR: os.tmpdir() } });
  return r.status === 0 ? r.stdout : `go tool pprof failed (${r.status}): ${r.stderr}`;
}

const hasGo = spawnSync('go', ['version']).status === 0;

// Starts the service under the drop-in; `ready` resolves once it listens.
function startService(args, extraEnv) {
  return helpers.startService(appDir, ['--require', 'labelprof/start'], args, env(extraEnv));
}

test('LABELPROF_PERIOD_SECONDS writes one profile per period, named by time and pid, keeping LABELPROF_KEEP', { skip: !hasGo && 'needs go' }, async () => {
  const dir = freshDir('periods');
  // Under qemu (TIME_SCALE) a period's encoding and the service's own
  // start-up take seconds, and a blocked loop makes up no missed boundary:
  // the run is longer there, the count it must reach is the same.
  const svc = startService([String(4500 * TIME_SCALE)], { LABELPROF_PERIOD_SECONDS: '1', LABELPROF_OUT_DIR: dir, LABELPROF_KEEP: '3' });
  await svc.ready;
  const { code, stderr } = await svc.exited;
  assert.equal(code, 0, stderr);
  const wrote = stderr.match(/wrote \S+/g) ?? [];
  // ~4.5 s in 1-second periods, plus the partial last one at exit.
  assert.ok(wrote.length >= 5, stderr);
  const files = fs.readdirSync(dir).sort();
  assert.equal(files.length, 3, files.join(' '));
  const pid = svc.child.pid;
  for (const f of files) assert.match(f, new RegExp(`^labelprof-\\d{8}T\\d{6}\\.\\d{3}Z-${pid}\\.pb\\.gz$`));
  // The newest were kept: the last three written.
  assert.deepEqual(files, wrote.slice(-3).map((w) => path.basename(w.slice(6))).sort());
  // Under qemu the exit (requests stopped, the last periods encoded and
  // written) takes more than a period, so the newest files can hold only
  // that: there one of the three must hold the work; natively all three do.
  const work = /endpoint:\[\/work\]|endpoint:\/work/;
  const raws = files.map((f) => goPprofReads(path.join(dir, f)));
  for (const raw of raws) assert.match(raw, /^PeriodType: cpu nanoseconds/m, raw.slice(0, 2000));
  if (EMULATED) assert.ok(raws.some((raw) => work.test(raw)), raws.map((raw) => raw.slice(0, 300)).join('\n'));
  else for (const raw of raws) assert.match(raw, work, raw.slice(0, 2000));
});

test('SIGTERM writes the partial period and ends the process as SIGTERM would', async () => {
  const dir = freshDir('sigterm');
  // Under qemu on a loaded machine the busy loop can take the signal later
  // than the default 500 ms grace, after which the watchdog ends the process
  // without the profile (as it must for a synchronous script).
  const grace = TIME_SCALE > 1 ? { LABELPROF_SIGNAL_GRACE_MILLIS: String(5000 * TIME_SCALE) } : {};
  const svc = startService(['serve'], { LABELPROF_PERIOD_SECONDS: '60', LABELPROF_OUT_DIR: dir, ...grace });
  await svc.ready;
  await new Promise((r) => setTimeout(r, 700 * TIME_SCALE));
  svc.child.kill('SIGTERM');
  const { signal, stderr } = await svc.exited;
  assert.equal(signal, 'SIGTERM', stderr);
  const files = fs.readdirSync(dir);
  assert.equal(files.length, 1, stderr);
  const { samples } = readProfile(fs.readFileSync(path.join(dir, files[0])));
  const work = samples.filter(isServiceWork);
  assert.ok(work.reduce((n, s) => n + s.count, 0) >= 20, 'the partial period holds the work');
  assert.ok(work.every((s) => s.labels.endpoint === '/work' && /^\d+$/.test(s.labels.request_id)));
});

const profilesIn = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.pb.gz'));

test('SIGKILL at any moment leaves no truncated profile: every .pb.gz file reads whole', async () => {
  const dir = freshDir('sigkill');
  for (const delay of [350, 700, 1050]) {
    const written = profilesIn(dir).length;
    const svc = startService(['serve'], { LABELPROF_PERIOD_SECONDS: '1', LABELPROF_OUT_DIR: dir });
    await svc.ready;
    // Killed `delay` into a later period, once this service wrote its first
    // one (on a loaded machine or under qemu that takes seconds, not one).
    const deadline = Date.now() + 30000 * TIME_SCALE;
    while (profilesIn(dir).length === written && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, delay));
    svc.child.kill('SIGKILL');
    await svc.exited;
  }
  const files = profilesIn(dir);
  assert.ok(files.length >= 3, `one period file before each SIGKILL at least: ${files.join(' ')}`);
  for (const f of files) {
    const bytes = fs.readFileSync(path.join(dir, f));
    assert.doesNotThrow(() => readProfile(bytes), `${f} does not read whole`);
  }
});

test('without a period, the exit profile covers the whole run, however many internal periods it took', async () => {
  const out = path.join(appDir, 'whole.pb.gz');
  const svc = startService(['2500'], { LABELPROF_OUT: out, LABELPROF_CHUNK_SECONDS: '0.5' });
  await svc.ready;
  const { code, stderr } = await svc.exited;
  assert.equal(code, 0, stderr);
  const { profile, samples } = readProfile(fs.readFileSync(out));
  assert.ok(Number(profile.durationNanos) >= 2.3e9, `duration ${profile.durationNanos}`);
  const work = samples.filter(isServiceWork).reduce((n, s) => n + s.count, 0);
  assert.ok(work >= 30, `work samples: ${work}`);
});

test('an application that handles SIGINT itself: the profile is written once, at exit, with the whole run', async () => {
  const out = path.join(appDir, 'sigint.pb.gz');
  const script = path.join(appDir, 'handles-sigint.js');
  fs.writeFileSync(script, `
    const { withLabels } = require('labelprof');
    function beforeSignal() { let x = 0; for (let i = 0; i < 4e6; i++) x += Math.sqrt(i + x) % 7; return x; }
    function afterSignal() { let x = 0; for (let i = 0; i < 4e6; i++) x += Math.sqrt(i + x) % 7; return x; }
    const keep = setInterval(() => withLabels({ phase: 'before' }, beforeSignal), 5);
    process.on('SIGINT', () => {
      clearInterval(keep);
      withLabels({ phase: 'after' }, afterSignal);
      withLabels({ phase: 'after' }, afterSignal);
      process.exit(0);
    });
    process.stdout.write('ready\\n');
  `);
  const child = spawn(process.execPath, ['--require', 'labelprof/start', script], { cwd: appDir, env: env({ LABELPROF_OUT: out }) });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise((r) => child.stdout.once('data', r));
  await new Promise((r) => setTimeout(r, 500));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0, stderr);
  assert.equal((stderr.match(/wrote /g) ?? []).length, 1, stderr);
  const { samples } = readProfile(fs.readFileSync(out));
  const phases = new Set(samples.filter((s) => s.labels.phase !== undefined).map((s) => s.labels.phase));
  assert.deepEqual([...phases].sort(), ['after', 'before']);
});

test('Ctrl-C still ends a synchronous, CPU-bound script at once (exit by SIGINT), as without the drop-in', async () => {
  const script = path.join(appDir, 'sync-busy.js');
  fs.writeFileSync(script, `
    function busy() { const end = Date.now() + 20000; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }
    process.stdout.write('ready\\n');
    busy();
    process.stdout.write('ran to its end\\n');
  `);
  const child = spawn(process.execPath, ['--require', 'labelprof/start', script], { cwd: appDir, env: env({ LABELPROF_OUT: path.join(appDir, 'sync.pb.gz') }) });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  await new Promise((r) => child.stdout.once('data', r));
  await new Promise((r) => setTimeout(r, 300));
  const sent = Date.now();
  child.kill('SIGINT');
  const { signal, elapsed } = await new Promise((r) => child.on('exit', (code, sig) => r({ signal: sig, elapsed: Date.now() - sent })));
  assert.equal(signal, 'SIGINT', stdout);
  assert.ok(!stdout.includes('ran to its end'));
  assert.ok(elapsed < 5000, `took ${elapsed} ms to end`);
});

test('Workers: not profiled by the drop-in unless LABELPROF_WORKERS=1, then each writes its own file', async () => {
  const script = path.join(appDir, 'with-worker.js');
  fs.writeFileSync(script, `
    const { Worker } = require('node:worker_threads');
    function mainWork() { let x = 0; for (let i = 0; i < 4e6; i++) x += Math.sqrt(i + x) % 7; return x; }
    const w = new Worker(\`
      const { withLabels } = require(${JSON.stringify(path.join(appDir, 'node_modules', 'labelprof'))});
      function workerWork() { let x = 0; for (let i = 0; i < 8e6; i++) x += Math.sqrt(i + x) % 7; return x; }
      withLabels({ thread: 'worker' }, workerWork);
    \`, { eval: true });
    mainWork();
    w.on('exit', () => mainWork());
  `);
  for (const workers of ['', '1']) {
    const dir = freshDir(`workers${workers}`);
    const r = spawnSync(process.execPath, ['--require', 'labelprof/start', script], {
      cwd: dir,
      env: env({ LABELPROF_WORKERS: workers }),
      encoding: 'utf8',
      timeout: 60000,
    });
    assert.equal(r.status, 0, r.stderr);
    const files = fs.readdirSync(dir).sort();
    if (workers === '') {
      assert.deepEqual(files, [`labelprof-${r.pid}.pb.gz`], r.stderr);
      continue;
    }
    assert.equal(files.length, 2, files.join(' '));
    const workerFile = files.find((f) => /-w\d+\.pb\.gz$/.test(f));
    assert.ok(workerFile, files.join(' '));
    const { samples } = readProfile(fs.readFileSync(path.join(dir, workerFile)));
    const work = samples.filter((s) => s.stack.includes('workerWork'));
    assert.ok(work.length > 0 && work.every((s) => s.labels.thread === 'worker'), 'the worker file holds the worker');
    const main = readProfile(fs.readFileSync(path.join(dir, `labelprof-${r.pid}.pb.gz`))).samples;
    assert.ok(!main.some((s) => s.stack.includes('workerWork')), 'the main file holds only the main thread');
  }
});
