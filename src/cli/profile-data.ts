// Reading a pprof file from any producer (labelprof, @datadog/pprof, Go's
// runtime/pprof, ...) into the flat shape the commands share: functions,
// samples with leaf-first stacks, string labels and values per sample type.
// Every way a file can be wrong becomes a CliError naming the file.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

import { mapProfileSources, describeSourceMapStats } from '../source-maps';
import { CliError } from './args';

export type FrameKind = 'js' | 'native' | 'v8';

export interface FunctionInfo {
  name: string;
  file: string;
  kind: FrameKind;
}

export interface SampleData {
  /** Function indices, leaf first (inlined frames expanded). */
  stack: number[];
  /** Line of each frame of `stack` (0 when unknown). */
  lines: number[];
  /** One value per sample type. */
  values: number[];
  /** String labels, key -> value. */
  labels: Record<string, string>;
}

export interface ProfileData {
  file: string;
  sampleTypes: Array<{ type: string; unit: string }>;
  /** Index of the producer's default sample type. */
  defaultType: number;
  durationNanos: number;
  functions: FunctionInfo[];
  samples: SampleData[];
  comments: string[];
}

// Pseudo-frames: V8's (and labelprof's) "(garbage collector)", "(program)",
// "(idle)", "(root)", "(Node-API call)", and @datadog/pprof's own names. They
// have no file; "(anonymous)" and V8's builtins (runMicrotasks) are
// JavaScript functions even where they have no file either.
const PSEUDO = new Set([
  '(garbage collector)',
  '(program)',
  '(idle)',
  '(root)',
  '(Node-API call)',
  'Garbage Collection',
  'Non JS threads activity',
  'Program',
  'Idle',
]);
const JS_FILE = /\.(?:[cm]?js|[cm]?ts|jsx|tsx)$|^node:|^file:|^https?:|^evalmachine|^webpack:/;

export function frameKind(name: string, file: string, hasMapping: boolean): FrameKind {
  if (file === '' && PSEUDO.has(name)) return 'v8';
  if (JS_FILE.test(file)) return 'js';
  return hasMapping ? 'native' : 'js';
}

function decodeBytes(file: string, bytes: Buffer): Profile {
  let raw: Uint8Array = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzipSync(bytes);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR' ? 'truncated' : 'corrupt';
      throw new CliError(`${file}: ${why} gzip data (${(err as Error).message})`);
    }
  }
  let profile: Profile;
  try {
    profile = Profile.decode(raw);
  } catch (err) {
    throw new CliError(
      raw === bytes
        ? `${file}: not a pprof profile (neither gzip nor a pprof protobuf)`
        : `${file}: gunzipped, but not a pprof profile (${(err as Error).message})`,
    );
  }
  const problem = checkProfile(profile);
  if (problem !== undefined) {
    throw new CliError(
      raw === bytes
        ? `${file}: not a pprof profile (neither gzip nor a pprof protobuf: ${problem})`
        : `${file}: gunzipped, but not a pprof profile (${problem})`,
    );
  }
  return profile;
}

// A protobuf decodes from almost any bytes: these are the checks that a
// decoded message is a profile whose references hold.
function checkProfile(p: Profile): string | undefined {
  const n = p.stringTable.strings.length;
  if (n === 0 || p.stringTable.strings[0] !== '') return 'its string table does not start with ""';
  if (p.sampleType.length === 0) return 'no sample types';
  const str = (i: unknown) => Number(i) >= 0 && Number(i) < n;
  for (const t of p.sampleType) if (!str(t.type) || !str(t.unit)) return 'a sample type names a string out of range';
  const functions = new Set(p.function.map((f) => Number(f.id)));
  for (const f of p.function) if (!str(f.name) || !str(f.filename)) return `function ${f.id} names a string out of range`;
  const locations = new Set(p.location.map((l) => Number(l.id)));
  for (const l of p.location) {
    for (const line of l.line) if (!functions.has(Number(line.functionId))) return `location ${l.id} points at a missing function`;
  }
  for (const s of p.sample) {
    if (s.value.length !== p.sampleType.length) return 'a sample has a different number of values than sample types';
    for (const id of s.locationId) if (!locations.has(Number(id))) return `a sample points at missing location ${id}`;
    for (const l of s.label) if (!str(l.key) || !str(l.str)) return 'a label names a string out of range';
  }
  return undefined;
}

/** Reads and checks a pprof file (gzipped or not). */
export function readPprof(file: string): Profile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new CliError(`cannot read ${file}: ${why}`);
  }
  if (bytes.length === 0) throw new CliError(`${file}: empty file, not a pprof profile`);
  return decodeBytes(file, bytes);
}

/** A decoded pprof Profile -> the commands' flat shape. */
export function profileData(file: string, p: Profile): ProfileData {
  const strings = p.stringTable.strings;
  const str = (i: unknown) => strings[Number(i)] ?? '';
  const functionIndex = new Map<string, number>();
  const functions: FunctionInfo[] = [];
  const fnById = new Map(p.function.map((f) => [Number(f.id), f]));
  const indexOf = (name: string, fileName: string, kind: FrameKind): number => {
    const key = `${kind}\u0000${name}\u0000${fileName}`;
    let i = functionIndex.get(key);
    if (i === undefined) {
      i = functions.length;
      functions.push({ name, file: fileName, kind });
      functionIndex.set(key, i);
    }
    return i;
  };
  // Per location: its frames, leaf first (pprof lists inlined callees first).
  const locationFrames = new Map<number, { fns: number[]; lines: number[] }>();
  for (const loc of p.location) {
    const hasMapping = Number(loc.mappingId) !== 0;
    const fns: number[] = [];
    const lines: number[] = [];
    for (const line of loc.line) {
      const fn = fnById.get(Number(line.functionId))!;
      const name = str(fn.name) || str(fn.systemName) || '(unknown)';
      const fileName = str(fn.filename);
      fns.push(indexOf(name, fileName, frameKind(name, fileName, hasMapping)));
      lines.push(Number(line.line));
    }
    if (loc.line.length === 0) {
      // Unsymbolized: the address is all there is.
      fns.push(indexOf(`0x${BigInt(loc.address).toString(16)}`, '', 'native'));
      lines.push(0);
    }
    locationFrames.set(Number(loc.id), { fns, lines });
  }
  const samples: SampleData[] = p.sample.map((s) => {
    const stack: number[] = [];
    const lines: number[] = [];
    for (const id of s.locationId) {
      const f = locationFrames.get(Number(id))!;
      for (let k = 0; k < f.fns.length; k++) {
        stack.push(f.fns[k]!);
        lines.push(f.lines[k]!);
      }
    }
    const labels: Record<string, string> = {};
    for (const l of s.label) if (Number(l.str) !== 0) labels[str(l.key)] = str(l.str);
    return { stack, lines, values: s.value.map(Number), labels };
  });
  const sampleTypes = p.sampleType.map((t) => ({ type: str(t.type), unit: str(t.unit) }));
  const def = Number(p.defaultSampleType) !== 0 ? sampleTypes.findIndex((t) => t.type === str(p.defaultSampleType)) : -1;
  return {
    file,
    sampleTypes,
    defaultType: def >= 0 ? def : sampleTypes.length - 1,
    durationNanos: Number(p.durationNanos),
    functions,
    samples,
    comments: p.comment.map(str),
  };
}

/** Reads a profile for a command; with `sourceMaps`, maps its frames first. */
export async function loadProfile(file: string, options: { sourceMaps?: boolean } = {}): Promise<ProfileData> {
  const p = readPprof(file);
  if (options.sourceMaps === true) {
    const stats = await mapProfileSources(p);
    process.stderr.write(`labelprof: ${describeSourceMapStats(stats)}\n`);
  }
  return profileData(file, p);
}

/** `--sample cpu|wall|samples` -> the index of that sample type, or a CliError listing what the file has. */
export function sampleTypeIndex(data: ProfileData, wanted: string | undefined): number {
  if (wanted === undefined) return data.defaultType;
  const names = wanted === 'samples' ? ['samples', 'sample'] : [wanted];
  const i = data.sampleTypes.findIndex((t) => names.includes(t.type));
  if (i < 0) {
    const has = data.sampleTypes.map((t) => `${t.type}/${t.unit}`).join(', ');
    throw new CliError(`--sample ${wanted}: ${data.file} has no such values (it has ${has})`);
  }
  return i;
}
