// SIGPROF: our handler, installed after V8's and chained to it.
//
// V8 installs its own SIGPROF handler inside CpuProfiler::StartProfiling and
// restores the previous disposition when its last sampler stops; its handler
// does not chain. So ours goes in after StartProfiling, saves V8's as the one
// to chain to, and comes out before StopProfiling. Several isolates (the main
// thread and Workers) share the one process-wide handler: it finds the
// sampler of the interrupted thread in a fixed table.
//
// Other handlers that chain (@datadog/pprof's time profiler, a second copy
// of this addon loaded from another path) may go on top of ours and call it.
// Then ours must never be taken out from under them, and must never save
// them as the handler to chain to (the two would call each other until the
// stack overflows). The rules, in signal-handler.cc:
// - once displaced, ours stays a pass-through to what it displaced, for as
//   long as the process lives, because whoever displaced it may call it;
// - before installing over a handler, when ours may be in that handler's
//   chain, a probe signal tells whether it reaches ours; if it does, ours
//   stays where it is (it gets the signals through them) instead;
// - what ours chains to is an immutable record behind an atomic pointer,
//   replaced (never overwritten) by a later install and freed only once no
//   handler can still be reading it;
// - a handler that finds itself re-entered on its own thread (a cycle built
//   by someone else) returns at once instead of recursing.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "context-frame.h"
#include "handler-timing.h"
#include "sample-ring.h"
#include "stack-walker.h"
#include "thread-cpu-clock.h"

namespace labelprof {

// What the handler needs to know about one profiled thread. Owned by that
// thread's ProfilerInstance; fields are written on that thread only, before
// registration or after `accepting` is cleared. The handler reads it only on
// the thread it belongs to, so another thread's handler can never read a
// sampler that is being freed (a terminated Worker's).
struct ThreadSampler {
  std::atomic<bool> accepting{false};
  // Our handler is running on this thread (the re-entry guard of a
  // registered thread; signal-handler.cc). Touched by the handler only.
  std::atomic<bool> inside{false};
  SampleRing ring;
  // Native memory JavaScript writes the current label-set id into (an
  // ArrayBuffer's backing store, which never moves).
  const volatile int32_t* label_slot = nullptr;
  // Where labels live in the AsyncContextFrame (Node 24+): read them there
  // instead of the slot. Null: use the slot.
  const ContextFrameReader* frames = nullptr;
  // The thread's CPU clock (opened on this thread at start()).
  ThreadCpuClock cpu_clock;
  // Native frames: walk the interrupted stack (bounded by `stack`).
  bool native_frames = false;
  ThreadStackBounds stack;
  // CLOCK_MONOTONIC of the last signal the handler took for this thread
  // while accepting: when the handler was displaced, if it was.
  std::atomic<int64_t> last_signal_nanos{0};
  // Part timing (an internal measurement switch): the log the handler
  // appends each record's part costs to, or null (off).
  HandlerTimingLog* timing = nullptr;
};

// Deepest native walk kept per sample (leaf first).
constexpr int kMaxNativeDepth = 64;

namespace signal_handler {

// Isolate thread only (takes a mutex). Puts `sampler` in the table for the
// calling thread and makes sure SIGPROFs reach our handler: installs it over
// the current disposition (V8's), unless it is already there or reached
// through a handler that displaced it. Returns false with a message when the
// table is full or sigaction fails.
bool Register(ThreadSampler* sampler, std::string* error);

// Isolate thread only (takes a mutex). Removes the calling thread's
// `sampler`; for the last one, restores the handler we displaced if ours is
// still installed. If another handler displaced ours, theirs stays and ours
// stays a pass-through they may call. Returns whether signals still reached
// our handler (false: displaced, the rest of the profile is missing).
bool Unregister(ThreadSampler* sampler);

// Isolate thread only (takes a mutex; may send this thread one SIGPROF to
// find out). Whether a SIGPROF delivered now reaches our handler: it is
// installed, or a handler that chains to it is.
bool ReachesUs();

}  // namespace signal_handler
}  // namespace labelprof
