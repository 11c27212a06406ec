#include "stack-walker.h"

#include <pthread.h>
#include <string.h>
#include <ucontext.h>

#include "cpu-context.h"
#include "signal-path.h"

namespace labelprof {
namespace {

// Reads from the stack of the interrupted thread. Every address is checked
// against [lo, hi) first: the live part of the stack, which is mapped.
struct StackReader {
  uintptr_t lo;
  uintptr_t hi;

  // Called in the signal handler: no allocation, no lock.
  bool ReadSignalSafe(uintptr_t addr, uint64_t* out) const {
    if ((addr & 7) != 0 || addr < lo || addr > hi - 8) return false;
    *out = *reinterpret_cast<const uint64_t*>(addr);
    return true;
  }
};

// One step's result: the caller's registers. `lr` (arm64's link register)
// is known in the interrupted frame only; a call clobbers it. `sp_exact`:
// false after an arm64 frame-pointer step, which only bounds sp from below.
struct Frame {
  uint64_t pc;
  uint64_t sp;
  uint64_t fp;
  uint64_t lr;
  bool sp_exact;
};

enum class Step { kOk, kEnd, kBad, kUnsupported };

// Called in the signal handler: no allocation, no lock. Unwinds one frame
// through a CFI row.
LABELPROF_SIGNAL_PATH Step StepCfiSignalSafe(const cfi::UnwindRow& row, const StackReader& stack,
                                             Frame* f) {
  uint64_t cfa;
  switch (row.cfa_rule()) {
    case cfi::kCfaSp:
      if (f->sp_exact) {
        cfa = f->sp + row.cfa_offset;
      } else if (row.fp_rule() == cfi::kFpAtCfa) {
        // arm64 after a frame-pointer step: sp is not known, but a function
        // past its prologue points fp at the frame record it saved, which
        // is at CFA + fp_offset.
        cfa = f->fp - row.fp_offset;
      } else {
        return Step::kUnsupported;
      }
      break;
    case cfi::kCfaFp: cfa = f->fp + row.cfa_offset; break;
    case cfi::kCfaFpDeref:
      if (!stack.ReadSignalSafe(f->fp + row.cfa_offset, &cfa)) return Step::kBad;
      break;
    // The PLT stub pushes one word at offset 11 of each 16-byte entry.
    case cfi::kCfaPlt: cfa = f->sp + 8 + ((f->pc & 15) >= 11 ? 8 : 0); break;
    case cfi::kCfaEnd: return Step::kEnd;
    default: return Step::kUnsupported;
  }
  // The caller's frame lies strictly above ours; a CFA at or below sp is
  // a wrong rule or a corrupt register. Except on arm64 in a function that
  // has pushed nothing yet (its return address still in x30): CFA == sp.
  const bool nothing_pushed = row.ra_slot == 0 && cfa == f->sp;
  if ((cfa <= f->sp && !nothing_pushed) || cfa > stack.hi || (cfa & 7) != 0) return Step::kBad;
  uint64_t ra;
  if (row.ra_slot == 0) {
    // arm64: the return address has not left x30 yet (a leaf, a prologue);
    // only the interrupted frame's x30 is known.
    if (f->lr == 0) return Step::kUnsupported;
    ra = f->lr;
  } else if (row.ra_slot == cfi::kRaSlotFrameRecord) {
    if (!stack.ReadSignalSafe(cfa + row.fp_offset + 8, &ra)) return Step::kBad;
  } else if (!stack.ReadSignalSafe(cfa + 8 * static_cast<int64_t>(row.ra_slot), &ra)) {
    return Step::kBad;
  }
  uint64_t fp = f->fp;
  switch (row.fp_rule()) {
    case cfi::kFpSame: break;
    case cfi::kFpAtCfa:
      if (!stack.ReadSignalSafe(cfa + row.fp_offset, &fp)) return Step::kBad;
      break;
    case cfi::kFpAtFp:
      if (!stack.ReadSignalSafe(f->fp + row.fp_offset, &fp)) return Step::kBad;
      break;
    default: return Step::kUnsupported;
  }
  f->pc = cpu::StripSignatureSignalSafe(ra);
  f->sp = cfa;
  f->fp = fp;
  f->lr = 0;
  f->sp_exact = true;
  return Step::kOk;
}

// Called in the signal handler: no allocation, no lock. Unwinds one frame
// through the frame-pointer chain: [fp] = caller's fp, [fp+8] = return
// address (the frame record of both x86-64 and AAPCS64). On x86-64 the
// caller's rsp is then exactly fp + 16; on arm64 the record may sit lower in
// the frame, so fp + 16 is only a lower bound (see StepCfiSignalSafe).
LABELPROF_SIGNAL_PATH Step StepFramePointerSignalSafe(const StackReader& stack, Frame* f,
                                                      bool is_leaf) {
  // _start and thread entry clear rbp: above the leaf a zero rbp ends the
  // chain. In the leaf it may just be data (code without frame pointers).
  if (f->fp == 0) return is_leaf ? Step::kBad : Step::kEnd;
  // A frame record below rsp belongs to no live frame.
  if (f->fp < f->sp) return Step::kBad;
  uint64_t next_fp, ra;
  if (!stack.ReadSignalSafe(f->fp, &next_fp) || !stack.ReadSignalSafe(f->fp + 8, &ra)) {
    return Step::kBad;
  }
  f->sp = f->fp + 16;
  f->fp = next_fp;
  f->pc = cpu::StripSignatureSignalSafe(ra);
  f->lr = 0;
  f->sp_exact = cpu::kFramePointerStepKnowsSp;
  return Step::kOk;
}

}  // namespace

bool PrepareUnwindTables(std::string* error) { return PrepareUnwindTables(UnwindOptions{}, error); }

bool PrepareUnwindTables(const UnwindOptions& options, std::string* error) {
  return unwind_table::Rebuild(options, error);
}

UnwindTableStats GetUnwindTableStats() { return unwind_table::Stats(); }

bool CaptureCurrentThreadStack(ThreadStackBounds* out, std::string* error) {
  if (!cpu::kWalkSupported) {
    // The caller (start()) then turns native frames off with this reason.
    *error = std::string("native frames are not supported on ") + cpu::kName +
             " (labelprof walks x86-64 and arm64 stacks)";
    return false;
  }
  pthread_attr_t attr;
  // For the main thread glibc derives the bounds from /proc/self/maps and
  // RLIMIT_STACK; for other threads they are the mapping pthread made.
  int rc = pthread_getattr_np(pthread_self(), &attr);
  if (rc != 0) {
    *error = std::string("pthread_getattr_np failed: ") + strerror(rc);
    return false;
  }
  void* addr = nullptr;
  size_t size = 0;
  rc = pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0 || addr == nullptr || size == 0) {
    *error = std::string("pthread_attr_getstack failed: ") + strerror(rc);
    return false;
  }
  out->lo = reinterpret_cast<uintptr_t>(addr);
  out->hi = out->lo + size;
  return true;
}

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH int WalkNativeStackSignalSafe(const void* ucontext,
                                                    const ThreadStackBounds& stack, uint64_t* pcs,
                                                    int max_depth, uint32_t* flags,
                                                    bool stop_at_code) {
  return WalkFromRegistersSignalSafe(cpu::FromContextSignalSafe(ucontext), stack, pcs, max_depth,
                                     flags, stop_at_code);
}

namespace {

// Called in the signal handler: no allocation, no lock. The walk, with
// `table` pinned by the caller.
LABELPROF_SIGNAL_PATH int WalkSignalSafe(const cpu::Registers& regs, const ThreadStackBounds& stack,
                                         const UnwindTable* table, uint64_t* pcs, int max_depth,
                                         uint32_t* flags, bool stop_at_code) {
  const uint64_t pc = regs.pc, sp = regs.sp;
  uint32_t result = 0;
  int depth = 0;
  if (max_depth <= 0) {
    if (flags != nullptr) *flags = kWalkTruncated;
    return 0;
  }
  pcs[depth++] = pc;
  if (sp < stack.lo || sp >= stack.hi) {
    // Interrupted on another stack (sigaltstack, a Wasm stack): nothing of
    // the thread's stack is known to be live.
    if (flags != nullptr) *flags = 0;
    return depth;
  }
  // The live stack is [sp, top), plus on x86-64 the 128-byte red zone below
  // rsp: the kernel skips it when it pushes a signal frame, so what a leaf
  // popped in its epilogue (CFI still says "rbp saved at CFA-48", now below
  // rsp) is intact there. The red zone of a Worker's stack stays inside its
  // mapping (stack.lo excludes the guard page); the main thread's stack
  // grows. arm64 has no red zone.
  constexpr uintptr_t kBelow = cpu::kRedZoneBytes;
  uintptr_t lo = sp - kBelow > stack.lo && sp >= kBelow ? sp - kBelow : stack.lo;
  StackReader reader{lo, stack.hi};
  Frame f{pc, sp, regs.fp, regs.lr, true};
  while (true) {
    if (stop_at_code && table != nullptr && table->module_count > 0 &&
        unwind_table::FindModuleSignalSafe(table, depth == 1 ? f.pc : f.pc - 1) == nullptr) {
      result |= kWalkStoppedAtCode;  // read by the frame-setup check in the handler
      break;                         // generated code: V8's sample has the JavaScript from here up
    }
    if (depth >= max_depth) {
      result |= kWalkTruncated;
      break;  // depth cap: the rest of the stack is dropped
    }
    // A return address points after the call; the call itself (pc - 1) is
    // what lies inside the caller's FDE (matters at a noreturn call that
    // ends a function). The leaf pc is exact.
    bool is_leaf = depth == 1;
    uint64_t lookup = is_leaf ? f.pc : f.pc - 1;
    const cfi::UnwindRow* row =
        table != nullptr ? unwind_table::FindRowSignalSafe(table, lookup, is_leaf) : nullptr;
    uint64_t old_sp = f.sp;
    // arm64: unwinding a leaf that pushed nothing leaves sp where it was.
    const bool sp_may_stay = is_leaf && row != nullptr && row->ra_slot == 0;
    Step step;
    // arm64: an sp-based rule is no use once sp is unknown (after a
    // frame-pointer step) unless the row locates the frame record; the
    // frame pointer is then the better guess.
    const bool cfi_usable =
        row != nullptr && row->cfa_rule() != cfi::kCfaNone &&
        (f.sp_exact || row->cfa_rule() != cfi::kCfaSp || row->fp_rule() == cfi::kFpAtCfa);
    if (cfi_usable) {
      step = StepCfiSignalSafe(*row, reader, &f);
    } else {
      step = StepFramePointerSignalSafe(reader, &f, is_leaf);
    }
    if (step == Step::kEnd) {
      result |= kWalkReachedEnd;
      break;  // outermost frame (CFI's undefined RA, or rbp 0): stack complete
    }
    if (step == Step::kUnsupported) {
      break;  // a rule we cannot follow; guessing could invent callers
    }
    if (step == Step::kBad) {
      result |= kWalkBadFrame;
      break;  // a read outside the live stack, misaligned, or below rsp
    }
    if (f.sp < old_sp || (f.sp == old_sp && !sp_may_stay)) {
      result |= kWalkBadFrame;
      break;  // the stack must unwind upwards, or we could loop forever
    }
    if (f.pc == 0) {
      result |= kWalkReachedEnd;
      break;  // a zero return address ends the chain (thread entry)
    }
    pcs[depth++] = f.pc;
  }
  if (flags != nullptr) *flags = result;
  return depth;
}

}  // namespace

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH int WalkPinnedSignalSafe(const void* ucontext, const ThreadStackBounds& stack,
                                               const UnwindTable* table, uint64_t* pcs,
                                               int max_depth, uint32_t* flags, bool stop_at_code) {
  return WalkSignalSafe(cpu::FromContextSignalSafe(ucontext), stack, table, pcs, max_depth, flags,
                        stop_at_code);
}

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH int WalkFromRegistersSignalSafe(const cpu::Registers& regs,
                                                      const ThreadStackBounds& stack, uint64_t* pcs,
                                                      int max_depth, uint32_t* flags,
                                                      bool stop_at_code) {
  const UnwindTable* table = unwind_table::AcquireSignalSafe();
  int n = WalkSignalSafe(regs, stack, table, pcs, max_depth, flags, stop_at_code);
  unwind_table::ReleaseSignalSafe();
  return n;
}

}  // namespace labelprof
