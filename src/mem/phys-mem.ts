// Emulated physical memory: regions of RAM at arbitrary physical bases, backed by typed arrays.
//
// Physical addresses are Numbers: every address here is below 2^52 (SMMUv3 OAS 52, VT-d MGAW 57 is
// capped at 52 too), so a double holds it exactly. Data travels as 32-bit words; a 64-bit value is
// read as two halves into `lo`/`hi` (no BigInt, no allocation). An access that no region backs does
// not throw: it returns false (and reads as zero), which the hardware models turn into the
// architected external-abort fault (F_WALK_EABT, F_STE_FETCH, ...). So does an address that is not
// a non-negative integer (NaN, a fraction, a negative number): it is never an alias of a backed one.

export interface RegionInfo {
  readonly base: number;
  readonly size: number;
  readonly name: string;
}

export const MAX_PA = 2 ** 52;

export class PhysMem {
  /** Result of the last read64: low and high 32-bit halves as int32 (`>>> 0` for the unsigned value). */
  lo = 0;
  hi = 0;

  // Regions sorted by base. Parallel arrays keep the lookup monomorphic and allocation-free.
  private bases: number[] = [];
  private ends: number[] = [];
  private words: Uint32Array[] = [];
  // The same words as Int32Array: read64 results stay int32, which V8 keeps unboxed (Smi) in `lo` /
  // `hi`; uint32 values above 2^31 would turn both fields into boxed doubles.
  private i32s: Int32Array[] = [];
  private bytes: Uint8Array[] = [];
  private names: string[] = [];
  // Most-recently-used region (index), checked first; its base, size and words, for the inline path.
  private mru = -1;
  private mruBase = -1;
  // The MRU region's base as (hi, lo) 32-bit halves for read64hl; mruHi = -1 when the region
  // straddles a 4 GiB boundary (then only the slow path is used).
  private mruHi = -1;
  private mruLo = 0;
  private mruSize = 0;
  private mruWords: Int32Array = new Int32Array(2);

  constructor(readonly shared = false) {}

  /**
   * Adds RAM at [base, base+size). Base and size must be multiples of 8 and the region must not
   * overlap another. `backing` may be given (e.g. a SharedArrayBuffer shared with a worker).
   */
  addRegion(base: number, size: number, name = 'ram', backing?: ArrayBufferLike): Uint8Array {
    if (!Number.isInteger(base) || base < 0 || base % 8 !== 0)
      throw new RangeError(`region ${name}: base ${hexN(base)} is not 8-byte aligned`);
    if (!Number.isInteger(size) || size <= 0 || size % 8 !== 0)
      throw new RangeError(`region ${name}: size ${hexN(size)} is not a positive multiple of 8`);
    if (size > 0x4000_0000)
      throw new RangeError(`region ${name}: size ${hexN(size)} is above 1 GiB (add several regions)`);
    if (base + size > MAX_PA)
      throw new RangeError(
        `region ${name}: ${hexN(base)}+${hexN(size)} is beyond the 52-bit physical address space`,
      );
    for (let i = 0; i < this.bases.length; i++) {
      if (base < this.ends[i]! && this.bases[i]! < base + size)
        throw new RangeError(
          `region ${name} [${hexN(base)}, ${hexN(base + size)}) overlaps region ${this.names[i]}`,
        );
    }
    const buf = backing ?? (this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
    if (buf.byteLength < size)
      throw new RangeError(`region ${name}: backing buffer is smaller than ${hexN(size)}`);
    let at = 0;
    while (at < this.bases.length && this.bases[at]! < base) at++;
    const u8 = new Uint8Array(buf, 0, size);
    this.bases.splice(at, 0, base);
    this.ends.splice(at, 0, base + size);
    this.words.splice(at, 0, new Uint32Array(buf, 0, size / 4));
    this.i32s.splice(at, 0, new Int32Array(buf, 0, size / 4));
    this.bytes.splice(at, 0, u8);
    this.names.splice(at, 0, name);
    this.mru = -1;
    this.mruBase = -1;
    this.mruSize = 0;
    this.mruHi = -1;
    return u8;
  }

  regions(): RegionInfo[] {
    return this.bases.map((b, i) => ({ base: b, size: this.ends[i]! - b, name: this.names[i]! }));
  }

  /** Bytes of the region holding `pa`, and the offset of `pa` in it; undefined if not backed. */
  regionAt(pa: number): { bytes: Uint8Array; offset: number } | undefined {
    const r = this.find(pa, 1);
    return r < 0 ? undefined : { bytes: this.bytes[r]!, offset: pa - this.bases[r]! };
  }

  /** Index of the region that holds [pa, pa+len), or -1 (also for a `pa` that is not an integer). */
  private find(pa: number, len: number): number {
    // One check per region lookup: a fraction or NaN would otherwise truncate to a backed offset.
    // (Negative addresses fall below every base.)
    if (Math.floor(pa) !== pa) return -1;
    const m = this.mru;
    const bases = this.bases;
    if (m >= 0 && pa >= bases[m]! && pa + len <= this.ends[m]!) return m;
    // Binary search for the last base <= pa.
    let lo = 0;
    let hi = bases.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (bases[mid]! <= pa) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi >= 0 && pa + len <= this.ends[hi]!) {
      this.mru = hi;
      this.mruBase = bases[hi]!;
      this.mruSize = this.ends[hi]! - bases[hi]!;
      this.mruWords = this.i32s[hi]!;
      const bHi = Math.floor(bases[hi]! / 4294967296);
      this.mruHi = Math.floor((this.ends[hi]! - 1) / 4294967296) === bHi ? bHi : -1;
      this.mruLo = bases[hi]! >>> 0;
      return hi;
    }
    return -1;
  }

  isBacked(pa: number, len = 1): boolean {
    return this.find(pa, len) >= 0;
  }

  /**
   * Reads the aligned 64-bit word at `pa` into `lo`/`hi`. Returns false (and zeros) if not backed.
   * The most-recently-used region is checked inline (small enough for V8 to inline this method into
   * the walkers, so the double `pa` is never boxed); other regions go through the slow path.
   */
  read64(pa: number): boolean {
    const off = pa - this.mruBase;
    // (off >>> 3) << 3 === off: aligned and an integer (off < 2^30), as cheap as `(off & 7) === 0`.
    if (off >= 0 && off < this.mruSize && (off >>> 3) << 3 === off) {
      const w = this.mruWords;
      const i = off >>> 2;
      this.lo = w[i]!;
      this.hi = w[i + 1]!;
      return true;
    }
    return this.read64Slow(pa);
  }

  /**
   * Checks once that [pa, pa + len) is backed by one region (pa 8-byte aligned) and returns the
   * index of its first 32-bit word in `spanWords` (int32 view), or -1. For reading a whole
   * descriptor (STE, CD) with one region check instead of one per qword.
   */
  span(pa: number, len: number): number {
    const off = pa - this.mruBase;
    if (off >= 0 && off + len <= this.mruSize && (off >>> 3) << 3 === off) {
      this.spanWords = this.mruWords;
      return off >>> 2;
    }
    const r = this.find(pa, len);
    if (r < 0) return -1;
    const o = (pa - this.bases[r]!) | 0;
    if ((o & 7) !== 0) return -1;
    this.spanWords = this.i32s[r]!;
    return o >>> 2;
  }

  /** The words `span` refers to. */
  spanWords: Int32Array = new Int32Array(2);

  /**
   * span for the address (hi, lo) given as 32-bit halves (integers; lo < 2^32, as uint32): integer
   * arithmetic on the fast path. (Callers compute the halves with integer operations.)
   */
  spanHL(hi: number, lo: number, len: number): number {
    const off = (lo - this.mruLo) >>> 0;
    if (hi === this.mruHi && off + len <= this.mruSize && (off & 7) === 0) {
      this.spanWords = this.mruWords;
      return off >>> 2;
    }
    return this.span(hi * 4294967296 + lo, len);
  }

  /** read64 for the address (hi, lo) given as integer 32-bit halves: integer arithmetic on the fast path. */
  read64hl(hi: number, lo: number): boolean {
    const off = (lo - this.mruLo) >>> 0;
    if (hi === this.mruHi && off < this.mruSize && (off & 7) === 0) {
      const w = this.mruWords;
      const i = off >>> 2;
      this.lo = w[i]!;
      this.hi = w[i + 1]!;
      return true;
    }
    return this.read64Slow(hi * 4294967296 + (lo >>> 0));
  }

  private read64Slow(pa: number): boolean {
    const r = this.find(pa, 8);
    // Offsets inside a region are < 2^30: integer arithmetic from here (no float modulo).
    const off = r < 0 ? 1 : (pa - this.bases[r]!) | 0;
    if ((off & 7) !== 0) {
      this.lo = 0;
      this.hi = 0;
      return false;
    }
    const w = this.words[r]!;
    const i = off >>> 2;
    this.lo = w[i]! | 0;
    this.hi = w[i + 1]! | 0;
    return true;
  }

  /** Reads the aligned 32-bit word at `pa`; -1 if not backed (a word is otherwise 0..2^32-1). */
  read32(pa: number): number {
    const r = this.find(pa, 4);
    const off = r < 0 ? 1 : (pa - this.bases[r]!) | 0;
    if ((off & 3) !== 0) return -1;
    return this.words[r]![off >>> 2]!;
  }

  write32(pa: number, v: number): boolean {
    const r = this.find(pa, 4);
    const off = r < 0 ? 1 : (pa - this.bases[r]!) | 0;
    if ((off & 3) !== 0) return false;
    this.words[r]![off >>> 2] = v;
    return true;
  }

  /** Writes a 64-bit word as two halves (low word first, as a single-copy-atomic store would land). */
  write64(pa: number, lo: number, hi: number): boolean {
    const r = this.find(pa, 8);
    const off = r < 0 ? 1 : (pa - this.bases[r]!) | 0;
    if ((off & 7) !== 0) return false;
    const w = this.words[r]!;
    const i = off >>> 2;
    w[i] = lo;
    w[i + 1] = hi;
    return true;
  }

  /**
   * Compare-and-swap of the low 32 bits of a 64-bit descriptor (hardware update of AF / dirty state
   * touches only bits [10] and [7], both in the low word). Returns false if not backed.
   */
  cas32(pa: number, expect: number, value: number): boolean {
    const r = this.find(pa, 4);
    const off = r < 0 ? 1 : (pa - this.bases[r]!) | 0;
    if ((off & 3) !== 0) return false;
    const w = this.words[r]!;
    const i = off >>> 2;
    if (w[i] !== expect >>> 0) return false;
    w[i] = value;
    return true;
  }

  // ---- Edge helpers (not for the hot path): BigInt and byte copies. ----

  read64n(pa: number): bigint | undefined {
    if (!this.read64(pa)) return undefined;
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }

  write64n(pa: number, v: bigint): boolean {
    return this.write64(pa, Number(v & 0xffff_ffffn), Number((v >> 32n) & 0xffff_ffffn));
  }

  /** Writes `qwords` at `pa` (8-byte aligned). Throws if not backed: for test and driver set-up code. */
  writeQwords(pa: number, qwords: readonly bigint[]): void {
    for (let i = 0; i < qwords.length; i++) {
      if (!this.write64n(pa + 8 * i, qwords[i]!))
        throw new RangeError(`write at ${hexN(pa + 8 * i)}: not backed`);
    }
  }

  readQwords(pa: number, n: number): bigint[] {
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) {
      const v = this.read64n(pa + 8 * i);
      if (v === undefined) throw new RangeError(`read at ${hexN(pa + 8 * i)}: not backed`);
      out.push(v);
    }
    return out;
  }

  /** Copies bytes into memory; every byte must be backed by one region. */
  writeBytes(pa: number, data: Uint8Array): void {
    const r = this.find(pa, data.length);
    if (r < 0) throw new RangeError(`write of ${data.length} bytes at ${hexN(pa)}: not backed by one region`);
    this.bytes[r]!.set(data, pa - this.bases[r]!);
  }

  readBytes(pa: number, len: number): Uint8Array {
    const r = this.find(pa, len);
    if (r < 0) throw new RangeError(`read of ${len} bytes at ${hexN(pa)}: not backed by one region`);
    const off = pa - this.bases[r]!;
    return this.bytes[r]!.slice(off, off + len);
  }

  fill(pa: number, len: number, v = 0): void {
    const r = this.find(pa, len);
    if (r < 0) throw new RangeError(`fill of ${len} bytes at ${hexN(pa)}: not backed by one region`);
    const off = pa - this.bases[r]!;
    this.bytes[r]!.fill(v, off, off + len);
  }
}

export function hexN(v: number): string {
  return `0x${v.toString(16)}`;
}

// The model reads descriptors as little-endian words through Uint32Array: insist on a LE host.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1)
  throw new Error('iommu-emu needs a little-endian host');
