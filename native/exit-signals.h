// SIGINT and SIGTERM while the event loop is blocked.
//
// The drop-in listens for SIGINT/SIGTERM to write the profile before the
// process ends. A listener makes Node handle the signal on the event loop,
// so a synchronous, CPU-bound script would no longer stop on Ctrl-C: it ran
// to its end instead of ending at once. So, while labelprof is the only
// listener for a signal, a handler chained on top of libuv's wakes a
// watchdog thread; if JavaScript has not taken the signal (ackExitSignal)
// within a grace period, the event loop is blocked, and the watchdog puts
// the default disposition back and re-raises the signal: the process ends
// as it would have without labelprof (the profile of that run is lost).
#pragma once

#include <napi.h>

namespace labelprof {

// armExitSignal(signo, graceMillis): chain our handler for `signo` on top of
// the current one (call it after the JavaScript listener is added, which
// installs libuv's). Idempotent per signal.
Napi::Value JS_armExitSignal(const Napi::CallbackInfo& info);
// watchExitSignal(signo, on): whether the watchdog acts on `signo` (only
// while labelprof is the signal's only listener).
Napi::Value JS_watchExitSignal(const Napi::CallbackInfo& info);
// ackExitSignal(): JavaScript took the signal; the watchdog stands down.
Napi::Value JS_ackExitSignal(const Napi::CallbackInfo& info);

}  // namespace labelprof
