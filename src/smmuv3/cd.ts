// Context descriptor lookup (SubstreamIDs: S1CDMax, S1Fmt linear / 2-level with 4 KiB and 64 KiB
// leaves, L1CD valid bits, S1DSS; IHI0070 §3.3.2, §5.3) and CD decode/validation (§5.4).
import * as Mlayout from '../layout/layout.ts';
const { addrField, wordField } = Mlayout;
import * as Mlayouts from './layouts.ts';
const { CD, L1CD } = Mlayouts;
import * as Mconfig_cache from './config-cache.ts';
const {
  K,
  KIND_BYPASS,
  KIND_NESTED,
  KIND_S1,
  KIND_S2,
  KIND_TERMINATE,
  S1F_A,
  S1F_AFFD,
  S1F_E2H,
  S1F_EL2,
  S1F_HA,
  S1F_HAD0,
  S1F_HAD1,
  S1F_HD,
  S1F_PAN,
  S1F_R,
  S1F_S,
  S1F_TBI0,
  S1F_TBI1,
  S1F_WXN,
} = Mconfig_cache;
import * as Mregs from './regs.ts';
const { regBits, regOffset } = Mregs;
const R_CR2 = regOffset('CR2') >> 2;
const CR2_E2H = regBits('CR2', 'E2H');
import * as Mevents from './events.ts';
const { EVT, EVT_CLASS } = Mevents;
const CLASS_CD = EVT_CLASS.CD;
import * as Mste from './ste.ts';
const { tg0Shift } = Mste;
import * as Mwalk from './walk.ts';
const { s1StartLevel, walkS2 } = Mwalk;
import type { SteCtx } from './ste.ts';
import type { WalkCtx } from './walk.ts';

/**
 * What the CD lookup and decode read and write of the device: the STE context (memory, slots, ID
 * registers, registers) plus the stage-2 walk for nested CD fetches, the CD scratch and outputs.
 */
export interface CdCtx extends SteCtx, WalkCtx {
  /** Scratch for a CD read across a region boundary; fetchCd's outputs: the words and where they start. */
  readonly cd: Int32Array;
  cdW: Int32Array;
  cdAt: number;
  /** A KIND replacing the slot's (STE.S1DSS for transactions without SubstreamID); -1 none. */
  kindOverride: number;
}

// Slot field offsets, re-bound locally (imported object properties are slow on the hot path).
const {
  CTXHI: K_CTXHI,
  CTXLO: K_CTXLO,
  TTB0HI: K_TTB0HI,
  TTB0LO: K_TTB0LO,
  TTB1HI: K_TTB1HI,
  TTB1LO: K_TTB1LO,
  ASID: K_ASID,
  CDMAX: K_CDMAX,
  S1FMT: K_S1FMT,
  S1DSS: K_S1DSS,
  STALLD: K_STALLD,
  STRW: K_STRW,
  G0: K_G0,
  G1: K_G1,
  IPS: K_IPS,
  KIND: K_KIND,
  S1F: K_S1F,
  SL0: K_SL0,
  SL1: K_SL1,
  STRIDE: K_STRIDE,
  TSZ0: K_TSZ0,
  TSZ1: K_TSZ1,
} = K;

const C_BAD_SUBSTREAMID = EVT.C_BAD_SUBSTREAMID;
const C_BAD_CD = EVT.C_BAD_CD;
const F_CD_FETCH = EVT.F_CD_FETCH;

const wf = (n: string) => wordField(CD, n);
const T0SZ = wf('T0SZ'),
  TG0 = wf('TG0'),
  EPD0 = wf('EPD0'),
  ENDI = wf('ENDI'),
  T1SZ = wf('T1SZ'),
  TG1 = wf('TG1');
const EPD1 = wf('EPD1'),
  V = wf('V'),
  IPS = wf('IPS'),
  AFFD = wf('AFFD'),
  WXN = wf('WXN'),
  TBI = wf('TBI');
const PAN = wf('PAN'),
  AA64 = wf('AA64'),
  HD = wf('HD'),
  HA = wf('HA'),
  S = wf('S'),
  R = wf('R'),
  A = wf('A');
const ASID = wf('ASID'),
  HAD0 = wf('HAD0'),
  HAD1 = wf('HAD1');
const TTB0 = addrField(CD, 'TTB0');
const TTB1 = addrField(CD, 'TTB1');
const L1_V = wordField(L1CD, 'V');
const L1_L2PTR = addrField(L1CD, 'L2Ptr');
// Both in the low word of the qword (checked here), as plain constants for the hot path.
if (L1_V.w !== 0 || L1_L2PTR.w !== 0) throw new Error('L1CD layout: V / L2Ptr moved');
const L1_V_MASK = L1_V.mask << L1_V.shift;
const L1_L2PTR_LO = L1_L2PTR.loMask,
  L1_L2PTR_HI = L1_L2PTR.hiMask;

const get = (w: Int32Array, f: { w: number; shift: number; mask: number }) => (w[f.w]! >>> f.shift) & f.mask;
const TWO32 = 4294967296;

/** TG1 encoding: 1 = 16K, 2 = 4K, 3 = 64K. */
function tg1Shift(tg: number): number {
  return tg === 1 ? 14 : tg === 2 ? 12 : tg === 3 ? 16 : 0;
}

function cdFetchAbort(m: CdCtx, pa: number): number {
  m.fltS2 = 0;
  m.fltAddr = pa;
  return F_CD_FETCH;
}

/** Reads 64 bits at an address that is an IPA when `nested` (translated by stage 2, CLASS CD). */
function readCfg64(m: CdCtx, slot: number, addr: number, nested: boolean): number {
  let pa = addr;
  if (nested) {
    const st = walkS2(m, slot, Math.floor(addr / TWO32), addr >>> 0, 0, CLASS_CD);
    if (st !== 0) return st;
    pa = m.s2Pa;
  }
  if (!m.mem.read64(pa)) {
    m.fltS2 = 0;
    m.fltAddr = pa;
    return F_CD_FETCH;
  }
  return 0;
}

/**
 * A transaction without SubstreamID on a stream with several CDs: STE.S1DSS. Sets m.kindOverride
 * and returns true for terminate / bypass; false for substream 0 (use CD 0).
 */
function s1dssOverride(m: CdCtx, dss: number, nested: boolean): boolean {
  if (dss === 0 || dss === 3) {
    // 0b11: reserved, behaves as 0b00 (§5.2 S1DSS)
    m.kindOverride = KIND_TERMINATE;
    return true;
  }
  if (dss === 1) {
    m.kindOverride = nested ? KIND_S2 : KIND_BYPASS;
    return true;
  }
  return false; // 0b10: substream 0
}

/**
 * Selects the CD for `ssid` (-1: transaction without SubstreamID) for the STE decoded in slot
 * `slot`: its words are then m.cdW[m.cdAt..m.cdAt+5]. Returns 0 or an event id. With S1DSS
 * bypass / terminate there is no CD: m.kindOverride says what the transaction becomes instead.
 */
export function fetchCd(m: CdCtx, slot: number, ssid: number): number {
  const ci = m.cc.ci;
  const o = slot * K_STRIDE;
  const nested = ci[o + K_KIND] === KIND_NESTED;
  const cdmax = ci[o + K_CDMAX]!;
  let idx = 0;
  if (ssid < 0) {
    if (cdmax !== 0 && s1dssOverride(m, ci[o + K_S1DSS]!, nested)) return 0;
  } else {
    // SubstreamIDs wider than IDR1.SSIDSIZE, beyond S1CDMax or to a stream without CDs:
    // C_BAD_SUBSTREAMID (§7.3.9). SubstreamID 0 when substream 0 stands in for non-substream traffic
    // (S1DSS = 0b10) is F_STREAM_DISABLED instead (§5.2 S1DSS, §7.3.7).
    if (cdmax === 0 || ssid >= 1 << cdmax) return C_BAD_SUBSTREAMID;
    if (ssid === 0 && ci[o + K_S1DSS] === 2) return EVT.F_STREAM_DISABLED;
    idx = ssid;
  }
  const fmt = ci[o + K_S1FMT]!;
  // Addresses as 32-bit halves (integer arithmetic). A low half that carries past 2^32 (a table not
  // aligned to its size) takes the float path.
  const ctxHi = ci[o + K_CTXHI]!;
  const ctxLo = ci[o + K_CTXLO]! >>> 0;
  let cdHi: number;
  let cdLo: number;
  if (cdmax === 0 || fmt === 0 || fmt === 3) {
    // 0b11: reserved, behaves as linear
    cdHi = ctxHi;
    cdLo = ctxLo + idx * 64;
  } else {
    const split = fmt === 1 ? 6 : 10; // 4 KiB leaves hold 64 CDs, 64 KiB leaves 1024
    const l1Lo = ctxLo + (idx >>> split) * 8;
    const mem = m.mem;
    if (nested || l1Lo >= TWO32) {
      const st = readCfg64(m, slot, ctxHi * TWO32 + l1Lo, nested);
      if (st !== 0) return st;
    } else if (!mem.read64hl(ctxHi, l1Lo)) {
      return cdFetchAbort(m, ctxHi * TWO32 + l1Lo);
    }
    const lo = mem.lo;
    const hi = mem.hi & L1_L2PTR_HI;
    if ((lo & L1_V_MASK) === 0) return C_BAD_SUBSTREAMID;
    // An L1CD.L2Ptr outside the OAS/IAS is C_BAD_SUBSTREAMID too (§7.3.9).
    if (hi >>> (m.feat.oasBits - 32) !== 0) return C_BAD_SUBSTREAMID;
    cdHi = hi;
    cdLo = ((lo & L1_L2PTR_LO) >>> 0) + (idx & ((1 << split) - 1)) * 64;
  }
  // The translation needs CD qwords 0-2 (qword 3 onwards: MAIR/AMAIR, memory attributes only).
  // As for the STE: in place when one region holds them (m.cdW[m.cdAt..]), else copied into m.cd.
  const at = nested || cdLo >= TWO32 ? -1 : m.mem.spanHL(cdHi, cdLo, 24);
  if (at < 0) return fetchCdSlow(m, slot, cdHi * TWO32 + cdLo, nested);
  m.cdW = m.mem.spanWords;
  m.cdAt = at;
  return 0;
}

/** fetchCd when the CD is an IPA or not in one region: qword by qword into m.cd. */
function fetchCdSlow(m: CdCtx, slot: number, cdAddr: number, nested: boolean): number {
  const cd = m.cd;
  for (let i = 0; i < 3; i++) {
    const st = readCfg64(m, slot, cdAddr + i * 8, nested);
    if (st !== 0) return st;
    cd[2 * i] = m.mem.lo;
    cd[2 * i + 1] = m.mem.hi;
  }
  m.cdW = cd;
  m.cdAt = 0;
  return 0;
}

/** Validates the CD in m.cd and fills the stage-1 part of the slot. Returns 0 or C_BAD_CD. */
export function decodeCd(m: CdCtx, slot: number): number {
  const w = m.cd;
  const feat = m.feat;
  const ci = m.cc.ci;
  const o = slot * K_STRIDE;
  if (get(w, V) === 0) return C_BAD_CD;
  if (get(w, AA64) === 0) return C_BAD_CD; // AArch32 LPAE tables not implemented (IDR0.TTF = AArch64)
  // Big-endian tables are not supported (TTENDIAN = LE); ENDI is IGNORED when both walks are disabled.
  if (get(w, ENDI) === 1 && (get(w, EPD0) === 0 || get(w, EPD1) === 0)) return C_BAD_CD;
  // STRW = EL2: with CR2.E2H = 0 the NS-EL2 regime (one VA range, one privilege level); with
  // E2H = 1, NS-EL2-E2H, which translates like EL1 (two ranges, AP[1], PXN/UXN) but is tagged in
  // the TLB as EL2 (ASID, no VMID).
  const strwEl2 = ci[o + K_KIND] === KIND_S1 && feat.hyp && ci[o + K_STRW] === 2;
  const e2h = strwEl2 && (m.r[R_CR2]! & CR2_E2H) !== 0;
  const el2 = strwEl2 && !e2h;
  // CD.ASID is IGNORED in the NS-EL2 StreamWorld (no ASID tagging, no IDR0.ASID16 range check, §5.4).
  const asid = el2 ? 0 : get(w, ASID);
  if (!feat.asid16 && asid > 0xff) return C_BAD_CD;
  // Stalls (§5.5): CD.S = 1 with no stall model or through STE.S1STALLD = 1, and CD.S = 0 when the
  // model forces stalls (STALL_MODEL 0b10), are ILLEGAL.
  const stall = get(w, S);
  if (stall === 1 && (feat.stallModel === 1 || ci[o + K_STALLD] === 1)) return C_BAD_CD;
  if (stall === 0 && feat.stallModel === 2) return C_BAD_CD;
  if (get(w, A) === 0 && feat.termAbortOnly) return C_BAD_CD;
  // HTTU the SMMU does not implement (IDR0.HTTU) is ILLEGAL, not ignored (§5.4 HA/HD).
  if ((get(w, HA) === 1 && feat.httu === 0) || (get(w, HD) === 1 && feat.httu < 2)) return C_BAD_CD;
  let ips = m.paBits(get(w, IPS));
  // Per-range parameters. A range whose EPD is 0 must have a supported granule and a T0SZ in
  // range (16..39; 12 with IDR5.VAX and the 64 KiB granule).
  let g0 = 0,
    g1 = 0,
    tsz0 = 0,
    tsz1 = 0;
  if (get(w, EPD0) === 0) {
    g0 = tg0Shift(get(w, TG0));
    tsz0 = get(w, T0SZ);
    if (g0 === 0 || !feat.hasGranule(g0) || !tszOk(tsz0, g0, feat.vax52)) return C_BAD_CD;
  }
  if (get(w, EPD1) === 0 && !el2) {
    g1 = tg1Shift(get(w, TG1));
    tsz1 = get(w, T1SZ);
    if (g1 === 0 || !feat.hasGranule(g1) || !tszOk(tsz1, g1, feat.vax52)) return C_BAD_CD;
  }
  // 52-bit output needs the 64 KiB granule (FEAT_LPA2 not implemented): cap at 48.
  if (ips > 48 && g0 !== 16 && g1 !== 16) ips = 48;
  // A TTBx outside the effective IPS, or above 48 bits with a 4K/16K granule, is ILLEGAL (§5.4 TTB0/TTB1).
  if (g0 !== 0 && (w[TTB0.w + 1]! & TTB0.hiMask) >>> ((g0 === 16 || ips <= 48 ? ips : 48) - 32) !== 0)
    return C_BAD_CD;
  if (g1 !== 0 && (w[TTB1.w + 1]! & TTB1.hiMask) >>> ((g1 === 16 || ips <= 48 ? ips : 48) - 32) !== 0)
    return C_BAD_CD;
  ci[o + K_ASID] = asid;
  ci[o + K_G0] = g0;
  ci[o + K_TSZ0] = tsz0;
  ci[o + K_SL0] = g0 ? s1StartLevel(g0, 64 - tsz0) : 0;
  ci[o + K_G1] = g1;
  ci[o + K_TSZ1] = tsz1;
  ci[o + K_SL1] = g1 ? s1StartLevel(g1, 64 - tsz1) : 0;
  ci[o + K_IPS] = ips;
  const tbi = get(w, TBI);
  ci[o + K_S1F] =
    (tbi & 1 ? S1F_TBI0 : 0) |
    (tbi & 2 ? S1F_TBI1 : 0) |
    (get(w, AFFD) ? S1F_AFFD : 0) |
    (get(w, HA) && feat.httu >= 1 ? S1F_HA : 0) |
    (get(w, HD) && get(w, HA) && feat.httu >= 2 ? S1F_HD : 0) |
    (get(w, HAD0) && feat.had ? S1F_HAD0 : 0) |
    (get(w, HAD1) && feat.had ? S1F_HAD1 : 0) |
    (get(w, WXN) ? S1F_WXN : 0) |
    (get(w, PAN) ? S1F_PAN : 0) |
    (get(w, R) ? S1F_R : 0) |
    (stall ? S1F_S : 0) |
    (get(w, A) ? S1F_A : 0) |
    (el2 ? S1F_EL2 : 0) |
    (e2h ? S1F_E2H : 0);
  // TTBx: bits below the start table's size are treated as zero (tables are size-aligned).
  const ttb0 = g0 ? alignTtb(w[TTB0.w + 1]! & TTB0.hiMask, w[TTB0.w]! & TTB0.loMask, g0, tsz0, ips) : 0;
  const ttb1 = g1 ? alignTtb(w[TTB1.w + 1]! & TTB1.hiMask, w[TTB1.w]! & TTB1.loMask, g1, tsz1, ips) : 0;
  ci[o + K_TTB0LO] = ttb0 % TWO32;
  ci[o + K_TTB0HI] = Math.floor(ttb0 / TWO32);
  ci[o + K_TTB1LO] = ttb1 % TWO32;
  ci[o + K_TTB1HI] = Math.floor(ttb1 / TWO32);
  return 0;
}

function tszOk(tsz: number, g: number, vax52: boolean): boolean {
  return tsz <= 39 && tsz >= (g === 16 && vax52 ? 12 : 16);
}

/**
 * TTBx with the bits below the start table's size treated as zero; with a 52-bit effective IPS (the
 * 64 KiB granule) the table is at least 64-byte aligned: TTBx[5:0] are zero (IHI0070 §5.4 TTB0).
 */
function alignTtb(hi: number, lo: number, g: number, tsz: number, ips: number): number {
  const ias = 64 - tsz;
  const stride = g - 3;
  const sl = s1StartLevel(g, ias);
  const min = g === 16 && ips === 52 ? 6 : 4;
  const alignBits = ias - (g + (3 - sl) * stride) + 3; // start table size: at most 2^16 bytes
  return hi * TWO32 + ((lo & ~((1 << (alignBits < min ? min : alignBits)) - 1)) >>> 0);
}
