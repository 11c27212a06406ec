'use strict';
// Without @opentelemetry/api installed: the core package loads and profiles,
// labelprof/otel fails saying what to install, and the drop-in with
// LABELPROF_OTEL=1 says so on stderr and profiles anyway. labelprof is copied
// into a folder where no @opentelemetry/api can be resolved (the repository's
// own node_modules has it as a dev dependency).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT, readProfile } = require('./helpers');

const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-noapi-'));
const pkg = path.join(appDir, 'node_modules', 'labelprof');
fs.mkdirSync(path.join(pkg, 'node_modules'), { recursive: true });
for (const f of ['package.json', 'dist', 'esm', 'scripts/platform.js']) fs.cpSync(path.join(ROOT, f), path.join(pkg, f), { recursive: true });
fs.symlinkSync(path.join(ROOT, 'build'), path.join(pkg, 'build'), 'dir');
// labelprof's own dependencies, as npm would install them beside it.
for (const dep of Object.keys(require('../package.json').dependencies)) {
  fs.mkdirSync(path.dirname(path.join(pkg, 'node_modules', dep)), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(pkg, 'node_modules', dep), 'dir');
}
test.after(() => fs.rmSync(appDir, { recursive: true, force: true }));

function run(args, env = {}) {
  return spawnSync(process.execPath, args, { cwd: appDir, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000 });
}

test('the copy cannot resolve @opentelemetry/api (the premise of these tests)', () => {
  const r = run(['-e', "require.resolve('@opentelemetry/api', { paths: [require.resolve('labelprof')] })"]);
  assert.notEqual(r.status, 0);
});

test('the core package loads and profiles with labels without @opentelemetry/api', () => {
  const r = run(['-e', `
    const lp = require('labelprof');
    const p = lp.start({ intervalMicros: 1000 });
    function burnNoApi() { let x = 0; for (let i = 0; i < 3e7; i++) x += i % 7; return x; }
    lp.withLabels({ job: 'core' }, burnNoApi);
    p.stopSync().writeSync('core.pb.gz');
  `]);
  assert.equal(r.status, 0, r.stderr);
  const { samples } = readProfile(fs.readFileSync(path.join(appDir, 'core.pb.gz')));
  const burn = samples.filter((s) => s.stack.includes('burnNoApi'));
  assert.ok(burn.length > 0 && burn.every((s) => s.labels.job === 'core'));
});

test('require and import of labelprof/otel fail with a message saying what to install', () => {
  const cjs = run(['-e', "require('labelprof/otel')"]);
  assert.notEqual(cjs.status, 0);
  assert.match(cjs.stderr, /labelprof\/otel needs the package @opentelemetry\/api, which is not installed/);
  assert.match(cjs.stderr, /npm install @opentelemetry\/api/);
  const esm = run(['--input-type=module', '-e', "await import('labelprof/otel')"]);
  assert.notEqual(esm.status, 0);
  assert.match(esm.stderr, /npm install @opentelemetry\/api/);
});

test('drop-in with LABELPROF_OTEL=1 and no @opentelemetry/api: a warning, and the profile is written', () => {
  const out = path.join(appDir, 'dropin.pb.gz');
  const r = run(['--require', 'labelprof/start', '-e', 'let x = 0; for (let i = 0; i < 1e7; i++) x += i;'], {
    LABELPROF_OTEL: '1',
    LABELPROF_OUT: out,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /LABELPROF_OTEL=1 but span labels are off: labelprof\/otel needs the package @opentelemetry\/api/);
  assert.ok(fs.existsSync(out), r.stderr);
});
