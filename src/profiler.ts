// start() / stop() / stats(): the profiling lifecycle and its errors. One
// profiler at a time per thread: a Profiler (one profile, start to stop) or a
// ContinuousProfiler (continuous.ts: one profile per period).
import { chooseSource, labelSlotBuffer, labelSourceInfo, setSampling } from './label-context';
import { batchAssembled, beginBatch, labelStats, type LabelSetStats } from './label-sets';
import { native, type NativeStats } from './native';
import { resolveOptions, type ResolvedOptions, type StartOptions } from './options';
import { otherCpuProfiler, watchForOtherProfilers } from './other-profilers';
import type { DeferredChunk } from './native-symbols';
import { chunkOfRawDeferred, Profile } from './profile';

export interface ProfilerStats extends NativeStats, LabelSetStats {
  /** Where the handler reads labels: the AsyncContextFrame (Node 24+) or the hook-driven slot. */
  labelSource: 'context-frame' | 'slot' | 'undecided';
  /** Why the AsyncContextFrame could not be used, when it could not. */
  contextFrameUnavailable?: string;
  /** With native frames, why GC samples do not get the JavaScript stack that triggered their GC. */
  gcStacksOff?: string;
}

/** What owns this thread's sampling: a Profiler or a ContinuousProfiler. */
interface SamplingOwner {
  readonly nativeFrames: boolean;
}
let owner: SamplingOwner | undefined;
// Why the running owner's GC stacks are off (other-profilers.ts), if they are.
let gcStacksOff: string | undefined;

/**
 * @internal Starts sampling for `who`; returns the number of the first batch
 * of samples. Throws if something already samples this thread.
 */
export function beginSampling(who: SamplingOwner, resolved: ResolvedOptions): number {
  if (owner !== undefined) {
    throw new Error('labelprof: a profiler is already running on this thread: call stop() on it first');
  }
  const binding = native();
  const source = chooseSource(); // before sampling: the probe runs JavaScript
  if (resolved.nativeFrames) refreshUnwindTablesOnDlopen();
  // GC stacks disturb other CPU profilers on the isolate (other-profilers.ts).
  const automatic = resolved.nativeFrames && resolved.gcStacks === undefined;
  gcStacksOff = resolved.gcStacks === false ? 'start({ gcStacks: false })' : automatic ? otherCpuProfiler() : undefined;
  binding.setGcStacks(gcStacksOff === undefined);
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
  owner = who;
  // Automatic GC stacks go off as soon as an inspector Session profiles.
  if (automatic && gcStacksOff === undefined) {
    watchForOtherProfilers((why) => {
      gcStacksOff = why;
    });
  }
  return batch;
}

/** @internal `who` stops sampling: its last batch of samples is batch `lastBatch`. */
export function endSampling(who: SamplingOwner): void {
  if (owner === who) owner = undefined;
  setSampling(false);
  watchForOtherProfilers(undefined);
}

/**
 * @internal Counters of the running profile, with the label sets'. `gcOff`:
 * why GC stacks were off, as noted when sampling stopped.
 */
export function liveStats(final: NativeStats | undefined, gcOff: string | undefined = gcStacksOff): ProfilerStats {
  const stats = final ?? native().stats();
  const gc = stats.nativeFrames && gcOff !== undefined ? { gcStacksOff: gcOff } : {};
  return { ...stats, ...labelStats(), ...labelSourceInfo(), ...gc };
}


export class Profiler {
  readonly #options: ResolvedOptions;
  #stopped = false;
  #finalStats: NativeStats | undefined;
  #gcStacksOff: string | undefined;
  #batch = 0;

  /** @internal use start() */
  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /** @internal */
  _begin(): void {
    this.#batch = beginSampling(this, this.#options);
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

  /**
   * Stops sampling and hands back the profile. Sampling stops now; the
   * native frames are symbolized on a thread of the addon's meanwhile.
   */
  async stop(): Promise<Profile> {
    const deferred = this.#stopSampling();
    return new Profile([await deferred.ready], this.#options.intervalMicros, [], this.#options.sourceMaps);
  }

  /** Same as stop(), synchronously: for exit and signal handlers. */
  stopSync(): Profile {
    return new Profile([this.#stopSampling().finishSync()], this.#options.intervalMicros, [], this.#options.sourceMaps);
  }

  #stopSampling(): DeferredChunk {
    if (this.#stopped) {
      throw new Error('labelprof: this profiler was already stopped: call start() for a new profile');
    }
    this.#stopped = true;
    this.#gcStacksOff = gcStacksOff;
    let raw;
    try {
      raw = native().stop();
    } finally {
      endSampling(this);
    }
    this.#finalStats = raw.stats;
    const deferred = chunkOfRawDeferred(raw);
    batchAssembled(this.#batch);
    return deferred;
  }

  /** Samples taken, matched, dropped, and what the handler cost; live while running, final after stop. */
  stats(): ProfilerStats {
    return this.#stopped ? liveStats(this.#finalStats, this.#gcStacksOff) : liveStats(undefined);
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
    if (owner !== undefined && owner.nativeFrames) native().refreshUnwindTables();
    return result;
  } as typeof process.dlopen;
}

/** Starts profiling this thread. One profiler at a time per thread. */
export function start(options?: StartOptions): Profiler {
  const resolved = resolveOptions(options);
  if (owner !== undefined) {
    throw new Error('labelprof: a profiler is already running on this thread: call stop() on it first');
  }
  const profiler = new Profiler(resolved);
  profiler._begin();
  return profiler;
}

/** Whether a labelprof profiler is running on this thread. */
export function isProfiling(): boolean {
  return owner !== undefined;
}

/** @internal What samples this thread now, if anything. */
export function samplingOwner(): SamplingOwner | undefined {
  return owner;
}
