'use strict';
// Which Node the measured children run under, and the copy of labelprof
// they load. Shared by run.js and continuous.js.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');

const BENCH_DIR = path.join(__dirname, '..');
const REPO_ROOT = path.join(BENCH_DIR, '..');

// --node 24 fetches and builds for that major (scripts/build-for-node.sh);
// --node /path/to/node uses that binary with --binding or $LABELPROF_BINDING.
// `usage(message)` reports a bad argument and exits.
function resolveNode(opts, usage) {
  if (opts.node === undefined) return { nodeBin: process.execPath, binding: opts.binding };
  if (/^\d+$/.test(opts.node)) {
    process.stderr.write(`bench: fetching Node ${opts.node} and building labelprof for it (scripts/build-for-node.sh ${opts.node})...\n`);
    const out = execFileSync(path.join(REPO_ROOT, 'scripts', 'build-for-node.sh'), [opts.node], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
      .trim()
      .split('\n');
    return { nodeBin: out[out.length - 2], binding: opts.binding ?? out[out.length - 1] };
  }
  const nodeBin = path.resolve(opts.node);
  if (!fs.existsSync(nodeBin)) usage(`--node ${opts.node}: no such file`);
  return { nodeBin, binding: opts.binding };
}

// Other people rebuild build/ and dist/ while a suite runs for 20 minutes on
// a shared machine; a half-written addon or a newer dist would turn
// measurements into errors or mix two versions. So the suite measures a copy
// taken at start: dist/, package.json, the addon, and a link to node_modules.
function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
}

function snapshotLabelprof(binding) {
  const dir = path.join(BENCH_DIR, '.snapshot', String(process.pid));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  // The loader's list of supported platforms (src/native.ts), as the package ships it.
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(REPO_ROOT, 'scripts', 'platform.js'), path.join(dir, 'scripts', 'platform.js'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const addon = binding ? path.resolve(binding) : path.join(REPO_ROOT, 'build', 'Release', 'labelprof.node');
  if (!fs.existsSync(addon)) throw new Error(`no labelprof addon at ${addon}: build it first (npm run build)`);
  const copy = path.join(dir, 'labelprof.node');
  fs.copyFileSync(addon, copy);
  const distHash = crypto.createHash('sha256');
  for (const f of fs.readdirSync(path.join(dir, 'dist')).sort()) {
    if (f.endsWith('.js')) distHash.update(fs.readFileSync(path.join(dir, 'dist', f)));
  }
  return { root: dir, binding: copy, addonSource: addon, addonSha256: sha256(copy), distSha256: distHash.digest('hex').slice(0, 16) };
}

module.exports = { resolveNode, snapshotLabelprof, BENCH_DIR, REPO_ROOT };
