// Module init: the one list of what JavaScript can call.
//
// Everything here is per environment (main thread or Worker): the instance
// data is a ProfilerInstance, deleted when the environment is torn down.
#include <napi.h>
#include <v8.h>

#include "demangle.h"
#include "exit-signals.h"
#include "profiler.h"
#include "symbolizer.h"

namespace labelprof {
namespace {

ProfilerInstance* Instance(const Napi::CallbackInfo& info) {
  return info.Env().GetInstanceData<ProfilerInstance>();
}

#define LABELPROF_METHOD(name) \
  Napi::Value name(const Napi::CallbackInfo& info) { return Instance(info)->name(info); }
LABELPROF_METHOD(JS_start)
LABELPROF_METHOD(JS_stop)
LABELPROF_METHOD(JS_cut)
LABELPROF_METHOD(JS_collect)
LABELPROF_METHOD(JS_stats)
LABELPROF_METHOD(JS_isProfiling)
LABELPROF_METHOD(JS_probeContextFrame)
LABELPROF_METHOD(JS__readLabelSetId)
LABELPROF_METHOD(JS_refreshUnwindTables)
LABELPROF_METHOD(JS_setGcStacks)
LABELPROF_METHOD(JS__setHandlerTiming)
LABELPROF_METHOD(JS__handlerTimings)
LABELPROF_METHOD(JS__setPerfCpuClock)
#undef LABELPROF_METHOD

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new ProfilerInstance(v8::Isolate::GetCurrent()));
  // Native exports (src/native.ts holds their types):
  exports.Set("start", Napi::Function::New(env, JS_start, "start"));
  exports.Set("stop", Napi::Function::New(env, JS_stop, "stop"));
  exports.Set("cut", Napi::Function::New(env, JS_cut, "cut"));
  exports.Set("collect", Napi::Function::New(env, JS_collect, "collect"));
  exports.Set("stats", Napi::Function::New(env, JS_stats, "stats"));
  exports.Set("isProfiling", Napi::Function::New(env, JS_isProfiling, "isProfiling"));
  exports.Set("probeContextFrame",
              Napi::Function::New(env, JS_probeContextFrame, "probeContextFrame"));
  exports.Set("symbolize", Napi::Function::New(env, JS_symbolize, "symbolize"));
  exports.Set("symbolizeAsync", Napi::Function::New(env, JS_symbolizeAsync, "symbolizeAsync"));
  exports.Set("demangle", Napi::Function::New(env, JS_demangle, "demangle"));
  exports.Set("armExitSignal", Napi::Function::New(env, JS_armExitSignal, "armExitSignal"));
  exports.Set("watchExitSignal", Napi::Function::New(env, JS_watchExitSignal, "watchExitSignal"));
  exports.Set("ackExitSignal", Napi::Function::New(env, JS_ackExitSignal, "ackExitSignal"));
  exports.Set("refreshUnwindTables",
              Napi::Function::New(env, JS_refreshUnwindTables, "refreshUnwindTables"));
  exports.Set("setGcStacks", Napi::Function::New(env, JS_setGcStacks, "setGcStacks"));
  // Test-only natives start with "_".
  exports.Set("_holdSymbolizer", Napi::Function::New(env, JS__holdSymbolizer, "_holdSymbolizer"));
  exports.Set("_readLabelSetId", Napi::Function::New(env, JS__readLabelSetId, "_readLabelSetId"));
  exports.Set("_setHandlerTiming",
              Napi::Function::New(env, JS__setHandlerTiming, "_setHandlerTiming"));
  exports.Set("_setPerfCpuClock",
              Napi::Function::New(env, JS__setPerfCpuClock, "_setPerfCpuClock"));
  exports.Set("_handlerTimings", Napi::Function::New(env, JS__handlerTimings, "_handlerTimings"));
  return exports;
}

}  // namespace
}  // namespace labelprof

static Napi::Object InitLabelprof(Napi::Env env, Napi::Object exports) {
  return labelprof::Init(env, exports);
}
NODE_API_MODULE(labelprof, InitLabelprof)
