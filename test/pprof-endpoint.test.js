'use strict';
// GET /debug/pprof/profile?seconds=N, read by the real client
// (`go tool pprof http://...`), mounted by an application or served by the
// drop-in, with and without a running ContinuousProfiler.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn, spawnSync } = require('node:child_process');
const helpers = require('./helpers');
const { ROOT, FIXTURES, TIME_SCALE } = helpers;
const { parseSeconds } = require('../dist/pprof-handler');

const appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-endpoint-'));
fs.mkdirSync(path.join(appDir, 'node_modules'));
fs.symlinkSync(ROOT, path.join(appDir, 'node_modules', 'labelprof'), 'dir');
fs.copyFileSync(path.join(FIXTURES, 'service.js'), path.join(appDir, 'service.js'));
const pprofTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-pprof-home-'));
test.after(() => {
  fs.rmSync(appDir, { recursive: true, force: true });
  fs.rmSync(pprofTmp, { recursive: true, force: true });
});

const hasGo = spawnSync('go', ['version']).status === 0;

function startService(nodeArgs, env) {
  const svc = helpers.startService(appDir, nodeArgs, ['serve'], { LABELPROF_INTERVAL_MICROS: '1000', ...env });
  test.after(() => svc.child.kill('SIGKILL'));
  return svc;
}

function get(port, urlPath, { signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, signal }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
}

// `go tool pprof -raw URL`: fetches the profile as any scraper does.
// pprof's own timeout for ?seconds=N is 1.5 N: 3 s for N = 2, too short for a
// loaded machine or qemu (its "timeout awaiting response headers").
function goPprofRaw(url) {
  const seconds = Number(new URL(url).searchParams.get('seconds') ?? 30);
  const timeout = Math.ceil(seconds + 30 * TIME_SCALE);
  return new Promise((resolve) => {
    const p = spawn('go', ['tool', 'pprof', '-raw', `-timeout=${timeout}`, url], { env: { ...process.env, PPROF_TMPDIR: pprofTmp, HOME: pprofTmp } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

function assertLabelledWork(raw) {
  // -raw prints each sample's values, its labels and its stack.
  assert.match(raw, /endpoint:\[?\/work\]?/, raw.slice(0, 3000));
  assert.match(raw, /request_id:\[?\d+\]?/);
  assert.match(raw, /serviceWork|serviceRequest/); // serviceRequest: serviceWork inlined into it
}

test('seconds is parsed as Go does: default 30, positive, at most an hour', () => {
  assert.equal(parseSeconds(null), 30);
  assert.equal(parseSeconds(''), 30);
  assert.equal(parseSeconds('5'), 5);
  assert.equal(parseSeconds('0.5'), 0.5);
  for (const bad of ['abc', '0', '-1', '3601', '1e3', ' ', 'NaN', '5s']) assert.equal(typeof parseSeconds(bad), 'string', bad);
});

test('mounted by the application: go tool pprof reads a labelled profile; bad seconds get 400; a client that goes away leaves nothing running', { skip: !hasGo && 'needs go' }, async () => {
  const svc = startService([], { SERVE_PPROF: '1' });
  const { port } = await svc.ready;
  const r = await goPprofRaw(`http://127.0.0.1:${port}/debug/pprof/profile?seconds=2`);
  assert.equal(r.code, 0, r.err);
  assertLabelledWork(r.out);

  for (const bad of ['abc', '0', '-5', '3601']) {
    const res = await get(port, `/debug/pprof/profile?seconds=${bad}`);
    assert.equal(res.status, 400, bad);
    const text = res.body.toString();
    assert.equal(text.trim().split('\n').length, 1, text);
    assert.match(text, /seconds/);
  }

  const abort = new AbortController();
  const pending = get(port, '/debug/pprof/profile?seconds=30', { signal: abort.signal }).catch(() => 'aborted');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(JSON.parse((await get(port, '/status')).body), { profiling: true });
  abort.abort();
  assert.equal(await pending, 'aborted');
  let status;
  for (let i = 0; i < 50; i++) {
    status = JSON.parse((await get(port, '/status')).body);
    if (!status.profiling) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(status, { profiling: false });
});

test('while a ContinuousProfiler runs, the endpoint serves from it and the periods go on', { skip: !hasGo && 'needs go' }, async () => {
  const svc = startService([], { SERVE_PPROF: '1', CONTINUOUS: '1' });
  const { port } = await svc.ready;
  const [a, b] = await Promise.all([
    goPprofRaw(`http://127.0.0.1:${port}/debug/pprof/profile?seconds=2`),
    goPprofRaw(`http://127.0.0.1:${port}/debug/pprof/profile?seconds=1`),
  ]);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  assertLabelledWork(a.out);
  assertLabelledWork(b.out);
  assert.deepEqual(JSON.parse((await get(port, '/status')).body), { profiling: true });
});

test('LABELPROF_PPROF_ADDR makes the drop-in serve the endpoint itself', { skip: !hasGo && 'needs go' }, async () => {
  const svc = startService(['--require', 'labelprof/start'], { LABELPROF_PPROF_ADDR: '127.0.0.1:0', LABELPROF_OUT: path.join(appDir, 'dropin.pb.gz') });
  await svc.ready;
  let m;
  for (let i = 0; i < 100 && !(m = /serving pprof at (http:\/\/\S+)/.exec(svc.stderr())); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(m, svc.stderr());
  const r = await goPprofRaw(`${m[1]}?seconds=1`);
  assert.equal(r.code, 0, r.err);
  assertLabelledWork(r.out);
  const notFound = await get(Number(/:(\d+)\//.exec(m[1])[1]), '/elsewhere');
  assert.equal(notFound.status, 404);
});
