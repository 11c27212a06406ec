#include "sample-assembly.h"

#include <algorithm>

#include "stack-walker.h"

namespace labelprof {
namespace {

// A GC-start sample names the code that triggered the GC only when it holds
// a JavaScript stack: not when the GC started outside JavaScript (V8 then
// shows a pseudo-frame alone).
bool IsJavaScriptStack(const FlatProfile& flat, int32_t node) {
  if (node <= 0) return false;
  const std::string& name = flat.node_name[node];
  if (flat.node_parent[node] != 0) return true;
  return name != "(garbage collector)" && name != "(program)" && name != "(idle)" &&
         name != "(root)";
}

}  // namespace

SampleColumns AssembleSamples(const AssemblyInput& in, ProfilerStats* stats) {
  const FlatProfile& flat = in.flat;
  MatchResult m = MatchSamples(flat.sample_micros, in.records, in.install_nanos, in.stop_nanos);

  // GC attribution: V8's sample at each GC start (bracketed by the start
  // marker) names the code that triggered the GC; records between a start
  // marker and its end marker belong to that GC.
  const uint32_t record_count = in.records.count;
  std::vector<int32_t> gc_start_node(record_count, -1);
  for (size_t j = 0; j < m.fate.size(); j++) {
    if (m.fate[j] != SampleFate::kGcStart) continue;
    if (IsJavaScriptStack(flat, flat.sample_node[j]))
      gc_start_node[m.record[j]] = flat.sample_node[j];
  }
  std::vector<int32_t> record_gc_parent(record_count, -1);
  for (uint32_t k = 0, open = UINT32_MAX; k < record_count; k++) {
    uint16_t flags = in.records.at(k).flags;
    if (flags & kRecordGcStart) open = k;
    else if (flags & kRecordGcEnd) open = UINT32_MAX;
    else if (open != UINT32_MAX) record_gc_parent[k] = gc_start_node[open];
  }

  SampleColumns out;
  int64_t prev_cpu = in.start_cpu_nanos;
  int64_t prev_wall = in.install_nanos;
  for (uint32_t j : m.order) {
    switch (m.fate[j]) {
      case SampleFate::kMatched: break;
      case SampleFate::kGcStart: stats->gc_start_samples++; continue;
      case SampleFate::kNoRecord: stats->unmatched++; continue;
      case SampleFate::kBeforeInstall: stats->before_install++; continue;
      case SampleFate::kAfterStop: stats->after_stop++; continue;
    }
    const int32_t node = flat.sample_node[j];
    const SampleRecord& r = in.records.at(m.record[j]);
    int32_t gc_parent = -1;
    if (record_gc_parent[m.record[j]] >= 0 && flat.node_name[node] == "(garbage collector)") {
      gc_parent = record_gc_parent[m.record[j]];
      stats->gc_samples_attributed++;
    }
    out.gc_parent.push_back(gc_parent);
    out.node.push_back(node);
    out.label.push_back(r.label_set_id);
    // CPU the thread used, and wall time passed, since the previous sample.
    // Rows are in time order, so neither goes negative unless the clocks do.
    out.cpu_nanos.push_back(static_cast<double>(std::max<int64_t>(0, r.cpu_nanos - prev_cpu)));
    out.wall_nanos.push_back(static_cast<double>(std::max<int64_t>(0, r.wall_nanos - prev_wall)));
    prev_cpu = std::max(prev_cpu, r.cpu_nanos);
    prev_wall = std::max(prev_wall, r.wall_nanos);
    if (in.native_frames) {
      out.pcs_start.push_back(static_cast<uint32_t>(out.pcs.size()));
      out.pcs_count.push_back(r.pcs_count);
      for (uint32_t k = 0; k < r.pcs_count; k++) {
        out.pcs.push_back(static_cast<double>(in.pcs[r.pcs_offset + k]));
      }
      if (r.flags & kWalkReachedEnd) stats->walks_complete++;
      if (r.flags & kWalkTruncated) stats->walks_truncated++;
      if (r.flags & kWalkBadFrame) stats->walks_bad_frame++;
    }
  }
  stats->walks_no_room = in.pcs_dropped;
  stats->matched = static_cast<uint32_t>(out.node.size());
  stats->records_unmatched = m.records_unmatched;
  stats->records_unmatched_frame_setup = m.records_unmatched_frame_setup;
  stats->records_unmatched_back_to_back = m.records_unmatched_back_to_back;
  stats->records_unmatched_after_stop = m.records_unmatched_after_stop;
  stats->v8_samples = static_cast<uint32_t>(flat.sample_micros.size());
  return out;
}

}  // namespace labelprof
