'use strict';
// The variants every workload runs under: what profiler (if any), at what
// rate, and how labels are attached. Pure data, shared by the runner (which
// plans and reports) and the child (which sets each one up, lib/setup.js).
//
//   labels: 'none'      wrap(labels, fn) is a plain call fn()
//           'als'       AsyncLocalStorage.run(labels, fn), no profiler
//           'labelprof' labelprof.withLabels(labels, fn)
//           'datadog'   the tracer-style context wiring of @datadog/pprof (lib/datadog.js)
//           'pyroscope' Pyroscope.wrapWithLabels (lib/pyroscope.js)
//
//   server: 'express'   (HTTP only) the handler is mounted on an Express app
//   otel:   'sdk'       (HTTP only) the OpenTelemetry SDK with the http and express
//                       instrumentations, registered before the server exists (lib/otel.js)
//           'labelprof' the same, with labelprof/otel turning spans into labels
//   workloads           the workloads a variant applies to (all when absent)

const HZ99_MICROS = 10101; // labelprof's default (and dd-trace's 1e6/99)
const KHZ_MICROS = 1000;

const VARIANTS = [
  { id: 'baseline', name: 'no profiler', profiler: 'none', labels: 'none' },
  { id: 'als', name: 'AsyncLocalStorage only', profiler: 'none', labels: 'als' },
  { id: 'lp-labels-only', name: 'labelprof labels, not profiling', profiler: 'none', labels: 'labelprof' },
  { id: 'lp-99', name: 'labelprof 99 Hz', profiler: 'labelprof', intervalMicros: HZ99_MICROS, labels: 'none' },
  { id: 'lp-99-L', name: 'labelprof 99 Hz + labels', profiler: 'labelprof', intervalMicros: HZ99_MICROS, labels: 'labelprof' },
  { id: 'lp-99-N', name: 'labelprof 99 Hz + native', profiler: 'labelprof', intervalMicros: HZ99_MICROS, labels: 'none', nativeFrames: true },
  { id: 'lp-99-LN', name: 'labelprof 99 Hz + labels + native', profiler: 'labelprof', intervalMicros: HZ99_MICROS, labels: 'labelprof', nativeFrames: true },
  { id: 'lp-1k', name: 'labelprof 1 kHz', profiler: 'labelprof', intervalMicros: KHZ_MICROS, labels: 'none' },
  { id: 'lp-1k-L', name: 'labelprof 1 kHz + labels', profiler: 'labelprof', intervalMicros: KHZ_MICROS, labels: 'labelprof' },
  { id: 'lp-1k-N', name: 'labelprof 1 kHz + native', profiler: 'labelprof', intervalMicros: KHZ_MICROS, labels: 'none', nativeFrames: true },
  { id: 'lp-1k-LN', name: 'labelprof 1 kHz + labels + native', profiler: 'labelprof', intervalMicros: KHZ_MICROS, labels: 'labelprof', nativeFrames: true },
  { id: 'dd-99', name: '@datadog/pprof 99 Hz + contexts + CPU', profiler: 'datadog', intervalMicros: HZ99_MICROS, labels: 'datadog' },
  { id: 'dd-1k', name: '@datadog/pprof 1 kHz + contexts + CPU', profiler: 'datadog', intervalMicros: KHZ_MICROS, labels: 'datadog' },
  { id: 'py-99', name: '@pyroscope/nodejs 99 Hz + labels', profiler: 'pyroscope', intervalMicros: HZ99_MICROS, labels: 'pyroscope' },
  { id: 'insp-99', name: 'inspector 99 Hz', profiler: 'inspector', intervalMicros: HZ99_MICROS, labels: 'none' },
  { id: 'insp-1k', name: 'inspector 1 kHz', profiler: 'inspector', intervalMicros: KHZ_MICROS, labels: 'none' },
  // OpenTelemetry (issue 11): what the SDK costs, and what labelprof/otel adds
  // to it. The handler runs under Express there (the express instrumentation
  // sets http.route), so 'express' is their reference, not the baseline.
  { id: 'express', name: 'Express, no profiler', profiler: 'none', labels: 'none', server: 'express', workloads: ['http'] },
  { id: 'otel', name: 'OpenTelemetry SDK + http/express instrumentation', profiler: 'none', labels: 'none', server: 'express', otel: 'sdk', workloads: ['http'] },
  { id: 'otel-lp-99', name: 'OpenTelemetry SDK + http/express instrumentation + labelprof/otel 99 Hz', profiler: 'labelprof', intervalMicros: HZ99_MICROS, labels: 'none', server: 'express', otel: 'labelprof', workloads: ['http'] },
];

// The 60-second profile on the HTTP workload (what continuous profilers
// collect per upload): the baseline for memory, and the labelled profilers
// at both rates (@pyroscope/nodejs at 99 Hz only).
const LONG_VARIANTS = ['baseline', 'lp-99-L', 'dd-99', 'py-99', 'lp-1k-L', 'dd-1k'];

function variantById(id) {
  const v = VARIANTS.find((x) => x.id === id);
  if (v === undefined) {
    throw new RangeError(`Unknown variant ${JSON.stringify(id)}; known: ${VARIANTS.map((x) => x.id).join(', ')}`);
  }
  return v;
}

// Workloads that run only some variants. The fixed-rate HTTP mode is there
// to resolve small overheads with many rounds: it runs the baseline, label
// propagation alone, labelprof at 99 Hz (without and with labels, with native
// frames) and the two labelled peers at 99 Hz.
const WORKLOAD_VARIANTS = {
  'http-fixed': ['baseline', 'als', 'lp-99', 'lp-99-L', 'lp-99-LN', 'dd-99', 'py-99'],
};

function appliesTo(variant, workload) {
  const only = WORKLOAD_VARIANTS[workload];
  if (only !== undefined && !only.includes(variant.id)) return false;
  return variant.workloads === undefined || variant.workloads.includes(workload);
}

module.exports = { VARIANTS, LONG_VARIANTS, variantById, appliesTo, HZ99_MICROS, KHZ_MICROS };
