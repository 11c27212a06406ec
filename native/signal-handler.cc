#include "signal-handler.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <mutex>

namespace labelprof {
namespace signal_handler {
namespace {

// More profiled threads than this at once is refused at start().
constexpr int kMaxThreads = 64;

std::atomic<ThreadSampler*> g_samplers[kMaxThreads];

// Guarded by g_mutex; read by the handler only while installed, and written
// only while not installed.
std::mutex g_mutex;
int g_registered = 0;
bool g_installed = false;
struct sigaction g_previous;

void SigprofHandler(int sig, siginfo_t* info, void* ucontext);

// Called in the signal handler: no allocation, no lock.
inline int64_t NowNanosSignalSafe(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);  // async-signal-safe (POSIX)
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Called in the signal handler: no allocation, no lock.
ThreadSampler* FindSamplerSignalSafe() {
  pthread_t self = pthread_self();  // reads the thread pointer; no syscall
  for (int i = 0; i < kMaxThreads; i++) {
    ThreadSampler* s = g_samplers[i].load(std::memory_order_acquire);
    if (s != nullptr && pthread_equal(s->thread, self)) return s;
  }
  return nullptr;
}

// Called in the signal handler: no allocation, no lock. Whether `pc`, a pc in
// V8-generated code, sits in a frame setup or teardown: V8's sampler
// refuses such ticks (TickSample::GetStackSample -> IsNoFrameRegion, the
// same byte patterns, x64) and records no sample, so our record of the tick
// can match nothing. Reads only the page holding `pc`, which is mapped: the
// thread was executing there.
bool InFrameSetupSignalSafe(uint64_t pc) {
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

// Called in the signal handler: no allocation, no lock. Hands the signal to
// the handler we displaced (V8's), which takes the JavaScript sample.
void ChainSignalSafe(int sig, siginfo_t* info, void* ucontext) {
  const struct sigaction& prev = g_previous;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction != nullptr && prev.sa_sigaction != SigprofHandler) {
      prev.sa_sigaction(sig, info, ucontext);
    }
    return;
  }
  // SIG_DFL would terminate the process on SIGPROF; SIG_IGN does nothing.
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
  }
}

// The SIGPROF handler. Called in the signal handler (it is one): no
// allocation, no lock, no logging, no V8.
void SigprofHandler(int sig, siginfo_t* info, void* ucontext) {
  int saved_errno = errno;
  ThreadSampler* sampler = FindSamplerSignalSafe();
  SampleRecord* record = nullptr;
  if (sampler != nullptr &&
      sampler->accepting.load(std::memory_order_acquire)) {
    int64_t entry = NowNanosSignalSafe(CLOCK_MONOTONIC);
    record = sampler->ring.ClaimSignalSafe();
    if (record != nullptr) {
      record->wall_nanos = entry;
      record->v8_done_nanos = entry;
      record->cpu_nanos = NowNanosSignalSafe(CLOCK_THREAD_CPUTIME_ID);
      record->label_set_id = sampler->frames != nullptr
                                 ? sampler->frames->ReadLabelSetIdSignalSafe()
                                 : *sampler->label_slot;
      record->pcs_count = 0;
      record->flags = 0;
      if (sampler->native_frames) {
        uint64_t pcs[kMaxNativeDepth];
        uint32_t flags = 0;
        int n = WalkNativeStackSignalSafe(ucontext, sampler->stack, pcs, kMaxNativeDepth, &flags,
                                          /*stop_at_code=*/true);
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
      }
      record->handler_nanos =
          static_cast<uint32_t>(NowNanosSignalSafe(CLOCK_MONOTONIC) - entry);
      sampler->ring.CommitSignalSafe();
    }
  }
  ChainSignalSafe(sig, info, ucontext);
  // V8 stamped its sample of this signal (if it took one) inside the chained
  // handler: [wall_nanos, v8_done_nanos] brackets it, which is what the
  // matcher pairs by. Still this thread, still inside the handler, so the
  // committed record cannot be read or reused meanwhile.
  if (record != nullptr) record->v8_done_nanos = NowNanosSignalSafe(CLOCK_MONOTONIC);
  errno = saved_errno;
}

bool InstallLocked(std::string* error) {
  struct sigaction current;
  if (sigaction(SIGPROF, nullptr, &current) != 0) {
    *error = std::string("sigaction(SIGPROF) failed: ") + strerror(errno);
    return false;
  }
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == SigprofHandler) {
    // Never chain to ourselves: that would recurse on every signal.
    *error = "labelprof's SIGPROF handler is already installed";
    return false;
  }
  g_previous = current;
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
  g_installed = true;
  return true;
}

}  // namespace

bool IsInstalled() {
  struct sigaction current;
  if (sigaction(SIGPROF, nullptr, &current) != 0) return false;
  return (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == SigprofHandler;
}

bool Register(ThreadSampler* sampler, std::string* error) {
  std::lock_guard<std::mutex> lock(g_mutex);
  int free_index = -1;
  for (int i = 0; i < kMaxThreads; i++) {
    if (g_samplers[i].load(std::memory_order_relaxed) == nullptr) {
      free_index = i;
      break;
    }
  }
  if (free_index < 0) {
    *error = "too many threads are being profiled at once (at most 64)";
    return false;
  }
  if (g_registered == 0 && !InstallLocked(error)) return false;
  g_samplers[free_index].store(sampler, std::memory_order_release);
  g_registered++;
  return true;
}

bool Unregister(ThreadSampler* sampler) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (int i = 0; i < kMaxThreads; i++) {
    if (g_samplers[i].load(std::memory_order_relaxed) == sampler) {
      g_samplers[i].store(nullptr, std::memory_order_release);
      g_registered--;
      break;
    }
  }
  bool still_ours = IsInstalled();
  if (g_registered == 0 && g_installed) {
    // If someone replaced our handler, theirs stays: restoring V8's over it
    // would break them, and they may chain to us no more.
    if (still_ours) sigaction(SIGPROF, &g_previous, nullptr);
    g_installed = false;
  }
  return still_ours;
}

}  // namespace signal_handler
}  // namespace labelprof
