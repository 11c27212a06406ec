// What each part of our SIGPROF handler costs: an internal switch for
// measurements (the bench's handler breakdown, bench/micro/handler-parts.js),
// off unless a test or bench turns it on with the test-only native
// `_setHandlerTiming(true)` before start().
//
// When on, the handler reads the CPU's cycle counter (rdtsc on x86-64, the
// virtual counter on arm64: no syscall, ~10-20 ns) between its parts and
// appends the differences to a log preallocated at start(). The conversion
// to nanoseconds is calibrated against CLOCK_MONOTONIC over the run, off the
// signal path. When off, each mark costs one predictable branch.
#pragma once

#include <time.h>

#include <cstdint>
#include <memory>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace labelprof {

// The parts, in the order the handler runs them.
enum HandlerPart : int {
  kPartPrologue,  // CLOCK_MONOTONIC at entry, sampler lookup, re-entry guard, chain target
  kPartClaim,     // CFI table pinned and prefetched, ring slot claimed
  kPartCpuClock,  // the thread's CPU time
  kPartLabel,     // the label-set id (slot or AsyncContextFrame)
  kPartWalk,      // the native walk (0 without native frames)
  kPartRing,      // pcs copied into the arena, frame-setup check, commit
  kPartChain,     // V8's handler, chained (not ours; for scale)
  kPartCount
};

constexpr const char* kHandlerPartNames[kPartCount] = {"prologue", "claim", "cpuClock", "label",
                                                       "walk",     "ring",  "v8Chained"};

// Called in the signal handler: no allocation, no lock, no syscall.
inline uint64_t CycleCounterSignalSafe() {
#if defined(__x86_64__)
  return __rdtsc();
#elif defined(__aarch64__)
  uint64_t v;
  asm volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
  return v;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO; the "cycles" are then nanoseconds
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
#endif
}

// The per-sample log. Isolate thread owns it; the handler on that thread is
// its only writer while sampling.
class HandlerTimingLog {
 public:
  // Isolate thread, before sampling: room for `samples` rows.
  void Reset(uint32_t samples) {
    rows_.reset(new uint32_t[static_cast<size_t>(samples) * kPartCount]);
    capacity_ = samples;
    count_ = 0;
    start_cycles_ = CycleCounterSignalSafe();
    start_nanos_ = MonotonicNanos();
  }

  // Called in the signal handler: no allocation, no lock. `marks` holds
  // kPartCount + 1 cycle counts, one before each part and one after the
  // last; a part that did not run has equal marks on both sides.
  void AppendSignalSafe(const uint64_t* marks) {
    if (count_ >= capacity_) return;
    uint32_t* row = &rows_[static_cast<size_t>(count_) * kPartCount];
    for (int i = 0; i < kPartCount; i++) {
      const uint64_t d = marks[i + 1] >= marks[i] ? marks[i + 1] - marks[i] : 0;
      row[i] = d > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(d);
    }
    count_++;
  }

  // Isolate thread, after sampling stopped (or with SIGPROF blocked).
  uint32_t count() const { return count_; }
  const uint32_t* row(uint32_t i) const { return &rows_[static_cast<size_t>(i) * kPartCount]; }
  // Nanoseconds per counter tick, measured over the run so far.
  double NanosPerCycle() const {
    const uint64_t cycles = CycleCounterSignalSafe() - start_cycles_;
    const int64_t nanos = MonotonicNanos() - start_nanos_;
    return cycles > 0 ? static_cast<double>(nanos) / static_cast<double>(cycles) : 1.0;
  }

 private:
  static int64_t MonotonicNanos() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  std::unique_ptr<uint32_t[]> rows_;
  uint32_t capacity_ = 0;
  uint32_t count_ = 0;
  uint64_t start_cycles_ = 0;
  int64_t start_nanos_ = 0;
};

}  // namespace labelprof
