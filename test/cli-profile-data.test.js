'use strict';
// The CLI's pure parts on hand-made inputs: flag parsing, frame kinds, focus,
// aggregation by label and function, and the flame graph's data.
const test = require('node:test');
const assert = require('node:assert/strict');
const { parseArgs, CliError } = require('../dist/cli/args');
const { frameKind } = require('../dist/cli/profile-data');
const { byLabel, byFunction, parseFocus, matchesFocus, formatValue } = require('../dist/cli/aggregate');
const { flameData } = require('../dist/cli/html');
const { nodeOptionsWithDropIn } = require('../dist/cli/run');

test('parseArgs: values, repeats, short flags, booleans, and the rest after --', () => {
  const spec = { focus: { type: 'string', repeat: true }, top: { type: 'integer' }, out: { type: 'string', short: 'o' }, 'source-maps': { type: 'boolean' } };
  const a = parseArgs('x', ['p.pb.gz', '--focus', 'a=1', '--focus=b=2', '--top=5', '-o', 'f.html', '--source-maps', '--', 'node', '--flag'], spec);
  assert.deepEqual(a.positionals, ['p.pb.gz']);
  assert.deepEqual(a.flags.get('focus'), ['a=1', 'b=2']);
  assert.deepEqual(a.flags.get('top'), [5]);
  assert.deepEqual(a.flags.get('out'), ['f.html']);
  assert.deepEqual(a.flags.get('source-maps'), [true]);
  assert.deepEqual(a.rest, ['node', '--flag']);
  assert.throws(() => parseArgs('x', ['--top', '1', '--top', '2'], spec), { name: 'Error', message: 'flag --top given twice' });
  assert.throws(() => parseArgs('x', ['--source-maps=yes'], spec), CliError);
  assert.throws(() => parseArgs('x', ['--top', '-3'], spec), /--top needs a positive whole number/);
});

test('frameKind: pseudo-frames, JavaScript and native', () => {
  assert.equal(frameKind('(garbage collector)', '', false), 'v8');
  assert.equal(frameKind('(program)', '', false), 'v8');
  assert.equal(frameKind('Garbage Collection', '', false), 'v8');
  assert.equal(frameKind('(anonymous)', '/app/x.js', false), 'js');
  assert.equal(frameKind('(anonymous)', '', false), 'js');
  assert.equal(frameKind('runMicrotasks', '', false), 'js');
  assert.equal(frameKind('readFile', 'node:fs', false), 'js');
  assert.equal(frameKind('handler', 'file:///app/x.mjs', false), 'js');
  assert.equal(frameKind('uv_run', '/usr/bin/node', true), 'native');
  assert.equal(frameKind('main.work', '/src/main.go', true), 'native');
});

// functions: 0 main, 1 a, 2 b; stacks leaf first
const data = {
  file: 'p',
  sampleTypes: [{ type: 'cpu', unit: 'nanoseconds' }],
  defaultType: 0,
  durationNanos: 0,
  functions: [{ name: 'main', file: '/m.js', kind: 'js' }, { name: 'a', file: '/m.js', kind: 'js' }, { name: 'b', file: '', kind: 'native' }],
  comments: [],
  samples: [
    { stack: [1, 0], lines: [10, 2], values: [30], labels: { endpoint: '/x', tenant: 't1' } },
    { stack: [2, 1, 0], lines: [0, 11, 2], values: [10], labels: { endpoint: '/x', tenant: 't2' } },
    { stack: [2, 0], lines: [0, 3], values: [20], labels: { endpoint: '/y' } },
    { stack: [0], lines: [1], values: [50], labels: {} },
    // recursion: main counts once in cum
    { stack: [0, 0], lines: [4, 5], values: [5], labels: { endpoint: '/y' } },
  ],
};

test('byLabel: per key, values largest first, "(none)" for samples without the key', () => {
  const m = byLabel(data.samples, 0);
  assert.deepEqual([...m.keys()], ['endpoint', 'tenant']);
  assert.deepEqual(m.get('endpoint'), [['(none)', 50], ['/x', 40], ['/y', 25]]);
  assert.deepEqual(m.get('tenant'), [['(none)', 75], ['t1', 30], ['t2', 10]]);
});

test('byFunction: self at the leaf, cumulative once per stack, the heaviest line', () => {
  const rows = Object.fromEntries(byFunction(data, data.samples, 0).map((r) => [data.functions[r.fn].name, r]));
  assert.deepEqual(rows.main, { fn: 0, self: 55, cum: 115, line: 1 });
  assert.deepEqual(rows.a, { fn: 1, self: 30, cum: 40, line: 10 });
  assert.deepEqual(rows.b, { fn: 2, self: 30, cum: 30, line: 0 });
});

test('parseFocus: keys ANDed, values of one key ORed; unknown keys and values are named', () => {
  const focus = parseFocus(['endpoint=/x', 'endpoint=/y', 'tenant=t1'], data);
  assert.deepEqual(data.samples.filter((s) => matchesFocus(s, focus)).map((s) => s.values[0]), [30]);
  assert.throws(() => parseFocus(['region=eu'], data), /no sample has the label region \(labels: endpoint, tenant\)/);
  assert.throws(() => parseFocus(['endpoint=/z'], data), /no sample has endpoint=\/z \(values: \/x, \/y\)/);
  assert.throws(() => parseFocus(['=x'], data), /expected key=value/);
});

test('flameData: a call tree with parents before children, samples by (node, label set)', () => {
  const f = flameData(data, 0);
  assert.equal(f.parent.length, f.fn.length);
  for (let i = 1; i < f.parent.length; i++) assert.ok(f.parent[i] < i);
  const pathOf = (node) => {
    const names = [];
    for (let n = node; n > 0; n = f.parent[n]) names.unshift(f.fnName[f.fn[n]]);
    return names.join(';');
  };
  const byPath = {};
  f.sampleNode.forEach((n, i) => {
    const set = f.labelSets[f.sampleSet[i]].map((v, k) => (v < 0 ? '-' : f.labelValues[k][v])).join(',');
    byPath[`${pathOf(n)} ${set}`] = (byPath[`${pathOf(n)} ${set}`] ?? 0) + f.sampleValue[i];
  });
  assert.deepEqual(byPath, { 'main;a /x,t1': 30, 'main;a;b /x,t2': 10, 'main;b /y,-': 20, 'main -,-': 50, 'main;main /y,-': 5 });
  assert.equal(f.fnKind, 'jjn');
  assert.deepEqual(f.labelKeys, ['endpoint', 'tenant']);
});

test('formatValue and NODE_OPTIONS for the drop-in', () => {
  assert.equal(formatValue(2.5e9, 'nanoseconds'), '2.50 s');
  assert.equal(formatValue(12e9, 'nanoseconds'), '12.0 s');
  assert.equal(formatValue(41e6, 'nanoseconds'), '41 ms');
  assert.equal(formatValue(7, 'count'), '7');
  assert.equal(nodeOptionsWithDropIn(undefined, '/a b/start.js'), '--require "/a b/start.js"');
  assert.equal(nodeOptionsWithDropIn('--max-old-space-size=100', '/x/start.js'), '--require "/x/start.js" --max-old-space-size=100');
});
