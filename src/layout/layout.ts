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

/**
 * Access kind of a register field: RO (writes ignored), RW, RW1C (write 1 to clear), WO (reads as
 * zero). Structure fields in memory have none.
 */
export type Access = 'RO' | 'RW' | 'RW1C' | 'WO';

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
  /** Registers only: how software may access the field. */
  readonly access?: Access;
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
  readonly access?: Access;
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
  const f: FieldDef = {
    name,
    qw,
    hi,
    lo,
    kind: opts.kind ?? 'value',
    values: opts.values,
    note: opts.note,
    spec,
  };
  return opts.access ? { ...f, access: opts.access } : f;
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

/**
 * A register: a layout of one 32- or 64-bit value at an offset of a register file. Its fields carry
 * access kinds (the register's default where a field names none); writable masks derive from them.
 */
export interface RegisterDef extends Layout {
  /** Byte offset in the register file. */
  readonly offset: number;
  /** 4 or 8 bytes (= bytes). */
  readonly size: 4 | 8;
  /** Other accepted spellings. */
  readonly aliases?: readonly string[];
}

export interface RegisterOpts {
  /** Access of fields that do not name one (default RW). */
  readonly access?: Access;
  readonly aliases?: readonly string[];
  readonly title?: string;
}

/** A register field at bits [hi:lo] (access: the register's default unless given). */
export function rf(name: string, hi: number, lo: number, opts: FieldOpts = {}): Omit<FieldDef, 'spec'> {
  return { ...fld(name, 0, hi, lo, '', opts) };
}

/** Declares a register; its fields get the register's spec section and default access. */
export function register(
  name: string,
  offset: number,
  size: 4 | 8,
  spec: string,
  fields: readonly Omit<FieldDef, 'spec'>[],
  opts: RegisterOpts = {},
): RegisterDef {
  const access = opts.access ?? 'RW';
  const fs: FieldDef[] = fields.map((f) => ({ ...f, spec, access: f.access ?? access }));
  const seen = new Set<string>();
  let used = 0n;
  for (const f of fs) {
    if (seen.has(f.name)) throw new Error(`register ${name}: duplicate field ${f.name}`);
    seen.add(f.name);
    if (f.qw !== 0 || f.hi >= size * 8)
      throw new Error(`register ${name}.${f.name}: beyond ${size * 8} bits`);
    const m = ((1n << BigInt(fieldWidth(f))) - 1n) << BigInt(f.lo);
    if (used & m) throw new Error(`register ${name}.${f.name}: overlaps another field`);
    used |= m;
  }
  const r: RegisterDef = { name, title: opts.title ?? name, bytes: size, size, spec, fields: fs, offset };
  return opts.aliases ? { ...r, aliases: opts.aliases } : r;
}

/** A register file's registers by name and by each accepted alias. */
export function registerIndex(regs: readonly RegisterDef[]): ReadonlyMap<string, RegisterDef> {
  return new Map(
    regs.flatMap((r) => [[r.name, r] as const, ...(r.aliases ?? []).map((a) => [a, r] as const)]),
  );
}

/**
 * Writable mask per 32-bit word of a register file of `bytes` bytes (index = offset / 4): the bits a
 * software write may change (RW, RW1C, WO fields); zero for RO registers and unused offsets.
 */
export function writeMaskWords(regs: readonly RegisterDef[], bytes: number): Uint32Array {
  const m = new Uint32Array(bytes / 4);
  for (const r of regs) {
    const w = writableMask(r);
    m[r.offset >> 2] = Number(w & 0xffff_ffffn);
    if (r.size === 8) m[(r.offset >> 2) + 1] = Number(w >> 32n);
  }
  return m;
}

/** Bits of a register (as a 64-bit value) held by fields of the given access kinds. */
export function accessMask(r: Layout, ...kinds: Access[]): bigint {
  let m = 0n;
  for (const f of r.fields)
    if (f.access && kinds.includes(f.access)) m |= ((1n << BigInt(fieldWidth(f))) - 1n) << BigInt(f.lo);
  return m;
}

/** Bits software can change by a write: RW, RW1C and WO fields. */
export function writableMask(r: Layout): bigint {
  return accessMask(r, 'RW', 'RW1C', 'WO');
}

/** A field's bits in place within its 32-bit word (for single-bit flags and in-place masks). */
export function fieldBits32(l: Layout, name: string): number {
  const f = wordField(l, name);
  return (f.mask << f.shift) >>> 0;
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
  const q: bigint[] = new Array<bigint>(Math.ceil(l.bytes / 8)).fill(0n);
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
  const used: bigint[] = new Array<bigint>(Math.ceil(l.bytes / 8)).fill(0n);
  for (const f of l.fields) used[f.qw] = used[f.qw]! | (maskOf(f) << BigInt(f.lo));
  const all = l.bytes < 8 ? (1n << BigInt(l.bytes * 8)) - 1n : 0xffff_ffff_ffff_ffffn;
  return used.map((u) => ~u & all);
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
