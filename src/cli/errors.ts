// User-facing errors and the parsers of user input. A CliError is printed as one line on stderr
// (exit code 2, no stack trace); every message quotes at most a short prefix of the bad input.

export class CliError extends Error {
  override readonly name = 'CliError';
}

/** How much of a bad input a message quotes. */
const QUOTE_MAX = 40;

/** `'text'` for a message: control characters escaped, at most 40 characters and "…". */
export function quote(text: string): string {
  const cut = text.length > QUOTE_MAX ? text.slice(0, QUOTE_MAX) : text;
  // eslint-disable-next-line no-control-regex
  const safe = cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `'${safe}${text.length > QUOTE_MAX ? '…' : ''}'`;
}

/** A JSON value for a message: its JSON text, shortened like `quote`. */
export function quoteJson(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > QUOTE_MAX ? `${s.slice(0, QUOTE_MAX)}…` : s;
}

// Hex with an 0x prefix or decimal; `_` may separate digits (0xffff_ffff), never lead or trail.
const HEX = /^0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*$/;
const DEC = /^[0-9]+(?:_[0-9]+)*$/;

/**
 * Parses an unsigned integer written in hex (`0x...`) or decimal, at most `max`. `what` names the
 * input in the error (`--sid`, `qword0`, `line 3: "iova"`).
 */
export function parseUnsigned(text: string, what: string, max: bigint): bigint {
  const t = text.trim();
  if (!HEX.test(t) && !DEC.test(t)) {
    if (/^[-−]\s*(0[xX][0-9a-fA-F_]+|[0-9_]+)$/.test(t))
      throw new CliError(`${what}: ${quote(text)} is negative (expected 0 to 0x${max.toString(16)})`);
    if (/^[0-9]+\.[0-9]*$/.test(t) || /^[0-9.]+[eE][-+]?[0-9]+$/.test(t))
      throw new CliError(`${what}: ${quote(text)} is not an integer`);
    throw new CliError(`${what}: ${quote(text)} is not a hex (0x...) or decimal number`);
  }
  const v = BigInt(t.replace(/_/g, ''));
  if (v > max) throw new CliError(`${what}: ${quote(text)} is out of range (max 0x${max.toString(16)})`);
  return v;
}

export const U64_MAX = (1n << 64n) - 1n;
export const U32_MAX = 0xffff_ffffn;

/** Parses a 64-bit unsigned integer (hex or decimal). */
export function parseU64(text: string, what: string): bigint {
  return parseUnsigned(text, what, U64_MAX);
}

/**
 * A number from JSON: a non-negative integer (a JSON number up to 2^53 - 1, or a string in the
 * command line's hex/decimal form), at most `max`.
 */
export function jsonUnsigned(v: unknown, what: string, max: bigint): bigint {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || !Number.isInteger(v))
      throw new CliError(`${what}: ${quoteJson(v)} is not an integer`);
    if (v < 0)
      throw new CliError(`${what}: ${quoteJson(v)} is negative (expected 0 to 0x${max.toString(16)})`);
    if (!Number.isSafeInteger(v))
      throw new CliError(`${what}: ${quoteJson(v)} is beyond 2^53: write it as a hex string ("0x...")`);
    const b = BigInt(v);
    if (b > max) throw new CliError(`${what}: ${quoteJson(v)} is out of range (max 0x${max.toString(16)})`);
    return b;
  }
  if (typeof v === 'string') return parseUnsigned(v, what, max);
  throw new CliError(`${what}: expected a number or a hex string, got ${quoteJson(v)}`);
}

/** Edit distance with adjacent transpositions counted as one edit (optimal string alignment), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word` if it is close enough to be a typo of it. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  if (w.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(w.length / 3));
  if (best !== undefined && bestD <= limit) return best;
  // A unique candidate that starts with the word (`trans` for `translate`).
  const pre = candidates.filter((c) => w.length >= 2 && c.toLowerCase().startsWith(w));
  return pre.length === 1 ? pre[0] : undefined;
}

/** " (did you mean 'x'?)" or "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const s = suggest(word, candidates);
  return s === undefined ? '' : ` (did you mean '${s}'?)`;
}
