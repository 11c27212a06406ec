#include "unwind-table.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "signal-path.h"

namespace labelprof {
namespace unwind_table {
namespace {

// One loaded object's compiled CFI. Immutable once built; shared between
// snapshots while the object stays loaded.
// Rows of a large module (node: ~4.3 MB) in transparent huge pages where the
// kernel allows it: the handler's lookups then take TLB hits instead of 4 KB
// page walks, which cost most inside a VM. Falls back to the vector.
class RowStore {
 public:
  RowStore() = default;
  RowStore(const RowStore&) = delete;
  RowStore& operator=(const RowStore&) = delete;
  ~RowStore() {
    if (map_ != nullptr) munmap(map_, map_size_);
  }

  void Adopt(std::vector<cfi::UnwindRow>* rows) {
    constexpr size_t kHuge = 2u << 20;
    size_t bytes = rows->size() * sizeof(cfi::UnwindRow);
    if (bytes >= kHuge) {
      size_t size = (bytes + kHuge - 1) / kHuge * kHuge + kHuge;
      void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p != MAP_FAILED) {
        uintptr_t aligned = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
        // Huge pages for the whole 2 MB units only: a huge page for the last
        // part would hold up to 2 MB of nothing (node's ~4.3 MB of rows took
        // 6 MB). The tail stays in 4 KB pages, even where THP is "always".
        size_t huge_bytes = bytes / kHuge * kHuge;
        madvise(reinterpret_cast<void*>(aligned), huge_bytes, MADV_HUGEPAGE);
        madvise(reinterpret_cast<void*>(aligned + huge_bytes),
                size - (aligned - reinterpret_cast<uintptr_t>(p)) - huge_bytes, MADV_NOHUGEPAGE);
        memcpy(reinterpret_cast<void*>(aligned), rows->data(), bytes);
        map_ = p;
        map_size_ = size;
        data_ = reinterpret_cast<const cfi::UnwindRow*>(aligned);
        count_ = rows->size();
        std::vector<cfi::UnwindRow>().swap(*rows);
        return;
      }
    }
    vec_.swap(*rows);
    vec_.shrink_to_fit();
    data_ = vec_.data();
    count_ = vec_.size();
  }

  const cfi::UnwindRow* data() const { return data_; }
  size_t size() const { return count_; }

 private:
  std::vector<cfi::UnwindRow> vec_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const cfi::UnwindRow* data_ = nullptr;
  size_t count_ = 0;
};

struct CompiledModule {
  std::string name;
  uintptr_t bias = 0;
  std::vector<std::pair<uintptr_t, uintptr_t>> exec_ranges;
  RowStore rows;
  std::vector<std::vector<uint32_t>> chunk_rows;  // one per exec range
  cfi::CompileStats stats;
};

// See UnwindModule::chunk_rows. One pass over the sorted rows.
std::vector<uint32_t> BuildChunkIndex(const std::vector<cfi::UnwindRow>& rows, uintptr_t bias,
                                      uintptr_t start, uintptr_t end) {
  size_t chunks = ((end - start) >> kChunkShift) + 1;
  std::vector<uint32_t> index(chunks + 1);
  size_t row = 0;
  for (size_t c = 0; c <= chunks; c++) {
    uintptr_t offset = start + (c << kChunkShift) - bias;
    while (row < rows.size() && rows[row].start <= offset) row++;
    index[c] = static_cast<uint32_t>(row);
  }
  return index;
}

// What the handler sees, plus the owners that keep its rows alive.
struct Snapshot {
  UnwindTable table{};
  // Up to kInlineRanges modules' ranges sit in the same allocation as the
  // table header (what a walk touches first); more go to `more_ranges`.
  static constexpr size_t kInlineRanges = 48;
  alignas(64) uint64_t inline_ranges[2 * kInlineRanges];
  std::vector<uint64_t> more_ranges;
  std::vector<UnwindModule> modules;
  std::vector<std::shared_ptr<const CompiledModule>> owners;
};

// Key: load bias, address of the eh_frame_hdr, name. A library unloaded and
// another loaded at the same place differs in at least one of them in
// practice; a stale entry could only mislead a walk, never make it fault
// (every stack read is range-checked).
using ModuleKey = std::tuple<uintptr_t, uintptr_t, std::string>;

// Guarded by g_mutex (isolate threads).
std::mutex g_mutex;
std::map<ModuleKey, std::shared_ptr<const CompiledModule>> g_cache;
UnwindTableStats g_stats;

// Read by the handler: one cache line for both (a pin touches both).
struct alignas(64) Published {
  std::atomic<const Snapshot*> snapshot{nullptr};
  std::atomic<int> walks_in_flight{0};
};
Published g_published;
std::atomic<const Snapshot*>& g_snapshot = g_published.snapshot;
std::atomic<int>& g_walks_in_flight = g_published.walks_in_flight;
static_assert(std::atomic<const Snapshot*>::is_always_lock_free &&
                  std::atomic<int>::is_always_lock_free,
              "the handler may only use lock-free atomics");

uint64_t NowMicros() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

std::string MainExecutablePath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : std::string("[main]");
}

// A loaded object as dl_iterate_phdr reports it.
struct LoadedObject {
  std::string name;
  bool is_main = false;
  uintptr_t bias = 0;
  uintptr_t eh_frame_hdr = 0;
  uintptr_t readable_begin = 0, readable_end = 0;  // PT_LOAD holding the hdr
  // The compile's pages of that segment may be handed back (DropPages): the
  // segment is not writable, and no text relocation wrote to its pages.
  bool readable_clean = false;
  std::vector<std::pair<uintptr_t, uintptr_t>> exec_ranges;
};

// Whether the dynamic loader wrote into the object's read-only segments
// (DT_TEXTREL): their pages then differ from the file.
bool HasTextRelocations(const struct dl_phdr_info* info) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) continue;
    for (auto* d = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + ph.p_vaddr);
         d->d_tag != DT_NULL; d++) {
      if (d->d_tag == DT_TEXTREL) return true;
      if (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL) != 0) return true;
    }
  }
  return false;
}

int CollectObject(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::vector<LoadedObject>*>(data);
  LoadedObject obj;
  // The main executable comes first with an empty name.
  obj.is_main = out->empty();
  obj.name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "";
  obj.bias = info->dlpi_addr;
  uintptr_t hdr_vaddr = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_GNU_EH_FRAME) hdr_vaddr = ph.p_vaddr;
  }
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t begin = obj.bias + ph.p_vaddr;
    uintptr_t end = begin + ph.p_memsz;
    if (ph.p_flags & PF_X) obj.exec_ranges.emplace_back(begin, end);
    if (hdr_vaddr != 0 && ph.p_vaddr <= hdr_vaddr && hdr_vaddr < ph.p_vaddr + ph.p_filesz) {
      // Only the file-backed part: .eh_frame is never in .bss.
      obj.readable_begin = begin;
      obj.readable_end = begin + ph.p_filesz;
      obj.readable_clean = (ph.p_flags & PF_W) == 0 && !HasTextRelocations(info);
    }
  }
  if (hdr_vaddr != 0) obj.eh_frame_hdr = obj.bias + hdr_vaddr;
  out->push_back(std::move(obj));
  return 0;
}

// Hands back the pages of [begin, end) of a module's read-only segment that
// the compile faulted in (node: 4.4 MB of .eh_frame, counted in the
// process's RSS for as long as they stay mapped in). The mapping is private,
// file-backed and never written (readable_clean), so the pages are clean
// copies of the file: a later read (a C++ exception's unwinder) faults them
// in from the page cache again. Only whole pages inside the range go.
void DropPages(const uint8_t* begin, const uint8_t* end) {
  if (begin == nullptr || end == nullptr || end <= begin) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t from = (reinterpret_cast<uintptr_t>(begin) + page - 1) & ~(page - 1);
  uintptr_t to = reinterpret_cast<uintptr_t>(end) & ~(page - 1);
  if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

std::shared_ptr<const CompiledModule> Compile(const LoadedObject& obj, std::string* error) {
  auto module = std::make_shared<CompiledModule>();
  module->name = obj.name;
  module->bias = obj.bias;
  module->exec_ranges = obj.exec_ranges;
  std::vector<cfi::UnwindRow> rows;
  if (!cfi::CompileEhFrame(reinterpret_cast<const uint8_t*>(obj.eh_frame_hdr),
                           reinterpret_cast<const uint8_t*>(obj.readable_begin),
                           reinterpret_cast<const uint8_t*>(obj.readable_end), obj.bias, &rows,
                           &module->stats, error)) {
    return nullptr;
  }
  // Before the rows are indexed and copied: lower peak RSS too.
  if (obj.readable_clean) {
    DropPages(module->stats.hdr_begin, module->stats.hdr_end);
    DropPages(module->stats.frames_begin, module->stats.frames_end);
  }
  for (const auto& range : module->exec_ranges) {
    module->chunk_rows.push_back(BuildChunkIndex(rows, obj.bias, range.first, range.second));
  }
  module->rows.Adopt(&rows);
  return module;
}

// Snapshots swapped out that a walk may still be reading. Guarded by g_mutex.
std::vector<const Snapshot*> g_retired;

// Retires `old` and frees every retired snapshot once no walk can still be
// reading one. A walk raises the counter before loading the snapshot pointer
// (both seq_cst), so after the swap a zero count proves nobody holds a
// retired one. Never waits (this runs under g_mutex, on an isolate thread):
// while walks are in flight, the snapshots wait for the next rebuild.
void RetireLocked(const Snapshot* old) {
  if (old != nullptr) g_retired.push_back(old);
  if (!g_retired.empty() && g_walks_in_flight.load(std::memory_order_seq_cst) == 0) {
    for (const Snapshot* s : g_retired) delete s;
    g_retired.clear();
  }
  g_stats.retired_pending = static_cast<uint32_t>(g_retired.size());
}

}  // namespace

bool Rebuild(const UnwindOptions& options, std::string* error) {
  std::lock_guard<std::mutex> lock(g_mutex);
  uint64_t t0 = NowMicros();
  std::vector<LoadedObject> objects;
  dl_iterate_phdr(CollectObject, &objects);

  auto snapshot = std::make_unique<Snapshot>();
  std::map<ModuleKey, std::shared_ptr<const CompiledModule>> cache;
  UnwindTableStats stats;
  for (LoadedObject& obj : objects) {
    if (!options.use_cfi) break;
    if (obj.is_main) obj.name = MainExecutablePath();
    if (obj.exec_ranges.empty()) continue;
    if (obj.is_main && options.main_executable == MainExecutableCfi::kNone) continue;
    bool leaf_only = obj.is_main && options.main_executable == MainExecutableCfi::kLeafOnly;
    if (obj.eh_frame_hdr == 0 || obj.readable_begin == 0) {
      stats.skipped += obj.name + ": no PT_GNU_EH_FRAME\n";
      continue;
    }
    ModuleKey key(obj.bias, obj.eh_frame_hdr, obj.name);
    std::shared_ptr<const CompiledModule> module;
    auto it = g_cache.find(key);
    if (it != g_cache.end()) {
      module = it->second;
    } else {
      std::string why;
      module = Compile(obj, &why);
      if (module == nullptr) {
        stats.skipped += obj.name + ": " + why + "\n";
        continue;
      }
      stats.compiled_now++;
    }
    cache[key] = module;
    stats.modules++;
    stats.fdes += module->stats.fdes;
    stats.rows += module->stats.rows;
    stats.unsupported_rows += module->stats.unsupported_rows;
    stats.bytes += module->rows.size() * sizeof(cfi::UnwindRow);
    for (size_t i = 0; i < module->exec_ranges.size(); i++) {
      const auto& range = module->exec_ranges[i];
      const auto& chunks = module->chunk_rows[i];
      stats.bytes += chunks.size() * sizeof(uint32_t);
      snapshot->modules.push_back(
          UnwindModule{range.first, range.second, module->bias, module->rows.data(),
                       static_cast<uint32_t>(module->rows.size()), chunks.data(),
                       static_cast<uint32_t>(chunks.size() - 1), leaf_only});
    }
    snapshot->owners.push_back(module);
  }
  // Modules no longer loaded drop out of the cache here.
  g_cache.swap(cache);
  std::sort(snapshot->modules.begin(), snapshot->modules.end(),
            [](const UnwindModule& a, const UnwindModule& b) { return a.start < b.start; });
  snapshot->table.modules = snapshot->modules.data();
  snapshot->table.module_count = static_cast<uint32_t>(snapshot->modules.size());
  uint64_t* ranges = snapshot->inline_ranges;
  if (snapshot->modules.size() > Snapshot::kInlineRanges) {
    snapshot->more_ranges.resize(2 * snapshot->modules.size());
    ranges = snapshot->more_ranges.data();
  }
  for (size_t i = 0; i < snapshot->modules.size(); i++) {
    ranges[2 * i] = snapshot->modules[i].start;
    ranges[2 * i + 1] = snapshot->modules[i].end;
  }
  snapshot->table.ranges = ranges;
  stats.build_micros = NowMicros() - t0;
  g_stats = stats;
  if (stats.modules == 0 && options.use_cfi) {
    *error = "no loaded module has usable .eh_frame CFI";
    if (!stats.skipped.empty()) *error += ":\n" + stats.skipped;
    // Keep the previous snapshot (if any): an empty one helps nobody.
    RetireLocked(nullptr);
    return false;
  }
  RetireLocked(g_snapshot.exchange(snapshot.release(), std::memory_order_seq_cst));
  return true;
}

UnwindTableStats Stats() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_stats;
}

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH const UnwindTable* AcquireSignalSafe() {
  g_walks_in_flight.fetch_add(1, std::memory_order_seq_cst);
  const Snapshot* s = g_snapshot.load(std::memory_order_seq_cst);
  return s != nullptr ? &s->table : nullptr;
}

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH void PrefetchPinSignalSafe() { __builtin_prefetch(&g_published, 1); }

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH void PrefetchSignalSafe(const UnwindTable* table) {
  if (table == nullptr) return;
  const char* ranges = reinterpret_cast<const char*>(table->ranges);
  const size_t bytes = static_cast<size_t>(table->module_count) * 2 * sizeof(uint64_t);
  // Prefetches never fault; past 8 lines the search's own misses are few.
  for (size_t offset = 0; offset < bytes && offset < 8 * 64; offset += 64) {
    __builtin_prefetch(ranges + offset);
  }
}

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH void ReleaseSignalSafe() {
  g_walks_in_flight.fetch_sub(1, std::memory_order_seq_cst);
}

// Called in the signal handler: no allocation, no lock. The module whose
// executable range holds pc, or null.
LABELPROF_SIGNAL_PATH const UnwindModule* FindModuleSignalSafe(const UnwindTable* table,
                                                               uintptr_t pc) {
  // The last module starting at or before pc, searched in the packed
  // ranges; the module record is read only for a pc inside it.
  const uint64_t* ranges = table->ranges;
  uint32_t lo = 0, hi = table->module_count;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (ranges[2 * mid] <= pc) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0 || pc >= ranges[2 * (lo - 1) + 1]) return nullptr;
  return &table->modules[lo - 1];
}

// Called in the signal handler: no allocation, no lock.
LABELPROF_SIGNAL_PATH const cfi::UnwindRow* FindRowSignalSafe(const UnwindTable* table,
                                                              uintptr_t pc, bool is_leaf) {
  const UnwindModule* module = FindModuleSignalSafe(table, pc);
  if (module == nullptr) return nullptr;
  const UnwindModule& m = *module;
  uint32_t lo, hi;
  if (pc < m.bias || (m.leaf_only && !is_leaf)) return nullptr;
  uintptr_t offset = pc - m.bias;
  if (offset > UINT32_MAX) return nullptr;
  // The last row starting at or before offset lies between the row in force
  // at the chunk's start and the one in force at the next chunk's start.
  uintptr_t chunk = (pc - m.start) >> kChunkShift;
  if (chunk >= m.chunk_count) return nullptr;
  lo = m.chunk_rows[chunk];
  hi = m.chunk_rows[chunk + 1];
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (m.rows[mid].start <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo == 0 ? nullptr : &m.rows[lo - 1];
}

}  // namespace unwind_table
}  // namespace labelprof
