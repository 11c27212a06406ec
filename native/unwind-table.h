// The process-wide unwind table: the compiled CFI of every loaded module,
// published as one immutable snapshot the SIGPROF handler reads.
//
// Built on an isolate thread at start() (PrepareUnwindTables in
// stack-walker.h). A rebuild publishes a new snapshot with an atomic swap and
// frees the old one only once no walk is in flight (a counter every walk
// raises around its use of the table). Modules are cached by load address and
// name, so a rebuild compiles only newly loaded objects.
#pragma once

#include <cstdint>
#include <string>

#include "dwarf-cfi.h"

namespace labelprof {

// The executable address range of one module and its rows.
struct UnwindModule {
  uintptr_t start;  // first executable byte
  uintptr_t end;    // one past the last
  uintptr_t bias;   // load bias: row.start + bias is an address
  const cfi::UnwindRow* rows;
  uint32_t row_count;
};

struct UnwindTable {
  const UnwindModule* modules;  // sorted by start, not overlapping
  uint32_t module_count;
};

struct UnwindTableStats {
  uint32_t modules = 0;        // modules whose CFI is in the table
  uint32_t fdes = 0;
  uint32_t rows = 0;
  uint32_t unsupported_rows = 0;
  uint64_t bytes = 0;          // memory held by the rows
  uint64_t build_micros = 0;   // last (re)build, including cached modules
  uint32_t compiled_now = 0;   // modules compiled by the last build (not cached)
  uint32_t retired_leaked = 0; // old snapshots kept because a walk never ended
  std::string skipped;         // "name: reason" lines for modules left out
};

struct UnwindOptions {
  // The node binary keeps frame pointers, but about 40 % of its functions
  // have no frame-pointer prologue: with its CFI a sample inside one keeps
  // its direct caller. Costs most of the build time and memory.
  bool include_main_executable = true;
};

namespace unwind_table {

// Isolate thread only (takes a mutex, allocates). Compiles the CFI of every
// loaded module (dl_iterate_phdr) not already cached and publishes a new
// snapshot. Returns false with a message when no module could be compiled.
bool Rebuild(const UnwindOptions& options, std::string* error);

UnwindTableStats Stats();

// Called in the signal handler: no allocation, no lock. Pins the current
// snapshot (null when none was built); pair with ReleaseSignalSafe.
const UnwindTable* AcquireSignalSafe();

// Called in the signal handler: no allocation, no lock.
void ReleaseSignalSafe();

// Called in the signal handler: no allocation, no lock. The row that covers
// `pc`, or null when no module of the table contains it.
const cfi::UnwindRow* FindRowSignalSafe(const UnwindTable* table, uintptr_t pc);

}  // namespace unwind_table
}  // namespace labelprof
