#include "thread-cpu-clock.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>

#include "signal-path.h"

namespace labelprof {
namespace {

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH int64_t ClockNanosSignalSafe(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);  // async-signal-safe (POSIX)
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// A PERF_RECORD_SWITCH with sample_id_all and PERF_SAMPLE_TIME alone: the
// 8-byte header, then the CLOCK_MONOTONIC stamp.
constexpr uint16_t kSwitchRecordBytes = 16;

// Fields of the user page (struct perf_event_mmap_page), read through a
// volatile pointer: the kernel rewrites them while we read.
template <typename T>
T FieldSignalSafe(const volatile uint8_t* page, size_t offset) {
  return *reinterpret_cast<const volatile T*>(page + offset);
}
constexpr size_t kLock = offsetof(perf_event_mmap_page, lock);
constexpr size_t kOffset = offsetof(perf_event_mmap_page, offset);
constexpr size_t kDataHead = offsetof(perf_event_mmap_page, data_head);

}  // namespace

bool ThreadCpuClock::Open(bool use_perf, std::string* why) {
  Close();
  if (!use_perf) {
    *why = "turned off (_setPerfCpuClock(false))";
    return false;
  }
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  // Counting only, this thread only. exclude_kernel is what lets an
  // unprivileged process open it at perf_event_paranoid 2; the task clock
  // counts the thread's whole time on the CPU regardless.
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  attr.context_switch = 1;
  attr.sample_id_all = 1;
  attr.sample_type = PERF_SAMPLE_TIME;
  attr.use_clockid = 1;
  attr.clockid = CLOCK_MONOTONIC;
  int fd = static_cast<int>(
      syscall(SYS_perf_event_open, &attr, 0 /* this thread */, -1, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) {
    *why = std::string("perf_event_open(task-clock) failed: ") + strerror(errno);
    return false;
  }
  const long page_bytes = sysconf(_SC_PAGESIZE);
  // The user page and one data page (a power of two, as the kernel wants).
  // Read-only: the kernel then overwrites the oldest records.
  const size_t bytes = static_cast<size_t>(page_bytes) * 2;
  void* map = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    *why = std::string("mmap of the task-clock event failed: ") + strerror(errno);
    close(fd);
    return false;
  }
  const auto* page = static_cast<const perf_event_mmap_page*>(map);
  // Kernels before 4.1 leave data_offset/data_size 0: the data follows the page.
  data_offset_ = page->data_offset != 0 ? page->data_offset : static_cast<uint64_t>(page_bytes);
  const uint64_t data_size =
      page->data_size != 0 ? page->data_size : static_cast<uint64_t>(page_bytes);
  if ((data_size & (data_size - 1)) != 0 || data_size < kSwitchRecordBytes) {
    *why = "the task-clock ring has an unexpected size";
    munmap(map, bytes);
    close(fd);
    return false;
  }
  data_mask_ = data_size - 1;
  fd_ = fd;
  page_ = static_cast<const volatile uint8_t*>(map);
  map_bytes_ = bytes;
  // Anchor for reads before the first switch record, and the shift onto
  // CLOCK_THREAD_CPUTIME_ID's origin.
  anchor_lock_ = FieldSignalSafe<uint32_t>(page_, kLock);
  anchor_count_ = ReadEventSignalSafe();
  anchor_monotonic_ = ClockNanosSignalSafe(CLOCK_MONOTONIC);
  base_nanos_ = ClockNanosSignalSafe(CLOCK_THREAD_CPUTIME_ID) - anchor_count_;
  return true;
}

void ThreadCpuClock::Close() {
  if (page_ != nullptr) munmap(const_cast<uint8_t*>(page_), map_bytes_);
  if (fd_ >= 0) close(fd_);
  page_ = nullptr;
  fd_ = -1;
}

// Called in the signal handler: no allocation, no lock. read() is
// async-signal-safe; the event's value is the task clock now.
LABELPROF_SIGNAL_PATH int64_t ThreadCpuClock::ReadEventSignalSafe() const {
  uint64_t value = 0;
  if (read(fd_, &value, sizeof(value)) != sizeof(value)) return -1;
  return static_cast<int64_t>(value);
}

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH int64_t ThreadCpuClock::NowNanosSignalSafe(int64_t monotonic_nanos,
                                                                 bool* syscall) const {
  if (page_ == nullptr) {
    *syscall = true;
    return ClockNanosSignalSafe(CLOCK_THREAD_CPUTIME_ID);
  }
  const volatile uint8_t* data = page_ + data_offset_;
  // The kernel writes the page and the ring only at a switch of this thread,
  // which bumps `lock` (at the sched-in): an unchanged lock around the reads
  // means they saw one consistent state. A switch in between: try again.
  for (int attempt = 0; attempt < 2; attempt++) {
    const uint32_t lock = FieldSignalSafe<uint32_t>(page_, kLock);
    std::atomic_thread_fence(std::memory_order_acquire);
    const int64_t count = FieldSignalSafe<int64_t>(page_, kOffset);
    const uint64_t head = FieldSignalSafe<uint64_t>(page_, kDataHead);
    std::atomic_thread_fence(std::memory_order_acquire);  // head before the records
    uint64_t header = 0, stamp = 0;
    if (head >= kSwitchRecordBytes) {
      header = FieldSignalSafe<uint64_t>(data, (head - 16) & data_mask_);
      stamp = FieldSignalSafe<uint64_t>(data, (head - 8) & data_mask_);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (FieldSignalSafe<uint32_t>(page_, kLock) != lock) continue;
    if (head < kSwitchRecordBytes) {
      // No switch since open: the anchor holds while nothing was rewritten.
      if (lock != anchor_lock_) break;
      *syscall = false;
      return base_nanos_ + anchor_count_ + (monotonic_nanos - anchor_monotonic_);
    }
    // struct perf_event_header: u32 type, u16 misc, u16 size.
    const uint32_t type = static_cast<uint32_t>(header);
    const uint16_t misc = static_cast<uint16_t>(header >> 32);
    const uint16_t size = static_cast<uint16_t>(header >> 48);
    if (type != PERF_RECORD_SWITCH || size != kSwitchRecordBytes ||
        (misc & PERF_RECORD_MISC_SWITCH_OUT) != 0) {
      break;  // not the switch-in we expect: ask the kernel
    }
    int64_t since = monotonic_nanos - static_cast<int64_t>(stamp);
    if (since < 0) since = 0;  // a stamp taken after `monotonic_nanos` was read
    *syscall = false;
    return base_nanos_ + count + since;
  }
  *syscall = true;
  const int64_t value = ReadEventSignalSafe();
  return value >= 0 ? base_nanos_ + value : ClockNanosSignalSafe(CLOCK_THREAD_CPUTIME_ID);
}

int64_t ThreadCpuClock::NowNanos() const {
  bool syscall = false;
  return NowNanosSignalSafe(ClockNanosSignalSafe(CLOCK_MONOTONIC), &syscall);
}

}  // namespace labelprof
