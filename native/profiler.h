// The per-isolate profiler: what start() and stop() do natively.
//
// One instance per Node environment (main thread, each Worker), held as the
// addon's instance data so that Workers and several copies of the addon
// coexist, and torn down by the environment's cleanup.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "signal-handler.h"
#include "v8-sampler.h"

namespace labelprof {

// Counters for stats(); live while profiling, final after stop.
struct ProfilerStats {
  uint32_t signals = 0;          // SIGPROFs our handler took on this thread
  uint32_t recorded = 0;         // ... written to the ring
  uint32_t dropped = 0;          // ... lost because the ring was full
  uint32_t v8_samples = 0;       // samples in V8's profile
  uint32_t matched = 0;          // V8 samples paired with a record: the profile
  uint32_t unmatched = 0;        // V8 samples with no record (left out)
  uint32_t before_install = 0;   // V8 samples taken before our handler
  uint32_t after_stop = 0;       // ... and after it was removed
  uint32_t gcs = 0;              // GCs seen while profiling (marker pairs)
  uint32_t gc_samples_attributed = 0;  // GC samples put under the JS stack that triggered the GC
  uint32_t handler_median_nanos = 0;
  uint32_t handler_max_nanos = 0;
  double handler_total_nanos = 0;
  bool displaced = false;        // someone replaced our SIGPROF handler
  const char* label_source = "";  // "context-frame" or "slot"
  bool native_frames = false;
  uint32_t walks_complete = 0;   // native walks that reached the outermost frame
  uint32_t walks_truncated = 0;  // ... that hit kMaxNativeDepth
  uint32_t walks_bad_frame = 0;  // ... stopped by a failed frame check
  uint32_t walks_no_room = 0;    // samples whose pcs found the arena full
  std::string unwind_error;      // why the CFI table could not be built
};

// Isolate thread only, every member.
class ProfilerInstance {
 public:
  explicit ProfilerInstance(v8::Isolate* isolate) : v8_(isolate) {}
  ~ProfilerInstance();

  // JS_probeContextFrame(expectedId) -> null if labels can be read from the
  // AsyncContextFrame, else why not. Call inside storage.run(TAG_BASE + id).
  Napi::Value JS_probeContextFrame(const Napi::CallbackInfo& info);
  // _readLabelSetId() -> what the handler would read from the frame now (tests)
  Napi::Value JS__readLabelSetId(const Napi::CallbackInfo& info);
  // JS_start(labelSlot: ArrayBuffer, intervalMicros, maxSamples,
  //          useContextFrame, nativeFrames)
  Napi::Value JS_start(const Napi::CallbackInfo& info);
  // JS_stop() -> { nodes..., samples..., stats }
  Napi::Value JS_stop(const Napi::CallbackInfo& info);
  // JS_stats() -> counters of the running profile, else of the last one
  Napi::Value JS_stats(const Napi::CallbackInfo& info);
  // JS_refreshUnwindTables() -> null, or why the CFI table could not be built.
  // After a native module loads: compiles its CFI (others are cached).
  Napi::Value JS_refreshUnwindTables(const Napi::CallbackInfo& info);
  // JS_isProfiling() -> boolean
  Napi::Value JS_isProfiling(const Napi::CallbackInfo& info);

 private:
  void StopSampling();
  ProfilerStats LiveStats() const;
  // GC attribution (with native frames): at each GC's start, a marker record
  // and V8's stack of the code that triggered it (CpuProfiler::CollectSample);
  // samples taken inside the GC go under that stack.
  static void OnGcPrologue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags, void* data);
  static void OnGcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags, void* data);
  void MarkGc(uint16_t kind);
  bool gc_callbacks_ = false;

  V8Sampler v8_;
  ThreadSampler sampler_;
  ContextFrameReader frames_;
  Napi::Reference<Napi::ArrayBuffer> label_slot_ref_;
  bool profiling_ = false;
  int64_t install_nanos_ = 0;
  int64_t start_cpu_nanos_ = 0;
  int64_t epoch_offset_nanos_ = 0;  // CLOCK_REALTIME - CLOCK_MONOTONIC
  ProfilerStats last_stats_;
  const char* label_source_ = "";
  std::string unwind_error_;
};

}  // namespace labelprof
