// Test-only exports over the pure matcher and sample assembly.
#pragma once

#include <napi.h>

namespace labelprof_test {

// Adds _matchSamples and _assembleSamples to the test addon's exports.
void AddMatchingExports(Napi::Env env, Napi::Object exports);

}  // namespace labelprof_test
