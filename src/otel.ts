// labelprof/otel: OpenTelemetry spans become profiler labels, and a profile
// gives CPU back per span and per endpoint.
//
//   require('labelprof/otel').enableSpanLabels();   // or LABELPROF_OTEL=1 with the drop-in
//
// While a profile runs, every sample taken with a span active carries
// span_id, local_root_span_id, trace_id and trace_endpoint (otel-context.ts).
// Needs @opentelemetry/api (an optional peer dependency): the core package
// never loads this file.
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { contextManagerHooked, hookContextManager, unhookContextManager } from './otel-context';

export { SPAN_LABEL_KEYS } from './otel-context';
export { cpuBySpan, cpuByEndpoint } from './otel-profile';
export type { SpanCpu, EndpointCpu, FunctionCpu, CpuBySpanOptions } from './otel-profile';

interface OtelApi {
  trace?: unknown;
  context?: unknown;
}

// From labelprof's own location first (where npm puts a peer dependency),
// then from the application's working directory (a hoisting layout that
// keeps it out of our reach).
function loadApi(): OtelApi {
  const tried: string[] = [];
  for (const from of [__filename, path.join(process.cwd(), 'noop.js')]) {
    try {
      return createRequire(from)('@opentelemetry/api') as OtelApi;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      tried.push(path.dirname(from));
    }
  }
  throw new Error(
    `labelprof/otel needs the package @opentelemetry/api, which is not installed ` +
      `(looked from ${tried.join(' and ')}). Install it with your OpenTelemetry SDK: ` +
      `npm install @opentelemetry/api @opentelemetry/sdk-trace-node`,
  );
}

// Every 1.x release of the API keeps its globals under the same key (the
// peer dependency range is ^1.3.0).
const API_MAJOR = '1';
const api = loadApi();
if (api.trace === undefined || api.context === undefined) {
  throw new Error('labelprof/otel: the @opentelemetry/api that loaded has no trace/context API: install @opentelemetry/api 1.x');
}

/**
 * Turns spans into labels: from now on, while a profile runs, samples taken
 * with an OpenTelemetry span active carry span_id, local_root_span_id,
 * trace_id and trace_endpoint, merged with the labels set by withLabels.
 * Works whether the SDK registers its context manager before or after this
 * call. Calling it again does nothing.
 */
export function enableSpanLabels(): void {
  hookContextManager(API_MAJOR);
}

/** Stops labelling spans: the context manager is unwrapped. */
export function disableSpanLabels(): void {
  unhookContextManager();
}

/** Whether enableSpanLabels() is in effect. */
export function spanLabelsEnabled(): boolean {
  return contextManagerHooked();
}
