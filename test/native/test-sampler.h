// A stand-alone SIGPROF sampler for testing the walker without the profiler
// core: a thread sends SIGPROF to the thread that started sampling every
// interval (on wall-clock time, as V8's sampler does, so idle time in
// epoll_wait is sampled too), and the handler walks into preallocated slots.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace labelprof_test {

struct SampleSlot {
  uint32_t depth;
  uint32_t flags;
  uint32_t walk_nanos;
};

struct SamplerResult {
  std::vector<SampleSlot> slots;
  std::vector<uint64_t> pcs;  // slots.size() * max_depth, leaf first per slot
  uint32_t max_depth = 0;
  uint32_t dropped = 0;
  uint32_t signals = 0;
};

// Isolate thread. Fails when already sampling or when the handler cannot be
// installed.
bool StartSampling(uint32_t interval_micros, uint32_t capacity, uint32_t max_depth,
                   std::string* error);

// Isolate thread. Stops the sender thread, restores the previous handler and
// hands over what was recorded.
bool StopSampling(SamplerResult* out, std::string* error);

}  // namespace labelprof_test
