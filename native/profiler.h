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

#include "profiler-stats.h"
#include "sample-ring.h"
#include "signal-handler.h"
#include "v8-sampler.h"

namespace labelprof {

// Isolate thread only, every member.
class ProfilerInstance {
 public:
  explicit ProfilerInstance(v8::Isolate* isolate) : v8_(isolate) {}
  ~ProfilerInstance();

  // JS_probeContextFrame(expectedId, magic, tagBase) -> null if labels can be
  // read from the AsyncContextFrame, else why not. Call inside
  // storage.run(new LabelSet(expectedId)).
  Napi::Value JS_probeContextFrame(const Napi::CallbackInfo& info);
  // _readLabelSetId() -> what the handler would read from the frame now (tests)
  Napi::Value JS__readLabelSetId(const Napi::CallbackInfo& info);
  // JS_start(labelSlot: ArrayBuffer, intervalMicros, maxSamples,
  //          useContextFrame, nativeFrames)
  Napi::Value JS_start(const Napi::CallbackInfo& info);
  // JS_stop() -> { nodes..., samples..., stats } of the last period
  Napi::Value JS_stop(const Napi::CallbackInfo& info);
  // JS_cut() -> the boundary (ns since the epoch): ends the current period
  // and starts the next without a gap in sampling. collect() hands it over.
  Napi::Value JS_cut(const Napi::CallbackInfo& info);
  // JS_collect() -> the period cut() ended, as stop() returns one. Call it a
  // little after cut(): V8 adds ticks to its profiles from its own thread.
  Napi::Value JS_collect(const Napi::CallbackInfo& info);
  // JS_stats() -> counters of the running profile, else of the last one
  Napi::Value JS_stats(const Napi::CallbackInfo& info);
  // JS_refreshUnwindTables() -> null, or why the CFI table could not be built.
  // After a native module loads: compiles its CFI (others are cached).
  Napi::Value JS_refreshUnwindTables(const Napi::CallbackInfo& info);
  // JS_setGcStacks(enabled) -> undefined. With native frames, whether each GC
  // start asks V8 for the JavaScript stack (CpuProfiler::CollectSample), which
  // also adds a sample to every other CpuProfiler on the isolate.
  Napi::Value JS_setGcStacks(const Napi::CallbackInfo& info);
  // JS_isProfiling() -> boolean
  Napi::Value JS_isProfiling(const Napi::CallbackInfo& info);
  // _setHandlerTiming(enabled) -> undefined. Tests and benches: whether the
  // next start() times each part of the handler (handler-timing.h).
  Napi::Value JS__setHandlerTiming(const Napi::CallbackInfo& info);
  // _setPerfCpuClock(enabled) -> undefined. Tests: whether the next start()
  // reads CPU time through the perf task clock (else CLOCK_THREAD_CPUTIME_ID).
  Napi::Value JS__setPerfCpuClock(const Napi::CallbackInfo& info);
  // _handlerTimings() -> { parts: string[], nanos: Float64Array } of the
  // running or last run: one row of parts.length costs per record, or null
  // when timing was off.
  Napi::Value JS__handlerTimings(const Napi::CallbackInfo& info);

 private:
  // A period: when it began, and the thread's CPU time then.
  struct Period {
    int64_t begin_nanos = 0;
    int64_t begin_cpu_nanos = 0;
  };
  void StopSampling();
  bool CheckCanEndPeriod(Napi::Env env) const;
  ProfilerStats LiveStats() const;
  ProfilerStats StatsOfRing(const SampleRing& ring) const;
  // Wall clock (ns since the epoch) when our handler stopped getting signals.
  double DisplacedAtNanos() const;
  Napi::Object AssembleToObject(Napi::Env env, const FlatProfile& flat, const SampleRing& ring,
                                const Period& period, int64_t end_nanos, ProfilerStats* stats);
  // GC attribution (with native frames): at each GC's start, a marker record
  // and V8's stack of the code that triggered it (CpuProfiler::CollectSample);
  // samples taken inside the GC go under that stack.
  static void OnGcPrologue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                           void* data);
  static void OnGcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                           void* data);
  void MarkGc(v8::Isolate* isolate, uint16_t kind);
  v8::Isolate* gc_isolate_ = nullptr;  // set while the GC callbacks are in
  bool gc_stacks_ = true;              // see JS_setGcStacks
  bool handler_timing_ = false;        // see JS__setHandlerTiming
  bool perf_cpu_clock_ = true;         // see JS__setPerfCpuClock
  const char* cpu_clock_ = "";         // the run's CPU clock, by name
  std::string cpu_clock_error_;        // why it is not the perf task clock
  HandlerTimingLog timing_;
  bool timing_valid_ = false;  // timing_ holds the running or last run's costs

  V8Sampler v8_;
  ThreadSampler sampler_;
  ContextFrameReader frames_;
  Napi::Reference<Napi::ArrayBuffer> label_slot_ref_;
  bool profiling_ = false;
  Period period_;  // the period being recorded
  // The period cut() ended, until collect(): its records, bounds.
  SampleRing previous_ring_;
  Period previous_period_;
  int64_t previous_end_nanos_ = 0;
  int64_t epoch_offset_nanos_ = 0;  // CLOCK_REALTIME - CLOCK_MONOTONIC
  ProfilerStats last_stats_;
  const char* label_source_ = "";
  std::string unwind_error_;
};

}  // namespace labelprof
