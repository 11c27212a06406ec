#include "signal-handler.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <mutex>
#include <vector>

#include "signal-path.h"

namespace labelprof {
namespace signal_handler {
namespace {

// More profiled threads than this at once is refused at start().
constexpr int kMaxThreads = 64;
// Threads that can be inside our handler at once and still be protected
// from re-entry; past it a thread runs unguarded.
constexpr int kMaxActive = 64;

// The registered threads. Entry i belongs to thread g_registrations[i].thread;
// only that thread writes it (Register and Unregister run on the isolate
// thread) and only a handler running on that thread reads its sampler. Other threads'
// handlers compare thread ids and never dereference a sampler that is not
// theirs, so a Worker's sampler can be freed while they run.
// Each thread id sits beside its sampler: the handler's lookup (usually of
// entry 0, the main thread) reads one cache line, which at 99 Hz is a miss.
struct alignas(16) Registration {
  std::atomic<pthread_t> thread{0};
  std::atomic<ThreadSampler*> sampler{nullptr};
};
Registration g_registrations[kMaxThreads];

// What our handler hands the signal to: the function to call, decided when
// the record is made (in its first cache line), and the action we displaced.
struct ChainRecord {
  void (*action)(int, siginfo_t*, void*) = nullptr;
  void (*handler)(int) = nullptr;
  struct sigaction saved;
};

// The globals every signal reads, in one cache line: at 99 Hz each line the
// handler touches is a miss. chain: an immutable ChainRecord, published with
// one atomic store; a later install publishes a new one and retires the old;
// retired ones are freed once no handler is between loading the pointer and
// copying what it points to (chain_readers). probe_thread: a thread whose
// probe (ProbeLocked) is in flight; its handler only counts. timing_threads:
// registered threads whose sampler has part timing on (handler-timing.h);
// while zero, the handler reads no cycle counter.
struct alignas(64) HotGlobals {
  std::atomic<const ChainRecord*> chain{nullptr};
  std::atomic<int> chain_readers{0};
  std::atomic<int> timing_threads{0};
  std::atomic<pthread_t> probe_thread{0};
};
HotGlobals g_hot;
std::atomic<const ChainRecord*>& g_chain = g_hot.chain;
std::atomic<int>& g_chain_readers = g_hot.chain_readers;
std::atomic<pthread_t>& g_probe_thread = g_hot.probe_thread;
std::atomic<int>& g_timing_threads = g_hot.timing_threads;
std::atomic<int> g_probe_hits{0};

// Threads inside our handler now: a second entry on the same thread is a
// cycle someone else built, and returns at once.
std::atomic<pthread_t> g_active[kMaxActive];

static_assert(std::atomic<pthread_t>::is_always_lock_free &&
                  std::atomic<ThreadSampler*>::is_always_lock_free &&
                  std::atomic<const ChainRecord*>::is_always_lock_free &&
                  std::atomic<int>::is_always_lock_free,
              "the handler may only use lock-free atomics");

// Where our handler stands in the process's SIGPROF chain.
enum class Place {
  kOut,    // not installed, and nobody saved it: nothing calls it
  kTop,    // it is the disposition
  kUnder,  // someone displaced it and may call it: it stays a pass-through
};

// Guarded by g_mutex (isolate threads).
std::mutex g_mutex;
int g_registered = 0;
Place g_place = Place::kOut;
std::vector<const ChainRecord*> g_retired;
// ReachesUs's last probe: the disposition it probed and what it found.
void* g_probed_handler = nullptr;
bool g_probed_reached = false;

void SigprofHandler(int sig, siginfo_t* info, void* ucontext);

// Called in the signal handler: no allocation, no lock.
inline int64_t NowNanosSignalSafe(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);  // async-signal-safe (POSIX)
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Called in the signal handler: no allocation, no lock. Only the calling
// thread's own entry is dereferenced.
LABELPROF_SIGNAL_PATH ThreadSampler* FindSamplerSignalSafe(pthread_t self) {
  for (int i = 0; i < kMaxThreads; i++) {
    if (pthread_equal(g_registrations[i].thread.load(std::memory_order_acquire), self)) {
      return g_registrations[i].sampler.load(std::memory_order_acquire);
    }
  }
  return nullptr;
}

// Index EnterSignalSafe returns for a registered thread, whose guard is its
// sampler's `inside` flag rather than an entry of g_active.
constexpr int kGuardedBySampler = kMaxActive;

// Called in the signal handler: no allocation, no lock. Marks this thread as
// inside our handler: a registered thread (`sampler` non-null) in its
// sampler, one flag on a line the handler reads anyway, any other in
// g_active (a scan of 64 entries, 8 cache lines). Returns kGuardedBySampler
// or the index in g_active, -1 when that table is full (unguarded), or -2
// when the thread is already inside (re-entered).
LABELPROF_SIGNAL_PATH int EnterSignalSafe(pthread_t self, ThreadSampler* sampler) {
  if (sampler != nullptr) {
    // Only this thread writes it, and a nested entry can only happen on
    // this thread, between two of its instructions: no read-modify-write.
    if (sampler->inside.load(std::memory_order_relaxed)) return -2;
    sampler->inside.store(true, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    return kGuardedBySampler;
  }
  int free_index = -1;
  for (int i = 0; i < kMaxActive; i++) {
    pthread_t t = g_active[i].load(std::memory_order_relaxed);
    if (pthread_equal(t, self)) return -2;
    if (t == 0 && free_index < 0) free_index = i;
  }
  for (int i = free_index; i >= 0 && i < kMaxActive; i++) {
    pthread_t expected = 0;
    if (g_active[i].compare_exchange_strong(expected, self, std::memory_order_relaxed)) return i;
  }
  return -1;
}

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH void LeaveSignalSafe(int index, ThreadSampler* sampler) {
  if (index == kGuardedBySampler) sampler->inside.store(false, std::memory_order_relaxed);
  else if (index >= 0) g_active[index].store(0, std::memory_order_relaxed);
}

// What to call next, copied out of the published record.
struct ChainTarget {
  void (*action)(int, siginfo_t*, void*) = nullptr;
  void (*handler)(int) = nullptr;
};

// Called in the signal handler: no allocation, no lock. The reader count is
// raised before the pointer is loaded and lowered once the copy is taken,
// so RetireLocked never frees a record being read.
LABELPROF_SIGNAL_PATH ChainTarget LoadChainSignalSafe() {
  ChainTarget target;
  g_chain_readers.fetch_add(1, std::memory_order_seq_cst);
  const ChainRecord* record = g_chain.load(std::memory_order_seq_cst);
  if (record != nullptr) {
    target.action = record->action;
    target.handler = record->handler;
  }
  g_chain_readers.fetch_sub(1, std::memory_order_seq_cst);
  return target;
}

// Called in the signal handler: no allocation, no lock. Whether `pc`, a pc in
// V8-generated code, sits in a frame setup or teardown: V8's sampler
// refuses such ticks (TickSample::GetStackSample -> IsNoFrameRegion, the
// same byte patterns, x64) and records no sample, so our record of the tick
// can match nothing. Reads only the page holding `pc`, which is mapped: the
// thread was executing there.
LABELPROF_SIGNAL_PATH bool InFrameSetupSignalSafe(uint64_t pc) {
  const uintptr_t page = pc & ~uintptr_t{4095};
  auto same_page = [page](uint64_t a) { return (a & ~uintptr_t{4095}) == page; };
  auto at = [](uint64_t a) { return *reinterpret_cast<const volatile uint8_t*>(a); };
  // push %rbp; mov %rsp,%rbp -- at pc, or pc is on the mov.
  for (uint64_t start : {pc, pc - 1}) {
    if (same_page(start) && same_page(start + 3) && at(start) == 0x55 && at(start + 1) == 0x48 &&
        at(start + 2) == 0x89 && at(start + 3) == 0xE5) {
      return true;
    }
  }
  // pop %rbp; ret [N] -- at pc, or pc is on the ret.
  for (uint64_t start : {pc, pc - 1}) {
    if (same_page(start) && same_page(start + 1) && at(start) == 0x5D &&
        (at(start + 1) == 0xC2 || at(start + 1) == 0xC3)) {
      return true;
    }
  }
  return false;
}

// Called in the signal handler: no allocation, no lock, no fault. At 99 Hz
// every line the handler reads is a cache miss, and each one it needs
// before it can issue the next (a pointer to follow) stalls it. So as soon
// as the sampler is known, all the lines of the record path are requested
// at once: the sampler itself, the CPU clock's user page, the CFI table's
// pin, the ring's next slots. The misses then overlap.
LABELPROF_SIGNAL_PATH void PrefetchSignalSafe(const ThreadSampler* sampler) {
  const char* bytes = reinterpret_cast<const char*>(sampler);
  for (size_t offset = 0; offset < sizeof(ThreadSampler); offset += 64) {
    __builtin_prefetch(bytes + offset);
  }
  sampler->cpu_clock.PrefetchSignalSafe();
  if (sampler->native_frames) unwind_table::PrefetchPinSignalSafe();
  // Reads the ring's counters (lines requested just above).
  sampler->ring.PrefetchSignalSafe();
}

// Called in the signal handler: no allocation, no lock. With part timing on,
// stamps the cycle counter before each part into marks[part].
inline void MarkSignalSafe(uint64_t* marks, int part) {
  if (marks != nullptr) marks[part] = CycleCounterSignalSafe();
}

// Called in the signal handler: no allocation, no lock. Takes one record
// for the interrupted thread; returns it (null when the ring is full).
// `entry`: CLOCK_MONOTONIC as the handler began. `marks`: null, or
// kPartCount + 1 cycle stamps (handler-timing.h).
LABELPROF_SIGNAL_PATH SampleRecord* RecordSignalSafe(ThreadSampler* sampler, void* ucontext,
                                                     int64_t entry, uint64_t* marks) {
  MarkSignalSafe(marks, kPartClaim);
  // With native frames, the CFI table is pinned first and the lines its
  // first search reads are requested, so their cache misses overlap the
  // clock and label reads below instead of stalling the walk (at 99 Hz the
  // walk's first search went from ~0.9 us to ~0.35 us).
  const UnwindTable* table = sampler->native_frames ? unwind_table::AcquireSignalSafe() : nullptr;
  unwind_table::PrefetchSignalSafe(table);
  if (sampler->native_frames) {
    // The bytes at the pc, which the frame-setup check reads (a JIT page
    // the thread was executing, mapped).
    __builtin_prefetch(reinterpret_cast<const void*>(cpu::FromContextSignalSafe(ucontext).pc));
  }
  if (sampler->frames != nullptr) sampler->frames->PrefetchSignalSafe();
  sampler->last_signal_nanos.store(entry, std::memory_order_relaxed);
  SampleRecord* record = sampler->ring.ClaimSignalSafe();
  if (record == nullptr) {
    if (sampler->native_frames) unwind_table::ReleaseSignalSafe();
    return nullptr;
  }
  record->wall_nanos = entry;
  record->v8_done_nanos = entry;
  MarkSignalSafe(marks, kPartCpuClock);
  bool cpu_syscall = false;
  record->cpu_nanos = sampler->cpu_clock.NowNanosSignalSafe(entry, &cpu_syscall);
  MarkSignalSafe(marks, kPartLabel);
  record->label_set_id = sampler->frames != nullptr ? sampler->frames->ReadLabelSetIdSignalSafe()
                                                    : *sampler->label_slot;
  record->pcs_count = 0;
  record->flags = 0;
  MarkSignalSafe(marks, kPartWalk);
  if (sampler->native_frames) {
    uint64_t pcs[kMaxNativeDepth];
    uint32_t flags = 0;
    int n = WalkPinnedSignalSafe(ucontext, sampler->stack, table, pcs, kMaxNativeDepth, &flags,
                                 /*stop_at_code=*/true);
    // The pcs are copied out: the table can go (before the stores below,
    // which a locked decrement would wait for).
    unwind_table::ReleaseSignalSafe();
    MarkSignalSafe(marks, kPartRing);
    uint32_t offset = sampler->ring.AppendPcsSignalSafe(pcs, static_cast<uint32_t>(n));
    if (offset != UINT32_MAX) {
      record->pcs_offset = offset;
      record->pcs_count = static_cast<uint16_t>(n);
    }
    record->flags = static_cast<uint16_t>(flags);
    // A leaf in generated code, where V8 will not sample: counted apart.
    if (n == 1 && (flags & kWalkStoppedAtCode) && InFrameSetupSignalSafe(pcs[0])) {
      record->flags |= kRecordFrameSetup;
    }
  } else {
    MarkSignalSafe(marks, kPartRing);
  }
  if (cpu_syscall) record->flags |= kRecordCpuSyscall;
  record->handler_nanos = static_cast<uint32_t>(NowNanosSignalSafe(CLOCK_MONOTONIC) - entry);
  sampler->ring.CommitSignalSafe();
  return record;
}

// The SIGPROF handler. Called in the signal handler (it is one): no
// allocation, no lock, no logging, no V8.
LABELPROF_SIGNAL_PATH void SigprofHandler(int sig, siginfo_t* info, void* ucontext) {
  int saved_errno = errno;
  // Part timing (an internal measurement switch): stamps before each part.
  uint64_t marks_storage[kPartCount + 1];
  uint64_t* marks = nullptr;
  if (g_timing_threads.load(std::memory_order_relaxed) > 0) {
    marks = marks_storage;
    marks[kPartPrologue] = CycleCounterSignalSafe();
  }
  // Then: the record's wall time, and where its handler_nanos starts (all
  // of our part is timed, the lookups below included).
  const int64_t entry = NowNanosSignalSafe(CLOCK_MONOTONIC);
  const pthread_t self = pthread_self();  // reads the thread pointer; no syscall
  if (pthread_equal(g_probe_thread.load(std::memory_order_acquire), self)) {
    // ProbeLocked's signal reached us: counted, not sampled, not passed on.
    g_probe_hits.fetch_add(1, std::memory_order_relaxed);
    errno = saved_errno;
    return;
  }
  // Only this thread's own entry is dereferenced; it cannot be freed while
  // this thread is inside its handler.
  ThreadSampler* sampler = FindSamplerSignalSafe(self);
  if (sampler != nullptr) PrefetchSignalSafe(sampler);
  const int active = EnterSignalSafe(self, sampler);
  if (active == -2) {
    // Re-entered on this thread: some handler we chain to chains back to us.
    // The outer call goes on; recursing would overflow the signal stack.
    errno = saved_errno;
    return;
  }
  ChainTarget next = LoadChainSignalSafe();
  SampleRecord* record = nullptr;
  if (sampler != nullptr && sampler->accepting.load(std::memory_order_acquire)) {
    if (sampler->timing == nullptr) marks = nullptr;
    record = RecordSignalSafe(sampler, ucontext, entry, marks);
  }
  // Hand the signal to the handler we displaced (V8's), which takes the
  // JavaScript sample.
  MarkSignalSafe(marks, kPartChain);
  if (next.action != nullptr) {
    next.action(sig, info, ucontext);
  } else if (next.handler != nullptr) {
    next.handler(sig);
  }
  if (record != nullptr && marks != nullptr) {
    MarkSignalSafe(marks, kPartCount);
    sampler->timing->AppendSignalSafe(marks);
  }
  // V8 stamped its sample of this signal (if it took one) inside the chained
  // handler: [wall_nanos, v8_done_nanos] brackets it, which is what the
  // matcher pairs by. Still this thread, still inside the handler, so the
  // committed record cannot be read or reused meanwhile.
  if (record != nullptr) record->v8_done_nanos = NowNanosSignalSafe(CLOCK_MONOTONIC);
  LeaveSignalSafe(active, sampler);
  errno = saved_errno;
}

bool IsOurs(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) && action.sa_sigaction == SigprofHandler;
}

void* HandlerAddress(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(action.sa_sigaction)
                                        : reinterpret_cast<void*>(action.sa_handler);
}

bool IsCallable(const struct sigaction& action) {
  if (action.sa_flags & SA_SIGINFO) return action.sa_sigaction != nullptr;
  return action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN;
}

// Frees retired chain records once no handler is reading one. A handler
// raises the reader count before it loads g_chain (both seq_cst), so after
// the exchange that retired them a zero count proves nobody holds one.
// Never waits: what cannot be freed now is freed by a later call.
void FreeRetiredLocked() {
  if (g_retired.empty()) return;
  if (g_chain_readers.load(std::memory_order_seq_cst) != 0) return;
  for (const ChainRecord* old : g_retired) delete old;
  g_retired.clear();
}

void PublishChainLocked(const struct sigaction& previous) {
  auto* record = new ChainRecord();
  record->saved = previous;
  if (previous.sa_flags & SA_SIGINFO) {
    // Never ourselves: the two would call each other.
    if (previous.sa_sigaction != SigprofHandler) record->action = previous.sa_sigaction;
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    // SIG_DFL would terminate the process on SIGPROF; SIG_IGN does nothing.
    record->handler = previous.sa_handler;
  }
  const ChainRecord* old = g_chain.exchange(record, std::memory_order_seq_cst);
  if (old != nullptr) g_retired.push_back(old);
  FreeRetiredLocked();
}

// Whether a SIGPROF delivered to this thread now, under disposition
// `current`, reaches our handler. Sends this thread one SIGPROF: the
// handlers above ours run once (V8's may take one extra sample, which falls
// outside any profile of ours), ours only counts it.
bool ProbeLocked(const struct sigaction& current) {
  if (IsOurs(current)) return true;
  if (!IsCallable(current)) return false;
  sigset_t unblock, old;
  sigemptyset(&unblock);
  sigaddset(&unblock, SIGPROF);
  pthread_sigmask(SIG_UNBLOCK, &unblock, &old);
  g_probe_hits.store(0, std::memory_order_seq_cst);
  g_probe_thread.store(pthread_self(), std::memory_order_seq_cst);
  // A signal a thread sends itself while it is unblocked is delivered before
  // pthread_kill returns (on the way back from the tgkill system call).
  pthread_kill(pthread_self(), SIGPROF);
  g_probe_thread.store(0, std::memory_order_seq_cst);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  bool reached = g_probe_hits.load(std::memory_order_seq_cst) > 0;
  g_probed_handler = HandlerAddress(current);
  g_probed_reached = reached;
  return reached;
}

bool QueryLocked(struct sigaction* current, std::string* error) {
  if (sigaction(SIGPROF, nullptr, current) == 0) return true;
  if (error != nullptr) *error = std::string("sigaction(SIGPROF) failed: ") + strerror(errno);
  return false;
}

// Makes SIGPROFs reach our handler: it is the disposition, or (displaced)
// it is in the chain of the handler that is; otherwise it goes on top.
bool EnsureReceivingLocked(std::string* error) {
  struct sigaction current;
  if (!QueryLocked(&current, error)) return false;
  if (IsOurs(current)) {
    // Ours all along, or given back by whoever displaced it.
    g_place = Place::kTop;
    return true;
  }
  // Displaced earlier: the handler now installed may have saved ours and
  // call it. Saving it in turn would make the two call each other forever.
  if (g_place != Place::kOut && ProbeLocked(current)) {
    g_place = Place::kUnder;
    return true;
  }
  PublishChainLocked(current);
  struct sigaction ours;
  memset(&ours, 0, sizeof(ours));
  ours.sa_sigaction = SigprofHandler;
  // The same flags V8 uses: run on the alternate stack where one is set up,
  // and restart interrupted syscalls.
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  ours.sa_mask = current.sa_mask;
  if (sigaction(SIGPROF, &ours, nullptr) != 0) {
    *error = std::string("sigaction(SIGPROF) failed: ") + strerror(errno);
    return false;
  }
  g_place = Place::kTop;
  return true;
}

}  // namespace

bool ReachesUs() {
  std::lock_guard<std::mutex> lock(g_mutex);
  struct sigaction current;
  if (!QueryLocked(&current, nullptr)) return false;
  if (IsOurs(current)) return true;
  if (g_place == Place::kOut) return false;
  // stats() may be called often: probe each foreign disposition once.
  if (HandlerAddress(current) == g_probed_handler) return g_probed_reached;
  return ProbeLocked(current);
}

bool Register(ThreadSampler* sampler, std::string* error) {
  std::lock_guard<std::mutex> lock(g_mutex);
  int free_index = -1;
  for (int i = 0; i < kMaxThreads; i++) {
    if (g_registrations[i].thread.load(std::memory_order_relaxed) == 0) {
      free_index = i;
      break;
    }
  }
  if (free_index < 0) {
    *error = "too many threads are being profiled at once (at most 64)";
    return false;
  }
  if (!EnsureReceivingLocked(error)) return false;
  sampler->last_signal_nanos.store(0, std::memory_order_relaxed);
  // The sampler before the thread id: a handler that finds its id finds its
  // sampler (both are this thread's own writes).
  g_registrations[free_index].sampler.store(sampler, std::memory_order_release);
  g_registrations[free_index].thread.store(pthread_self(), std::memory_order_release);
  if (sampler->timing != nullptr) g_timing_threads.fetch_add(1, std::memory_order_relaxed);
  g_registered++;
  return true;
}

bool Unregister(ThreadSampler* sampler) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (int i = 0; i < kMaxThreads; i++) {
    if (g_registrations[i].sampler.load(std::memory_order_relaxed) == sampler &&
        pthread_equal(g_registrations[i].thread.load(std::memory_order_relaxed), pthread_self())) {
      g_registrations[i].thread.store(0, std::memory_order_release);
      g_registrations[i].sampler.store(nullptr, std::memory_order_release);
      if (sampler->timing != nullptr) g_timing_threads.fetch_sub(1, std::memory_order_relaxed);
      g_registered--;
      break;
    }
  }
  FreeRetiredLocked();
  struct sigaction current;
  if (!QueryLocked(&current, nullptr)) return false;
  if (IsOurs(current)) {
    if (g_registered == 0) {
      // Nobody is above us: give the disposition back (V8's, which V8
      // restores itself when its last sampler stops). g_chain stays, for
      // signals already on their way through our handler.
      const ChainRecord* previous = g_chain.load(std::memory_order_seq_cst);
      if (previous != nullptr) sigaction(SIGPROF, &previous->saved, nullptr);
      g_place = Place::kOut;
    } else {
      g_place = Place::kTop;
    }
    return true;
  }
  // Someone replaced ours. Theirs stays (restoring V8's over it would break
  // them), and ours stays a pass-through in case they call it.
  if (g_place == Place::kOut) return false;
  g_place = Place::kUnder;
  return ProbeLocked(current);
}

}  // namespace signal_handler
}  // namespace labelprof
