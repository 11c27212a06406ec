// Reading what the symbolizer needs from an ELF64 little-endian file:
// PT_LOAD segments (file offset -> vaddr), the GNU build id, and the function
// symbols of .symtab and .dynsym. Off the signal path, after stop().
//
// Only the headers and the symbol/string tables are read, never the whole
// file: node's binary is ~100 MB, its .symtab + .strtab ~10 MB.

import * as fs from 'node:fs';

export interface LoadSegment {
  fileOffset: number;
  vaddr: number;
  fileSize: number;
}

const PT_LOAD = 1;
const PT_NOTE = 4;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHF_EXECINSTR = 0x4;
const STT_NOTYPE = 0;
const STT_FUNC = 2;
const NT_GNU_BUILD_ID = 3;

/**
 * Symbols as columns of numbers while a file is read: node has ~80k function
 * symbols, and an object each (plus a comparator sort) cost ~400 ms of the
 * first stop() that symbolized it.
 */
export class SymbolColumns {
  readonly start: number[] = [];
  readonly size: number[] = [];
  readonly rank: number[] = [];
  readonly sectionEnd: number[] = [];
  readonly nameOffset: number[] = [];
  readonly table: number[] = [];

  push(e: RawSymbol): void {
    this.start.push(e.start);
    this.size.push(e.size);
    this.rank.push(e.rank);
    this.sectionEnd.push(e.sectionEnd);
    this.nameOffset.push(e.nameOffset);
    this.table.push(e.table);
  }

  get length(): number {
    return this.start.length;
  }

  // Indices in (start, rank) order. Packing (start, rank, index) into one
  // double lets the typed array sort natively: start < 2^32 (ELF vaddrs of
  // executables and libraries), rank < 8, index < 2^18; anything larger
  // takes a comparator.
  sortedIndices(): Uint32Array {
    const n = this.length;
    const order = new Uint32Array(n);
    const INDEX = 2 ** 18;
    if (n >= INDEX || this.start.some((v) => v >= 2 ** 32) || this.rank.some((r) => r >= 8)) {
      const idx = Array.from({ length: n }, (_, i) => i);
      idx.sort((a, b) => this.start[a]! - this.start[b]! || this.rank[a]! - this.rank[b]!);
      order.set(idx);
      return order;
    }
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = (this.start[i]! * 8 + this.rank[i]!) * INDEX + i;
    keys.sort();
    for (let i = 0; i < n; i++) order[i] = keys[i]! % INDEX;
    return order;
  }
}

/** Function symbols, sorted by address, names decoded on demand. */
export class SymbolTable {
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly sized: Uint8Array;
  private readonly nameOffsets: Uint32Array;
  private readonly tableOf: Uint8Array;
  private readonly names = new Map<number, string>();

  constructor(private readonly strtabs: Buffer[], symbols: SymbolColumns | RawSymbol[]) {
    let cols: SymbolColumns;
    if (symbols instanceof SymbolColumns) {
      cols = symbols;
    } else {
      cols = new SymbolColumns();
      for (const e of symbols) cols.push(e);
    }
    // One symbol per address: the best-ranked of its aliases (a sized
    // global function over a local one over an assembly label), so a label
    // like OpenSSL's `_shaext_shortcut` does not hide the function it opens.
    const order = cols.sortedIndices();
    const kept: number[] = [];
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      if (kept.length === 0 || cols.start[kept[kept.length - 1]!] !== cols.start[i]) kept.push(i);
    }
    const n = kept.length;
    this.starts = new Float64Array(n);
    this.ends = new Float64Array(n);
    this.sized = new Uint8Array(n);
    this.nameOffsets = new Uint32Array(n);
    this.tableOf = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const i = kept[k]!;
      const start = cols.start[i]!;
      const size = cols.size[i]!;
      const sectionEnd = cols.sectionEnd[i]!;
      this.starts[k] = start;
      // A symbol without a size (assembly labels) is taken to run until the
      // next symbol, and never past the end of its section (a label before
      // .plt must not name the PLT stubs).
      const next = k + 1 < n ? Math.min(cols.start[kept[k + 1]!]!, sectionEnd) : sectionEnd;
      this.ends[k] = size > 0 ? start + size : Math.max(next, start + 1);
      this.sized[k] = size > 0 ? 1 : 0;
      this.nameOffsets[k] = cols.nameOffset[i]!;
      this.tableOf[k] = cols.table[i]!;
    }
  }

  get size(): number {
    return this.starts.length;
  }

  /** The symbol containing `vaddr`: its name and start, or undefined. */
  lookup(vaddr: number): { name: string; start: number } | undefined {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid] <= vaddr) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0) return undefined;
    if (this.sized[i] === 0) {
      // A label inside a sized function: the function is the better name.
      for (let j = i - 1; j >= 0 && j >= i - 16; j--) {
        if (this.sized[j] === 1 && vaddr < this.ends[j]) return { name: this.name(j), start: this.starts[j] };
      }
    }
    if (vaddr < this.ends[i]) return { name: this.name(i), start: this.starts[i] };
    return undefined;
  }

  /** The start of the first symbol called `name` (a linear scan: tests and tools only). */
  addressOf(name: string): number | undefined {
    for (let i = 0; i < this.starts.length; i++) {
      if (this.name(i) === name) return this.starts[i];
    }
    return undefined;
  }

  private name(i: number): string {
    let name = this.names.get(i);
    if (name === undefined) {
      const strtab = this.strtabs[this.tableOf[i]];
      const off = this.nameOffsets[i];
      const end = strtab.indexOf(0, off);
      name = strtab.toString('latin1', off, end < 0 ? strtab.length : end);
      this.names.set(i, name);
    }
    return name;
  }
}

export interface RawSymbol {
  start: number;
  size: number;
  /** Lower is preferred among symbols at one address. */
  rank: number;
  /** End of the symbol's section (bounds a symbol without a size). */
  sectionEnd: number;
  nameOffset: number;
  table: number;
}

/** What one ELF file tells the symbolizer. */
export interface ElfInfo {
  loads: LoadSegment[];
  buildId: string;
  /** Symbols of .symtab (or the debug file's) and .dynsym. */
  symbols: SymbolTable;
  /** Where the symbols came from: the file itself, or its build-id debug file. */
  symbolSource: string;
}

/** A positioned reader over a file descriptor, or over bytes already in memory. */
export interface ByteSource {
  read(offset: number, length: number): Buffer;
}

export function fileSource(fd: number): ByteSource {
  return {
    read(offset: number, length: number): Buffer {
      const buf = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, buf, done, length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return done === length ? buf : buf.subarray(0, done);
    },
  };
}

export function bufferSource(bytes: Buffer): ByteSource {
  return {
    read(offset: number, length: number): Buffer {
      return bytes.subarray(offset, offset + length);
    },
  };
}

function u64(buf: Buffer, off: number): number {
  // vaddrs, offsets and sizes of real files stay far below 2^53.
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 4294967296;
}

interface Section {
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

interface Headers {
  loads: LoadSegment[];
  notes: Array<{ offset: number; size: number }>;
  sections: Section[];
}

function readHeaders(src: ByteSource, what: string): Headers {
  const eh = src.read(0, 64);
  if (eh.length < 64 || eh.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${what} is not an ELF file`);
  if (eh[4] !== 2 || eh[5] !== 1) throw new Error(`${what} is not a little-endian ELF64 file`);
  const phoff = u64(eh, 0x20);
  const shoff = u64(eh, 0x28);
  const phentsize = eh.readUInt16LE(0x36);
  const phnum = eh.readUInt16LE(0x38);
  const shentsize = eh.readUInt16LE(0x3a);
  const shnum = eh.readUInt16LE(0x3c);
  const loads: LoadSegment[] = [];
  const notes: Array<{ offset: number; size: number }> = [];
  const ph = src.read(phoff, phentsize * phnum);
  for (let i = 0; i + 56 <= ph.length; i += phentsize) {
    const type = ph.readUInt32LE(i);
    if (type === PT_LOAD) {
      loads.push({ fileOffset: u64(ph, i + 8), vaddr: u64(ph, i + 16), fileSize: u64(ph, i + 32) });
    } else if (type === PT_NOTE) {
      notes.push({ offset: u64(ph, i + 8), size: u64(ph, i + 32) });
    }
  }
  const sections: Section[] = [];
  if (shoff !== 0 && shnum !== 0) {
    const sh = src.read(shoff, shentsize * shnum);
    for (let i = 0; i + 64 <= sh.length; i += shentsize) {
      sections.push({
        type: sh.readUInt32LE(i + 4),
        flags: u64(sh, i + 8),
        addr: u64(sh, i + 16),
        offset: u64(sh, i + 24),
        size: u64(sh, i + 32),
        link: sh.readUInt32LE(i + 40),
        entsize: u64(sh, i + 56),
      });
    }
  }
  return { loads, notes, sections };
}

function readBuildId(src: ByteSource, notes: Array<{ offset: number; size: number }>): string {
  for (const note of notes) {
    const buf = src.read(note.offset, note.size);
    let p = 0;
    while (p + 12 <= buf.length) {
      const namesz = buf.readUInt32LE(p);
      const descsz = buf.readUInt32LE(p + 4);
      const type = buf.readUInt32LE(p + 8);
      const nameStart = p + 12;
      const descStart = nameStart + ((namesz + 3) & ~3);
      if (type === NT_GNU_BUILD_ID && namesz === 4 && buf.toString('latin1', nameStart, nameStart + 3) === 'GNU') {
        return buf.toString('hex', descStart, descStart + descsz);
      }
      p = descStart + ((descsz + 3) & ~3);
    }
  }
  return '';
}

/**
 * Appends the function symbols of every SHT_SYMTAB / SHT_DYNSYM section of
 * `src` to `out`, registering their string tables in `strtabs`. Only
 * STT_FUNC, and STT_NOTYPE labels inside executable sections (hand-written
 * assembly), with a defined section.
 */
function readSymbols(src: ByteSource, headers: Headers, wanted: number, strtabs: Buffer[], out: SymbolColumns): number {
  let found = 0;
  for (const s of headers.sections) {
    if (s.type !== wanted || s.entsize !== 24) continue;
    const strSection = headers.sections[s.link];
    if (strSection === undefined) continue;
    const strtab = src.read(strSection.offset, strSection.size);
    const table = strtabs.length;
    strtabs.push(strtab);
    const syms = src.read(s.offset, s.size);
    for (let i = 0; i + 24 <= syms.length; i += 24) {
      const info = syms[i + 4];
      const type = info & 0xf;
      const shndx = syms.readUInt16LE(i + 6);
      if (shndx === 0 || shndx >= 0xff00) continue;
      if (type !== STT_FUNC && type !== STT_NOTYPE) continue;
      const section = headers.sections[shndx];
      if (section === undefined) continue;
      if (type === STT_NOTYPE && (section.flags & SHF_EXECINSTR) === 0) continue;
      const start = u64(syms, i + 8);
      const nameOffset = syms.readUInt32LE(i);
      if (start === 0 || nameOffset === 0) continue;
      // Debug files keep section addresses (their contents are NOBITS).
      const sectionEnd = section.addr + section.size;
      const size = u64(syms, i + 16);
      const bind = info >> 4;  // 0 local, 1 global, 2 weak
      const rank = (size > 0 ? 0 : 4) + (type === STT_FUNC ? 0 : 2) + (bind === 1 ? 0 : 1);
      out.start.push(start);
      out.size.push(size);
      out.rank.push(rank);
      out.sectionEnd.push(Math.max(sectionEnd, start + 1));
      out.nameOffset.push(nameOffset);
      out.table.push(table);
      found++;
    }
  }
  return found;
}

const DEBUG_ROOT = '/usr/lib/debug/.build-id';

/**
 * Reads an ELF file's segments, build id and symbols. When a build-id debug
 * file is installed (`/usr/lib/debug/.build-id/xx/yyyy.debug`, from Debian's
 * -dbg / -dbgsym packages), its full .symtab replaces the stripped one.
 */
export function readElf(src: ByteSource, what: string): ElfInfo {
  const headers = readHeaders(src, what);
  const buildId = readBuildId(src, headers.notes);
  const strtabs: Buffer[] = [];
  const raw = new SymbolColumns();
  let symbolSource = what;
  let symtabCount = 0;
  if (buildId.length > 2) {
    const debugPath = `${DEBUG_ROOT}/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
    let fd = -1;
    try {
      fd = fs.openSync(debugPath, 'r');
    } catch {
      // Not installed: the file's own tables are all there is.
    }
    if (fd >= 0) {
      try {
        const debugSrc = fileSource(fd);
        symtabCount = readSymbols(debugSrc, readHeaders(debugSrc, debugPath), SHT_SYMTAB, strtabs, raw);
        if (symtabCount > 0) symbolSource = debugPath;
      } catch {
        // A damaged debug file: fall back to the binary's own tables.
      } finally {
        fs.closeSync(fd);
      }
    }
  }
  if (symtabCount === 0) readSymbols(src, headers, SHT_SYMTAB, strtabs, raw);
  readSymbols(src, headers, SHT_DYNSYM, strtabs, raw);
  return { loads: headers.loads, buildId, symbols: new SymbolTable(strtabs, raw), symbolSource };
}

/** The vaddr of a file offset, through the PT_LOAD that maps it. */
export function fileOffsetToVaddr(loads: readonly LoadSegment[], fileOffset: number): number | undefined {
  for (const l of loads) {
    if (fileOffset >= l.fileOffset && fileOffset < l.fileOffset + l.fileSize) {
      return fileOffset - l.fileOffset + l.vaddr;
    }
  }
  return undefined;
}
