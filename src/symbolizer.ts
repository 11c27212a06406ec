// Native addresses -> module, build id and function name, for the native
// frames under the JavaScript stack. Off the signal path (after stop()).
//
// Names come from the ELF symbol tables read in TypeScript (src/elf.ts), not
// from dladdr: node's binary carries a full .symtab with the `Builtins_*`
// names of V8's embedded builtins, which dladdr never resolves. C++ names are
// demangled in batches through the optional native `demangle` helper.

import * as fs from 'node:fs';

import { bufferSource, ElfInfo, fileOffsetToVaddr, fileSource, readElf } from './elf';

export interface NativeFrame {
  /** The address as given (for a stack: the pc of the leaf, return addresses above it). */
  address: bigint;
  /** Path of the mapped file; '[vdso]'; '' for anonymous memory (JIT code). */
  module: string;
  /** GNU build id of the module, hex; '' when it has none. */
  buildId: string;
  /** Demangled when a demangler was given; '' when no symbol covers the address. */
  functionName: string;
  /** Offset of the looked-up address in the module file. */
  fileOffset: bigint;
  mappingStart: bigint;
  mappingLimit: bigint;
  /** In anonymous executable memory: code V8 generated at run time. */
  isJit: boolean;
  /** One of V8's JS entry builtins (Builtins_JSEntry and its kin). */
  isJsEntry: boolean;
  /** Any V8 embedded builtin (`Builtins_*`), the JS entries included. */
  isBuiltin: boolean;
}

export interface SymbolizeOptions {
  /**
   * The addresses are one walk, leaf first: the first is the exact pc, the
   * others are return addresses, which point after their call instruction
   * (possibly past the end of the calling function, after a noreturn call).
   * Those are looked up at address - 1, inside the call. Default false: every
   * address is looked up as is (pass call sites already adjusted).
   */
  stack?: boolean;
}

export type Demangler = (names: string[]) => string[];

/** V8's builtins that enter JavaScript from C++: the JS world starts above them. */
export const JS_ENTRY_BUILTINS: ReadonlySet<string> = new Set([
  'Builtins_JSEntry',
  'Builtins_JSEntryTrampoline',
  'Builtins_JSConstructEntry',
  'Builtins_JSConstructEntryTrampoline',
  'Builtins_JSRunMicrotasksEntry',
  'Builtins_RunMicrotasksTrampoline',
]);

export interface MapEntry {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  inode: string;
  path: string;
}

/** Parses /proc/<pid>/maps text. */
export function parseMaps(text: string): MapEntry[] {
  const out: MapEntry[] = [];
  for (const line of text.split('\n')) {
    // start-end perms offset dev inode [path, which may contain spaces]
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+(\d+)\s*(.*)$/.exec(line);
    if (m === null) continue;
    out.push({
      start: BigInt('0x' + m[1]),
      end: BigInt('0x' + m[2]),
      perms: m[3],
      offset: BigInt('0x' + m[4]),
      inode: m[5],
      path: m[6],
    });
  }
  out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return out;
}

function findMapping(maps: readonly MapEntry[], address: bigint): MapEntry | undefined {
  let lo = 0;
  let hi = maps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (maps[mid].start <= address) lo = mid + 1;
    else hi = mid;
  }
  const m = lo > 0 ? maps[lo - 1] : undefined;
  return m !== undefined && address < m.end ? m : undefined;
}

/** Anonymous executable memory: V8's code space (JIT code, and on some versions its remapped builtins live in files instead). */
function isAnonymousCode(m: MapEntry): boolean {
  if (!m.perms.includes('x')) return false;
  if (m.path === '' || m.path.startsWith('[anon')) return true;
  // V8 can back its code space with a memfd on newer versions.
  return m.path.startsWith('/memfd:');
}

interface CachedModule {
  elf: ElfInfo | undefined;  // undefined: unreadable (deleted, not ELF)
  demangled: Map<string, string>;
}

export class Symbolizer {
  private readonly modules = new Map<string, CachedModule>();

  constructor(private readonly demangle?: Demangler, private readonly mapsPath = '/proc/self/maps') {}

  /** Symbolizes `addresses` against the mappings of this process as they are now. */
  symbolize(addresses: readonly bigint[], options: SymbolizeOptions = {}): NativeFrame[] {
    const maps = parseMaps(fs.readFileSync(this.mapsPath, 'utf8'));
    const frames: NativeFrame[] = [];
    const needDemangle = new Set<string>();
    const pending: Array<{ frame: NativeFrame; mangled: string; module: CachedModule }> = [];
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i];
      const lookup = options.stack === true && i > 0 && address > 0n ? address - 1n : address;
      const m = findMapping(maps, lookup);
      const frame: NativeFrame = {
        address,
        module: m?.path ?? '',
        buildId: '',
        functionName: '',
        fileOffset: m !== undefined ? lookup - m.start + m.offset : 0n,
        mappingStart: m?.start ?? 0n,
        mappingLimit: m?.end ?? 0n,
        isJit: m === undefined || isAnonymousCode(m),
        isJsEntry: false,
        isBuiltin: false,
      };
      frames.push(frame);
      if (m === undefined || frame.isJit) continue;
      const module = this.moduleFor(m);
      if (module?.elf === undefined) continue;
      frame.buildId = module.elf.buildId;
      const vaddr = fileOffsetToVaddr(module.elf.loads, Number(frame.fileOffset));
      if (vaddr === undefined) continue;
      const sym = module.elf.symbols.lookup(vaddr);
      if (sym === undefined) continue;
      frame.isBuiltin = sym.name.startsWith('Builtins_');
      frame.isJsEntry = JS_ENTRY_BUILTINS.has(sym.name);
      const known = module.demangled.get(sym.name);
      if (known !== undefined) {
        frame.functionName = known;
      } else if (this.demangle !== undefined && sym.name.startsWith('_Z')) {
        frame.functionName = sym.name;
        pending.push({ frame, mangled: sym.name, module });
        needDemangle.add(sym.name);
      } else {
        frame.functionName = sym.name;
      }
    }
    if (this.demangle !== undefined && needDemangle.size > 0) {
      const mangled = [...needDemangle];
      const plain = this.demangle(mangled);
      const byName = new Map<string, string>();
      mangled.forEach((name, i) => byName.set(name, plain[i] ?? name));
      for (const p of pending) {
        const name = byName.get(p.mangled) ?? p.mangled;
        p.frame.functionName = name;
        p.module.demangled.set(p.mangled, name);
      }
    }
    return frames;
  }

  private moduleFor(m: MapEntry): CachedModule | undefined {
    if (m.path === '[vdso]') return this.vdsoModule(m);
    if (!m.path.startsWith('/')) return undefined;
    // Path + inode: a file replaced on disk (an upgrade) gets a new entry.
    const key = `${m.path}\0${m.inode}`;
    let module = this.modules.get(key);
    if (module === undefined) {
      module = { elf: undefined, demangled: new Map() };
      let fd = -1;
      try {
        fd = fs.openSync(m.path, 'r');
        if (String(fs.fstatSync(fd).ino) === m.inode) module.elf = readElf(fileSource(fd), m.path);
      } catch {
        // Deleted, unreadable or not ELF: its frames keep module and offset only.
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
      this.modules.set(key, module);
    }
    return module;
  }

  /** The vDSO has no file: read its image from our own memory. */
  private vdsoModule(m: MapEntry): CachedModule {
    const key = `[vdso]\0${m.start}`;
    let module = this.modules.get(key);
    if (module === undefined) {
      module = { elf: undefined, demangled: new Map() };
      let fd = -1;
      try {
        fd = fs.openSync('/proc/self/mem', 'r');
        const size = Number(m.end - m.start);
        const bytes = Buffer.alloc(size);
        fs.readSync(fd, bytes, 0, size, Number(m.start));
        module.elf = readElf(bufferSource(bytes), '[vdso]');
      } catch {
        // No /proc/self/mem access: vDSO frames stay unnamed.
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
      this.modules.set(key, module);
    }
    return module;
  }
}
