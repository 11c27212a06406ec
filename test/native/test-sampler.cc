#include "test-sampler.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <atomic>
#include <memory>
#include <thread>

#include "../../native/stack-walker.h"

namespace labelprof_test {
namespace {

struct State {
  pthread_t target{};
  labelprof::ThreadStackBounds stack;
  uint32_t interval_micros = 0;
  uint32_t capacity = 0;
  uint32_t max_depth = 0;
  std::unique_ptr<SampleSlot[]> slots;
  std::unique_ptr<uint64_t[]> pcs;
  std::atomic<uint32_t> count{0};
  std::atomic<uint32_t> dropped{0};
  std::atomic<uint32_t> signals{0};
  std::atomic<bool> running{false};
  std::thread sender;
  struct sigaction previous;
};

State* g_state = nullptr;
std::atomic<State*> g_active{nullptr};

uint64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: async-signal-safe in practice
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Called in the signal handler: no allocation, no lock.
void Handler(int, siginfo_t*, void* ucontext) {
  int saved_errno = errno;
  State* s = g_active.load(std::memory_order_acquire);
  if (s != nullptr && pthread_equal(pthread_self(), s->target)) {
    s->signals.fetch_add(1, std::memory_order_relaxed);
    uint32_t i = s->count.load(std::memory_order_relaxed);
    if (i < s->capacity) {
      uint64_t t0 = MonotonicNanos();
      uint32_t flags = 0;
      int depth = labelprof::WalkNativeStackSignalSafe(
          ucontext, s->stack, &s->pcs[static_cast<size_t>(i) * s->max_depth],
          static_cast<int>(s->max_depth), &flags);
      uint64_t t1 = MonotonicNanos();
      s->slots[i] = SampleSlot{static_cast<uint32_t>(depth), flags, static_cast<uint32_t>(t1 - t0)};
      s->count.store(i + 1, std::memory_order_release);
    } else {
      s->dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }
  errno = saved_errno;
}

void SendLoop(State* s) {
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  while (s->running.load(std::memory_order_acquire)) {
    next.tv_nsec += static_cast<long>(s->interval_micros) * 1000;
    while (next.tv_nsec >= 1000000000) {
      next.tv_nsec -= 1000000000;
      next.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    if (!s->running.load(std::memory_order_acquire)) break;
    pthread_kill(s->target, SIGPROF);
  }
}

}  // namespace

bool StartSampling(uint32_t interval_micros, uint32_t capacity, uint32_t max_depth,
                   std::string* error) {
  if (g_state != nullptr) {
    *error = "already sampling: call stopSampling() first";
    return false;
  }
  auto s = std::make_unique<State>();
  s->target = pthread_self();
  if (!labelprof::CaptureCurrentThreadStack(&s->stack, error)) return false;
  s->interval_micros = interval_micros;
  s->capacity = capacity;
  s->max_depth = max_depth;
  // Touch every page now: a first write inside the handler would take a
  // page fault there (several microseconds, and the kernel's mm lock).
  s->slots.reset(new SampleSlot[capacity]());
  s->pcs.reset(new uint64_t[static_cast<size_t>(capacity) * max_depth]());
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = Handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGPROF, &sa, &s->previous) != 0) {
    *error = std::string("sigaction failed: ") + strerror(errno);
    return false;
  }
  g_state = s.release();
  g_active.store(g_state, std::memory_order_release);
  g_state->running.store(true);
  g_state->sender = std::thread(SendLoop, g_state);
  return true;
}

bool StopSampling(SamplerResult* out, std::string* error) {
  if (g_state == nullptr) {
    *error = "not sampling: call startSampling() first";
    return false;
  }
  std::unique_ptr<State> s(g_state);
  g_state = nullptr;
  s->running.store(false);
  s->sender.join();
  g_active.store(nullptr, std::memory_order_release);
  sigaction(SIGPROF, &s->previous, nullptr);
  uint32_t n = s->count.load(std::memory_order_acquire);
  out->slots.assign(s->slots.get(), s->slots.get() + n);
  out->pcs.assign(s->pcs.get(), s->pcs.get() + static_cast<size_t>(n) * s->max_depth);
  out->max_depth = s->max_depth;
  out->dropped = s->dropped.load();
  out->signals = s->signals.load();
  return true;
}

}  // namespace labelprof_test
