// labelprof_test_native: a test-only addon that exercises the native-frames
// pieces (CFI table, signal-safe walk, demangling) without the profiler core.
// Every export is test-only, hence the leading `_`.
#include <napi.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include <atomic>

#include "../../native/demangle.h"
#include "../../native/stack-walker.h"
#include "burners.h"
#include "test-matching.h"
#include "test-sampler.h"

namespace {

double NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

Napi::Value Fail(Napi::Env env, const std::string& message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name, double fallback) {
  if (info.Length() <= i || info[i].IsUndefined()) return fallback;
  return info[i].As<Napi::Number>().DoubleValue();
}

Napi::Object StatsObject(Napi::Env env) {
  labelprof::UnwindTableStats st = labelprof::GetUnwindTableStats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("modules", st.modules);
  o.Set("fdes", st.fdes);
  o.Set("rows", st.rows);
  o.Set("unsupportedRows", st.unsupported_rows);
  o.Set("bytes", static_cast<double>(st.bytes));
  o.Set("buildMicros", static_cast<double>(st.build_micros));
  o.Set("compiledNow", st.compiled_now);
  o.Set("skipped", st.skipped);
  o.Set("retiredPending", st.retired_pending);
  return o;
}

// _prepareUnwindTables(mainExecutableCfi: 'none' | 'leaf' | 'all' | 'off' = 'leaf') -> stats
// ('off': no CFI at all, frame pointers only)
Napi::Value JS__prepareUnwindTables(const Napi::CallbackInfo& info) {
  labelprof::UnwindOptions options;
  if (info.Length() > 0 && info[0].IsString()) {
    std::string mode = info[0].As<Napi::String>().Utf8Value();
    if (mode == "none") {
      options.main_executable = labelprof::MainExecutableCfi::kNone;
    } else if (mode == "off") {
      options.use_cfi = false;
    } else if (mode == "all") {
      options.main_executable = labelprof::MainExecutableCfi::kAll;
    } else if (mode != "leaf") {
      Napi::RangeError::New(
          info.Env(),
          "Expected 'none', 'leaf', 'all' or 'off' for mainExecutableCfi but received " + mode)
          .ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
  }
  std::string error;
  bool ok = labelprof::PrepareUnwindTables(options, &error);
  Napi::Object o = StatsObject(info.Env());
  o.Set("ok", ok);
  o.Set("error", error);
  return o;
}

Napi::Value JS__burnNative(const Napi::CallbackInfo& info) {
  return Napi::Number::New(
      info.Env(), static_cast<double>(labelprof_test::BurnNative(NumberArg(info, 0, "ms", 100))));
}

Napi::Value JS__burnNoFramePointer(const Napi::CallbackInfo& info) {
  return Napi::Number::New(
      info.Env(),
      static_cast<double>(labelprof_test::BurnNoFramePointer(NumberArg(info, 0, "ms", 100))));
}

Napi::Value JS__syscallLoop(const Napi::CallbackInfo& info) {
  return Napi::Number::New(
      info.Env(),
      static_cast<double>(labelprof_test::SyscallCaller(NumberArg(info, 0, "ms", 100))));
}

Napi::Value JS__memsetLoop(const Napi::CallbackInfo& info) {
  return Napi::Number::New(
      info.Env(), static_cast<double>(labelprof_test::MemsetCaller(NumberArg(info, 0, "ms", 100))));
}

Napi::Value JS__sortLoop(const Napi::CallbackInfo& info) {
  return Napi::Number::New(
      info.Env(), static_cast<double>(labelprof_test::SortCaller(NumberArg(info, 0, "ms", 100))));
}

// _holdWalk(hold: boolean): acts as a walk in flight (the handler's
// Acquire) until called again with false (its Release).
Napi::Value JS__holdWalk(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].ToBoolean().Value()) {
    labelprof::unwind_table::AcquireSignalSafe();
  } else {
    labelprof::unwind_table::ReleaseSignalSafe();
  }
  return info.Env().Undefined();
}

// _startSampling(intervalMicros, capacity, maxDepth)
Napi::Value JS__startSampling(const Napi::CallbackInfo& info) {
  std::string error;
  if (!labelprof_test::StartSampling(
          static_cast<uint32_t>(NumberArg(info, 0, "intervalMicros", 1000)),
          static_cast<uint32_t>(NumberArg(info, 1, "capacity", 10000)),
          static_cast<uint32_t>(NumberArg(info, 2, "maxDepth", 128)), &error)) {
    return Fail(info.Env(), error);
  }
  return info.Env().Undefined();
}

// _stopSampling() -> { pcs: BigUint64Array, depths, flags, walkNanos: Uint32Array, maxDepth,
// dropped, signals }
Napi::Value JS__stopSampling(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  labelprof_test::SamplerResult r;
  std::string error;
  if (!labelprof_test::StopSampling(&r, &error)) return Fail(env, error);
  size_t n = r.slots.size();
  auto pcs_buf = Napi::ArrayBuffer::New(env, r.pcs.size() * 8);
  memcpy(pcs_buf.Data(), r.pcs.data(), r.pcs.size() * 8);
  auto depths = Napi::Uint32Array::New(env, n);
  auto flags = Napi::Uint32Array::New(env, n);
  auto nanos = Napi::Uint32Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    depths[i] = r.slots[i].depth;
    flags[i] = r.slots[i].flags;
    nanos[i] = r.slots[i].walk_nanos;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pcs", Napi::BigUint64Array::New(env, r.pcs.size(), pcs_buf, 0));
  o.Set("depths", depths);
  o.Set("flags", flags);
  o.Set("walkNanos", nanos);
  o.Set("maxDepth", r.max_depth);
  o.Set("dropped", r.dropped);
  o.Set("signals", r.signals);
  return o;
}

// Recurses `levels` native frames, then walks from a getcontext() there.
__attribute__((noinline)) int WalkAtDepth(int levels, const labelprof::ThreadStackBounds& stack,
                                          uint64_t* pcs, int max, uint32_t* flags, int repeat,
                                          double* nanos_per_walk) {
  if (levels > 0) {
    int n = WalkAtDepth(levels - 1, stack, pcs, max, flags, repeat, nanos_per_walk);
    asm volatile("" ::: "memory");  // keep the recursion from becoming a loop
    return n;
  }
  ucontext_t uc;
  getcontext(&uc);
  int n = 0;
  double t0 = NowNanos();
  for (int i = 0; i < repeat; i++)
    n = labelprof::WalkNativeStackSignalSafe(&uc, stack, pcs, max, flags);
  *nanos_per_walk = (NowNanos() - t0) / repeat;
  return n;
}

// _walkHere(levels = 0, repeat = 1) -> { pcs: BigUint64Array, flags, nanosPerWalk }
// Walks synchronously (no signal) from inside this call, `repeat` times, to
// test the walk deterministically and time it.
Napi::Value JS__walkHere(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int levels = static_cast<int>(NumberArg(info, 0, "levels", 0));
  int repeat = static_cast<int>(NumberArg(info, 1, "repeat", 1));
  labelprof::ThreadStackBounds stack;
  std::string error;
  if (!labelprof::CaptureCurrentThreadStack(&stack, &error)) return Fail(env, error);
  uint64_t pcs[256];
  uint32_t flags = 0;
  double nanos = 0;
  int n = WalkAtDepth(levels, stack, pcs, 256, &flags, repeat < 1 ? 1 : repeat, &nanos);
  auto out = Napi::BigUint64Array::New(env, n);
  for (int i = 0; i < n; i++) out[i] = pcs[i];
  Napi::Object o = Napi::Object::New(env);
  o.Set("pcs", out);
  o.Set("flags", flags);
  o.Set("nanosPerWalk", nanos);
  return o;
}

// A foreign SIGPROF handler that chains to whatever it displaced, like
// @datadog/pprof's, and can be told to drop signals instead (as that one
// does in some modes): what it takes to build a cycle with labelprof's.
struct sigaction g_foreign_saved;
std::atomic<bool> g_foreign_drops{false};
std::atomic<uint32_t> g_foreign_calls{0};

// Called in the signal handler: no allocation, no lock.
void ForeignHandler(int sig, siginfo_t* info, void* ucontext) {
  g_foreign_calls.fetch_add(1, std::memory_order_relaxed);
  if (g_foreign_drops.load(std::memory_order_relaxed)) return;
  if ((g_foreign_saved.sa_flags & SA_SIGINFO) && g_foreign_saved.sa_sigaction != nullptr) {
    g_foreign_saved.sa_sigaction(sig, info, ucontext);
  }
}

// _foreignHandler('install' | 'drop' | 'chain') -> calls so far
Napi::Value JS__foreignHandler(const Napi::CallbackInfo& info) {
  std::string what =
      info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (what == "install") {
    struct sigaction ours;
    memset(&ours, 0, sizeof(ours));
    ours.sa_sigaction = ForeignHandler;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigaction(SIGPROF, &ours, &g_foreign_saved);
  } else if (what == "drop" || what == "chain") {
    g_foreign_drops.store(what == "drop");
  }
  return Napi::Number::New(info.Env(), g_foreign_calls.load());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // The one list of what JavaScript can call.
  exports.Set("_prepareUnwindTables", Napi::Function::New(env, JS__prepareUnwindTables));
  exports.Set("_burnNative", Napi::Function::New(env, JS__burnNative));
  exports.Set("_burnNoFramePointer", Napi::Function::New(env, JS__burnNoFramePointer));
  exports.Set("_syscallLoop", Napi::Function::New(env, JS__syscallLoop));
  exports.Set("_memsetLoop", Napi::Function::New(env, JS__memsetLoop));
  exports.Set("_sortLoop", Napi::Function::New(env, JS__sortLoop));
  exports.Set("_foreignHandler", Napi::Function::New(env, JS__foreignHandler));
  exports.Set("_holdWalk", Napi::Function::New(env, JS__holdWalk));
  exports.Set("_startSampling", Napi::Function::New(env, JS__startSampling));
  exports.Set("_stopSampling", Napi::Function::New(env, JS__stopSampling));
  exports.Set("_walkHere", Napi::Function::New(env, JS__walkHere));
  exports.Set("demangle", Napi::Function::New(env, labelprof::JS_demangle));
  labelprof_test::AddMatchingExports(env, exports);  // _matchSamples, _assembleSamples
  return exports;
}

}  // namespace

NODE_API_MODULE(labelprof_test_native, Init)
