// `labelprof html <profile> [-o file]`: one self-contained HTML file (no
// network: the page's CSS, JavaScript and data are inlined) with a flame
// graph and label facets. The page itself is src/cli/html/flamegraph.*; this
// file turns a profile into the compact data it reads.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { CliError, expectPositionals, flagBoolean, flagString, parseArgs, type FlagSpec } from './args';
import { displayFile } from './aggregate';
import { loadProfile, sampleTypeIndex, type ProfileData } from './profile-data';

export const HTML_FLAGS: Record<string, FlagSpec> = {
  out: { type: 'string', short: 'o' },
  sample: { type: 'string' },
  'source-maps': { type: 'boolean' },
};

/** What the page reads (flamegraph.js documents the same shape). */
export interface FlameData {
  file: string;
  type: string;
  unit: string;
  durationNanos: number;
  /** Per function: name, file (for people), kind j/n/v. */
  fnName: string[];
  fnFile: string[];
  fnKind: string;
  /** Call tree: node 0 is the root; a parent's id is always below its children's. */
  parent: number[];
  fn: number[];
  /** The line that carried the most value through the node. */
  line: number[];
  /** Label keys, each key's values, and the label sets as value indices per key (-1: none). */
  labelKeys: string[];
  labelValues: string[][];
  labelSets: number[][];
  /** Samples aggregated by (node, label set). */
  sampleNode: number[];
  sampleSet: number[];
  sampleValue: number[];
}

export function flameData(data: ProfileData, type: number): FlameData {
  const keys = new Set<string>();
  for (const s of data.samples) for (const k of Object.keys(s.labels)) keys.add(k);
  const labelKeys = [...keys].sort();
  const labelValues: string[][] = labelKeys.map(() => []);
  const valueIndex = labelKeys.map(() => new Map<string, number>());
  const labelSets: number[][] = [];
  const setIndex = new Map<string, number>();

  const parent = [-1];
  const fn = [-1];
  const line = [0];
  const best = [0];
  // Children as linked lists (first child, next sibling): a Map per node, or
  // one Map keyed by parent and function, was most of the time on a profile
  // with a million nodes; fan-out is small, so a scan is cheap.
  const firstChild = [-1];
  const nextSibling = [-1];
  const aggregated = new Map<number, Map<number, number>>(); // node -> set -> value

  for (const s of data.samples) {
    const v = s.values[type]!;
    if (v === 0) continue;
    const ids = labelKeys.map((k, i) => {
      const value = s.labels[k];
      if (value === undefined) return -1;
      let idx = valueIndex[i]!.get(value);
      if (idx === undefined) {
        idx = labelValues[i]!.push(value) - 1;
        valueIndex[i]!.set(value, idx);
      }
      return idx;
    });
    const setKey = ids.join(',');
    let set = setIndex.get(setKey);
    if (set === undefined) {
      set = labelSets.push(ids) - 1;
      setIndex.set(setKey, set);
    }
    let node = 0;
    for (let k = s.stack.length - 1; k >= 0; k--) {
      const f = s.stack[k]!;
      let child = firstChild[node]!;
      while (child >= 0 && fn[child] !== f) child = nextSibling[child]!;
      if (child < 0) {
        child = parent.length;
        parent.push(node);
        fn.push(f);
        line.push(s.lines[k]!);
        best.push(v);
        firstChild.push(-1);
        nextSibling.push(firstChild[node]!);
        firstChild[node] = child;
      } else if (v > best[child]!) {
        best[child] = v;
        line[child] = s.lines[k]!;
      }
      node = child;
    }
    let bySet = aggregated.get(node);
    if (bySet === undefined) aggregated.set(node, (bySet = new Map()));
    bySet.set(set, (bySet.get(set) ?? 0) + v);
  }
  const sampleNode: number[] = [];
  const sampleSet: number[] = [];
  const sampleValue: number[] = [];
  for (const [node, bySet] of aggregated) {
    for (const [set, v] of bySet) {
      sampleNode.push(node);
      sampleSet.push(set);
      sampleValue.push(v);
    }
  }
  const kindLetter = { js: 'j', native: 'n', v8: 'v' } as const;
  return {
    file: displayFile(data.file),
    type: data.sampleTypes[type]!.type,
    unit: data.sampleTypes[type]!.unit,
    durationNanos: data.durationNanos,
    fnName: data.functions.map((f) => f.name),
    fnFile: data.functions.map((f) => displayFile(f.file)),
    fnKind: data.functions.map((f) => kindLetter[f.kind]).join(''),
    parent,
    fn,
    line,
    labelKeys,
    labelValues,
    labelSets,
    sampleNode,
    sampleSet,
    sampleValue,
  };
}

// The page's own files, next to the compiled code's sources: dist/cli/html.js
// reads src/cli/html/ (shipped in the package's files).
const PAGE_DIR = path.join(__dirname, '..', '..', 'src', 'cli', 'html');

function pageFile(name: string): string {
  return readFileSync(path.join(PAGE_DIR, name), 'utf8');
}

// Inside <script>, "</script" or "<!--" in a string would end the element:
// JSON can spell "<" as \u003c. U+2028/9 are fine in JSON.parse input.
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** The whole page for a profile. */
export function renderHtml(data: ProfileData, type: number): string {
  const template = pageFile('flamegraph.html');
  const title = `labelprof: ${path.basename(data.file)}`;
  const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  // Function replacers: a "$" in the inlined code must stay as it is.
  return template
    .replace('{{TITLE}}', () => escapeHtml(title))
    .replace('/*{{STYLE}}*/', () => pageFile('flamegraph.css'))
    .replace('{{DATA}}', () => jsonForScript(flameData(data, type)))
    .replace('/*{{SCRIPT}}*/', () => pageFile('flamegraph.js').replace(/<\/script/gi, '<\\/script'));
}

export async function htmlCommand(argv: readonly string[]): Promise<string> {
  const args = parseArgs('html', argv, HTML_FLAGS);
  const [file] = expectPositionals('html', args, ['profile']);
  const data = await loadProfile(file!, { sourceMaps: flagBoolean(args, 'source-maps') });
  const type = sampleTypeIndex(data, flagString(args, 'sample'));
  const out = flagString(args, 'out') ?? `${file!.replace(/\.pb(\.gz)?$|\.pprof$/, '')}.html`;
  writeHtmlFile(out, renderHtml(data, type));
  process.stdout.write(`labelprof: wrote ${out}\n`);
  return out;
}

export function writeHtmlFile(out: string, html: string): void {
  try {
    writeFileSync(out, html);
  } catch (err) {
    throw new CliError(`cannot write ${out}: ${(err as Error).message}`);
  }
}
