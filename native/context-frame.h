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
// and takes the value that is one of labelprof's LabelSet objects: a plain
// JS object whose first two in-object fields are the Smis `magic` and
// `tag` = tag base + id (src/label-sets.ts; JavaScript passes both numbers
// to Probe, so they are defined once).
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

// Label-set ids the handler accepts: [0, kLabelSetIdLimit).
constexpr int64_t kLabelSetIdLimit = 1 << 20;

// Where a LabelSet keeps what the handler reads; learned by Probe.
struct StoreLayout {
  uintptr_t table_map = 0;     // OrderedHashMap's map: a read-only root
  uint16_t instance_type = 0;  // the LabelSet's map's instance type
  int magic_index = 0;         // word index of `magic` in the object
  int tag_index = 0;           // word index of `tag`
  int64_t magic = 0;
  int64_t tag_base = 0;
};

class ContextFrameReader {
 public:
  // Isolate thread, inside storage.run(probe LabelSet). Learns the table map
  // and the LabelSet layout from the current CPED and checks that reading it
  // yields `expected_id`. On failure, says why.
  bool Probe(v8::Isolate* isolate, int32_t expected_id, int32_t magic, int32_t tag_base,
             std::string* why);

  // Isolate thread: install / remove the GC callbacks that guard reads.
  void Attach();
  void Detach();

  // Called in the signal handler: no allocation, no lock, no V8 call. Only
  // valid on the isolate's own thread (the CPED is the running thread's).
  int32_t ReadLabelSetIdSignalSafe() const;

  // Called in the signal handler: no allocation, no lock, no fault. Starts
  // the read's chain of dependent loads early (the isolate's slot, then a
  // prefetch of the frame's table pointer), so at 99 Hz its first misses
  // overlap the handler's other work instead of queueing behind each other.
  void PrefetchSignalSafe() const;

  bool probed() const { return isolate_ != nullptr; }

 private:
  static void OnGcPrologue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data);
  static void OnGcEpilogue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data);
  int32_t ReadNow() const;

  v8::Isolate* isolate_ = nullptr;
  StoreLayout layout_;
  std::atomic<bool> in_gc_{false};
  std::atomic<int32_t> gc_label_{0};
  bool attached_ = false;
};

}  // namespace labelprof
