// A stopped profile: one or more chunks of samples (a period may be cut
// where an endpoint request began or ended), encoded to gzipped pprof on
// demand. Files are written atomically.
import { closeSync, fsyncSync, openSync, promises as fsp, realpathSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import type { Profile as PprofProfile } from 'pprof-format';

import { checkString } from './errors';
import { labelsOfId, type Labels } from './label-sets';
import type { NativeStats, RawProfile } from './native';
import { DeferredChunk, pendingNativeFrames } from './native-symbols';
import { displacedMessage, PprofBuilder, type PprofChunk } from './pprof';
import { mapProfileSourcesSync, preloadSourceMaps } from './source-maps';
import { labelsForProfile } from './profile-labels';

const gzipAsync = promisify(gzip);

let mainBinary: string | undefined;
export function mainBinaryPath(): string {
  if (mainBinary === undefined) {
    try {
      mainBinary = realpathSync(process.execPath);
    } catch {
      mainBinary = process.execPath;
    }
  }
  return mainBinary;
}

// Warned once per thread: a displaced handler cuts every later profile short.
let warnedDisplaced = false;

/**
 * A chunk as the addon handed it over, made self-contained: label-set ids
 * resolved now, while they still name the sets they recorded (ids are reused
 * once their sets are gone and their samples assembled), and the native
 * frames symbolized against the mappings of now (src/native-symbols.ts) on
 * the addon's own thread: await `ready` before using the chunk, or call
 * finishSync() (exit handlers).
 */
export function chunkOfRawDeferred(raw: RawProfile): DeferredChunk {
  if (raw.stats.displaced && !warnedDisplaced) {
    warnedDisplaced = true;
    process.stderr.write(`${displacedMessage(raw.stats.displacedAtNanos, raw.startNanos)} (stats().displaced)\n`);
  }
  const labels = new Map<number, Labels>();
  for (const id of raw.sampleLabelSet) if (!labels.has(id)) labels.set(id, labelsOfId(id));
  const chunk: PprofChunk = {
    raw,
    labelsOf: (id) => labelsForProfile(labels.get(id) ?? {}),
    unlabelledOutsideJs: raw.stats.labelSource === 'slot',
    native: undefined,
  };
  return new DeferredChunk(chunk, pendingNativeFrames(raw));
}

/** Counters of several chunks as one: sums, except the medians and maxima. */
function mergeStats(chunks: readonly PprofChunk[]): NativeStats {
  const all = chunks.map((c) => c.raw.stats);
  const out: Record<string, unknown> = { ...all[all.length - 1] };
  for (const [key, value] of Object.entries(out)) {
    if (typeof value !== 'number') continue;
    if (key === 'handlerMaxNanos') out[key] = Math.max(...all.map((s) => s.handlerMaxNanos));
    else if (key === 'handlerMedianNanos') {
      const medians = all.map((s) => s.handlerMedianNanos).sort((a, b) => a - b);
      out[key] = medians[medians.length >> 1];
    } else out[key] = all.reduce((sum, s) => sum + (((s as unknown as Record<string, number>)[key]) ?? 0), 0);
  }
  out.displaced = all.some((s) => s.displaced);
  return out as unknown as NativeStats;
}

// How many samples to add (or write) between two turns of the event loop in
// encode(). With a label set per request (span ids) adding a sample took
// 2-4 us in the first periods of a process (cold code, bench/continuous.js),
// so 1000 keeps a slice to a few milliseconds, under the 20 ms an
// application may tolerate as a block; a turn of the loop costs microseconds.
const SLICE_SAMPLES = 1000;

/** A stopped profile. Encode it to gzipped pprof, or write it to a file. */
export class Profile {
  readonly #chunks: readonly PprofChunk[];
  readonly #intervalMicros: number;
  readonly #comments: readonly string[];
  readonly #sourceMaps: boolean;
  #encoded: Buffer | undefined;

  /** @internal */
  constructor(chunks: readonly PprofChunk[], intervalMicros: number, comments: readonly string[] = [], sourceMaps = false) {
    if (chunks.length === 0) throw new Error('labelprof: a profile needs at least one chunk');
    this.#chunks = chunks;
    this.#intervalMicros = intervalMicros;
    // A displaced handler cut the profile short: the profile says so.
    const displaced = chunks.find((c) => c.raw.stats.displaced);
    this.#comments = displaced === undefined ? comments : [...comments, displacedMessage(displaced.raw.stats.displacedAtNanos, displaced.raw.startNanos)];
    this.#sourceMaps = sourceMaps;
  }

  /** @internal the chunks, for merging profiles */
  get _chunks(): readonly PprofChunk[] {
    return this.#chunks;
  }

  /** Number of samples (V8's, after dropping those no signal of ours produced). */
  get sampleCount(): number {
    return this.#chunks.reduce((n, c) => n + c.raw.sampleNode.length, 0);
  }

  /** Wall-clock start. */
  get startTime(): Date {
    return new Date(this.startNanos / 1e6);
  }

  /** Wall-clock start, nanoseconds since the Unix epoch (as the pprof's time_nanos). */
  get startNanos(): number {
    return this.#chunks[0]!.raw.startNanos;
  }

  /** Length of the profiled interval; periods follow one another without a gap. */
  get durationNanos(): number {
    return this.#chunks.reduce((n, c) => n + c.raw.durationNanos, 0);
  }

  /** Counters of the profiling run that produced this profile. */
  get stats(): NativeStats {
    return mergeStats(this.#chunks);
  }

  #builder(): PprofBuilder {
    return new PprofBuilder({ intervalMicros: this.#intervalMicros, mainBinary: mainBinaryPath(), comments: this.#comments });
  }

  #time(): { startNanos: number; durationNanos: number } {
    return { startNanos: this.startNanos, durationNanos: this.durationNanos };
  }

  // start({ sourceMaps: true }): frames to the sources people wrote (source-maps.ts).
  #build(builder: PprofBuilder): PprofProfile {
    const pprof = builder.build(this.#time());
    if (this.#sourceMaps) mapProfileSourcesSync(pprof);
    return pprof;
  }

  /** The pprof-format Profile object (uncompressed, not encoded): a new one on each call. */
  toPprof(): PprofProfile {
    const builder = this.#builder();
    for (const chunk of this.#chunks) builder.addChunk(chunk);
    return this.#build(builder);
  }

  /**
   * Gzipped pprof bytes, as `go tool pprof` and Pyroscope read them. The
   * samples are added, then written, a slice at a time with a turn of the
   * event loop between slices, and gzip runs on libuv's threads.
   */
  async encode(): Promise<Buffer> {
    if (this.#encoded === undefined) {
      const builder = this.#builder();
      for (const chunk of this.#chunks) {
        for (const _ of builder.addChunkInSlices(chunk, SLICE_SAMPLES)) await yieldToLoop();
      }
      if (this.#sourceMaps) {
        // Source maps are read off the event loop here; #build() then finds
        // them cached. Mapping rewrites the whole profile object, so the
        // samples are written in one go.
        await preloadSourceMaps(this.#chunks.flatMap((c) => c.raw.nodeUrl));
        this.#encoded = await gzipAsync(this.#build(builder).encode());
      } else {
        const encoding = builder.encodeInSlices(this.#time(), SLICE_SAMPLES);
        let step;
        while (!(step = encoding.next()).done) await yieldToLoop();
        this.#encoded = await gzipAsync(step.value);
      }
    }
    return Buffer.from(this.#encoded);
  }

  /** Same as encode(), synchronously: for exit handlers, where nothing async runs. */
  encodeSync(): Buffer {
    if (this.#encoded === undefined) {
      const builder = this.#builder();
      for (const chunk of this.#chunks) builder.addChunk(chunk);
      this.#encoded = gzipSync(this.#sourceMaps ? this.#build(builder).encode() : builder.encode(this.#time()));
    }
    return Buffer.from(this.#encoded);
  }

  /** Writes the gzipped pprof to `path`, atomically (a temporary file, then a rename). */
  async write(path: string): Promise<void> {
    checkString('path', path);
    const bytes = await this.encode();
    const temporary = temporaryPath(path);
    try {
      const handle = await fsp.open(temporary, 'w', 0o644);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(temporary, path);
    } catch (err) {
      await fsp.unlink(temporary).catch(() => {});
      throw err;
    }
  }

  /** Same as write(), synchronously: for exit handlers. */
  writeSync(path: string): void {
    checkString('path', path);
    writeFileAtomicSync(path, this.encodeSync());
  }
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

let temporaryCounter = 0;
function temporaryPath(path: string): string {
  return `${path}.${process.pid}.${++temporaryCounter}.tmp`;
}

/** Writes `bytes` to `path` through a temporary file and a rename: readers never see a partial file. */
export function writeFileAtomicSync(path: string, bytes: Uint8Array): void {
  const temporary = temporaryPath(path);
  try {
    const fd = openSync(temporary, 'w', 0o644);
    try {
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (err) {
    try {
      unlinkSync(temporary);
    } catch {
      // never created
    }
    throw err;
  }
}
