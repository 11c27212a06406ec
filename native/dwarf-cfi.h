// DWARF call-frame information (.eh_frame) compiled into a compact table the
// SIGPROF handler can search: for each pc range of a module, how to find the
// caller's frame on x86-64.
//
// Only what an x86-64 walk needs is kept: the canonical frame address (CFA)
// as rsp/rbp + offset, where the return address sits relative to the CFA,
// and where the caller's rbp was saved. That is the layout async-profiler
// uses (its FrameDesc); everything else in the CFI program (other callee-saved
// registers, personality, LSDA) is dropped. Compiled off the signal path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace labelprof {
namespace cfi {

// How the CFA is computed at a pc.
enum CfaRule : uint8_t {
  kCfaNone = 0,       // no CFI covers this pc: the walk uses the frame pointer
  kCfaRsp = 1,        // CFA = rsp + cfa_offset
  kCfaRbp = 2,        // CFA = rbp + cfa_offset
  kCfaRbpDeref = 3,   // CFA = *(rbp + cfa_offset) (gcc's stack realignment)
  kCfaPlt = 4,        // PLT stub: CFA = rsp + 8, + 8 more once past the push
  kCfaEnd = 5,        // the return address is undefined: outermost frame
  kCfaUnsupported = 6 // a rule this table cannot express: the walk stops
};

// Where the caller's rbp is.
enum FpRule : uint8_t {
  kFpSame = 0,        // rbp was not touched: the caller's value is still in it
  kFpAtCfa = 1,       // saved at CFA + fp_offset
  kFpAtRbp = 2,       // saved at rbp + fp_offset (after stack realignment)
  kFpUnsupported = 3  // saved somewhere this table cannot express
};

// One row: the rule for pcs from `start` up to the next row's start.
// 12 bytes; a table is sorted by `start` and searched by binary search.
struct UnwindRow {
  uint32_t start;      // pc - load bias of the module
  int32_t cfa_offset;
  int16_t fp_offset;
  int8_t ra_offset;    // the return address is at CFA + ra_offset (-8 in practice)
  uint8_t rules;       // CfaRule in the low nibble, FpRule in the high nibble

  // Called in the signal handler: no allocation, no lock.
  CfaRule cfa_rule() const { return static_cast<CfaRule>(rules & 0x0f); }
  // Called in the signal handler: no allocation, no lock.
  FpRule fp_rule() const { return static_cast<FpRule>(rules >> 4); }
};
static_assert(sizeof(UnwindRow) == 12, "UnwindRow is meant to stay 12 bytes");

struct CompileStats {
  uint32_t fdes = 0;
  uint32_t rows = 0;
  uint32_t unsupported_rows = 0;  // rows the walk stops at
};

// Compiles the .eh_frame found through `eh_frame_hdr` (the PT_GNU_EH_FRAME of
// a loaded module, in memory) into rows relative to `bias`, appended to `rows`
// sorted by start. Every read stays inside [readable_begin, readable_end), the
// readable segment that holds both sections, so corrupt CFI cannot fault.
// Isolate thread; allocates. Returns false with a message when the header or
// the section cannot be parsed at all; FDEs it cannot parse are skipped.
bool CompileEhFrame(const uint8_t* eh_frame_hdr, const uint8_t* readable_begin,
                    const uint8_t* readable_end, uintptr_t bias,
                    std::vector<UnwindRow>* rows, CompileStats* stats,
                    std::string* error);

}  // namespace cfi
}  // namespace labelprof
