#include "sample-matcher.h"

#include <algorithm>
#include <climits>

namespace labelprof {
namespace {

// Records a V8 sample can belong to: every signal record, and the GC-start
// markers V8 was asked to sample at. GC-end markers and unsampled starts
// only delimit GCs.
bool TakesASample(const SampleRecord& r) {
  if ((r.flags & kRecordMarkers) == 0) return true;
  return (r.flags & kRecordGcStart) != 0 && (r.flags & kRecordV8Sampled) != 0;
}

}  // namespace

MatchResult MatchSamples(const std::vector<int64_t>& v8_micros, RecordSpan records,
                         int64_t install_nanos, int64_t stop_nanos) {
  MatchResult out;
  const size_t n = v8_micros.size();
  out.order.resize(n);
  for (size_t i = 0; i < n; i++) out.order[i] = static_cast<uint32_t>(i);
  std::stable_sort(out.order.begin(), out.order.end(),
                   [&](uint32_t a, uint32_t b) { return v8_micros[a] < v8_micros[b]; });
  out.record.assign(n, -1);
  out.fate.assign(n, SampleFate::kNoRecord);

  // Candidate records in time order. The ring is written in time order by
  // one thread; sorting again costs little and keeps a wrong input from
  // silently mismatching everything after it.
  std::vector<uint32_t> candidates;
  candidates.reserve(records.count);
  for (uint32_t k = 0; k < records.count; k++) {
    const SampleRecord& r = records.at(k);
    if (r.wall_nanos > stop_nanos) continue;
    if (TakesASample(r)) candidates.push_back(k);
  }
  std::stable_sort(candidates.begin(), candidates.end(), [&](uint32_t a, uint32_t b) {
    return records.at(a).wall_nanos < records.at(b).wall_nanos;
  });

  // Brackets do not overlap (one thread, SIGPROF blocked inside each), so a
  // sweep suffices: drop brackets that end before the sample; the next one
  // holds the sample or nothing does. Each record takes at most one sample.
  size_t next = 0;
  for (uint32_t j : out.order) {
    const int64_t t = v8_micros[j] * 1000;  // true stamp in [t - 1000, t)
    while (next < candidates.size() &&
           records.at(candidates[next]).v8_done_nanos + kMatchSlackNanos < t) {
      next++;
    }
    if (next < candidates.size()) {
      const SampleRecord& r = records.at(candidates[next]);
      if (t > r.wall_nanos - kMatchSlackNanos) {
        out.record[j] = static_cast<int32_t>(candidates[next]);
        out.fate[j] = (r.flags & kRecordGcStart) ? SampleFate::kGcStart : SampleFate::kMatched;
        next++;
        continue;
      }
    }
    if (t + kMatchSlackNanos <= install_nanos) {
      out.fate[j] = SampleFate::kBeforeInstall;
    } else if (t > stop_nanos) {
      out.fate[j] = SampleFate::kAfterStop;
    }
  }

  std::vector<bool> used(records.count, false);
  for (size_t j = 0; j < n; j++) {
    if (out.record[j] >= 0) used[out.record[j]] = true;
  }
  int64_t previous_done = INT64_MIN;  // records are in time order
  for (uint32_t k = 0; k < records.count; k++) {
    const SampleRecord& r = records.at(k);
    const bool signal = (r.flags & kRecordMarkers) == 0;
    if (signal && r.wall_nanos > stop_nanos) {
      out.records_unmatched++;
      out.records_unmatched_after_stop++;
    } else if (signal && !used[k]) {
      out.records_unmatched++;
      if (r.flags & kRecordFrameSetup) {
        out.records_unmatched_frame_setup++;
      } else if (previous_done != INT64_MIN && r.wall_nanos - previous_done < kBackToBackNanos) {
        out.records_unmatched_back_to_back++;
      }
    }
    previous_done = std::max(previous_done, r.v8_done_nanos);
  }
  return out;
}

}  // namespace labelprof
