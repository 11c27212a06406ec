// start() / stop() / stats(): the profiling lifecycle and its errors.
import { promises as fsp, realpathSync, writeFileSync } from 'node:fs';
import { gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import type { Profile as PprofProfile } from 'pprof-format';

import { checkString } from './errors';
import { chooseSource, labelSlotBuffer, labelSourceInfo, setSampling } from './label-context';
import { batchAssembled, beginBatch, labelsOfId, labelStats, type Labels } from './label-sets';
import { native, type NativeStats, type RawProfile } from './native';
import { resolveOptions, type ResolvedOptions, type StartOptions } from './options';
import { nativeFramesOfSamples, type NativeStackPart } from './native-frames';
import { toPprof } from './pprof';
import { Symbolizer } from './symbolizer';

const gzipAsync = promisify(gzip);

export interface ProfilerStats extends NativeStats {
  /** Distinct label sets interned so far on this thread. */
  labelSets: number;
  /** Label sets past MAX_LABEL_SETS (their samples carry labelprof_overflow). */
  labelSetsOverflowed: number;
  /** Where the handler reads labels: the AsyncContextFrame (Node 24+) or the hook-driven slot. */
  labelSource: 'context-frame' | 'slot' | 'undecided';
  /** Why the AsyncContextFrame could not be used, when it could not. */
  contextFrameUnavailable?: string;
}

let mainBinary: string | undefined;
function mainBinaryPath(): string {
  if (mainBinary === undefined) {
    try {
      mainBinary = realpathSync(process.execPath);
    } catch {
      mainBinary = process.execPath;
    }
  }
  return mainBinary;
}

// One per thread, kept across profiles: it caches each module's symbol table.
let symbolizer: Symbolizer | undefined;

// Native walks -> the frames to merge under each sample's JavaScript stack.
// Runs at stop(), while the modules and JIT code the walks saw are still
// mapped as they were.
function symbolizeNativeFrames(raw: RawProfile): NativeStackPart[] | undefined {
  if (raw.pcs === undefined || raw.samplePcsStart === undefined || raw.samplePcsCount === undefined) {
    return undefined;
  }
  symbolizer ??= new Symbolizer((names) => native().demangle(names));
  const walks: bigint[][] = [];
  for (let i = 0; i < raw.sampleNode.length; i++) {
    const start = raw.samplePcsStart[i]!;
    const walk: bigint[] = [];
    for (let k = 0; k < raw.samplePcsCount[i]!; k++) walk.push(BigInt(raw.pcs[start + k]!));
    walks.push(walk);
  }
  return nativeFramesOfSamples(walks, symbolizer);
}

/** A stopped profile. Encode it to gzipped pprof, or write it to a file. */
export class Profile {
  readonly #raw: RawProfile;
  readonly #options: ResolvedOptions;
  readonly #native: NativeStackPart[] | undefined;
  // Label-set ids are reused once their sets are gone: resolved now.
  readonly #labels = new Map<number, Labels>();
  #pprof: PprofProfile | undefined;

  /** @internal */
  constructor(raw: RawProfile, options: ResolvedOptions) {
    this.#raw = raw;
    this.#options = options;
    this.#native = symbolizeNativeFrames(raw);
    for (const id of raw.sampleLabelSet) if (!this.#labels.has(id)) this.#labels.set(id, labelsOfId(id));
  }

  /** Number of samples (V8's, after dropping the one taken before our handler). */
  get sampleCount(): number {
    return this.#raw.sampleNode.length;
  }

  /** Wall-clock start, milliseconds since the epoch. */
  get startTime(): Date {
    return new Date(this.#raw.startNanos / 1e6);
  }

  get durationNanos(): number {
    return this.#raw.durationNanos;
  }

  /** Counters of the profiling run that produced this profile. */
  get stats(): NativeStats {
    return { ...this.#raw.stats };
  }

  /** The pprof-format Profile object (uncompressed, not encoded). */
  toPprof(): PprofProfile {
    if (this.#pprof === undefined) {
      this.#pprof = toPprof({
        raw: this.#raw,
        intervalMicros: this.#options.intervalMicros,
        labelsOf: (id) => this.#labels.get(id) ?? {},
        unlabelledOutsideJs: this.#raw.stats.labelSource === 'slot',
        native: this.#native,
        mainBinary: mainBinaryPath(),
      });
    }
    return this.#pprof;
  }

  /** Gzipped pprof bytes, as `go tool pprof` and Pyroscope read them. */
  async encode(): Promise<Buffer> {
    return gzipAsync(this.toPprof().encode());
  }

  /** Same as encode(), synchronously: for exit handlers, where nothing async runs. */
  encodeSync(): Buffer {
    return gzipSync(this.toPprof().encode());
  }

  /** Writes the gzipped pprof to `path`. */
  async write(path: string): Promise<void> {
    checkString('path', path);
    await fsp.writeFile(path, await this.encode());
  }

  /** Same as write(), synchronously: for exit handlers. */
  writeSync(path: string): void {
    checkString('path', path);
    writeFileSync(path, this.encodeSync());
  }
}

/** The thread's running profiler, if any: one at a time per thread. */
let running: Profiler | undefined;

export class Profiler {
  readonly #options: ResolvedOptions;
  #stopped = false;
  #finalStats: NativeStats | undefined;
  readonly #batch: number;

  /** @internal use start() */
  constructor(options: ResolvedOptions, batch: number) {
    this.#options = options;
    this.#batch = batch;
  }

  get intervalMicros(): number {
    return this.#options.intervalMicros;
  }

  /** Whether samples get native frames. */
  get nativeFrames(): boolean {
    return this.#options.nativeFrames;
  }

  /** Whether this profiler is still sampling. */
  get running(): boolean {
    return !this.#stopped;
  }

  /** Stops sampling and hands back the profile. */
  stop(): Promise<Profile> {
    try {
      return Promise.resolve(this.stopSync());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Same as stop(), synchronously: for exit and signal handlers. */
  stopSync(): Profile {
    if (this.#stopped) {
      throw new Error('labelprof: this profiler was already stopped: call start() for a new profile');
    }
    this.#stopped = true;
    if (running === this) running = undefined;
    let raw;
    try {
      raw = native().stop();
    } finally {
      setSampling(false);
    }
    this.#finalStats = raw.stats;
    const profile = new Profile(raw, this.#options);
    batchAssembled(this.#batch);
    return profile;
  }

  /** Samples taken, matched, dropped, and what the handler cost; live while running, final after stop. */
  stats(): ProfilerStats {
    return { ...(this.#finalStats ?? native().stats()), ...labelStats(), ...labelSourceInfo() };
  }
}

// A native module loaded while profiling (process.dlopen is how require
// loads .node files) gets its CFI compiled for the walk; without it the walk
// would stop at the module's frames. Installed once, on first use.
let dlopenWrapped = false;
function refreshUnwindTablesOnDlopen(): void {
  if (dlopenWrapped) return;
  dlopenWrapped = true;
  const original = process.dlopen;
  process.dlopen = function dlopen(this: unknown, ...args: Parameters<typeof process.dlopen>) {
    const result = original.apply(this, args);
    if (running !== undefined && running.nativeFrames) native().refreshUnwindTables();
    return result;
  } as typeof process.dlopen;
}

/** Starts profiling this thread. One profiler at a time per thread. */
export function start(options?: StartOptions): Profiler {
  const resolved = resolveOptions(options);
  if (running !== undefined) {
    throw new Error('labelprof: a profiler is already running on this thread: call stop() on it first');
  }
  const binding = native();
  const source = chooseSource(); // before sampling: the probe runs JavaScript
  if (resolved.nativeFrames) refreshUnwindTablesOnDlopen();
  setSampling(true); // the slot is current before the first signal
  const batch = beginBatch();
  try {
    binding.start(
      labelSlotBuffer,
      resolved.intervalMicros,
      resolved.maxSamples,
      source === 'context-frame',
      resolved.nativeFrames,
    );
  } catch (err) {
    setSampling(false);
    batchAssembled(batch);
    throw err;
  }
  running = new Profiler(resolved, batch);
  return running;
}

/** Whether a labelprof profiler is running on this thread. */
export function isProfiling(): boolean {
  return running !== undefined;
}
