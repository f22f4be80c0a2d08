// Baselines: bare typed-array loops that do the same memory reads as the model, at the same
// offsets, with the same index arithmetic, and nothing else (no validation, no decode, no fault
// handling, no function calls, configuration known in advance). They are the ceiling for this
// JavaScript engine on this machine, measured in the same run as the model.
//
// Each returns the same sum as the matching model loop in smmuv3-cases.ts (run.ts checks that
// before timing), and XORs the words it reads but does not need into `bareCheck`, so that no read
// is dead code.
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

// The configuration the bench machine uses: stream table SPLIT 8, CD leaves of 64 (S1Fmt 1),
// 4 KiB granule, 48-bit IOVA (start level 0). VMSAv8-64 output address: bits [47:12].
const SPLIT = 8;
const CD_SPLIT = 6;
const OA_HI = 0xffff;
const OA_LO = 0xfffff000;

/** Sink for words read but not used for addresses (keeps those reads alive). */
export let bareCheck = 0;

/**
 * The reads of one full translation in walk mode: L1STD, STE qwords 0-3, L1CD, CD qwords 0-2,
 * then the 4 stage-1 descriptors (13 reads), each a 64-bit read as two Uint32 halves, each address depending on
 * the previous read. `base` = physical address of ram[0]; `strtab` = STRTAB_BASE.
 */
export function bareWalk(
  ram: Uint32Array,
  base: number,
  strtab: number,
  req: Uint32Array,
  n: number,
): number {
  let sum = 0;
  let chk = 0;
  for (let o = 0, end = n * RS; o < end; o += RS) {
    const sid = req[o]!;
    const ssid = req[o + 1]!;
    const hi = req[o + 2]!;
    const lo = req[o + 3]!;
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
    // Stage 1, levels 0-3: IOVA[47:39], [38:30], [29:21], [20:12].
    w = (a - base + ((hi >>> 7) & 0x1ff) * 8) >>> 2;
    dlo = ram[w]!;
    dhi = ram[w + 1]!;
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
    sum += (dhi & OA_HI) * TWO32 + ((dlo & OA_LO) >>> 0) + (lo & 0xfff);
  }
  bareCheck = chk;
  return sum;
}

/** The reads of the configuration lookup alone: L1STD, STE qwords 0-3, L1CD, CD qwords 0-2 (9 reads). Sums TTB0. */
export function bareConfig(
  ram: Uint32Array,
  base: number,
  strtab: number,
  req: Uint32Array,
  n: number,
): number {
  let sum = 0;
  let chk = 0;
  for (let o = 0, end = n * RS; o < end; o += RS) {
    const sid = req[o]!;
    const ssid = req[o + 1]!;
    let w = (strtab - base + (sid >>> SPLIT) * 8) >>> 2;
    let dlo = ram[w]!;
    let dhi = ram[w + 1]!;
    let a = (dhi & STD_HI) * TWO32 + ((dlo & STD_LO) >>> 0);
    w = (a - base + (sid & ((1 << SPLIT) - 1)) * 64) >>> 2;
    dlo = ram[w]!;
    dhi = ram[w + 1]!;
    chk ^= ram[w + 2]! ^ ram[w + 3]! ^ ram[w + 4]! ^ ram[w + 5]! ^ ram[w + 6]! ^ ram[w + 7]!;
    a = (dhi & CTX_HI) * TWO32 + ((dlo & CTX_LO) >>> 0);
    w = (a - base + (ssid >>> CD_SPLIT) * 8) >>> 2;
    dlo = ram[w]!;
    dhi = ram[w + 1]!;
    a = (dhi & L1CD_HI) * TWO32 + ((dlo & L1CD_LO) >>> 0);
    w = (a - base + (ssid & ((1 << CD_SPLIT) - 1)) * 64) >>> 2;
    chk ^= ram[w]! ^ ram[w + 1]! ^ ram[w + 4]! ^ ram[w + 5]!;
    sum += (ram[w + 3]! & TTB_HI) * TWO32 + ((ram[w + 2]! & TTB_LO) >>> 0);
  }
  bareCheck = chk;
  return sum;
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
 * (stage-1 kind, no TBI); run.ts checks that it finds the model's PAs.
 */
export function bareTlbHit(
  ci: Int32Array,
  ccSets: number,
  ccWays: number,
  e: Int32Array,
  tlbSets: number,
  tlbWays: number,
  req: Uint32Array,
  n: number,
): number {
  let sum = 0;
  let miss = 0;
  for (let o = 0, end = n * RS; o < end; o += RS) {
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
