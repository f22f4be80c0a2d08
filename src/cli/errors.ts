// A user-facing error: printed as one line on stderr, exit code 2, no stack trace.
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Parses a hex (`0x...`) or decimal unsigned integer; `what` names it in the error. */
export function parseU64(text: string, what: string): bigint {
  const t = text.trim();
  if (!/^(0[xX][0-9a-fA-F_]+|[0-9]+)$/.test(t))
    throw new CliError(`${what}: '${text}' is not a hex (0x...) or decimal number`);
  const v = BigInt(t.replace(/_/g, ''));
  if (v >= 1n << 64n) throw new CliError(`${what}: '${text}' does not fit in 64 bits`);
  return v;
}
