// Command-line flags for every labelprof command, and the one error type the
// commands throw for bad input: main.ts prints its message on one line and
// exits with status 1, no stack trace.

/** Bad input from the user (a file, a flag): printed as one line, exit status 1. */
export class CliError extends Error {}

export interface FlagSpec {
  type: 'string' | 'integer' | 'boolean';
  /** The flag may be given several times (values collected in order). */
  repeat?: boolean;
  /** One-letter alias, e.g. 'o' for --out. */
  short?: string;
}

export interface ParsedArgs {
  flags: Map<string, Array<string | number | boolean>>;
  positionals: string[];
  /** Everything after `--`, untouched. */
  rest: string[];
}

/**
 * Parses `--name value`, `--name=value`, `-x value` and boolean `--name`.
 * Stops at `--`; the rest goes to `rest` (for `labelprof run -- cmd...`).
 */
export function parseArgs(command: string, argv: readonly string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const flags = new Map<string, Array<string | number | boolean>>();
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else {
      const long = byShort.get(arg.slice(1, 2));
      if (long === undefined || arg.length > 2) throw new CliError(`unknown flag ${arg} for labelprof ${command} (see labelprof help)`);
      name = long;
    }
    const s = spec[name];
    if (s === undefined) throw new CliError(`unknown flag --${name} for labelprof ${command} (see labelprof help)`);
    let value: string | number | boolean;
    if (s.type === 'boolean') {
      if (inline !== undefined) throw new CliError(`flag --${name} takes no value (got "${inline}")`);
      value = true;
    } else {
      const raw = inline ?? argv[++i];
      if (raw === undefined) throw new CliError(`flag --${name} needs a value`);
      if (s.type === 'integer') {
        if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new CliError(`flag --${name} needs a positive whole number, got "${raw}"`);
        value = Number(raw);
      } else value = raw;
    }
    const list = flags.get(name) ?? [];
    if (list.length > 0 && s.repeat !== true) throw new CliError(`flag --${name} given twice`);
    list.push(value);
    flags.set(name, list);
  }
  return { flags, positionals, rest: argv.slice(i) };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.[0] as string | undefined;
}

export function flagInteger(args: ParsedArgs, name: string, fallback: number): number {
  return (args.flags.get(name)?.[0] as number | undefined) ?? fallback;
}

export function flagBoolean(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name)?.[0] === true;
}

export function flagStrings(args: ParsedArgs, name: string): string[] {
  return (args.flags.get(name) ?? []) as string[];
}

/** Exactly `count` positional arguments, named in the message when missing. */
export function expectPositionals(command: string, args: ParsedArgs, names: string[]): string[] {
  if (args.positionals.length < names.length) {
    throw new CliError(`labelprof ${command} needs ${names.map((n) => `<${n}>`).join(' ')} (see labelprof help)`);
  }
  if (args.positionals.length > names.length) {
    throw new CliError(`unexpected argument "${args.positionals[names.length]}" for labelprof ${command}`);
  }
  return args.positionals;
}
