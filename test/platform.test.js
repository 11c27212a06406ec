'use strict';
// Supported platforms (scripts/platform.js): detection, including musl, and
// what an unsupported platform gets: labels work, the install succeeds
// without building, start() names the platform and lists what is supported.
// Other platforms are simulated with LABELPROF_TEST_PLATFORM; the packed
// tarball's real installs are scripts/test-packed-install.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT, runJson, runFixture, describeRun } = require('./helpers');

const platform = require('../scripts/platform.js');

test('libc: the report decides; ldd and the musl loader only without it', () => {
  const cases = [
    [{ glibcVersionRuntime: '2.36' }, 'glibc'],
    // Debian with the musl package installed: node itself is glibc's.
    [{ glibcVersionRuntime: '2.36', muslLoader: true, lddText: 'musl-gcc wrapper' }, 'glibc'],
    // Alpine: musl's node has no glibcVersionRuntime; ldd is musl's.
    [{ lddText: '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list -- "$@"\n' }, 'musl'],
    [{ lddText: undefined, muslLoader: true }, 'musl'],
    [{ lddText: 'echo "ldd (GNU libc) 2.36"  # GNU C Library', muslLoader: false }, 'glibc'],
    [{ lddText: undefined, muslLoader: false }, 'unknown'],
  ];
  for (const [probe, expected] of cases) {
    assert.equal(platform.detectLibc(probe), expected, JSON.stringify(probe));
  }
});

test('this machine is detected as what it is', () => {
  const p = platform.describePlatform();
  assert.equal(p.os, process.platform);
  assert.equal(p.arch, process.arch);
  if (process.platform === 'linux') {
    assert.equal(p.libc, process.report.getReport().header.glibcVersionRuntime ? 'glibc' : p.libc);
  }
  // The suite runs on the supported platforms only (x64 here, arm64 under qemu).
  assert.equal(platform.unsupportedReason(p), null, p.name);
});

test('supported: Linux x64 and arm64 with glibc; every other platform is named', () => {
  const of = (id) => platform.describePlatform(platform.probeFromOverride(id));
  assert.equal(platform.unsupportedReason(of('linux-x64')), null);
  assert.equal(platform.unsupportedReason(of('linux-arm64-glibc')), null);
  const cases = {
    'darwin-arm64': 'macOS arm64 [darwin-arm64]',
    'win32-x64': 'Windows x64 [win32-x64]',
    'linux-x64-musl': 'Linux x64 (musl) [linux-x64-musl]',
    'linux-arm64-musl': 'Linux arm64 (musl) [linux-arm64-musl]',
    'linux-riscv64': 'Linux riscv64 (glibc) [linux-riscv64-glibc]',
    'freebsd-x64': 'FreeBSD x64 [freebsd-x64]',
  };
  for (const [id, named] of Object.entries(cases)) {
    const why = platform.unsupportedReason(of(id));
    assert.ok(why.includes(`not supported on ${named}`), why);
    assert.ok(why.includes('Linux x64 (glibc) and Linux arm64 (glibc), Node 20, 22, 24, 26'), why);
    assert.ok(why.includes('label API'), why);
  }
});

test('a malformed LABELPROF_TEST_PLATFORM is a RangeError naming it', () => {
  assert.throws(() => platform.probeFromOverride('macos'), {
    name: 'RangeError',
    message: /for LABELPROF_TEST_PLATFORM but received "macos"/,
  });
});

for (const [id, named] of [['darwin-arm64', 'macOS arm64'], ['win32-x64', 'Windows x64'], ['linux-x64-musl', 'Linux x64 (musl)']]) {
  test(`on ${named} (simulated): labels work, start() throws naming the platform and what is supported`, () => {
    // LABELPROF_BINDING (set by the version matrix) would bypass the check.
    const out = runJson('platform-check.js', { env: { LABELPROF_TEST_PLATFORM: id, LABELPROF_BINDING: '' } });
    assert.deepEqual(out.labels, { endpoint: '/a' });
    assert.deepEqual(out.outside, {});
    assert.equal(out.started, undefined);
    assert.equal(out.startError.name, 'Error');
    assert.match(out.startError.message, new RegExp(`^labelprof: profiling is not supported on ${named.replace(/[()]/g, '\\$&')} \\[${id}\\]`));
    assert.match(out.startError.message, /Linux x64 \(glibc\) and Linux arm64 \(glibc\)/);
    assert.equal(out.isProfiling, false);
  });
}

test('the drop-in on an unsupported platform warns and lets the application run', () => {
  const r = runFixture('app.js', {
    nodeArgs: ['--require', path.join(ROOT, 'dist', 'start.js')],
    env: { LABELPROF_TEST_PLATFORM: 'darwin-x64', LABELPROF_BINDING: '', LABELPROF_OUT: path.join(os.tmpdir(), `labelprof-never-${process.pid}.pb.gz`) },
  });
  assert.equal(r.status, 0, describeRun('app.js', r));
  assert.match(r.stderr, /labelprof: not profiling: labelprof: profiling is not supported on macOS x64/);
});

test('the install script on an unsupported platform builds nothing and succeeds', () => {
  // An empty directory: had it gone on to node-gyp-build, there would be no
  // binding.gyp to build and it would fail.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-install-'));
  try {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'install.js')], {
      cwd: dir,
      env: { ...process.env, LABELPROF_TEST_PLATFORM: 'linux-arm64-musl' },
      encoding: 'utf8',
      timeout: 30000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /not supported on Linux arm64 \(musl\)/);
    assert.match(r.stderr, /installed without its native addon/);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a supported platform with no matching binary: start() says what it tried and how to build', () => {
  // The package as installed, minus any build or prebuild for this Node.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-nobinary-'));
  try {
    for (const d of ['dist', 'scripts']) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    // LABELPROF_BINDING (set by the version matrix) would bypass the lookup.
    const out = runJson('platform-check.js', { env: { LABELPROF_PACKAGE: dir, LABELPROF_BINDING: '' } });
    assert.deepEqual(out.labels, { endpoint: '/a' });
    assert.match(out.startError.message, /could not load its native addon for Node v\d+/);
    assert.match(out.startError.message, /npm rebuild labelprof/);
    assert.match(out.startError.message, new RegExp(`prebuilds/linux-${process.arch}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
