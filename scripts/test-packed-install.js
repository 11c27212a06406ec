'use strict';
// Installs the tarball `npm pack` makes into an empty project, the way a
// user's `npm install labelprof` would, and takes a labelled profile with it:
//   node scripts/test-packed-install.js                 # Node 20 22 24 26, x64
//   node scripts/test-packed-install.js 24 26           # these majors
//   node scripts/test-packed-install.js --arch arm64 24 # arm64 Node under qemu
//     (not yet run end to end: npm under qemu was too slow on the loaded
//     development machine; the arm64 prebuilds were loaded from the packed
//     layout by hand instead: unpacked tarball, arm64 node 20-26 under qemu)
//   node scripts/test-packed-install.js --tarball labelprof-0.1.0.tgz 22
// For each Node major, with g++, make and python3 out of reach (PATH holds
// only node and npm), the install must keep the prebuild and load it. Then,
// on the first major: where no prebuild matches, the install builds from
// source (compilers back on PATH); and on a simulated unsupported platform
// (LABELPROF_TEST_PLATFORM=darwin-arm64, no compiler) it succeeds, labels
// work and start() says what is supported. Prints the tarball's size.
// Needs the prebuilds (npm run prebuilds) unless --tarball is given.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

function fail(message) {
  console.error(`test-packed-install: ${message}`);
  process.exit(1);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (r.error) fail(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

function must(r, what) {
  if (r.status !== 0) fail(`${what} failed (status ${r.status}, signal ${r.signal})\n${r.stdout}\n${r.stderr}`);
  return r;
}

// ---- arguments --------------------------------------------------------------

const argv = process.argv.slice(2);
let tarball;
let arch = 'x64';
const majors = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--tarball') tarball = path.resolve(argv[++i]);
  else if (argv[i] === '--arch') arch = argv[++i];
  else if (/^\d+$/.test(argv[i])) majors.push(Number(argv[i]));
  else fail(`unknown argument ${argv[i]}`);
}
if (majors.length === 0) majors.push(20, 22, 24, 26);
if (arch !== 'x64' && arch !== 'arm64') fail(`--arch must be x64 or arm64, not ${arch}`);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-packed-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

// ---- the tarball ------------------------------------------------------------

if (tarball === undefined) {
  const r = must(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT }), 'npm pack');
  const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))[0];
  tarball = path.join(work, info.filename);
}
const listing = must(run('tar', ['tzf', tarball]), 'tar tzf').stdout.split('\n');
const prebuilds = listing.filter((f) => /^package\/prebuilds\/.*\.node$/.test(f)).map((f) => f.slice('package/'.length));
const packedBytes = fs.statSync(tarball).size;
let unpackedBytes = 0;
{
  const unpacked = path.join(work, 'unpacked');
  fs.mkdirSync(unpacked);
  must(run('tar', ['xzf', tarball, '-C', unpacked]), 'tar xzf');
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else unpackedBytes += fs.statSync(path.join(d, e.name)).size;
    }
  };
  walk(unpacked);
}
console.log(`tarball ${path.basename(tarball)}: ${(packedBytes / 1024).toFixed(0)} KB packed, ` +
  `${(unpackedBytes / 1024).toFixed(0)} KB unpacked, ${listing.filter(Boolean).length} files; prebuilds:`);
for (const p of prebuilds) console.log(`  ${p}`);

// ---- environments -----------------------------------------------------------

// The node of a major: the official build from the npm registry.
function nodeOf(major) {
  const dir = must(run('bash', [path.join(ROOT, 'scripts', 'fetch-node.sh'), arch, String(major)]), `fetch node ${major}`)
    .stdout.trim();
  return path.join(dir, 'bin', 'node');
}

const npmCli = (() => {
  const npm = run('sh', ['-c', 'command -v npm']).stdout.trim();
  if (!npm) fail('npm is not on PATH');
  return fs.realpathSync(npm);
})();

// A PATH like a slim image's: every tool of this machine's PATH except
// compilers, make and python (the target node and npm first).
const HIDDEN = /^(g\+\+|c\+\+|gcc|cc|cpp|clang|clang\+\+|make|gmake|python)([-.\d].*)?$|-(g\+\+|c\+\+|gcc|cc)(-[\d.]+)?$/;
function noCompilerPath(nodeBin) {
  const bin = fs.mkdtempSync(path.join(work, 'bin-'));
  fs.symlinkSync(nodeBin, path.join(bin, 'node'));
  fs.symlinkSync(npmCli, path.join(bin, 'npm'));
  for (const dir of process.env.PATH.split(':')) {
    let names;
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (HIDDEN.test(name) || fs.existsSync(path.join(bin, name))) continue;
      try {
        fs.symlinkSync(path.join(dir, name), path.join(bin, name));
      } catch {
        // a name made twice by a race: keep the first
      }
    }
  }
  const r = run('/bin/sh', ['-c', 'for t in g++ c++ gcc cc make python3 python; do command -v $t && exit 1; done; exit 0'],
    { env: { PATH: bin } });
  if (r.status !== 0) fail(`a compiler is still reachable: ${r.stdout}`);
  return bin;
}

// qemu runs arm64 node (and, through binfmt_misc, its children).
function prepareArch() {
  if (arch !== 'arm64') return {};
  const r = must(run('bash', ['-c', `. ${path.join(ROOT, 'scripts', 'qemu-arm64-env.sh')} && qemu_arm64_setup >&2 && env`]),
    'qemu setup');
  const env = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(QEMU_LD_PREFIX)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}
const archEnv = prepareArch();

// An environment like a user's shell, minus the developer's overrides.
function baseEnv(extra) {
  const env = { ...process.env, ...archEnv, ...extra };
  for (const k of ['LABELPROF_BINDING', 'LABELPROF_TEST_PLATFORM', 'npm_config_nodedir', 'NODE_OPTIONS']) {
    if (!(k in extra)) delete env[k];
  }
  // npm run-script variables of an enclosing `npm run` must not leak in.
  for (const k of Object.keys(env)) if (k.startsWith('npm_') && k !== 'npm_config_cache') delete env[k];
  return env;
}

function install(name, nodeBin, tgz, { pathDirs, extraEnv = {} }) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `probe-${name}`, private: true }));
  fs.copyFileSync(path.join(__dirname, 'packed-install-probe.js'), path.join(dir, 'probe.js'));
  const env = baseEnv({ ...extraEnv, PATH: pathDirs.join(':') });
  const t0 = Date.now();
  const r = run(nodeBin, [npmCli, 'install', '--no-audit', '--no-fund', '--foreground-scripts', tgz], { cwd: dir, env });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  return { dir, env, r, seconds };
}

function probe(dir, nodeBin, env) {
  const r = must(run(nodeBin, ['probe.js'], { cwd: dir, env, timeout: 300000 }), `probe in ${dir}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

function check(cond, message) {
  if (!cond) fail(message);
}

// ---- 1. every major: the prebuild, no compiler ------------------------------

const results = [];
for (const major of majors) {
  const nodeBin = nodeOf(major);
  const bin = noCompilerPath(nodeBin);
  const { dir, env, r, seconds } = install(`node${major}`, nodeBin, tarball, { pathDirs: [bin] });
  if (r.status !== 0) fail(`Node ${major}: npm install with no compiler failed (status ${r.status})\n${r.stdout}\n${r.stderr}`);
  const out = probe(dir, nodeBin, env);
  const where = path.relative(path.join(dir, 'node_modules', 'labelprof'), out.addon || '');
  check(where.startsWith(`prebuilds${path.sep}linux-${arch}${path.sep}`), `Node ${major}: loaded ${out.addon}, not a prebuild`);
  check(!fs.existsSync(path.join(dir, 'node_modules', 'labelprof', 'build')), `Node ${major}: a build/ directory appeared`);
  check(out.labelValues.includes('/checkout') && out.labelValues.includes('/search'), `Node ${major}: labels ${out.labelValues}`);
  check(out.labelledSamples >= 10, `Node ${major}: ${out.labelledSamples} labelled samples`);
  console.log(`Node ${out.node} ${arch}: installed in ${seconds} s with no compiler on PATH; loaded ${where}; ` +
    `${out.samples} samples, ${out.labelledSamples} labelled (${out.labelValues.join(', ')}); native frames ${out.nativeFrames}`);
  results.push(major);
}

// ---- 2. no matching prebuild: built from source ------------------------------

const first = majors[0];
{
  const nodeBin = nodeOf(first);
  const abi = must(run(nodeBin, ['-p', 'process.versions.modules'], { env: baseEnv({}) }), 'abi').stdout.trim();
  // The same tarball without this ABI's prebuild.
  const stage = path.join(work, 'stripped');
  fs.mkdirSync(stage);
  must(run('tar', ['xzf', tarball, '-C', stage]), 'tar xzf');
  fs.rmSync(path.join(stage, 'package', 'prebuilds', `linux-${arch}`, `labelprof.abi${abi}.glibc.node`), { force: true });
  const stripped = path.join(work, 'labelprof-no-prebuild.tgz');
  must(run('tar', ['czf', stripped, '-C', stage, 'package']), 'tar czf');
  const pathDirs = [path.dirname(nodeBin), ...process.env.PATH.split(':')];
  const extraEnv = arch === 'arm64'
    ? { CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++' } : {};
  // Headers of that node (node-gyp would otherwise download them).
  extraEnv.npm_config_nodedir = path.dirname(path.dirname(nodeBin));
  const { dir, env, r, seconds } = install('from-source', nodeBin, stripped, { pathDirs, extraEnv });
  if (r.status !== 0) fail(`no prebuild: install did not build from source (status ${r.status})\n${r.stdout}\n${r.stderr}`);
  const out = probe(dir, nodeBin, env);
  const where = path.relative(path.join(dir, 'node_modules', 'labelprof'), out.addon || '');
  check(where === path.join('build', 'Release', 'labelprof.node'), `from source: loaded ${out.addon}`);
  check(out.labelledSamples >= 10, `from source: ${out.labelledSamples} labelled samples`);
  console.log(`Node ${out.node} ${arch} without a matching prebuild: built from source in ${seconds} s; loaded ${where}; ` +
    `${out.labelledSamples} labelled samples`);
}

// ---- 3. an unsupported platform (simulated): installs, labels work ----------

{
  const nodeBin = nodeOf(first);
  const bin = noCompilerPath(nodeBin);
  const extraEnv = { LABELPROF_TEST_PLATFORM: 'darwin-arm64' };
  const { dir, env, r, seconds } = install('unsupported', nodeBin, tarball, { pathDirs: [bin], extraEnv });
  if (r.status !== 0) fail(`unsupported platform: npm install failed (status ${r.status})\n${r.stdout}\n${r.stderr}`);
  check(/not supported on macOS arm64/.test(r.stdout + r.stderr), `unsupported platform: no notice in the install output\n${r.stdout}\n${r.stderr}`);
  const out = probe(dir, nodeBin, env);
  check(out.addon === null, `unsupported platform: an addon was loaded (${out.addon})`);
  check(out.labelsInside === '/checkout', `unsupported platform: labels ${out.labelsInside}`);
  check(/^labelprof: profiling is not supported on macOS arm64 \[darwin-arm64\].*Linux x64 \(glibc\) and Linux arm64 \(glibc\)/.test(out.startError),
    `unsupported platform: start() said ${out.startError}`);
  console.log(`simulated darwin-arm64: installed in ${seconds} s with no compiler; labels work; start() threw: ${out.startError}`);
}

console.log(`test-packed-install passed: ${arch}, Node ${results.join(', ')}`);
