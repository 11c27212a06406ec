// Drop-in use: `node --require labelprof/start app.js` or
// `node --import labelprof/start app.mjs` profiles from startup.
//
//   LABELPROF_PERIOD_SECONDS=N  one gzipped pprof file per period of N seconds,
//                               written into LABELPROF_OUT_DIR (default: the
//                               working directory) as
//                               labelprof-<UTC start>-<pid>.pb.gz, keeping the
//                               newest LABELPROF_KEEP (default 10) of this process
//   (no period)                 one profile of the whole run, written at exit
//                               to $LABELPROF_OUT or labelprof-<pid>.pb.gz
//   LABELPROF_PPROF_ADDR=h:p    serve GET /debug/pprof/profile?seconds=N there
//   LABELPROF_INTERVAL_MICROS   sampling interval (default 10101, ~99 Hz)
//   LABELPROF_WORKERS=1         profile Worker threads too (each its own files)
//   LABELPROF_QUIET=1           no "wrote ..." lines on stderr
//   LABELPROF_SOURCE_MAPS=1     frames mapped to the sources people wrote (source-maps.ts)
//   LABELPROF_OTEL=1            OpenTelemetry spans become labels (labelprof/otel)
//
// The last (partial) period, or the whole-run profile, is written on normal
// exit, and on SIGINT/SIGTERM when the application does not handle them
// (then the process ends as the signal would have ended it). If the
// application handles the signal itself, it decides when to exit, and the
// profile is written then. Every file is written atomically.
import { readdirSync, unlinkSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';

import { startContinuous, type ContinuousProfiler } from './continuous';
import { resolveOptions, type ResolvedOptions } from './options';
import { PprofBuilder, type PprofChunk } from './pprof';
import { pprofHandler } from './pprof-handler';
import { tryNative } from './native';
import { mainBinaryPath, Profile, writeFileAtomicSync } from './profile';
import { mapProfileSourcesSync } from './source-maps';
import { enableSpanLabelsFromEnv } from './otel-dropin';

function warn(message: string): void {
  process.stderr.write(`labelprof: ${message}\n`);
}

function say(message: string): void {
  if (process.env.LABELPROF_QUIET === undefined || process.env.LABELPROF_QUIET === '') warn(message);
}

function optionsFromEnv(): ResolvedOptions {
  const raw = process.env.LABELPROF_INTERVAL_MICROS;
  if (raw === undefined || raw === '') return resolveOptions({});
  try {
    if (!/^\s*\d+\s*$/.test(raw)) throw new RangeError(`not a whole number`);
    return resolveOptions({ intervalMicros: Number(raw) });
  } catch (err) {
    warn(
      `ignoring LABELPROF_INTERVAL_MICROS=${JSON.stringify(raw)} (${(err as Error).message}); ` +
        `expected a whole number of microseconds from 100 to 1000000. Profiling at the default rate.`,
    );
    return resolveOptions({});
  }
}

function numberFromEnv(name: string, fallback: number, min: number, max: number, integer: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(raw) || !(value >= min && value <= max) || (integer && !Number.isInteger(value))) {
    warn(`ignoring ${name}=${JSON.stringify(raw)}: expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}; using ${fallback}`);
    return fallback;
  }
  return value;
}

// Worker threads run the preload too; each profiled thread writes its own files.
const threadSuffix = isMainThread ? '' : `-w${threadId}`;

function singleOutputPath(): string {
  const out = process.env.LABELPROF_OUT;
  if (out !== undefined && out !== '') {
    if (isMainThread) return path.resolve(out);
    const ext = out.endsWith('.pb.gz') ? '.pb.gz' : path.extname(out);
    return path.resolve(`${out.slice(0, out.length - ext.length)}${threadSuffix}${ext}`);
  }
  return path.resolve(`labelprof-${process.pid}${threadSuffix}.pb.gz`);
}

// --- one file per period -----------------------------------------------------

function periodFileName(profile: Profile): string {
  // 2026-11-28T21:30:01.123Z -> 20261128T213001.123Z: sorts by time.
  const stamp = profile.startTime.toISOString().replace(/[-:]/g, '');
  return `labelprof-${stamp}-${process.pid}${threadSuffix}.pb.gz`;
}

class PeriodWriter {
  readonly #dir = path.resolve(process.env.LABELPROF_OUT_DIR || '.');
  readonly #keep = numberFromEnv('LABELPROF_KEEP', 10, 1, 1_000_000, true);
  readonly #mine = new RegExp(`^labelprof-\\d{8}T\\d{6}\\.\\d{3}Z-${process.pid}${threadSuffix}\\.pb\\.gz$`);
  #writing: Promise<void> = Promise.resolve();
  exiting = false;

  onProfile(profile: Profile): void {
    const file = path.join(this.#dir, periodFileName(profile));
    if (this.exiting) {
      profile.writeSync(file);
      say(`wrote ${file}`);
      this.#prune();
      return;
    }
    // In order, one at a time; a failure is reported and the next period goes on.
    this.#writing = this.#writing
      .then(() => profile.write(file))
      .then(
        () => {
          say(`wrote ${file}`);
          this.#prune();
        },
        (err: Error) => warn(`could not write ${file}: ${err.message}`),
      );
  }

  // Keeps this process's newest files; other processes' files are theirs.
  #prune(): void {
    try {
      const mine = readdirSync(this.#dir).filter((f) => this.#mine.test(f)).sort();
      for (const f of mine.slice(0, Math.max(0, mine.length - this.#keep))) unlinkSync(path.join(this.#dir, f));
    } catch (err) {
      warn(`could not prune old profiles in ${this.#dir}: ${(err as Error).message}`);
    }
  }
}

// --- one profile of the whole run --------------------------------------------

// Periods are folded into one aggregated profile as they come, a slice at a
// time, so memory follows what the profile holds (distinct stacks and label
// sets), not how long the process ran.
class WholeRun {
  readonly #builder: PprofBuilder;
  readonly #intervalMicros: number;
  readonly #queue: PprofChunk[] = [];
  #folding: Generator<void, void, void> | undefined;
  #scheduled = false;
  #startNanos: number | undefined;
  #durationNanos = 0;

  constructor(intervalMicros: number) {
    this.#intervalMicros = intervalMicros;
    this.#builder = new PprofBuilder({ intervalMicros, mainBinary: mainBinaryPath() });
  }

  add(profile: Profile): void {
    this.#startNanos ??= profile.startNanos;
    this.#durationNanos += profile.durationNanos;
    this.#queue.push(...profile._chunks);
    this.#schedule();
  }

  #step(): boolean {
    if (this.#folding === undefined) {
      const chunk = this.#queue.shift();
      if (chunk === undefined) return false;
      this.#folding = this.#builder.addChunkInSlices(chunk, 4000);
    }
    if (this.#folding.next().done === true) this.#folding = undefined;
    return true;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#step()) this.#schedule();
    }).unref();
  }

  /** Folds what is left, synchronously, and returns the gzipped profile. */
  finishSync(): Buffer {
    while (this.#step());
    const time = { startNanos: this.#startNanos ?? Date.now() * 1e6, durationNanos: this.#durationNanos };
    if (process.env.LABELPROF_SOURCE_MAPS !== '1') return gzipSync(this.#builder.encode(time));
    const profile = this.#builder.build(time);
    mapProfileSourcesSync(profile);
    return gzipSync(profile.encode());
  }

  get intervalMicros(): number {
    return this.#intervalMicros;
  }
}

// --- wiring -------------------------------------------------------------------

let profiler: ContinuousProfiler | undefined;
let periods: PeriodWriter | undefined;
let wholeRun: WholeRun | undefined;

function finish(): void {
  if (profiler === undefined || !profiler.running) return;
  if (periods !== undefined) periods.exiting = true;
  let last: Profile;
  try {
    last = profiler.stopSync();
  } catch (err) {
    warn(`could not stop the profiler: ${(err as Error).message}`);
    return;
  }
  if (wholeRun !== undefined) {
    wholeRun.add(last);
    const file = singleOutputPath();
    try {
      writeFileAtomicSync(file, wholeRun.finishSync());
      say(`wrote ${file}`);
    } catch (err) {
      warn(`could not write the profile to ${file}: ${(err as Error).message}`);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  tryNative()?.ackExitSignal();
  // The application listens too: it decides whether and when to exit, and
  // the exit handler writes the profile then (writing here, then again at
  // exit, overwrote the first file with the rest of the run).
  if (process.listenerCount(signal) > 1) return;
  finish();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

// Our listeners make Node take SIGINT/SIGTERM on the event loop; a watchdog
// (native/exit-signals.h) ends the process as the signal would have if the
// loop does not take it within the grace period (a synchronous script), as
// long as we are the only listener. An application with its own listener
// decides for itself, as without labelprof.
const EXIT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
function listenForExitSignals(): void {
  const binding = tryNative();
  const grace = numberFromEnv('LABELPROF_SIGNAL_GRACE_MILLIS', 500, 10, 60_000, true);
  const watch = (signal: NodeJS.Signals, extra: number): void => {
    const onlyOurs = process.listeners(signal).includes(onSignal) && process.listenerCount(signal) + extra === 1;
    binding?.watchExitSignal(os.constants.signals[signal], onlyOurs);
  };
  for (const signal of EXIT_SIGNALS) {
    process.on(signal, onSignal);
    // After the listener, which installed libuv's handler for the signal.
    binding?.armExitSignal(os.constants.signals[signal], grace);
    watch(signal, 0);
  }
  process.on('newListener', (event: string | symbol) => {
    if (event === 'SIGINT' || event === 'SIGTERM') watch(event, 1);
  });
  process.on('removeListener', (event: string | symbol) => {
    if (event === 'SIGINT' || event === 'SIGTERM') watch(event, 0);
  });
}

function servePprof(address: string): void {
  const m = /^(.*):(\d+)$/.exec(address);
  if (m === null) {
    warn(`ignoring LABELPROF_PPROF_ADDR=${JSON.stringify(address)}: expected host:port, e.g. 127.0.0.1:6060`);
    return;
  }
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const server = http.createServer(pprofHandler());
  server.on('error', (err) => warn(`could not serve pprof on ${address}: ${err.message}`));
  server.listen(Number(m[2]), host, () => {
    const a = server.address();
    const shown = typeof a === 'object' && a !== null ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : address;
    say(`serving pprof at http://${shown}/debug/pprof/profile`);
  });
  // A script that is done must not stay alive for the endpoint's sake.
  server.unref();
}

function begin(): void {
  enableSpanLabelsFromEnv(warn);
  const options = optionsFromEnv();
  const hasPeriod = process.env.LABELPROF_PERIOD_SECONDS !== undefined && process.env.LABELPROF_PERIOD_SECONDS !== '';
  const periodSeconds = hasPeriod
    ? numberFromEnv('LABELPROF_PERIOD_SECONDS', 60, 1, 86400, false)
    : numberFromEnv('LABELPROF_CHUNK_SECONDS', 60, 0.1, 86400, false); // tests shorten the whole-run mode's internal periods
  if (hasPeriod) periods = new PeriodWriter();
  else wholeRun = new WholeRun(options.intervalMicros);
  try {
    profiler = startContinuous({
      intervalMicros: options.intervalMicros,
      maxSamples: options.maxSamples,
      nativeFrames: options.nativeFrames,
      sourceMaps: process.env.LABELPROF_SOURCE_MAPS === '1',
      periodSeconds,
      onProfile: (profile) => (periods !== undefined ? periods.onProfile(profile) : wholeRun!.add(profile)),
      onError: (err) => warn(`could not hand over a profile: ${(err as Error)?.message ?? String(err)}`),
    });
  } catch (err) {
    warn(`not profiling: ${(err as Error).message}`);
    return;
  }
  process.on('exit', finish);
  if (isMainThread) listenForExitSignals();
  const address = process.env.LABELPROF_PPROF_ADDR;
  if (address !== undefined && address !== '' && isMainThread) servePprof(address);
}

const profileThisThread = isMainThread || process.env.LABELPROF_WORKERS === '1';
if (require.main !== module && profileThisThread) begin();
