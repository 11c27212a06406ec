#!/usr/bin/env node
// `labelprof`: read a pprof profile without Go. One file per command; this one
// dispatches and turns bad input into one line on stderr and exit status 1.
import { CliError } from './args';
import { diffCommand } from './diff';
import { htmlCommand } from './html';
import { reportCommand } from './report';
import { runCommand } from './run';

const USAGE = `usage: labelprof <command> [options]

  report <profile>            CPU by each label key, then top functions by self and cumulative CPU
      --focus key=value         only samples with this label (repeatable: keys AND, values of one key OR)
      --by key                  show only this label key (repeatable)
      --top N                   rows per table (default 20)
      --sample cpu|wall|samples which sample values to use (default: the profile's default)
      --source-maps             map JavaScript frames to their original sources first
  html <profile> [-o file]    a self-contained HTML flame graph with label filters
      -o, --out file            where to write it (default: <profile>.html)
      --sample, --source-maps   as for report
  diff <base> <new>           per-function difference between two profiles
      --focus key=value         compare only samples with this label (repeatable)
      --top N, --sample, --source-maps  as for report
  run [options] -- <command...>
                              profile a Node command through the drop-in (labelprof/start),
                              then say where the profile is and print a short report
      -o, --out file            profile path (default: labelprof-<pid>.pb.gz of each Node process)
      --interval-micros N       sampling interval (default 10101, about 99 Hz)
      --source-maps             map frames to original sources (LABELPROF_SOURCE_MAPS=1)
      --html file               also write the HTML flame graph there
      --top N                   rows in the report (default 10)
  help                        this text
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'report':
      await reportCommand(rest);
      return 0;
    case 'html':
      await htmlCommand(rest);
      return 0;
    case 'diff':
      await diffCommand(rest);
      return 0;
    case 'run':
      return runCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      throw new CliError(`unknown command "${command}" (commands: report, html, diff, run, help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`labelprof: ${err.message}\n`);
    } else {
      // A bug of ours, not the input's: keep the stack for the report.
      process.stderr.write(`labelprof: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exitCode = 1;
  },
);
