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

// A binary search over all of node's ~400k rows costs ~19 dependent loads
// spread over 5 MB, each a likely cache and TLB miss inside the handler. So
// each range also has a chunk index: for every 1 KB of code, the index of the
// row in force at the chunk's first byte. A lookup then searches only the few
// rows that start inside one chunk.
constexpr int kChunkShift = 10;

// The executable address range of one module and its rows.
struct UnwindModule {
  uintptr_t start;  // first executable byte
  uintptr_t end;    // one past the last
  uintptr_t bias;   // load bias: row.start + bias is an address
  const cfi::UnwindRow* rows;
  uint32_t row_count;
  // chunk_rows[i]: index + 1 of the last row starting at or before
  // start + (i << kChunkShift) (0: none); one entry past the last chunk.
  const uint32_t* chunk_rows;
  uint32_t chunk_count;
  // The module keeps frame pointers: its CFI serves only the interrupted
  // frame (a frameless leaf, a prologue or epilogue); callers use rbp.
  bool leaf_only;
};

struct UnwindTable {
  const UnwindModule* modules;  // sorted by start, not overlapping
  uint32_t module_count;
  // modules[i]'s [start, end) at ranges[2 * i], ranges[2 * i + 1]: what the
  // handler searches for every pc, packed 4 modules to a cache line right
  // after this header (most walks stop at their first pc, in JIT code, after
  // this search alone; with the ranges spread over 56-byte module records a
  // cold search at 99 Hz cost ~1 us).
  const uint64_t* ranges;
};

struct UnwindTableStats {
  uint32_t modules = 0;  // modules whose CFI is in the table
  uint32_t fdes = 0;
  uint32_t rows = 0;
  uint32_t unsupported_rows = 0;
  uint64_t bytes = 0;            // memory held by the rows
  uint64_t build_micros = 0;     // last (re)build, including cached modules
  uint32_t compiled_now = 0;     // modules compiled by the last build (not cached)
  uint32_t retired_pending = 0;  // old snapshots kept until no walk is in flight
  std::string skipped;           // "name: reason" lines for modules left out
};

// How the walk uses the CFI of the main executable (node).
enum class MainExecutableCfi {
  kNone,      // frame pointers only: a sample in a frameless leaf loses its caller
  kLeafOnly,  // CFI for the interrupted frame only, frame pointers above it
  kAll,       // CFI for every node frame (slowest: ~400k rows over 5 MB)
};

struct UnwindOptions {
  // Node's official builds keep frame pointers in every function that calls
  // another, but about 40 % of its functions (small leaves, thunks) set up
  // none: only at the leaf does a frame-pointer walk go wrong (it skips the
  // direct caller). Node's CFI there fixes that; above the leaf, rbp is as
  // good and avoids searching node's large table on every frame.
  MainExecutableCfi main_executable = MainExecutableCfi::kLeafOnly;
  // false: publish an empty table, so walks follow frame pointers alone (a
  // kill switch, and the baseline the tests compare against).
  bool use_cfi = true;
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

// Called in the signal handler: no allocation, no lock. Asks the CPU for the
// line AcquireSignalSafe writes, ahead of the pin.
void PrefetchPinSignalSafe();

// Called in the signal handler: no allocation, no lock, no memory access
// beyond `table`'s header. Asks the CPU to load what the first step of a
// walk searches (the header and the packed module ranges) while the handler
// does other work: at 99 Hz every signal finds them out of cache, and the
// search's dependent misses cost ~0.5-1 us. `table` must be pinned
// (AcquireSignalSafe) or null.
void PrefetchSignalSafe(const UnwindTable* table);

// Called in the signal handler: no allocation, no lock. The module whose
// executable range holds `pc`, or null (JIT code, V8's remapped builtins, a
// module without CFI).
const UnwindModule* FindModuleSignalSafe(const UnwindTable* table, uintptr_t pc);

// Called in the signal handler: no allocation, no lock. The row that covers
// `pc`, or null when no module of the table contains it (or its module's CFI
// serves leaves only and `is_leaf` is false).
const cfi::UnwindRow* FindRowSignalSafe(const UnwindTable* table, uintptr_t pc, bool is_leaf);

}  // namespace unwind_table
}  // namespace labelprof
