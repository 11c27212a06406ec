// V8's samples + the handler's records -> one row per sample of the profile:
// leaf node, label set, CPU and wall time, native pcs, GC parent. Pure:
// isolate thread, after sampling stopped, or a test with made-up input.
#pragma once

#include <cstdint>
#include <vector>

#include "flat-profile.h"
#include "profiler-stats.h"
#include "sample-matcher.h"

namespace labelprof {

// Rows in time order.
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
  RecordSpan records;       // one period's records, ascending by wall_nanos
  const uint64_t* pcs;      // the pc arena the records' pcs_offset index
  uint32_t pcs_dropped;     // walks that found the arena full
  int64_t install_nanos;    // our handler went in
  int64_t stop_nanos;       // stop() began
  int64_t start_cpu_nanos;  // thread CPU time at install
  bool native_frames;
};

// Fills `stats`' sample counters: v8_samples = matched + gc_start_samples +
// unmatched + before_install + after_stop; records_unmatched;
// gc_samples_attributed; walks_*.
SampleColumns AssembleSamples(const AssemblyInput& in, ProfilerStats* stats);

}  // namespace labelprof
