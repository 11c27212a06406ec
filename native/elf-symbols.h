// One ELF file's symbol table in native memory, for the symbolizer
// (native/symbolizer.h). The same reading as src/elf.ts (which stays as the
// TypeScript reference and for tests): PT_LOAD segments, the GNU build id,
// STT_FUNC symbols and STT_NOTYPE labels of executable sections from .symtab
// (or from the build-id debug file's .symtab when installed) and .dynsym.
//
// The file is mmap'ed read-only and never copied: the pages of the section
// headers and symbol tables are touched while building (and released after),
// and the names asked for afterwards are read with pread, so that the ~12 MB
// of node's string tables never become resident (a touched page of a
// mapping brings its neighbours with it). A table is built once and then
// only read. Off the signal path; any thread (callers hold the symbolizer's lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace labelprof {

struct LoadSegment {
  uint64_t file_offset;
  uint64_t vaddr;
  uint64_t file_size;
};

// Read-only bytes of a file (mmap'ed) or of an in-memory image (the vDSO).
class ElfImage {
 public:
  ElfImage() = default;
  ~ElfImage();
  ElfImage(const ElfImage&) = delete;
  ElfImage& operator=(const ElfImage&) = delete;

  // Maps `fd` and keeps it (closed with the image). False if empty or unmappable.
  bool MapFile(int fd);
  // Drops the resident pages of a mapped file range (they are read again if touched).
  void Release(uint64_t offset, uint64_t length) const;
  // Copies `size` bytes at `address` of this process.
  void CopyMemory(const void* address, size_t size);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // Up to `length` bytes at `offset` into `out`, without touching the
  // mapping (for files: pread, so no page of the file becomes resident
  // around it); how many.
  size_t Copy(uint64_t offset, size_t length, char* out) const;
  // Whether [offset, offset + length) lies inside the image.
  bool Has(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  int fd_ = -1;
  std::vector<uint8_t> copy_;
};

class ElfSymbols {
 public:
  // Reads `image` (named `what`); false when it is not a little-endian
  // ELF64 file. `debug_root` is where build-id debug files live.
  bool Read(const std::string& what, const char* debug_root = "/usr/lib/debug/.build-id");

  ElfImage& image() { return image_; }
  const std::string& build_id() const { return build_id_; }
  const std::string& symbol_source() const { return symbol_source_; }
  size_t symbol_count() const { return symbols_.size(); }

  // The vaddr of a file offset, through the PT_LOAD that maps it.
  bool FileOffsetToVaddr(uint64_t file_offset, uint64_t* vaddr) const;

  // The symbol containing `vaddr`: true and its raw (mangled) name, or false.
  bool Lookup(uint64_t vaddr, std::string* name) const;

 private:
  struct Symbol {
    uint64_t start;
    uint64_t end;
    uint32_t name_offset;
    uint8_t table;  // index into strtabs_
    uint8_t sized;
  };
  struct StringTable {
    const ElfImage* image;
    uint64_t offset;
    uint64_t size;
  };
  struct RawSymbol;
  struct Section;

  bool ReadSymbols(const ElfImage& image, uint16_t wanted, std::vector<RawSymbol>* out,
                   size_t* found);
  bool Name(const Symbol& s, std::string* name) const;

  ElfImage image_;
  ElfImage debug_image_;
  std::vector<LoadSegment> loads_;
  std::string build_id_;
  std::string symbol_source_;
  std::vector<StringTable> strtabs_;
  std::vector<Symbol> symbols_;  // sorted by start, one per address
};

}  // namespace labelprof
