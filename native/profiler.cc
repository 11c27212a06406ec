#include "profiler.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "js-arrays.h"
#include "sample-assembly.h"

namespace labelprof {
namespace {

int64_t NowNanos(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Napi::Object StatsToObject(Napi::Env env, const ProfilerStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("signals", s.signals);
  o.Set("recorded", s.recorded);
  o.Set("dropped", s.dropped);
  o.Set("v8Samples", s.v8_samples);
  o.Set("matched", s.matched);
  o.Set("beforeInstall", s.before_install);
  o.Set("afterStop", s.after_stop);
  o.Set("unmatched", s.unmatched);
  o.Set("unmatchedRecords", s.records_unmatched);
  o.Set("unmatchedRecordsBackToBack", s.records_unmatched_back_to_back);
  o.Set("unmatchedRecordsAfterStop", s.records_unmatched_after_stop);
  o.Set("handlerMedianNanos", s.handler_median_nanos);
  o.Set("handlerMaxNanos", s.handler_max_nanos);
  o.Set("handlerTotalNanos", s.handler_total_nanos);
  o.Set("displaced", s.displaced);
  if (s.displaced) o.Set("displacedAtNanos", s.displaced_at_nanos);
  o.Set("labelSource", s.label_source);
  o.Set("cpuClock", s.cpu_clock);
  o.Set("cpuClockSyscalls", s.cpu_clock_syscalls);
  if (!s.cpu_clock_unavailable.empty()) o.Set("cpuClockUnavailable", s.cpu_clock_unavailable);
  o.Set("nativeFrames", s.native_frames);
  if (s.native_frames) {
    o.Set("walksComplete", s.walks_complete);
    o.Set("walksTruncated", s.walks_truncated);
    o.Set("walksBadFrame", s.walks_bad_frame);
    o.Set("walksNoRoom", s.walks_no_room);
    o.Set("gcs", s.gcs);
    o.Set("gcSamplesAttributed", s.gc_samples_attributed);
    o.Set("gcStartSamples", s.gc_start_samples);
    o.Set("gcStacks", s.gc_stacks);
    o.Set("unmatchedRecordsFrameSetup", s.records_unmatched_frame_setup);
    if (!s.unwind_error.empty()) o.Set("unwindTableError", s.unwind_error);
  }
  return o;
}

}  // namespace

ProfilerInstance::~ProfilerInstance() {
  // The environment is going away while profiling (a Worker terminated, the
  // process exiting): take our handler out before V8's sampler stops, so no
  // signal reaches a freed ThreadSampler.
  if (profiling_) {
    StopSampling();
    v8_.Stop();
  }
}

void ProfilerInstance::StopSampling() {
  sampler_.accepting.store(false, std::memory_order_release);
  frames_.Detach();
  if (gc_isolate_ != nullptr) {
    // The isolate noted at start: at environment teardown the current one
    // may already be gone.
    gc_isolate_->RemoveGCPrologueCallback(OnGcPrologue, this);
    gc_isolate_->RemoveGCEpilogueCallback(OnGcEpilogue, this);
    gc_isolate_ = nullptr;
  }
  // Must precede V8's StopProfiling, which restores SIG_DFL over whatever
  // handler it finds if it is the last sampler.
  if (!signal_handler::Unregister(&sampler_)) last_stats_.displaced = true;
  // No handler can be running on this thread now (it would have returned
  // before we got here), and no other thread's handler reads this clock.
  sampler_.cpu_clock.Close();
  profiling_ = false;
}

ProfilerStats ProfilerInstance::StatsOfRing(const SampleRing& ring) const {
  ProfilerStats s;
  const uint32_t records = ring.count();
  s.dropped = ring.dropped();
  std::vector<uint32_t> costs;
  costs.reserve(records);
  for (uint32_t i = 0; i < records; i++) {
    if (ring.at(i).flags & kRecordMarkers) {
      if (ring.at(i).flags & kRecordGcStart) s.gcs++;
      continue;
    }
    s.recorded++;
    if (ring.at(i).flags & kRecordCpuSyscall) s.cpu_clock_syscalls++;
    uint32_t c = ring.at(i).handler_nanos;
    costs.push_back(c);
    s.handler_total_nanos += c;
    s.handler_max_nanos = std::max(s.handler_max_nanos, c);
  }
  s.signals = s.recorded + s.dropped;
  if (!costs.empty()) {
    auto mid = costs.begin() + costs.size() / 2;
    std::nth_element(costs.begin(), mid, costs.end());
    s.handler_median_nanos = *mid;
  }
  s.displaced = !signal_handler::ReachesUs();
  if (s.displaced) s.displaced_at_nanos = DisplacedAtNanos();
  s.label_source = label_source_;
  s.cpu_clock = cpu_clock_;
  s.cpu_clock_unavailable = cpu_clock_error_;
  s.native_frames = sampler_.native_frames;
  s.gc_stacks = gc_stacks_;
  s.unwind_error = unwind_error_;
  return s;
}

ProfilerStats ProfilerInstance::LiveStats() const { return StatsOfRing(sampler_.ring); }

double ProfilerInstance::DisplacedAtNanos() const {
  // The last signal our handler took (the period's start, if none reached
  // it): displaced within one interval after it.
  int64_t last = sampler_.last_signal_nanos.load(std::memory_order_relaxed);
  return static_cast<double>(std::max(last, period_.begin_nanos) + epoch_offset_nanos_);
}

Napi::Object ProfilerInstance::AssembleToObject(Napi::Env env, const FlatProfile& flat,
                                                const SampleRing& ring, const Period& period,
                                                int64_t end_nanos, ProfilerStats* stats) {
  SampleColumns samples =
      AssembleSamples({flat, SpanOf(ring), ring.pcs(), ring.pcs_dropped(), period.begin_nanos,
                       end_nanos, period.begin_cpu_nanos, sampler_.native_frames},
                      stats);
  Napi::Object out = Napi::Object::New(env);
  out.Set("startNanos", static_cast<double>(period.begin_nanos + epoch_offset_nanos_));
  out.Set("durationNanos", static_cast<double>(end_nanos - period.begin_nanos));
  out.Set("nodeParent", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_parent));
  out.Set("nodeLine", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_line));
  out.Set("nodeHitLine", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_hit_line));
  out.Set("nodeColumn", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_column));
  out.Set("nodeScriptId", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_script_id));
  out.Set("nodeName", ToStringArray(env, flat.node_name));
  out.Set("nodeUrl", ToStringArray(env, flat.node_url));
  out.Set("sampleNode", ToTypedArray<int32_t, Napi::Int32Array>(env, samples.node));
  out.Set("sampleLabelSet", ToTypedArray<int32_t, Napi::Int32Array>(env, samples.label));
  out.Set("sampleCpuNanos", ToTypedArray<double, Napi::Float64Array>(env, samples.cpu_nanos));
  out.Set("sampleWallNanos", ToTypedArray<double, Napi::Float64Array>(env, samples.wall_nanos));
  if (sampler_.native_frames) {
    out.Set("sampleGcParent", ToTypedArray<int32_t, Napi::Int32Array>(env, samples.gc_parent));
    out.Set("samplePcsStart", ToTypedArray<uint32_t, Napi::Uint32Array>(env, samples.pcs_start));
    out.Set("samplePcsCount", ToTypedArray<uint32_t, Napi::Uint32Array>(env, samples.pcs_count));
    out.Set("pcs", ToTypedArray<double, Napi::Float64Array>(env, samples.pcs));
  }
  out.Set("stats", StatsToObject(env, *stats));
  return out;
}

void ProfilerInstance::MarkGc(v8::Isolate* isolate, uint16_t kind) {
  if (!sampler_.accepting.load(std::memory_order_acquire)) return;
  // The handler writes the same ring on this thread: keep it out while the
  // marker goes in (a SIGPROF arriving now is delivered at the unmask). That
  // also keeps every signal out of [wall_nanos, v8_done_nanos], so the only
  // V8 sample stamped inside is CollectSample's (sample-matcher.h).
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPROF);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  if (sampler_.ring.HasRoomForMarker()) {
    SampleRecord marker{};
    marker.wall_nanos = NowNanos(CLOCK_MONOTONIC);
    marker.cpu_nanos = sampler_.cpu_clock.NowNanos();
    marker.label_set_id = sampler_.frames != nullptr ? sampler_.frames->ReadLabelSetIdSignalSafe()
                                                     : *sampler_.label_slot;
    marker.flags = kind;
    if (kind == kRecordGcStart && gc_stacks_) {
      // V8 gives no JavaScript stack for samples taken during GC; this one,
      // taken as the GC starts (the prologue runs in the EXTERNAL VM state),
      // holds the code that allocated. It lands in every CpuProfiler on the
      // isolate, which is why it is optional (gcStacks).
      v8::CpuProfiler::CollectSample(isolate);
      marker.flags |= kRecordV8Sampled;
    }
    marker.v8_done_nanos = NowNanos(CLOCK_MONOTONIC);
    sampler_.ring.AppendMarker(marker);
  }
  // Markers past their budget are skipped, and so is the GC-start sample
  // with them: that GC's samples stay under (garbage collector).
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void ProfilerInstance::OnGcPrologue(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags,
                                    void* data) {
  static_cast<ProfilerInstance*>(data)->MarkGc(isolate, kRecordGcStart);
}

void ProfilerInstance::OnGcEpilogue(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags,
                                    void* data) {
  static_cast<ProfilerInstance*>(data)->MarkGc(isolate, kRecordGcEnd);
}

Napi::Value ProfilerInstance::JS_start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Arguments are validated in src/profiler.ts; these checks only keep a
  // direct caller of the binding from crashing the process.
  if (info.Length() < 3 || !info[0].IsArrayBuffer() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "start(labelSlot, intervalMicros, maxSamples)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (profiling_) {
    Napi::Error::New(env, "a profile is already running on this thread: call stop() first")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::ArrayBuffer slot = info[0].As<Napi::ArrayBuffer>();
  if (slot.ByteLength() < sizeof(int32_t)) {
    Napi::RangeError::New(env, "labelSlot must hold at least 4 bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int interval = info[1].As<Napi::Number>().Int32Value();
  uint32_t max_samples = info[2].As<Napi::Number>().Uint32Value();
  // IsBoolean + As, not ToBoolean: in a Worker being terminated, ToBoolean
  // fails and returns a Boolean with no env, whose Value() is a fatal error
  // (seen under qemu: test/fixtures/worker-churn.js aborted).
  bool use_frames = info.Length() > 3 && info[3].IsBoolean() &&
                    info[3].As<Napi::Boolean>().Value() && frames_.probed();
  bool native_frames =
      info.Length() > 4 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();

  label_slot_ref_ = Napi::Persistent(slot);
  sampler_.label_slot = static_cast<const volatile int32_t*>(slot.Data());
  sampler_.frames = use_frames ? &frames_ : nullptr;
  // Reserves memory: before any signal is ours.
  if (!sampler_.ring.Reset(max_samples, native_frames ? max_samples * kAveragePcsPerSample : 0)) {
    Napi::Error::New(env, "could not reserve memory for " + std::to_string(max_samples) +
                              " samples: lower maxSamples")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  unwind_error_.clear();
  if (native_frames) {
    // Off the signal path: compile the CFI of modules loaded since the last
    // start (cached per module), and note this thread's stack bounds.
    if (!PrepareUnwindTables(&unwind_error_)) {
      // Walks fall back to frame pointers; the profile still gets frames.
    }
    std::string stack_error;
    if (!CaptureCurrentThreadStack(&sampler_.stack, &stack_error)) {
      native_frames = false;
      unwind_error_ = stack_error;
    }
  }
  sampler_.native_frames = native_frames;
  timing_valid_ = handler_timing_;
  if (handler_timing_) timing_.Reset(max_samples);
  sampler_.timing = handler_timing_ ? &timing_ : nullptr;
  // On this thread, before any signal is ours: the clock every CPU time of
  // the run comes from.
  cpu_clock_error_.clear();
  sampler_.cpu_clock.Open(perf_cpu_clock_, &cpu_clock_error_);
  cpu_clock_ = sampler_.cpu_clock.name();

  std::string error;
  if (!v8_.Start(interval, max_samples, &error)) {
    sampler_.cpu_clock.Close();
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // After StartProfiling, which installs V8's handler: ours goes on top.
  if (!signal_handler::Register(&sampler_, &error)) {
    v8_.Stop();
    sampler_.cpu_clock.Close();
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (use_frames) frames_.Attach();
  if (native_frames) {
    gc_isolate_ = v8::Isolate::GetCurrent();
    gc_isolate_->AddGCPrologueCallback(OnGcPrologue, this);
    gc_isolate_->AddGCEpilogueCallback(OnGcEpilogue, this);
  }
  last_stats_ = ProfilerStats();
  label_source_ = use_frames ? "context-frame" : "slot";
  period_.begin_nanos = NowNanos(CLOCK_MONOTONIC);
  period_.begin_cpu_nanos = sampler_.cpu_clock.NowNanos();
  epoch_offset_nanos_ = NowNanos(CLOCK_REALTIME) - period_.begin_nanos;
  profiling_ = true;
  sampler_.accepting.store(true, std::memory_order_release);
  return env.Undefined();
}

// stop() and cut() end the current period: both need a running profile
// whose previous period, if cut, was collected. Throws and returns false if not.
bool ProfilerInstance::CheckCanEndPeriod(Napi::Env env) const {
  const char* error = nullptr;
  if (!profiling_) error = "no profile is running on this thread: call start() first";
  else if (v8_.has_previous())
    error = "the previous period was not collected: call collect() first";
  if (error == nullptr) return true;
  Napi::Error::New(env, error).ThrowAsJavaScriptException();
  return false;
}

Napi::Value ProfilerInstance::JS_stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckCanEndPeriod(env)) return env.Undefined();
  int64_t stop_nanos = NowNanos(CLOCK_MONOTONIC);
  StopSampling();
  FlatProfile flat = v8_.Stop();
  ProfilerStats stats = LiveStats();
  stats.displaced = last_stats_.displaced;
  stats.displaced_at_nanos = stats.displaced ? DisplacedAtNanos() : 0;
  Napi::Object out = AssembleToObject(env, flat, sampler_.ring, period_, stop_nanos, &stats);
  last_stats_ = stats;
  label_slot_ref_.Reset();
  sampler_.ring.Release();
  return out;
}

Napi::Value ProfilerInstance::JS_cut(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckCanEndPeriod(env)) return env.Undefined();
  // V8 takes one sample of the current stack when a profile starts beside a
  // running one; it has no record, and the matcher counts it as unmatched.
  std::string error;
  if (!v8_.StartNext(&error)) {
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // The boundary: with SIGPROF blocked on this thread (the only one whose
  // signals write this ring), every record so far is the old period's and
  // every later one the new period's. V8 stamps a tick inside the same
  // signal, so ticks split at the same instant.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPROF);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  const int64_t boundary = NowNanos(CLOCK_MONOTONIC);
  const int64_t boundary_cpu = sampler_.cpu_clock.NowNanos();
  previous_ring_.TakeFrom(sampler_.ring);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  previous_period_ = period_;
  previous_end_nanos_ = boundary;
  period_.begin_nanos = boundary;
  period_.begin_cpu_nanos = boundary_cpu;
  return Napi::Number::New(env, static_cast<double>(boundary + epoch_offset_nanos_));
}

Napi::Value ProfilerInstance::JS_collect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!v8_.has_previous()) {
    Napi::Error::New(env, "no period to collect: call cut() first").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  FlatProfile flat = v8_.StopPrevious();
  ProfilerStats stats = StatsOfRing(previous_ring_);
  Napi::Object out =
      AssembleToObject(env, flat, previous_ring_, previous_period_, previous_end_nanos_, &stats);
  previous_ring_.Release();
  return out;
}

Napi::Value ProfilerInstance::JS_probeContextFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "probeContextFrame(expectedId, magic, tagBase)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (profiling_) return Napi::String::New(env, "a profile is running");
  std::string why;
  if (frames_.Probe(v8::Isolate::GetCurrent(), info[0].As<Napi::Number>().Int32Value(),
                    info[1].As<Napi::Number>().Int32Value(),
                    info[2].As<Napi::Number>().Int32Value(), &why)) {
    return env.Null();
  }
  return Napi::String::New(env, why);
}

Napi::Value ProfilerInstance::JS__readLabelSetId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), frames_.probed() ? frames_.ReadLabelSetIdSignalSafe() : -1);
}

Napi::Value ProfilerInstance::JS_refreshUnwindTables(const Napi::CallbackInfo& info) {
  std::string error;
  if (PrepareUnwindTables(&error)) return info.Env().Null();
  return Napi::String::New(info.Env(), error);
}

Napi::Value ProfilerInstance::JS_setGcStacks(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) {
    Napi::TypeError::New(info.Env(), "setGcStacks(enabled: boolean)").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  // Read by the GC prologue on this thread: takes effect at the next GC.
  gc_stacks_ = info[0].As<Napi::Boolean>().Value();
  return info.Env().Undefined();
}

Napi::Value ProfilerInstance::JS__setHandlerTiming(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) {
    Napi::TypeError::New(info.Env(), "_setHandlerTiming(enabled: boolean)")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  // Read by start(): takes effect at the next start.
  handler_timing_ = info[0].As<Napi::Boolean>().Value();
  return info.Env().Undefined();
}

Napi::Value ProfilerInstance::JS__setPerfCpuClock(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) {
    Napi::TypeError::New(info.Env(), "_setPerfCpuClock(enabled: boolean)")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  // Read by start(): takes effect at the next start.
  perf_cpu_clock_ = info[0].As<Napi::Boolean>().Value();
  return info.Env().Undefined();
}

Napi::Value ProfilerInstance::JS__handlerTimings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!timing_valid_) return env.Null();
  // The handler appends on this thread only, between two of our statements:
  // rows below the count we read are complete.
  const uint32_t rows = timing_.count();
  const double nanos_per_cycle = timing_.NanosPerCycle();
  std::vector<double> nanos(static_cast<size_t>(rows) * kPartCount);
  for (uint32_t i = 0; i < rows; i++) {
    for (int p = 0; p < kPartCount; p++) {
      nanos[static_cast<size_t>(i) * kPartCount + p] = timing_.row(i)[p] * nanos_per_cycle;
    }
  }
  Napi::Array parts = Napi::Array::New(env, kPartCount);
  for (int p = 0; p < kPartCount; p++) parts.Set(p, Napi::String::New(env, kHandlerPartNames[p]));
  Napi::Object out = Napi::Object::New(env);
  out.Set("parts", parts);
  out.Set("nanos", ToTypedArray<double, Napi::Float64Array>(env, nanos));
  return out;
}

Napi::Value ProfilerInstance::JS_stats(const Napi::CallbackInfo& info) {
  return StatsToObject(info.Env(), profiling_ ? LiveStats() : last_stats_);
}

Napi::Value ProfilerInstance::JS_isProfiling(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), profiling_);
}

}  // namespace labelprof
