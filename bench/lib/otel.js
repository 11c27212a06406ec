'use strict';
// The OpenTelemetry variants' setup, in the measured process, before the
// server exists: the SDK as applications set it up (NodeTracerProvider, a
// BatchSpanProcessor in front of an exporter, the http and express
// instrumentations). The exporter drops the spans: the cost measured is the
// tracing in the process, not a collector's. With `labelprof`, labelprof/otel
// is enabled first (the drop-in order).
const path = require('node:path');

function setUpOtel({ labelprofRoot, withLabelprof }) {
  if (withLabelprof) {
    require(path.join(labelprofRoot, 'dist', 'otel.js')).enableSpanLabels();
  }
  const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
  /* eslint-enable global-require */
  let exported = 0;
  const exporter = {
    export(spans, done) {
      exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()] });
  // The workload loaded node:http before this: requiring it again lets the
  // instrumentation patch it (it patches the shared module object).
  require('node:http');
  return { provider, exportedSpans: () => exported };
}

module.exports = { setUpOtel };
