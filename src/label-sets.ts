// Label sets: validation, interning, and the lifetime of the small integer
// ids the signal handler records. Pure bookkeeping; propagation is in
// label-context.ts.
//
// A label set's id is reusable once no code can run under the set any more
// and no sample that recorded it is still waiting to be assembled:
// - "no code can run under it": the LabelSet object is what
//   AsyncLocalStorage carries, so once no async context holds it, the
//   garbage collector frees it and a FinalizationRegistry tells us. The
//   interning table holds sets weakly.
// - "no sample waits": samples are assembled in batches (a profile, a
//   period); ids freed while a batch was being recorded are reused only after
//   that batch was assembled (its labels resolved). See retire/assembled.
// So a service that gives every span its own `span_id` label interns as many
// sets as it has spans alive, not as many as it ever had.
// labelprof/otel's span sets have ids with the same lifetime but no key
// (uninternedSet): they are found through their span, not by their labels.
import { invalidType, isPlainObject } from './errors';

export type Labels = Readonly<Record<string, string>>;

/**
 * Must match kStoreMagic and kLabelSetTagBase in native/context-frame.h. The
 * handler recognises a LabelSet in the AsyncContextFrame (Node 22+) by a Smi
 * `magic` in its first in-object field and reads its `tag` from the second.
 */
export const STORE_MAGIC = 0x4c50f00d;
export const TAG_BASE = 0x4c500000;
/** Ids the native side accepts: [0, TAG_LIMIT - TAG_BASE). */
const ID_LIMIT = 1 << 20;

/**
 * An interned label set: what AsyncLocalStorage carries. Field order is
 * layout: `magic` and `tag` must stay the first two fields (see
 * native/context-frame.cc), and every instance is made by this constructor
 * with the same field types, so all share one hidden class.
 */
export class LabelSet {
  readonly magic: number;
  readonly tag: number;
  readonly id: number;
  readonly labels: Labels;
  /**
   * labelprof/otel's span sets (uninternedSet): the set of the labels the
   * span was entered under, i.e. these labels without the span's. A field
   * rather than a WeakMap entry per span: that cost ~3 µs per request.
   */
  readonly spanBase: LabelSet | undefined;
  constructor(id: number, labels: Labels, spanBase?: LabelSet) {
    this.magic = STORE_MAGIC;
    this.tag = TAG_BASE + id;
    this.id = id;
    this.labels = labels;
    this.spanBase = spanBase;
  }
}

/**
 * Label sets alive at the same moment, per thread. Past it, new label sets
 * still work for getLabels() and propagation, but samples taken under them
 * carry the single label `labelprof_overflow="true"`, and stats count them.
 * Sets whose code can no longer run are freed (after a garbage collection),
 * so this caps concurrency, not a process's lifetime.
 */
export const MAX_LABEL_SETS = 262144;
let maxLiveSets = MAX_LABEL_SETS;

export const OVERFLOW_LABELS: Labels = Object.freeze({ labelprof_overflow: 'true' });
export const OVERFLOW_ID = 1;
export const EMPTY = new LabelSet(0, Object.freeze({}));
const FIRST_ID = 2;

// id -> labels, for every id handed out and not yet reused. Resolving a
// recorded id goes through here, so an id keeps its labels until reuse.
const labelsById: Labels[] = [EMPTY.labels, OVERFLOW_LABELS];
// Canonical key -> the live set with those labels (weakly: the table must not
// keep a set alive).
const setsByKey = new Map<string, WeakRef<LabelSet>>();
const keyById: (string | undefined)[] = [];
const freeIds: number[] = [];
let nextId = FIRST_ID;
let live = 0;
let created = 0;
let overflowCount = 0;

// --- batches of samples and id reuse ---------------------------------------
//
// `recording` is the number of the batch the handler writes now; a batch is
// the records between two cuts (profile start, period boundary, stop).
// `assembledThrough` is the last batch whose labels were resolved. An id
// freed while batch b was recording may sit in batches up to b.
let recording = 0;
let assembledThrough = 0;
const retiring: { id: number; batch: number }[] = [];

function release(id: number): void {
  const key = keyById[id];
  if (key !== undefined && setsByKey.get(key)?.deref() === undefined) setsByKey.delete(key);
  keyById[id] = undefined;
  freeIds.push(id);
}

const registry = new FinalizationRegistry<number>((id) => {
  live--;
  onSetFreed?.(id);
  if (assembledThrough >= recording) release(id);
  else retiring.push({ id, batch: recording });
});

/** label-context.ts: clear the native slot if it names a freed set. */
let onSetFreed: ((id: number) => void) | undefined;
export function setOnSetFreed(fn: (id: number) => void): void {
  onSetFreed = fn;
}

/** The handler starts a new batch (start(), a period boundary); returns its number. */
export function beginBatch(): number {
  return ++recording;
}

/** Batches up to `batch` are assembled: ids freed while they recorded can be reused. */
export function batchAssembled(batch: number): void {
  if (batch > assembledThrough) assembledThrough = batch;
  let kept = 0;
  for (const r of retiring) {
    if (r.batch <= assembledThrough) release(r.id);
    else retiring[kept++] = r;
  }
  retiring.length = kept;
}

// --- interning ---------------------------------------------------------------

// Unambiguous whatever the strings hold (NUL included): each key and value is
// prefixed by its length.
function keyOf(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  let key = '';
  for (const k of keys) {
    const v = labels[k]!;
    key += `${k.length}:${k}${v.length}:${v}`;
  }
  return key;
}

function allocateId(): number | undefined {
  if (live >= maxLiveSets) return undefined;
  const id = freeIds.pop() ?? (nextId < ID_LIMIT ? nextId++ : undefined);
  return id;
}

/** The interned set of `labels` (which it freezes), or a fresh overflow set past the cap. */
export function intern(labels: Record<string, string>): LabelSet {
  return internKeyed(labels, keyOf(labels)).set;
}

function internKeyed(labels: Record<string, string>, key: string): { set: LabelSet; seenBefore: boolean } {
  if (key === '') return { set: EMPTY, seenBefore: true };
  const found = setsByKey.get(key)?.deref();
  if (found !== undefined) return { set: found, seenBefore: true };
  const set = newSet(Object.freeze(labels));
  if (set.id !== OVERFLOW_ID) {
    keyById[set.id] = key;
    setsByKey.set(key, new WeakRef(set));
  }
  return { set, seenBefore: false };
}

/** A set with a fresh id (freed through the registry), or a fresh overflow set past the cap. */
function newSet(frozen: Labels, spanBase?: LabelSet): LabelSet {
  const id = allocateId();
  if (id === undefined) {
    overflowCount++;
    return new LabelSet(OVERFLOW_ID, frozen, spanBase);
  }
  const set = new LabelSet(id, frozen, spanBase);
  labelsById[id] = frozen;
  registry.register(set, id);
  live++;
  created++;
  return set;
}

/**
 * @internal For labelprof/otel: a set for `labels` that is not interned. A
 * span's labels are unique to it, so its key would be built (sorted, ~150
 * characters), hashed, and kept with a WeakRef in the table until the batch
 * is assembled, for no later hit: that was most of what a span cost while
 * profiling. The caller keeps the set (on the span) to enter it again. The
 * id's lifetime is an interned set's (registry, reuse after assembly); two
 * live sets may then have equal labels, which only costs an id. `labels`
 * must be valid (checkLabels' rules): it is frozen, not checked. `spanBase`:
 * see LabelSet.spanBase.
 */
export function uninternedSet(labels: Record<string, string>, spanBase: LabelSet): LabelSet {
  return newSet(Object.freeze(labels), spanBase);
}

/** The labels of the set that had `id` when it was recorded (valid until the batch is assembled). */
export function labelsOfId(id: number): Labels {
  return labelsById[id] ?? EMPTY.labels;
}

/** Defines `key` on `out` even when it is "__proto__" (plain assignment would set the prototype). */
function defineLabel(out: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    out[key] = value;
  }
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
    defineLabel(out, key, value);
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
//
// A set is cached on its second sight only: a span id is seen once, and
// caching it would keep its set alive and crowd out the sets that repeat.
// Tries hang off the parent object (a WeakMap), since ids are reused.
interface TrieNode {
  next: Map<string, Map<unknown, TrieNode>> | undefined;
  set: LabelSet | undefined;
}
const MAX_CHILDREN_CACHED = 256; // merged sets cached per parent
const childTries = new WeakMap<LabelSet, { root: TrieNode; size: number }>();

function cachedChild(parent: LabelSet, labels: Record<string, unknown>): LabelSet | undefined {
  let node = childTries.get(parent)?.root;
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
  let trie = childTries.get(parent);
  if (trie === undefined) childTries.set(parent, (trie = { root: { next: undefined, set: undefined }, size: 0 }));
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
  const merged: Record<string, string> = { ...parent.labels };
  for (const k of Object.keys(checked)) defineLabel(merged, k, checked[k]!);
  const { set, seenBefore } = internKeyed(merged, keyOf(merged));
  if (cacheable && seenBefore && set.id !== OVERFLOW_ID) cacheChild(parent, checked, set);
  return set;
}

export interface LabelSetStats {
  /** Label sets alive now (interned and not yet freed) on this thread. */
  labelSets: number;
  /** Label sets interned since the process started, on this thread. */
  labelSetsCreated: number;
  /** Label sets that found MAX_LABEL_SETS alive already (their samples carry labelprof_overflow). */
  labelSetsOverflowed: number;
  /** Freed sets whose ids wait for the samples that may hold them to be assembled. */
  labelSetsRetiring: number;
}

export function labelStats(): LabelSetStats {
  return {
    labelSets: live,
    labelSetsCreated: created,
    labelSetsOverflowed: overflowCount,
    labelSetsRetiring: retiring.length,
  };
}

/** Tests only: lower the cap on live sets (undefined restores MAX_LABEL_SETS). */
export function _setMaxLiveLabelSets(max: number | undefined): void {
  maxLiveSets = max ?? MAX_LABEL_SETS;
}
