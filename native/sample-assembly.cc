#include "sample-assembly.h"

#include <algorithm>

#include "sample-matcher.h"
#include "stack-walker.h"

namespace labelprof {

SampleColumns AssembleSamples(const AssemblyInput& in, ProfilerStats* stats) {
  // Samples V8 took before our handler was installed (the synchronous one in
  // StartProfiling) or after stop began carry no record: drop them.
  std::vector<int64_t> kept_micros;
  std::vector<int32_t> kept_node;
  for (size_t i = 0; i < in.flat.sample_micros.size(); i++) {
    if (in.flat.sample_micros[i] * 1000 + kMatchSlackNanos < in.install_nanos) {
      stats->before_install++;
      continue;
    }
    if (in.flat.sample_micros[i] * 1000 > in.stop_nanos) {
      stats->after_stop++;
      continue;
    }
    kept_micros.push_back(in.flat.sample_micros[i]);
    kept_node.push_back(in.flat.sample_node[i]);
  }
  std::vector<int32_t> match = MatchSamples(kept_micros, in.ring);

  // V8 also records samples no signal produced: on deoptimization it adds
  // the stack at the deopt point (ProfilerListener::CodeDeoptEvent). Those
  // are no ticks of the clock, and every tick passes our handler first, so
  // samples without a record are left out and counted.
  SampleColumns out;
  // GC attribution: V8's sample at each GC start (paired with the start
  // marker) names the code that triggered the GC; records between a start
  // and its end marker belong to that GC.
  const uint32_t record_count = in.ring.count();
  std::vector<int32_t> gc_start_node(record_count, -1);
  for (size_t j = 0; j < kept_micros.size(); j++) {
    if (match[j] >= 0 && (in.ring.at(match[j]).flags & kRecordGcStart) &&
        in.flat.node_name[kept_node[j]] != "(garbage collector)") {
      gc_start_node[match[j]] = kept_node[j];
    }
  }
  std::vector<int32_t> record_gc_parent(record_count, -1);
  for (uint32_t k = 0, open = UINT32_MAX; k < record_count; k++) {
    uint16_t flags = in.ring.at(k).flags;
    if (flags & kRecordGcStart) open = k;
    else if (flags & kRecordGcEnd) open = UINT32_MAX;
    else if (open != UINT32_MAX) record_gc_parent[k] = gc_start_node[open];
  }

  int64_t prev_cpu = in.start_cpu_nanos;
  int64_t prev_wall = in.install_nanos;
  for (size_t j = 0; j < kept_micros.size(); j++) {
    if (match[j] < 0) {
      stats->unmatched++;
      continue;
    }
    const SampleRecord& r = in.ring.at(match[j]);
    if (r.flags & kRecordMarkers) continue;  // V8's GC-start stack: no tick
    int32_t gc_parent = -1;
    if (record_gc_parent[match[j]] >= 0 && in.flat.node_name[kept_node[j]] == "(garbage collector)") {
      gc_parent = record_gc_parent[match[j]];
      stats->gc_samples_attributed++;
    }
    out.gc_parent.push_back(gc_parent);
    out.node.push_back(kept_node[j]);
    out.label.push_back(r.label_set_id);
    // CPU the thread used, and wall time passed, since the previous sample.
    out.cpu_nanos.push_back(static_cast<double>(std::max<int64_t>(0, r.cpu_nanos - prev_cpu)));
    out.wall_nanos.push_back(static_cast<double>(std::max<int64_t>(0, r.wall_nanos - prev_wall)));
    prev_cpu = r.cpu_nanos;
    prev_wall = r.wall_nanos;
    if (in.native_frames) {
      out.pcs_start.push_back(static_cast<uint32_t>(out.pcs.size()));
      out.pcs_count.push_back(r.pcs_count);
      for (uint32_t k = 0; k < r.pcs_count; k++) {
        out.pcs.push_back(static_cast<double>(in.ring.pcs()[r.pcs_offset + k]));
      }
      if (r.flags & kWalkReachedEnd) stats->walks_complete++;
      if (r.flags & kWalkTruncated) stats->walks_truncated++;
      if (r.flags & kWalkBadFrame) stats->walks_bad_frame++;
    }
  }
  stats->walks_no_room = in.ring.pcs_dropped();
  stats->matched = static_cast<uint32_t>(out.node.size());
  stats->v8_samples = static_cast<uint32_t>(in.flat.sample_micros.size());
  return out;
}

}  // namespace labelprof
