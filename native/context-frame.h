// Reading the current label set straight from V8's continuation-preserved
// embedder data (CPED), where Node keeps AsyncLocalStorage's
// AsyncContextFrame on Node 24+ (and 22 with --experimental-async-context-frame).
//
// V8 itself saves and restores the CPED across await, promise jobs and
// Node's callbacks, so with this reader labels cost nothing per await: no
// async hook has to keep a native slot current. The signal handler follows
// three words of heap memory:
//
//   isolate + kContinuationPreservedEmbedderDataOffset -> AsyncContextFrame
//   (a JSMap) -> its OrderedHashMap -> entries (key, value, chain)
//
// and takes the value that is a Smi in labelprof's tag range (see
// src/labels.ts: every label set's store value is TAG_BASE + id).
//
// The layout is V8's, not a public API, so nothing relies on it unproven:
// Probe() checks it against a frame JavaScript just made, and start() falls
// back to the hook-driven slot when the probe fails. Objects move only
// inside a GC pause on the isolate's thread; a GC prologue callback caches
// the label and raises a flag, and the handler uses the cached value until
// the epilogue lowers it.
#pragma once

#include <v8.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace labelprof {

// Must match TAG_BASE in src/labels.ts.
constexpr int64_t kLabelSetTagBase = 0x4C500000;
constexpr int64_t kLabelSetTagLimit = kLabelSetTagBase + (1 << 20);

class ContextFrameReader {
 public:
  // Isolate thread. Learns the table map from the current CPED and checks
  // that reading it yields `expected_id`. On failure, says why.
  bool Probe(v8::Isolate* isolate, int32_t expected_id, std::string* why);

  // Isolate thread: install / remove the GC callbacks that guard reads.
  void Attach();
  void Detach();

  // Called in the signal handler: no allocation, no lock, no V8 call. Only
  // valid on the isolate's own thread (the CPED is the running thread's).
  int32_t ReadLabelSetIdSignalSafe() const;

  bool probed() const { return isolate_ != nullptr; }

 private:
  static void OnGcPrologue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data);
  static void OnGcEpilogue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data);
  int32_t ReadNow() const;

  v8::Isolate* isolate_ = nullptr;
  uintptr_t table_map_ = 0;  // OrderedHashMap's map: a read-only root
  std::atomic<bool> in_gc_{false};
  std::atomic<int32_t> gc_label_{0};
  bool attached_ = false;
};

}  // namespace labelprof
