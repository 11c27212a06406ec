'use strict';
// labelprof/otel: OpenTelemetry spans as labels, under the real SDK
// (sdk-trace-node, instrumentation-http, instrumentation-express), and the
// way back from a profile to spans.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { runJson, readProfile } = require('./helpers');

const ROUTES = { burnOne: '/one', burnTwo: '/two', burnFour: '/four' };

for (const order of ['before', 'after']) {
  test(`Express + OTel SDK registered ${order} labelprof/otel: CPU by endpoint, span ids of the right request`, () => {
    const r = runJson('otel-express.js', { args: [order, '300'] });
    const { samples } = readProfile(fs.readFileSync(r.file));
    fs.unlinkSync(r.file);
    const shown = () => JSON.stringify({ stats: r.stats, measured: r.measuredCpuMicros, endpoints: r.endpoints, driver: r.driver });

    // The exporter's spans: each span's route is its trace's server span's http.route.
    const routeOfTrace = new Map();
    for (const s of r.spans) if (s.parentSpanId === undefined && s.route !== undefined) routeOfTrace.set(s.traceId, s.route);
    const spanById = new Map(r.spans.map((s) => [s.spanId, { ...s, route: routeOfTrace.get(s.traceId) }]));
    const serverSpanOfTrace = new Map(r.spans.filter((s) => s.parentSpanId === undefined).map((s) => [s.traceId, s.spanId]));
    const requestOfSpan = new Map(Object.entries(r.spanOfRequest).map(([n, id]) => [id, n]));
    assert.equal(requestOfSpan.size, Object.keys(r.spanOfRequest).length, 'one span per request');

    // Samples inside the route handlers' work.
    let burnCpu = 0;
    let rightSpanCpu = 0;
    const otherRequest = [];
    const inconsistent = [];
    const burnCpuByEndpoint = {};
    for (const s of samples) {
      const burn = s.stack.find((f) => Object.hasOwn(ROUTES, f));
      if (burn === undefined) continue;
      const route = ROUTES[burn];
      burnCpu += s.cpu;
      const span = spanById.get(s.labels.span_id);
      if (span !== undefined && span.route === route) rightSpanCpu += s.cpu;
      // The request label set by the handler must sit with that request's span and no other.
      const owner = requestOfSpan.get(s.labels.span_id);
      if (owner !== undefined && owner !== s.labels.req) otherRequest.push(`${burn} req=${s.labels.req} span of req ${owner} x${s.count}`);
      if (span !== undefined && (span.traceId !== s.labels.trace_id || serverSpanOfTrace.get(span.traceId) !== s.labels.local_root_span_id)) {
        inconsistent.push(JSON.stringify(s.labels));
      }
      const e = s.labels.trace_endpoint ?? '(none)';
      burnCpuByEndpoint[e] = (burnCpuByEndpoint[e] ?? 0) + s.cpu;
    }
    assert.ok(burnCpu > 0 && samples.filter((s) => s.stack.some((f) => Object.hasOwn(ROUTES, f))).reduce((n, s) => n + s.count, 0) >= 300, `too few samples in the handlers: ${shown()}`);
    assert.deepEqual(otherRequest, [], 'no sample carries another request\'s span id');
    assert.deepEqual(inconsistent, [], 'span_id, trace_id and local_root_span_id agree with the exporter');
    assert.ok(rightSpanCpu / burnCpu >= 0.99, `only ${((100 * rightSpanCpu) / burnCpu).toFixed(2)}% of the handlers' CPU has a span of its route: ${shown()}`);
    assert.deepEqual(Object.keys(burnCpuByEndpoint).sort(), ['GET /four', 'GET /one', 'GET /two'], JSON.stringify(burnCpuByEndpoint));

    // CPU by endpoint (cpuByEndpoint, all of each request's CPU) against the
    // CPU the handlers measured for their work.
    const measuredTotal = Object.values(r.measuredCpuMicros).reduce((a, b) => a + b, 0);
    const profiledTotal = ['/one', '/two', '/four'].reduce((a, route) => a + (r.endpoints[`GET ${route}`] ?? 0), 0);
    for (const route of ['/one', '/two', '/four']) {
      const measured = (100 * r.measuredCpuMicros[route]) / measuredTotal;
      const profiled = (100 * (r.endpoints[`GET ${route}`] ?? 0)) / profiledTotal;
      assert.ok(Math.abs(measured - profiled) <= 3, `${route}: profile ${profiled.toFixed(1)}% vs measured ${measured.toFixed(1)}%: ${shown()}`);
    }
  });
}
