// Where a command writes. The binary passes process.stdout / stderr; tests pass strings.
import { type OptionSpecs } from './args.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** A subcommand: its help and its entry point (exit code: 0 ok, 1 translation faulted, 2 bad input). */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage lines (without the "usage: " prefix). */
  readonly usage: readonly string[];
  readonly options: OptionSpecs;
  /** Free text after the options in `help <command>`. */
  readonly details?: string;
  run(args: readonly string[], io: Io): Promise<number> | number;
}
