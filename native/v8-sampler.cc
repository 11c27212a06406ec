#include "v8-sampler.h"

#include <unordered_map>

namespace labelprof {
namespace {

int32_t MostHitLine(const v8::CpuProfileNode* node) {
  unsigned count = node->GetHitLineCount();
  if (count == 0) return 0;
  std::vector<v8::CpuProfileNode::LineTick> ticks(count);
  if (!node->GetLineTicks(ticks.data(), count)) return 0;
  int32_t best = 0;
  unsigned best_hits = 0;
  for (const auto& t : ticks) {
    if (t.hit_count > best_hits) {
      best = t.line;
      best_hits = t.hit_count;
    }
  }
  return best;
}

void Flatten(const v8::CpuProfile* profile, FlatProfile* out) {
  std::unordered_map<const v8::CpuProfileNode*, int32_t> index;
  std::vector<std::pair<const v8::CpuProfileNode*, int32_t>> stack;
  stack.emplace_back(profile->GetTopDownRoot(), -1);
  while (!stack.empty()) {
    auto [node, parent] = stack.back();
    stack.pop_back();
    int32_t id = static_cast<int32_t>(out->node_parent.size());
    index[node] = id;
    out->node_parent.push_back(parent);
    out->node_line.push_back(node->GetLineNumber());
    out->node_column.push_back(node->GetColumnNumber());
    out->node_hit_line.push_back(MostHitLine(node));
    out->node_script_id.push_back(node->GetScriptId());
    const char* name = node->GetFunctionNameStr();
    out->node_name.emplace_back(name != nullptr && name[0] != '\0' ? name : "(anonymous)");
    const char* url = node->GetScriptResourceNameStr();
    out->node_url.emplace_back(url != nullptr ? url : "");
    for (int i = node->GetChildrenCount() - 1; i >= 0; i--) {
      stack.emplace_back(node->GetChild(i), id);
    }
  }
  int count = profile->GetSamplesCount();
  out->sample_node.reserve(count);
  out->sample_micros.reserve(count);
  for (int i = 0; i < count; i++) {
    auto it = index.find(profile->GetSample(i));
    out->sample_node.push_back(it == index.end() ? 0 : it->second);
    out->sample_micros.push_back(profile->GetSampleTimestamp(i));
  }
}

}  // namespace

V8Sampler::~V8Sampler() {
  if (profiler_ == nullptr) return;
  if (has_previous_) {
    v8::CpuProfile* profile = profiler_->Stop(previous_id_);
    if (profile != nullptr) profile->Delete();
  }
  if (running_) {
    v8::CpuProfile* profile = profiler_->Stop(id_);
    if (profile != nullptr) profile->Delete();
  }
  profiler_->Dispose();
}

bool V8Sampler::StartProfile(v8::ProfilerId* id, std::string* error) {
  v8::CpuProfilingOptions options(v8::kCallerLineNumbers, max_samples_, interval_micros_);
  v8::CpuProfilingResult result = profiler_->Start(std::move(options));
  if (result.status == v8::CpuProfilingStatus::kErrorTooManyProfilers) {
    *error = "V8 refused to start another CPU profile (too many profilers)";
    return false;
  }
  *id = result.id;
  return true;
}

bool V8Sampler::Start(int interval_micros, uint32_t max_samples, std::string* error) {
  if (profiler_ == nullptr) {
    profiler_ = v8::CpuProfiler::New(isolate_, v8::kDebugNaming, v8::kLazyLogging);
  }
  profiler_->SetSamplingInterval(interval_micros);
  interval_micros_ = interval_micros;
  max_samples_ = max_samples;
  if (!StartProfile(&id_, error)) return false;
  running_ = true;
  return true;
}

bool V8Sampler::StartNext(std::string* error) {
  if (!running_ || has_previous_) {
    *error = "a period boundary needs one running profile";
    return false;
  }
  v8::ProfilerId next;
  if (!StartProfile(&next, error)) return false;
  previous_id_ = id_;
  id_ = next;
  has_previous_ = true;
  return true;
}

FlatProfile V8Sampler::StopProfile(v8::ProfilerId id) {
  FlatProfile flat;
  v8::CpuProfile* profile = profiler_->Stop(id);
  if (profile == nullptr) return flat;
  Flatten(profile, &flat);
  profile->Delete();
  return flat;
}

FlatProfile V8Sampler::StopPrevious() {
  if (!has_previous_) return FlatProfile();
  has_previous_ = false;
  return StopProfile(previous_id_);
}

FlatProfile V8Sampler::Stop() {
  if (!running_) return FlatProfile();
  // The profile StartNext() replaced goes first: stopping the last one stops
  // V8's sampler.
  if (has_previous_) StopPrevious();
  running_ = false;
  return StopProfile(id_);
}

}  // namespace labelprof
