// Which label set the running code belongs to, carried across async
// continuations, and how the SIGPROF handler learns it.
//
// The current set lives in an AsyncLocalStorage, whose store value is the
// LabelSet object (label-sets.ts): AsyncLocalStorage carries it across await,
// promise chains, timers, setImmediate, process.nextTick and AsyncResource.
// The handler cannot call JavaScript, so it learns the id one of two ways:
//
// - "context-frame" (Node 24+, and 22 with --experimental-async-context-frame):
//   AsyncLocalStorage is backed by an AsyncContextFrame that V8 itself saves
//   and restores across continuations; the handler reads our entry out of the
//   current frame (native/context-frame.h). Nothing runs per await.
// - "slot" (everywhere else, or when the probe of the frame layout fails):
//   the id is kept in `labelSlot`, native memory the handler reads, written by
//   withLabels/setLabels for synchronous code and by an async hook whenever a
//   callback or promise continuation starts (see "slot mode" below). The
//   hook costs every continuation (promise hooks), so it is on only
//   while a profile is running and some label set has been entered: labels
//   without profiling cost what AsyncLocalStorage costs, and profiling
//   without labels costs no hook at all.
//
// LABELPROF_LABEL_SOURCE=slot forces the slot (for comparisons and tests).
import {
  AsyncLocalStorage,
  AsyncResource,
  createHook,
  executionAsyncResource,
  type AsyncHook,
} from 'node:async_hooks';

import { EMPTY, LabelSet, setOnSetFreed, STORE_MAGIC, TAG_BASE } from './label-sets';
import { tryNative } from './native';

const PROBE_ID = 1 << 19;

// The store value is the LabelSet itself: AsyncLocalStorage's contexts are
// then what keeps a set alive (label-sets.ts frees its id when none does).
const storage = new AsyncLocalStorage<LabelSet>();

/**
 * Native memory the SIGPROF handler reads in slot mode: slot[0] is the id of
 * the label set of the code running now. An ArrayBuffer's backing store never
 * moves, so the addon keeps its address while sampling.
 */
export const labelSlotBuffer = new ArrayBuffer(16);
const slot = new Int32Array(labelSlotBuffer);

// A freed set's id may be reused: the slot must not keep naming it (slot mode
// leaves the last callback's id in the slot while the loop waits).
setOnSetFreed((id) => {
  if (slot[0] === id) slot[0] = 0;
});

export type LabelSource = 'context-frame' | 'slot';
let source: LabelSource | undefined;
// source === 'context-frame', as a boolean for runInStore's one test.
let framed = false;
let frameProbeFailure: string | undefined;
// Whether a non-empty label set was ever entered, and whether the handler is
// sampling: together they decide whether slot mode needs its hook.
let labelsInUse = false;
let sampling = false;

// --- reading the current set ----------------------------------------------

export function currentSet(): LabelSet {
  return storage.getStore() ?? EMPTY;
}

// --- entering a set -------------------------------------------------------
//
// withLabels is split in two so that, on Node 24, TurboFan still inlines the
// labelled function into its caller (docs/design-notes.md, "withLabels and
// TurboFan's inlining budget"). The labelled function's call sits inside
// AsyncLocalStorage.run; it is inlined only if everything between the
// caller's call of withLabels and that call is inlined too, and every
// bytecode inlined on the way counts against one budget per compiled
// function (~920 bytes). So the part on the way (runInStore) is a few bytes,
// and everything else (validation, merge, lookup, source choice, scope
// rules) is called before it, out of line: labels.ts's lookUpStore, which
// ends in storeToEnter.

/**
 * The store to run under so that `set` gets a scope of its own: `set`
 * itself, or its twin when `set` is the current one (`current`, from
 * currentSet()) already: AsyncLocalStorage.run with the store it already
 * holds makes no new scope, so a setLabels inside would leak out to the
 * caller. Decides the label source on first use and notes that labels are
 * in use.
 */
export function storeToEnter(set: LabelSet, current: LabelSet): LabelSet {
  if (source === undefined) chooseSource();
  if (!labelsInUse && set.id !== 0) noteLabelsInUse();
  return set === current ? twinOf(set) : set;
}

// A twin is a second LabelSet with the same id and labels: what the handler
// reads and what getLabels() returns are the same, only the object differs.
// The twin keeps its set alive (the set's id must not be reused while a
// context holds the twin), and the set keeps its twin for the next time.
const twins = new WeakMap<LabelSet, LabelSet>();
const setOfTwin = new WeakMap<LabelSet, LabelSet>();
function twinOf(set: LabelSet): LabelSet {
  let twin = twins.get(set);
  if (twin === undefined) {
    twin = new LabelSet(set.id, set.labels);
    twins.set(set, twin);
    setOfTwin.set(twin, set);
  }
  return twin;
}

/**
 * Runs `fn` in a new async context whose store is `store`, from
 * storeToEnter. On the labelled function's inlining path: keep it this
 * small. Where the handler reads the AsyncContextFrame the slot branch never
 * runs, so it has no call feedback and TurboFan inlines nothing there.
 */
export function runInStore<T>(store: LabelSet, fn: () => T): T {
  return framed ? storage.run(store, fn) : runInStoreWithSlot(store, fn);
}

// Slot mode: the slot names the set while `fn` runs. Written around
// AsyncLocalStorage.run rather than inside it (through a callback of its
// own): one call level and an argument array less on the labelled
// function's inlining path.
function runInStoreWithSlot<T>(store: LabelSet, fn: () => T): T {
  const saved = slot[0]!;
  slot[0] = store.id;
  try {
    return storage.run(store, fn);
  } finally {
    slot[0] = saved;
  }
}

/**
 * Runs `fn.apply(self, args)` in a new async context whose label set is
 * `set`: for a call to forward as it came (labelprof/otel's wrappers of the
 * context manager), without a closure per call.
 */
export function runWithApply(set: LabelSet, fn: (this: unknown, ...args: unknown[]) => unknown, self: unknown, args: ArrayLike<unknown>): unknown {
  const store = storeToEnter(set, currentSet());
  if (framed) return storage.run(store, Reflect.apply, fn, self, args);
  const saved = slot[0]!;
  slot[0] = store.id;
  try {
    return storage.run(store, Reflect.apply, fn, self, args);
  } finally {
    slot[0] = saved;
  }
}

/** Makes `set` the label set of the current async context from here on. */
export function enterWith(set: LabelSet): void {
  if (source === undefined) chooseSource();
  if (!labelsInUse && set.id !== 0) noteLabelsInUse();
  storage.enterWith(set);
  slot[0] = set.id;
}

// --- choosing how the handler learns the set --------------------------------

// Where AsyncLocalStorage is backed by AsyncContextFrame, AsyncResource keeps
// its frame under an internal symbol. Found by probing, since Node does not
// export it; Node 22 has the symbol but no frame unless the flag is on.
const frameSymbol: symbol | undefined = (() => {
  const probeStorage = new AsyncLocalStorage<number>();
  const probe = probeStorage.run(1, () => new AsyncResource('labelprof-probe'));
  // Where AsyncLocalStorage runs on async hooks (Node 20, 22 without the
  // flag), an enabled storage stays enabled, and each one costs every promise
  // of the process (~0.5 us for the first): a forgotten probe tripled the
  // async bench's time with labelprof merely loaded.
  probeStorage.disable();
  const symbol = Object.getOwnPropertySymbols(probe).find((s) => s.description === 'context_frame');
  return symbol !== undefined && (probe as unknown as Record<symbol, unknown>)[symbol] !== undefined
    ? symbol
    : undefined;
})();

/** Decides, once, where the handler reads labels; start() calls it before sampling. */
export function chooseSource(): LabelSource {
  if (source !== undefined) return source;
  source = 'slot';
  if (frameSymbol === undefined) {
    frameProbeFailure = 'AsyncLocalStorage is not backed by AsyncContextFrame on this Node';
  } else if (process.env.LABELPROF_LABEL_SOURCE === 'slot') {
    frameProbeFailure = 'LABELPROF_LABEL_SOURCE=slot';
  } else {
    const binding = tryNative();
    const why = binding === undefined
      ? 'the addon did not load'
      : storage.run(new LabelSet(PROBE_ID, EMPTY.labels), () => binding.probeContextFrame(PROBE_ID, STORE_MAGIC, TAG_BASE));
    if (why === null) {
      source = 'context-frame';
      framed = true;
    } else {
      frameProbeFailure = why;
    }
  }
  if (source === 'slot') wrapRunInAsyncScope();
  return source;
}

function noteLabelsInUse(): void {
  labelsInUse = true;
  updateSlotHook();
}

/** start() calls it once sampling is set up, stop() once it ended. */
export function setSampling(on: boolean): void {
  sampling = on;
  updateSlotHook();
}

export function labelSourceInfo(): { labelSource: LabelSource | 'undecided'; contextFrameUnavailable?: string } {
  return source === 'slot' && frameProbeFailure !== undefined
    ? { labelSource: source, contextFrameUnavailable: frameProbeFailure }
    : { labelSource: source ?? 'undecided' };
}

// --- slot mode: keeping the native slot current ----------------------------

// Only a `before` hook: every callback and promise continuation that Node
// starts from the event loop or the microtask queue passes it, so the slot is
// right whenever JavaScript runs. With an `after` hook as well, the
// promise-heavy bench at 99 Hz with labels took 1.46x @datadog/pprof's time
// (whose tracer wiring has only `before`); with `before` only, 0.90-0.94x
// (Node 20, medians of paired rounds in two runs). Without `after`, two gaps remain, closed
// elsewhere:
// - Between callbacks (the event loop waiting, libuv, native completions)
//   the slot still names the last callback's set. No JavaScript runs there,
//   so samples whose V8 stack is only "(program)" or "(idle)" are written
//   without labels in slot mode (pprof.ts, `unlabelledOutsideJs`).
// - A synchronous AsyncResource.runInAsyncScope (AsyncResource.bind,
//   EventEmitterAsyncResource listeners) switches context inside a running
//   callback and back; the wrapper below restores the slot when it returns.
let hook: { hook: AsyncHook; enabled: boolean } | undefined;

// AsyncResource.runInAsyncScope emits `before` while the caller's frame is
// still current and switches to the resource's frame only afterwards; so a
// resource that carries its own frame is asked directly.
function idOfEnteredResource(): number {
  if (frameSymbol !== undefined) {
    const resource = executionAsyncResource() as Record<symbol, unknown>;
    if (resource !== undefined && resource !== null && Object.prototype.hasOwnProperty.call(resource, frameSymbol)) {
      const frame = resource[frameSymbol] as Map<unknown, LabelSet> | undefined;
      return frame?.get(storage)?.id ?? 0;
    }
  }
  return idInStorage();
}

/** The id of the current context's set (OVERFLOW_ID for overflowed sets). */
function idInStorage(): number {
  return storage.getStore()?.id ?? 0;
}

// Installed once, the first time slot mode is chosen: AsyncResource.bind
// takes the method at bind time, so it must be in place before sampling
// starts. Outside sampling it only passes the call through.
let scopeWrapperInstalled = false;
function wrapRunInAsyncScope(): void {
  if (scopeWrapperInstalled) return;
  scopeWrapperInstalled = true;
  const original = AsyncResource.prototype.runInAsyncScope;
  AsyncResource.prototype.runInAsyncScope = function runInAsyncScope(this: AsyncResource) {
    if (hook?.enabled !== true) return Reflect.apply(original, this, arguments);
    const saved = slot[0]!;
    try {
      return Reflect.apply(original, this, arguments);
    } finally {
      slot[0] = saved;
    }
  } as typeof original;
}

// On from the first label set entered while sampling (or from start() if
// sets were entered before) until stop(). Turned on inside a callback, the
// hook misses that callback's `before`, so the slot is set from the current
// context here.
function updateSlotHook(): void {
  const want = source === 'slot' && sampling && labelsInUse;
  if (want === (hook?.enabled ?? false)) return;
  if (!want) {
    hook!.hook.disable();
    hook!.enabled = false;
    return;
  }
  hook ??= { hook: createHook({ before: () => void (slot[0] = idOfEnteredResource()) }), enabled: false };
  slot[0] = idInStorage();
  hook.hook.enable();
  hook.enabled = true;
}

/** Tests only: the id the signal handler would record if a sample were taken now (meaningful while sampling). */
export function _handlerView(): number {
  if (source === 'context-frame') return tryNative()!._readLabelSetId();
  return slot[0]!;
}

// Where the handler can only ever use the slot, wrap at load, before the
// application binds anything (AsyncResource.bind keeps the method it saw).
if (frameSymbol === undefined) wrapRunInAsyncScope();
