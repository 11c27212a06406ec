#include "exit-signals.h"

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace labelprof {
namespace {

constexpr int kMaxSignal = 65;

struct ExitSignal {
  struct sigaction previous;
  bool armed = false;
  std::atomic<bool> watched{false};
};

ExitSignal g_signals[kMaxSignal];
std::mutex g_mutex;  // arming only; never taken in the handler
sem_t g_wake;
bool g_thread_started = false;
std::atomic<int> g_pending{0};          // the signal the watchdog waits on
std::atomic<int> g_acked{0};            // increments when JavaScript takes a signal
std::atomic<int> g_acked_at_signal{0};  // g_acked when the signal came
std::atomic<int> g_grace_millis{500};

// Called in the signal handler: no allocation, no lock, no V8. Wakes the
// watchdog (sem_post is async-signal-safe) and chains to libuv's handler,
// which queues the signal for the event loop.
void OnExitSignal(int sig, siginfo_t* info, void* ucontext) {
  int saved_errno = errno;
  if (sig > 0 && sig < kMaxSignal) {
    if (g_signals[sig].watched.load(std::memory_order_relaxed)) {
      // Noted here, not in the watchdog: JavaScript may take the signal
      // before the watchdog thread even wakes up.
      g_acked_at_signal.store(g_acked.load(std::memory_order_acquire), std::memory_order_relaxed);
      g_pending.store(sig, std::memory_order_relaxed);
      sem_post(&g_wake);
    }
    const struct sigaction& prev = g_signals[sig].previous;
    if (prev.sa_flags & SA_SIGINFO) {
      if (prev.sa_sigaction != nullptr && prev.sa_sigaction != OnExitSignal)
        prev.sa_sigaction(sig, info, ucontext);
    } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
      prev.sa_handler(sig);
    }
  }
  errno = saved_errno;
}

void Watchdog() {
  for (;;) {
    while (sem_wait(&g_wake) != 0) {
    }
    const int sig = g_pending.load(std::memory_order_relaxed);
    const int acked = g_acked_at_signal.load(std::memory_order_relaxed);
    const int grace = g_grace_millis.load(std::memory_order_relaxed);
    bool taken = g_acked.load(std::memory_order_acquire) != acked;
    for (int waited = 0; !taken && waited < grace; waited += 10) {
      struct timespec ten_ms = {0, 10 * 1000 * 1000};
      nanosleep(&ten_ms, nullptr);
      if (g_acked.load(std::memory_order_acquire) != acked) {
        taken = true;
        break;
      }
    }
    if (taken || sig <= 0 || sig >= kMaxSignal || !g_signals[sig].watched.load()) continue;
    // The event loop did not take the signal: end the process as the signal
    // would have without a listener.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    kill(getpid(), sig);
  }
}

bool ValidSignal(const Napi::CallbackInfo& info, int* sig) {
  if (info.Length() < 1 || !info[0].IsNumber()) return false;
  *sig = info[0].As<Napi::Number>().Int32Value();
  return *sig == SIGINT || *sig == SIGTERM;
}

}  // namespace

Napi::Value JS_armExitSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sig;
  if (!ValidSignal(info, &sig) || info.Length() < 2 || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "armExitSignal(SIGINT|SIGTERM, graceMillis)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  g_grace_millis.store(info[1].As<Napi::Number>().Int32Value());
  if (!g_thread_started) {
    sem_init(&g_wake, 0, 0);
    std::thread(Watchdog).detach();
    g_thread_started = true;
  }
  struct sigaction current;
  sigaction(sig, nullptr, &current);
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == OnExitSignal)
    return env.Undefined();
  g_signals[sig].previous = current;
  struct sigaction ours;
  memset(&ours, 0, sizeof(ours));
  ours.sa_sigaction = OnExitSignal;
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&ours.sa_mask);
  sigaction(sig, &ours, nullptr);
  g_signals[sig].armed = true;
  return env.Undefined();
}

Napi::Value JS_watchExitSignal(const Napi::CallbackInfo& info) {
  int sig;
  if (!ValidSignal(info, &sig)) {
    Napi::TypeError::New(info.Env(), "watchExitSignal(SIGINT|SIGTERM, on)")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  // Not ToBoolean: in a terminating Worker it returns a Boolean with no env,
  // whose Value() is a fatal error.
  g_signals[sig].watched.store(info.Length() > 1 && info[1].IsBoolean() &&
                               info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value JS_ackExitSignal(const Napi::CallbackInfo& info) {
  g_acked.fetch_add(1, std::memory_order_release);
  return info.Env().Undefined();
}

}  // namespace labelprof
