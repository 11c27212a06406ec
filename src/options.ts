// start() options: defaults and validation, each error naming its option.
import { checkBoolean, checkInteger, invalidType, isPlainObject } from './errors';

export interface StartOptions {
  /** Sampling interval in microseconds; default 10101 (about 99 Hz, off the beat of 100 Hz timers). */
  intervalMicros?: number;
  /**
   * Samples kept per profile. The handler's buffer is allocated at start();
   * past it, samples are dropped and counted in stats().dropped.
   * Default: enough for 10 minutes at the interval, at least 4096.
   */
  maxSamples?: number;
  /**
   * Walk the native stack in the signal handler and merge the native frames
   * under the JavaScript ones (what runs in C++, libc, zlib, OpenSSL, the GC).
   * Default true.
   */
  nativeFrames?: boolean;
  /**
   * Map JavaScript frames to the sources people wrote (TypeScript, pre-bundle
   * files) through the source maps named by each file's sourceMappingURL.
   * Default false.
   */
  sourceMaps?: boolean;
  /**
   * With native frames: put samples taken during garbage collection under
   * the JavaScript stack that triggered the GC. V8's only way to get that
   * stack (CpuProfiler::CollectSample at each GC start) also adds a sample to
   * every other CPU profiler on the isolate, out of time order. Default: on,
   * unless labelprof sees another CPU profiler (--cpu-prof, an open inspector,
   * an inspector Session's Profiler.start); `true` keeps it on regardless.
   */
  gcStacks?: boolean;
}

export interface ResolvedOptions {
  intervalMicros: number;
  maxSamples: number;
  nativeFrames: boolean;
  sourceMaps: boolean;
  /** undefined: automatic (on unless another CPU profiler is seen). */
  gcStacks: boolean | undefined;
}

export const DEFAULT_INTERVAL_MICROS = 10101;
export const MIN_INTERVAL_MICROS = 100;
export const MAX_INTERVAL_MICROS = 1_000_000;
export const MAX_SAMPLES_LIMIT = 10_000_000;
const KNOWN = new Set(['intervalMicros', 'maxSamples', 'nativeFrames', 'sourceMaps', 'gcStacks']);
export const DEFAULT_NATIVE_FRAMES = true;

export function resolveOptions(options: unknown): ResolvedOptions {
  // 1. validate the shape
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw invalidType('options', 'an object', options);
  // A symbol key would be silently ignored: name it instead.
  const symbol = Object.getOwnPropertySymbols(options)[0];
  if (symbol !== undefined) {
    throw new TypeError(
      `Unknown option ${String(symbol)} for start(); options are string keys: ${[...KNOWN].join(', ')}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new TypeError(
        `Unknown option ${JSON.stringify(key)} for start(); known options: ${[...KNOWN].join(', ')}`,
      );
    }
  }
  // 2. interpret, with defaults
  const intervalMicros =
    options.intervalMicros === undefined
      ? DEFAULT_INTERVAL_MICROS
      : checkInteger('intervalMicros', options.intervalMicros, MIN_INTERVAL_MICROS, MAX_INTERVAL_MICROS);
  const maxSamples =
    options.maxSamples === undefined
      ? Math.max(4096, Math.ceil((600 * 1_000_000) / intervalMicros))
      : checkInteger('maxSamples', options.maxSamples, 1, MAX_SAMPLES_LIMIT);
  const nativeFrames =
    options.nativeFrames === undefined ? DEFAULT_NATIVE_FRAMES : checkBoolean('nativeFrames', options.nativeFrames);
  const sourceMaps = options.sourceMaps === undefined ? false : checkBoolean('sourceMaps', options.sourceMaps);
  const gcStacks = options.gcStacks === undefined ? undefined : checkBoolean('gcStacks', options.gcStacks);
  // 3. the interpreted options are within range by construction
  return { intervalMicros, maxSamples, nativeFrames, sourceMaps, gcStacks };
}
