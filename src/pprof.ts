// Stopped profiles (flat arrays from the addon, one per period or part of a
// period) -> one pprof Profile. Pure: no addon, no I/O, so it is tested on
// hand-built fixtures.
//
// A profile can be made of several chunks (a period cut where an endpoint
// request began or ended, say): each chunk has its own V8 call tree, so
// functions and locations are keyed by content, and samples by their
// location ids and labels. Samples are aggregated by (stack, label set), as
// Go does. V8's call tree
// is split by call-site line (kCallerLineNumbers), so a frame's line is the
// line of the call it made into the frame below it; the leaf's line is the
// line V8 counted most hits on for that node.
import {
  Function as PprofFunction,
  Label,
  Line,
  Location,
  Profile,
  Sample,
  StringTable,
  ValueType,
} from 'pprof-format';

import type { RawProfile } from './native';
import type { Labels } from './labels';
import type { NativeStackPart } from './native-frames';
import { NativeLocations } from './pprof-native';
import { SampleWriter } from './pprof-samples';

/** One chunk: a stopped profile and how to read its label-set ids. */
export interface PprofChunk {
  raw: RawProfile;
  labelsOf: (labelSetId: number) => Labels;
  /**
   * Samples with no JavaScript on the stack (V8 shows only "(program)" or
   * "(idle)", and no native frame came from JavaScript) get no labels. Slot
   * mode needs it: its slot keeps the last callback's set until the next one
   * starts (label-context.ts).
   */
  unlabelledOutsideJs?: boolean;
  /** Per sample, the native frames to merge under its JavaScript stack. */
  native?: readonly NativeStackPart[];
}

export interface PprofOptions {
  intervalMicros: number;
  /** Path of the program's own executable (listed first among the mappings). */
  mainBinary?: string;
  /** Lines for the profile's comment field (go tool pprof shows them). */
  comments?: readonly string[];
}

export type PprofInput = PprofChunk & PprofOptions;

/** What a profile whose SIGPROF handler was displaced says about it (pprof comment, stderr). */
export function displacedMessage(atNanos: number | undefined, startNanos: number): string {
  const at = atNanos ?? startNanos;
  return (
    `labelprof: another SIGPROF handler displaced labelprof's at ${new Date(at / 1e6).toISOString()} ` +
    `(${((at - startNanos) / 1e9).toFixed(3)} s into the profile); samples after that are missing`
  );
}

// V8's pseudo-frames: a sample with one of these as its only frame has no
// JavaScript stack for native frames to go under.
const REPLACEABLE_PSEUDO = new Set(['(program)', '(idle)']);

export function toPprof(input: PprofInput): Profile {
  const builder = new PprofBuilder(input);
  builder.addChunk(input);
  return builder.build({ startNanos: input.raw.startNanos, durationNanos: input.raw.durationNanos });
}

interface Aggregate {
  stack: number[];
  labels: Label[];
  count: number;
  cpu: number;
  wall: number;
}

export class PprofBuilder {
  readonly #options: PprofOptions;
  readonly #strings = new StringTable();
  readonly #functions: PprofFunction[] = [];
  readonly #locations: Location[] = [];
  readonly #functionIds = new Map<string, number>();
  readonly #locationIds = new Map<string, number>();
  readonly #native: NativeLocations;
  readonly #labelLists = new Map<string, Label[]>();
  readonly #aggregated = new Map<string, Aggregate>();
  #napiLocation: number | undefined;

  constructor(options: PprofOptions) {
    this.#options = options;
    this.#native = new NativeLocations(this.#strings, this.#locations, this.#functions);
  }

  /** Adds every sample of `chunk`. */
  addChunk(chunk: PprofChunk): void {
    const it = this.addChunkInSlices(chunk, Infinity);
    while (!it.next().done);
  }

  /**
   * Adds `chunk`'s samples `sliceSamples` at a time, yielding between slices
   * so a caller can give the event loop a turn.
   */
  *addChunkInSlices(chunk: PprofChunk, sliceSamples: number): Generator<void, void, void> {
    const { raw, labelsOf, unlabelledOutsideJs, native } = chunk;
    const strings = this.#strings;

    const functionId = (node: number): number => {
      const name = raw.nodeName[node] ?? '(unknown)';
      const url = raw.nodeUrl[node] ?? '';
      const key = `${raw.nodeScriptId[node]}\u0000${url}\u0000${name}\u0000${raw.nodeColumn[node]}`;
      let id = this.#functionIds.get(key);
      if (id === undefined) {
        id = this.#functions.length + 1;
        this.#functions.push(
          new PprofFunction({
            id,
            name: strings.dedup(name),
            systemName: strings.dedup(name),
            filename: strings.dedup(url),
          }),
        );
        this.#functionIds.set(key, id);
      }
      return id;
    };

    const locationId = (node: number, line: number): number => {
      const fn = functionId(node);
      const key = `${fn}:${line}`;
      let id = this.#locationIds.get(key);
      if (id === undefined) {
        id = this.#locations.length + 1;
        this.#locations.push(new Location({ id, line: [new Line({ functionId: fn, line })] }));
        this.#locationIds.set(key, id);
      }
      return id;
    };

    // Stack of location ids (leaf first) per leaf node, built once per node.
    const stacks = new Map<number, number[]>();
    const stackOf = (leaf: number): number[] => {
      let stack = stacks.get(leaf);
      if (stack !== undefined) return stack;
      stack = [];
      let line = raw.nodeHitLine[leaf] ?? 0;
      for (let node = leaf; node > 0; node = raw.nodeParent[node]!) {
        stack.push(locationId(node, line));
        line = raw.nodeLine[node] ?? 0; // the call into `node`, a line of its parent
      }
      stacks.set(leaf, stack);
      return stack;
    };

    // Native frames go on top of the JavaScript stack, leaf first. Where V8
    // shows only "(program)" or "(idle)" and the walk never entered
    // JavaScript, the native stack replaces the pseudo-frame (idle becomes the
    // event loop's wait); under "(garbage collector)" they show the GC's work.
    const isRootPseudo = (node: number): boolean =>
      raw.nodeParent[node] === 0 && REPLACEABLE_PSEUDO.has(raw.nodeName[node] ?? '');
    const mergedStack = (leaf: number, part: NativeStackPart, gcParent: number): number[] => {
      const nativeIds = part.frames.map((f) => this.#native.locationId(f));
      let js = stackOf(leaf);
      // A GC sample goes under the JavaScript stack that triggered its GC.
      if (gcParent >= 0) js = js.concat(stackOf(gcParent));
      if (isRootPseudo(leaf) && !part.enteredFromJs) return nativeIds;
      // Every Node-API function enters C++ through one shared trampoline, and
      // V8's profiler names that address after whichever Node-API function it
      // saw first: the JavaScript leaf of such a call is a wrong name. The
      // native frames above it name the real callee.
      if (raw.nodeUrl[leaf] === '' && part.frames.some((f) => f.functionName.startsWith('v8impl::'))) {
        js = [this.#napiCallLocation(), ...js.slice(1)];
      }
      return nativeIds.concat(js);
    };

    // Label lists by content, shared by all chunks: ids are only valid
    // within a chunk (they are reused once their sets are gone).
    const labelsById = new Map<number, { key: string; labels: Label[] }>();
    const labelsFor = (id: number): { key: string; labels: Label[] } => {
      let entry = labelsById.get(id);
      if (entry === undefined) {
        const set = labelsOf(id);
        const keys = Object.keys(set).sort();
        let key = '';
        for (const k of keys) key += `${k.length}:${k}${set[k]!.length}:${set[k]}`;
        let labels = this.#labelLists.get(key);
        if (labels === undefined) {
          labels = keys.map((k) => new Label({ key: strings.dedup(k), str: strings.dedup(set[k]!) }));
          this.#labelLists.set(key, labels);
        }
        entry = { key, labels };
        labelsById.set(id, entry);
      }
      return entry;
    };

    // Within a chunk the leaf node, GC parent and native addresses fix the
    // stack; its location ids (and their key) are computed once per distinct
    // combination.
    const stackKeys = new Map<string, { stack: number[]; key: string }>();
    let inSlice = 0;
    for (let i = 0; i < raw.sampleNode.length; i++) {
      const node = raw.sampleNode[i]!;
      const part = native?.[i];
      const nativeKey = part === undefined || part.frames.length === 0 ? '' : part.frames.map((f) => f.address).join(',');
      const gcParent = raw.sampleGcParent?.[i] ?? -1;
      const outsideJs = unlabelledOutsideJs === true && gcParent < 0 && part?.enteredFromJs !== true && isRootPseudo(node);
      const labelSet = outsideJs ? 0 : raw.sampleLabelSet[i]!;
      const chunkKey = `${node}:${gcParent}:${nativeKey}`;
      let stack = stackKeys.get(chunkKey);
      if (stack === undefined) {
        const ids =
          nativeKey === '' && gcParent < 0
            ? stackOf(node)
            : mergedStack(node, nativeKey === '' ? { frames: [], enteredFromJs: false } : part!, gcParent);
        stack = { stack: ids, key: ids.join(',') };
        stackKeys.set(chunkKey, stack);
      }
      const labels = labelsFor(labelSet);
      const key = `${stack.key}|${labels.key}`;
      let entry = this.#aggregated.get(key);
      if (entry === undefined) {
        entry = { stack: stack.stack, labels: labels.labels, count: 0, cpu: 0, wall: 0 };
        this.#aggregated.set(key, entry);
      }
      entry.count++;
      entry.cpu += raw.sampleCpuNanos[i]!;
      entry.wall += raw.sampleWallNanos[i]!;
      if (++inSlice >= sliceSamples) {
        inSlice = 0;
        yield;
      }
    }
  }

  #napiCallLocation(): number {
    if (this.#napiLocation === undefined) {
      const fn = this.#functions.length + 1;
      const name = this.#strings.dedup('(Node-API call)');
      this.#functions.push(new PprofFunction({ id: fn, name, systemName: name, filename: this.#strings.dedup('') }));
      this.#napiLocation = this.#locations.length + 1;
      this.#locations.push(new Location({ id: this.#napiLocation, line: [new Line({ functionId: fn })] }));
    }
    return this.#napiLocation;
  }

  /** The profile of every chunk added so far. */
  build(time: { startNanos: number; durationNanos: number }): Profile {
    const samples: Sample[] = [];
    for (const e of this.#aggregated.values()) {
      samples.push(
        new Sample({
          locationId: e.stack,
          value: [e.count, Math.round(e.cpu), Math.round(e.wall)],
          label: e.labels,
        }),
      );
    }
    return this.#profile(time, samples);
  }

  /**
   * The encoded (not gzipped) profile of every chunk added so far: the same
   * profile as build(time).encode(), with the samples written `sliceSamples`
   * at a time (pprof-samples.ts) and a yield between slices.
   */
  *encodeInSlices(time: { startNanos: number; durationNanos: number }, sliceSamples: number): Generator<void, Uint8Array, void> {
    const writer = new SampleWriter();
    const values = [0, 0, 0];
    let inSlice = 0;
    for (const e of this.#aggregated.values()) {
      values[0] = e.count;
      values[1] = Math.round(e.cpu);
      values[2] = Math.round(e.wall);
      writer.add(e.stack, values, e.labels);
      if (++inSlice >= sliceSamples) {
        inSlice = 0;
        yield;
      }
    }
    // The sample types, the samples, then everything after them.
    const rest = this.#profile(time, []);
    const sampleTypes = rest.sampleType;
    rest.sampleType = [];
    return writer.finish(sampleTypes, rest.encode());
  }

  /** Same as encodeInSlices() in one go. */
  encode(time: { startNanos: number; durationNanos: number }): Uint8Array {
    const it = this.encodeInSlices(time, Infinity);
    for (;;) {
      const r = it.next();
      if (r.done) return r.value;
    }
  }

  #profile(time: { startNanos: number; durationNanos: number }, samples: Sample[]): Profile {
    const strings = this.#strings;
    const valueType = (type: string, unit: string) =>
      new ValueType({ type: strings.dedup(type), unit: strings.dedup(unit) });
    const sampleType = [
      valueType('samples', 'count'),
      valueType('cpu', 'nanoseconds'),
      valueType('wall', 'nanoseconds'),
    ];
    return new Profile({
      sampleType,
      mapping: this.#native.orderedMappings(this.#options.mainBinary),
      sample: samples,
      location: this.#locations,
      function: this.#functions,
      stringTable: strings,
      timeNanos: Math.round(time.startNanos),
      durationNanos: Math.round(time.durationNanos),
      periodType: valueType('cpu', 'nanoseconds'),
      period: this.#options.intervalMicros * 1000,
      defaultSampleType: strings.dedup('cpu'),
      comment: (this.#options.comments ?? []).map((c) => strings.dedup(c)),
    });
  }
}
