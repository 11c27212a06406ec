// The drop-in's switch for labelprof/otel: LABELPROF_OTEL=1 turns span labels
// on. Without @opentelemetry/api the application runs, profiled, without them.
export function enableSpanLabelsFromEnv(warn: (message: string) => void): void {
  const raw = process.env.LABELPROF_OTEL;
  if (raw === undefined || raw === '' || raw === '0') return;
  if (raw !== '1') {
    warn(`ignoring LABELPROF_OTEL=${JSON.stringify(raw)}: expected 1 (on) or 0 (off)`);
    return;
  }
  try {
    (require('./otel') as typeof import('./otel')).enableSpanLabels();
  } catch (err) {
    warn(`LABELPROF_OTEL=1 but span labels are off: ${(err as Error).message}`);
  }
}
