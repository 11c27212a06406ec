// Drives V8's CpuProfiler for one isolate and flattens its CpuProfile into
// plain arrays.
//
// One CpuProfiler per isolate, created on first use and reused: creating one
// and StartProfiling cost milliseconds, and with lazy logging a fresh
// profiler re-logs all code anyway.
#pragma once

#include <v8-profiler.h>
#include <v8.h>

#include <cstdint>
#include <string>
#include <vector>

#include "flat-profile.h"

namespace labelprof {

// Isolate thread only.
class V8Sampler {
 public:
  explicit V8Sampler(v8::Isolate* isolate) : isolate_(isolate) {}
  ~V8Sampler();

  // Starts a profile sampling every `interval_micros`, keeping at most
  // `max_samples`. Nodes are split by the line of their call site in the
  // caller (kCallerLineNumbers), so pprof gets line numbers per frame.
  bool Start(int interval_micros, uint32_t max_samples, std::string* error);
  // Starts the next profile while the current one runs (a period boundary):
  // V8 adds each tick to every running profile, so the two overlap until
  // StopPrevious(). The caller splits them by time.
  bool StartNext(std::string* error);
  // Stops the profile StartNext() replaced and returns it flattened.
  FlatProfile StopPrevious();
  // Stops the running profile and returns it flattened.
  FlatProfile Stop();
  bool has_previous() const { return has_previous_; }

 private:
  bool StartProfile(v8::ProfilerId* id, std::string* error);
  FlatProfile StopProfile(v8::ProfilerId id);

  v8::Isolate* isolate_;
  v8::CpuProfiler* profiler_ = nullptr;
  v8::ProfilerId id_ = 0;
  v8::ProfilerId previous_id_ = 0;
  bool running_ = false;
  bool has_previous_ = false;
  int interval_micros_ = 0;
  uint32_t max_samples_ = 0;
};

}  // namespace labelprof
