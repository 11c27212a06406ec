// The profiled thread's CPU time, read in the SIGPROF handler without a
// system call where the kernel allows it.
//
// clock_gettime(CLOCK_THREAD_CPUTIME_ID) is a real system call (the vDSO
// serves no thread CPU clock): 0.75 us warm on this VM and ~2-2.8 us at
// 99 Hz, where every signal finds it cold; it was the largest part of our
// handler. Instead, at start() the thread opens a perf task-clock event on
// itself (a software event: allowed at perf_event_paranoid 2 for one's own
// thread with exclude_kernel) and maps its first page plus one page of its
// ring buffer, read-only. Two kernel facts make a user-space read exact:
// - the task clock's user page is rewritten at every sched-in of the thread
//   (task_clock_event_add -> perf_event_update_userpage): `offset` is then
//   the thread's task-clock time up to that sched-in, and `lock` changes;
// - with attr.context_switch the kernel writes a PERF_RECORD_SWITCH into the
//   ring at every switch of the thread, stamped with CLOCK_MONOTONIC
//   (use_clockid). While the thread runs, the newest record is the switch-in
//   that started the current run.
// So CPU now = offset + (CLOCK_MONOTONIC now - that switch-in's stamp): a
// few loads from two pages and the vDSO clock the handler reads anyway. A
// read-only mapping makes the ring overwrite itself: nothing to consume.
// Where the kernel has not written a switch yet, an anchor taken at open
// (task clock, CLOCK_MONOTONIC, lock) serves while `lock` is unchanged.
// Anything unexpected falls back to read() of the event (a system call).
//
// The task clock counts the time between the scheduler's perf hooks: it
// leaves out the context switch itself, which CLOCK_THREAD_CPUTIME_ID
// counts (~2-4 us per sleep-and-wake on this VM: 1.3 % less CPU on a loop
// that sleeps every 0.25 ms, within 0.15 % on a busy one). All CPU times of
// one profile come from the same clock, so they stay consistent.
//
// Where perf_event_open is refused (perf_event_paranoid 3+, a seccomp
// filter, no CONFIG_PERF_EVENTS), the clock is CLOCK_THREAD_CPUTIME_ID.
#pragma once

#include <cstdint>
#include <string>

namespace labelprof {

class ThreadCpuClock {
 public:
  ThreadCpuClock() = default;
  ThreadCpuClock(const ThreadCpuClock&) = delete;
  ThreadCpuClock& operator=(const ThreadCpuClock&) = delete;
  ~ThreadCpuClock() { Close(); }

  // On the thread to be measured, off the signal path (start()). With
  // `use_perf`, opens the task-clock event; false (with why) when it cannot,
  // and the clock is then CLOCK_THREAD_CPUTIME_ID. Reopens if open.
  bool Open(bool use_perf, std::string* why);
  // Same thread, after sampling stopped (stop()).
  void Close();

  // Called in the signal handler: no allocation, no lock. The thread's CPU
  // time in ns (any origin; only differences mean something), given
  // CLOCK_MONOTONIC now. `*syscall` is set when the read needed a system
  // call (no perf event, or the fast path could not be used).
  int64_t NowNanosSignalSafe(int64_t monotonic_nanos, bool* syscall) const;
  // Called in the signal handler: no allocation, no lock, no fault. Asks the
  // CPU for the user-page lines NowNanosSignalSafe reads first.
  void PrefetchSignalSafe() const {
    if (page_ == nullptr) return;
    __builtin_prefetch(const_cast<const uint8_t*>(page_));         // lock, offset
    __builtin_prefetch(const_cast<const uint8_t*>(page_) + 1024);  // data_head
  }
  // Off the signal path, on the measured thread: the same clock.
  int64_t NowNanos() const;

  // "task-clock" or "thread-cputime".
  const char* name() const { return page_ != nullptr ? "task-clock" : "thread-cputime"; }

 private:
  int64_t ReadEventSignalSafe() const;

  int fd_ = -1;
  const volatile uint8_t* page_ = nullptr;  // user page, then the data pages
  size_t map_bytes_ = 0;
  uint64_t data_offset_ = 0;
  uint64_t data_mask_ = 0;
  // CLOCK_THREAD_CPUTIME_ID - task clock at open: task-clock readings are
  // shifted onto the thread's CPU time, which is what the syscall fallback of
  // a run without perf reads (only for looks: differences are what count).
  int64_t base_nanos_ = 0;
  // At open: lock, task clock and CLOCK_MONOTONIC, for reads before the
  // first switch.
  uint32_t anchor_lock_ = 0;
  int64_t anchor_count_ = 0;
  int64_t anchor_monotonic_ = 0;
};

}  // namespace labelprof
