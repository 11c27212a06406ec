// SIGPROF: our handler, installed after V8's and chained to it.
//
// V8 installs its own SIGPROF handler inside CpuProfiler::StartProfiling and
// restores the previous disposition when its last sampler stops; its handler
// does not chain. So ours goes in after StartProfiling, saves V8's as the one
// to chain to, and comes out before StopProfiling. Several isolates (the main
// thread and Workers) share the one process-wide handler: it finds the
// sampler of the interrupted thread in a fixed table.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "context-frame.h"
#include "sample-ring.h"
#include "stack-walker.h"

namespace labelprof {

// What the handler needs to know about one profiled thread. Owned by that
// thread's ProfilerInstance; fields are written on that thread only, before
// registration or after `accepting` is cleared.
struct ThreadSampler {
  pthread_t thread{};
  std::atomic<bool> accepting{false};
  SampleRing ring;
  // Native memory JavaScript writes the current label-set id into (an
  // ArrayBuffer's backing store, which never moves).
  const volatile int32_t* label_slot = nullptr;
  // Where labels live in the AsyncContextFrame (Node 24+): read them there
  // instead of the slot. Null: use the slot.
  const ContextFrameReader* frames = nullptr;
  // Native frames: walk the interrupted stack (bounded by `stack`).
  bool native_frames = false;
  ThreadStackBounds stack;
};

// Deepest native walk kept per sample (leaf first).
constexpr int kMaxNativeDepth = 64;

namespace signal_handler {

// Isolate thread only (takes a mutex). Puts `sampler` in the table and, for
// the first registered thread, installs our handler over the current one
// (V8's). Returns false with a message when the table is full or sigaction
// fails.
bool Register(ThreadSampler* sampler, std::string* error);

// Isolate thread only (takes a mutex). Removes `sampler`; for the last one,
// restores the handler we displaced, unless someone has displaced ours in the
// meantime (then we leave theirs in place). Returns false when ours was found
// displaced.
bool Unregister(ThreadSampler* sampler);

// Whether the process-wide SIGPROF disposition is still ours.
bool IsInstalled();

}  // namespace signal_handler
}  // namespace labelprof
