// Named native workloads the walker and symbolizer tests look for by name.
#pragma once

#include <cstdint>

namespace labelprof_test {

uint64_t BurnNativeLeaf(uint64_t rounds);
uint64_t BurnNative(double millis);
uint64_t BurnNoFramePointerLeaf(uint64_t rounds);
uint64_t BurnNoFramePointer(double millis);
uint64_t SyscallCaller(double millis);
uint64_t MemsetCaller(double millis);
uint64_t SortCaller(double millis);

}  // namespace labelprof_test
