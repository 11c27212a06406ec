// Named native workloads for the walker tests. Each has a recognizable name
// the tests look for, and a caller they expect right above a libc leaf.
// noinline keeps every named function a real frame.
#include "burners.h"

#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace labelprof_test {
namespace {

double NowMillis() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

volatile uint64_t g_sink;

}  // namespace

// Pure CPU, no calls in the loop: the leaf of every sample taken inside.
__attribute__((noinline)) uint64_t BurnNativeLeaf(uint64_t rounds) {
  uint64_t x = 88172645463325252ull;
  for (uint64_t i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

__attribute__((noinline)) uint64_t BurnNative(double millis) {
  double end = NowMillis() + millis;
  uint64_t acc = 0;
  while (NowMillis() < end) acc += BurnNativeLeaf(200000);
  g_sink = acc;
  return acc;
}

// Built without a frame pointer, and using rbp as a general register, so a
// frame-pointer walk cannot find this frame's caller: only its CFI can.
__attribute__((noinline, optimize("omit-frame-pointer"))) uint64_t BurnNoFramePointerLeaf(
    uint64_t rounds) {
  uint64_t a = 1, b = 2;
  for (uint64_t i = 0; i < rounds; i++) {
    // rbp as a scratch register, like glibc's hand-written code: while this
    // runs, rbp holds data, and only the CFI knows where the caller's is.
#if defined(__x86_64__)
    asm volatile(
        "leaq 1(%0,%1), %%rbp\n\t"
        "xorq %%rbp, %1"
        : "+r"(a), "+r"(b)
        :
        : "rbp");
#elif defined(__aarch64__)
    // The same with x29: the compiler saves it first, and the CFI says where.
    asm volatile(
        "add x29, %0, %1\n\t"
        "eor %1, %1, x29"
        : "+r"(a), "+r"(b)
        :
        : "x29");
#endif
    a += b >> 3;
  }
  return a ^ b;
}

__attribute__((noinline, optimize("omit-frame-pointer"))) uint64_t BurnNoFramePointer(
    double millis) {
  double end = NowMillis() + millis;
  uint64_t acc = 0;
  while (NowMillis() < end) acc += BurnNoFramePointerLeaf(100000);
  g_sink = acc;
  return acc;
}

// Spends its time in the kernel through a libc wrapper: samples land on the
// wrapper's instruction after `syscall`, whose caller must be this function.
__attribute__((noinline)) uint64_t SyscallCaller(double millis) {
  double end = NowMillis() + millis;
  uint64_t n = 0;
  while (NowMillis() < end) {
    for (int i = 0; i < 1000; i++) n += static_cast<uint64_t>(getppid());
  }
  g_sink = n;
  return n;
}

// memset of a large block: libc's AVX leaf, no frame pointer.
__attribute__((noinline)) uint64_t MemsetCaller(double millis) {
  static char block[1 << 20];
  double end = NowMillis() + millis;
  uint64_t n = 0;
  while (NowMillis() < end) {
    memset(block, static_cast<int>(n++), sizeof(block));
    asm volatile("" : : "r"(block) : "memory");
  }
  return n;
}

namespace {
int CompareDescending(const void* a, const void* b) {
  uint32_t x = *static_cast<const uint32_t*>(a), y = *static_cast<const uint32_t*>(b);
  return x < y ? 1 : x > y ? -1 : 0;
}
}  // namespace

// qsort puts libc frames in the middle of the stack: comparator <- libc's
// msort <- qsort <- this. The walk must go through libc to reach us.
__attribute__((noinline)) uint64_t SortCaller(double millis) {
  static uint32_t values[1 << 14];
  double end = NowMillis() + millis;
  uint64_t n = 0;
  while (NowMillis() < end) {
    uint32_t x = static_cast<uint32_t>(n++) * 2654435761u;
    for (auto& v : values) v = (x = x * 1664525u + 1013904223u);
    qsort(values, sizeof(values) / sizeof(values[0]), sizeof(values[0]), CompareDescending);
  }
  return n;
}

}  // namespace labelprof_test
