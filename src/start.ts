// Drop-in use: `node --require labelprof/start app.js` or
// `node --import labelprof/start app.mjs` profiles from startup and writes
// labelprof-<pid>.pb.gz (or $LABELPROF_OUT) on normal exit and on
// SIGINT/SIGTERM, after which the process ends as the signal would have
// ended it. $LABELPROF_INTERVAL_MICROS sets the rate.
import * as path from 'node:path';

import { resolveOptions, type ResolvedOptions } from './options';
import { start, type Profiler } from './profiler';

function warn(message: string): void {
  process.stderr.write(`labelprof: ${message}\n`);
}

function optionsFromEnv(): ResolvedOptions | undefined {
  const raw = process.env.LABELPROF_INTERVAL_MICROS;
  if (raw === undefined || raw === '') return resolveOptions({});
  const value = Number(raw);
  try {
    if (!/^\s*\d+\s*$/.test(raw)) throw new RangeError(`not a whole number`);
    return resolveOptions({ intervalMicros: value });
  } catch (err) {
    warn(
      `ignoring LABELPROF_INTERVAL_MICROS=${JSON.stringify(raw)} (${(err as Error).message}); ` +
        `expected a whole number of microseconds from 100 to 1000000. Profiling at the default rate.`,
    );
    return resolveOptions({});
  }
}

function outputPath(): string {
  const out = process.env.LABELPROF_OUT;
  return path.resolve(out !== undefined && out !== '' ? out : `labelprof-${process.pid}.pb.gz`);
}

let profiler: Profiler | undefined;

function writeProfile(): void {
  if (profiler === undefined || !profiler.running) return;
  const file = outputPath();
  try {
    profiler.stopSync().writeSync(file);
    if (process.env.LABELPROF_QUIET === undefined) warn(`wrote ${file}`);
  } catch (err) {
    warn(`could not write the profile to ${file}: ${(err as Error).message}`);
  }
}

function onSignal(signal: NodeJS.Signals): void {
  writeProfile();
  // Only we listened: end the process the way the signal would have.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  } else {
    // The application handles this signal itself and may carry on: keep
    // profiling, so the next exit writes the rest.
    begin();
  }
}

function begin(): void {
  const options = optionsFromEnv();
  try {
    profiler = start(options);
  } catch (err) {
    warn(`not profiling: ${(err as Error).message}`);
  }
}

if (require.main !== module) {
  begin();
  process.on('exit', writeProfile);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
