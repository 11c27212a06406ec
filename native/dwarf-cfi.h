// DWARF call-frame information (.eh_frame) compiled into a compact table the
// SIGPROF handler can search: for each pc range of a module, how to find the
// caller's frame on x86-64 or arm64 (register numbers: cpu-context.h).
//
// Only what a frame-pointer-based walk needs is kept: the canonical frame
// address (CFA) as sp/fp + offset, where the return address is (relative to
// the CFA, or still in the link register on arm64), and where the caller's
// frame pointer (rbp, x29) was saved. That is the layout async-profiler uses
// (its FrameDesc); everything else in the CFI program (other callee-saved
// registers, personality, LSDA) is dropped. Compiled off the signal path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace labelprof {
namespace cfi {

// How the CFA is computed at a pc.
enum CfaRule : uint8_t {
  kCfaNone = 0,        // no CFI covers this pc: the walk uses the frame pointer
  kCfaSp = 1,          // CFA = sp + cfa_offset
  kCfaFp = 2,          // CFA = fp + cfa_offset
  kCfaFpDeref = 3,     // CFA = *(fp + cfa_offset) (gcc's stack realignment, x86-64)
  kCfaPlt = 4,         // x86-64 PLT stub: CFA = rsp + 8, + 8 more once past the push
  kCfaEnd = 5,         // the return address is undefined: outermost frame
  kCfaUnsupported = 6  // a rule this table cannot express: the walk stops
};

// Where the caller's frame pointer (rbp, x29) is.
enum FpRule : uint8_t {
  kFpSame = 0,        // fp was not touched: the caller's value is still in it
  kFpAtCfa = 1,       // saved at CFA + fp_offset
  kFpAtFp = 2,        // saved at fp + fp_offset (after stack realignment)
  kFpUnsupported = 3  // saved somewhere this table cannot express
};

// One row: the rule for pcs from `start` up to the next row's start.
// 12 bytes; a table is sorted by `start` and searched by binary search.
struct UnwindRow {
  uint32_t start;  // pc - load bias of the module
  int32_t cfa_offset;
  int16_t fp_offset;
  // The return address is at CFA + 8 * ra_slot (x86-64: -1, always; arm64:
  // where the prologue stored x30). 0: still in the link register (arm64,
  // before the prologue saves x30, and in leaves that never do).
  // kRaSlotFrameRecord: next to the saved fp, at CFA + fp_offset + 8 (an
  // arm64 frame record further than 1 KB below the CFA, under large locals).
  int8_t ra_slot;
  uint8_t rules;  // CfaRule in the low nibble, FpRule in the high nibble

  // Called in the signal handler: no allocation, no lock.
  CfaRule cfa_rule() const { return static_cast<CfaRule>(rules & 0x0f); }
  // Called in the signal handler: no allocation, no lock.
  FpRule fp_rule() const { return static_cast<FpRule>(rules >> 4); }
};
constexpr int8_t kRaSlotFrameRecord = INT8_MIN;
static_assert(sizeof(UnwindRow) == 12, "UnwindRow is meant to stay 12 bytes");

struct CompileStats {
  uint32_t fdes = 0;
  uint32_t rows = 0;
  uint32_t unsupported_rows = 0;  // rows the walk stops at
  // What the compile read of the module's image: the header with its search
  // table, and the span from the section's start to the last FDE (CIEs lie
  // in between). Once the rows are built nothing reads them again, so the
  // caller can hand their pages back (unwind-table.cc, DropPages).
  const uint8_t* hdr_begin = nullptr;
  const uint8_t* hdr_end = nullptr;
  const uint8_t* frames_begin = nullptr;
  const uint8_t* frames_end = nullptr;
};

// Compiles the .eh_frame found through `eh_frame_hdr` (the PT_GNU_EH_FRAME of
// a loaded module, in memory) into rows relative to `bias`, appended to `rows`
// sorted by start. Every read stays inside [readable_begin, readable_end), the
// readable segment that holds both sections, so corrupt CFI cannot fault.
// Isolate thread; allocates. Returns false with a message when the header or
// the section cannot be parsed at all; FDEs it cannot parse are skipped.
bool CompileEhFrame(const uint8_t* eh_frame_hdr, const uint8_t* readable_begin,
                    const uint8_t* readable_end, uintptr_t bias, std::vector<UnwindRow>* rows,
                    CompileStats* stats, std::string* error);

}  // namespace cfi
}  // namespace labelprof
