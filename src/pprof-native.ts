// pprof Mappings, Locations and Functions for native frames: one Mapping per
// mapped module (path, build id, address range), a Location per address.
import { Function as PprofFunction, Line, Location, Mapping, type StringTable } from 'pprof-format';

import type { NativeFrame } from './symbolizer';

function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

export class NativeLocations {
  readonly mappings: Mapping[] = [];
  private readonly mappingIds = new Map<string, number>();
  private readonly locationIds = new Map<bigint, number>();
  private readonly functionIds = new Map<string, number>();

  constructor(
    private readonly strings: StringTable,
    private readonly locations: Location[],
    private readonly functions: PprofFunction[],
  ) {}

  private mappingId(frame: NativeFrame): number {
    if (frame.module === '' || frame.isJit) return 0;
    const key = `${frame.module}\u0000${frame.mappingStart}`;
    let id = this.mappingIds.get(key);
    if (id === undefined) {
      id = this.mappings.length + 1;
      // The mapping's own file offset: the frame's minus its distance into it.
      const lookedUp = frame.fileOffset;
      const distance = frame.address - frame.mappingStart;
      const fileOffset = lookedUp >= distance ? lookedUp - distance : 0n;
      this.mappings.push(
        new Mapping({
          id,
          memoryStart: frame.mappingStart,
          memoryLimit: frame.mappingLimit,
          fileOffset,
          filename: this.strings.dedup(frame.module),
          buildId: this.strings.dedup(frame.buildId),
          hasFunctions: true,
        }),
      );
      this.mappingIds.set(key, id);
    }
    return id;
  }

  private functionId(frame: NativeFrame): number {
    const name =
      frame.functionName !== ''
        ? frame.functionName
        : frame.isJit
          ? '(JIT code)'
          : `${basename(frame.module) || '(unknown)'}+0x${frame.fileOffset.toString(16)}`;
    const key = `${frame.module}\u0000${name}`;
    let id = this.functionIds.get(key);
    if (id === undefined) {
      id = this.functions.length + 1;
      this.functions.push(
        new PprofFunction({
          id,
          name: this.strings.dedup(name),
          systemName: this.strings.dedup(name),
          filename: this.strings.dedup(frame.module),
        }),
      );
      this.functionIds.set(key, id);
    }
    return id;
  }

  /**
   * The mappings, the main binary's first: pprof readers take the first
   * mapping for the program itself (`File:` in go tool pprof).
   */
  orderedMappings(mainBinary: string | undefined): Mapping[] {
    const main = this.mappings.findIndex((m) => this.strings.strings[Number(m.filename)] === mainBinary);
    if (main <= 0) return this.mappings;
    return [this.mappings[main]!, ...this.mappings.filter((_, i) => i !== main)];
  }

  /** The Location id of a native frame (one per address). */
  locationId(frame: NativeFrame): number {
    let id = this.locationIds.get(frame.address);
    if (id === undefined) {
      id = this.locations.length + 1;
      this.locations.push(
        new Location({
          id,
          mappingId: this.mappingId(frame),
          address: frame.address,
          line: [new Line({ functionId: this.functionId(frame) })],
        }),
      );
      this.locationIds.set(frame.address, id);
    }
    return id;
  }
}
