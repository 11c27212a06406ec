#include "dwarf-cfi.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "cpu-context.h"

namespace labelprof {
namespace cfi {
namespace {

// DWARF register numbers of this CPU's frame pointer, stack pointer and
// return-address column.
constexpr uint64_t kRegFp = cpu::kDwarfFp;
constexpr uint64_t kRegSp = cpu::kDwarfSp;
constexpr uint64_t kRegRa = cpu::kDwarfRa;
// DW_OP_breg<fp>: the first byte of gcc's stack-realignment expressions.
constexpr uint8_t kOpBregFp = static_cast<uint8_t>(0x70 + (kRegFp & 0x1f));

// Pointer encodings (DW_EH_PE_*), as used by .eh_frame and .eh_frame_hdr.
constexpr uint8_t kPeOmit = 0xff;
constexpr uint8_t kPeFormatMask = 0x0f;
constexpr uint8_t kPeAbsptr = 0x00, kPeUleb = 0x01, kPeUdata2 = 0x02, kPeUdata4 = 0x03,
                  kPeUdata8 = 0x04, kPeSleb = 0x09, kPeSdata2 = 0x0a, kPeSdata4 = 0x0b,
                  kPeSdata8 = 0x0c;
constexpr uint8_t kPeRelMask = 0x70;
constexpr uint8_t kPePcrel = 0x10, kPeDatarel = 0x30;
constexpr uint8_t kPeIndirect = 0x80;

// Reads little-endian values inside [begin, end). An overrun sets `ok` to
// false and yields zeros instead of reading past the end: the caller checks
// `ok` once per record rather than after every field.
class Reader {
 public:
  Reader(const uint8_t* begin, const uint8_t* end) : p_(begin), end_(end) {}

  bool ok() const { return ok_; }
  const uint8_t* pos() const { return p_; }
  void seek(const uint8_t* p) {
    if (p > end_) ok_ = false;
    p_ = ok_ ? p : end_;
  }
  bool at_end() const { return p_ >= end_; }

  uint8_t u8() { return static_cast<uint8_t>(Fixed(1)); }
  uint16_t u16() { return static_cast<uint16_t>(Fixed(2)); }
  uint32_t u32() { return static_cast<uint32_t>(Fixed(4)); }
  uint64_t u64() { return Fixed(8); }

  uint64_t uleb() {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8();
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
    ok_ = false;
    return 0;
  }

  int64_t sleb() {
    int64_t result = 0;
    int shift = 0;
    uint8_t b;
    do {
      b = u8();
      if (shift < 64) result |= static_cast<int64_t>(b & 0x7f) << shift;
      shift += 7;
    } while ((b & 0x80) && ok_);
    if (shift < 64 && (b & 0x40)) result |= -(static_cast<int64_t>(1) << shift);
    return result;
  }

  // An encoded pointer. `datarel_base` is the start of .eh_frame_hdr for
  // datarel values; `value_only` decodes a length (no relative base applies).
  uint64_t Pointer(uint8_t encoding, uintptr_t datarel_base = 0, bool value_only = false) {
    if (encoding == kPeOmit) return 0;
    const uint8_t* field = p_;
    uint64_t value;
    switch (encoding & kPeFormatMask) {
      case kPeAbsptr: value = u64(); break;
      case kPeUleb: value = uleb(); break;
      case kPeUdata2: value = u16(); break;
      case kPeUdata4: value = u32(); break;
      case kPeUdata8: value = u64(); break;
      case kPeSleb: value = static_cast<uint64_t>(sleb()); break;
      case kPeSdata2: value = static_cast<uint64_t>(static_cast<int16_t>(u16())); break;
      case kPeSdata4: value = static_cast<uint64_t>(static_cast<int32_t>(u32())); break;
      case kPeSdata8: value = u64(); break;
      default: ok_ = false; return 0;
    }
    if (value_only) return value;
    switch (encoding & kPeRelMask) {
      case 0: break;
      case kPePcrel: value += reinterpret_cast<uintptr_t>(field); break;
      case kPeDatarel: value += datarel_base; break;
      // textrel/funcrel/aligned do not occur in .eh_frame on x86-64 Linux.
      default: ok_ = false; return 0;
    }
    // Indirect pointers only appear for personality routines, whose value
    // we skip: never dereference them.
    return (encoding & kPeIndirect) ? 0 : value;
  }

 private:
  uint64_t Fixed(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      p_ = end_;
      return 0;
    }
    uint64_t v = 0;
    memcpy(&v, p_, n);  // little-endian host
    p_ += n;
    return v;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

// The register rules the table keeps, while a CFI program runs.
// Before any CIE instruction: the state at a function's entry, which every
// CIE restates anyway (x86-64: CFA = rsp + 8, RA at CFA - 8; arm64:
// CFA = sp, RA in x30).
struct State {
  CfaRule cfa_rule = kCfaSp;
  int64_t cfa_offset = cpu::kRaStartsInRegister ? 0 : 8;
  uint64_t cfa_reg = kRegSp;
  FpRule fp_rule = kFpSame;
  int64_t fp_offset = 0;
  bool ra_defined = true;
  bool ra_supported = true;
  bool ra_in_register = cpu::kRaStartsInRegister;
  int64_t ra_offset = -8;
};

struct Cie {
  uint64_t code_align = 1;
  int64_t data_align = -8;
  uint64_t ra_reg = kRegRa;
  uint8_t fde_encoding = kPeAbsptr;
  bool has_augmentation_data = false;
  const uint8_t* instructions = nullptr;
  const uint8_t* end = nullptr;
  State initial;  // after the CIE's initial instructions
  bool ok = false;
};

// Fixed pattern gcc and binutils emit for PLT entries:
// DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_lit11;
// DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus.
const uint8_t kPltExpression[] = {0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22};

class Compiler {
 public:
  Compiler(const uint8_t* begin, const uint8_t* end, uintptr_t bias, std::vector<UnwindRow>* rows,
           CompileStats* stats)
      : begin_(begin), end_(end), bias_(bias), rows_(rows), stats_(stats) {}

  // Compiles the FDE at `fde`. Returns false when it could not be parsed.
  bool CompileFde(const uint8_t* fde) {
    Reader r(fde, end_);
    uint64_t length = r.u32();
    if (length == 0xffffffff) length = r.u64();
    if (!r.ok() || length == 0) return false;
    const uint8_t* body = r.pos();
    if (length > static_cast<uint64_t>(end_ - body)) return false;
    const uint8_t* record_end = body + length;
    Reader fr(body, record_end);
    uint32_t cie_pointer = fr.u32();
    if (cie_pointer == 0) return false;  // a CIE, not an FDE
    const Cie* cie = GetCie(body - cie_pointer);
    if (cie == nullptr) return false;
    uint64_t pc_begin = fr.Pointer(cie->fde_encoding);
    uint64_t pc_range = fr.Pointer(cie->fde_encoding & kPeFormatMask, 0, true);
    if (cie->has_augmentation_data) fr.seek(fr.pos() + fr.uleb());
    if (!fr.ok() || pc_begin < bias_) return false;
    uint64_t start = pc_begin - bias_;
    // Rows hold 32-bit offsets from the load bias.
    if (start + pc_range > UINT32_MAX) return false;
    stats_->fdes++;
    Run(*cie, fr.pos(), record_end, start, start + pc_range);
    return true;
  }

 private:
  const Cie* GetCie(const uint8_t* at) {
    if (at < begin_ || at >= end_) return nullptr;
    auto it = cies_.find(at);
    if (it != cies_.end()) return it->second.ok ? &it->second : nullptr;
    Cie& cie = cies_[at];
    ParseCie(at, &cie);
    return cie.ok ? &cie : nullptr;
  }

  void ParseCie(const uint8_t* at, Cie* cie) {
    Reader r(at, end_);
    uint64_t length = r.u32();
    if (length == 0xffffffff) length = r.u64();
    if (!r.ok() || length > static_cast<uint64_t>(end_ - r.pos())) return;
    cie->end = r.pos() + length;
    Reader cr(r.pos(), cie->end);
    if (cr.u32() != 0) return;  // not a CIE
    uint8_t version = cr.u8();
    const char* augmentation = reinterpret_cast<const char*>(cr.pos());
    size_t aug_len = strnlen(augmentation, cie->end - cr.pos());
    cr.seek(cr.pos() + aug_len + 1);
    if (strstr(augmentation, "eh") == augmentation) cr.u64();  // old g++ data
    cie->code_align = cr.uleb();
    cie->data_align = cr.sleb();
    cie->ra_reg = version == 1 ? cr.u8() : cr.uleb();
    if (augmentation[0] == 'z') {
      cie->has_augmentation_data = true;
      uint64_t data_len = cr.uleb();
      const uint8_t* data_end = cr.pos() + data_len;
      for (size_t i = 1; i < aug_len && cr.ok(); i++) {
        switch (augmentation[i]) {
          case 'R': cie->fde_encoding = cr.u8(); break;
          case 'L': cr.u8(); break;
          case 'P': cr.Pointer(cr.u8()); break;
          default: break;  // 'S' (signal frame), 'B': no data we need
        }
      }
      cr.seek(data_end);
    }
    if (!cr.ok() || cie->ra_reg != kRegRa) return;
    cie->instructions = cr.pos();
    State initial;
    // Initial instructions never advance the location; run them to get the
    // state every FDE of this CIE starts from.
    cie->ok = Execute(*cie, initial, cie->instructions, cie->end, 0, 0, &cie->initial, nullptr);
  }

  void Run(const Cie& cie, const uint8_t* program, const uint8_t* end, uint64_t start,
           uint64_t limit) {
    State final_state;
    Execute(cie, cie.initial, program, end, start, limit, &final_state, rows_);
    // Past the FDE's range no CFI applies until the next FDE says otherwise.
    Emit(static_cast<uint32_t>(limit), State{}, /*none=*/true);
  }

  // Runs a CFI program from `state`, emitting a row at each location change
  // when `out` is set. Returns false on an instruction it does not know (the
  // rest of the range is then marked unsupported).
  bool Execute(const Cie& cie, State state, const uint8_t* program, const uint8_t* end,
               uint64_t loc, uint64_t limit, State* final_state, std::vector<UnwindRow>* out) {
    Reader r(program, end);
    State stack[8];
    int depth = 0;
    uint64_t row_loc = loc;
    auto advance = [&](uint64_t delta) {
      if (out != nullptr && loc + delta * cie.code_align > row_loc) {
        Emit(static_cast<uint32_t>(row_loc), state, false);
      }
      loc += delta * cie.code_align;
      row_loc = loc;
    };
    bool ok = true;
    // The CIE's initial instructions (out == nullptr) have no range to stop at.
    while (!r.at_end() && r.ok() && ok && (out == nullptr || loc < limit)) {
      uint8_t op = r.u8();
      uint8_t high = op & 0xc0, low = op & 0x3f;
      if (high == 0x40) {
        advance(low);
        continue;
      }  // advance_loc
      if (high == 0x80) {
        SetOffset(cie, &state, low, r.uleb());
        continue;
      }
      if (high == 0xc0) {
        Restore(cie, &state, low);
        continue;
      }  // restore
      switch (op) {
        case 0x00: break;  // nop
        case 0x01: {       // set_loc
          uint64_t to = r.Pointer(cie.fde_encoding);
          if (to >= bias_ && to - bias_ > loc) advance((to - bias_ - loc) / cie.code_align);
          break;
        }
        case 0x02: advance(r.u8()); break;   // advance_loc1
        case 0x03: advance(r.u16()); break;  // advance_loc2
        case 0x04: advance(r.u32()); break;  // advance_loc4
        case 0x05: {                         // offset_extended
          uint64_t reg = r.uleb();
          SetOffset(cie, &state, reg, r.uleb());
          break;
        }
        case 0x06: Restore(cie, &state, r.uleb()); break;  // restore_extended
        case 0x07: {                                       // undefined
          uint64_t reg = r.uleb();
          if (reg == kRegRa) state.ra_defined = false;
          if (reg == kRegFp) state.fp_rule = kFpUnsupported;
          break;
        }
        case 0x08: {  // same_value
          uint64_t reg = r.uleb();
          if (reg == kRegFp) state.fp_rule = kFpSame;
          // arm64: the return address is back in (or still in) x30.
          if (reg == kRegRa) state.ra_in_register = cpu::kRaStartsInRegister;
          break;
        }
        case 0x09: {  // register
          uint64_t reg = r.uleb();
          r.uleb();
          MarkUnsupported(&state, reg);
          break;
        }
        case 0x0a:  // remember_state
          if (depth < 8) stack[depth++] = state;
          else ok = false;
          break;
        case 0x0b:  // restore_state
          if (depth > 0) state = stack[--depth];
          else ok = false;
          break;
        case 0x0c: {  // def_cfa
          uint64_t reg = r.uleb();
          SetCfa(&state, reg, static_cast<int64_t>(r.uleb()));
          break;
        }
        case 0x0d: SetCfa(&state, r.uleb(), state.cfa_offset); break;  // def_cfa_register
        case 0x0e: SetCfaOffset(&state, static_cast<int64_t>(r.uleb())); break;
        case 0x0f: {  // def_cfa_expression
          uint64_t len = r.uleb();
          DefCfaExpression(&state, r.pos(), len);
          r.seek(r.pos() + len);
          break;
        }
        case 0x10: {  // expression
          uint64_t reg = r.uleb();
          uint64_t len = r.uleb();
          RegisterExpression(&state, reg, r.pos(), len);
          r.seek(r.pos() + len);
          break;
        }
        case 0x11: {  // offset_extended_sf
          uint64_t reg = r.uleb();
          SetOffsetBytes(&state, reg, r.sleb() * cie.data_align);
          break;
        }
        case 0x12: {  // def_cfa_sf
          uint64_t reg = r.uleb();
          SetCfa(&state, reg, r.sleb() * cie.data_align);
          break;
        }
        case 0x13: SetCfaOffset(&state, r.sleb() * cie.data_align); break;
        case 0x14:
        case 0x15: {  // val_offset(_sf)
          uint64_t reg = r.uleb();
          r.uleb();
          MarkUnsupported(&state, reg);
          break;
        }
        case 0x16: {  // val_expression
          uint64_t reg = r.uleb();
          r.seek(r.pos() + r.uleb());
          MarkUnsupported(&state, reg);
          break;
        }
        case 0x2d:  // AARCH64_negate_ra_state
          // arm64 pointer authentication signs x30 before it is saved; the
          // walk strips the signature (cpu::StripSignatureSignalSafe).
          if (!cpu::kRaStartsInRegister) ok = false;
          break;
        case 0x2e: r.uleb(); break;  // GNU_args_size
        case 0x2f: {                 // GNU_negative_offset_extended
          uint64_t reg = r.uleb();
          SetOffsetBytes(&state, reg, -static_cast<int64_t>(r.uleb()) * cie.data_align);
          break;
        }
        default: ok = false; break;
      }
    }
    if (!ok || !r.ok()) state.cfa_rule = kCfaUnsupported;
    if (out != nullptr && limit > row_loc) Emit(static_cast<uint32_t>(row_loc), state, false);
    *final_state = state;
    return ok && r.ok();
  }

  static void SetOffset(const Cie& cie, State* s, uint64_t reg, uint64_t factored) {
    SetOffsetBytes(s, reg, static_cast<int64_t>(factored) * cie.data_align);
  }

  static void SetOffsetBytes(State* s, uint64_t reg, int64_t offset) {
    if (reg == kRegFp) {
      s->fp_rule = kFpAtCfa;
      s->fp_offset = offset;
    } else if (reg == kRegRa) {
      s->ra_offset = offset;
      s->ra_in_register = false;
    }
  }

  static void Restore(const Cie& cie, State* s, uint64_t reg) {
    if (reg == kRegFp) {
      s->fp_rule = cie.initial.fp_rule;
      s->fp_offset = cie.initial.fp_offset;
    } else if (reg == kRegRa) {
      s->ra_offset = cie.initial.ra_offset;
      s->ra_defined = cie.initial.ra_defined;
      s->ra_supported = cie.initial.ra_supported;
      s->ra_in_register = cie.initial.ra_in_register;
    }
  }

  static void MarkUnsupported(State* s, uint64_t reg) {
    if (reg == kRegFp) s->fp_rule = kFpUnsupported;
    if (reg == kRegRa) s->ra_supported = false;
  }

  static void SetCfa(State* s, uint64_t reg, int64_t offset) {
    s->cfa_reg = reg;
    s->cfa_offset = offset;
    // Any other base register (r10 in gcc's realignment prologue) is one we
    // do not track.
    s->cfa_rule = reg == kRegSp ? kCfaSp : reg == kRegFp ? kCfaFp : kCfaUnsupported;
  }

  static void SetCfaOffset(State* s, int64_t offset) {
    s->cfa_offset = offset;
    if (s->cfa_rule == kCfaPlt || s->cfa_rule == kCfaFpDeref) {
      SetCfa(s, s->cfa_reg, offset);
    }
  }

  static void DefCfaExpression(State* s, const uint8_t* expr, uint64_t len) {
    if (len == sizeof(kPltExpression) && memcmp(expr, kPltExpression, len) == 0) {
      s->cfa_rule = kCfaPlt;
      s->cfa_offset = 8;
      return;
    }
    // gcc's stack realignment: DW_OP_breg<fp> k; DW_OP_deref.
    Reader r(expr, expr + len);
    if (len >= 3 && r.u8() == kOpBregFp) {
      int64_t k = r.sleb();
      if (r.ok() && r.u8() == 0x06 && r.at_end() && r.ok()) {
        s->cfa_rule = kCfaFpDeref;
        s->cfa_reg = kRegFp;
        s->cfa_offset = k;
        return;
      }
    }
    s->cfa_rule = kCfaUnsupported;
  }

  static void RegisterExpression(State* s, uint64_t reg, const uint8_t* expr, uint64_t len) {
    if (reg != kRegFp) {
      if (reg == kRegRa) s->ra_supported = false;
      return;
    }
    // gcc's stack realignment saves rbp at DW_OP_breg6 k.
    Reader r(expr, expr + len);
    if (len >= 2 && r.u8() == kOpBregFp) {
      int64_t k = r.sleb();
      if (r.ok() && r.at_end()) {
        s->fp_rule = kFpAtFp;
        s->fp_offset = k;
        return;
      }
    }
    s->fp_rule = kFpUnsupported;
  }

  void Emit(uint32_t start, const State& s, bool none) {
    UnwindRow row;
    memset(&row, 0, sizeof(row));
    row.start = start;
    CfaRule cfa = s.cfa_rule;
    FpRule fp = s.fp_rule;
    if (none) {
      cfa = kCfaNone;
      fp = kFpSame;
    } else if (!s.ra_defined) {
      cfa = kCfaEnd;
    }
    // The return address's slot: in x30, CFA + 8k, or beside the saved fp.
    const bool ra_in_frame_record =
        !s.ra_in_register && fp == kFpAtCfa && s.ra_offset == s.fp_offset + 8;
    const bool ra_slot_fits = s.ra_offset % 8 == 0 && s.ra_offset / 8 > INT8_MIN &&
                              s.ra_offset / 8 <= INT8_MAX && s.ra_offset != 0;
    if (cfa == kCfaNone || cfa == kCfaEnd) {
      // no rule to check
    } else if (!s.ra_supported || (!s.ra_in_register && !ra_slot_fits && !ra_in_frame_record) ||
               s.cfa_offset < INT32_MIN || s.cfa_offset > INT32_MAX || s.fp_offset < INT16_MIN ||
               s.fp_offset > INT16_MAX) {
      // A return address saved off the 8-byte grid, or more than 1 KB from
      // the CFA and not beside the saved fp, is not expressed: the walk stops.
      cfa = kCfaUnsupported;
    }
    if (cfa == kCfaUnsupported) fp = kFpSame;
    if (cfa != kCfaNone && cfa != kCfaUnsupported && cfa != kCfaEnd) {
      row.cfa_offset = static_cast<int32_t>(s.cfa_offset);
      row.ra_slot = s.ra_in_register ? 0
                    : ra_slot_fits   ? static_cast<int8_t>(s.ra_offset / 8)
                                     : kRaSlotFrameRecord;
      if (fp == kFpAtCfa || fp == kFpAtFp) row.fp_offset = static_cast<int16_t>(s.fp_offset);
    }
    row.rules = static_cast<uint8_t>(cfa | (fp << 4));
    if (rows_->size() > row_count_before_) {
      UnwindRow& last = rows_->back();
      // A row at the same start replaces the last one (an FDE starting
      // where the previous one ended); an identical rule extends it.
      if (last.start == row.start) {
        last = row;
        Dedupe();
        return;
      } else if (last.rules == row.rules && last.cfa_offset == row.cfa_offset &&
                 last.fp_offset == row.fp_offset && last.ra_slot == row.ra_slot) {
        return;
      }
    }
    rows_->push_back(row);
    if (cfa == kCfaUnsupported) stats_->unsupported_rows++;
  }

  // After replacing the last row, it may now equal the one before it.
  void Dedupe() {
    size_t n = rows_->size();
    if (n < 2 || n - 1 <= row_count_before_) return;
    const UnwindRow& a = (*rows_)[n - 2];
    const UnwindRow& b = (*rows_)[n - 1];
    if (a.rules == b.rules && a.cfa_offset == b.cfa_offset && a.fp_offset == b.fp_offset &&
        a.ra_slot == b.ra_slot) {
      rows_->pop_back();
    }
  }

 public:
  // Rows before this index belong to other modules and are never merged.
  size_t row_count_before_ = 0;

 private:
  const uint8_t* begin_;
  const uint8_t* end_;
  uintptr_t bias_;
  std::vector<UnwindRow>* rows_;
  CompileStats* stats_;
  std::unordered_map<const uint8_t*, Cie> cies_;
};

// FDE addresses in the order of their initial location, from the binary
// search table of .eh_frame_hdr; or, without one, from a linear scan.
bool CollectFdes(const uint8_t* hdr, const uint8_t* begin, const uint8_t* end,
                 std::vector<const uint8_t*>* fdes, CompileStats* stats, std::string* error) {
  Reader r(hdr, end);
  uint8_t version = r.u8();
  uint8_t eh_frame_ptr_enc = r.u8();
  uint8_t fde_count_enc = r.u8();
  uint8_t table_enc = r.u8();
  if (!r.ok() || version != 1) {
    *error = "unsupported .eh_frame_hdr version";
    return false;
  }
  uintptr_t datarel = reinterpret_cast<uintptr_t>(hdr);
  const uint8_t* eh_frame = reinterpret_cast<const uint8_t*>(r.Pointer(eh_frame_ptr_enc, datarel));
  stats->frames_begin = eh_frame;
  // The usual case: a sorted table of (initial location, FDE) as datarel
  // sdata4 pairs.
  if (fde_count_enc != kPeOmit && table_enc == (kPeDatarel | kPeSdata4)) {
    uint64_t count = r.Pointer(fde_count_enc, datarel);
    if (!r.ok() || count > static_cast<uint64_t>(end - r.pos()) / 8) {
      *error = "truncated .eh_frame_hdr table";
      return false;
    }
    fdes->reserve(count);
    for (uint64_t i = 0; i < count; i++) {
      r.u32();
      const uint8_t* fde = hdr + static_cast<int32_t>(r.u32());
      if (fde >= begin && fde < end) fdes->push_back(fde);
    }
    stats->hdr_begin = hdr;
    stats->hdr_end = r.pos();
    return r.ok();
  }
  // No search table: walk the section up to its zero terminator. Rows are
  // then sorted by the caller.
  if (eh_frame < begin || eh_frame >= end) {
    *error = ".eh_frame pointer outside the module";
    return false;
  }
  Reader s(eh_frame, end);
  while (s.ok() && !s.at_end()) {
    const uint8_t* record = s.pos();
    uint64_t length = s.u32();
    if (length == 0) break;
    if (length == 0xffffffff) length = s.u64();
    const uint8_t* body = s.pos();
    if (!s.ok() || length > static_cast<uint64_t>(end - body)) break;
    Reader id(body, body + 4);
    if (id.u32() != 0) fdes->push_back(record);
    s.seek(body + length);
  }
  return true;
}

}  // namespace

bool CompileEhFrame(const uint8_t* eh_frame_hdr, const uint8_t* readable_begin,
                    const uint8_t* readable_end, uintptr_t bias, std::vector<UnwindRow>* rows,
                    CompileStats* stats, std::string* error) {
  if (eh_frame_hdr < readable_begin || eh_frame_hdr >= readable_end) {
    *error = ".eh_frame_hdr outside its segment";
    return false;
  }
  std::vector<const uint8_t*> fdes;
  if (!CollectFdes(eh_frame_hdr, readable_begin, readable_end, &fdes, stats, error)) {
    return false;
  }
  if (!fdes.empty()) {
    // From the section's start (its first CIE) to the end of the last FDE,
    // whose length field says where it ends.
    const uint8_t* lo = *std::min_element(fdes.begin(), fdes.end());
    const uint8_t* last = *std::max_element(fdes.begin(), fdes.end());
    const uint8_t* section = stats->frames_begin;  // the section's start, from the header
    if (section >= readable_begin && section < lo) lo = section;
    Reader f(last, readable_end);
    uint64_t length = f.u32();
    if (length == 0xffffffff) length = f.u64();
    stats->frames_begin = lo;
    stats->frames_end =
        f.ok() && length <= static_cast<uint64_t>(readable_end - f.pos()) ? f.pos() + length : last;
  }
  size_t first = rows->size();
  // About 5 rows per FDE in glibc and node: one allocation instead of ~20
  // doublings and copies of a multi-megabyte vector.
  rows->reserve(first + fdes.size() * 6);
  Compiler compiler(readable_begin, readable_end, bias, rows, stats);
  compiler.row_count_before_ = first;
  for (const uint8_t* fde : fdes) compiler.CompileFde(fde);
  // The search table is sorted, so rows normally come out sorted; FDEs that
  // overlap (or a module without a table) need a sort, keeping the first of
  // equal starts.
  bool sorted =
      std::is_sorted(rows->begin() + first, rows->end(),
                     [](const UnwindRow& a, const UnwindRow& b) { return a.start < b.start; });
  if (!sorted) {
    std::stable_sort(rows->begin() + first, rows->end(),
                     [](const UnwindRow& a, const UnwindRow& b) { return a.start < b.start; });
    auto last =
        std::unique(rows->begin() + first, rows->end(),
                    [](const UnwindRow& a, const UnwindRow& b) { return a.start == b.start; });
    rows->erase(last, rows->end());
  }
  stats->rows += static_cast<uint32_t>(rows->size() - first);
  return true;
}

}  // namespace cfi
}  // namespace labelprof
