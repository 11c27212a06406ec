'use strict';
// `npm run demo`: profiles the example service (examples/service.js) under
// real HTTP load from autocannon, writes the profile, and shows what it found:
// CPU by endpoint label next to what the service measured itself, and the
// functions that used the most CPU.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const autocannon = require('autocannon');
const { Profile } = require('pprof-format');

const ROOT = path.join(__dirname, '..');
const OUT = path.resolve(process.env.LABELPROF_OUT || 'labelprof-demo.pb.gz');
const SECONDS = Number(process.env.DEMO_SECONDS || 8);
const INTERVAL_MICROS = 1000;

function startService() {
  const child = spawn(process.execPath, ['--require', path.join(ROOT, 'dist', 'start.js'), path.join(__dirname, 'service.js')], {
    env: { ...process.env, LABELPROF_OUT: OUT, LABELPROF_INTERVAL_MICROS: String(INTERVAL_MICROS), LABELPROF_QUIET: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`service exited early with code ${code}`)));
    child.stdout.once('data', (d) => resolve({ child, port: JSON.parse(String(d)).port }));
  });
}

function readProfile(file) {
  const p = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
  const str = (i) => p.stringTable.strings[Number(i)];
  const fnName = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const locName = new Map(p.location.map((l) => [Number(l.id), fnName.get(Number(l.line[0].functionId))]));
  // Native frames have an address in a mapped module; JavaScript frames none.
  const isNative = new Map(p.location.map((l) => [Number(l.id), Number(l.mappingId) !== 0]));
  const cpuIndex = p.sampleType.findIndex((t) => str(t.type) === 'cpu');
  return p.sample.map((s) => ({
    cpu: Number(s.value[cpuIndex]),
    leaf: locName.get(Number(s.locationId[0])),
    stack: s.locationId.map((id) => ({ name: locName.get(Number(id)), native: isNative.get(Number(id)) })),
    labels: Object.fromEntries(s.label.map((l) => [str(l.key), str(l.str)])),
  }));
}

const ms = (nanos) => `${(nanos / 1e6).toFixed(0)} ms`;
const pct = (part, total) => `${((100 * part) / total).toFixed(1)}%`;
const pad = (s, n) => String(s).padEnd(n);
const padl = (s, n) => String(s).padStart(n);

async function main() {
  const { child, port } = await startService();
  const base = `http://127.0.0.1:${port}`;
  const result = await autocannon({
    url: base,
    connections: 8,
    duration: SECONDS,
    requests: [{ path: '/checkout' }, { path: '/search' }, { path: '/search' }, { path: '/health' }],
  });
  const measured = await (await fetch(`${base}/stats`)).json();
  child.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM'); // labelprof/start writes the profile, then the service ends
  await exited;

  const samples = readProfile(OUT);
  const byEndpoint = new Map();
  const byFunction = new Map();
  let total = 0;
  for (const s of samples) {
    total += s.cpu;
    const e = s.labels.endpoint ?? '(no label)';
    byEndpoint.set(e, (byEndpoint.get(e) ?? 0) + s.cpu);
    byFunction.set(s.leaf, (byFunction.get(s.leaf) ?? 0) + s.cpu);
  }
  const workTotal = Object.values(measured).reduce((a, m) => a + m.cpuNanos, 0);
  const labelledTotal = [...byEndpoint].filter(([e]) => e in measured).reduce((a, [, v]) => a + v, 0);

  console.log(`\nlabelprof demo: examples/service.js under autocannon load (8 connections, ${SECONDS} s), sampled at 1 kHz`);
  console.log(`${result.requests.total} requests, ${result.requests.average.toFixed(0)} req/s, p99 latency ${result.latency.p99} ms\n`);
  console.log('CPU by endpoint: the profile (label "endpoint") vs the CPU the handlers measured for their own work');
  console.log(`  ${pad('endpoint', 12)}${padl('profile', 10)}${padl('share', 8)}   ${padl('requests', 9)}${padl('measured', 10)}${padl('share', 8)}`);
  const rows = [...byEndpoint].sort((a, b) => b[1] - a[1]);
  for (const [endpoint, cpu] of rows) {
    const m = measured[endpoint];
    const share = endpoint in measured ? pct(cpu, labelledTotal) : '';
    console.log(
      `  ${pad(endpoint, 12)}${padl(ms(cpu), 10)}${padl(share, 8)}   ` +
        (m ? `${padl(m.requests, 9)}${padl(ms(m.cpuNanos), 10)}${padl(pct(m.cpuNanos, workTotal), 8)}` : `${padl('', 9)}${padl('', 10)}`),
    );
  }
  console.log('  (shares among labelled endpoints; the profile also counts each handler\'s framework code,');
  console.log('   the measurement only the work functions. "(no label)": HTTP parsing, the event loop, GC outside requests.)\n');
  console.log('Top functions by self CPU:');
  for (const [fn, cpu] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${padl(pct(cpu, total), 7)}  ${padl(ms(cpu), 8)}  ${fn}`);
  }
  // The heaviest stack that runs from JavaScript into native code.
  const mixed = samples
    .filter((s) => s.labels.endpoint === '/checkout' && s.stack[0]?.native && s.stack.some((f) => !f.native))
    .sort((a, b) => b.cpu - a.cpu)[0];
  if (mixed !== undefined) {
    console.log(`\nThe heaviest mixed stack (${ms(mixed.cpu)}, endpoint=${mixed.labels.endpoint}), leaf first; [native] frames come from labelprof's walk:`);
    for (const f of mixed.stack.slice(0, 14)) {
      const name = f.name.length > 90 ? `${f.name.slice(0, 87)}...` : f.name;
      console.log(`  ${f.native ? '[native]' : '[js]    '} ${name}`);
    }
    if (mixed.stack.length > 14) console.log(`  ... ${mixed.stack.length - 14} more`);
  }

  const rel = path.relative(process.cwd(), OUT);
  console.log(`\nProfile written to ${rel}. Read it with the labelprof command (or go tool pprof -tags / -top), e.g.:`);
  console.log(`  npx labelprof report ${rel}`);
  console.log(`  npx labelprof report ${rel} --focus endpoint=/checkout`);

  // Last: the flame graph with label filters, one HTML file that opens from disk.
  const html = OUT.replace(/\.pb\.gz$/, '') + '.html';
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'html', OUT, '-o', html], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`labelprof html failed: ${r.stderr}`);
  console.log(`\nFlame graph with label filters written to ${path.relative(process.cwd(), html)}: open it in a browser (file://${html}).`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
