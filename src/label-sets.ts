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

// withLabels usually sees the same few label sets under the same few parents
// (one per route, say), often as a fresh object literal per call. The merged
// set is cached per parent in a trie keyed by the labels as written (key,
// then value, in their own order), so the common call is a few Map lookups:
// no validation allocations, no merge, no sort, no key string to build and
// hash (that cost ~500 ns on Node 20). Only validated labels are inserted, so
// bad input always misses and reaches checkLabels, which names the culprit.
interface TrieNode {
  next: Map<string, Map<unknown, TrieNode>> | undefined;
  set: LabelSet | undefined;
}
const MAX_CHILDREN_CACHED = 256; // merged sets cached per parent
const childTries = new Map<number, { root: TrieNode; size: number }>();

function cachedChild(parent: LabelSet, labels: Record<string, unknown>): LabelSet | undefined {
  let node = childTries.get(parent.id)?.root;
  // for-in rather than Object.keys: no array allocated. A plain object's
  // prototype has no enumerable properties unless someone added one, and
  // then the path misses and the slow path decides.
  for (const k in labels) {
    if (node === undefined) return undefined;
    node = node.next?.get(k)?.get(labels[k]);
  }
  if (node?.set === undefined || Object.getOwnPropertySymbols(labels).length > 0) return undefined;
  return node.set;
}

function cacheChild(parent: LabelSet, labels: Record<string, string>, set: LabelSet): void {
  let trie = childTries.get(parent.id);
  if (trie === undefined) childTries.set(parent.id, (trie = { root: { next: undefined, set: undefined }, size: 0 }));
  if (trie.size >= MAX_CHILDREN_CACHED) return;
  let node = trie.root;
  for (const k of Object.keys(labels)) {
    node.next ??= new Map();
    let byValue = node.next.get(k);
    if (byValue === undefined) node.next.set(k, (byValue = new Map()));
    let child = byValue.get(labels[k]);
    if (child === undefined) byValue.set(labels[k], (child = { next: undefined, set: undefined }));
    node = child;
  }
  if (node.set === undefined) trie.size++;
  node.set = set;
}

/** `parent`'s labels merged with `labels` (which win), interned; validates `labels`. */
export function mergedSet(parent: LabelSet, labels: Record<string, string>): LabelSet {
  const cacheable = isPlainObject(labels) && parent.id !== OVERFLOW_ID;
  if (cacheable) {
    const hit = cachedChild(parent, labels);
    if (hit !== undefined) return hit;
  }
  const checked = checkLabels('labels', labels);
  const set = intern({ ...parent.labels, ...checked });
  if (cacheable && set.id !== OVERFLOW_ID) cacheChild(parent, checked, set);
  return set;
}

export function labelStats(): { labelSets: number; labelSetsOverflowed: number } {
  return { labelSets: sets.length - 2, labelSetsOverflowed: overflowCount };
}
