// Label sets: validation, and interning to the small integer ids the signal
// handler records. Pure bookkeeping; propagation is in label-context.ts.
import { invalidType, isPlainObject } from './errors';

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
export const OVERFLOW_ID = 1;
export const EMPTY: LabelSet = Object.freeze({ id: 0, labels: Object.freeze({}) });

const sets: LabelSet[] = [EMPTY, Object.freeze({ id: OVERFLOW_ID, labels: OVERFLOW_LABELS })];
const setsByKey = new Map<string, LabelSet>([['', EMPTY]]);
let overflowCount = 0;

function keyOf(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  let key = '';
  for (const k of keys) key += `${k}\u0000${labels[k]}\u0000`;
  return key;
}

/** The interned set of `labels` (which it freezes), or a fresh overflow set past the cap. */
export function intern(labels: Record<string, string>): LabelSet {
  const key = keyOf(labels);
  const found = setsByKey.get(key);
  if (found !== undefined) return found;
  const frozen = Object.freeze(labels);
  if (sets.length >= MAX_LABEL_SETS) {
    overflowCount++;
    return Object.freeze({ id: OVERFLOW_ID, labels: frozen });
  }
  const set = Object.freeze({ id: sets.length, labels: frozen });
  sets.push(set);
  setsByKey.set(key, set);
  return set;
}

/** The interned set with this id (the overflow set for OVERFLOW_ID). */
export function setOfId(id: number): LabelSet {
  return sets[id] ?? EMPTY;
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

// withLabels usually sees the same few label objects under the same few
// parents (one per route, say): the merged set is cached per parent, keyed
// by the labels as written (in their own key order), so the common call
// skips validation's allocations, the merge and the sort.
const MAX_CHILDREN_CACHED = 256;
const childCache = new Map<number, Map<string, LabelSet>>();

/** `parent`'s labels merged with `labels` (which win), interned; validates `labels`. */
export function mergedSet(parent: LabelSet, labels: Record<string, string>): LabelSet {
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

export function labelStats(): { labelSets: number; labelSetsOverflowed: number } {
  return { labelSets: sets.length - 2, labelSetsOverflowed: overflowCount };
}
