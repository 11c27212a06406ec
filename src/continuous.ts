// Continuous profiling: sample until stopped and hand over one Profile per
// period (60 s by default, as Go's and Datadog's profilers do), back to back.
//
// How periods abut: at a boundary the addon starts V8's next profile while
// the current one still runs, then, with SIGPROF blocked, moves the
// handler's records aside and notes the time (native/profiler.cc, JS_cut).
// Every record before that instant belongs to the ending period, every
// later one to the next, and V8 stamps each tick inside the same signal, so
// its samples split at the same instant. V8 adds ticks to its profiles from
// its own thread, a little after the signal, so the ending profile is
// collected a few milliseconds later (COLLECT_DELAY). Sampling never pauses.
//
// The same cuts serve the pprof endpoint: a request for N seconds cuts where
// it begins and where it ends, and gets the chunks in between, while the
// periods go on (a period is then made of several chunks).
import { invalidType, invalidValue, isPlainObject } from './errors';
import { batchAssembled, beginBatch } from './label-sets';
import { native, type RawProfile } from './native';
import { resolveOptions, type ResolvedOptions, type StartOptions } from './options';
import type { PprofChunk } from './pprof';
import { chunksReady, finishChunksSync, whenChunksReady } from './native-symbols';
import { chunkOfRawDeferred, Profile } from './profile';
import { beginSampling, endSampling, liveStats, type ProfilerStats } from './profiler';

export interface ContinuousOptions extends StartOptions {
  /** Length of each period in seconds; default 60. From 0.1 to 86400. */
  periodSeconds?: number;
  /**
   * Called with each period's profile, in order, as soon as it is assembled,
   * and with the last, partial period when stop() is called. May return a
   * promise. If it throws or rejects, the error goes to onError and
   * profiling goes on.
   */
  onProfile?: (profile: Profile) => unknown;
  /** Called with what onProfile threw or rejected with; default: a process warning. */
  onError?: (error: unknown) => void;
}

export const DEFAULT_PERIOD_SECONDS = 60;
const MIN_PERIOD_SECONDS = 0.1;
const MAX_PERIOD_SECONDS = 86400;
const CONTINUOUS_KEYS = new Set(['periodSeconds', 'onProfile', 'onError']);

// How long after a cut the ending period is collected: V8's sampler thread
// adds each tick to the profiles within a few hundred microseconds; three
// intervals leave room for a loaded machine.
function collectDelayMillis(intervalMicros: number): number {
  return Math.max(20, Math.ceil((3 * intervalMicros) / 1000));
}

interface Window {
  chunks: PprofChunk[];
  resolve: (profile: Profile) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  open: boolean;
  onAbort: (() => void) | undefined;
  signal: AbortSignal | undefined;
}

// What to do once a cut's chunk is collected.
type AfterCut = (chunk: PprofChunk) => void;

export class ContinuousProfiler {
  readonly #options: ResolvedOptions;
  readonly #periodMillis: number;
  readonly #onProfile: ((profile: Profile) => unknown) | undefined;
  readonly #onError: (error: unknown) => void;
  #batch = 0;
  #stopped = false;
  #periodChunks: PprofChunk[] = [];
  // Periods assembled whose native frames are still being symbolized, in order.
  #undelivered: Profile[] = [];
  #periodStartMillis = 0;
  #periodTimer: NodeJS.Timeout | undefined;
  #periodCutAsked = false; // a period boundary waits for its cut
  #collectTimer: NodeJS.Timeout | undefined;
  // The cut whose chunk waits to be collected, and cuts asked for meanwhile.
  #pending: { afterCut: AfterCut[] } | undefined;
  #queued: AfterCut[] | undefined;
  readonly #windows = new Set<Window>();
  #periodsDelivered = 0;
  #consumerErrors = 0;
  #finalStats: ProfilerStats | undefined;

  /** @internal use startContinuous() */
  constructor(options: ResolvedOptions, periodSeconds: number, onProfile: ContinuousOptions['onProfile'], onError: ContinuousOptions['onError']) {
    this.#options = options;
    this.#periodMillis = periodSeconds * 1000;
    this.#onProfile = onProfile;
    this.#onError =
      onError ??
      ((err) =>
        process.emitWarning(`labelprof: the onProfile callback failed: ${(err as Error)?.stack ?? String(err)}`, {
          code: 'LABELPROF_CONSUMER_ERROR',
        }));
  }

  /** @internal */
  _begin(): void {
    this.#batch = beginSampling(this, this.#options);
    this.#periodStartMillis = Date.now();
    this.#schedulePeriodEnd();
  }

  get intervalMicros(): number {
    return this.#options.intervalMicros;
  }

  get nativeFrames(): boolean {
    return this.#options.nativeFrames;
  }

  get periodSeconds(): number {
    return this.#periodMillis / 1000;
  }

  /** Whether this profiler is still sampling. */
  get running(): boolean {
    return !this.#stopped;
  }

  /** Counters of the running period (or the last one after stop), with periods handed over and consumer errors. */
  stats(): ProfilerStats & { periods: number; consumerErrors: number } {
    return { ...(this.#finalStats ?? liveStats(undefined)), periods: this.#periodsDelivered, consumerErrors: this.#consumerErrors };
  }

  /**
   * A profile of the next `seconds` seconds, taken from the running
   * sampler (the periods go on). Rejects if the signal aborts; resolves with
   * what was collected if the profiler stops first.
   */
  profile(seconds: number, options?: { signal?: AbortSignal }): Promise<Profile> {
    if (typeof seconds !== 'number' || Number.isNaN(seconds)) throw invalidType('seconds', 'a number of seconds', seconds);
    if (!(seconds > 0 && seconds <= 3600)) throw invalidValue('seconds', 'a number of seconds above 0 and at most 3600', seconds);
    const signal = options?.signal;
    if (this.#stopped) return Promise.reject(new Error('labelprof: this profiler was stopped: start a new one'));
    return new Promise<Profile>((resolve, reject) => {
      const window: Window = { chunks: [], resolve, reject, timer: undefined, open: false, onAbort: undefined, signal };
      if (signal?.aborted) {
        reject(new Error('labelprof: the profile request was aborted'));
        return;
      }
      if (signal !== undefined) {
        window.onAbort = () => this.#closeWindow(window, new Error('labelprof: the profile request was aborted'));
        signal.addEventListener('abort', window.onAbort, { once: true });
      }
      this.#windows.add(window);
      this.#cut(() => {
        if (!this.#windows.has(window)) return;
        window.open = true;
        window.timer = setTimeout(() => {
          window.timer = undefined;
          this.#cut((last) => {
            if (!this.#windows.has(window)) return;
            window.chunks.push(last);
            this.#closeWindow(window);
          });
        }, seconds * 1000);
        // Somebody awaits this window: it keeps the process alive, as any
        // pending timer would.
      });
    });
  }

  /**
   * Stops sampling; hands the last, partial period to onProfile and returns
   * it. Sampling stops now; the native frames are symbolized on a thread
   * of the addon's meanwhile.
   */
  async stop(): Promise<Profile> {
    const profile = this.#stopSampling(false);
    // Every period still waiting for its native frames, this one last: each
    // is handed to onProfile, in order, before stop() resolves.
    await whenChunksReady(this.#undelivered.flatMap((p) => p._chunks));
    this.#flushDeliveries();
    return profile;
  }

  /** Same as stop(), synchronously: for exit and signal handlers (onProfile is still called). */
  stopSync(): Profile {
    return this.#stopSampling(true);
  }

  // `sync`: every chunk's native frames are finished on this thread before
  // windows close and periods are handed over (nothing left running for an
  // exit handler).
  #stopSampling(sync: boolean): Profile {
    if (this.#stopped) {
      throw new Error('labelprof: this continuous profiler was already stopped: call startContinuous() for a new one');
    }
    this.#stopped = true;
    clearTimeout(this.#periodTimer);
    clearTimeout(this.#collectTimer);
    if (this.#pending !== undefined) this.#collectNow();
    this.#queued = undefined;
    let raw: RawProfile;
    try {
      raw = native().stop();
    } finally {
      endSampling(this);
    }
    const deferred = chunkOfRawDeferred(raw);
    const chunk = deferred.chunk;
    if (sync) {
      deferred.finishSync();
      finishChunksSync(this.#periodChunks);
      for (const undelivered of this.#undelivered) finishChunksSync(undelivered._chunks);
    }
    batchAssembled(this.#batch);
    this.#finalStats = liveStats(raw.stats);
    this.#distribute(chunk);
    for (const window of [...this.#windows]) this.#closeWindow(window);
    return this.#deliverPeriod()!; // holds at least the chunk stop() just took
  }

  #schedulePeriodEnd(): void {
    const now = Date.now();
    // An event loop blocked for longer than a period: the boundaries it
    // missed are not made up for (that would cut empty periods); the next
    // period starts now.
    if (this.#periodStartMillis + this.#periodMillis < now - this.#periodMillis) this.#periodStartMillis = now - this.#periodMillis;
    const due = this.#periodStartMillis + this.#periodMillis - now;
    this.#periodTimer = setTimeout(() => {
      this.#periodTimer = undefined;
      if (!this.#periodCutAsked) {
        this.#periodCutAsked = true;
        this.#cut(() => {
          this.#periodCutAsked = false;
          this.#deliverPeriod();
        });
      }
      this.#periodStartMillis += this.#periodMillis;
      this.#schedulePeriodEnd();
    }, Math.max(0, due));
    this.#periodTimer.unref();
  }

  // Asks for a cut; `afterCut` runs once the chunk it ends is collected (and
  // given to the period and the open windows).
  #cut(afterCut: AfterCut): void {
    if (this.#stopped) return;
    if (this.#pending !== undefined) {
      (this.#queued ??= []).push(afterCut);
      return;
    }
    try {
      native().cut();
    } catch (err) {
      // The period goes on; what waited for this cut waits for the next one.
      this.#consumerFailed(err);
      (this.#queued ??= []).push(afterCut);
      return;
    }
    this.#batch = beginBatch();
    this.#pending = { afterCut: [afterCut] };
    this.#collectTimer = setTimeout(() => {
      this.#collectTimer = undefined;
      this.#collectNow();
      const queued = this.#queued;
      this.#queued = undefined;
      if (queued !== undefined && !this.#stopped) {
        this.#cut(queued[0]!);
        for (const more of queued.slice(1)) this.#pending!.afterCut.push(more);
      }
    }, collectDelayMillis(this.#options.intervalMicros));
    // Not unref'd: a few milliseconds at most, and a window may wait on it.
  }

  #collectNow(): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    const raw = native().collect();
    const deferred = chunkOfRawDeferred(raw);
    const chunk = deferred.chunk;
    void deferred.ready.then(() => this.#flushDeliveries());
    batchAssembled(this.#batch - 1);
    this.#distribute(chunk);
    for (const after of pending.afterCut) after(chunk);
  }

  #distribute(chunk: PprofChunk): void {
    this.#periodChunks.push(chunk);
    for (const window of this.#windows) if (window.open) window.chunks.push(chunk);
  }

  #closeWindow(window: Window, error?: Error): void {
    if (!this.#windows.delete(window)) return;
    clearTimeout(window.timer);
    if (window.onAbort !== undefined) window.signal?.removeEventListener('abort', window.onAbort);
    if (error !== undefined) window.reject(error);
    else if (window.chunks.length === 0) window.reject(new Error('labelprof: the profiler stopped before the profile began'));
    else {
      const chunks = window.chunks;
      void whenChunksReady(chunks).then(() => window.resolve(new Profile(chunks, this.#options.intervalMicros, [], this.#options.sourceMaps)));
    }
  }

  // The period's profile (none if it holds no chunk), handed to onProfile
  // once its native frames are symbolized (periods in order).
  #deliverPeriod(): Profile | undefined {
    if (this.#periodChunks.length === 0) return undefined;
    const profile = new Profile(this.#periodChunks, this.#options.intervalMicros, [], this.#options.sourceMaps);
    this.#periodChunks = [];
    this.#undelivered.push(profile);
    this.#flushDeliveries();
    return profile;
  }

  #flushDeliveries(): void {
    while (this.#undelivered.length > 0 && chunksReady(this.#undelivered[0]!._chunks)) {
      this.#handOver(this.#undelivered.shift()!);
    }
  }

  #handOver(profile: Profile): void {
    this.#periodsDelivered++;
    if (this.#onProfile !== undefined) {
      try {
        const result = this.#onProfile(profile);
        if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
          (result as Promise<unknown>).then(undefined, (err) => this.#consumerFailed(err));
        }
      } catch (err) {
        this.#consumerFailed(err);
      }
    }
  }

  #consumerFailed(err: unknown): void {
    this.#consumerErrors++;
    try {
      this.#onError(err);
    } catch {
      // An onError that throws must not stop profiling either.
    }
  }
}

/**
 * Profiles this thread until stopped, handing over one Profile per period
 * to `onProfile`. One profiler at a time per thread.
 */
export function startContinuous(options?: ContinuousOptions): ContinuousProfiler {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw invalidType('options', 'an object', options);
  const startOptions: Record<string, unknown> = {};
  for (const key of Object.keys(options)) if (!CONTINUOUS_KEYS.has(key)) startOptions[key] = (options as Record<string, unknown>)[key];
  const { periodSeconds = DEFAULT_PERIOD_SECONDS, onProfile, onError } = options as ContinuousOptions;
  if (typeof periodSeconds !== 'number' || Number.isNaN(periodSeconds)) {
    throw invalidType('periodSeconds', `a number of seconds from ${MIN_PERIOD_SECONDS} to ${MAX_PERIOD_SECONDS}`, periodSeconds);
  }
  if (!(periodSeconds >= MIN_PERIOD_SECONDS && periodSeconds <= MAX_PERIOD_SECONDS)) {
    throw invalidValue('periodSeconds', `a number of seconds from ${MIN_PERIOD_SECONDS} to ${MAX_PERIOD_SECONDS}`, periodSeconds);
  }
  if (onProfile !== undefined && typeof onProfile !== 'function') throw invalidType('onProfile', 'a function', onProfile);
  if (onError !== undefined && typeof onError !== 'function') throw invalidType('onError', 'a function', onError);
  const resolved = resolveOptions(startOptions);
  const profiler = new ContinuousProfiler(resolved, periodSeconds, onProfile, onError);
  profiler._begin();
  return profiler;
}
