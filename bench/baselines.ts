// Baselines: bare typed-array loops that read the same words as the model, at the same offsets,
// with no validation, no decode beyond taking the next address, no fault handling and no calls.
// Two kinds per row (bench/README.md):
//
//   - serial chain (`bareSerial`): every address comes from the word read just before it, the
//     way the architecture describes the walk: L1STD -> STE -> L1CD -> CD -> 4 descriptors.
//   - like-built (`bareMemo`): the same reads with the model's own shortcut, the decode memo
//     (src/smmuv3/config.ts): entries chosen by the same hash of StreamID / SubstreamID, the words
//     just read compared with the entry's, and on a hit the next address (S1ContextPtr, TTB0) taken
//     from the entry, so the walk does not wait for the STE and CD reads. Same geometry as the
//     model's memo (`BareMemo.like`). On a miss it copies the words and takes the addresses from
//     them: the least a memo miss costs.
//
// Each returns the same sum as the matching model loop in smmuv3-cases.ts (run.ts checks every
// batch), and XORs the words it reads but does not need into `bareCheck`, so that no read is dead.
import { addrField } from '../src/layout/layout.ts';
import { K } from '../src/smmuv3/config-cache.ts';
import { CD, L1CD, L1STD, STE } from '../src/smmuv3/layouts.ts';
import { REQ_STRIDE } from './machine.ts';

const TWO32 = 4294967296;
const RS = REQ_STRIDE;

// Address fields, from the layout tables (module-local: constant-folded).
const L1STD_L2PTR = addrField(L1STD, 'L2Ptr');
const STD_LO = L1STD_L2PTR.loMask,
  STD_HI = L1STD_L2PTR.hiMask;
const STE_CTX = addrField(STE, 'S1ContextPtr');
const CTX_LO = STE_CTX.loMask,
  CTX_HI = STE_CTX.hiMask;
const L1CD_L2PTR = addrField(L1CD, 'L2Ptr');
const L1CD_LO = L1CD_L2PTR.loMask,
  L1CD_HI = L1CD_L2PTR.hiMask;
const CD_TTB0 = addrField(CD, 'TTB0');
const TTB_LO = CD_TTB0.loMask,
  TTB_HI = CD_TTB0.hiMask;
if (STE_CTX.w !== 0 || CD_TTB0.w !== 2)
  throw new Error('baselines: STE/CD layout moved; update bench/baselines.ts');

// The configuration every bench machine uses: stream table SPLIT 8, CD leaves of 64 (S1Fmt 1),
// 4 KiB granule, 48-bit IOVA (start level 0). VMSAv8-64 output address: bits [47:12].
const SPLIT = 8;
const CD_SPLIT = 6;
const OA_HI = 0xffff;
const OA_LO = 0xfffff000;

/** Sink for words read but not used for addresses (keeps those reads alive). */
export let bareCheck = 0;

/**
 * Rewrites CD word 1 (ASID) of request q before it is translated (the decode row): the same write
 * in the model's loop and in both bare loops. `ctr` (one cell, shared by all loops of a row) is the
 * next ASID, cycling through 1..255, so a CD never shows a memo the words it held before.
 */
export function nextAsid(ctr: Int32Array): number {
  const a = ctr[0]!;
  ctr[0] = a === 255 ? 1 : a + 1;
  return a;
}

/**
 * The serial chain. Requests [start, start + n): L1STD, STE qwords 0-3, L1CD, CD qwords 0-2, then
 * (walk) the 4 stage-1 descriptors; each a 64-bit read as two Uint32 halves, each address taken
 * from the previous read. `base` = physical address of ram[0]; `strtab` = STRTAB_BASE. Returns the
 * sum of output PAs (walk) or of CD.TTB0 (configuration lookup only).
 */
export function bareSerial(
  ram: Uint32Array,
  base: number,
  strtab: number,
  req: Uint32Array,
  start: number,
  n: number,
  walk: boolean,
  cdw: Int32Array | null,
  ctr: Int32Array,
): number {
  let sum = 0;
  let chk = 0;
  for (let q = start, end = start + n; q < end; q++) {
    const o = q * RS;
    const sid = req[o]!;
    const ssid = req[o + 1]!;
    const hi = req[o + 2]!;
    const lo = req[o + 3]!;
    if (cdw !== null) {
      const x = cdw[q]!;
      ram[x] = ((ram[x]! & 0xffff) | (nextAsid(ctr) << 16)) >>> 0;
    }
    // L1STD[SID[15:SPLIT]] -> level-2 stream table.
    let w = (strtab - base + (sid >>> SPLIT) * 8) >>> 2;
    let dlo = ram[w]!;
    let dhi = ram[w + 1]!;
    let a = (dhi & STD_HI) * TWO32 + ((dlo & STD_LO) >>> 0);
    // STE: qwords 0-3 (what fetchSte reads); S1ContextPtr in qword 0.
    w = (a - base + (sid & ((1 << SPLIT) - 1)) * 64) >>> 2;
    dlo = ram[w]!;
    dhi = ram[w + 1]!;
    chk ^= ram[w + 2]! ^ ram[w + 3]! ^ ram[w + 4]! ^ ram[w + 5]! ^ ram[w + 6]! ^ ram[w + 7]!;
    a = (dhi & CTX_HI) * TWO32 + ((dlo & CTX_LO) >>> 0);
    // L1CD[SSID[19:6]] -> CD leaf.
    w = (a - base + (ssid >>> CD_SPLIT) * 8) >>> 2;
    dlo = ram[w]!;
    dhi = ram[w + 1]!;
    a = (dhi & L1CD_HI) * TWO32 + ((dlo & L1CD_LO) >>> 0);
    // CD: qwords 0-2; TTB0 in qword 1.
    w = (a - base + (ssid & ((1 << CD_SPLIT) - 1)) * 64) >>> 2;
    chk ^= ram[w]! ^ ram[w + 1]! ^ ram[w + 4]! ^ ram[w + 5]!;
    a = (ram[w + 3]! & TTB_HI) * TWO32 + ((ram[w + 2]! & TTB_LO) >>> 0);
    if (walk) sum += walk4(ram, base, a, hi, lo);
    else sum += a;
  }
  bareCheck = chk;
  return sum;
}

/** Stage 1, levels 0-3 from table `a`: IOVA[47:39], [38:30], [29:21], [20:12]; returns the PA. */
function walk4(ram: Uint32Array, base: number, a: number, hi: number, lo: number): number {
  let w = (a - base + ((hi >>> 7) & 0x1ff) * 8) >>> 2;
  let dlo = ram[w]!;
  let dhi = ram[w + 1]!;
  a = (dhi & OA_HI) * TWO32 + ((dlo & OA_LO) >>> 0);
  w = (a - base + (((hi << 2) | (lo >>> 30)) & 0x1ff) * 8) >>> 2;
  dlo = ram[w]!;
  dhi = ram[w + 1]!;
  a = (dhi & OA_HI) * TWO32 + ((dlo & OA_LO) >>> 0);
  w = (a - base + ((lo >>> 21) & 0x1ff) * 8) >>> 2;
  dlo = ram[w]!;
  dhi = ram[w + 1]!;
  a = (dhi & OA_HI) * TWO32 + ((dlo & OA_LO) >>> 0);
  w = (a - base + ((lo >>> 12) & 0x1ff) * 8) >>> 2;
  dlo = ram[w]!;
  dhi = ram[w + 1]!;
  return (dhi & OA_HI) * TWO32 + ((dlo & OA_LO) >>> 0) + (lo & 0xfff);
}

// Bare memo entry: 16 words (one 64-byte line). STE: words 0-7, generation, S1ContextPtr lo/hi.
// CD: words 0-5, the STE generation it was decoded under, TTB0 lo/hi, StreamID, SubstreamID.
const E = 16;
const GEN_STE = 8,
  CTX_L = 9,
  CTX_H = 10;
const GEN_CD = 6,
  TTB_L = 7,
  TTB_H = 8,
  KEY_SID = 9,
  KEY_SSID = 10;

/**
 * The like-built loops' memo: the model's geometry (STE entries direct-mapped, CD sets of 2 ways),
 * taken from the model once its memo has grown to the row's working set (rows.ts); it does not
 * grow itself.
 */
export class BareMemo {
  readonly ste: Int32Array;
  readonly cd: Int32Array;
  /** Per CD set: the way filled last (0 or 1). */
  readonly fill: Uint8Array;
  gen = 0;
  constructor(
    readonly steEntries: number,
    readonly cdSets: number,
  ) {
    for (const v of [steEntries, cdSets])
      if (v < 1 || (v & (v - 1)) !== 0) throw new Error('BareMemo: sizes must be powers of two');
    this.ste = new Int32Array(steEntries * E);
    this.cd = new Int32Array(cdSets * 2 * E);
    this.fill = new Uint8Array(cdSets);
  }
  get steShift(): number {
    return 32 - Math.log2(this.steEntries);
  }
  get cdShift(): number {
    return 32 - Math.log2(this.cdSets);
  }
  /** Bytes the memo holds. */
  get bytes(): number {
    return this.ste.byteLength + this.cd.byteLength + this.fill.byteLength;
  }
}

/**
 * The like-built loop: bareSerial's reads, with the model's memo shortcut. STE entry = Fibonacci
 * hash of the StreamID; CD set = hash of SubstreamID ^ StreamID << 12, 2 ways (the model's hashes);
 * a hit needs the 8 (STE) or 6 (CD) words equal and, for a CD, the STE entry's generation.
 */
export function bareMemo(
  ram: Uint32Array,
  base: number,
  strtab: number,
  req: Uint32Array,
  start: number,
  n: number,
  walk: boolean,
  cdw: Int32Array | null,
  ctr: Int32Array,
  m: BareMemo,
): number {
  const ms = m.ste;
  const mc = m.cd;
  const fill = m.fill;
  const steShift = m.steShift;
  const cdShift = m.cdShift;
  let sum = 0;
  for (let q = start, end = start + n; q < end; q++) {
    const o = q * RS;
    const sid = req[o]!;
    const ssid = req[o + 1]!;
    const hi = req[o + 2]!;
    const lo = req[o + 3]!;
    if (cdw !== null) {
      const x = cdw[q]!;
      ram[x] = ((ram[x]! & 0xffff) | (nextAsid(ctr) << 16)) >>> 0;
    }
    let w = (strtab - base + (sid >>> SPLIT) * 8) >>> 2;
    let a = (ram[w + 1]! & STD_HI) * TWO32 + ((ram[w]! & STD_LO) >>> 0);
    w = (a - base + (sid & ((1 << SPLIT) - 1)) * 64) >>> 2;
    const e = (Math.imul(sid, 0x9e3779b1) >>> steShift) * E;
    if (
      ms[e + GEN_STE] === 0 ||
      ms[e] !== (ram[w]! | 0) ||
      ms[e + 1] !== (ram[w + 1]! | 0) ||
      ms[e + 2] !== (ram[w + 2]! | 0) ||
      ms[e + 3] !== (ram[w + 3]! | 0) ||
      ms[e + 4] !== (ram[w + 4]! | 0) ||
      ms[e + 5] !== (ram[w + 5]! | 0) ||
      ms[e + 6] !== (ram[w + 6]! | 0) ||
      ms[e + 7] !== (ram[w + 7]! | 0)
    ) {
      for (let i = 0; i < 8; i++) ms[e + i] = ram[w + i]!;
      ms[e + CTX_L] = ram[w]! & CTX_LO;
      ms[e + CTX_H] = ram[w + 1]! & CTX_HI;
      ms[e + GEN_STE] = ++m.gen;
    }
    const gen = ms[e + GEN_STE]!;
    a = ms[e + CTX_H]! * TWO32 + (ms[e + CTX_L]! >>> 0);
    w = (a - base + (ssid >>> CD_SPLIT) * 8) >>> 2;
    a = (ram[w + 1]! & L1CD_HI) * TWO32 + ((ram[w]! & L1CD_LO) >>> 0);
    w = (a - base + (ssid & ((1 << CD_SPLIT) - 1)) * 64) >>> 2;
    const set = Math.imul(ssid ^ (sid << 12), 0x9e3779b1) >>> cdShift;
    let c = set * 2 * E;
    if (!sameCd(mc, c, gen, ram, w)) {
      c += E;
      if (!sameCd(mc, c, gen, ram, w)) {
        // Miss in both ways: the way holding this (StreamID, SubstreamID), else the empty way 0,
        // else the way filled longer ago (the model's choice, config.ts cdVictim).
        const c0 = c - E;
        const sidI = sid | 0;
        if (mc[c0 + GEN_CD] !== 0 && mc[c0 + KEY_SID] === sidI && mc[c0 + KEY_SSID] === ssid) c = c0;
        else if (!(mc[c + GEN_CD] !== 0 && mc[c + KEY_SID] === sidI && mc[c + KEY_SSID] === ssid))
          c = mc[c0 + GEN_CD] === 0 || fill[set] === 1 ? c0 : c;
        fill[set] = c === c0 ? 0 : 1;
        mc[c + KEY_SID] = sidI;
        mc[c + KEY_SSID] = ssid;
        for (let i = 0; i < 6; i++) mc[c + i] = ram[w + i]!;
        mc[c + TTB_L] = ram[w + 2]! & TTB_LO;
        mc[c + TTB_H] = ram[w + 3]! & TTB_HI;
        mc[c + GEN_CD] = gen;
      }
    }
    a = mc[c + TTB_H]! * TWO32 + (mc[c + TTB_L]! >>> 0);
    if (walk) sum += walk4(ram, base, a, hi, lo);
    else sum += a;
  }
  return sum;
}

function sameCd(mc: Int32Array, c: number, gen: number, ram: Uint32Array, w: number): boolean {
  return (
    mc[c + GEN_CD] === gen &&
    mc[c] === (ram[w]! | 0) &&
    mc[c + 1] === (ram[w + 1]! | 0) &&
    mc[c + 2] === (ram[w + 2]! | 0) &&
    mc[c + 3] === (ram[w + 3]! | 0) &&
    mc[c + 4] === (ram[w + 4]! | 0) &&
    mc[c + 5] === (ram[w + 5]! | 0)
  );
}

// Configuration-cache slot fields (src/smmuv3/config-cache.ts), re-bound at module top.
const STRIDE = K.STRIDE,
  SID = K.SID,
  SSID = K.SSID,
  TLBTAG = K.TLBTAG;

/**
 * The reads of a TLB hit in caching mode: the configuration-cache probe (ConfigCache.lookup: set
 * by (SID * 31) ^ (SSID + 1), compare SSID / SID tags per way, then the slot's TLB tag) and the
 * TLB probe (Tlb.lookup: set by hash of (tag, IOVA), compare key / tag / IOVA[63:32] per way, then
 * the output page), in the model's own arrays. Mirrors src/smmuv3/config-cache.ts and tlb.ts
 * (stage-1 kind, no TBI): like-built by construction (there is no serial chain to a TLB hit).
 */
export function bareTlbHit(
  ci: Int32Array,
  ccSets: number,
  ccWays: number,
  e: Int32Array,
  tlbSets: number,
  tlbWays: number,
  req: Uint32Array,
  start: number,
  n: number,
): number {
  let sum = 0;
  let miss = 0;
  for (let o = start * RS, end = (start + n) * RS; o < end; o += RS) {
    const sid = req[o]!;
    const ssidTag = req[o + 1]! + 1;
    const hi = req[o + 2]!;
    const lo = req[o + 3]!;
    let s = 1 + (((sid * 31) ^ ssidTag) & (ccSets - 1)) * ccWays;
    let c = -1;
    for (let k = 0; k < ccWays; k++, s++) {
      const q = s * STRIDE;
      if (ci[q + SSID] === ssidTag && ci[q + SID] === (sid | 0)) {
        c = q;
        break;
      }
    }
    if (c < 0) {
      miss++;
      continue;
    }
    const tag = ci[c + TLBTAG]!;
    const key2 = (lo & ~0xfff) | 1; // TLB_S1 << 1 | valid
    let h = Math.imul(hi ^ Math.imul(tag, 0x85ebca6b), 0xc2b2ae35);
    h ^= h >>> 15;
    let i = (((lo >>> 12) + h) & (tlbSets - 1)) * tlbWays * 8;
    let hit = false;
    for (let k = 0; k < tlbWays; k++, i += 8) {
      if (e[i + 2] === key2 && e[i] === tag && e[i + 1] === (hi | 0)) {
        sum += (e[i + 3]! >>> 0) * TWO32 + (e[i + 4]! >>> 0) + (lo & 0xfff);
        hit = true;
        break;
      }
    }
    if (!hit) miss++;
  }
  return miss === 0 ? sum : NaN;
}
