#include "demangle.h"

#include <cxxabi.h>

#include <cstdlib>

namespace labelprof {

std::string Demangle(const std::string& name) {
  // Only Itanium-mangled names: __cxa_demangle would also "demangle" plain
  // words as type names ("i" -> "int").
  if (name.size() < 3 || name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* out = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) return name;
  std::string result(out);
  free(out);
  return result;
}

Napi::Value JS_demangle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Napi::TypeError::New(env, "Expected array of strings for names but received " +
                                  std::string(info.Length() < 1 ? "nothing" : "a non-array"))
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array names = info[0].As<Napi::Array>();
  uint32_t n = names.Length();
  Napi::Array result = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value v = names.Get(i);
    if (!v.IsString()) {
      Napi::TypeError::New(env, "Expected string for names[" + std::to_string(i) +
                                    "] but received a value of another type")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    result.Set(i, Napi::String::New(env, Demangle(v.As<Napi::String>().Utf8Value())));
  }
  return result;
}

}  // namespace labelprof
