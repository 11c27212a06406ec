// Native addresses -> module, build id, function name: the symbolizer that
// profiles use (src/native-symbols.ts). Same answers as src/symbolizer.ts,
// which stays as the TypeScript reference (test/native-symbolizer.test.js
// compares the two), but:
// - the symbol tables live in native memory (native/elf-symbols.h), read the
//   first time a module is met and kept for the life of the process, shared
//   by every stop, every period and every thread;
// - only the addresses asked for are resolved, and their names demangled;
// - symbolizeAsync() does the work on a thread of its own at a lower
//   priority, so a stop() does not block the event loop (nor hold one of
//   libuv's pool threads); symbolize() is the same, synchronously, for
//   stopSync() in exit handlers.
// The caller passes the /proc/self/maps text it read when the samples were
// collected: JIT code moves and modules unload, so the mappings are those of
// that moment, not of when the worker runs. Off the signal path.
#pragma once

#include <napi.h>

namespace labelprof {

// symbolize(addresses: Float64Array, maps: string): SymbolizedAddresses
// Each address is looked up as is (callers subtract 1 from return addresses).
Napi::Value JS_symbolize(const Napi::CallbackInfo& info);

// symbolizeAsync(addresses: Float64Array, maps: string): Promise<SymbolizedAddresses>
// Settled from the isolate thread through a threadsafe function.
Napi::Value JS_symbolizeAsync(const Napi::CallbackInfo& info);

// Tests only: _holdSymbolizer(hold: boolean) holds or releases the lock
// every symbolization takes.
Napi::Value JS__holdSymbolizer(const Napi::CallbackInfo& info);

}  // namespace labelprof
