'use strict';
// Cross-checks our walker against `perf record --call-graph dwarf` on the
// same process: sample-workload.js runs a workload under our SIGPROF sampler
// while perf samples it too. Prints, for the main thread of each:
//   - share of stacks reaching uv_run or node::Start (complete stacks)
//   - for samples whose leaf is in libc: the caller of the leaf, and how much
//     the two distributions of (leaf, caller) overlap
//
//   node test/native/perf-compare.js [workload=deflate] [millis=3000]
// Needs `perf` (linux-perf); not part of the test suite.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const workload = process.argv[2] || 'deflate';
const millis = Number(process.argv[3] || 3000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelprof-perf-'));
const data = path.join(dir, 'perf.data');
const ours = path.join(dir, 'ours.json');

// perf's own frequency, not a multiple of ours, so the two rarely coincide.
const rec = spawnSync('perf', ['record', '-q', '-k', 'CLOCK_MONOTONIC', '-F', '997', '--call-graph', 'dwarf,65528',
  '-o', data, '--',
  process.execPath, path.join(__dirname, 'sample-workload.js'), workload, String(millis), '1000'],
{ encoding: 'buffer', maxBuffer: 256 << 20 });
if (rec.status !== 0) throw new Error(`perf record failed: ${rec.stderr}`);
fs.writeFileSync(ours, rec.stdout);
const script = spawnSync('perf', ['script', '-i', data, '--no-inline', '-F', 'pid,tid,time,ip,sym,dso'],
  { encoding: 'utf8', maxBuffer: 1 << 30 });
if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr}`);

// Function name without parameters/offset, for comparing both sides.
const norm = (name) => {
  let n = name.replace(/\+0x[0-9a-f]+$/, '').replace(/\(anonymous namespace\)::/g, '');
  // Aliases at one address that perf and our symbolizer name differently:
  // symbol versions, __libc_/__GI_ prefixes, leading underscores.
  n = n.replace(/@.*$/, '').replace(/^__(libc|GI)_/, '').replace(/^_+/, '');
  // glibc's memcpy and memmove variants are one function under two names.
  n = n.replace(/^memcpy_/, 'memmove_');
  const paren = n.indexOf('(');
  if (paren > 0) n = n.slice(0, paren);
  return n.trim();
};

// Samples of the main thread taken while our sampler ran.
function parsePerf(text, startNanos, endNanos) {
  const samples = [];
  let cur = null;
  for (const line of text.split('\n')) {
    // "  pid/tid  seconds.micros:" opens a sample; frame lines start with a tab.
    const head = /^\s*(\d+)\/(\d+)\s+(\d+)\.(\d+):/.exec(line);
    if (head && !line.startsWith('\t')) {
      const t = BigInt(head[3]) * 1000000000n + BigInt(head[4].padEnd(9, '0'));
      cur = { main: head[1] === head[2] && t >= startNanos && t <= endNanos, frames: [], dsos: [] };
      samples.push(cur);
      continue;
    }
    const m = /^\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$/.exec(line);
    if (m && cur) {
      if (m[3].includes('kernel.kallsyms')) continue;  // user frames only, like ours
      cur.frames.push(norm(m[2]));
      cur.dsos.push(path.basename(m[3]));
    }
  }
  return samples.filter((s) => s.main && s.frames.length > 0);
}

const ourOut = JSON.parse(fs.readFileSync(ours, 'utf8'));
const perfSamples = parsePerf(script.stdout, BigInt(ourOut.window.startNanos), BigInt(ourOut.window.endNanos));
// Our handler's own frames can show in perf's samples: drop those samples.
const perfClean = perfSamples.filter((s) => !s.frames.some((f) => /^labelprof_test::Handler$|^restore_rt$/.test(f)));
const ourSamples = ourOut.samples.map((s) => ({ frames: s.frames.map(norm), dsos: s.modules }));

const reach = (ss) => ss.filter((s) => s.frames.some((f) => f === 'uv_run' || f === 'node::Start')).length / ss.length;
function libcCallers(ss) {
  const inLibc = ss.filter((s) => s.dsos[0] === 'libc.so.6');
  const dist = new Map();
  const callers = new Map();
  for (const s of inLibc) {
    const k = `${s.frames[0]} <- ${s.frames[1] ?? '(none)'}`;
    dist.set(k, (dist.get(k) || 0) + 1 / inLibc.length);
    const c = s.frames[1] ?? '(none)';
    callers.set(c, (callers.get(c) || 0) + 1 / inLibc.length);
  }
  return { n: inLibc.length, dist, callers };
}
const overlap = (a, b) => [...a.keys()].reduce((acc, k) => acc + Math.min(a.get(k), b.get(k) || 0), 0);
const pct = (x) => `${(100 * x).toFixed(1)} %`;

const pc = libcCallers(perfClean);
const oc = libcCallers(ourSamples);
const lines = [];
lines.push(`workload ${workload}, ${millis} ms, ${ourOut.node}`);
lines.push(`samples (main thread): perf ${perfClean.length} (of ${perfSamples.length}), ours ${ourSamples.length}`);
lines.push(`reach uv_run/node::Start: perf ${pct(reach(perfClean))}, ours ${pct(reach(ourSamples))}`);
lines.push(`libc leaves: perf ${pc.n} (${pct(pc.n / perfClean.length)}), ours ${oc.n} (${pct(oc.n / ourSamples.length)})`);
lines.push(`libc leaves, distribution overlap: (leaf <- caller) ${pct(overlap(pc.dist, oc.dist))}, caller alone ${pct(overlap(pc.callers, oc.callers))}`);
const top = (dist) => [...dist].sort((x, y) => y[1] - x[1]).slice(0, 6).map(([k, v]) => `    ${pct(v)}  ${k}`).join('\n');
lines.push(`  perf top libc (leaf <- caller):\n${top(pc.dist)}`);
lines.push(`  ours top libc (leaf <- caller):\n${top(oc.dist)}`);
console.log(lines.join('\n'));
fs.rmSync(dir, { recursive: true, force: true });
