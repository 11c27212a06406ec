// Test-only exports that drive the pure matcher and sample assembly
// (native/sample-matcher.*, native/sample-assembly.*) with hand-made V8
// samples and handler records: no V8, no signal, no timing.
#include "test-matching.h"

#include <cstdint>
#include <string>
#include <vector>

#include "../../native/sample-assembly.h"
#include "../../native/sample-matcher.h"

namespace labelprof_test {
namespace {

using labelprof::SampleRecord;

double Num(Napi::Object o, const char* key, double fallback = 0) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

std::vector<double> Numbers(Napi::Value v) {
  std::vector<double> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++)
    out.push_back(a.Get(i).As<Napi::Number>().DoubleValue());
  return out;
}

// records: [{ wall, done, cpu, label, flags, pcs: [..] }] -> records + pc arena
void ReadRecords(Napi::Value v, std::vector<SampleRecord>* records, std::vector<uint64_t>* pcs) {
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object o = a.Get(i).As<Napi::Object>();
    SampleRecord r{};
    r.wall_nanos = static_cast<int64_t>(Num(o, "wall"));
    r.v8_done_nanos = static_cast<int64_t>(Num(o, "done", Num(o, "wall")));
    r.cpu_nanos = static_cast<int64_t>(Num(o, "cpu"));
    r.label_set_id = static_cast<int32_t>(Num(o, "label"));
    r.flags = static_cast<uint16_t>(Num(o, "flags"));
    std::vector<double> walk = Numbers(o.Get("pcs"));
    r.pcs_offset = static_cast<uint32_t>(pcs->size());
    r.pcs_count = static_cast<uint16_t>(walk.size());
    for (double pc : walk) pcs->push_back(static_cast<uint64_t>(pc));
    records->push_back(r);
  }
}

const char* FateName(labelprof::SampleFate f) {
  switch (f) {
    case labelprof::SampleFate::kMatched: return "matched";
    case labelprof::SampleFate::kGcStart: return "gcStart";
    case labelprof::SampleFate::kNoRecord: return "noRecord";
    case labelprof::SampleFate::kBeforeInstall: return "beforeInstall";
    case labelprof::SampleFate::kAfterStop: return "afterStop";
  }
  return "?";
}

template <typename T>
Napi::Array ToArray(Napi::Env env, const std::vector<T>& values) {
  Napi::Array a = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++)
    a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(values[i])));
  return a;
}

labelprof::RecordSpan Span(const std::vector<SampleRecord>& records) {
  labelprof::RecordSpan span;
  span.records = records.empty() ? nullptr : records.data();
  span.count = static_cast<uint32_t>(records.size());
  return span;
}

// _matchSamples({ sampleMicros: [..], records: [..], installNanos, stopNanos })
//   -> { order, record, fate: ['matched' | 'gcStart' | ...], recordsUnmatched,
//   recordsUnmatchedFrameSetup }
Napi::Value JS__matchSamples(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "_matchSamples(input: object)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object in = info[0].As<Napi::Object>();
  std::vector<int64_t> micros;
  for (double m : Numbers(in.Get("sampleMicros"))) micros.push_back(static_cast<int64_t>(m));
  std::vector<SampleRecord> records;
  std::vector<uint64_t> pcs;
  ReadRecords(in.Get("records"), &records, &pcs);
  labelprof::MatchResult m =
      labelprof::MatchSamples(micros, Span(records), static_cast<int64_t>(Num(in, "installNanos")),
                              static_cast<int64_t>(Num(in, "stopNanos", 9e18)));
  Napi::Object out = Napi::Object::New(env);
  out.Set("order", ToArray(env, m.order));
  out.Set("record", ToArray(env, m.record));
  Napi::Array fate = Napi::Array::New(env, m.fate.size());
  for (size_t i = 0; i < m.fate.size(); i++)
    fate.Set(static_cast<uint32_t>(i), FateName(m.fate[i]));
  out.Set("fate", fate);
  out.Set("recordsUnmatched", m.records_unmatched);
  out.Set("recordsUnmatchedFrameSetup", m.records_unmatched_frame_setup);
  out.Set("recordsUnmatchedBackToBack", m.records_unmatched_back_to_back);
  out.Set("recordsUnmatchedAfterStop", m.records_unmatched_after_stop);
  return out;
}

// _assembleSamples({ nodeParent: [..], nodeName: [..], sampleMicros, sampleNode,
//                    records, installNanos, stopNanos, startCpuNanos, nativeFrames, pcsDropped })
//   -> { node, label, cpuNanos, wallNanos, gcParent, pcsStart, pcsCount, pcs, stats }
Napi::Value JS__assembleSamples(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "_assembleSamples(input: object)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object in = info[0].As<Napi::Object>();
  labelprof::FlatProfile flat;
  for (double p : Numbers(in.Get("nodeParent")))
    flat.node_parent.push_back(static_cast<int32_t>(p));
  Napi::Array names = in.Get("nodeName").As<Napi::Array>();
  for (uint32_t i = 0; i < names.Length(); i++)
    flat.node_name.push_back(names.Get(i).As<Napi::String>().Utf8Value());
  for (double m : Numbers(in.Get("sampleMicros")))
    flat.sample_micros.push_back(static_cast<int64_t>(m));
  for (double n : Numbers(in.Get("sampleNode")))
    flat.sample_node.push_back(static_cast<int32_t>(n));
  std::vector<SampleRecord> records;
  std::vector<uint64_t> pcs;
  ReadRecords(in.Get("records"), &records, &pcs);
  labelprof::ProfilerStats stats;
  labelprof::SampleColumns c = labelprof::AssembleSamples(
      {flat, Span(records), pcs.data(), static_cast<uint32_t>(Num(in, "pcsDropped")),
       static_cast<int64_t>(Num(in, "installNanos")),
       static_cast<int64_t>(Num(in, "stopNanos", 9e18)),
       static_cast<int64_t>(Num(in, "startCpuNanos")), in.Get("nativeFrames").ToBoolean().Value()},
      &stats);
  Napi::Object out = Napi::Object::New(env);
  out.Set("node", ToArray(env, c.node));
  out.Set("label", ToArray(env, c.label));
  out.Set("cpuNanos", ToArray(env, c.cpu_nanos));
  out.Set("wallNanos", ToArray(env, c.wall_nanos));
  out.Set("gcParent", ToArray(env, c.gc_parent));
  out.Set("pcsStart", ToArray(env, c.pcs_start));
  out.Set("pcsCount", ToArray(env, c.pcs_count));
  out.Set("pcs", ToArray(env, c.pcs));
  Napi::Object s = Napi::Object::New(env);
  s.Set("v8Samples", stats.v8_samples);
  s.Set("matched", stats.matched);
  s.Set("gcStartSamples", stats.gc_start_samples);
  s.Set("unmatched", stats.unmatched);
  s.Set("beforeInstall", stats.before_install);
  s.Set("afterStop", stats.after_stop);
  s.Set("unmatchedRecords", stats.records_unmatched);
  s.Set("unmatchedRecordsFrameSetup", stats.records_unmatched_frame_setup);
  s.Set("unmatchedRecordsBackToBack", stats.records_unmatched_back_to_back);
  s.Set("unmatchedRecordsAfterStop", stats.records_unmatched_after_stop);
  s.Set("gcSamplesAttributed", stats.gc_samples_attributed);
  s.Set("walksComplete", stats.walks_complete);
  s.Set("walksNoRoom", stats.walks_no_room);
  out.Set("stats", s);
  return out;
}

}  // namespace

void AddMatchingExports(Napi::Env env, Napi::Object exports) {
  exports.Set("_matchSamples", Napi::Function::New(env, JS__matchSamples));
  exports.Set("_assembleSamples", Napi::Function::New(env, JS__assembleSamples));
}

}  // namespace labelprof_test
