// V8's samples + the handler's records -> one row per sample of the profile:
// leaf node, label set, CPU and wall time, native pcs, GC parent. Pure:
// isolate thread, after sampling stopped.
#pragma once

#include <cstdint>
#include <vector>

#include "profiler-stats.h"
#include "sample-ring.h"
#include "v8-sampler.h"

namespace labelprof {

struct SampleColumns {
  std::vector<int32_t> node;       // leaf node in the FlatProfile
  std::vector<int32_t> label;      // label-set id
  std::vector<double> cpu_nanos;   // thread CPU since the previous sample
  std::vector<double> wall_nanos;  // wall time since the previous sample
  // "(garbage collector)" samples: the node whose stack triggered the GC, or -1.
  std::vector<int32_t> gc_parent;
  // Native walks: sample i's pcs are pcs[pcs_start[i] .. + pcs_count[i]].
  std::vector<uint32_t> pcs_start, pcs_count;
  std::vector<double> pcs;  // addresses < 2^48: exact as doubles
};

struct AssemblyInput {
  const FlatProfile& flat;
  const SampleRing& ring;
  int64_t install_nanos;    // our handler went in
  int64_t stop_nanos;       // stop() began
  int64_t start_cpu_nanos;  // thread CPU time at install
  bool native_frames;
};

// Fills `stats`' sample counters (before_install, after_stop, unmatched,
// matched, v8_samples, walks_*, gc_samples_attributed).
SampleColumns AssembleSamples(const AssemblyInput& in, ProfilerStats* stats);

}  // namespace labelprof
