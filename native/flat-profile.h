// A V8 CpuProfile as plain arrays: what the rest of the addon works on once
// V8's profile is stopped. No V8 types, so the pure parts (matching, sample
// assembly) are tested on hand-made profiles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace labelprof {

// A CpuProfile as flat arrays. Node 0 is V8's "(root)".
struct FlatProfile {
  std::vector<int32_t> node_parent;  // -1 for the root
  // kCallerLineNumbers: the line, in the parent's function, of the call
  // that entered this node (0 if unknown).
  std::vector<int32_t> node_line;
  // The line in this node's own function that most samples hit while it was
  // the leaf (V8 keeps line ticks per node, not per sample); 0 if none.
  std::vector<int32_t> node_hit_line;
  std::vector<int32_t> node_column;
  std::vector<int32_t> node_script_id;
  std::vector<std::string> node_name;  // V8's name, "(anonymous)" if empty
  std::vector<std::string> node_url;
  std::vector<int32_t> sample_node;    // node index per sample
  std::vector<int64_t> sample_micros;  // CLOCK_MONOTONIC microseconds
  int64_t start_micros = 0;
  int64_t end_micros = 0;
};

}  // namespace labelprof
