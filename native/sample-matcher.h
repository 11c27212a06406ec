// Pairs V8's samples with the records our handler took for them, one to one.
//
// A real tick passes our handler first: it stamps CLOCK_MONOTONIC at entry
// (wall_nanos), chains to V8's handler, which stamps the sample, and stamps
// again when V8's handler returns (v8_done_nanos). Both handlers run on the
// isolate thread with SIGPROF blocked, so nothing else the isolate does can
// fall inside [wall_nanos, v8_done_nanos]: a V8 sample belongs to the record
// whose bracket holds its timestamp, and to no other. The same holds for the
// GC-start marker, whose bracket holds V8's CollectSample call.
//
// What that rules out, and why it matters (docs/design-notes.md):
// - V8's sample list is not in time order. Samples V8 takes from the isolate
//   thread itself (CollectSample at a GC start, the stack at each
//   deoptimization, the synchronous one in StartProfiling) go through a
//   separate queue and are often listed before older ticks. The matcher sorts
//   by time and never assumes list order.
// - Those samples have no signal: they fall in no signal record's bracket,
//   so they never take a real tick's record, however close they are.
// - Records with no V8 sample (another CpuProfiler's SIGPROF, a tick V8
//   dropped) match nothing and are counted.
#pragma once

#include <cstdint>
#include <vector>

#include "sample-ring.h"

namespace labelprof {

// V8's timestamps are whole microseconds: a sample V8 stamped at T
// nanoseconds shows as floor(T / 1000) + 1 us on Linux (TimeTicks::Now adds
// one so that it is never zero; seen here as samples 0-1 us after the
// bracket). A bracket takes samples within this much on either side.
constexpr int64_t kMatchSlackNanos = 1000;

// A signal that starts this soon after the previous record's bracket ended
// was pending while that one was handled. On a loaded machine V8's sampler
// thread, late, sometimes sends its next SIGPROF while the isolate thread is
// still taking the previous one; V8's handler takes one sample for the two
// (its "record a sample" flag is consumed by the first), so the second
// signal has no V8 sample. Seen here only under heavy load (1.5-5 us gaps).
constexpr int64_t kBackToBackNanos = 10000;

// The records of one profiling period, ascending by wall_nanos (the ring's
// order: one writer thread). Not owned.
struct RecordSpan {
  const SampleRecord* records = nullptr;
  uint32_t count = 0;
  const SampleRecord& at(uint32_t i) const { return records[i]; }
};

inline RecordSpan SpanOf(const SampleRing& ring) {
  RecordSpan span;
  span.count = ring.count();
  if (span.count > 0) span.records = &ring.at(0);
  return span;
}

// What became of one V8 sample.
enum class SampleFate : uint8_t {
  kMatched,        // paired with a signal record: a sample of the profile
  kGcStart,        // paired with a GC-start marker: the stack that triggered the GC
  kNoRecord,       // no record's bracket holds it (deopt, CollectSample, a 2nd StartProfiling)
  kBeforeInstall,  // stamped before our handler went in (StartProfiling's own sample)
  kAfterStop,      // stamped after stop() began
};

struct MatchResult {
  // V8 sample indices in time order (ties keep V8's order).
  std::vector<uint32_t> order;
  // Per V8 sample (V8's index): the record it is paired with, or -1.
  std::vector<int32_t> record;
  std::vector<SampleFate> fate;
  // Signal records (not markers) that no V8 sample was paired with; of
  // those, the ticks V8 refused to sample (kRecordFrameSetup), and the
  // signals that arrived back to back with the previous record, and the
  // signals recorded after stop() began (V8 had stopped sampling: none of
  // them can be in the profile, and each is counted here, not lost).
  uint32_t records_unmatched = 0;
  uint32_t records_unmatched_frame_setup = 0;
  uint32_t records_unmatched_back_to_back = 0;
  uint32_t records_unmatched_after_stop = 0;
};

// Pairs `v8_micros` (V8's sample timestamps, CLOCK_MONOTONIC microseconds, in
// V8's order) with `records`. Records stamped after `stop_nanos` pair with no
// sample; they are counted in records_unmatched_after_stop.
// Pure: isolate thread, after sampling stopped, or a test with made-up input.
MatchResult MatchSamples(const std::vector<int64_t>& v8_micros, RecordSpan records,
                         int64_t install_nanos, int64_t stop_nanos);

}  // namespace labelprof
