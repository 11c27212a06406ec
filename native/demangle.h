// C++ symbol demangling for the symbolizer (src/symbolizer.ts), which reads
// ELF symbol tables in TypeScript and hands mangled names here in batches.
#pragma once

#include <napi.h>

#include <string>

namespace labelprof {

// Isolate thread. `name` demangled by the C++ runtime (abi::__cxa_demangle),
// or unchanged when it is not a mangled C++ name.
std::string Demangle(const std::string& name);

// demangle(names: string[]): string[] — one output per input, in order.
// Throws TypeError naming the culprit for anything but an array of strings.
Napi::Value JS_demangle(const Napi::CallbackInfo& info);

}  // namespace labelprof
