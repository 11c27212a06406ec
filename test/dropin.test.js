'use strict';
// Drop-in use through `labelprof/start`, resolved the way an application
// resolves it: from a node_modules folder that holds the package.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { ROOT, FIXTURES, TIME_SCALE, readProfile } = require('./helpers');

const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-app-'));
fs.mkdirSync(path.join(appDir, 'node_modules'));
fs.symlinkSync(ROOT, path.join(appDir, 'node_modules', 'labelprof'), 'dir');
for (const f of ['app.js', 'app.mjs']) fs.copyFileSync(path.join(FIXTURES, f), path.join(appDir, f));
test.after(() => fs.rmSync(appDir, { recursive: true, force: true }));

// 500 Hz unless a test sets the rate: enough samples of the app's fixed work
// even on a loaded machine.
function run(nodeArgs, args, env = {}) {
  return spawnSync(process.execPath, [...nodeArgs, ...args], {
    cwd: appDir,
    env: { ...process.env, LABELPROF_INTERVAL_MICROS: '2000', ...env },
    encoding: 'utf8',
    timeout: 60000 * TIME_SCALE,
  });
}

function functionsWithLabel(file, key) {
  const { samples } = readProfile(fs.readFileSync(file));
  // Frame names such as "constructor" must not meet Object.prototype.
  const out = Object.create(null);
  for (const s of samples) {
    for (const f of new Set(s.stack)) {
      out[f] ??= { all: 0, labelled: {} };
      out[f].all += s.count;
      const v = s.labels[key] ?? '-';
      out[f].labelled[v] = (out[f].labelled[v] ?? 0) + s.count;
    }
  }
  return out;
}

test('--require labelprof/start writes labelprof-<pid>.pb.gz on normal exit', () => {
  const r = run(['--require', 'labelprof/start'], ['app.js', 'exit']);
  assert.equal(r.status, 0, r.stderr);
  const m = /wrote (.*labelprof-(\d+)\.pb\.gz)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(path.dirname(m[1]), fs.realpathSync(appDir));
  const f = functionsWithLabel(m[1], 'job');
  assert.ok(f.appWork?.all >= 5, JSON.stringify(f.appWork));
  assert.ok(f.appWork.labelled.app >= 0.95 * f.appWork.all);
  fs.unlinkSync(m[1]);
});

test('--import labelprof/start profiles an ES module app; LABELPROF_OUT and LABELPROF_INTERVAL_MICROS apply', () => {
  const out = path.join(appDir, 'esm.pb.gz');
  const r = run(['--import', 'labelprof/start'], ['app.mjs'], {
    LABELPROF_OUT: out,
    LABELPROF_INTERVAL_MICROS: '1000',
  });
  assert.equal(r.status, 0, r.stderr);
  const { profile, samples } = readProfile(fs.readFileSync(out));
  assert.equal(Number(profile.period), 1_000_000);
  const esm = samples.filter((s) => s.stack.includes('esmWork'));
  const n = esm.reduce((a, s) => a + s.count, 0);
  assert.ok(n >= 30, `only ${n} samples in esmWork at 1 kHz`);
  assert.ok(esm.every((s) => s.labels.job === 'esm'));
});

test('a bad LABELPROF_INTERVAL_MICROS gets a clear message, not a crash', () => {
  const out = path.join(appDir, 'bad-env.pb.gz');
  const r = run(['--require', 'labelprof/start'], ['app.js', 'exit'], {
    LABELPROF_OUT: out,
    LABELPROF_INTERVAL_MICROS: 'fast',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /ignoring LABELPROF_INTERVAL_MICROS="fast".*default rate/);
  assert.ok(fs.existsSync(out));
  const r2 = run(['--require', 'labelprof/start'], ['app.js', 'exit'], {
    LABELPROF_OUT: out,
    LABELPROF_INTERVAL_MICROS: '5',
  });
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stderr, /ignoring LABELPROF_INTERVAL_MICROS="5"/);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal} writes the profile, then the process ends as the signal would end it`, async () => {
    const out = path.join(appDir, `${signal}.pb.gz`);
    const child = spawn(process.execPath, ['--require', 'labelprof/start', 'app.js', 'wait'], {
      cwd: appDir,
      env: { ...process.env, LABELPROF_OUT: out, LABELPROF_INTERVAL_MICROS: '2000' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        if (String(d).includes('ready')) setTimeout(() => child.kill(signal), 100);
      });
      child.on('exit', (code, sig) => {
        try {
          assert.equal(sig, signal, `exit code ${code}, stderr: ${stderr}`);
          resolve();
        } catch (err) {
          reject(err);
        }
      });
    });
    const f = functionsWithLabel(out, 'job');
    assert.ok(f.appWork?.all >= 5, stderr);
  });
}
