// `labelprof run [options] -- <command...>`: runs a command with the drop-in
// (dist/start.js, through NODE_OPTIONS so `npm start` and child Node
// processes get it too), then says where the profile is and prints a short
// report. The drop-in does the profiling; this only sets its environment.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';

import { CliError, flagBoolean, flagInteger, flagString, parseArgs, type FlagSpec } from './args';
import { formatValue, total } from './aggregate';
import { renderHtml, writeHtmlFile } from './html';
import { loadProfile, type ProfileData } from './profile-data';
import { renderReport } from './report';

export const RUN_FLAGS: Record<string, FlagSpec> = {
  out: { type: 'string', short: 'o' },
  'interval-micros': { type: 'integer' },
  'source-maps': { type: 'boolean' },
  html: { type: 'string' },
  top: { type: 'integer' },
};

const DROP_IN = path.join(__dirname, '..', 'start.js');
const DEFAULT_NAME = /^labelprof-\d+\.pb\.gz$/;

/** NODE_OPTIONS with the drop-in required first; quoted, since NODE_OPTIONS splits on spaces. */
export function nodeOptionsWithDropIn(existing: string | undefined, dropIn = DROP_IN): string {
  const req = `--require ${JSON.stringify(dropIn)}`;
  return existing !== undefined && existing.trim() !== '' ? `${req} ${existing}` : req;
}

export async function runCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs('run', argv, RUN_FLAGS);
  if (args.positionals.length > 0) {
    throw new CliError(`labelprof run: put the command after --, e.g. labelprof run -- node app.js (got "${args.positionals[0]}")`);
  }
  if (args.rest.length === 0) throw new CliError('labelprof run needs a command after --, e.g. labelprof run -- node app.js');
  const out = flagString(args, 'out');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: nodeOptionsWithDropIn(process.env.NODE_OPTIONS),
    LABELPROF_QUIET: '1',
  };
  if (out !== undefined) env.LABELPROF_OUT = path.resolve(out);
  if (args.flags.has('interval-micros')) env.LABELPROF_INTERVAL_MICROS = String(flagInteger(args, 'interval-micros', 0));
  if (flagBoolean(args, 'source-maps')) env.LABELPROF_SOURCE_MAPS = '1';

  const startedMillis = Date.now();
  const [command, ...commandArgs] = args.rest as [string, ...string[]];
  const child = spawn(command, commandArgs, { stdio: 'inherit', env });
  // Signals meant for the command go to it; we stay to report afterwards.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new CliError(`cannot run "${command}": ${err.code === 'ENOENT' ? 'command not found' : err.message}`)),
    );
    child.on('exit', (code, signal) => resolve({ code, signal }));
  }).finally(() => {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  });
  const exitCode = status.code ?? 128 + signalNumber(status.signal);

  // The profiles this run wrote: the -o file, or each Node process's
  // labelprof-<pid>.pb.gz in this directory (`npm start` runs two Node processes).
  const files =
    out !== undefined
      ? [path.resolve(out)].filter((f) => modifiedSince(f, startedMillis))
      : readdirSync('.')
          .filter((f) => DEFAULT_NAME.test(f))
          .map((f) => path.resolve(f))
          .filter((f) => modifiedSince(f, startedMillis));
  if (files.length === 0) {
    process.stderr.write(`labelprof: ${command} wrote no profile (was it a Node process? NODE_OPTIONS reaches Node only)\n`);
    return exitCode === 0 ? 1 : exitCode;
  }
  const profiles: ProfileData[] = [];
  for (const f of files) profiles.push(await loadProfile(f));
  // The process that did the work is the one to report on.
  const main = profiles.reduce((a, b) => (total(b.samples, b.defaultType) > total(a.samples, a.defaultType) ? b : a));
  const rel = (f: string) => path.relative(process.cwd(), f) || f;
  process.stderr.write('\n');
  if (profiles.length > 1) {
    const listed = profiles.map((p) => `${rel(p.file)} (${p.sampleTypes[p.defaultType]!.type} ${formatValue(total(p.samples, p.defaultType), p.sampleTypes[p.defaultType]!.unit)})`);
    process.stderr.write(`labelprof: ${profiles.length} Node processes wrote profiles: ${listed.join(', ')}; the busiest is ${rel(main.file)}\n`);
  }
  process.stderr.write(`labelprof: profile written to ${rel(main.file)}\n\n`);
  process.stderr.write(`${renderReport({ ...main, file: rel(main.file) }, { type: main.defaultType, top: flagInteger(args, 'top', 10) })}\n`);
  const html = flagString(args, 'html');
  if (html !== undefined) {
    writeHtmlFile(html, renderHtml({ ...main, file: rel(main.file) }, main.defaultType));
    process.stderr.write(`\nlabelprof: flame graph written to ${html}\n`);
  }
  process.stderr.write(`\nMore: labelprof report ${rel(main.file)} --focus key=value · labelprof html ${rel(main.file)}\n`);
  return exitCode;
}

function modifiedSince(file: string, millis: number): boolean {
  try {
    return statSync(file).mtimeMs >= millis - 1000;
  } catch {
    return false;
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : (constants.signals[signal] ?? 0);
}
