// Which native frames of a sample go under its JavaScript stack. Pure: takes
// the walk (leaf first) and a symbolizer, so it is tested on fixtures.
//
// V8's profile already holds the JavaScript part of the stack, from the
// function that was running down to the event loop's entry into JavaScript.
// What V8 cannot see is the native code running on top of it: a libc leaf,
// zlib, OpenSSL, a C++ binding, the garbage collector. Those are the frames
// from the leaf up to the first frame that belongs to V8's generated code —
// JIT code, or an embedded builtin (the interpreter, the CEntry and API
// callback trampolines, the JS entry stubs are all `Builtins_*`).
//
// A walk that meets no generated code at all did not come from JavaScript:
// idle time in the event loop (epoll_pwait <- uv__io_poll <- uv_run <-
// node::...), or node's own C++ between callbacks. Then every frame is kept.

import type { NativeFrame, SymbolizeOptions } from './symbolizer';

/** The part of a Symbolizer this module needs (a fake in unit tests). */
export interface FrameSymbolizer {
  symbolize(addresses: readonly bigint[], options?: SymbolizeOptions): NativeFrame[];
}

export interface NativeStackPart {
  /** Leaf first: the frames to put under the JavaScript stack. */
  frames: NativeFrame[];
  /** True when the walk reached V8-generated code (the cut happened). */
  enteredFromJs: boolean;
}

/** Whether a frame belongs to V8's generated code (JIT or builtin). */
export function isGeneratedCode(frame: NativeFrame): boolean {
  return frame.isJit || frame.isJsEntry || frame.isBuiltin;
}

/** Splits already-symbolized frames (leaf first) at the first generated-code frame. */
export function splitNativeFrames(frames: readonly NativeFrame[]): NativeStackPart {
  const cut = frames.findIndex(isGeneratedCode);
  if (cut < 0) return { frames: frames.slice(), enteredFromJs: false };
  return { frames: frames.slice(0, cut), enteredFromJs: true };
}

/**
 * The native frames under the JavaScript stack of each sample (its walk as
 * the handler recorded it: the interrupted pc, then return addresses),
 * symbolizing each distinct address once
 * (a profile repeats the same few hundred pcs thousands of times). Leaf pcs
 * and return addresses are kept apart because they are looked up differently.
 * Samples share NativeFrame objects: treat them as read-only.
 */
export function nativeFramesOfSamples(
  samples: ReadonlyArray<readonly bigint[]>,
  symbolizer: FrameSymbolizer,
): NativeStackPart[] {
  const leaves = new Map<bigint, number>();
  const callers = new Map<bigint, number>();
  for (const pcs of samples) {
    pcs.forEach((pc, i) => {
      const index = i === 0 ? leaves : callers;
      if (!index.has(pc)) index.set(pc, index.size);
    });
  }
  const leafFrames = symbolizer.symbolize([...leaves.keys()]);
  // Return addresses: looked up inside the call, reported as recorded.
  const callerKeys = [...callers.keys()];
  const callerFrames = symbolizer.symbolize(callerKeys.map((pc) => (pc > 0n ? pc - 1n : pc)));
  callerFrames.forEach((frame, i) => {
    frame.address = callerKeys[i];
  });
  return samples.map((pcs) =>
    splitNativeFrames(
      pcs.map((pc, i) => (i === 0 ? leafFrames[leaves.get(pc) as number] : callerFrames[callers.get(pc) as number])),
    ),
  );
}
