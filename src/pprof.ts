// A stopped profile (flat arrays from the addon) -> pprof Profile. Pure: no
// addon, no I/O, so it is tested on hand-built fixtures.
//
// Samples are aggregated by (stack, label set), as Go does. V8's call tree
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

export interface PprofInput {
  raw: RawProfile;
  intervalMicros: number;
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
  /** Path of the program's own executable (listed first among the mappings). */
  mainBinary?: string;
}

// V8's pseudo-frames: a sample with one of these as its only frame has no
// JavaScript stack for native frames to go under.
const REPLACEABLE_PSEUDO = new Set(['(program)', '(idle)']);

export function toPprof({ raw, intervalMicros, labelsOf, unlabelledOutsideJs, native, mainBinary }: PprofInput): Profile {
  const strings = new StringTable();
  const functions: PprofFunction[] = [];
  const locations: Location[] = [];
  const functionIds = new Map<string, number>();
  const locationIds = new Map<string, number>();

  const functionId = (node: number): number => {
    const name = raw.nodeName[node] ?? '(unknown)';
    const url = raw.nodeUrl[node] ?? '';
    const key = `${raw.nodeScriptId[node]}\u0000${url}\u0000${name}\u0000${raw.nodeColumn[node]}`;
    let id = functionIds.get(key);
    if (id === undefined) {
      id = functions.length + 1;
      functions.push(
        new PprofFunction({
          id,
          name: strings.dedup(name),
          systemName: strings.dedup(name),
          filename: strings.dedup(url),
        }),
      );
      functionIds.set(key, id);
    }
    return id;
  };

  const locationId = (node: number, line: number): number => {
    const fn = functionId(node);
    const key = `${fn}:${line}`;
    let id = locationIds.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      locations.push(new Location({ id, line: [new Line({ functionId: fn, line })] }));
      locationIds.set(key, id);
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
  const nativeLocations = new NativeLocations(strings, locations, functions);
  const mergedStack = (leaf: number, part: NativeStackPart, gcParent: number): number[] => {
    const nativeIds = part.frames.map((f) => nativeLocations.locationId(f));
    let js = stackOf(leaf);
    // A GC sample goes under the JavaScript stack that triggered its GC.
    if (gcParent >= 0) js = js.concat(stackOf(gcParent));
    if (isRootPseudo(leaf) && !part.enteredFromJs) return nativeIds;
    // Every Node-API function enters C++ through one shared trampoline, and
    // V8's profiler names that address after whichever Node-API function it
    // saw first: the JavaScript leaf of such a call is a wrong name. The
    // native frames above it name the real callee.
    if (raw.nodeUrl[leaf] === '' && part.frames.some((f) => f.functionName.startsWith('v8impl::'))) {
      js = [napiCallLocation(), ...js.slice(1)];
    }
    return nativeIds.concat(js);
  };
  let napiLocation: number | undefined;
  const napiCallLocation = (): number => {
    if (napiLocation === undefined) {
      const fn = functions.length + 1;
      functions.push(new PprofFunction({ id: fn, name: strings.dedup('(Node-API call)'), systemName: strings.dedup('(Node-API call)'), filename: strings.dedup('') }));
      napiLocation = locations.length + 1;
      locations.push(new Location({ id: napiLocation, line: [new Line({ functionId: fn })] }));
    }
    return napiLocation;
  };

  const labelCache = new Map<number, Label[]>();
  const labelsFor = (id: number): Label[] => {
    let labels = labelCache.get(id);
    if (labels === undefined) {
      const set = labelsOf(id);
      labels = Object.keys(set)
        .sort()
        .map((k) => new Label({ key: strings.dedup(k), str: strings.dedup(set[k]!) }));
      labelCache.set(id, labels);
    }
    return labels;
  };

  // Aggregate by (stack, label set): the leaf node fixes the JavaScript
  // stack, the native part's addresses the rest.
  type Entry = { node: number; labelSet: number; part: NativeStackPart | undefined; gcParent: number; count: number; cpu: number; wall: number };
  const aggregated = new Map<string, Entry>();
  for (let i = 0; i < raw.sampleNode.length; i++) {
    const node = raw.sampleNode[i]!;
    const part = native?.[i];
    const nativeKey = part === undefined || part.frames.length === 0 ? '' : part.frames.map((f) => f.address).join(',');
    const gcParent = raw.sampleGcParent?.[i] ?? -1;
    const outsideJs = unlabelledOutsideJs === true && gcParent < 0 && part?.enteredFromJs !== true && isRootPseudo(node);
    const labelSet = outsideJs ? 0 : raw.sampleLabelSet[i]!;
    const key = `${node}:${labelSet}:${gcParent}:${nativeKey}`;
    let entry = aggregated.get(key);
    if (entry === undefined) {
      entry = { node, labelSet, part: nativeKey === '' ? undefined : part, gcParent, count: 0, cpu: 0, wall: 0 };
      aggregated.set(key, entry);
    }
    entry.count++;
    entry.cpu += raw.sampleCpuNanos[i]!;
    entry.wall += raw.sampleWallNanos[i]!;
  }

  const samples: Sample[] = [];
  for (const e of aggregated.values()) {
    samples.push(
      new Sample({
        locationId:
          e.part === undefined && e.gcParent < 0
            ? stackOf(e.node)
            : mergedStack(e.node, e.part ?? { frames: [], enteredFromJs: false }, e.gcParent),
        value: [e.count, Math.round(e.cpu), Math.round(e.wall)],
        label: labelsFor(e.labelSet),
      }),
    );
  }

  const valueType = (type: string, unit: string) =>
    new ValueType({ type: strings.dedup(type), unit: strings.dedup(unit) });
  const sampleType = [
    valueType('samples', 'count'),
    valueType('cpu', 'nanoseconds'),
    valueType('wall', 'nanoseconds'),
  ];
  return new Profile({
    sampleType,
    mapping: nativeLocations.orderedMappings(mainBinary),
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: Math.round(raw.startNanos),
    durationNanos: Math.round(raw.durationNanos),
    periodType: valueType('cpu', 'nanoseconds'),
    period: intervalMicros * 1000,
    defaultSampleType: strings.dedup('cpu'),
  });
}
