// Declarative bit-field layouts. One table per structure; every encoder, decoder, lint, CLI printer
// and test goes through it. Bit positions are [hi:lo] inside a little-endian 64-bit qword, qword n
// being bytes 8n..8n+7 of the structure, as the Arm and Intel specifications draw them.
//
// This module uses BigInt: it is for the edges (CLI, decode, lint, tests). The translation hot path
// derives word/shift/mask constants from these tables once, at module load (see `wordField`).

export type FieldKind =
  | 'value' // plain unsigned integer
  | 'addr'; // an address field written as [hi:lo] with the low bits cut off: its value is the byte
//             address it denotes (the bits in place, zeros below)

export interface FieldDef {
  /** The field's name in the specification (STE.S1ContextPtr, CD.T0SZ, ...). */
  readonly name: string;
  /** Index of the 64-bit word holding the field. */
  readonly qw: number;
  readonly hi: number;
  readonly lo: number;
  readonly kind: FieldKind;
  /** Named encodings, spec spelling. */
  readonly values?: Readonly<Record<string, number>>;
  /** Section of the specification the field comes from (mirrored in spec-notes/). */
  readonly spec: string;
  /** Free text shown by the CLI / spec-notes. */
  readonly note?: string;
}

export interface Layout {
  /** Structure name as the CLI spells it (`smmuv3-ste`). */
  readonly name: string;
  /** Title for humans (`Stream Table Entry`). */
  readonly title: string;
  /** Size of the structure in bytes. */
  readonly bytes: number;
  /** Specification section of the structure as a whole. */
  readonly spec: string;
  readonly fields: readonly FieldDef[];
}

export interface FieldOpts {
  readonly values?: Readonly<Record<string, number>>;
  readonly note?: string;
  readonly kind?: FieldKind;
}

/** Declares a field at qword `qw`, bits [hi:lo] (the spec's order: high bit first). */
export function fld(
  name: string,
  qw: number,
  hi: number,
  lo: number,
  spec: string,
  opts: FieldOpts = {},
): FieldDef {
  if (!(qw >= 0 && lo >= 0 && hi >= lo && hi < 64))
    throw new Error(`bad field ${name}: qword ${qw} [${hi}:${lo}]`);
  return { name, qw, hi, lo, kind: opts.kind ?? 'value', values: opts.values, note: opts.note, spec };
}

/** Same, for an address field (value = byte address with the low `lo` bits zero). */
export function addr(
  name: string,
  qw: number,
  hi: number,
  lo: number,
  spec: string,
  opts: FieldOpts = {},
): FieldDef {
  return fld(name, qw, hi, lo, spec, { ...opts, kind: 'addr' });
}

export function layout(
  name: string,
  title: string,
  bytes: number,
  spec: string,
  fields: readonly FieldDef[],
): Layout {
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.name)) throw new Error(`${name}: duplicate field ${f.name}`);
    seen.add(f.name);
    if ((f.qw + 1) * 8 > bytes) throw new Error(`${name}.${f.name}: qword ${f.qw} beyond ${bytes} bytes`);
  }
  return { name, title, bytes, spec, fields };
}

export function fieldOf(l: Layout, name: string): FieldDef {
  const f = l.fields.find((x) => x.name === name);
  if (!f) throw new Error(`${l.name} has no field ${name}`);
  return f;
}

export function fieldWidth(f: FieldDef): number {
  return f.hi - f.lo + 1;
}

function maskOf(f: FieldDef): bigint {
  return (1n << BigInt(fieldWidth(f))) - 1n;
}

/** Raw field bits, right-aligned. */
export function getRaw(q: readonly bigint[], f: FieldDef): bigint {
  return ((q[f.qw] ?? 0n) >> BigInt(f.lo)) & maskOf(f);
}

/** Field value: raw bits, or for an address field the byte address the bits denote. */
export function getField(q: readonly bigint[], f: FieldDef): bigint {
  const raw = getRaw(q, f);
  return f.kind === 'addr' ? raw << BigInt(f.lo) : raw;
}

/** Writes a field. For an address field `v` is the byte address; bits below `lo` must be zero. */
export function setField(q: bigint[], f: FieldDef, v: bigint): void {
  let raw = v;
  if (f.kind === 'addr') {
    if (v & ((1n << BigInt(f.lo)) - 1n))
      throw new Error(`${f.name}: address 0x${v.toString(16)} not aligned to ${1n << BigInt(f.lo)}`);
    raw = v >> BigInt(f.lo);
  }
  if (raw < 0n || raw > maskOf(f))
    throw new Error(`${f.name}: value 0x${v.toString(16)} does not fit [${f.hi}:${f.lo}]`);
  while (q.length <= f.qw) q.push(0n);
  const m = maskOf(f) << BigInt(f.lo);
  q[f.qw] = ((q[f.qw] ?? 0n) & ~m & 0xffff_ffff_ffff_ffffn) | (raw << BigInt(f.lo));
}

export type FieldValues = Readonly<Record<string, bigint | number>>;

/** Builds the qwords of a structure from named field values (unnamed fields are zero). */
export function encode(l: Layout, values: FieldValues): bigint[] {
  const q: bigint[] = new Array<bigint>(l.bytes / 8).fill(0n);
  for (const [name, v] of Object.entries(values)) setField(q, fieldOf(l, name), BigInt(v));
  return q;
}

/** Decodes every field of the layout. */
export function decode(l: Layout, q: readonly bigint[]): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const f of l.fields) out[f.name] = getField(q, f);
  return out;
}

/** Bits of each qword that no field covers (reserved, RES0 unless the spec says otherwise). */
export function reservedMasks(l: Layout): bigint[] {
  const used: bigint[] = new Array<bigint>(l.bytes / 8).fill(0n);
  for (const f of l.fields) used[f.qw] = used[f.qw]! | (maskOf(f) << BigInt(f.lo));
  return used.map((u) => ~u & 0xffff_ffff_ffff_ffffn);
}

/** Qwords <-> 32-bit words (little-endian: word 2n is the low half of qword n). */
export function qwordsToWords(q: readonly bigint[]): Uint32Array {
  const w = new Uint32Array(q.length * 2);
  for (let i = 0; i < q.length; i++) {
    w[2 * i] = Number(q[i]! & 0xffff_ffffn);
    w[2 * i + 1] = Number((q[i]! >> 32n) & 0xffff_ffffn);
  }
  return w;
}

export function wordsToQwords(w: ArrayLike<number>): bigint[] {
  const q: bigint[] = [];
  for (let i = 0; i + 1 < w.length; i += 2) q.push((BigInt(w[i + 1]! >>> 0) << 32n) | BigInt(w[i]! >>> 0));
  return q;
}

/** Hot-path view of a field that lies inside one 32-bit word: value = (words[w] >>> shift) & mask. */
export interface WordField {
  readonly w: number;
  readonly shift: number;
  readonly mask: number;
}

export function wordField(l: Layout, name: string): WordField {
  const f = fieldOf(l, name);
  const w = f.qw * 2 + (f.lo >= 32 ? 1 : 0);
  const shift = f.lo % 32;
  const width = fieldWidth(f);
  if (shift + width > 32)
    throw new Error(`${l.name}.${name} straddles a 32-bit word; split it for the hot path`);
  return { w, shift, mask: width === 32 ? 0xffff_ffff : (1 << width) - 1 };
}

/** Formats a value for JSON output: integers below 2^53 as numbers, larger ones as "0x..." strings. */
export function jsonValue(v: bigint): number | string {
  return v < 1n << 53n ? Number(v) : `0x${v.toString(16)}`;
}

export function hex(v: bigint | number, digits = 0): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}

/** Hot-path view of an address field [hi:lo] with lo < 32 < hi: address = hiWord & hiMask : loWord & loMask. */
export interface AddrField {
  /** Index of the 32-bit word holding the low part. */
  readonly w: number;
  readonly loMask: number;
  readonly hiMask: number;
}

export function addrField(l: Layout, name: string): AddrField {
  const f = fieldOf(l, name);
  if (f.kind !== 'addr' || f.lo >= 32 || f.hi < 32)
    throw new Error(`${l.name}.${name} is not a straddling address field`);
  return {
    w: f.qw * 2,
    loMask: ~((1 << f.lo) - 1) >>> 0,
    hiMask: f.hi === 63 ? 0xffff_ffff : 2 ** (f.hi - 31) - 1,
  };
}
