#include "elf-symbols.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace labelprof {
namespace {

constexpr uint32_t PT_LOAD_ = 1;
constexpr uint32_t PT_NOTE_ = 4;
constexpr uint16_t SHT_SYMTAB_ = 2;
constexpr uint16_t SHT_DYNSYM_ = 11;
constexpr uint64_t SHF_EXECINSTR_ = 0x4;
constexpr uint8_t STT_NOTYPE_ = 0;
constexpr uint8_t STT_FUNC_ = 2;
constexpr uint32_t NT_GNU_BUILD_ID_ = 3;

template <typename T>
T Get(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof v);  // little-endian host (x86-64, arm64)
  return v;
}

}  // namespace

ElfImage::~ElfImage() {
  if (mapped_) munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) close(fd_);
}

size_t ElfImage::Copy(uint64_t offset, size_t length, char* out) const {
  if (offset >= size_) return 0;
  length = static_cast<size_t>(std::min<uint64_t>(length, size_ - offset));
  if (fd_ < 0) {
    memcpy(out, data_ + offset, length);
    return length;
  }
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

bool ElfImage::MapFile(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) return false;
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return false;
  data_ = static_cast<const uint8_t*>(p);
  size_ = static_cast<size_t>(st.st_size);
  mapped_ = true;
  fd_ = dup(fd);  // O_CLOEXEC kept by fcntl below
  if (fd_ >= 0) fcntl(fd_, F_SETFD, FD_CLOEXEC);
  return true;
}

void ElfImage::Release(uint64_t offset, uint64_t length) const {
  if (!mapped_ || !Has(offset, length)) return;
  uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(data_) + offset + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data_) + offset + length) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

void ElfImage::CopyMemory(const void* address, size_t size) {
  copy_.assign(static_cast<const uint8_t*>(address), static_cast<const uint8_t*>(address) + size);
  data_ = copy_.data();
  size_ = copy_.size();
}

struct ElfSymbols::Section {
  uint32_t type;
  uint64_t flags;
  uint64_t addr;
  uint64_t offset;
  uint64_t size;
  uint32_t link;
  uint64_t entsize;
};

// 32 bytes: node's .symtab + .dynsym hold ~185k entries, all in this form
// at once while the table is built (then freed).
struct ElfSymbols::RawSymbol {
  uint64_t start;
  uint32_t size;          // functions are far below 4 GiB
  uint32_t section_span;  // end of its section - start (bounds a symbol without a size)
  uint32_t name_offset;
  uint32_t order;  // as read: the tie-break among equals
  uint8_t rank;    // lower is preferred among symbols at one address
  uint8_t table;
};

// Sections of `image`, or false when it is not a little-endian ELF64 file.
static bool ReadHeaders(const ElfImage& image, std::vector<LoadSegment>* loads,
                        std::vector<std::pair<uint64_t, uint64_t>>* notes,
                        std::vector<uint8_t>* section_bytes, uint16_t* shentsize) {
  const uint8_t* d = image.data();
  if (!image.Has(0, 64) || memcmp(d,
                                  "\x7f"
                                  "ELF",
                                  4) != 0)
    return false;
  if (d[4] != 2 || d[5] != 1) return false;
  uint64_t phoff = Get<uint64_t>(d + 0x20);
  uint64_t shoff = Get<uint64_t>(d + 0x28);
  uint16_t phentsize = Get<uint16_t>(d + 0x36);
  uint16_t phnum = Get<uint16_t>(d + 0x38);
  *shentsize = Get<uint16_t>(d + 0x3a);
  uint16_t shnum = Get<uint16_t>(d + 0x3c);
  if (phentsize >= 56 && image.Has(phoff, uint64_t{phentsize} * phnum)) {
    for (uint16_t i = 0; i < phnum; i++) {
      const uint8_t* ph = d + phoff + uint64_t{i} * phentsize;
      uint32_t type = Get<uint32_t>(ph);
      if (type == PT_LOAD_) {
        loads->push_back({Get<uint64_t>(ph + 8), Get<uint64_t>(ph + 16), Get<uint64_t>(ph + 32)});
      } else if (type == PT_NOTE_ && notes != nullptr) {
        notes->push_back({Get<uint64_t>(ph + 8), Get<uint64_t>(ph + 32)});
      }
    }
  }
  if (shoff != 0 && shnum != 0 && *shentsize >= 64 &&
      image.Has(shoff, uint64_t{*shentsize} * shnum)) {
    section_bytes->assign(d + shoff, d + shoff + uint64_t{*shentsize} * shnum);
  }
  return true;
}

bool ElfSymbols::Read(const std::string& what, const char* debug_root) {
  std::vector<std::pair<uint64_t, uint64_t>> notes;
  std::vector<uint8_t> unused_sections;
  uint16_t unused_entsize = 0;
  if (!ReadHeaders(image_, &loads_, &notes, &unused_sections, &unused_entsize)) return false;
  // The GNU build id, from the PT_NOTE segments.
  for (const auto& note : notes) {
    if (!build_id_.empty() || !image_.Has(note.first, note.second)) break;
    const uint8_t* buf = image_.data() + note.first;
    uint64_t p = 0;
    while (p + 12 <= note.second) {
      uint32_t namesz = Get<uint32_t>(buf + p);
      uint32_t descsz = Get<uint32_t>(buf + p + 4);
      uint32_t type = Get<uint32_t>(buf + p + 8);
      uint64_t name_start = p + 12;
      uint64_t desc_start = name_start + ((uint64_t{namesz} + 3) & ~uint64_t{3});
      if (type == NT_GNU_BUILD_ID_ && namesz == 4 && desc_start + descsz <= note.second &&
          memcmp(buf + name_start, "GNU", 3) == 0) {
        static const char kHex[] = "0123456789abcdef";
        for (uint32_t i = 0; i < descsz; i++) {
          build_id_ += kHex[buf[desc_start + i] >> 4];
          build_id_ += kHex[buf[desc_start + i] & 0xf];
        }
        break;
      }
      p = desc_start + ((uint64_t{descsz} + 3) & ~uint64_t{3});
    }
  }
  std::vector<RawSymbol> raw;
  symbol_source_ = what;
  size_t symtab_count = 0;
  if (build_id_.size() > 2) {
    // A build-id debug file (Debian's -dbg / -dbgsym packages) has the full .symtab.
    std::string debug_path = std::string(debug_root) + "/" + build_id_.substr(0, 2) + "/" +
                             build_id_.substr(2) + ".debug";
    int fd = open(debug_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (debug_image_.MapFile(fd) && ReadSymbols(debug_image_, SHT_SYMTAB_, &raw, &symtab_count) &&
          symtab_count > 0) {
        symbol_source_ = debug_path;
      }
      close(fd);
    }
  }
  size_t dynsym_count = 0;
  if (symtab_count == 0) ReadSymbols(image_, SHT_SYMTAB_, &raw, &symtab_count);
  ReadSymbols(image_, SHT_DYNSYM_, &raw, &dynsym_count);

  // One symbol per address: the best-ranked of its aliases (a sized global
  // function over a local one over an assembly label); among equals, the
  // first read, as src/elf.ts keeps.
  // In place (no merge buffer: it would double the peak).
  for (size_t i = 0; i < raw.size(); i++) raw[i].order = static_cast<uint32_t>(i);
  std::sort(raw.begin(), raw.end(), [](const RawSymbol& a, const RawSymbol& b) {
    if (a.start != b.start) return a.start < b.start;
    return a.rank != b.rank ? a.rank < b.rank : a.order < b.order;
  });
  size_t kept = 0;
  for (size_t i = 0; i < raw.size(); i++) {
    if (kept == 0 || raw[kept - 1].start != raw[i].start) raw[kept++] = raw[i];
  }
  raw.resize(kept);
  symbols_.resize(kept);
  for (size_t k = 0; k < kept; k++) {
    const RawSymbol& r = raw[k];
    uint64_t section_end = r.start + r.section_span;
    // A symbol without a size (assembly labels) runs until the next symbol,
    // and never past the end of its section (a label before .plt must not
    // name the PLT stubs).
    uint64_t next = k + 1 < kept ? std::min(raw[k + 1].start, section_end) : section_end;
    Symbol& s = symbols_[k];
    s.start = r.start;
    s.end = r.size > 0 ? r.start + r.size : std::max(next, r.start + 1);
    s.sized = r.size > 0 ? 1 : 0;
    s.name_offset = r.name_offset;
    s.table = r.table;
  }
  return true;
}

// Appends the function symbols of every section of type `wanted` of `image`
// to `out`, registering their string tables. Only STT_FUNC, and STT_NOTYPE
// labels inside executable sections (hand-written assembly), with a defined
// section. False when `image` is not ELF.
bool ElfSymbols::ReadSymbols(const ElfImage& image, uint16_t wanted, std::vector<RawSymbol>* out,
                             size_t* found) {
  std::vector<LoadSegment> unused_loads;
  std::vector<uint8_t> sh;
  uint16_t shentsize = 0;
  if (!ReadHeaders(image, &unused_loads, nullptr, &sh, &shentsize)) return false;
  size_t shnum = shentsize == 0 ? 0 : sh.size() / shentsize;
  auto section = [&](size_t i) {
    const uint8_t* p = sh.data() + i * shentsize;
    return Section{Get<uint32_t>(p + 4),  Get<uint64_t>(p + 8),  Get<uint64_t>(p + 16),
                   Get<uint64_t>(p + 24), Get<uint64_t>(p + 32), Get<uint32_t>(p + 40),
                   Get<uint64_t>(p + 56)};
  };
  for (size_t si = 0; si < shnum; si++) {
    Section s = section(si);
    if (s.type != wanted || s.entsize != 24) continue;
    if (s.link >= shnum || strtabs_.size() >= 255) continue;
    Section str = section(s.link);
    if (!image.Has(str.offset, str.size) || !image.Has(s.offset, s.size)) continue;
    uint8_t table = static_cast<uint8_t>(strtabs_.size());
    strtabs_.push_back({&image, str.offset, str.size});
    const uint8_t* syms = image.data() + s.offset;
    // Room for every entry up front: growing by doubling would hold the old
    // and the new array at once (pages reserved but never written cost nothing).
    out->reserve(out->size() + s.size / 24);
    constexpr uint64_t kReleaseBytes = 1 << 20;
    for (uint64_t i = 0; i + 24 <= s.size; i += 24) {
      // The entries are read once: let their pages go as we pass them.
      if (i > 0 && i % kReleaseBytes < 24)
        image.Release(s.offset + i - kReleaseBytes, kReleaseBytes);
      const uint8_t* e = syms + i;
      uint8_t info = e[4];
      uint8_t type = info & 0xf;
      uint16_t shndx = Get<uint16_t>(e + 6);
      if (shndx == 0 || shndx >= 0xff00) continue;
      if (type != STT_FUNC_ && type != STT_NOTYPE_) continue;
      if (shndx >= shnum) continue;
      Section target = section(shndx);
      if (type == STT_NOTYPE_ && (target.flags & SHF_EXECINSTR_) == 0) continue;
      uint64_t start = Get<uint64_t>(e + 8);
      uint32_t name_offset = Get<uint32_t>(e);
      if (start == 0 || name_offset == 0) continue;
      // Debug files keep section addresses (their contents are NOBITS).
      uint64_t section_end = target.addr + target.size;
      uint64_t size = Get<uint64_t>(e + 16);
      uint8_t bind = info >> 4;  // 0 local, 1 global, 2 weak
      uint8_t rank = (size > 0 ? 0 : 4) + (type == STT_FUNC_ ? 0 : 2) + (bind == 1 ? 0 : 1);
      uint64_t span = section_end > start ? section_end - start : 1;
      out->push_back({start, static_cast<uint32_t>(std::min<uint64_t>(size, UINT32_MAX)),
                      static_cast<uint32_t>(std::min<uint64_t>(span, UINT32_MAX)), name_offset, 0,
                      rank, table});
      (*found)++;
    }
    // The entries were read once; their pages need not stay resident.
    image.Release(s.offset, s.size);
  }
  return true;
}

bool ElfSymbols::FileOffsetToVaddr(uint64_t file_offset, uint64_t* vaddr) const {
  for (const LoadSegment& l : loads_) {
    if (file_offset >= l.file_offset && file_offset < l.file_offset + l.file_size) {
      *vaddr = file_offset - l.file_offset + l.vaddr;
      return true;
    }
  }
  return false;
}

bool ElfSymbols::Name(const Symbol& s, std::string* name) const {
  const StringTable& t = strtabs_[s.table];
  name->clear();
  // Up to the NUL, or to the end of the table.
  char buf[256];
  for (uint64_t at = s.name_offset; at < t.size;) {
    size_t n = t.image->Copy(t.offset + at,
                             static_cast<size_t>(std::min<uint64_t>(sizeof buf, t.size - at)), buf);
    if (n == 0) break;
    const void* nul = memchr(buf, 0, n);
    if (nul != nullptr) {
      name->append(buf, static_cast<const char*>(nul) - buf);
      break;
    }
    name->append(buf, n);
    at += n;
  }
  return true;
}

bool ElfSymbols::Lookup(uint64_t vaddr, std::string* name) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                             [](uint64_t v, const Symbol& s) { return v < s.start; });
  if (it == symbols_.begin()) return false;
  size_t i = static_cast<size_t>(it - symbols_.begin()) - 1;
  if (symbols_[i].sized == 0) {
    // A label inside a sized function: the function is the better name.
    for (size_t j = i; j-- > 0 && j + 16 >= i;) {
      if (symbols_[j].sized == 1 && vaddr < symbols_[j].end) {
        return Name(symbols_[j], name);
      }
    }
  }
  if (vaddr < symbols_[i].end) {
    return Name(symbols_[i], name);
  }
  return false;
}

}  // namespace labelprof
