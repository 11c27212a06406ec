// Source maps: JavaScript frames of a pprof Profile -> the file, line and
// (where the map can tell) function name that people wrote, TypeScript or
// pre-bundle sources. A transform over a pprof-format Profile, so it serves
// start({ sourceMaps: true }), the drop-in and `labelprof report/html
// --source-maps` alike, and is tested on hand-built profiles.
//
// Maps are found the way Node's --enable-source-maps finds them: the last
// `//# sourceMappingURL=` comment of the generated file, a relative path or a
// data: URL (inline map). Each generated file and its map are read once per
// SourceMapCache; the async path reads them with fs.promises (off the event
// loop), the sync one exists for exit handlers, where nothing async runs.
// A missing or broken map leaves its frames as they were and is counted,
// never thrown.
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnyMap, LEAST_UPPER_BOUND, originalPositionFor, type TraceMap } from '@jridgewell/trace-mapping';
import { Function as PprofFunction, Line, type Profile } from 'pprof-format';

export interface SourceMapStats {
  /** Generated files whose map was read and used. */
  filesMapped: number;
  /** JavaScript files with no sourceMappingURL comment (nothing to map). */
  filesWithoutMap: number;
  /** Files named in the profile that could not be read (deleted, or not a path). */
  filesUnreadable: number;
  /** sourceMappingURL comments pointing at a map that could not be read. */
  mapsMissing: number;
  /** Maps that were read but are not valid source maps. */
  mapsBroken: number;
  /** Location lines moved to their original position. */
  framesMapped: number;
  /** Location lines in mapped files with no mapping at their position. */
  framesUnmapped: number;
}

type Entry =
  | { kind: 'mapped'; map: TraceMap }
  | { kind: 'no-map' | 'unreadable' | 'map-missing' | 'map-broken' };

// The last sourceMappingURL comment wins (a bundle may contain its inputs' comments).
const SOURCE_MAPPING_URL = /(?:\/\/|\/\*)[#@]\s*sourceMappingURL=([^\s*'"]+)\s*(?:\*\/\s*)?$/gm;

// Only JavaScript files are read: a native frame's file is a shared object
// or the node binary (which itself contains the text "sourceMappingURL=").
const JAVASCRIPT_FILE = /\.[cm]?js$/;

/** Path of a JavaScript frame's file, or undefined for anything else (native modules, node:internal, http:, ""). */
export function generatedFileOf(filename: string): string | undefined {
  const file = localPathOf(filename);
  return file !== undefined && JAVASCRIPT_FILE.test(file) ? file : undefined;
}

/** Path of a frame's file, or undefined for what is not a local file (node:internal, http:, ""). */
export function localPathOf(filename: string): string | undefined {
  if (filename.startsWith('file://')) {
    try {
      return fileURLToPath(filename);
    } catch {
      return undefined;
    }
  }
  return path.isAbsolute(filename) ? filename : undefined;
}

function lastMappingUrl(code: string): string | undefined {
  let url: string | undefined;
  for (const m of code.matchAll(SOURCE_MAPPING_URL)) url = m[1];
  return url;
}

// data:application/json;base64,... or ;charset=utf-8,... -> the JSON text.
function decodeDataUrl(url: string): string | undefined {
  const comma = url.indexOf(',');
  if (comma < 0) return undefined;
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  return meta.endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
}

function parseMap(json: string, mapPath: string): Entry {
  try {
    return { kind: 'mapped', map: new AnyMap(JSON.parse(json), mapPath) };
  } catch {
    return { kind: 'map-broken' };
  }
}

/** Where a generated file's map is: inline JSON, a path to read, or nothing. */
function locateMap(file: string, code: string): { json: string } | { mapPath: string } | undefined {
  const url = lastMappingUrl(code);
  if (url === undefined) return undefined;
  if (url.startsWith('data:')) {
    const json = decodeDataUrl(url);
    return json === undefined ? { json: '' } : { json };
  }
  const mapPath = url.startsWith('file://') ? localPathOf(url) : path.resolve(path.dirname(file), decodeURI(url));
  return mapPath === undefined ? undefined : { mapPath };
}

/** Generated files and their maps, each read once. */
export class SourceMapCache {
  readonly #entries = new Map<string, Entry>();

  /** Reads the maps of `files` not read yet, with fs.promises. */
  async load(files: Iterable<string>): Promise<void> {
    const todo = [...new Set(files)].filter((f) => !this.#entries.has(f));
    await Promise.all(
      todo.map(async (file) => {
        let code: string;
        try {
          code = await fsp.readFile(file, 'utf8');
        } catch {
          this.#entries.set(file, { kind: 'unreadable' });
          return;
        }
        const where = locateMap(file, code);
        if (where === undefined) this.#entries.set(file, { kind: 'no-map' });
        else if ('json' in where) this.#entries.set(file, parseMap(where.json, file));
        else {
          let json: string;
          try {
            json = await fsp.readFile(where.mapPath, 'utf8');
          } catch {
            this.#entries.set(file, { kind: 'map-missing' });
            return;
          }
          this.#entries.set(file, parseMap(json, where.mapPath));
        }
      }),
    );
  }

  /** Same as load(), synchronously: for exit handlers. */
  loadSync(files: Iterable<string>): void {
    for (const file of new Set(files)) {
      if (this.#entries.has(file)) continue;
      let code: string;
      try {
        code = readFileSync(file, 'utf8');
      } catch {
        this.#entries.set(file, { kind: 'unreadable' });
        continue;
      }
      const where = locateMap(file, code);
      if (where === undefined) this.#entries.set(file, { kind: 'no-map' });
      else if ('json' in where) this.#entries.set(file, parseMap(where.json, file));
      else {
        let json: string;
        try {
          json = readFileSync(where.mapPath, 'utf8');
        } catch {
          this.#entries.set(file, { kind: 'map-missing' });
          continue;
        }
        this.#entries.set(file, parseMap(json, where.mapPath));
      }
    }
  }

  /** @internal what load() found for `file`, if it was loaded. */
  entry(file: string): Entry | undefined {
    return this.#entries.get(file);
  }
}

/** The local files a profile's functions name: what load() should read. */
export function generatedFilesOf(profile: Profile): string[] {
  const strings = profile.stringTable.strings;
  const files = new Set<string>();
  for (const fn of profile.function) {
    const file = generatedFileOf(strings[Number(fn.filename)] ?? '');
    if (file !== undefined) files.add(file);
  }
  return [...files];
}

/**
 * Rewrites the profile's JavaScript frames in place to their original
 * positions, using maps already in `cache` (load() them first). Pure apart
 * from the profile it is given.
 *
 * pprof Lines carry a line and, from some producers, a column; V8's caller
 * lines have no column, so a line is looked up from its first mapped
 * segment. A function's original name comes from the map only where the
 * producer gave the function's start line (pprof Function.startLine) and the
 * map names that position; otherwise the generated name stays (tsc and
 * unminified bundles keep names).
 */
export function applySourceMaps(profile: Profile, cache: SourceMapCache): SourceMapStats {
  const stats: SourceMapStats = {
    filesMapped: 0,
    filesWithoutMap: 0,
    filesUnreadable: 0,
    mapsMissing: 0,
    mapsBroken: 0,
    framesMapped: 0,
    framesUnmapped: 0,
  };
  const strings = profile.stringTable;
  const functionsById = new Map<number, PprofFunction>();
  const mapOfFunction = new Map<number, TraceMap>();
  const counted = new Set<string>();
  for (const fn of profile.function) {
    functionsById.set(Number(fn.id), fn);
    const file = generatedFileOf(strings.strings[Number(fn.filename)] ?? '');
    if (file === undefined) continue;
    const entry = cache.entry(file);
    if (entry === undefined) continue;
    if (!counted.has(file)) {
      counted.add(file);
      if (entry.kind === 'mapped') stats.filesMapped++;
      else if (entry.kind === 'no-map') stats.filesWithoutMap++;
      else if (entry.kind === 'unreadable') stats.filesUnreadable++;
      else if (entry.kind === 'map-missing') stats.mapsMissing++;
      else stats.mapsBroken++;
    }
    if (entry.kind === 'mapped') mapOfFunction.set(Number(fn.id), entry.map);
  }
  if (mapOfFunction.size === 0) return stats;

  // One new Function per (generated function, original file, original name):
  // a bundle's one generated function table entry can cover several sources.
  let nextId = profile.function.reduce((max, f) => Math.max(max, Number(f.id)), 0) + 1;
  const mappedFunctions = new Map<string, number>();
  const originalNames = new Map<number, string | undefined>();
  const originalNameOf = (fn: PprofFunction, map: TraceMap): string | undefined => {
    const id = Number(fn.id);
    if (!originalNames.has(id)) {
      let name: string | undefined;
      if (Number(fn.startLine) > 0) {
        const pos = originalPositionFor(map, { line: Number(fn.startLine), column: 0, bias: LEAST_UPPER_BOUND });
        name = pos.name ?? undefined;
      }
      originalNames.set(id, name);
    }
    return originalNames.get(id);
  };

  for (const location of profile.location) {
    location.line = location.line.map((line) => {
      const fnId = Number(line.functionId);
      const map = mapOfFunction.get(fnId);
      if (map === undefined) return line;
      const fn = functionsById.get(fnId)!;
      // V8 reports line 0 where it knows no position (a frame inside a
      // builtin's inlined caller, some GC samples): nothing to look up, and
      // the source-map library rejects line 0.
      if (!(Number(line.line) > 0)) {
        stats.framesUnmapped++;
        return line;
      }
      const column = Number(line.column) > 0 ? Number(line.column) - 1 : 0;
      const pos = originalPositionFor(map, { line: Number(line.line), column, bias: LEAST_UPPER_BOUND });
      if (pos.source === null || pos.line === null) {
        stats.framesUnmapped++;
        return line;
      }
      stats.framesMapped++;
      const source = localPathOf(pos.source) ?? pos.source;
      const name = originalNameOf(fn, map) ?? strings.strings[Number(fn.name)] ?? '';
      const key = `${fnId}\u0000${source}\u0000${name}`;
      let newId = mappedFunctions.get(key);
      if (newId === undefined) {
        newId = nextId++;
        mappedFunctions.set(key, newId);
        profile.function.push(
          new PprofFunction({
            id: newId,
            name: strings.dedup(name),
            systemName: fn.systemName,
            filename: strings.dedup(source),
          }),
        );
      }
      return new Line({ functionId: newId, line: pos.line, column: pos.column !== null ? pos.column + 1 : 0 });
    });
  }
  // Functions no Line points at any more are dropped, so readers do not list them.
  const used = new Set<number>();
  for (const location of profile.location) for (const line of location.line) used.add(Number(line.functionId));
  profile.function = profile.function.filter((f) => used.has(Number(f.id)));
  return stats;
}

/** One line for humans and for the profile's comments. */
export function describeSourceMapStats(s: SourceMapStats): string {
  return (
    `source maps: ${s.framesMapped} frames mapped from ${s.filesMapped} files` +
    (s.framesUnmapped > 0 ? `, ${s.framesUnmapped} frames without a mapping` : '') +
    (s.mapsMissing > 0 ? `, ${s.mapsMissing} maps missing` : '') +
    (s.mapsBroken > 0 ? `, ${s.mapsBroken} maps broken` : '') +
    (s.filesUnreadable > 0 ? `, ${s.filesUnreadable} files unreadable` : '')
  );
}

// One cache per thread for profiles taken with start({ sourceMaps: true }):
// each map is read once for the life of the process.
let processCache: SourceMapCache | undefined;

function recordStats(profile: Profile, stats: SourceMapStats): SourceMapStats {
  profile.comment = [...profile.comment, profile.stringTable.dedup(`labelprof ${describeSourceMapStats(stats)}`)];
  return stats;
}

/** Maps a profile's frames, reading maps with fs.promises; counts go in the profile's comments too. */
export async function mapProfileSources(profile: Profile, cache?: SourceMapCache): Promise<SourceMapStats> {
  const c = cache ?? (processCache ??= new SourceMapCache());
  await c.load(generatedFilesOf(profile));
  return recordStats(profile, applySourceMaps(profile, c));
}

/** Same as mapProfileSources(), synchronously: for exit handlers. */
export function mapProfileSourcesSync(profile: Profile, cache?: SourceMapCache): SourceMapStats {
  const c = cache ?? (processCache ??= new SourceMapCache());
  c.loadSync(generatedFilesOf(profile));
  return recordStats(profile, applySourceMaps(profile, c));
}

/**
 * Reads, with fs.promises, the maps of the given frame file names into the
 * process cache that mapProfileSourcesSync() uses: an async caller (encode(),
 * write()) reads them off the event loop first, and the sync pass finds
 * them loaded.
 */
export async function preloadSourceMaps(filenames: Iterable<string>): Promise<void> {
  const files: string[] = [];
  for (const f of filenames) {
    const file = generatedFileOf(f);
    if (file !== undefined) files.push(file);
  }
  await (processCache ??= new SourceMapCache()).load(files);
}
