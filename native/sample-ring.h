// The preallocated buffer the SIGPROF handler writes and stop() drains.
//
// One writer: the signal handler, which runs on the profiled isolate's own
// thread (V8 sends SIGPROF to that thread with pthread_kill). One reader:
// stop(), on the same thread, after `accepting` has been cleared. Because
// both run on one thread and a handler runs to completion before the thread
// resumes, the reader never sees a half-written record; the atomics and
// signal fences only keep the compiler from reordering across them.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

namespace labelprof {

// One SIGPROF taken on a profiled thread.
struct SampleRecord {
  int64_t wall_nanos;  // CLOCK_MONOTONIC at handler entry
  // CLOCK_MONOTONIC once V8 was done with this event: its chained handler
  // returned (a signal), or CollectSample returned (a GC-start marker). V8
  // stamps its sample of the event in [wall_nanos, v8_done_nanos]: the
  // isolate thread does nothing else in between (sample-matcher.h).
  int64_t v8_done_nanos;
  int64_t cpu_nanos;       // the thread's CPU time at handler entry (thread-cpu-clock.h)
  int32_t label_set_id;    // the label set of the interrupted code
  uint32_t handler_nanos;  // our part of the handler, entry to chain
  uint32_t pcs_offset;     // native walk: first pc in the ring's pc arena
  uint16_t pcs_count;      //   how many (0: no walk, or no room left)
  uint16_t flags;          // WalkFlags of the walk, or a marker bit below
};

// Records that no signal produced: written at the start and end of each GC
// (see ProfilerInstance::OnGcPrologue), to hang GC samples under the
// JavaScript stack that triggered the GC.
constexpr uint16_t kRecordGcStart = 1u << 15;
constexpr uint16_t kRecordGcEnd = 1u << 14;
constexpr uint16_t kRecordMarkers = kRecordGcStart | kRecordGcEnd;
// On a GC-start marker: V8 was asked for a sample of the JavaScript stack
// (CpuProfiler::CollectSample) between wall_nanos and v8_done_nanos.
constexpr uint16_t kRecordV8Sampled = 1u << 13;
// On a signal record: the tick interrupted generated code in a frame setup or
// teardown, where V8 takes no sample (signal-handler.cc).
constexpr uint16_t kRecordFrameSetup = 1u << 12;
// On a signal record: reading the thread's CPU time took a system call (no
// perf task clock, or its user-space read could not be used).
constexpr uint16_t kRecordCpuSyscall = 1u << 11;

// Native pcs kept per sample on average; the arena is shared, so deep and
// shallow stacks even out. Past it, samples keep no native frames (counted).
// The walk stops at the first V8-generated frame, so most samples keep 3-12
// pcs (idle ones ~10). The arena's memory is backed only as it fills.
constexpr uint32_t kAveragePcsPerSample = 12;

// GC markers get their own slots on top of the samples', so a GC never takes
// the place of a sample (maxSamples means samples). Two markers per GC; a
// quarter of the sample budget covers one GC per two samples, far more than
// we saw (allocation-heavy loops: ~1 GC per 10 samples at 1 kHz). Past it,
// markers are skipped and that GC's samples stay under (garbage collector).
inline uint32_t MarkerCapacityFor(uint32_t samples) { return samples / 4 + 16; }

// Memory for the ring: reserved at start(), backed by the kernel page by page
// as the handler first writes it, returned at stop. A buffer for ten minutes
// at 10 kHz reserves ~250 MB of address space but costs only what the
// profile fills. The first kPrefaultBytes are touched up front: a first
// write from the handler page-faults (one zero-fill fault per 4 KB page, a
// hundred records), which took the handler's p90 from ~2 us to 10-15 us when
// every page was fresh.
template <typename T>
class LazyArray {
 public:
  static constexpr size_t kPrefaultBytes = 1 << 20;
  LazyArray() = default;
  LazyArray(const LazyArray&) = delete;
  LazyArray& operator=(const LazyArray&) = delete;
  ~LazyArray() { Release(); }

  // Isolate thread only. False when the address space cannot be reserved.
  bool Reserve(size_t count) {
    Release();
    if (count == 0) return true;
    size_t bytes = count * sizeof(T);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    data_ = static_cast<T*>(p);
    count_ = count;
    std::memset(p, 0, std::min(bytes, kPrefaultBytes));
    return true;
  }
  void Release() {
    if (data_ != nullptr) munmap(data_, count_ * sizeof(T));
    data_ = nullptr;
    count_ = 0;
  }
  T* get() const { return data_; }
  size_t size() const { return count_; }
  T& operator[](size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  size_t count_ = 0;
};

class SampleRing {
 public:
  // Reserves; isolate thread only, never while sampling. Room for
  // `samples` samples plus MarkerCapacityFor(samples) GC markers.
  // `pcs_capacity` 0: no native walks. False when memory cannot be reserved.
  bool Reset(uint32_t samples, uint32_t pcs_capacity) {
    const uint32_t capacity = samples + MarkerCapacityFor(samples);
    if (capacity != capacity_ || records_.get() == nullptr) {
      if (!records_.Reserve(capacity)) return false;
      capacity_ = capacity;
    }
    sample_capacity_ = samples;
    marker_capacity_ = capacity - samples;
    if (pcs_capacity != pcs_capacity_ || (pcs_capacity > 0 && pcs_.get() == nullptr)) {
      if (!pcs_.Reserve(pcs_capacity)) return false;
      pcs_capacity_ = pcs_capacity;
    }
    Clear();
    return true;
  }

  // Isolate thread, SIGPROF blocked or not sampling: empties the ring and
  // its counters, keeping its memory (its touched pages stay touched).
  void Clear() {
    count_.store(0, std::memory_order_relaxed);
    samples_.store(0, std::memory_order_relaxed);
    markers_ = 0;
    dropped_.store(0, std::memory_order_relaxed);
    pcs_used_ = 0;
    pcs_dropped_ = 0;
  }

  // Isolate thread, not sampling: gives the memory back.
  void Release() {
    records_.Release();
    pcs_.Release();
    capacity_ = sample_capacity_ = marker_capacity_ = pcs_capacity_ = 0;
    Clear();
  }

  // Isolate thread, with SIGPROF blocked (a period boundary): moves what
  // `live` holds into this ring, sized to fit, and empties `live`.
  void TakeFrom(SampleRing& live) {
    const uint32_t n = live.count();
    records_.Reserve(std::max<uint32_t>(n, 1));
    capacity_ = n;
    if (n > 0) std::memcpy(records_.get(), live.records_.get(), n * sizeof(SampleRecord));
    pcs_.Reserve(live.pcs_used_);
    pcs_capacity_ = live.pcs_used_;
    if (live.pcs_used_ > 0)
      std::memcpy(pcs_.get(), live.pcs_.get(), live.pcs_used_ * sizeof(uint64_t));
    count_.store(n, std::memory_order_relaxed);
    samples_.store(live.samples_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    markers_ = live.markers_;
    dropped_.store(live.dropped(), std::memory_order_relaxed);
    pcs_used_ = live.pcs_used_;
    pcs_dropped_ = live.pcs_dropped_;
    live.Clear();
  }

  // Signal handler only: no allocation, no lock. Copies `n` pcs into the
  // arena and returns their offset, or UINT32_MAX (counted) when full.
  uint32_t AppendPcsSignalSafe(const uint64_t* pcs, uint32_t n) {
    if (pcs_used_ + n > pcs_capacity_) {
      pcs_dropped_++;
      return UINT32_MAX;
    }
    uint32_t offset = pcs_used_;
    for (uint32_t i = 0; i < n; i++) pcs_[offset + i] = pcs[i];
    pcs_used_ += n;
    return offset;
  }

  // Signal handler only: no allocation, no lock, no fault (prefetches never
  // fault). Asks the CPU for the lines the next record and its pcs will be
  // written to, so those misses overlap the handler's other work.
  void PrefetchSignalSafe() const {
    const uint32_t n = count_.load(std::memory_order_relaxed);
    if (n < capacity_) __builtin_prefetch(&records_[n], 1);
    if (pcs_used_ < pcs_capacity_) __builtin_prefetch(&pcs_[pcs_used_], 1);
  }

  // Signal handler only: no allocation, no lock. Returns null when full,
  // after counting the drop.
  SampleRecord* ClaimSignalSafe() {
    uint32_t n = count_.load(std::memory_order_relaxed);
    if (samples_.load(std::memory_order_relaxed) >= sample_capacity_ || n >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    return &records_[n];
  }

  // Signal handler only: publishes the record ClaimSignalSafe returned.
  // Plain load and store, no read-modify-write: the handler is the only
  // writer and runs on the reader's thread (a locked add waited for the
  // record's stores to cold lines to drain: ~1 us at 99 Hz on Node 24).
  void CommitSignalSafe() {
    std::atomic_signal_fence(std::memory_order_release);
    samples_.store(samples_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // Isolate thread, outside the handler, with SIGPROF blocked (so the
  // handler cannot interleave): appends a marker record.
  void AppendMarker(const SampleRecord& marker) {
    uint32_t n = count_.load(std::memory_order_relaxed);
    // Full: the GC's samples stay under (garbage collector).
    if (markers_ >= marker_capacity_ || n >= capacity_) return;
    markers_++;
    records_[n] = marker;
    count_.store(n + 1, std::memory_order_release);
  }

  // Isolate thread, SIGPROF blocked: whether AppendMarker would keep a marker.
  bool HasRoomForMarker() const {
    return markers_ < marker_capacity_ && count_.load(std::memory_order_relaxed) < capacity_;
  }

  uint32_t count() const { return count_.load(std::memory_order_acquire); }
  uint32_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint32_t capacity() const { return capacity_; }
  const SampleRecord& at(uint32_t i) const { return records_[i]; }
  const uint64_t* pcs() const { return pcs_.get(); }
  uint32_t pcs_used() const { return pcs_used_; }
  uint32_t pcs_dropped() const { return pcs_dropped_; }

 private:
  LazyArray<SampleRecord> records_;
  uint32_t capacity_ = 0;  // samples + markers
  uint32_t sample_capacity_ = 0;
  uint32_t marker_capacity_ = 0;
  std::atomic<uint32_t> count_{0};  // records written, samples and markers
  std::atomic<uint32_t> samples_{0};
  uint32_t markers_ = 0;  // isolate thread, SIGPROF blocked
  std::atomic<uint32_t> dropped_{0};
  // Written by the handler only; read after sampling stopped (same thread).
  LazyArray<uint64_t> pcs_;
  uint32_t pcs_capacity_ = 0;
  uint32_t pcs_used_ = 0;
  uint32_t pcs_dropped_ = 0;
};

}  // namespace labelprof
