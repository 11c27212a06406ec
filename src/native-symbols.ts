// The native frames of a stopped chunk, symbolized by the addon
// (native/symbolizer.h): symbol tables in native memory, read once per
// module and shared by every stop, only the chunk's distinct addresses
// resolved, the work on a thread of the addon's (at a lower priority) for
// stop() and the continuous profiler's periods, synchronous for stopSync().
//
// What must happen at collect time, on the event loop, is small: read
// /proc/self/maps (JIT code moves and modules unload, so the addresses are
// resolved against the mappings of that moment) and index the distinct
// addresses of the walks. The same answers as nativeFramesOfSamples with the
// TypeScript Symbolizer, which stays as the fallback when the addon has no
// symbolizer (a fake binding in unit tests).
import { readFileSync } from 'node:fs';

import { native, type NativeBinding, type RawProfile, type SymbolizedAddresses } from './native';
import { nativeFramesOfSamples, splitNativeFrames, type NativeStackPart } from './native-frames';
import type { PprofChunk } from './pprof';
import { Symbolizer, type NativeFrame } from './symbolizer';

/** A chunk's walks, reduced to distinct lookups: what the symbolizer needs, taken at collect time. */
export interface PendingNativeFrames {
  raw: RawProfile;
  /** The text of /proc/self/maps when the chunk was collected. */
  maps: string;
  /** Distinct addresses to look up: leaf pcs as recorded, return addresses - 1 (inside the call). */
  lookups: Float64Array;
  /** The address each lookup reports (the pc as recorded). */
  recorded: Float64Array;
  /** Per entry of raw.pcs: its lookup. */
  slotOfPc: Int32Array;
}

/** Indexes the distinct addresses of `raw`'s walks and snapshots the mappings; undefined without native frames. */
export function pendingNativeFrames(raw: RawProfile): PendingNativeFrames | undefined {
  const { pcs, samplePcsStart, samplePcsCount } = raw;
  if (pcs === undefined || samplePcsStart === undefined || samplePcsCount === undefined) return undefined;
  // Leaf pcs and return addresses are kept apart: they are looked up differently.
  const leaves = new Map<number, number>();
  const callers = new Map<number, number>();
  const slotOfPc = new Int32Array(pcs.length);
  const lookups: number[] = [];
  const recorded: number[] = [];
  for (let i = 0; i < samplePcsStart.length; i++) {
    const start = samplePcsStart[i]!;
    const count = samplePcsCount[i]!;
    for (let k = 0; k < count; k++) {
      const pc = pcs[start + k]!;
      const index = k === 0 ? leaves : callers;
      let slot = index.get(pc);
      if (slot === undefined) {
        slot = lookups.length;
        index.set(pc, slot);
        lookups.push(k === 0 || pc <= 0 ? pc : pc - 1);
        recorded.push(pc);
      }
      slotOfPc[start + k] = slot;
    }
  }
  let maps = '';
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    // No procfs: every frame stays unnamed, as with the TypeScript symbolizer.
  }
  return { raw, maps, lookups: Float64Array.from(lookups), recorded: Float64Array.from(recorded), slotOfPc };
}

function hasNativeSymbolizer(binding: NativeBinding): boolean {
  return typeof binding.symbolize === 'function' && typeof binding.symbolizeAsync === 'function';
}

/** Per sample, the native frames under its JavaScript stack, from the addon's answer. */
function partsOf(pending: PendingNativeFrames, s: SymbolizedAddresses): NativeStackPart[] {
  const frames: NativeFrame[] = [];
  for (let i = 0; i < pending.lookups.length; i++) {
    const module = s.module[i]!;
    const name = s.name[i]!;
    const flags = s.flags[i]!;
    frames.push({
      address: BigInt(pending.recorded[i]!),
      module: module >= 0 ? s.modules[module]! : '',
      buildId: module >= 0 ? s.buildIds[module]! : '',
      functionName: name >= 0 ? s.names[name]! : '',
      fileOffset: BigInt(s.fileOffset[i]!),
      mappingStart: BigInt(s.mappingStart[i]!),
      mappingLimit: BigInt(s.mappingLimit[i]!),
      isJit: (flags & 1) !== 0,
      isJsEntry: (flags & 2) !== 0,
      isBuiltin: (flags & 4) !== 0,
    });
  }
  const { samplePcsStart, samplePcsCount } = pending.raw;
  const parts: NativeStackPart[] = [];
  for (let i = 0; i < samplePcsStart!.length; i++) {
    const start = samplePcsStart![i]!;
    const walk: NativeFrame[] = [];
    for (let k = 0; k < samplePcsCount![i]!; k++) walk.push(frames[pending.slotOfPc[start + k]!]!);
    parts.push(splitNativeFrames(walk));
  }
  return parts;
}

// Without the addon's symbolizer: the TypeScript one, on this thread.
let fallbackSymbolizer: Symbolizer | undefined;
function partsInTypeScript(pending: PendingNativeFrames): NativeStackPart[] {
  fallbackSymbolizer ??= new Symbolizer((names) => native().demangle(names));
  const { pcs, samplePcsStart, samplePcsCount } = pending.raw;
  const walks: bigint[][] = [];
  for (let i = 0; i < samplePcsStart!.length; i++) {
    const walk: bigint[] = [];
    for (let k = 0; k < samplePcsCount![i]!; k++) walk.push(BigInt(pcs![samplePcsStart![i]! + k]!));
    walks.push(walk);
  }
  return nativeFramesOfSamples(walks, fallbackSymbolizer);
}

/** The native frames of a pending chunk, on this thread (stopSync, exit handlers). */
export function nativeFramesSync(pending: PendingNativeFrames): NativeStackPart[] {
  const binding = native();
  if (!hasNativeSymbolizer(binding)) return partsInTypeScript(pending);
  return partsOf(pending, binding.symbolize(pending.lookups, pending.maps));
}

/** The same, the lookups on the addon's own thread: the event loop only builds the frames of the distinct addresses. */
export async function nativeFramesAsync(pending: PendingNativeFrames): Promise<NativeStackPart[]> {
  const binding = native();
  if (!hasNativeSymbolizer(binding)) return partsInTypeScript(pending);
  return partsOf(pending, await binding.symbolizeAsync(pending.lookups, pending.maps));
}

/**
 * A chunk whose native frames are being symbolized off the event loop.
 * `ready` settles (never rejects) once chunk.native is set; finishSync()
 * sets it now, on this thread, if the addon's thread has not yet (stopSync after a
 * period was cut, exit handlers), and the late answer is then ignored.
 */
export class DeferredChunk {
  readonly chunk: PprofChunk;
  #pending: PendingNativeFrames | undefined;
  #ready: Promise<PprofChunk> | undefined;

  constructor(chunk: PprofChunk, pending: PendingNativeFrames | undefined) {
    this.chunk = chunk;
    this.#pending = pending;
    if (pending !== undefined) deferredOf.set(chunk, this);
  }

  /**
   * The chunk once its native frames are final; the first access queues the
   * work on the addon's thread (a chunk finished with finishSync() never queues any:
   * an exit handler leaves nothing behind to settle during teardown).
   */
  get ready(): Promise<PprofChunk> {
    if (this.#ready === undefined) {
      const pending = this.#pending;
      if (pending === undefined) {
        this.#ready = Promise.resolve(this.chunk);
      } else {
        this.#ready = nativeFramesAsync(pending).then(
          (parts) => this.#settle(parts),
          (err) => {
            // The profile keeps its JavaScript stacks; say why the native frames are missing.
            if (this.#pending !== undefined) {
              process.emitWarning(`labelprof: could not symbolize native frames: ${(err as Error)?.message ?? String(err)}`, {
                code: 'LABELPROF_SYMBOLIZE_FAILED',
              });
            }
            return this.#settle(undefined);
          },
        );
      }
    }
    return this.#ready;
  }

  /** Whether chunk.native is final. */
  get done(): boolean {
    return this.#pending === undefined;
  }

  /** Symbolizes now, on this thread, unless already done; returns the chunk. */
  finishSync(): PprofChunk {
    const pending = this.#pending;
    if (pending !== undefined) this.#settle(nativeFramesSync(pending));
    return this.chunk;
  }

  #settle(parts: NativeStackPart[] | undefined): PprofChunk {
    if (this.#pending !== undefined) {
      this.#pending = undefined;
      this.chunk.native = parts;
      deferredOf.delete(this.chunk);
    }
    return this.chunk;
  }
}

const deferredOf = new WeakMap<PprofChunk, DeferredChunk>();

/** Whether every chunk's native frames are final. */
export function chunksReady(chunks: readonly PprofChunk[]): boolean {
  return chunks.every((c) => deferredOf.get(c) === undefined);
}

/** Settles once every chunk's native frames are final. */
export async function whenChunksReady(chunks: readonly PprofChunk[]): Promise<void> {
  for (const c of chunks) await deferredOf.get(c)?.ready;
}

/** Finishes every chunk's native frames now, on this thread. */
export function finishChunksSync(chunks: readonly PprofChunk[]): void {
  for (const c of chunks) deferredOf.get(c)?.finishSync();
}
