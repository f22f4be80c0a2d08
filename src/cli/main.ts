// iommu-emu command-line tool. Subcommands live in their own modules; this file dispatches, prints
// help and the version, and turns errors into one line on stderr.
//
// Exit status: 0 ok; 1 a single translation did not succeed (fault, abort, stall); 2 bad input
// (usage, numbers, files, images); 3 an internal error (a bug: the message says so).
import { readFileSync } from 'node:fs';
import { optionsHelp, parseOptions } from './args.ts';
import { decodeCommand } from './decode.ts';
import { CliError, didYouMean, quote } from './errors.ts';
import { imageCommand } from './image.ts';
import { processIo, type Command, type Io } from './io.ts';
import { translateCommand } from './translate.ts';

const demoCommand: Command = {
  name: 'demo',
  summary: 'run the end-to-end SMMUv3 demo (driver, tables, DMA, faults, throughput)',
  usage: ['iommu-emu demo [--quick] [--save-image DIR]'],
  options: {
    quick: { type: 'boolean', help: 'a short throughput run' },
    'save-image': { type: 'string', arg: 'DIR', help: 'also write the demo machine as an image' },
  },
  run: async (args) => {
    const { positionals } = parseOptions('demo', args, demoCommand.options);
    if (positionals.length) throw new CliError(`demo: unexpected argument ${quote(positionals[0]!)}`);
    return (await import('../demo/main.ts')).runDemo([...args]);
  },
};

export const COMMANDS: readonly Command[] = [decodeCommand, translateCommand, imageCommand, demoCommand];
const NAMES = COMMANDS.map((c) => c.name);

export function version(): string {
  const p = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return p.version;
}

function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: iommu-emu <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    `  ${'help'.padEnd(w)}  help <command>: options and examples of a command`,
    '',
    'iommu-emu <command> --help for its options; iommu-emu --version for the version.',
    'Exit status: 0 ok, 1 the translation did not succeed (single request), 2 bad input.',
    '',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  const lines = c.usage.map((u, i) => (i === 0 ? `usage: ${u}` : `       ${u}`));
  lines.push('', c.summary, '', 'options:', optionsHelp(c.options));
  if (c.details) lines.push('', c.details.trimEnd());
  return lines.join('\n') + '\n';
}

function find(name: string): Command {
  const c = COMMANDS.find((x) => x.name === name);
  if (!c)
    throw new CliError(
      `unknown command ${quote(name)}${didYouMean(name, [...NAMES, 'help'])} (try: ${NAMES.join(', ')}, help)`,
    );
  return c;
}

/** Runs the CLI with `argv` (without node and the script), writing to `io`; returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined) {
      io.err(usage());
      return 2;
    }
    if (cmd === '-h' || cmd === '--help') {
      io.out(usage());
      return 0;
    }
    if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
      io.out(`iommu-emu ${version()}\n`);
      return 0;
    }
    if (cmd === 'help') {
      if (rest.length === 0) {
        io.out(usage());
        return 0;
      }
      if (rest.length > 1) throw new CliError(`help: one command at a time (got ${rest.length})`);
      io.out(commandHelp(find(rest[0]!)));
      return 0;
    }
    if (cmd.startsWith('-'))
      throw new CliError(`${quote(cmd)}: expected a command first (try: iommu-emu --help)`);
    const c = find(cmd);
    if (rest.includes('--help') || rest.includes('-h')) {
      const at = rest.indexOf('--');
      const h = Math.min(...['--help', '-h'].map((x) => rest.indexOf(x)).filter((i) => i >= 0));
      if (at < 0 || h < at) {
        io.out(commandHelp(c));
        return 0;
      }
    }
    return await c.run(rest, io);
  } catch (e) {
    if (e instanceof CliError) {
      // One line, whatever the message holds (a library's message may quote input with newlines).
      io.err(`iommu-emu: ${e.message.replace(/[\r\n\u2028\u2029]+/g, ' ')}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`iommu-emu: internal error (a bug, please report it): ${msg.split('\n')[0]!.slice(0, 200)}\n`);
    if (process.env.IOMMU_EMU_DEBUG && e instanceof Error && e.stack) io.err(e.stack + '\n');
    return 3;
  }
}

/**
 * The binary's entry: main() on the process's streams. A reader that goes away (`| head`) ends the
 * run quietly: EPIPE on stdout exits with the status so far, without a stack trace.
 */
export async function run(argv: readonly string[]): Promise<number> {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      process.stderr.write(`iommu-emu: ${e.message}\n`);
      process.exit(2);
    });
  }
  return main(argv, processIo);
}
