// `labelprof report <profile>`: value by each label key, then the top
// functions by self and cumulative value, as plain text for a terminal or a
// CI log.
import { CliError, expectPositionals, flagBoolean, flagInteger, flagString, flagStrings, parseArgs, type FlagSpec } from './args';
import {
  byFunction,
  byLabel,
  formatShare,
  formatValue,
  functionLabel,
  matchesFocus,
  parseFocus,
  total,
  type Focus,
} from './aggregate';
import { loadProfile, sampleTypeIndex, type ProfileData } from './profile-data';

export const REPORT_FLAGS: Record<string, FlagSpec> = {
  focus: { type: 'string', repeat: true },
  by: { type: 'string', repeat: true },
  top: { type: 'integer' },
  sample: { type: 'string' },
  'source-maps': { type: 'boolean' },
};

const MAX_NAME = 110;
const clip = (s: string) => (s.length > MAX_NAME ? `${s.slice(0, MAX_NAME - 3)}...` : s);

export interface ReportOptions {
  focus?: Focus;
  by?: string[];
  top?: number;
  type: number;
}

/** The report's text (no trailing newline). */
export function renderReport(data: ProfileData, options: ReportOptions): string {
  const { type } = options;
  const top = options.top ?? 20;
  const { type: typeName, unit } = data.sampleTypes[type]!;
  const fmt = (v: number) => formatValue(v, unit);
  const all = total(data.samples, type);
  const focus = options.focus ?? new Map();
  const samples = focus.size === 0 ? data.samples : data.samples.filter((s) => matchesFocus(s, focus));
  const shown = total(samples, type);
  const out: string[] = [];
  const types = data.sampleTypes.map((t) => `${t.type}/${t.unit}`).join(', ');
  const seconds = data.durationNanos > 0 ? `${(data.durationNanos / 1e9).toFixed(1)} s profiled, ` : '';
  out.push(`${data.file}: ${seconds}${typeName} ${fmt(all)} in ${data.samples.length} stacks (sample types: ${types})`);
  if (focus.size > 0) {
    const desc = [...focus].map(([k, vs]) => [...vs].map((v) => `${k}=${v}`).join(' or ')).join(' and ');
    out.push(`focus ${desc}: ${fmt(shown)}, ${formatShare(shown, all)} of ${fmt(all)}`);
  }
  for (const c of data.comments.filter((c) => c.startsWith('labelprof '))) out.push(c.slice('labelprof '.length));

  let labels = byLabel(samples, type);
  if (options.by !== undefined && options.by.length > 0) {
    labels = new Map(options.by.map((k) => [k, labels.get(k) ?? []]));
  }
  out.push('');
  if (labels.size === 0) out.push(`${typeName} by label: no sample has labels`);
  else {
    out.push(`${typeName} by label`);
    const width = Math.max(12, ...[...labels.values()].flat().map(([v]) => v.length + 4), ...[...labels.keys()].map((k) => k.length + 2));
    for (const [key, values] of labels) {
      out.push(`  ${key.padEnd(width - 2)}${'time'.padStart(10)}${'share'.padStart(8)}`);
      for (const [value, v] of values.slice(0, Math.max(top, 10))) {
        out.push(`    ${clip(value).padEnd(width - 4)}${fmt(v).padStart(10)}${formatShare(v, shown).padStart(8)}`);
      }
      if (values.length > Math.max(top, 10)) out.push(`    ... ${values.length - Math.max(top, 10)} more values`);
    }
  }

  const fns = byFunction(data, samples, type);
  const table = (title: string, rows: typeof fns) => {
    out.push('', title);
    out.push(`  ${'self'.padStart(9)}${'share'.padStart(8)}${'cum'.padStart(10)}${'share'.padStart(8)}  function`);
    for (const r of rows) {
      out.push(
        `  ${fmt(r.self).padStart(9)}${formatShare(r.self, shown).padStart(8)}${fmt(r.cum).padStart(10)}${formatShare(r.cum, shown).padStart(8)}  ${clip(functionLabel(data, r))}`,
      );
    }
  };
  table(`Top ${top} functions by self ${typeName}`, [...fns].sort((a, b) => b.self - a.self).filter((r) => r.self > 0).slice(0, top));
  table(`Top ${top} functions by cumulative ${typeName}`, [...fns].sort((a, b) => b.cum - a.cum).slice(0, top));
  return out.join('\n');
}

export async function reportCommand(argv: readonly string[]): Promise<void> {
  const args = parseArgs('report', argv, REPORT_FLAGS);
  const [file] = expectPositionals('report', args, ['profile']);
  const data = await loadProfile(file!, { sourceMaps: flagBoolean(args, 'source-maps') });
  const type = sampleTypeIndex(data, flagString(args, 'sample'));
  const focus = parseFocus(flagStrings(args, 'focus'), data);
  for (const key of flagStrings(args, 'by')) {
    if (!data.samples.some((s) => key in s.labels)) throw new CliError(`--by ${key}: no sample in ${file} has the label ${key}`);
  }
  process.stdout.write(`${renderReport(data, { focus, by: flagStrings(args, 'by'), top: flagInteger(args, 'top', 20), type })}\n`);
}
