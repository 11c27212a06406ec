// Native vectors -> JavaScript arrays, for results handed to JavaScript
// (profiler.cc's stop/collect, symbolizer.cc's answers). Isolate thread only.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace labelprof {

// A typed array holding a copy of `values`; an empty handle when the
// environment is going away (a Worker terminated meanwhile): its buffer
// cannot be allocated then, and writing through Data() would crash.
template <typename T, typename Array>
Array ToTypedArray(Napi::Env env, const std::vector<T>& values) {
  Napi::ArrayBuffer buffer =
      Napi::ArrayBuffer::New(env, std::max<size_t>(1, values.size()) * sizeof(T));
  if (buffer.IsEmpty() || buffer.Data() == nullptr) return Array();
  if (!values.empty()) {
    std::memcpy(buffer.Data(), values.data(), values.size() * sizeof(T));
  }
  return Array::New(env, values.size(), buffer, 0);
}

inline Napi::Array ToStringArray(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) {
    array.Set(static_cast<uint32_t>(i), Napi::String::New(env, values[i]));
  }
  return array;
}

}  // namespace labelprof
