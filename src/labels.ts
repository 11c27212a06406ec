// The public label API: Go's profiler labels in Node's shape.
//   withLabels ~ pprof.Do, setLabels ~ SetGoroutineLabels,
//   getLabels ~ ForLabels, getLabel ~ Label.
import { invalidType, invalidValue } from './errors';
import { chooseSource, currentSet, enterWith, runInStore, storeToEnter } from './label-context';
import { checkLabels, intern, mergedSet, type Labels, type LabelSet } from './label-sets';

export type { Labels } from './label-sets';
export { MAX_LABEL_SETS } from './label-sets';

/**
 * Runs `fn` with the current labels merged with `labels` (keys in `labels`
 * win), like Go's pprof.Do. Returns what `fn` returns, a promise included.
 * The labels follow every continuation created inside `fn`.
 */
export function withLabels<T>(labels: Record<string, string>, fn: () => T): T {
  // Two calls and nothing else: this and runInStore are what TurboFan must
  // inline to inline `fn` into the caller (label-context.ts, "entering a
  // set"); storeForLabels must not be inlined there (below).
  return runInStore(storeForLabels(labels, fn), fn);
}

// withLabels' work before `fn` runs (validation, merge, lookup). Where the
// handler reads the AsyncContextFrame (Node 24+) it is called through a
// Proxy: TurboFan inlines only calls to JSFunctions, so the lookup stays out
// of line in every caller and never takes the inlining budget that `fn`
// needs. As a plain function it was ranked against the caller's own calls by
// size and by the size of its own optimized code, and inlined first whenever
// the caller was optimized before it (--trace-turbo-inlining,
// docs/design-notes.md). The Proxy costs ~20-30 ns per call on Node 24; in
// slot mode (Node 20, 22) it would cost ~50 ns, a sixth of withLabels' cost
// there, so the call stays direct. Decided on the first call, with the label
// source.
let storeForLabels = function firstStoreForLabels(labels: Record<string, string>, fn: unknown): LabelSet {
  storeForLabels = chooseSource() === 'context-frame' ? new Proxy(lookUpStore, {}) : lookUpStore;
  return lookUpStore(labels, fn);
};

function lookUpStore(labels: Record<string, string>, fn: unknown): LabelSet {
  if (typeof fn !== 'function') {
    checkLabels('labels', labels);
    throw invalidType('fn', 'a function', fn);
  }
  const current = currentSet();
  return storeToEnter(mergedSet(current, labels), current);
}

/**
 * Replaces the labels of the current async context from here on, like Go's
 * SetGoroutineLabels: continuations created afterwards inherit them.
 */
export function setLabels(labels: Record<string, string>): void {
  enterWith(intern(checkLabels('labels', labels)));
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

/** @internal Tests only: the id of the current label set. */
export function _currentSetId(): number {
  return currentSet().id;
}
