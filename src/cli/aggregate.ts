// Aggregations shared by report, diff and html: label focus, CPU by label
// value, functions by self and cumulative value, and how values print.
import { CliError } from './args';
import type { ProfileData, SampleData } from './profile-data';

/** Label filter: keys are ANDed, the values of one key ORed (as ticking facets does). */
export type Focus = Map<string, Set<string>>;

/** `--focus key=value` flags -> Focus; checks each key and value against the profile. */
export function parseFocus(flags: readonly string[], data: ProfileData | ProfileData[]): Focus {
  const focus: Focus = new Map();
  const all = Array.isArray(data) ? data : [data];
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new CliError(`--focus ${flag}: expected key=value, e.g. --focus endpoint=/checkout`);
    const key = flag.slice(0, eq);
    const value = flag.slice(eq + 1);
    const values = new Set<string>();
    for (const d of all) for (const s of d.samples) if (key in s.labels) values.add(s.labels[key]!);
    if (values.size === 0) {
      const keys = new Set<string>();
      for (const d of all) for (const s of d.samples) for (const k of Object.keys(s.labels)) keys.add(k);
      throw new CliError(`--focus ${flag}: no sample has the label ${key} (labels: ${[...keys].sort().join(', ') || 'none'})`);
    }
    if (!values.has(value)) {
      const shown = [...values].sort().slice(0, 12);
      throw new CliError(`--focus ${flag}: no sample has ${key}=${value} (values: ${shown.join(', ')}${values.size > 12 ? ', ...' : ''})`);
    }
    const set = focus.get(key) ?? new Set<string>();
    set.add(value);
    focus.set(key, set);
  }
  return focus;
}

export function matchesFocus(s: SampleData, focus: Focus): boolean {
  for (const [key, values] of focus) {
    const v = s.labels[key];
    if (v === undefined || !values.has(v)) return false;
  }
  return true;
}

export function total(samples: readonly SampleData[], type: number): number {
  let t = 0;
  for (const s of samples) t += s.values[type]!;
  return t;
}

export const NO_LABEL = '(none)';

/** Per label key, its values with their totals, largest first; samples without the key count as "(none)". */
export function byLabel(samples: readonly SampleData[], type: number): Map<string, Array<[string, number]>> {
  const keys = new Set<string>();
  for (const s of samples) for (const k of Object.keys(s.labels)) keys.add(k);
  const out = new Map<string, Array<[string, number]>>();
  for (const key of [...keys].sort()) {
    const sums = new Map<string, number>();
    for (const s of samples) {
      const v = s.labels[key] ?? NO_LABEL;
      sums.set(v, (sums.get(v) ?? 0) + s.values[type]!);
    }
    out.set(key, [...sums].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  }
  return out;
}

export interface FunctionTotals {
  fn: number;
  self: number;
  cum: number;
  /** The line that carried the most of this function's value. */
  line: number;
}

/** Self and cumulative value per function (a function counts once per stack for cum). */
export function byFunction(data: ProfileData, samples: readonly SampleData[], type: number): FunctionTotals[] {
  const self = new Float64Array(data.functions.length);
  const cum = new Float64Array(data.functions.length);
  const lineWeight = new Map<number, Map<number, number>>();
  const seen = new Int32Array(data.functions.length).fill(-1);
  samples.forEach((s, i) => {
    const v = s.values[type]!;
    if (v === 0 || s.stack.length === 0) return;
    self[s.stack[0]!]! += v;
    for (let k = 0; k < s.stack.length; k++) {
      const fn = s.stack[k]!;
      if (seen[fn] === i) continue;
      seen[fn] = i;
      cum[fn]! += v;
      let lines = lineWeight.get(fn);
      if (lines === undefined) lineWeight.set(fn, (lines = new Map()));
      lines.set(s.lines[k]!, (lines.get(s.lines[k]!) ?? 0) + v);
    }
  });
  const out: FunctionTotals[] = [];
  for (let fn = 0; fn < data.functions.length; fn++) {
    if (cum[fn] === 0) continue;
    let line = 0;
    let best = -1;
    for (const [l, w] of lineWeight.get(fn) ?? []) if (w > best) [line, best] = [l, w];
    out.push({ fn, self: self[fn]!, cum: cum[fn]!, line });
  }
  return out;
}

/** A value in its unit: nanoseconds as ms / s, counts as numbers. */
export function formatValue(value: number, unit: string): string {
  if (unit === 'nanoseconds') {
    const a = Math.abs(value);
    if (a >= 10e9) return `${(value / 1e9).toFixed(1)} s`;
    if (a >= 1e9) return `${(value / 1e9).toFixed(2)} s`;
    if (a >= 1e6) return `${(value / 1e6).toFixed(0)} ms`;
    return `${(value / 1e6).toFixed(2)} ms`;
  }
  if (unit === 'bytes') return `${(value / 1024).toFixed(0)} KiB`;
  return String(Math.round(value));
}

export function formatShare(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`;
}

/** A frame's file for people: relative to the working directory when under it, without file://. */
export function displayFile(file: string, cwd = process.cwd()): string {
  let f = file.startsWith('file://') ? decodeURIComponent(file.slice(7)) : file;
  if (f.startsWith(cwd + '/')) f = f.slice(cwd.length + 1);
  return f;
}

/** "name  file:line" for a function row. */
export function functionLabel(data: ProfileData, t: { fn: number; line: number }): string {
  const f = data.functions[t.fn]!;
  if (f.file === '') return f.name;
  return `${f.name}  ${displayFile(f.file)}${t.line > 0 ? `:${t.line}` : ''}`;
}
