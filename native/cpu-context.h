// What the native walk needs to know about the CPU: which registers hold
// pc, sp, the frame pointer and the return address, under which numbers
// DWARF CFI names them, and how much of the stack below sp stays intact.
// One block per architecture; everything else in the walk and in the CFI
// compiler is shared, because both ABIs lay out a frame record the same
// way: [fp] = the caller's fp, [fp + 8] = the return address.
//
// x86-64: the call pushes the return address, so it is on the stack from
// the first instruction. Debian's glibc keeps no frame pointer, so the CFI
// serves every frame of such modules.
//
// AArch64 (AAPCS64): `bl` leaves the return address in x30 (the link
// register); a function that calls another saves x29/x30 as a frame record
// (GCC and Clang keep it in every non-leaf function by default, glibc
// included; Node and V8 build with it). The CFI of the interrupted frame
// tells whether the return address is still in x30 (a leaf, a prologue);
// code built without frame records needs it further up too. Unlike x86-64,
// a frame record says nothing exact about the caller's sp: it may sit
// anywhere in the frame.
#pragma once

#include <stdint.h>
#include <ucontext.h>

namespace labelprof {
namespace cpu {

// The interrupted thread's registers, as the walk starts from them.
struct Registers {
  uint64_t pc;
  uint64_t sp;
  uint64_t fp;
  uint64_t lr;  // the link register; 0 where the ABI has none (x86-64)
};

#if defined(__x86_64__)

constexpr const char* kName = "x86-64";
constexpr bool kWalkSupported = true;
// DWARF register numbers (System V x86-64 psABI).
constexpr uint64_t kDwarfFp = 6;   // rbp
constexpr uint64_t kDwarfSp = 7;   // rsp
constexpr uint64_t kDwarfRa = 16;  // the return-address column
// The return address is on the stack at entry, at CFA - 8.
constexpr bool kRaStartsInRegister = false;
// The 128 bytes below rsp are the red zone: the kernel skips them when it
// pushes a signal frame, so what a leaf's epilogue just popped is intact.
constexpr uintptr_t kRedZoneBytes = 128;
// A frame-pointer step yields the caller's exact rsp (fp + 16).
constexpr bool kFramePointerStepKnowsSp = true;

// Called in the signal handler: no allocation, no lock.
inline Registers FromContextSignalSafe(const void* ucontext) {
  const mcontext_t& mc = static_cast<const ucontext_t*>(ucontext)->uc_mcontext;
  return Registers{static_cast<uint64_t>(mc.gregs[REG_RIP]),
                   static_cast<uint64_t>(mc.gregs[REG_RSP]),
                   static_cast<uint64_t>(mc.gregs[REG_RBP]), 0};
}

// Called in the signal handler: no allocation, no lock.
inline uint64_t StripSignatureSignalSafe(uint64_t return_address) { return return_address; }

#elif defined(__aarch64__)

constexpr const char* kName = "arm64";
constexpr bool kWalkSupported = true;
// DWARF register numbers (AAPCS64 DWARF supplement).
constexpr uint64_t kDwarfFp = 29;  // x29
constexpr uint64_t kDwarfSp = 31;  // sp
constexpr uint64_t kDwarfRa = 30;  // x30, the link register and the RA column
// At entry the return address is in x30; the CIE gives it no rule.
constexpr bool kRaStartsInRegister = true;
// AAPCS64 has no red zone: below sp is the signal frame.
constexpr uintptr_t kRedZoneBytes = 0;
// The frame record may lie below locals: fp + 16 only bounds sp from below.
constexpr bool kFramePointerStepKnowsSp = false;

// Called in the signal handler: no allocation, no lock.
inline Registers FromContextSignalSafe(const void* ucontext) {
  const mcontext_t& mc = static_cast<const ucontext_t*>(ucontext)->uc_mcontext;
  return Registers{static_cast<uint64_t>(mc.pc), static_cast<uint64_t>(mc.sp),
                   static_cast<uint64_t>(mc.regs[29]), static_cast<uint64_t>(mc.regs[30])};
}

// Called in the signal handler: no allocation, no lock. Code built with
// pointer authentication (-mbranch-protection) saves x30 signed: the
// signature sits in the bits above the 48-bit user address space (Linux's
// default), which the walk drops.
inline uint64_t StripSignatureSignalSafe(uint64_t return_address) {
  return return_address & ((1ull << 48) - 1);
}

#else

// Any other CPU: the addon builds (labels and JavaScript stacks need no
// walk), and start() turns native frames off, saying why in stats().
constexpr const char* kName = "this CPU";
constexpr bool kWalkSupported = false;
constexpr uint64_t kDwarfFp = ~0ull, kDwarfSp = ~0ull, kDwarfRa = ~0ull;
constexpr bool kRaStartsInRegister = false;
constexpr uintptr_t kRedZoneBytes = 0;
constexpr bool kFramePointerStepKnowsSp = false;

inline Registers FromContextSignalSafe(const void*) { return Registers{0, 0, 0, 0}; }
inline uint64_t StripSignatureSignalSafe(uint64_t return_address) { return return_address; }

#endif

}  // namespace cpu
}  // namespace labelprof
