// The public label API: Go's profiler labels in Node's shape.
//   withLabels ~ pprof.Do, setLabels ~ SetGoroutineLabels,
//   getLabels ~ ForLabels, getLabel ~ Label.
import { invalidType, invalidValue } from './errors';
import { currentSet, enterWith, runWith } from './label-context';
import { checkLabels, intern, mergedSet, type Labels } from './label-sets';

export type { Labels } from './label-sets';
export { MAX_LABEL_SETS } from './label-sets';

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
  return runWith(mergedSet(currentSet(), labels), fn);
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
