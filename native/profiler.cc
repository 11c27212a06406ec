#include "profiler.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "sample-matcher.h"

namespace labelprof {
namespace {

int64_t NowNanos(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

template <typename T, typename Array>
Array ToTypedArray(Napi::Env env, const std::vector<T>& values) {
  Napi::ArrayBuffer buffer =
      Napi::ArrayBuffer::New(env, std::max<size_t>(1, values.size()) * sizeof(T));
  if (!values.empty()) {
    std::memcpy(buffer.Data(), values.data(), values.size() * sizeof(T));
  }
  return Array::New(env, values.size(), buffer, 0);
}

Napi::Array ToStringArray(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) {
    array.Set(static_cast<uint32_t>(i), Napi::String::New(env, values[i]));
  }
  return array;
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
  o.Set("handlerMedianNanos", s.handler_median_nanos);
  o.Set("handlerMaxNanos", s.handler_max_nanos);
  o.Set("handlerTotalNanos", s.handler_total_nanos);
  o.Set("displaced", s.displaced);
  o.Set("labelSource", s.label_source);
  o.Set("nativeFrames", s.native_frames);
  if (s.native_frames) {
    o.Set("walksComplete", s.walks_complete);
    o.Set("walksTruncated", s.walks_truncated);
    o.Set("walksBadFrame", s.walks_bad_frame);
    o.Set("walksNoRoom", s.walks_no_room);
    o.Set("gcs", s.gcs);
    o.Set("gcSamplesAttributed", s.gc_samples_attributed);
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
  if (gc_callbacks_) {
    v8::Isolate* isolate = v8::Isolate::GetCurrent();
    isolate->RemoveGCPrologueCallback(OnGcPrologue, this);
    isolate->RemoveGCEpilogueCallback(OnGcEpilogue, this);
    gc_callbacks_ = false;
  }
  // Must precede V8's StopProfiling, which restores SIG_DFL over whatever
  // handler it finds if it is the last sampler.
  if (!signal_handler::Unregister(&sampler_)) last_stats_.displaced = true;
  profiling_ = false;
}

ProfilerStats ProfilerInstance::LiveStats() const {
  ProfilerStats s;
  const uint32_t records = sampler_.ring.count();
  s.dropped = sampler_.ring.dropped();
  std::vector<uint32_t> costs;
  costs.reserve(records);
  for (uint32_t i = 0; i < records; i++) {
    if (sampler_.ring.at(i).flags & kRecordMarkers) {
      if (sampler_.ring.at(i).flags & kRecordGcStart) s.gcs++;
      continue;
    }
    s.recorded++;
    uint32_t c = sampler_.ring.at(i).handler_nanos;
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
  s.displaced = !signal_handler::IsInstalled();
  s.label_source = label_source_;
  s.native_frames = sampler_.native_frames;
  s.unwind_error = unwind_error_;
  return s;
}

void ProfilerInstance::MarkGc(uint16_t kind) {
  if (!sampler_.accepting.load(std::memory_order_acquire)) return;
  // The handler writes the same ring on this thread: keep it out while the
  // marker goes in (a SIGPROF arriving now is delivered at the unmask).
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPROF);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  SampleRecord marker{};
  marker.wall_nanos = NowNanos(CLOCK_MONOTONIC);
  marker.cpu_nanos = NowNanos(CLOCK_THREAD_CPUTIME_ID);
  marker.label_set_id = sampler_.frames != nullptr ? sampler_.frames->ReadLabelSetIdSignalSafe()
                                                   : *sampler_.label_slot;
  marker.flags = kind;
  sampler_.ring.AppendMarker(marker);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void ProfilerInstance::OnGcPrologue(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags, void* data) {
  auto* self = static_cast<ProfilerInstance*>(data);
  self->MarkGc(kRecordGcStart);
  // V8 gives no JavaScript stack for samples taken during GC; this one,
  // taken as the GC starts, holds the code that allocated. It follows the
  // marker in time, so the matcher pairs the two.
  v8::CpuProfiler::CollectSample(isolate);
}

void ProfilerInstance::OnGcEpilogue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  static_cast<ProfilerInstance*>(data)->MarkGc(kRecordGcEnd);
}

Napi::Value ProfilerInstance::JS_start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Arguments are validated in src/profiler.ts; these checks only keep a
  // direct caller of the binding from crashing the process.
  if (info.Length() < 3 || !info[0].IsArrayBuffer() || !info[1].IsNumber() ||
      !info[2].IsNumber()) {
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
    Napi::RangeError::New(env, "labelSlot must hold at least 4 bytes")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int interval = info[1].As<Napi::Number>().Int32Value();
  uint32_t max_samples = info[2].As<Napi::Number>().Uint32Value();
  bool use_frames = info.Length() > 3 && info[3].ToBoolean().Value() && frames_.probed();
  bool native_frames = info.Length() > 4 && info[4].ToBoolean().Value();

  label_slot_ref_ = Napi::Persistent(slot);
  sampler_.label_slot = static_cast<const volatile int32_t*>(slot.Data());
  sampler_.thread = pthread_self();
  sampler_.frames = use_frames ? &frames_ : nullptr;
  // Allocates: before any signal is ours.
  sampler_.ring.Reset(max_samples, native_frames ? std::min(max_samples, kMaxSamplesWithPcs) * kAveragePcsPerSample : 0);
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

  std::string error;
  if (!v8_.Start(interval, max_samples, &error)) {
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // After StartProfiling, which installs V8's handler: ours goes on top.
  if (!signal_handler::Register(&sampler_, &error)) {
    v8_.Stop();
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (use_frames) frames_.Attach();
  if (native_frames) {
    v8::Isolate* isolate = v8::Isolate::GetCurrent();
    isolate->AddGCPrologueCallback(OnGcPrologue, this);
    isolate->AddGCEpilogueCallback(OnGcEpilogue, this);
    gc_callbacks_ = true;
  }
  last_stats_ = ProfilerStats();
  label_source_ = use_frames ? "context-frame" : "slot";
  install_nanos_ = NowNanos(CLOCK_MONOTONIC);
  start_cpu_nanos_ = NowNanos(CLOCK_THREAD_CPUTIME_ID);
  epoch_offset_nanos_ = NowNanos(CLOCK_REALTIME) - install_nanos_;
  profiling_ = true;
  sampler_.accepting.store(true, std::memory_order_release);
  return env.Undefined();
}

Napi::Value ProfilerInstance::JS_stop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!profiling_) {
    Napi::Error::New(env, "no profile is running on this thread: call start() first")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t stop_nanos = NowNanos(CLOCK_MONOTONIC);
  StopSampling();
  FlatProfile flat = v8_.Stop();
  ProfilerStats stats = LiveStats();
  stats.displaced = last_stats_.displaced;

  // Samples V8 took before our handler was installed (the synchronous one in
  // StartProfiling) or after stop began carry no record: drop them.
  std::vector<int64_t> kept_micros;
  std::vector<int32_t> kept_node;
  for (size_t i = 0; i < flat.sample_micros.size(); i++) {
    if (flat.sample_micros[i] * 1000 + kMatchSlackNanos < install_nanos_) {
      stats.before_install++;
      continue;
    }
    if (flat.sample_micros[i] * 1000 > stop_nanos) {
      stats.after_stop++;
      continue;
    }
    kept_micros.push_back(flat.sample_micros[i]);
    kept_node.push_back(flat.sample_node[i]);
  }
  std::vector<int32_t> match = MatchSamples(kept_micros, sampler_.ring);

  // V8 also records samples no signal produced: on deoptimization it adds
  // the stack at the deopt point (ProfilerListener::CodeDeoptEvent). Those
  // are no ticks of the clock, and every tick passes our handler first, so
  // samples without a record are left out and counted.
  std::vector<int32_t> sample_node, sample_label;
  std::vector<double> sample_cpu, sample_wall;
  // Native walks, per sample: [pcs_start, pcs_start + pcs_count) of `pcs`.
  std::vector<uint32_t> sample_pcs_start, sample_pcs_count;
  std::vector<double> pcs;  // addresses < 2^48: exact as doubles
  // GC attribution: V8's sample at each GC start (paired with the start
  // marker) names the code that triggered the GC; records between a start
  // and its end marker belong to that GC.
  const uint32_t record_count = sampler_.ring.count();
  std::vector<int32_t> gc_start_node(record_count, -1);
  for (size_t j = 0; j < kept_micros.size(); j++) {
    if (match[j] >= 0 && (sampler_.ring.at(match[j]).flags & kRecordGcStart) &&
        flat.node_name[kept_node[j]] != "(garbage collector)") {
      gc_start_node[match[j]] = kept_node[j];
    }
  }
  std::vector<int32_t> record_gc_parent(record_count, -1);
  for (uint32_t k = 0, open = UINT32_MAX; k < record_count; k++) {
    uint16_t flags = sampler_.ring.at(k).flags;
    if (flags & kRecordGcStart) open = k;
    else if (flags & kRecordGcEnd) open = UINT32_MAX;
    else if (open != UINT32_MAX) record_gc_parent[k] = gc_start_node[open];
  }
  std::vector<int32_t> sample_gc_parent;

  int64_t prev_cpu = start_cpu_nanos_;
  int64_t prev_wall = install_nanos_;
  for (size_t j = 0; j < kept_micros.size(); j++) {
    if (match[j] < 0) {
      stats.unmatched++;
      continue;
    }
    const SampleRecord& r = sampler_.ring.at(match[j]);
    if (r.flags & kRecordMarkers) continue;  // V8's GC-start stack: no tick
    int32_t gc_parent = -1;
    if (record_gc_parent[match[j]] >= 0 && flat.node_name[kept_node[j]] == "(garbage collector)") {
      gc_parent = record_gc_parent[match[j]];
      stats.gc_samples_attributed++;
    }
    sample_gc_parent.push_back(gc_parent);
    sample_node.push_back(kept_node[j]);
    sample_label.push_back(r.label_set_id);
    // CPU the thread used, and wall time passed, since the previous sample.
    sample_cpu.push_back(static_cast<double>(std::max<int64_t>(0, r.cpu_nanos - prev_cpu)));
    sample_wall.push_back(static_cast<double>(std::max<int64_t>(0, r.wall_nanos - prev_wall)));
    prev_cpu = r.cpu_nanos;
    prev_wall = r.wall_nanos;
    if (sampler_.native_frames) {
      sample_pcs_start.push_back(static_cast<uint32_t>(pcs.size()));
      sample_pcs_count.push_back(r.pcs_count);
      for (uint32_t k = 0; k < r.pcs_count; k++) {
        pcs.push_back(static_cast<double>(sampler_.ring.pcs()[r.pcs_offset + k]));
      }
      if (r.flags & kWalkReachedEnd) stats.walks_complete++;
      if (r.flags & kWalkTruncated) stats.walks_truncated++;
      if (r.flags & kWalkBadFrame) stats.walks_bad_frame++;
    }
  }
  stats.walks_no_room = sampler_.ring.pcs_dropped();
  stats.matched = static_cast<uint32_t>(sample_node.size());
  stats.v8_samples = static_cast<uint32_t>(flat.sample_micros.size());
  last_stats_ = stats;
  label_slot_ref_.Reset();

  Napi::Object out = Napi::Object::New(env);
  out.Set("startNanos", static_cast<double>(install_nanos_ + epoch_offset_nanos_));
  out.Set("durationNanos", static_cast<double>(stop_nanos - install_nanos_));
  out.Set("nodeParent", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_parent));
  out.Set("nodeLine", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_line));
  out.Set("nodeHitLine", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_hit_line));
  out.Set("nodeColumn", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_column));
  out.Set("nodeScriptId", ToTypedArray<int32_t, Napi::Int32Array>(env, flat.node_script_id));
  out.Set("nodeName", ToStringArray(env, flat.node_name));
  out.Set("nodeUrl", ToStringArray(env, flat.node_url));
  out.Set("sampleNode", ToTypedArray<int32_t, Napi::Int32Array>(env, sample_node));
  out.Set("sampleLabelSet", ToTypedArray<int32_t, Napi::Int32Array>(env, sample_label));
  out.Set("sampleCpuNanos", ToTypedArray<double, Napi::Float64Array>(env, sample_cpu));
  out.Set("sampleWallNanos", ToTypedArray<double, Napi::Float64Array>(env, sample_wall));
  if (sampler_.native_frames) {
    out.Set("sampleGcParent", ToTypedArray<int32_t, Napi::Int32Array>(env, sample_gc_parent));
    out.Set("samplePcsStart", ToTypedArray<uint32_t, Napi::Uint32Array>(env, sample_pcs_start));
    out.Set("samplePcsCount", ToTypedArray<uint32_t, Napi::Uint32Array>(env, sample_pcs_count));
    out.Set("pcs", ToTypedArray<double, Napi::Float64Array>(env, pcs));
  }
  out.Set("stats", StatsToObject(env, stats));
  return out;
}

Napi::Value ProfilerInstance::JS_probeContextFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "probeContextFrame(expectedId)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (profiling_) return Napi::String::New(env, "a profile is running");
  std::string why;
  if (frames_.Probe(v8::Isolate::GetCurrent(), info[0].As<Napi::Number>().Int32Value(), &why)) {
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

Napi::Value ProfilerInstance::JS_stats(const Napi::CallbackInfo& info) {
  return StatsToObject(info.Env(), profiling_ ? LiveStats() : last_stats_);
}

Napi::Value ProfilerInstance::JS_isProfiling(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), profiling_);
}

}  // namespace labelprof
