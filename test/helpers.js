'use strict';
// Shared by the tests: run fixtures in child processes (a crash there fails a
// test instead of the runner) and read profiles back.
const { spawnSync, spawn } = require('node:child_process');
const path = require('node:path');
const zlib = require('node:zlib');
const { Profile } = require('pprof-format');

const ROOT = path.join(__dirname, '..');
// LABELPROF_TEST_TIME_SCALE=3 (scripts/test-arm64.sh, under qemu, where
// JavaScript runs 3-10x slower): workloads run and deadlines wait that many
// times longer. Assertions stay as they are.
const TIME_SCALE = Math.max(1, Number(process.env.LABELPROF_TEST_TIME_SCALE) || 1);
// LABELPROF_TEST_EMULATED=qemu-user (scripts/test-arm64.sh): the few checks
// an emulator distorts (named at each) are skipped, saying what covers them.
const EMULATED = process.env.LABELPROF_TEST_EMULATED || undefined;
const FIXTURES = path.join(__dirname, 'fixtures');

function runFixture(name, { args = [], env = {}, nodeArgs = [], timeoutMs = 120000, cwd } = {}) {
  timeoutMs *= TIME_SCALE;
  const file = path.join(FIXTURES, name);
  return spawnSync(process.execPath, [...nodeArgs, file, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    cwd: cwd ?? ROOT,
  });
}

function describeRun(name, r) {
  return `fixture ${name}: status ${r.status}, signal ${r.signal}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
}

// Runs a fixture that prints one JSON object on its last stdout line.
function runJson(name, options) {
  const r = runFixture(name, options);
  if (r.status !== 0) throw new Error(describeRun(name, r));
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

// gzipped pprof -> { samples: [{ stack: [leaf..root names], labels, count, cpu, wall }], profile }
function readProfile(buffer) {
  const profile = Profile.decode(zlib.gunzipSync(buffer));
  const str = (i) => profile.stringTable.strings[Number(i)];
  const functions = new Map(profile.function.map((f) => [Number(f.id), f]));
  const locations = new Map(profile.location.map((l) => [Number(l.id), l]));
  const samples = profile.sample.map((s) => {
    const stack = [];
    for (const id of s.locationId) {
      const loc = locations.get(Number(id));
      for (const line of loc.line) stack.push(str(functions.get(Number(line.functionId)).name));
    }
    const labels = {};
    for (const l of s.label) labels[str(l.key)] = str(l.str);
    return { stack, labels, count: Number(s.value[0]), cpu: Number(s.value[1]), wall: Number(s.value[2]) };
  });
  return { profile, samples, str };
}

// Starts test/fixtures/service.js (copied into `cwd`) with `nodeArgs`;
// `ready` resolves with the {port} line it prints once it listens, `exited`
// with how it ended.
function startService(cwd, nodeArgs, args, env) {
  const child = spawn(process.execPath, [...nodeArgs, 'service.js', ...args], { cwd, env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
    child.on('exit', (code, signal) => reject(new Error(`service exited early: ${code} ${signal}\n${stderr}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, ready, exited, stderr: () => stderr };
}

module.exports = {
  startService, TIME_SCALE, EMULATED, ROOT, FIXTURES, runFixture, runJson, readProfile, describeRun, spawn };
