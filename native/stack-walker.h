// The native stack walk taken inside the SIGPROF handler (Linux, x86-64 and
// arm64; what differs between them is in cpu-context.h).
//
// Node's own code, V8's builtins and JIT code keep frame pointers; Debian's
// x86-64 glibc (and libstdc++, libgcc_s, libm, ld.so) does not, and some of
// its functions use rbp as a general register. So the walk uses the compiled
// .eh_frame CFI (unwind-table.h) wherever a pc falls inside a module that has
// it, and the frame-pointer chain everywhere else (JIT code, builtins remapped
// by V8, gaps between FDEs). On arm64 the CFI also says whether the
// interrupted frame's return address is still in x30 (cpu-context.h).
//
// Faults are impossible by construction rather than caught: every memory read
// the walk makes is an aligned 8-byte load inside [interrupted sp - red zone,
// stack top) of the interrupted thread, clamped to its stack bounds: the live
// stack and (x86-64) its red zone, which are mapped while the thread runs.
#pragma once

#include <cstdint>
#include <string>

#include "cpu-context.h"
#include "unwind-table.h"

namespace labelprof {

// The stack of one thread: [lo, hi), from pthread_getattr_np.
// Captured on that thread, off the signal path; read by the handler.
struct ThreadStackBounds {
  uintptr_t lo = 0;
  uintptr_t hi = 0;
};

// How a walk ended (bits of the `flags` out-parameter), as stats() counts
// them. A walk with none of them stopped early for another reason (off the
// thread's stack, at generated code, at CFI it cannot follow).
enum WalkFlags : uint32_t {
  kWalkReachedEnd = 1u << 0,     // outermost frame (undefined RA, or RA 0): a complete stack
  kWalkTruncated = 1u << 1,      // max_depth reached
  kWalkBadFrame = 1u << 2,       // a frame failed a range, alignment or order check
  kWalkStoppedAtCode = 1u << 7,  // stopped at the first pc outside every module (JIT, builtins)
};

// Isolate thread, off the signal path (at start()): (re)builds the CFI table
// of every loaded module (cached per module: a rebuild compiles only objects
// loaded since the last one) and publishes it atomically. Call it again
// after loading a native addon to cover it. Returns false with a message on
// failure; walks then use frame pointers alone.
bool PrepareUnwindTables(std::string* error);
bool PrepareUnwindTables(const UnwindOptions& options, std::string* error);

// Counters of the last build (modules, rows, bytes, build time).
UnwindTableStats GetUnwindTableStats();

// On the thread to be sampled, off the signal path (at start(), and on each
// Worker's own thread): the bounds the walk restricts its reads to. False,
// with the reason, also on a CPU the walk does not know (native frames are
// then turned off).
bool CaptureCurrentThreadStack(ThreadStackBounds* out, std::string* error);

// Called in the signal handler: no allocation, no lock. Walks from the
// interrupted context (a ucontext_t*), writing the leaf pc and then return
// addresses, leaf first, into pcs[0..max_depth). `stack` must be the bounds of
// the thread the signal interrupted. Returns the number of pcs written;
// `flags` (optional) receives WalkFlags.
// With `stop_at_code`, the walk ends after the first pc that lies in no
// module of the table (V8's JIT code or its remapped builtins): the frames
// above it are JavaScript, which V8's own sample already holds.
int WalkNativeStackSignalSafe(const void* ucontext, const ThreadStackBounds& stack, uint64_t* pcs,
                              int max_depth, uint32_t* flags = nullptr, bool stop_at_code = false);

// Called in the signal handler: no allocation, no lock. The same walk with
// a table the caller pinned (unwind_table::AcquireSignalSafe, released after
// this returns; null: frame pointers alone). The handler pins early, to
// prefetch what the walk reads first, and saves the walk its own pin.
int WalkPinnedSignalSafe(const void* ucontext, const ThreadStackBounds& stack,
                         const UnwindTable* table, uint64_t* pcs, int max_depth, uint32_t* flags,
                         bool stop_at_code);

// Called in the signal handler: no allocation, no lock. The same walk from
// explicit registers (tests, and callers that already decoded the context).
int WalkFromRegistersSignalSafe(const cpu::Registers& regs, const ThreadStackBounds& stack,
                                uint64_t* pcs, int max_depth, uint32_t* flags = nullptr,
                                bool stop_at_code = false);

}  // namespace labelprof
