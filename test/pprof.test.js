'use strict';
// pprof content: the pure translation on a hand-built profile, and real
// profiles read back by pprof-format and by `go tool pprof`, a reader nobody
// here wrote.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { toPprof } = require('../dist/pprof.js');
const { runJson, readProfile } = require('./helpers');

// (root) -> main (a.js) -> work (a.js, called at line 12) ; (root) -> (garbage collector)
function fixture() {
  return {
    startNanos: 1.7e18,
    durationNanos: 5e9,
    nodeParent: Int32Array.from([-1, 0, 1, 0, 1]),
    nodeLine: Int32Array.from([0, 3, 12, 0, 14]),
    nodeHitLine: Int32Array.from([0, 5, 20, 0, 30]),
    nodeColumn: Int32Array.from([0, 1, 1, 0, 1]),
    nodeScriptId: Int32Array.from([0, 7, 7, 0, 7]),
    nodeName: ['(root)', 'main', 'work', '(garbage collector)', 'work'],
    nodeUrl: ['', 'file:///a.js', 'file:///a.js', '', 'file:///a.js'],
    // work x3 (label 2), work x1 (label 3), gc x1 (label 2), work via line 14 x1 (label 0)
    sampleNode: Int32Array.from([2, 2, 2, 2, 3, 4]),
    sampleLabelSet: Int32Array.from([2, 2, 3, 2, 2, 0]),
    sampleCpuNanos: Float64Array.from([1e6, 2e6, 3e6, 4e6, 5e6, 6e6]),
    sampleWallNanos: Float64Array.from([1e6, 1e6, 1e6, 1e6, 1e6, 1e6]),
    stats: {},
  };
}
const labelSets = { 0: {}, 2: { endpoint: '/a', tenant: 't' }, 3: { endpoint: '/b' } };

test('translation: sample types, period, time, aggregation by (stack, labels)', () => {
  const p = toPprof({ raw: fixture(), intervalMicros: 1000, labelsOf: (id) => labelSets[id] });
  const str = (i) => p.stringTable.strings[Number(i)];
  assert.deepEqual(p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`), [
    'samples/count',
    'cpu/nanoseconds',
    'wall/nanoseconds',
  ]);
  assert.equal(str(p.defaultSampleType), 'cpu');
  assert.equal(`${str(p.periodType.type)}/${str(p.periodType.unit)}`, 'cpu/nanoseconds');
  assert.equal(Number(p.period), 1e6);
  assert.equal(Number(p.timeNanos), 1.7e18);
  assert.equal(Number(p.durationNanos), 5e9);

  const decoded = readProfile(require('node:zlib').gzipSync(p.encode()));
  const rows = decoded.samples
    .map((s) => `${s.stack.join('<')} ${JSON.stringify(s.labels)} ${s.count} ${s.cpu} ${s.wall}`)
    .sort();
  assert.deepEqual(rows, [
    '(garbage collector) {"endpoint":"/a","tenant":"t"} 1 5000000 1000000',
    'work<main {"endpoint":"/a","tenant":"t"} 3 7000000 3000000',
    'work<main {"endpoint":"/b"} 1 3000000 1000000',
    'work<main {} 1 6000000 1000000',
  ]);
});

test('sliced encoding (Profile.encode) writes the bytes pprof-format writes: samples, labels, values', () => {
  const { PprofBuilder } = require('../dist/pprof.js');
  const { Profile } = require('pprof-format');
  // The fixture, plus 3,000 samples with a label set each (span ids), values past 2^32 and zeros.
  const raw = fixture();
  const n = 3000;
  const sets = { ...labelSets };
  const sampleNode = [...raw.sampleNode];
  const sampleLabelSet = [...raw.sampleLabelSet];
  const cpu = [...raw.sampleCpuNanos];
  const wall = [...raw.sampleWallNanos];
  for (let i = 0; i < n; i++) {
    sets[10 + i] = { span_id: String(4e15 + i), endpoint: `/e${i % 4}` };
    sampleNode.push(i % 3 === 0 ? 4 : 2);
    sampleLabelSet.push(10 + i);
    cpu.push(i % 7 === 0 ? 0 : 1e6 + i);
    wall.push(i === 5 ? 6e9 : 1e6);
  }
  raw.sampleNode = Int32Array.from(sampleNode);
  raw.sampleLabelSet = Int32Array.from(sampleLabelSet);
  raw.sampleCpuNanos = Float64Array.from(cpu);
  raw.sampleWallNanos = Float64Array.from(wall);
  const make = () => {
    const b = new PprofBuilder({ intervalMicros: 1000, mainBinary: process.execPath, comments: ['c'] });
    b.addChunk({ raw, labelsOf: (id) => sets[id] });
    return b;
  };
  const time = { startNanos: raw.startNanos, durationNanos: raw.durationNanos };
  const reference = make().build(time).encode();
  const it = make().encodeInSlices(time, 7);
  let step;
  let slices = 0;
  while (!(step = it.next()).done) slices++;
  assert.ok(slices > 100, `${slices} slices`);
  assert.deepEqual(Buffer.from(step.value), Buffer.from(make().encode(time)), 'same bytes sliced or not');
  assert.deepEqual(Buffer.from(step.value), Buffer.from(reference), "pprof-format's own bytes");
  const plain = (x) => JSON.parse(JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? Number(v) : v)));
  const a = plain(Profile.decode(reference));
  const b = plain(Profile.decode(step.value));
  assert.equal(b.sample.length, n + 4);
  assert.deepEqual(b, a);
});

test('the sample writer writes what pprof-format writes, numeric labels and values it cannot write as plain varints included', () => {
  const { SampleWriter } = require('../dist/pprof-samples.js');
  const { Label, Sample, ValueType } = require('pprof-format');
  const types = [new ValueType({ type: 1, unit: 2 })];
  const cases = [
    { locationId: [3, 2, 1], value: [1, 0, 2 ** 40], label: [new Label({ key: 4, str: 5 })] },
    { locationId: [], value: [0, 0, 0], label: [] },
    { locationId: [1], value: [1, -5, 3], label: [new Label({ key: 4, num: 7, numUnit: 6 })] },
    { locationId: [1, 300], value: [1, 1.5, 3], label: [new Label({ key: 4, num: -1 })] },
  ];
  const writer = new SampleWriter();
  let expected = Buffer.alloc(0);
  for (const t of types) {
    const b = t.encode();
    expected = Buffer.concat([expected, Buffer.from([0x0a, b.length]), b]);
  }
  for (const c of cases) {
    writer.add(c.locationId, c.value, c.label);
    const b = new Sample(c).encode();
    expected = Buffer.concat([expected, Buffer.from([0x12]), varint(b.length), b]);
  }
  const rest = Buffer.from([0x48, 0x01]); // time_nanos = 1
  assert.deepEqual(Buffer.from(writer.finish(types, rest)), Buffer.concat([expected, rest]));
});

function varint(n) {
  const out = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

test('translation: call-site lines per frame, the hit line at the leaf, one function per JS function', () => {
  const p = toPprof({ raw: fixture(), intervalMicros: 1000, labelsOf: (id) => labelSets[id] });
  const str = (i) => p.stringTable.strings[Number(i)];
  const fn = new Map(p.function.map((f) => [Number(f.id), f]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  const lines = (s) =>
    s.locationId.map((id) => {
      const line = loc.get(Number(id)).line[0];
      const f = fn.get(Number(line.functionId));
      return `${str(f.name)}@${str(f.filename)}:${Number(line.line)}`;
    });
  const all = p.sample.map(lines).map((l) => l.join(' < ')).sort();
  assert.ok(all.includes('work@file:///a.js:20 < main@file:///a.js:12'), all.join('\n'));
  assert.ok(all.includes('work@file:///a.js:30 < main@file:///a.js:14'), all.join('\n'));
  assert.equal(p.function.filter((f) => str(f.name) === 'work').length, 1);
});

test('a real profile is read by pprof-format: labels, names, files, lines', () => {
  const file = path.join(os.tmpdir(), `labelprof-pprof-${process.pid}.pb.gz`);
  runJson('write-profile.js', { args: [file] });
  const { samples, profile, str } = readProfile(fs.readFileSync(file));
  const checkout = samples.filter((s) => s.stack.includes('handleCheckout'));
  assert.ok(checkout.length > 0);
  for (const s of checkout) assert.deepEqual(s.labels, { endpoint: '/checkout', tenant: 'acme' });
  const fn = profile.function.find((f) => str(f.name) === 'handleCheckout');
  assert.match(str(fn.filename), /write-profile\.js$/);
  const withLines = profile.location.filter((l) => Number(l.line[0].line) > 0);
  assert.ok(withLines.length > 0, 'no line numbers');
  fs.unlinkSync(file);
});

function goPprof(args) {
  const r = spawnSync('go', ['tool', 'pprof', ...args], { encoding: 'utf8', timeout: 120000 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `go tool pprof ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

const haveGo = spawnSync('go', ['version']).status === 0;

test('go tool pprof reads our output (-raw, -tags, -top)', { skip: !haveGo && !process.env.CI && 'go is not installed (CI installs golang-go)' }, () => {
  assert.ok(haveGo, 'go tool pprof is required on CI: apt-get install golang-go');
  const file = path.join(os.tmpdir(), `labelprof-go-${process.pid}.pb.gz`);
  runJson('write-profile.js', { args: [file] });
  const raw = goPprof(['-raw', file]);
  assert.match(raw, /Samples:\s*\nsamples\/count cpu\/nanoseconds\[dflt\] wall\/nanoseconds/);
  assert.match(raw, /endpoint:\[\/checkout\]/);
  const tags = goPprof(['-tags', file]);
  assert.match(tags, /endpoint: Total/);
  assert.match(tags, /\/checkout/);
  assert.match(tags, /tenant: Total/);
  assert.match(tags, /globex/);
  const top = goPprof(['-top', '-sample_index=cpu', file]);
  assert.match(top, /handleCheckout/);
  const focused = goPprof(['-top', '-tagfocus=endpoint=/search', file]);
  assert.match(focused, /handleSearch/);
  assert.doesNotMatch(focused, /handleCheckout/);
  fs.unlinkSync(file);
});
