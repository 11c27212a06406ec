// The only place the compiled addon is loaded. Everything else talks to it
// through the NativeBinding interface.
import * as path from 'node:path';

import { PREBUILT_NODE_MAJORS, currentPlatform, unsupportedReason } from '../scripts/platform';

export interface NativeStats {
  /** SIGPROFs our handler took on this thread. */
  signals: number;
  /** Of those, written to the preallocated buffer. */
  recorded: number;
  /** Of those, lost because the buffer was full (see maxSamples). */
  dropped: number;
  /** Samples in V8's profile, all of them. */
  v8Samples: number;
  /**
   * V8 samples paired with a handler record: the samples of the profile.
   * Every V8 sample is counted once: v8Samples = matched + unmatched +
   * beforeInstall + afterStop (+ gcStartSamples with native frames).
   */
  matched: number;
  /** V8 samples no SIGPROF produced (V8 adds one per deoptimization, and one per CollectSample call on the isolate): left out. */
  unmatched: number;
  /** V8 samples dropped for being taken before our handler was installed / after stop() began. */
  beforeInstall: number;
  afterStop: number;
  /** Handler records no V8 sample was paired with (another CPU profiler's SIGPROF, a tick V8 dropped). */
  unmatchedRecords: number;
  /**
   * Of unmatchedRecords, signals that arrived while the previous one was
   * being handled: V8's sampler, running late on a loaded machine, sent two
   * and V8 took one sample for both.
   */
  unmatchedRecordsBackToBack: number;
  /**
   * Of unmatchedRecords, signals recorded after stop() began: V8 had stopped
   * sampling, so none can be in the profile.
   */
  unmatchedRecordsAfterStop: number;
  handlerMedianNanos: number;
  handlerMaxNanos: number;
  handlerTotalNanos: number;
  /**
   * Someone replaced labelprof's SIGPROF handler while it ran and signals no
   * longer reached it: the rest of the profile is missing.
   */
  displaced: boolean;
  /** When displaced: the last signal the handler took (wall clock, nanoseconds since the Unix epoch). */
  displacedAtNanos?: number;
  /** Where the handler read labels. */
  labelSource: string;
  /**
   * The thread CPU clock of the samples' CPU time: "task-clock" (a perf
   * task-clock event on the thread, read without a system call) or
   * "thread-cputime" (clock_gettime(CLOCK_THREAD_CPUTIME_ID), a system call
   * per sample).
   */
  cpuClock: string;
  /** Recorded signals whose CPU time took a system call. */
  cpuClockSyscalls: number;
  /** Why the perf task clock could not be used (perf_event_open refused, ...). */
  cpuClockUnavailable?: string;
  /** Whether the handler walked native stacks; the walk counters below come with it. */
  nativeFrames: boolean;
  /** Walks that reached the outermost frame (main / thread start). */
  walksComplete?: number;
  walksTruncated?: number;
  walksBadFrame?: number;
  /** Samples whose native frames found the preallocated arena full. */
  walksNoRoom?: number;
  /** GCs seen while profiling, and GC samples put under the JavaScript stack that triggered their GC. */
  gcs?: number;
  gcSamplesAttributed?: number;
  /** V8 samples taken at a GC start (the stacks GC samples go under): not ticks, not in the profile. */
  gcStartSamples?: number;
  /** Whether GC starts asked V8 for the JavaScript stack (start option gcStacks). */
  gcStacks?: boolean;
  /**
   * Of unmatchedRecords, ticks V8 declined to sample because they interrupted
   * a frame setup or teardown in generated code (seen by the native walk).
   */
  unmatchedRecordsFrameSetup?: number;
  /** Why the DWARF CFI table could not be built (walks then use frame pointers). */
  unwindTableError?: string;
}

/** A stopped profile as the addon hands it over: flat arrays, no per-sample objects. */
export interface RawProfile {
  /** Wall-clock start, nanoseconds since the Unix epoch. */
  startNanos: number;
  durationNanos: number;
  /** V8's call tree; node 0 is "(root)". */
  nodeParent: Int32Array;
  /** Line in the parent's function of the call that entered the node. */
  nodeLine: Int32Array;
  /** Line of the node's own function that most samples hit as leaf. */
  nodeHitLine: Int32Array;
  nodeColumn: Int32Array;
  nodeScriptId: Int32Array;
  nodeName: string[];
  nodeUrl: string[];
  /** Per sample: leaf node, label-set id, CPU and wall nanoseconds. */
  sampleNode: Int32Array;
  sampleLabelSet: Int32Array;
  sampleCpuNanos: Float64Array;
  sampleWallNanos: Float64Array;
  /** With native frames: the node of the JavaScript stack that triggered the GC a "(garbage collector)" sample fell in, or -1. */
  sampleGcParent?: Int32Array;
  /** With native frames: sample i's walk is pcs[samplePcsStart[i] .. + samplePcsCount[i]], leaf first. */
  samplePcsStart?: Uint32Array;
  samplePcsCount?: Uint32Array;
  pcs?: Float64Array;
  stats: NativeStats;
}

/** Per address given to symbolize(): indices into the lists (-1: none), flags, where it falls in its mapping. */
export interface SymbolizedAddresses {
  /** Module paths ('' for anonymous memory) and their build ids, in pairs. */
  modules: string[];
  buildIds: string[];
  /** Function names, demangled. */
  names: string[];
  module: Int32Array;
  name: Int32Array;
  /** 1: JIT (anonymous executable memory or no mapping), 2: a JS entry builtin, 4: a V8 builtin. */
  flags: Uint8Array;
  fileOffset: Float64Array;
  mappingStart: Float64Array;
  mappingLimit: Float64Array;
}

export interface NativeBinding {
  start(
    labelSlot: ArrayBuffer,
    intervalMicros: number,
    maxSamples: number,
    useContextFrame: boolean,
    nativeFrames: boolean,
  ): void;
  /** With native frames: whether each GC start asks V8 for the JavaScript stack (CollectSample). */
  setGcStacks(enabled: boolean): void;
  /** After a native module loaded: compile its CFI for the walk. Null, or why not. */
  refreshUnwindTables(): string | null;
  /** Looks up each address (as is) against `maps`, the /proc/self/maps text read at collect time. Tables stay in native memory, shared. */
  symbolize(addresses: Float64Array, maps: string): SymbolizedAddresses;
  /** The same on a thread of its own (at a lower priority). */
  symbolizeAsync(addresses: Float64Array, maps: string): Promise<SymbolizedAddresses>;
  /** Tests only: hold (true) or release (false) the lock every symbolization takes. */
  _holdSymbolizer(hold: boolean): void;
  /** C++ names demangled, one per input. */
  demangle(names: string[]): string[];
  /** Inside storage.run(new LabelSet(expectedId)): null if the handler can read labels from the AsyncContextFrame, else why not. */
  probeContextFrame(expectedId: number, magic: number, tagBase: number): string | null;
  /** Tests only: what the handler would read from the AsyncContextFrame now. */
  _readLabelSetId(): number;
  /** Tests and benches only: whether the next start() times each part of the SIGPROF handler. */
  _setHandlerTiming(enabled: boolean): void;
  /** Tests only: whether the next start() may read CPU time through a perf task-clock event. */
  _setPerfCpuClock(enabled: boolean): void;
  /** Tests and benches only: per record, the nanoseconds of each handler part (rows of parts.length), or null. */
  _handlerTimings(): { parts: string[]; nanos: Float64Array } | null;
  stop(): RawProfile;
  /** Chains the exit-signal watchdog's handler for SIGINT/SIGTERM on top of libuv's (native/exit-signals.h). */
  armExitSignal(signo: number, graceMillis: number): void;
  /** Whether the watchdog acts on the signal (while labelprof is its only listener). */
  watchExitSignal(signo: number, on: boolean): void;
  /** JavaScript took the signal: the watchdog stands down. */
  ackExitSignal(): void;
  /** Ends the current period and starts the next without a gap; returns the boundary (ns since the epoch). */
  cut(): number;
  /** The period cut() ended (call it a little later: V8 adds ticks from its own thread). */
  collect(): RawProfile;
  stats(): NativeStats;
  isProfiling(): boolean;
}

function load(): NativeBinding {
  // LABELPROF_BINDING points at a specific build (the Node version matrix
  // builds one per Node major; the arm64 suite loads a prebuild).
  const override = process.env.LABELPROF_BINDING;
  if (override) return require(path.resolve(override)) as NativeBinding;
  // Elsewhere the install built nothing (scripts/install.js), and a binary
  // of another platform must not be tried: say what is supported instead.
  const platform = currentPlatform();
  const unsupported = unsupportedReason(platform);
  if (unsupported !== null) throw new Error(`labelprof: ${unsupported}.`);
  const root = path.join(__dirname, '..');
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeBinding;
  } catch (err) {
    const e = err as Error;
    throw new Error(
      `labelprof: could not load its native addon for Node ${process.version} ` +
        `(ABI ${process.versions.modules}) on ${platform.name}. Looked in ${root}/build/Release and ` +
        `${root}/prebuilds/${process.platform}-${process.arch} (prebuilt for Node ` +
        `${PREBUILT_NODE_MAJORS.join(', ')}). Build it with \`npm rebuild labelprof\` (needs python3, make ` +
        `and a C++ compiler). The addon includes V8 headers, so it must be built for ` +
        `the Node major that runs it. Cause: ${e.message}`,
    );
  }
}

let binding: NativeBinding | undefined;

export function native(): NativeBinding {
  if (binding === undefined) binding = load();
  return binding;
}

/** The addon, or undefined when it cannot load (labels work without it). */
export function tryNative(): NativeBinding | undefined {
  try {
    return native();
  } catch {
    return undefined;
  }
}
