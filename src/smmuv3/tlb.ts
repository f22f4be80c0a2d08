// The SMMU TLB, in typed arrays: set-associative with FIFO replacement within a set (no bookkeeping on a hit), tagged as the architecture
// tags translations (IHI0070 §3.17): by VMID and ASID (stage 1 and nested), VMID alone (stage 2
// only), and the EL2 regime. Entries hold 4 KiB pieces of a translation (a block is cached one
// 4 KiB page at a time, which the architecture allows) and remember the size of the leaf that
// produced them, so that an invalidation of any address in a block removes every piece of it.
//
// Only TLBI_* commands change the contents: a driver that forgets one keeps hitting the stale entry.
//
// Entry (Int32Array, stride 8):
//   0 tag: VMID << 16 | ASID
//   1 input page, bits [63:32] of the address (top byte cleared when TBI applies)
//   2 input page, bits [31:12] | KIND_* << 1 | 1 (valid)
//   3 output page bits [51:32], 4 output page bits [31:12]
//   5 permission mask (P_*/U_*) | global << 6 | leaf shift << 8
//   6 unused

export const TLB_S1 = 0; // stage 1 or nested (NS-EL1), tagged VMID + ASID
export const TLB_S2 = 1; // stage 2 only, tagged VMID
export const TLB_EL2 = 2; // stage 1 EL2 regime, tagged ASID (with E2H) only

const TWO32 = 4294967296;
/** 4 KiB pages below 2^56: VA[55:12] of a stage-1 address. */
const VA56_PAGES = 2 ** 44;

export class Tlb {
  readonly e: Int32Array;
  readonly sets: number;
  readonly ways: number;
  /** Per set: the way the next insertion into a full set replaces (FIFO replacement). */
  private readonly fifo: Uint8Array;
  /** Lookups that missed (statistics, not architectural). */
  misses = 0;
  /** Output of a hit: page-aligned PA and the permission mask. */
  pa = 0;
  perm = 0;

  constructor(entries = 4096, ways = 4) {
    this.ways = ways;
    this.sets = (entries / ways) | 0;
    if (this.sets < 1 || (this.sets & (this.sets - 1)) !== 0)
      throw new RangeError('tlb: sets must be a power of two');
    this.e = new Int32Array(this.sets * ways * 8);
    this.fifo = new Uint8Array(this.sets);
  }

  private setOf(tag: number, hi: number, lo: number): number {
    // Consecutive pages go to consecutive sets; the tag and IOVA[63:32] are mixed in (murmur3-style
    // finalizer) so that many address spaces using the same IOVAs spread out.
    let h = Math.imul(hi ^ Math.imul(tag, 0x85ebca6b), 0xc2b2ae35);
    h ^= h >>> 15;
    return (((lo >>> 12) + h) & (this.sets - 1)) * this.ways;
  }

  /** Looks up; on a hit sets `pa` (the 4 KiB page) and `perm` and returns true. */
  lookup(tag: number, hi: number, lo: number, kind: number): boolean {
    hi |= 0; // entries hold IOVA[63:32] as int32
    const e = this.e;
    const key2 = (lo & ~0xfff) | (kind << 1) | 1;
    let i = this.setOf(tag, hi, lo) * 8;
    for (let w = 0; w < this.ways; w++, i += 8) {
      if (e[i + 2] === key2 && e[i] === tag && e[i + 1] === hi) {
        this.pa = (e[i + 3]! >>> 0) * TWO32 + (e[i + 4]! >>> 0);
        this.perm = e[i + 5]! & 0x3f;
        return true;
      }
    }
    this.misses++;
    return false;
  }

  insert(
    tag: number,
    hi: number,
    lo: number,
    kind: number,
    pa: number,
    perm: number,
    global: number,
    shift: number,
  ): void {
    hi |= 0;
    const e = this.e;
    const first = this.setOf(tag, hi, lo) * 8;
    const key2 = (lo & ~0xfff) | (kind << 1) | 1;
    // An existing entry for the page is refreshed (e.g. now writable after a dirty-state update);
    // else an invalid way; else the set's FIFO victim.
    let victim = -1;
    for (let w = 0, i = first; w < this.ways; w++, i += 8) {
      if (e[i + 2] === key2 && e[i] === tag && e[i + 1] === hi) {
        victim = i;
        break;
      }
      if (victim < 0 && (e[i + 2]! & 1) === 0) victim = i;
    }
    if (victim < 0) {
      const set = first / (8 * this.ways);
      const way = this.fifo[set]!;
      this.fifo[set] = (way + 1) % this.ways;
      victim = first + way * 8;
    }
    const page = pa - (pa % 4096);
    e[victim] = tag;
    e[victim + 1] = hi;
    e[victim + 2] = key2;
    e[victim + 3] = Math.floor(page / TWO32);
    e[victim + 4] = page >>> 0;
    e[victim + 5] = perm | (global << 6) | (shift << 8);
  }

  /**
   * Invalidates entries of regime `kind` whose tag matches (vmid, asid; -1 = any) and whose leaf
   * overlaps the 4 KiB-page range [firstPage, firstPage + pages) (pages = Infinity: any address).
   * Global entries match any ASID; `keepGlobal` (TLBI by ASID) spares them.
   *
   * Stage-1 regimes (TLB_S1, TLB_EL2) match on VA[55:12]: an entry made under TBI holds VA[63:56]
   * as zero while the command's Address carries the tagged top byte, and without TBI VA[63:56] of a
   * translated address only repeat VA[55]. So TLBI_NH_VA / EL2_VA ignore Address[63:56] (IHI0070
   * §4.4.2: the invalidation must reach every entry for the address; invalidating more is allowed).
   */
  invalidate(
    kind: number,
    vmid: number,
    asid: number,
    firstPage: number,
    pages: number,
    keepGlobal: boolean,
  ): number {
    const e = this.e;
    const va = kind !== TLB_S2;
    if (va && pages !== Infinity) firstPage %= VA56_PAGES; // VA[55:12]
    let n = 0;
    for (let i = 0; i < e.length; i += 8) {
      const k2 = e[i + 2]!;
      if ((k2 & 1) === 0 || ((k2 >>> 1) & 3) !== kind) continue;
      const tag = e[i]!;
      if (vmid >= 0 && tag >>> 16 !== vmid) continue;
      const global = (e[i + 5]! >>> 6) & 1;
      if (global && keepGlobal) continue;
      if (asid >= 0 && !global && (tag & 0xffff) !== asid) continue;
      if (pages !== Infinity) {
        const span = 2 ** (((e[i + 5]! >>> 8) & 0x3f) - 12);
        const page = (va ? e[i + 1]! & 0xffffff : e[i + 1]! >>> 0) * 1048576 + ((k2 >>> 12) & 0xfffff);
        const start = page - (page % span);
        if (start + span <= firstPage || start >= firstPage + pages) continue;
      }
      e[i + 2] = 0;
      n++;
    }
    return n;
  }

  invalidateAll(): void {
    for (let i = 0; i < this.e.length; i += 8) this.e[i + 2] = 0;
  }

  count(): number {
    let n = 0;
    for (let i = 0; i < this.e.length; i += 8) if ((this.e[i + 2]! & 1) !== 0) n++;
    return n;
  }
}
