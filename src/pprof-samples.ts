// The samples of a pprof Profile (field 2, repeated Sample) written straight
// to bytes, a slice at a time.
//
// Why not pprof-format's Profile.encode(): it measures every sample's length
// once for the buffer and again while writing it (and each label's length
// inside it), all in one synchronous call. With a label set per request (a
// span id each) a 60-second period at 1 kHz has tens of thousands of
// samples that share nothing, and that call blocked the event loop for
// hundreds of milliseconds on a loaded machine (bench/continuous.js). Here
// a stack's location ids and a label set's labels are encoded once and
// copied into each sample that has them, and the caller can yield between
// slices. The bytes are pprof-format's own: the sample types and the samples
// here, then everything after them from pprof-format (finish()).
import { Label, Sample, type ValueType } from 'pprof-format';

const SAMPLE_TYPE_TAG = 0x0a; // Profile.sample_type: field 1, length-delimited
const SAMPLE_TAG = 0x12; // Profile.sample: field 2, length-delimited
const LOCATION_IDS_TAG = 0x0a; // Sample.location_id: field 1, packed
const VALUES_TAG = 0x12; // Sample.value: field 2, packed
const LABEL_TAG = 0x1a; // Sample.label: field 3, length-delimited

/** Bytes of `n` as a varint; `n` a safe integer >= 0. */
function varintLength(n: number): number {
  let length = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    length++;
  }
  return length;
}

function writeVarint(buffer: Uint8Array, offset: number, n: number): number {
  while (n >= 128) {
    buffer[offset++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buffer[offset++] = n;
  return offset;
}

const isVarint = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** A packed field of varints (tag, length, values); null if a value is not a safe integer >= 0. */
function packedField(tag: number, values: readonly number[]): Uint8Array | null {
  let body = 0;
  for (const v of values) {
    if (!isVarint(v)) return null;
    body += varintLength(v);
  }
  if (body === 0) return new Uint8Array(0); // pprof-format leaves an empty list out
  const out = new Uint8Array(1 + varintLength(body) + body);
  let offset = writeVarint(out, 1, body);
  out[0] = tag;
  for (const v of values) offset = writeVarint(out, offset, v);
  return out;
}

/** The Sample.label fields of a label list; null if a field is not a safe integer >= 0. */
function labelFields(labels: readonly Label[]): Uint8Array | null {
  const parts: number[][] = [];
  let total = 0;
  for (const label of labels) {
    // Label fields 1..4 (key, str, num, num_unit), each left out when 0, as pprof-format does.
    const fields: number[] = [];
    let length = 0;
    const values = [label.key, label.str, label.num, label.numUnit];
    for (let f = 0; f < 4; f++) {
      const v = values[f];
      if (!isVarint(v)) return null;
      if (v === 0) continue;
      fields.push(((f + 1) << 3) | 0, v);
      length += 1 + varintLength(v);
    }
    parts.push([length, ...fields]);
    total += 1 + varintLength(length) + length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const [length, ...fields] of parts) {
    out[offset++] = LABEL_TAG;
    offset = writeVarint(out, offset, length!);
    for (let k = 0; k < fields.length; k += 2) {
      out[offset++] = fields[k]!;
      offset = writeVarint(out, offset, fields[k + 1]!);
    }
  }
  return out;
}

/**
 * Collects encoded samples. Stacks and label lists are passed as the same
 * array objects for every sample that shares them (PprofBuilder keeps one per
 * stack and per label set), so their bytes are computed once per array.
 */
export class SampleWriter {
  readonly #stacks = new Map<readonly number[], Uint8Array | null>();
  readonly #labels = new Map<readonly Label[], Uint8Array | null>();
  #buffer = new Uint8Array(1 << 16);
  #offset = 0;
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  /** Adds one Sample{location_id: stack, value: values, label: labels}. */
  add(stack: readonly number[], values: readonly number[], labels: readonly Label[]): void {
    let stackBytes = this.#stacks.get(stack);
    if (stackBytes === undefined) this.#stacks.set(stack, (stackBytes = packedField(LOCATION_IDS_TAG, stack)));
    let labelBytes = this.#labels.get(labels);
    if (labelBytes === undefined) this.#labels.set(labels, (labelBytes = labelFields(labels)));
    let valuesBody = 0;
    let plain = stackBytes !== null && labelBytes !== null;
    for (const v of values) {
      if (!isVarint(v)) plain = false;
      else valuesBody += varintLength(v);
    }
    if (!plain) {
      // Not a non-negative safe integer somewhere (nothing PprofBuilder
      // makes): pprof-format knows how to write those.
      this.#append(new Sample({ locationId: [...stack], value: [...values], label: [...labels] }).encode(), true);
      return;
    }
    const valuesLength = valuesBody === 0 ? 0 : 1 + varintLength(valuesBody) + valuesBody;
    const length = stackBytes!.length + valuesLength + labelBytes!.length;
    const buffer = this.#reserve(1 + varintLength(length) + length);
    let offset = this.#offset;
    buffer[offset++] = SAMPLE_TAG;
    offset = writeVarint(buffer, offset, length);
    buffer.set(stackBytes!, offset);
    offset += stackBytes!.length;
    if (valuesBody > 0) {
      buffer[offset++] = VALUES_TAG;
      offset = writeVarint(buffer, offset, valuesBody);
      for (const v of values) offset = writeVarint(buffer, offset, v);
    }
    buffer.set(labelBytes!, offset);
    offset += labelBytes!.length;
    this.#length += offset - this.#offset;
    this.#offset = offset;
  }

  /**
   * The whole profile: `sampleTypes` (Profile.sample_type, field 1), the
   * samples, then `rest` (every later field, encoded by pprof-format): the
   * order pprof-format writes them in, so the bytes are the ones it writes.
   */
  finish(sampleTypes: readonly ValueType[], rest: Uint8Array): Uint8Array {
    this.#flush();
    const types = sampleTypes.map((t) => t.encode());
    let length = this.#length + rest.length;
    for (const t of types) length += 1 + varintLength(t.length) + t.length;
    const out = new Uint8Array(length);
    let offset = 0;
    for (const t of types) {
      out[offset++] = SAMPLE_TYPE_TAG;
      offset = writeVarint(out, offset, t.length);
      out.set(t, offset);
      offset += t.length;
    }
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    out.set(rest, offset);
    return out;
  }

  // A whole Sample message from pprof-format, framed as Profile.sample.
  #append(sample: Uint8Array, frame: boolean): void {
    const size = frame ? 1 + varintLength(sample.length) + sample.length : sample.length;
    const buffer = this.#reserve(size);
    let offset = this.#offset;
    if (frame) {
      buffer[offset++] = SAMPLE_TAG;
      offset = writeVarint(buffer, offset, sample.length);
    }
    buffer.set(sample, offset);
    offset += sample.length;
    this.#length += offset - this.#offset;
    this.#offset = offset;
  }

  #reserve(bytes: number): Uint8Array {
    if (this.#offset + bytes > this.#buffer.length) {
      this.#flush();
      this.#buffer = new Uint8Array(Math.max(bytes, 1 << 16));
    }
    return this.#buffer;
  }

  // The bytes written become a part; later ones go after them in the buffer's free rest.
  #flush(): void {
    if (this.#offset === 0) return;
    this.#parts.push(this.#buffer.subarray(0, this.#offset));
    this.#buffer = this.#buffer.subarray(this.#offset);
    this.#offset = 0;
  }
}
