// Command-line options: `--name value`, `--name=value`, boolean `--flag`, `-h`, `--` to end options.
// A string option takes the next argument as its value even when it starts with '-' (so that
// `--sid -1` reaches the number parser and gets its one-line message). Unknown options get a
// "did you mean" from the command's own option names.
import { CliError, quote, suggest } from './errors.ts';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** The value's name in the help text (`N`, `DIR`). */
  readonly arg?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** Parses `args` for command `cmd` (named in messages). `--help` / `-h` is always accepted. */
export function parseOptions(cmd: string, args: readonly string[], specs: OptionSpecs): Parsed {
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  const names = Object.keys(specs);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') {
      values.help = true;
      continue;
    }
    // A negative number is a (bad) value, not an option: the value's parser explains it.
    if (!a.startsWith('-') || a === '-' || /^-[0-9.]/.test(a)) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.startsWith('--') ? a.slice(2, eq < 0 ? undefined : eq) : a.slice(1);
    const spec = a.startsWith('--') ? specs[name] : undefined;
    if (spec === undefined || !Object.hasOwn(specs, name)) {
      const shown = eq < 0 ? a : a.slice(0, eq);
      const s = suggest(shown.replace(/^-+/, ''), names);
      throw new CliError(`${cmd}: unknown option ${quote(shown)}${s ? ` (did you mean '--${s}'?)` : ''}`);
    }
    if (values[name] !== undefined) throw new CliError(`${cmd}: --${name} is given twice`);
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new CliError(`${cmd}: --${name} takes no value`);
      values[name] = true;
    } else if (eq >= 0) {
      values[name] = a.slice(eq + 1);
    } else {
      const v = args[i + 1];
      if (v === undefined) throw new CliError(`${cmd}: --${name} needs a value (${spec.arg ?? 'VALUE'})`);
      values[name] = v;
      i++;
    }
  }
  return { values, positionals };
}

/** The options part of a command's help text. */
export function optionsHelp(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([n, s]) => [
    `--${n}${s.type === 'string' ? ` ${s.arg ?? 'VALUE'}` : ''}`,
    s.help,
  ]);
  rows.push(['--help, -h', 'this help']);
  const w = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map((r) => `  ${r[0]!.padEnd(w)}  ${r[1]!}`).join('\n');
}
