// `labelprof diff <base> <new>`: per-function difference in self and
// cumulative value between two profiles, optionally within label values.
import { expectPositionals, flagInteger, flagString, flagStrings, parseArgs, type FlagSpec } from './args';
import { byFunction, displayFile, formatShare, formatValue, matchesFocus, parseFocus, total, type Focus } from './aggregate';
import { loadProfile, sampleTypeIndex, type ProfileData } from './profile-data';

export const DIFF_FLAGS: Record<string, FlagSpec> = {
  focus: { type: 'string', repeat: true },
  top: { type: 'integer' },
  sample: { type: 'string' },
  'source-maps': { type: 'boolean' },
};

interface Side {
  data: ProfileData;
  type: number;
}

const signed = (v: number, unit: string) => (v > 0 ? '+' : v < 0 ? '-' : '') + formatValue(Math.abs(v), unit);

/** The diff's text (no trailing newline). */
export function renderDiff(base: Side, next: Side, focus: Focus, top: number): string {
  const unit = base.data.sampleTypes[base.type]!.unit;
  const typeName = base.data.sampleTypes[base.type]!.type;
  const rows = new Map<string, { name: string; base: [number, number]; next: [number, number] }>();
  const totals: number[] = [];
  for (const [i, side] of [base, next].entries()) {
    const samples = focus.size === 0 ? side.data.samples : side.data.samples.filter((s) => matchesFocus(s, focus));
    totals.push(total(samples, side.type));
    for (const t of byFunction(side.data, samples, side.type)) {
      const f = side.data.functions[t.fn]!;
      const key = `${f.kind}\u0000${f.name}\u0000${f.file}`;
      let row = rows.get(key);
      if (row === undefined) {
        row = { name: f.file === '' ? f.name : `${f.name}  ${displayFile(f.file)}`, base: [0, 0], next: [0, 0] };
        rows.set(key, row);
      }
      (i === 0 ? row.base : row.next)[0] += t.self;
      (i === 0 ? row.base : row.next)[1] += t.cum;
    }
  }
  const [tb, tn] = totals as [number, number];
  const fmt = (v: number) => formatValue(v, unit);
  const out: string[] = [];
  out.push(`base ${base.data.file}: ${typeName} ${fmt(tb)}`);
  out.push(`new  ${next.data.file}: ${typeName} ${fmt(tn)} (${signed(tn - tb, unit)}, ${tb === 0 ? '-' : `${tn >= tb ? '+' : ''}${formatShare(tn - tb, tb)}`})`);
  if (focus.size > 0) out.push(`focus ${[...focus].map(([k, vs]) => [...vs].map((v) => `${k}=${v}`).join(' or ')).join(' and ')}`);
  out.push('', `Functions by change in self ${typeName} (delta share: of the base total)`);
  out.push(`  ${'base'.padStart(9)}${'new'.padStart(10)}${'delta'.padStart(10)}${'share'.padStart(8)}${'cum delta'.padStart(11)}  function`);
  const sorted = [...rows.values()]
    .map((r) => ({ ...r, d: r.next[0] - r.base[0], dc: r.next[1] - r.base[1] }))
    .filter((r) => r.d !== 0 || r.dc !== 0)
    .sort((a, b) => Math.abs(b.d) - Math.abs(a.d) || Math.abs(b.dc) - Math.abs(a.dc));
  for (const r of sorted.slice(0, top)) {
    const name = r.name.length > 100 ? `${r.name.slice(0, 97)}...` : r.name;
    out.push(
      `  ${fmt(r.base[0]).padStart(9)}${fmt(r.next[0]).padStart(10)}${signed(r.d, unit).padStart(10)}${(tb === 0 ? '-' : `${r.d > 0 ? '+' : ''}${formatShare(r.d, tb)}`).padStart(8)}${signed(r.dc, unit).padStart(11)}  ${name}`,
    );
  }
  if (sorted.length === 0) out.push('  (no difference)');
  return out.join('\n');
}

export async function diffCommand(argv: readonly string[]): Promise<void> {
  const args = parseArgs('diff', argv, DIFF_FLAGS);
  const [baseFile, newFile] = expectPositionals('diff', args, ['base', 'new']);
  const sourceMaps = args.flags.has('source-maps');
  const base = await loadProfile(baseFile!, { sourceMaps });
  const next = await loadProfile(newFile!, { sourceMaps });
  const baseType = sampleTypeIndex(base, flagString(args, 'sample'));
  const nextType = sampleTypeIndex(next, flagString(args, 'sample') ?? base.sampleTypes[baseType]!.type);
  const focus = parseFocus(flagStrings(args, 'focus'), [base, next]);
  const text = renderDiff({ data: base, type: baseType }, { data: next, type: nextType }, focus, flagInteger(args, 'top', 20));
  process.stdout.write(`${text}\n`);
}
