// The preallocated buffer the SIGPROF handler writes and stop() drains.
//
// One writer: the signal handler, which runs on the profiled isolate's own
// thread (V8 sends SIGPROF to that thread with pthread_kill). One reader:
// stop(), on the same thread, after `accepting` has been cleared. Because
// both run on one thread and a handler runs to completion before the thread
// resumes, the reader never sees a half-written record; the atomics and
// signal fences only keep the compiler from reordering across them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace labelprof {

// One SIGPROF taken on a profiled thread.
struct SampleRecord {
  int64_t wall_nanos;     // CLOCK_MONOTONIC at handler entry
  int64_t cpu_nanos;      // CLOCK_THREAD_CPUTIME_ID at handler entry
  int32_t label_set_id;   // value of the label slot JavaScript writes
  uint32_t handler_nanos; // our part of the handler, entry to chain
};

class SampleRing {
 public:
  // Allocates; isolate thread only, never while sampling.
  void Reset(uint32_t capacity) {
    if (capacity != capacity_) {
      records_.reset(new SampleRecord[capacity]);
      capacity_ = capacity;
    }
    count_.store(0, std::memory_order_relaxed);
    dropped_.store(0, std::memory_order_relaxed);
  }

  // Signal handler only: no allocation, no lock. Returns null when full,
  // after counting the drop.
  SampleRecord* ClaimSignalSafe() {
    uint32_t n = count_.load(std::memory_order_relaxed);
    if (n >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    return &records_[n];
  }

  // Signal handler only: publishes the record ClaimSignalSafe returned.
  void CommitSignalSafe() {
    std::atomic_signal_fence(std::memory_order_release);
    count_.fetch_add(1, std::memory_order_relaxed);
  }

  uint32_t count() const { return count_.load(std::memory_order_acquire); }
  uint32_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint32_t capacity() const { return capacity_; }
  const SampleRecord& at(uint32_t i) const { return records_[i]; }

 private:
  std::unique_ptr<SampleRecord[]> records_;
  uint32_t capacity_ = 0;
  std::atomic<uint32_t> count_{0};
  std::atomic<uint32_t> dropped_{0};
};

}  // namespace labelprof
