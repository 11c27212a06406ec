// Label sets: validation, interning to small integer ids, and propagation
// across async continuations.
//
// Go's profiler labels in Node's shape. The current label set lives in an
// AsyncLocalStorage, which carries it across await, promise chains, timers,
// setImmediate, process.nextTick and AsyncResource. The SIGPROF handler cannot
// ask AsyncLocalStorage anything, so the id of the current set is also kept
// in `labelSlot`, native memory the handler reads: withLabels/setLabels write
// it for synchronous code, and an async hook writes it whenever a callback or
// promise continuation starts (before) and ends (after).
import {
  AsyncLocalStorage,
  AsyncResource,
  createHook,
  executionAsyncResource,
  type AsyncHook,
} from 'node:async_hooks';

import { invalidType, invalidValue, isPlainObject } from './errors';

export type Labels = Readonly<Record<string, string>>;

export interface LabelSet {
  /** Interned id, what the signal handler records; see MAX_LABEL_SETS. */
  readonly id: number;
  readonly labels: Labels;
}

/**
 * Distinct label sets interned per thread. Past it, new label sets still work
 * for getLabels() and propagation, but samples taken under them carry the
 * single label `labelprof_overflow="true"` instead, and stats count them.
 * Interned sets are never freed: each costs its labels' strings once.
 */
export const MAX_LABEL_SETS = 16384;
export const OVERFLOW_LABELS: Labels = Object.freeze({ labelprof_overflow: 'true' });

const EMPTY: LabelSet = Object.freeze({ id: 0, labels: Object.freeze({}) });
const OVERFLOW_ID = 1;

const setsById: Labels[] = [EMPTY.labels, OVERFLOW_LABELS];
const setsByKey = new Map<string, LabelSet>([['', EMPTY]]);
let overflowCount = 0;

/**
 * Native memory the SIGPROF handler reads: slot[0] is the id of the label set
 * of the code running now. An ArrayBuffer's backing store never moves, so the
 * addon keeps its address while sampling.
 */
export const labelSlotBuffer = new ArrayBuffer(16);
const slot = new Int32Array(labelSlotBuffer);

const storage = new AsyncLocalStorage<LabelSet>();

function keyOf(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  let key = '';
  for (const k of keys) key += `${k}\u0000${labels[k]}\u0000`;
  return key;
}

function intern(labels: Record<string, string>): LabelSet {
  const key = keyOf(labels);
  const found = setsByKey.get(key);
  if (found !== undefined) return found;
  const frozen = Object.freeze(labels);
  if (setsById.length >= MAX_LABEL_SETS) {
    overflowCount++;
    return Object.freeze({ id: OVERFLOW_ID, labels: frozen });
  }
  const set = Object.freeze({ id: setsById.length, labels: frozen });
  setsById.push(frozen);
  setsByKey.set(key, set);
  return set;
}

/** Throws a TypeError naming the culprit unless `labels` is an object of non-empty string keys and string values. */
export function checkLabels(name: string, labels: unknown): Record<string, string> {
  if (!isPlainObject(labels)) {
    throw invalidType(name, 'a plain object of string labels', labels);
  }
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels)) {
    const value = labels[key];
    if (key === '') {
      throw new TypeError(`Expected non-empty label keys in ${name} but received an empty key`);
    }
    if (typeof value !== 'string') {
      throw invalidType(`${name}[${JSON.stringify(key)}]`, 'a string label value', value);
    }
    out[key] = value;
  }
  if (Object.getOwnPropertySymbols(labels).length > 0) {
    throw new TypeError(`Expected string label keys in ${name} but received a symbol key`);
  }
  return out;
}

// --- keeping the native slot current -------------------------------------

// Per entered callback: its asyncId and the slot value to restore after it.
// Kept as a stack so a missed `after` (an exception that skipped it) is
// repaired at the next `after` of an outer callback.
const enteredIds: number[] = [];
const savedSlots: number[] = [];
let hook: AsyncHook | undefined;

// Where AsyncLocalStorage is backed by AsyncContextFrame (Node 24; Node 22
// with --experimental-async-context-frame), AsyncResource.runInAsyncScope
// emits `before` while the caller's frame is still current and switches to
// the resource's frame only afterwards; so in `before`, a resource that
// carries its own frame is asked directly. Found by probing, since the
// symbol is internal to Node.
const frameSymbol: symbol | undefined = (() => {
  const probe = new AsyncLocalStorage<number>().run(1, () => new AsyncResource('labelprof-probe'));
  const symbol = Object.getOwnPropertySymbols(probe).find((s) => s.description === 'context_frame');
  // Node 22 has the symbol but no frame unless the flag is on.
  return symbol !== undefined && (probe as unknown as Record<symbol, unknown>)[symbol] !== undefined
    ? symbol
    : undefined;
})();

function setOfEnteredResource(): LabelSet {
  if (frameSymbol !== undefined) {
    const resource = executionAsyncResource() as Record<symbol, unknown>;
    if (resource !== undefined && resource !== null && Object.prototype.hasOwnProperty.call(resource, frameSymbol)) {
      const frame = resource[frameSymbol] as Map<unknown, LabelSet> | undefined;
      return frame?.get(storage) ?? EMPTY;
    }
  }
  return storage.getStore() ?? EMPTY;
}

function enableSlotHook(): void {
  if (hook !== undefined) return;
  hook = createHook({
    before(asyncId: number) {
      enteredIds.push(asyncId);
      savedSlots.push(slot[0]!);
      slot[0] = setOfEnteredResource().id;
    },
    after(asyncId: number) {
      for (let i = enteredIds.length - 1; i >= 0; i--) {
        if (enteredIds[i] === asyncId) {
          slot[0] = savedSlots[i]!;
          enteredIds.length = i;
          savedSlots.length = i;
          return;
        }
      }
    },
  });
  hook.enable();
}

function currentSet(): LabelSet {
  return storage.getStore() ?? EMPTY;
}

// --- public API ------------------------------------------------------------

/**
 * Runs `fn` with the current labels merged with `labels` (keys in `labels`
 * win), like Go's pprof.Do. Returns what `fn` returns, a promise included.
 * The labels follow every continuation created inside `fn`.
 */
export function withLabels<T>(labels: Record<string, string>, fn: () => T): T {
  if (typeof fn !== 'function') {
    checkLabels('labels', labels);
    throw invalidType('fn', 'a function', fn);
  }
  const set = mergedSet(currentSet(), labels);
  enableSlotHook();
  return storage.run(set, runWithSlot, set.id, fn) as T;
}

function runWithSlot<T>(id: number, fn: () => T): T {
  const saved = slot[0]!;
  slot[0] = id;
  try {
    return fn();
  } finally {
    slot[0] = saved;
  }
}

// withLabels usually sees the same few label objects under the same few
// parents (one per route, say): the merged set is cached per parent, keyed
// by the labels as written (in their own key order), so the common call
// skips validation's allocations, the merge and the sort.
const MAX_CHILDREN_CACHED = 256;
const childCache = new Map<number, Map<string, LabelSet>>();

function mergedSet(parent: LabelSet, labels: Record<string, string>): LabelSet {
  let key: string | undefined;
  if (isPlainObject(labels) && parent.id !== OVERFLOW_ID) {
    key = '';
    const keys = Object.keys(labels);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const v = labels[k];
      if (typeof v !== 'string' || k === '') {
        key = undefined; // let checkLabels name the culprit
        break;
      }
      key += k + '\u0000' + v + '\u0000';
    }
    if (key !== undefined && Object.getOwnPropertySymbols(labels).length > 0) key = undefined;
  }
  let children = childCache.get(parent.id);
  if (key !== undefined) {
    const hit = children?.get(key);
    if (hit !== undefined) return hit;
  }
  const set = intern({ ...parent.labels, ...checkLabels('labels', labels) });
  if (key !== undefined && set.id !== OVERFLOW_ID) {
    if (children === undefined) childCache.set(parent.id, (children = new Map()));
    if (children.size < MAX_CHILDREN_CACHED) children.set(key, set);
  }
  return set;
}

/**
 * Replaces the labels of the current async context from here on, like Go's
 * SetGoroutineLabels: continuations created afterwards inherit them.
 */
export function setLabels(labels: Record<string, string>): void {
  const set = intern(checkLabels('labels', labels));
  enableSlotHook();
  storage.enterWith(set);
  slot[0] = set.id;
}

/** The current labels, as a frozen plain object. */
export function getLabels(): Labels {
  return currentSet().labels;
}

/** One current label's value, or undefined. */
export function getLabel(key: string): string | undefined {
  if (typeof key !== 'string') throw invalidType('key', 'a string', key);
  if (key === '') throw invalidValue('key', 'a non-empty string', key);
  const labels = currentSet().labels;
  return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined;
}

/** The labels of an interned id (what samples carry). */
export function labelsOfId(id: number): Labels {
  return setsById[id] ?? EMPTY.labels;
}

export function labelStats(): { labelSets: number; labelSetsOverflowed: number } {
  return { labelSets: setsById.length - 2, labelSetsOverflowed: overflowCount };
}

/** Tests only: the id of the current label set (what the slot should hold). */
export function _currentSetId(): number {
  return currentSet().id;
}

/** Tests only: the id the handler would read now. */
export function _currentSlot(): number {
  return slot[0]!;
}
