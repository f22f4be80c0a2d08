// VMSAv8-64 translation table walks for the SMMU: stage 1 (CD.TTB0/TTB1) and stage 2 (STE.S2TTB),
// 4/16/64 KiB granules, 48- and 52-bit (64 KiB granule, FEAT_LPA/LVA) addresses, table and block
// descriptors, hierarchical attributes, access flag and dirty state (HTTU), and the nested case
// where every stage-1 table address is an IPA translated by stage 2.
//
// Arm ARM (DDI 0487) D8 "The AArch64 Virtual Memory System Architecture"; IHI0070 §3.4 (address
// sizes), §5.4 (CD), §7.3 (faults). FEAT_LPA2 (52-bit with 4K/16K granules), FEAT_TTST (small
// translation tables) and AArch32 (VMSAv8-32 LPAE) formats are not implemented: CDs and STEs that
// need them are ILLEGAL here (C_BAD_CD / C_BAD_STE), and a 52-bit IPS with a 4K/16K granule is
// capped at 48 bits.
//
// Hot path: no allocation, no BigInt. Descriptors are read as (lo, hi) 32-bit halves; addresses are
// Numbers (< 2^52, exact). Results go into fields of the model (m.wPa, m.wPerm, ...).
import * as Mconfig_cache from './config-cache.ts';
const {
  K,
  KF,
  S1F_AFFD,
  S1F_EL2,
  S1F_HA,
  S1F_HAD0,
  S1F_HAD1,
  S1F_HD,
  S1F_PAN,
  S1F_TBI0,
  S1F_TBI1,
  S1F_WXN,
  S2F_AFFD,
  S2F_HA,
  S2F_HD,
} = Mconfig_cache;
import * as Mevents from './events.ts';
const { EVT } = Mevents;
import type { PhysMem } from '../mem/phys-mem.ts';
import type { ConfigCache } from './config-cache.ts';
import type { Features } from './features.ts';

/**
 * What the walkers read and write of the device: memory, the decoded slot (cc), the ID registers,
 * and the walk's outputs and fault details. The SMMUv3 class satisfies it structurally (no runtime
 * cost); nothing else of the device is reachable from here.
 */
export interface WalkCtx {
  readonly mem: PhysMem;
  readonly cc: ConfigCache;
  readonly feat: Features;
  /** ATS with STE.EATS = 0b10: the stage-1 output (an IPA) is the answer. */
  readonly atsSplit: boolean;
  /** Stage-1 (or final) result: output address, permissions, page size (log2), nG = 0. */
  wPa: number;
  wPerm: number;
  wShift: number;
  wGlobal: number;
  /** Stage-2 result. */
  s2Pa: number;
  s2Perm: number;
  s2Shift: number;
  /** Fault details (set only when a fault is returned): stage 2?, CLASS, IPA of a stage-2 fault, TT write. */
  fltS2: number;
  fltClass: number;
  fltAddr: number;
  fltTtWrite: number;
}

// Slot field offsets, re-bound locally (imported object properties are slow on the hot path).
const {
  TTB0HI: K_TTB0HI,
  TTB0LO: K_TTB0LO,
  TTB1HI: K_TTB1HI,
  TTB1LO: K_TTB1LO,
  G0: K_G0,
  G1: K_G1,
  IPS: K_IPS,
  S1F: K_S1F,
  S2F: K_S2F,
  S2G: K_S2G,
  S2PS: K_S2PS,
  S2SL: K_S2SL,
  S2TSZ: K_S2TSZ,
  SL0: K_SL0,
  SL1: K_SL1,
  STRIDE: K_STRIDE,
  TSZ0: K_TSZ0,
  TSZ1: K_TSZ1,
} = K;
const { S2TTB: KF_S2TTB, STRIDE: KF_STRIDE } = KF;

const F_TRANSLATION = EVT.F_TRANSLATION;
const F_ADDR_SIZE = EVT.F_ADDR_SIZE;
const F_ACCESS = EVT.F_ACCESS;
const F_PERMISSION = EVT.F_PERMISSION;
const F_WALK_EABT = EVT.F_WALK_EABT;

/** Event CLASS (IHI0070 §7.3.12): what the failing access was translating. */
export const CLASS_CD = 0;
export const CLASS_TT = 1;
export const CLASS_IN = 2;

/** Permission mask bits: privileged / unprivileged x read / write / execute. */
export const P_R = 1,
  P_W = 2,
  P_X = 4,
  U_R = 8,
  U_W = 16,
  U_X = 32;
/** Access flags of a transaction. */
export const ACC_W = 1,
  ACC_X = 2,
  ACC_U = 4;

/**
 * Permission bits an access needs, indexed by its ACC_* flags. An instruction fetch needs execute
 * permission only, not read (DDI 0487 AArch64.S1CheckPermission / S2CheckPermission: an IFETCH
 * faults on !x alone; IHI0070 §13.7.1, §3.22): execute-only pages exist at both stages, and PAN,
 * which removes privileged read / write, does not apply to fetches. Instruction writes are data
 * writes (IHI0070 §13.7.1: InD is ignored for writes).
 */
export const REQUIRED = new Int32Array([
  P_R,
  P_W,
  P_X,
  P_W, // privileged: read, write, instr read, instr write
  U_R,
  U_W,
  U_X,
  U_W, // unprivileged
]);

const TWO32 = 4294967296;
/** 2^n, n = 0..64 (no Math.pow on the hot path). */
export const POW2 = Float64Array.from({ length: 65 }, (_, n) => 2 ** n);

/** Start level of a stage-1 walk for granule 2^g and input size ias (Arm ARM D8.2). */
export function s1StartLevel(g: number, ias: number): number {
  const stride = g - 3;
  return 4 - Math.ceil((ias - g) / stride);
}

/**
 * Start level for stage 2 from S2SL0 (VTCR_EL2.SL0 encoding), or -1 if the (granule, SL0, IAS)
 * combination is ILLEGAL: reserved SL0, a start level the output size does not allow (DDI 0487
 * AArch64.S2InvalidSL, PAMax = `pamax`, the SMMU OAS: SL0 = 0b10 needs 44 bits with 4K and 64K, 42
 * with 16K), an IPA too large for the start level even with 16 concatenated tables, or too small
 * to need it (AArch64.S2InconsistentSL). Concatenation at level 0 is not allowed.
 */
export function s2StartLevel(g: number, sl0: number, ias: number, pamax: number): number {
  let sl: number;
  if (g === 12) sl = sl0 === 0 ? 2 : sl0 === 1 ? 1 : sl0 === 2 ? 0 : -1;
  else sl = sl0 === 0 ? 3 : sl0 === 1 ? 2 : sl0 === 2 ? 1 : -1; // SL0=3: FEAT_TTST / LPA2 only
  if (sl < 0) return -1;
  if (sl0 === 2 && pamax < (g === 14 ? 42 : 44)) return -1;
  const stride = g - 3;
  const covered = g + (4 - sl) * stride;
  if (ias > covered + 4 || ias <= covered - stride) return -1;
  if (sl === 0 && ias > covered) return -1;
  if (g === 16 && sl === 1 && ias <= 42) return -1;
  return sl;
}

/** Bits [s-1:0] of the 64-bit value (hi, lo) as a Number; s <= 52. */
function lowBits(hi: number, lo: number, s: number): number {
  if (s <= 31) return (lo & ((1 << s) - 1)) >>> 0;
  if (s === 32) return lo >>> 0;
  return (hi & ((1 << (s - 32)) - 1)) * TWO32 + (lo >>> 0);
}

/** Index of the descriptor at shift s, `bits` wide, of the input (hi, lo). */
function indexAt(hi: number, lo: number, s: number, bits: number): number {
  const m = (1 << bits) - 1;
  if (s >= 32) return (hi >>> (s - 32)) & m;
  return ((lo >>> s) | (hi << (32 - s))) & m;
}

/**
 * Output address in a descriptor (lo, hi) for granule g, with the bits below s cleared: bits
 * [47:s], plus [51:48] from descriptor bits [15:12] with the 64 KiB granule (FEAT_LPA).
 */
function descOA(lo: number, hi: number, g: number, s: number): number {
  let oaHi = hi & 0xffff;
  let oaLo: number;
  if (s >= 32) {
    oaLo = 0;
    oaHi &= ~((1 << (s - 32)) - 1);
  } else {
    oaLo = (lo & ~((1 << s) - 1)) >>> 0;
  }
  if (g === 16) oaHi |= ((lo >>> 12) & 0xf) << 16;
  return oaHi * TWO32 + oaLo;
}

/**
 * Stage-2 translation of `ipa` (< 2^52) for the configuration in slot `o`. `acc` = ACC_* flags,
 * `cls` = the event CLASS if it faults. Returns 0 with m.s2Pa / m.s2Perm / m.s2Shift, or an event
 * id with m.fltS2 = 1, m.fltClass, m.fltAddr (IPA, or the descriptor address for F_WALK_EABT).
 */
export function walkS2(m: WalkCtx, slot: number, ipa: number, acc: number, cls: number): number {
  const ci = m.cc.ci;
  const o = slot * K_STRIDE;
  const g = ci[o + K_S2G]!;
  const ias = 64 - ci[o + K_S2TSZ]!;
  const ps = ci[o + K_S2PS]!;
  const flags = ci[o + K_S2F]!;
  const mem = m.mem;
  m.fltS2 = 1;
  m.fltClass = cls;
  m.fltTtWrite = cls === CLASS_TT && (acc & ACC_W) !== 0 ? 1 : 0;
  m.fltAddr = ipa;
  if (ipa >= POW2[ias]!) return F_TRANSLATION;
  const hi = Math.floor(ipa / TWO32);
  const lo = ipa >>> 0;
  const stride = g - 3;
  let level = ci[o + K_S2SL]!;
  let table = m.cc.cf[slot * KF_STRIDE + KF_S2TTB]!;
  let s = g + (3 - level) * stride;
  let bits = ias - s; // start level: stride bits plus any concatenation
  for (;;) {
    const da = table + indexAt(hi, lo, s, bits) * 8;
    if (!mem.read64(da)) {
      m.fltAddr = da;
      return F_WALK_EABT;
    }
    const dlo = mem.lo;
    const dhi = mem.hi;
    if ((dlo & 1) === 0) return F_TRANSLATION;
    if (level < 3 && (dlo & 2) !== 0) {
      // Table descriptor. Stage-2 table descriptors carry no attributes.
      table = descOA(dlo, dhi, g, g);
      if (table >= POW2[ps]!) return F_ADDR_SIZE;
      level++;
      s -= stride;
      bits = stride;
      continue;
    }
    if (level === 3 ? (dlo & 2) === 0 : !blockAllowed(g, level, m.feat.oasBits)) return F_TRANSLATION;
    const oa = descOA(dlo, dhi, g, s);
    if (oa >= POW2[ps]!) return F_ADDR_SIZE;
    // Access flag: with S2HA the SMMU sets it, and S2AFFD is IGNORED (IHI0070 §5.2 S2AFFD, §3.13.2);
    // without S2HA, AF = 0 faults unless S2AFFD.
    let newLo = dlo;
    if ((dlo & 0x400) === 0) {
      if ((flags & S2F_HA) !== 0) newLo |= 0x400;
      else if ((flags & S2F_AFFD) === 0) return F_ACCESS;
    }
    // S2AP[0] = read, S2AP[1] = write; DBM (bit 51) with S2HD makes a write-clean page writable.
    const rd = (dlo >>> 6) & 1;
    let wr = (dlo >>> 7) & 1;
    if (wr === 0 && (acc & ACC_W) !== 0 && (flags & S2F_HD) !== 0 && (dhi & 0x80000) !== 0) {
      wr = 1;
      newLo |= 0x80;
    }
    let px: number;
    let ux: number;
    if (m.feat.xnx) {
      const xn = (dhi >>> 21) & 3; // XN[1:0] (FEAT_XNX)
      px = xn === 0 || xn === 3 ? 1 : 0;
      ux = xn === 0 || xn === 1 ? 1 : 0;
    } else {
      px = ux = ((dhi >>> 22) & 1) ^ 1;
    }
    const perm = (rd * (P_R | U_R)) | (wr * (P_W | U_W)) | (px * P_X) | (ux * U_X);
    const need = REQUIRED[acc & 7]!;
    if ((perm & need) !== need) return F_PERMISSION;
    if (newLo !== dlo && !mem.cas32(da, dlo, newLo)) {
      // Lost a race with another writer: the architecture retries the update; so do we, by walking again.
      return walkS2(m, slot, ipa, acc, cls);
    }
    m.s2Pa = oa + lowBits(hi, lo, s);
    m.s2Perm = perm;
    m.s2Shift = s;
    m.fltS2 = 0;
    return 0;
  }
}

/**
 * Block descriptors: 4K at levels 1-2, 16K at level 2, 64K at level 2, and at level 1 when the
 * implementation has 52-bit PAs (Arm ARM AArch64.BlockDescSupported: PAMax, here SMMU_IDR5.OAS,
 * not the configured IPS / S2PS; an output beyond those is an Address Size fault instead).
 */
function blockAllowed(g: number, level: number, pamax: number): boolean {
  if (g === 12) return level === 1 || level === 2;
  if (g === 14) return level === 2;
  return level === 2 || (level === 1 && pamax >= 52);
}

/**
 * Stage-1 permissions (P_* / U_* mask) of a leaf, from its effective AP[2] (after a dirty-state
 * update), the AP[2] that counts for execute (writable-clean is writable), AP[1] (EL0 access), PXN,
 * UXN and the regime's PAN, WXN and EL2 flags (Arm ARM D8.4, AArch64.S1ApplyOutputPerms).
 */
function s1Perm(
  ap2: number,
  ap2x: number,
  ap1: number,
  pxn: number,
  uxn: number,
  pan: boolean,
  wxn: boolean,
  el2: boolean,
): number {
  if (el2) {
    // EL2 regime: one privilege level, AP[1] RES1, XN = bit 54. Unprivileged accesses are treated
    // as privileged.
    const x = uxn === 0 && !(wxn && ap2x === 0) ? 1 : 0;
    return P_R | U_R | (ap2 === 0 ? P_W | U_W : 0) | (x * (P_X | U_X));
  }
  const uw = ap1 === 1 && ap2 === 0;
  const uwx = ap1 === 1 && ap2x === 0; // EL0-writable, counting writable-clean
  return (
    (pan && ap1 === 1 ? 0 : P_R | (ap2 === 0 ? P_W : 0)) |
    (ap1 === 1 ? U_R | (uw ? U_W : 0) : 0) |
    (pxn === 0 && !uwx && !(wxn && ap2x === 0) ? P_X : 0) |
    (uxn === 0 && !(wxn && uwx) ? U_X : 0)
  );
}

/** s1Perm for every input, indexed by ap2 | ap2x << 1 | ap1 << 2 | pxn << 3 | uxn << 4 | PAN << 5 | WXN << 6 | EL2 << 7. */
const S1_PERM = Int32Array.from({ length: 256 }, (_, i) =>
  s1Perm(
    i & 1,
    (i >>> 1) & 1,
    (i >>> 2) & 1,
    (i >>> 3) & 1,
    (i >>> 4) & 1,
    (i & 32) !== 0,
    (i & 64) !== 0,
    (i & 128) !== 0,
  ),
);

/** A stage-1 fault (CLASS IN, no IPA): sets the fault fields for the event record, returns `id`. */
function s1Fault(m: WalkCtx, id: number): number {
  m.fltS2 = 0;
  m.fltClass = CLASS_IN;
  m.fltAddr = 0;
  m.fltTtWrite = 0;
  return id;
}

/**
 * Stage-1 translation of the 64-bit input address (vaHi, vaLo) for the configuration in slot
 * `slot`. In a nested configuration every table address and the output are IPAs: they go through
 * walkS2. Returns 0 with m.wPa / m.wPerm (P_* / U_* mask, S1 & S2 combined) / m.wShift / m.wGlobal,
 * or an event id with the fault fields set.
 */
export function walkS1(
  m: WalkCtx,
  slot: number,
  vaHi: number,
  vaLo: number,
  acc: number,
  nested: boolean,
): number {
  const ci = m.cc.ci;
  const o = slot * K_STRIDE;
  const f1 = ci[o + K_S1F]!;
  const mem = m.mem;
  // Select TTB0 / TTB1 by VA[55]; with TBI the top byte is ignored (Arm ARM D8.8, AddrTop).
  const sel = (vaHi >>> 23) & 1;
  const tbi = (f1 & (sel === 0 ? S1F_TBI0 : S1F_TBI1)) !== 0;
  const top = tbi ? 55 : 63;
  const tb = (vaHi >>> (top - 32)) & 1; // the bit that picks the range
  // Table addresses as 32-bit halves: integer arithmetic on the dependent path. Tables are aligned
  // to their size, so the descriptor index never carries into the high half.
  let g: number, tsz: number, level: number, tHi: number, tLo: number, had: boolean;
  if (tb === 0) {
    g = ci[o + K_G0]!;
    tsz = ci[o + K_TSZ0]!;
    level = ci[o + K_SL0]!;
    tHi = ci[o + K_TTB0HI]!;
    tLo = ci[o + K_TTB0LO]!;
    had = (f1 & S1F_HAD0) !== 0;
  } else {
    g = ci[o + K_G1]!;
    tsz = ci[o + K_TSZ1]!;
    level = ci[o + K_SL1]!;
    tHi = ci[o + K_TTB1HI]!;
    tLo = ci[o + K_TTB1LO]!;
    had = (f1 & S1F_HAD1) !== 0;
  }
  if (g === 0) return s1Fault(m, F_TRANSLATION); // EPDx: walks of this range are disabled
  // PAN, WXN and the EL2 regime, as the high bits of an S1_PERM index.
  const regime =
    ((f1 & S1F_PAN) !== 0 ? 32 : 0) | ((f1 & S1F_WXN) !== 0 ? 64 : 0) | ((f1 & S1F_EL2) !== 0 ? 128 : 0);
  const ias = 64 - tsz;
  // VA[top:ias] must all equal the range bit: shifted so that bit `top` is the sign bit, an
  // arithmetic shift down to bit `ias` leaves 0 (range 0) or -1 (range 1).
  {
    const up = 63 - top; // 0, or 8 with TBI
    if (ias >= 32) {
      if ((vaHi << up) >> (ias - 32 + up) !== -tb) return s1Fault(m, F_TRANSLATION);
    } else if ((vaHi << up) >> up !== -tb || vaLo >> ias !== -tb) {
      return s1Fault(m, F_TRANSLATION);
    }
  }
  // An output or table address is below 2^IPS (IPS >= 32): its high half below this.
  const ipsHi = 1 << (ci[o + K_IPS]! - 32);
  if (tHi >= ipsHi) return s1Fault(m, F_ADDR_SIZE);
  const gMask = ~((1 << g) - 1);
  const stride = g - 3;
  let s = g + (3 - level) * stride;
  let bits = ias - s;
  // Hierarchical attributes (APTable, PXNTable, UXNTable: upper bits [62:59]) ORed over the table
  // descriptors, unless HAD.
  let tAttr = 0;
  for (;;) {
    let daHi = tHi;
    let daLo = (tLo | (indexAt(vaHi, vaLo, s, bits) << 3)) >>> 0; // an IPA when nested
    if (nested) {
      const st = walkS2(m, slot, daHi * TWO32 + daLo, 0, CLASS_TT);
      if (st !== 0) return st;
      daHi = (m.s2Pa / TWO32) >>> 0;
      daLo = m.s2Pa >>> 0;
      m.fltClass = CLASS_IN; // a stage-1 fault below is CLASS IN, not the stage-2 walk's TT
    }
    if (!mem.read64hl(daHi, daLo)) {
      m.fltS2 = 0;
      m.fltClass = CLASS_TT;
      m.fltAddr = daHi * TWO32 + daLo;
      m.fltTtWrite = 0;
      return F_WALK_EABT;
    }
    const dlo = mem.lo;
    const dhi = mem.hi;
    if ((dlo & 1) === 0) return s1Fault(m, F_TRANSLATION);
    if (level < 3 && (dlo & 2) !== 0) {
      tHi = dhi & 0xffff;
      if (g === 16) tHi |= ((dlo >>> 12) & 0xf) << 16; // FEAT_LPA: next-level address [51:48]
      tLo = (dlo & gMask) >>> 0;
      if (tHi >= ipsHi) return s1Fault(m, F_ADDR_SIZE);
      tAttr |= dhi;
      level++;
      s -= stride;
      bits = stride;
      continue;
    }
    if (level === 3 ? (dlo & 2) === 0 : !blockAllowed(g, level, m.feat.oasBits))
      return s1Fault(m, F_TRANSLATION);
    // Output address: descriptor bits [47:s] (with the 64 KiB granule, [51:48] from bits [15:12]),
    // and the input address below s.
    let oaHi = dhi & 0xffff;
    if (g === 16) oaHi |= ((dlo >>> 12) & 0xf) << 16;
    let pa: number;
    if (s < 32) {
      if (oaHi >= ipsHi) return s1Fault(m, F_ADDR_SIZE);
      const low = (1 << s) - 1;
      pa = oaHi * TWO32 + (((dlo & ~low) | (vaLo & low)) >>> 0);
    } else {
      const low = (1 << (s - 32)) - 1;
      oaHi &= ~low;
      if (oaHi >= ipsHi) return s1Fault(m, F_ADDR_SIZE);
      pa = (oaHi | (vaHi & low)) * TWO32 + (vaLo >>> 0);
    }
    // Access flag: with HA the SMMU sets it, and AFFD is IGNORED (IHI0070 §5.4 AFFD, §3.13.2);
    // without HA, AF = 0 faults unless AFFD.
    let newLo = dlo;
    if ((dlo & 0x400) === 0) {
      if ((f1 & S1F_HA) !== 0) newLo |= 0x400;
      else if ((f1 & S1F_AFFD) === 0) return s1Fault(m, F_ACCESS);
    }
    // AP[2] (bit 7): read-only; AP[1] (bit 6): EL0 access. DBM (bit 51) + HD: writable-clean. A
    // writable-clean page counts as writable for every permission check (Arm ARM
    // AArch64.S1ApplyOutputPerms: its effective AP[2] is 0), so PXN-if-EL0-writable and WXN apply
    // to it even before it is dirtied; only the write permission in the result waits for the update.
    const dbm = (f1 & S1F_HD) !== 0 && (dhi & 0x80000) !== 0;
    const apt = had ? 0 : (tAttr >>> 29) & 3; // bit 0: APTable[0] (no EL0 access), bit 1: APTable[1] (read-only)
    const ap2x = (dbm ? 0 : (dlo >>> 7) & 1) | ((apt >>> 1) & 1); // effective AP[2] for execute
    let ap2 = (dlo >>> 7) & 1;
    if (ap2 === 1 && (acc & ACC_W) !== 0 && dbm && (apt & 2) === 0) {
      ap2 = 0;
      newLo &= ~0x80;
    }
    ap2 |= (apt >>> 1) & 1;
    const ap1 = (dlo >>> 6) & 1 & ~apt & 1;
    const pxn = ((dhi >>> 21) & 1) | (had ? 0 : (tAttr >>> 27) & 1);
    const uxn = ((dhi >>> 22) & 1) | (had ? 0 : (tAttr >>> 28) & 1);
    let perm = S1_PERM[ap2 | (ap2x << 1) | (ap1 << 2) | (pxn << 3) | (uxn << 4) | regime]!;
    const need = REQUIRED[acc & 7]!;
    if ((perm & need) !== need) return s1Fault(m, F_PERMISSION);
    if (nested && newLo !== dlo) {
      // The Access flag / dirty state update writes the descriptor at its IPA: stage 2 must allow
      // that write (Arm ARM AArch64.MemSwapTableDesc). A stage-2 fault here has CLASS TT and
      // TTRnW = write (IHI0070 §7.3.16); it comes before the translation of the output address.
      const dIpa = tHi * TWO32 + ((tLo | (indexAt(vaHi, vaLo, s, bits) << 3)) >>> 0);
      const st = walkS2(m, slot, dIpa, ACC_W, CLASS_TT);
      if (st !== 0) return st;
      m.fltClass = CLASS_IN;
    }
    let shift = s;
    if (nested && !m.atsSplit) {
      const st = walkS2(m, slot, pa, acc, CLASS_IN);
      if (st !== 0) return st;
      pa = m.s2Pa;
      perm &= m.s2Perm;
      if (m.s2Shift < shift) shift = m.s2Shift;
    }
    if (newLo !== dlo && !mem.cas32(daHi * TWO32 + daLo, dlo, newLo))
      return walkS1(m, slot, vaHi, vaLo, acc, nested);
    m.wPa = pa;
    m.wPerm = perm;
    m.wShift = shift;
    m.wGlobal = (dlo & 0x800) === 0 ? 1 : 0;
    return 0;
  }
}
