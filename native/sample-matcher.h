// Pairs V8's samples with the records our handler took for them.
//
// Both come from the same SIGPROF: our handler runs first and stamps
// CLOCK_MONOTONIC at entry, then V8's handler stamps the sample a few
// microseconds later (median 2-7 us here, p99 ~80 us, rare outliers near
// 1 ms under preemption). Records with no V8 sample come from other
// CpuProfilers on the isolate (each has its own sampler thread sending
// SIGPROF) or from samples V8 dropped; they are skipped.
#pragma once

#include <cstdint>
#include <vector>

#include "sample-ring.h"

namespace labelprof {

// A record may precede its V8 sample by at most this much.
constexpr int64_t kMatchWindowNanos = 2000000;
// V8's timestamps are whole microseconds: allow a record stamped up to this
// much after the (truncated) V8 timestamp.
constexpr int64_t kMatchSlackNanos = 1000;

// For each V8 sample (timestamps in microseconds, ascending), the index of
// its record (records ascending by wall_nanos), or -1. Greedy, 1:1, nearest
// preceding record first. Pure: isolate thread, after sampling stopped.
std::vector<int32_t> MatchSamples(const std::vector<int64_t>& v8_micros,
                                  const SampleRing& ring);

}  // namespace labelprof
