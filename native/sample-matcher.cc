#include "sample-matcher.h"

namespace labelprof {

std::vector<int32_t> MatchSamples(const std::vector<int64_t>& v8_micros,
                                  const SampleRing& ring) {
  std::vector<int32_t> match(v8_micros.size(), -1);
  const int64_t count = ring.count();
  int64_t next = 0;  // first record not yet used or skipped
  for (size_t j = 0; j < v8_micros.size(); j++) {
    const int64_t sample_nanos = v8_micros[j] * 1000;
    // The candidate is the last unused record stamped no later than the
    // sample (with slack for V8's truncation to microseconds).
    int64_t candidate = -1;
    while (next < count &&
           ring.at(next).wall_nanos <= sample_nanos + kMatchSlackNanos) {
      candidate = next;
      next++;
    }
    if (candidate < 0) continue;
    if (sample_nanos - ring.at(candidate).wall_nanos > kMatchWindowNanos) {
      continue;  // too old: its V8 sample was lost; this sample has none
    }
    match[j] = static_cast<int32_t>(candidate);
  }
  return match;
}

}  // namespace labelprof
