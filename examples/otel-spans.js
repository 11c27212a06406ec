'use strict';
// OpenTelemetry spans joined to the CPU profile. An Express service traced by
// the OpenTelemetry SDK serves some requests, with labelprof/otel turning the
// spans into labels; then, for the five slowest spans, it prints their wall
// duration (from the tracer) beside the CPU the profile gives them, and where
// that CPU went (their top three functions).
//   node examples/otel-spans.js [requests]     (writes labelprof-otel-spans.pb.gz, or $LABELPROF_OUT)
//
// The setup is the three lines of the README's "Tracing: spans as labels".
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const labelprof = require('labelprof');
const { enableSpanLabels, cpuBySpan } = require('labelprof/otel');

// 1. labelprof/otel on; 2. the SDK as usual (the order does not matter).
enableSpanLabels();
const exporter = new InMemorySpanExporter(); // a real service exports to a collector
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
registerInstrumentations({
  // The load below comes from this process: leave its client requests out.
  instrumentations: [new HttpInstrumentation({ ignoreOutgoingRequestHook: () => true }), new ExpressInstrumentation()],
});

const crypto = require('node:crypto');
const path = require('node:path');
const http = require('node:http');
const express = require('express');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function computePrices(units) {
  let x = 0;
  for (let i = 0; i < units * 40000; i++) x += Math.sqrt(i + x) % 11;
  return x;
}
function signReceipt(units) {
  const h = crypto.createHash('sha256');
  const chunk = Buffer.alloc(16384, 7);
  for (let i = 0; i < units * 20; i++) h.update(chunk);
  return h.digest('hex');
}
function renderResults(units) {
  const rows = [];
  for (let i = 0; i < units * 400; i++) rows.push({ id: i, name: `item-${i}`, score: i % 17 });
  return JSON.stringify(rows).length;
}

const app = express();
let n = 0;
app.get('/checkout', async (req, res) => {
  const big = n++ % 7 === 0; // every seventh basket is large
  const prices = computePrices(big ? 12 : 2);
  await sleep(big ? 15 : 3); // a payment provider: wall time, no CPU
  res.json({ prices, receipt: signReceipt(big ? 6 : 1) });
});
app.get('/search', async (req, res) => {
  await sleep(2);
  res.json({ size: renderResults(3) });
});

function get(port, path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

async function main() {
  const requests = Number(process.argv[2] || 200);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();

  const profiler = labelprof.start({ intervalMicros: 1000 });
  for (let i = 0; i < requests; i += 4) {
    await Promise.all([get(port, '/checkout'), get(port, '/search'), get(port, '/checkout'), get(port, '/search')]);
  }
  const profile = await profiler.stop();
  server.close();
  const out = path.resolve(process.env.LABELPROF_OUT || 'labelprof-otel-spans.pb.gz');
  await profile.write(out);

  // Self CPU per span, and per local root (a request: its span and all below it).
  const bySpan = cpuBySpan(profile, { topFunctions: 1000 });
  const request = new Map();
  for (const s of bySpan.values()) {
    let r = request.get(s.localRootSpanId);
    if (r === undefined) request.set(s.localRootSpanId, (r = { cpuNanos: 0, functions: new Map() }));
    r.cpuNanos += s.cpuNanos;
    for (const f of s.topFunctions) r.functions.set(f.name, (r.functions.get(f.name) ?? 0) + f.cpuNanos);
  }

  const ms = (nanos) => `${(nanos / 1e6).toFixed(1)} ms`.padStart(9);
  const durationNanos = (span) => span.duration[0] * 1e9 + span.duration[1];
  const slowest = exporter.getFinishedSpans().sort((a, b) => durationNanos(b) - durationNanos(a)).slice(0, 5);
  console.log(`${requests} requests, ${profile.sampleCount} samples at 1 kHz. The five slowest spans:`);
  console.log(`  ${'span'.padEnd(22)} ${'span_id'.padEnd(16)}      wall   CPU (self)  CPU (its request)  top functions of the request`);
  for (const span of slowest) {
    const id = span.spanContext().spanId;
    const own = bySpan.get(id);
    const req = request.get(own?.localRootSpanId ?? id);
    const top = [...(req?.functions ?? [])]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, cpu]) => `${name.slice(0, 32)} ${(cpu / 1e6).toFixed(1)}`)
      .join(', ');
    console.log(
      `  ${span.name.slice(0, 22).padEnd(22)} ${id} ${ms(durationNanos(span))} ${ms(own?.cpuNanos ?? 0)}  ${ms(req?.cpuNanos ?? 0).padStart(17)}  ${top}`,
    );
  }
  console.log('\nWall time without CPU is waiting (the sleeps above stand for a payment provider and a database).');
  console.log(`\nThe profile is in ${out}; for instance:`);
  console.log(`  go tool pprof -top -tagfocus=trace_endpoint='GET /checkout' ${out}`);
  console.log(`  go tool pprof -top -tagfocus=span_id=${slowest[0].spanContext().spanId} ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
