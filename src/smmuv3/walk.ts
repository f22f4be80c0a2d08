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
// Hot path: no allocation, no BigInt, no float address arithmetic. Descriptors are read as (lo, hi)
// 32-bit halves, and every address (input, table, output) travels as (hi, lo) halves; a Number PA is
// produced only for the result (m.wPa, m.s2Pa) and for a fault record. Descriptor bit positions are
// module-local constants derived from the layouts in src/pt/vmsav8-64.ts.
import * as Mconfig_cache from './config-cache.ts';
const {
  K,
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
const { EVT, EVT_CLASS } = Mevents;
import * as Mvmsa from '../pt/vmsav8-64.ts';
const { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE, descAddr, descBit, descField } = Mvmsa;
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
  /** Stage-2 result: output address as halves and as a Number. */
  s2PaHi: number;
  s2PaLo: number;
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
  S2TTBHI: K_S2TTBHI,
  S2TTBLO: K_S2TTBLO,
} = K;

// Descriptor bits (DDI 0487 D8.3), derived once from the layouts. `lo` masks and shifts apply to
// descriptor bits [31:0], `hi` ones to bits [63:32]; each derivation checks which half the field is in.
function inLo(b: Mvmsa.DescBit, what: string): number {
  if (b.hi !== 0) throw new Error(`VMSA layout: ${what} moved to the high half`);
  return b.mask;
}
function inHi(b: Mvmsa.DescBit, what: string): number {
  if (b.hi !== 1) throw new Error(`VMSA layout: ${what} moved to the low half`);
  return b.mask;
}
function shiftOf(mask: number): number {
  return 31 - Math.clz32(mask);
}
function same(a: object, b: object, what: string): void {
  if (JSON.stringify(a) !== JSON.stringify(b))
    throw new Error(`VMSA layout: ${what} differs between formats`);
}
same(descBit(VMSA_TABLE, 'Table'), descBit(VMSA_S1_LEAF, 'Page'), 'Table / Page');
same(descBit(VMSA_S1_LEAF, 'Page'), descBit(VMSA_S2_LEAF, 'Page'), 'Page');
same(descBit(VMSA_S1_LEAF, 'AF'), descBit(VMSA_S2_LEAF, 'AF'), 'AF');
same(descBit(VMSA_S1_LEAF, 'DBM'), descBit(VMSA_S2_LEAF, 'DBM'), 'DBM');
same(descAddr(VMSA_TABLE, 'NextLevelTableAddr'), descAddr(VMSA_S1_LEAF, 'OutputAddr'), 'address');
same(descAddr(VMSA_S1_LEAF, 'OutputAddr'), descAddr(VMSA_S2_LEAF, 'OutputAddr'), 'OutputAddr');
const D_VALID = inLo(descBit(VMSA_TABLE, 'Valid'), 'Valid');
/** Table descriptor at levels 0-2, page descriptor at level 3. */
const D_TABLE = inLo(descBit(VMSA_TABLE, 'Table'), 'Table');
const D_AF = inLo(descBit(VMSA_S1_LEAF, 'AF'), 'AF');
const D_NG = inLo(descBit(VMSA_S1_LEAF, 'nG'), 'nG');
const D_DBM = inHi(descBit(VMSA_S1_LEAF, 'DBM'), 'DBM');
const AP = descField(VMSA_S1_LEAF, 'AP');
if (AP.hi !== 0 || AP.mask !== 3) throw new Error('VMSA layout: AP moved');
/** AP[1] (EL0 access) and AP[2] (read-only): bits AP.shift and AP.shift + 1 of the low half. */
const AP1_SHIFT = AP.shift;
const AP2_SHIFT = AP.shift + 1;
const D_AP2 = 1 << AP2_SHIFT;
const PXN_SHIFT = shiftOf(inHi(descBit(VMSA_S1_LEAF, 'PXN'), 'PXN'));
const UXN_SHIFT = shiftOf(inHi(descBit(VMSA_S1_LEAF, 'UXN'), 'UXN'));
const S2AP = descField(VMSA_S2_LEAF, 'S2AP');
if (S2AP.hi !== 0 || S2AP.mask !== 3) throw new Error('VMSA layout: S2AP moved');
/** S2AP[0] (read) and S2AP[1] (write). */
const S2AP_R_SHIFT = S2AP.shift;
const S2AP_W_SHIFT = S2AP.shift + 1;
const D_S2AP_W = 1 << S2AP_W_SHIFT;
const XN = descField(VMSA_S2_LEAF, 'XN');
if (XN.hi !== 1 || XN.mask !== 3) throw new Error('VMSA layout: XN moved');
/** Stage-2 XN[1:0] (FEAT_XNX); without FEAT_XNX only XN[1] counts. */
const XN_SHIFT = XN.shift;
const XN1_SHIFT = XN.shift + 1;
const APT = descField(VMSA_TABLE, 'APTable');
if (APT.hi !== 1 || APT.mask !== 3) throw new Error('VMSA layout: APTable moved');
const APTABLE_SHIFT = APT.shift;
const PXNTABLE_SHIFT = shiftOf(inHi(descBit(VMSA_TABLE, 'PXNTable'), 'PXNTable'));
const UXNTABLE_SHIFT = shiftOf(inHi(descBit(VMSA_TABLE, 'UXNTable'), 'UXNTable'));
const OA = descAddr(VMSA_S1_LEAF, 'OutputAddr');
/** Address bits [47:32] in the high half; with the 64 KiB granule (FEAT_LPA) OA[51:48] sit in the
 * field's four lowest bits [15:12] and go to address bits [51:48] (high-half bit 16 up). */
const OA_LO = OA.loMask;
const OA_HI = OA.hiMask;
const LPA_SHIFT = OA.lo;
const LPA_TO = 32 - Math.clz32(OA_HI);

/** The derived constants, for the test that checks them against the layouts (not used here). */
export const VMSA_BITS = {
  D_VALID,
  D_TABLE,
  D_AF,
  D_NG,
  D_DBM,
  AP1_SHIFT,
  AP2_SHIFT,
  PXN_SHIFT,
  UXN_SHIFT,
  S2AP_R_SHIFT,
  S2AP_W_SHIFT,
  XN_SHIFT,
  XN1_SHIFT,
  APTABLE_SHIFT,
  PXNTABLE_SHIFT,
  UXNTABLE_SHIFT,
  OA_LO,
  OA_HI,
  LPA_SHIFT,
  LPA_TO,
} as const;

const F_TRANSLATION = EVT.F_TRANSLATION;
const F_ADDR_SIZE = EVT.F_ADDR_SIZE;
const F_ACCESS = EVT.F_ACCESS;
const F_PERMISSION = EVT.F_PERMISSION;
const F_WALK_EABT = EVT.F_WALK_EABT;

/** Event CLASS (IHI0070 §7.3.12): what the failing access was translating (events.ts, EVT_CLASS). */
const CLASS_TT = EVT_CLASS.TT;
const CLASS_IN = EVT_CLASS.IN;

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
/** 2^n, n = 0..64 (no Math.pow on the cold paths that need it). */
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

/** Index of the descriptor at shift s, `bits` wide, of the input (hi, lo). */
function indexAt(hi: number, lo: number, s: number, bits: number): number {
  const m = (1 << bits) - 1;
  if (s >= 32) return (hi >>> (s - 32)) & m;
  return ((lo >>> s) | (hi << (32 - s))) & m;
}

/**
 * Output (or next-level table) address in a descriptor (lo, hi) for granule 2^g, bits below s
 * cleared: the high half, address bits [51:32]. Bits [47:32] are descriptor bits [47:32]; with the 64
 * KiB granule, [51:48] come from descriptor bits [15:12] (FEAT_LPA).
 */
function oaHiOf(lo: number, hi: number, g: number, s: number): number {
  let oaHi = hi & OA_HI;
  if (s > 32) oaHi &= ~((1 << (s - 32)) - 1);
  if (g === 16) oaHi |= ((lo >>> LPA_SHIFT) & 0xf) << LPA_TO;
  return oaHi;
}

/** The low half of the same address: descriptor bits [31:s] (0 when s >= 32). */
function oaLoOf(lo: number, s: number): number {
  return s >= 32 ? 0 : (lo & OA_LO & ~((1 << s) - 1)) >>> 0;
}

/** A stage-2 fault on the IPA (hi, lo): the record's IPA; the other fault fields are set. */
function s2Fault(m: WalkCtx, id: number, hi: number, lo: number): number {
  m.fltAddr = (hi >>> 0) * TWO32 + (lo >>> 0);
  return id;
}

/**
 * Stage-2 translation of the IPA (ipaHi, ipaLo) for the configuration in slot `slot`. `acc` =
 * ACC_* flags, `cls` = the event CLASS if it faults. Returns 0 with m.s2PaHi / m.s2PaLo (and the
 * Number m.s2Pa) / m.s2Perm / m.s2Shift, or an event id with m.fltS2 = 1, m.fltClass, m.fltAddr (IPA,
 * or the descriptor address for F_WALK_EABT).
 */
export function walkS2(
  m: WalkCtx,
  slot: number,
  ipaHi: number,
  ipaLo: number,
  acc: number,
  cls: number,
): number {
  const ci = m.cc.ci;
  const o = slot * K_STRIDE;
  const g = ci[o + K_S2G]!;
  const ias = 64 - ci[o + K_S2TSZ]!;
  // An output or table address is below 2^PS (PS >= 32): its high half below this.
  const psHi = 1 << (ci[o + K_S2PS]! - 32);
  const flags = ci[o + K_S2F]!;
  const mem = m.mem;
  m.fltS2 = 1;
  m.fltClass = cls;
  m.fltTtWrite = cls === CLASS_TT && (acc & ACC_W) !== 0 ? 1 : 0;
  // The IPA must fit 64 - S2T0SZ bits (25..52).
  if (ias >= 32 ? ipaHi >>> (ias - 32) !== 0 : ipaHi !== 0 || ipaLo >>> ias !== 0)
    return s2Fault(m, F_TRANSLATION, ipaHi, ipaLo);
  const stride = g - 3;
  let level = ci[o + K_S2SL]!;
  // Table addresses as halves. Tables are aligned to their size (the start table by the STE decode,
  // the others by the granule), so the descriptor index never carries into the high half.
  let tHi = ci[o + K_S2TTBHI]!;
  let tLo = ci[o + K_S2TTBLO]!;
  let s = g + (3 - level) * stride;
  let bits = ias - s; // start level: stride bits plus any concatenation
  for (;;) {
    const daLo = (tLo | (indexAt(ipaHi, ipaLo, s, bits) << 3)) >>> 0;
    if (!mem.read64hl(tHi, daLo)) {
      m.fltAddr = tHi * TWO32 + daLo;
      return F_WALK_EABT;
    }
    const dlo = mem.lo;
    const dhi = mem.hi;
    if ((dlo & D_VALID) === 0) return s2Fault(m, F_TRANSLATION, ipaHi, ipaLo);
    if (level < 3 && (dlo & D_TABLE) !== 0) {
      // Table descriptor. Stage-2 table descriptors carry no attributes.
      tHi = oaHiOf(dlo, dhi, g, g);
      tLo = oaLoOf(dlo, g);
      if (tHi >= psHi) return s2Fault(m, F_ADDR_SIZE, ipaHi, ipaLo);
      level++;
      s -= stride;
      bits = stride;
      continue;
    }
    if (level === 3 ? (dlo & D_TABLE) === 0 : !blockAllowed(g, level, m.feat.oasBits))
      return s2Fault(m, F_TRANSLATION, ipaHi, ipaLo);
    const oaHi = oaHiOf(dlo, dhi, g, s);
    if (oaHi >= psHi) return s2Fault(m, F_ADDR_SIZE, ipaHi, ipaLo);
    // Access flag: with S2HA the SMMU sets it, and S2AFFD is IGNORED (IHI0070 §5.2 S2AFFD, §3.13.2);
    // without S2HA, AF = 0 faults unless S2AFFD.
    let newLo = dlo;
    if ((dlo & D_AF) === 0) {
      if ((flags & S2F_HA) !== 0) newLo |= D_AF;
      else if ((flags & S2F_AFFD) === 0) return s2Fault(m, F_ACCESS, ipaHi, ipaLo);
    }
    // S2AP[0] = read, S2AP[1] = write; DBM with S2HD makes a write-clean page writable.
    const rd = (dlo >>> S2AP_R_SHIFT) & 1;
    let wr = (dlo >>> S2AP_W_SHIFT) & 1;
    if (wr === 0 && (acc & ACC_W) !== 0 && (flags & S2F_HD) !== 0 && (dhi & D_DBM) !== 0) {
      wr = 1;
      newLo |= D_S2AP_W;
    }
    let px: number;
    let ux: number;
    if (m.feat.xnx) {
      const xn = (dhi >>> XN_SHIFT) & 3; // XN[1:0] (FEAT_XNX): 00 both, 01 not EL1, 10 neither, 11 not EL0
      px = xn === 0 || xn === 3 ? 1 : 0;
      ux = xn === 0 || xn === 1 ? 1 : 0;
    } else {
      px = ux = ((dhi >>> XN1_SHIFT) & 1) ^ 1;
    }
    const perm = (rd * (P_R | U_R)) | (wr * (P_W | U_W)) | (px * P_X) | (ux * U_X);
    const need = REQUIRED[acc & 7]!;
    if ((perm & need) !== need) return s2Fault(m, F_PERMISSION, ipaHi, ipaLo);
    if (newLo !== dlo && !mem.cas32(tHi * TWO32 + daLo, dlo, newLo)) {
      // Lost a race with another writer: the architecture retries the update; so do we, by walking again.
      return walkS2(m, slot, ipaHi, ipaLo, acc, cls);
    }
    // Output: the descriptor's address above s, the IPA below.
    let paHi: number;
    let paLo: number;
    if (s < 32) {
      paHi = oaHi;
      paLo = (oaLoOf(dlo, s) | (ipaLo & ((1 << s) - 1))) >>> 0;
    } else {
      paHi = oaHi | (ipaHi & ((1 << (s - 32)) - 1));
      paLo = ipaLo >>> 0;
    }
    m.s2PaHi = paHi;
    m.s2PaLo = paLo;
    m.s2Pa = paHi * TWO32 + paLo;
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
  const stride = g - 3;
  let s = g + (3 - level) * stride;
  let bits = ias - s;
  // Hierarchical attributes (APTable, PXNTable, UXNTable in the high half) ORed over the table
  // descriptors, unless HAD.
  let tAttr = 0;
  for (;;) {
    const dIpaLo = (tLo | (indexAt(vaHi, vaLo, s, bits) << 3)) >>> 0; // an IPA when nested
    let daHi = tHi;
    let daLo = dIpaLo;
    if (nested) {
      const st = walkS2(m, slot, daHi, daLo, 0, CLASS_TT);
      if (st !== 0) return st;
      daHi = m.s2PaHi;
      daLo = m.s2PaLo;
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
    if ((dlo & D_VALID) === 0) return s1Fault(m, F_TRANSLATION);
    if (level < 3 && (dlo & D_TABLE) !== 0) {
      tHi = oaHiOf(dlo, dhi, g, g);
      tLo = oaLoOf(dlo, g);
      if (tHi >= ipsHi) return s1Fault(m, F_ADDR_SIZE);
      tAttr |= dhi;
      level++;
      s -= stride;
      bits = stride;
      continue;
    }
    if (level === 3 ? (dlo & D_TABLE) === 0 : !blockAllowed(g, level, m.feat.oasBits))
      return s1Fault(m, F_TRANSLATION);
    // Output address: the descriptor's address above s, the input address below s.
    const oaHi = oaHiOf(dlo, dhi, g, s);
    if (oaHi >= ipsHi) return s1Fault(m, F_ADDR_SIZE);
    let paHi: number;
    let paLo: number;
    if (s < 32) {
      paHi = oaHi;
      paLo = (oaLoOf(dlo, s) | (vaLo & ((1 << s) - 1))) >>> 0;
    } else {
      paHi = oaHi | (vaHi & ((1 << (s - 32)) - 1));
      paLo = vaLo >>> 0;
    }
    // Access flag: with HA the SMMU sets it, and AFFD is IGNORED (IHI0070 §5.4 AFFD, §3.13.2);
    // without HA, AF = 0 faults unless AFFD.
    let newLo = dlo;
    if ((dlo & D_AF) === 0) {
      if ((f1 & S1F_HA) !== 0) newLo |= D_AF;
      else if ((f1 & S1F_AFFD) === 0) return s1Fault(m, F_ACCESS);
    }
    // AP[2]: read-only; AP[1]: EL0 access. DBM + HD: writable-clean. A writable-clean page counts as
    // writable for every permission check (Arm ARM AArch64.S1CheckPermission: its effective AP[2] is
    // 0), so PXN-if-EL0-writable and WXN apply to it even before it is dirtied; only the write
    // permission in the result waits for the update.
    const dbm = (f1 & S1F_HD) !== 0 && (dhi & D_DBM) !== 0;
    const apt = had ? 0 : (tAttr >>> APTABLE_SHIFT) & 3; // bit 0: APTable[0] (no EL0 access), bit 1: APTable[1] (read-only)
    const ap2x = (dbm ? 0 : (dlo >>> AP2_SHIFT) & 1) | ((apt >>> 1) & 1); // effective AP[2] for execute
    let ap2 = (dlo >>> AP2_SHIFT) & 1;
    if (ap2 === 1 && (acc & ACC_W) !== 0 && dbm && (apt & 2) === 0) {
      ap2 = 0;
      newLo &= ~D_AP2;
    }
    ap2 |= (apt >>> 1) & 1;
    const ap1 = (dlo >>> AP1_SHIFT) & 1 & ~apt & 1;
    const pxn = ((dhi >>> PXN_SHIFT) & 1) | (had ? 0 : (tAttr >>> PXNTABLE_SHIFT) & 1);
    const uxn = ((dhi >>> UXN_SHIFT) & 1) | (had ? 0 : (tAttr >>> UXNTABLE_SHIFT) & 1);
    let perm = S1_PERM[ap2 | (ap2x << 1) | (ap1 << 2) | (pxn << 3) | (uxn << 4) | regime]!;
    const need = REQUIRED[acc & 7]!;
    if ((perm & need) !== need) return s1Fault(m, F_PERMISSION);
    if (nested && newLo !== dlo) {
      // The Access flag / dirty state update writes the descriptor at its IPA: stage 2 must allow
      // that write (Arm ARM AArch64.MemSwapTableDesc). A stage-2 fault here has CLASS TT and
      // TTRnW = write (IHI0070 §7.3.16); it comes before the translation of the output address.
      const st = walkS2(m, slot, tHi, dIpaLo, ACC_W, CLASS_TT);
      if (st !== 0) return st;
      m.fltClass = CLASS_IN;
    }
    let shift = s;
    if (nested && !m.atsSplit) {
      const st = walkS2(m, slot, paHi, paLo, acc, CLASS_IN);
      if (st !== 0) return st;
      paHi = m.s2PaHi;
      paLo = m.s2PaLo;
      perm &= m.s2Perm;
      if (m.s2Shift < shift) shift = m.s2Shift;
    }
    if (newLo !== dlo && !mem.cas32(daHi * TWO32 + daLo, dlo, newLo))
      return walkS1(m, slot, vaHi, vaLo, acc, nested);
    m.wPa = paHi * TWO32 + paLo;
    m.wPerm = perm;
    m.wShift = shift;
    m.wGlobal = (dlo & D_NG) === 0 ? 1 : 0;
    return 0;
  }
}
