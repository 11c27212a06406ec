// What stats() reports about one profiling run.
#pragma once

#include <cstdint>
#include <string>

namespace labelprof {

// Counters for stats(); live while profiling, final after stop.
struct ProfilerStats {
  uint32_t signals = 0;     // SIGPROFs our handler took on this thread
  uint32_t recorded = 0;    // ... written to the ring
  uint32_t dropped = 0;     // ... lost because the ring was full
  uint32_t v8_samples = 0;  // samples in V8's profile
  // Every V8 sample is one of: matched + gc_start_samples + unmatched +
  // before_install + after_stop (sample-matcher.h).
  uint32_t matched = 0;            // V8 samples paired with a signal record: the profile
  uint32_t gc_start_samples = 0;   // ... paired with a GC-start marker (GC parents, not ticks)
  uint32_t unmatched = 0;          // ... with no record: no signal made them (deopts, ...)
  uint32_t before_install = 0;     // ... taken before our handler
  uint32_t after_stop = 0;         // ... and after stop() began
  uint32_t records_unmatched = 0;  // signal records no V8 sample was paired with
  uint32_t records_unmatched_frame_setup = 0;   // ... because V8 skips frame setups
  uint32_t records_unmatched_back_to_back = 0;  // ... sent while V8 took the previous one
  uint32_t records_unmatched_after_stop = 0;    // ... taken after stop() began
  uint32_t gcs = 0;                             // GCs seen while profiling (marker pairs)
  uint32_t gc_samples_attributed = 0;  // GC samples put under the JS stack that triggered the GC
  uint32_t handler_median_nanos = 0;
  uint32_t handler_max_nanos = 0;
  double handler_total_nanos = 0;
  bool displaced = false;             // our SIGPROF handler stopped getting signals (replaced)
  double displaced_at_nanos = 0;      // ... after the last one it took: ns since the epoch
  const char* label_source = "";      // "context-frame" or "slot"
  const char* cpu_clock = "";         // "task-clock" or "thread-cputime" (thread-cpu-clock.h)
  uint32_t cpu_clock_syscalls = 0;    // signal records whose CPU time took a system call
  std::string cpu_clock_unavailable;  // why the perf task clock is not used
  bool native_frames = false;
  bool gc_stacks = false;        // GC-start samples requested (CollectSample)
  uint32_t walks_complete = 0;   // native walks that reached the outermost frame
  uint32_t walks_truncated = 0;  // ... that hit kMaxNativeDepth
  uint32_t walks_bad_frame = 0;  // ... stopped by a failed frame check
  uint32_t walks_no_room = 0;    // samples whose pcs found the arena full
  std::string unwind_error;      // why the CFI table could not be built
};

}  // namespace labelprof
