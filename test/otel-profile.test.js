'use strict';
// cpuBySpan / cpuByEndpoint on hand-made pprof profiles: no sampling.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Profile, StringTable, ValueType, Sample, Label, Location, Line, Function: Fn } = require('pprof-format');
const { cpuBySpan, cpuByEndpoint } = require('labelprof/otel');

// samples: [{ leaf: function name, labels: {...}, cpu, count? }]
function makeProfile(samples) {
  const strings = new StringTable();
  const fns = new Map();
  const locations = [];
  const functions = [];
  const locationOf = (name) => {
    if (!fns.has(name)) {
      const id = functions.length + 1;
      functions.push(new Fn({ id, name: strings.dedup(name), filename: strings.dedup(`${name}.js`) }));
      locations.push(new Location({ id, line: [new Line({ functionId: id })] }));
      fns.set(name, id);
    }
    return fns.get(name);
  };
  const vt = (t, u) => new ValueType({ type: strings.dedup(t), unit: strings.dedup(u) });
  return new Profile({
    sampleType: [vt('samples', 'count'), vt('cpu', 'nanoseconds'), vt('wall', 'nanoseconds')],
    sample: samples.map(
      (s) =>
        new Sample({
          locationId: [locationOf(s.leaf), locationOf('main')],
          value: [s.count ?? 1, s.cpu, s.cpu * 2],
          label: Object.entries(s.labels).map(([k, v]) => new Label({ key: strings.dedup(k), str: strings.dedup(v) })),
        }),
    ),
    location: locations,
    function: functions,
    stringTable: strings,
  });
}

const span = (id, root, endpoint, extra = {}) => ({ span_id: id, local_root_span_id: root, trace_id: `t-${root}`, trace_endpoint: endpoint, ...extra });

const fixture = makeProfile([
  // Request r1: the server span before routing (method alone), then its handler span.
  { leaf: 'parse', labels: span('r1', 'r1', 'GET'), cpu: 100 },
  { leaf: 'price', labels: span('h1', 'r1', 'GET /checkout', { tenant: 'acme' }), cpu: 700, count: 7 },
  { leaf: 'sign', labels: span('h1', 'r1', 'GET /checkout'), cpu: 200, count: 2 },
  { leaf: 'price', labels: span('h1', 'r1', 'GET /checkout'), cpu: 50 },
  // Request r2: another endpoint.
  { leaf: 'render', labels: span('r2', 'r2', 'GET /search'), cpu: 300, count: 3 },
  // A 404: never routed, keeps the method alone.
  { leaf: 'parse', labels: span('r3', 'r3', 'GET'), cpu: 40 },
  // No span: not counted.
  { leaf: 'gc', labels: { job: 'x' }, cpu: 999 },
  { leaf: 'idle', labels: {}, cpu: 999 },
]);

test('cpuBySpan: self CPU, wall and samples per span, top functions heaviest first, endpoint of the local root', () => {
  const bySpan = cpuBySpan(fixture);
  assert.deepEqual([...bySpan.keys()].sort(), ['h1', 'r1', 'r2', 'r3']);
  const h1 = bySpan.get('h1');
  assert.equal(h1.cpuNanos, 950);
  assert.equal(h1.wallNanos, 1900);
  assert.equal(h1.samples, 10);
  assert.equal(h1.localRootSpanId, 'r1');
  assert.equal(h1.traceId, 't-r1');
  assert.deepEqual(h1.topFunctions, [
    { name: 'price', file: 'price.js', cpuNanos: 750 },
    { name: 'sign', file: 'sign.js', cpuNanos: 200 },
  ]);
  // The server span's samples before routing get its request's endpoint.
  assert.equal(bySpan.get('r1').endpoint, 'GET /checkout');
  assert.equal(bySpan.get('r3').endpoint, 'GET');
  assert.equal(cpuBySpan(fixture, { topFunctions: 1 }).get('h1').topFunctions.length, 1);
});

test('cpuByEndpoint: per endpoint, heaviest first, early samples joined by local root', () => {
  const byEndpoint = cpuByEndpoint(fixture);
  assert.deepEqual([...byEndpoint.keys()], ['GET /checkout', 'GET /search', 'GET']);
  assert.deepEqual(byEndpoint.get('GET /checkout'), { endpoint: 'GET /checkout', cpuNanos: 1050, wallNanos: 2100, samples: 11, localRoots: 1 });
  assert.equal(byEndpoint.get('GET').cpuNanos, 40);
});

test('arguments are checked and the culprit named', () => {
  assert.throws(() => cpuBySpan({}), { name: 'TypeError', message: /Expected a labelprof Profile \(from stop\(\)\) or a pprof-format Profile for profile but received an object/ });
  assert.throws(() => cpuByEndpoint(undefined), { name: 'TypeError', message: /for profile but received undefined/ });
  assert.throws(() => cpuBySpan(fixture, { topFunctions: -1 }), { name: 'RangeError', message: /options\.topFunctions/ });
  assert.throws(() => cpuBySpan(fixture, { topFunctions: '3' }), { name: 'TypeError', message: /options\.topFunctions/ });
  assert.throws(() => cpuBySpan(fixture, 3), { name: 'TypeError', message: /for options/ });
});
