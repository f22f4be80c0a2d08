// Stream table walk (linear and 2-level, IHI0070 §3.3, §5.1) and STE decode/validation (§5.2),
// into a configuration slot. Hot path: word reads, constants derived once from the layout table.
import * as Mlayout from '../layout/layout.ts';
const { addrField, wordField } = Mlayout;
import * as Mlayouts from './layouts.ts';
const { STE, L1STD } = Mlayouts;
import * as Mconfig_cache from './config-cache.ts';
const {
  K,
  KIND_ABORT,
  KIND_BYPASS,
  KIND_NESTED,
  KIND_S1,
  KIND_S2,
  S2F_AFFD,
  S2F_HA,
  S2F_HD,
  S2F_PTW,
  S2F_R,
  S2F_S,
} = Mconfig_cache;
import * as Mregs from './regs.ts';
const { regAddrMasks, regOffset, regWordField } = Mregs;
const R_STRTAB_BASE = regOffset('STRTAB_BASE') >> 2;
const R_STRTAB_BASE_CFG = regOffset('STRTAB_BASE_CFG') >> 2;
const BASE_ADDR = regAddrMasks('STRTAB_BASE', 'ADDR');
const CFG_LOG2SIZE = regWordField('STRTAB_BASE_CFG', 'LOG2SIZE');
const CFG_SPLIT = regWordField('STRTAB_BASE_CFG', 'SPLIT');
const CFG_FMT = regWordField('STRTAB_BASE_CFG', 'FMT');
import * as Mevents from './events.ts';
const { EVT } = Mevents;
import * as Mwalk from './walk.ts';
const { s2StartLevel, POW2 } = Mwalk;
import type { PhysMem } from '../mem/phys-mem.ts';
import type { ConfigCache } from './config-cache.ts';
import type { Features } from './features.ts';

/**
 * What the stream-table lookup and the STE decode read and write of the device (the SMMUv3 class
 * satisfies it structurally; no runtime cost).
 */
export interface SteCtx {
  readonly mem: PhysMem;
  readonly cc: ConfigCache;
  readonly feat: Features;
  /** The register file (STRTAB_BASE, STRTAB_BASE_CFG, CR2 are read). */
  readonly r: Uint32Array;
  /** Scratch for an STE read across a region boundary; fetchSte's outputs: the words and where they start. */
  readonly ste: Int32Array;
  steW: Int32Array;
  steAt: number;
  /** Stream-table geometry, decoded after STRTAB_* writes (decodeStreamTableRegs). */
  stGeomValid: boolean;
  /** STRTAB_BASE as a Number and as 32-bit halves (low half as uint32). */
  stBase: number;
  stBaseHi: number;
  stBaseLo: number;
  stLimit: number;
  stSplit: number;
  decodeStreamTableRegs(): void;
  /** Address size in bits of an IPS / S2PS encoding, capped at OAS. */
  paBits(enc: number): number;
  /** Fault detail: the address of a failed fetch. */
  fltAddr: number;
}

// Slot field offsets, re-bound locally (imported object properties are slow on the hot path).
const {
  CTXHI: K_CTXHI,
  CTXLO: K_CTXLO,
  ASID: K_ASID,
  CDMAX: K_CDMAX,
  S1FMT: K_S1FMT,
  S1DSS: K_S1DSS,
  STALLD: K_STALLD,
  STRW: K_STRW,
  EATS: K_EATS,
  G0: K_G0,
  G1: K_G1,
  INSTCFG: K_INSTCFG,
  KIND: K_KIND,
  PRIVCFG: K_PRIVCFG,
  S1F: K_S1F,
  S2CONCAT: K_S2CONCAT,
  S2F: K_S2F,
  S2G: K_S2G,
  S2PS: K_S2PS,
  S2SL: K_S2SL,
  S2TSZ: K_S2TSZ,
  S2TTBHI: K_S2TTBHI,
  S2TTBLO: K_S2TTBLO,
  STRIDE: K_STRIDE,
  VMID: K_VMID,
} = K;

const C_BAD_STREAMID = EVT.C_BAD_STREAMID;
const C_BAD_STE = EVT.C_BAD_STE;
const F_STE_FETCH = EVT.F_STE_FETCH;

// Field positions, each read once from the STE table.
const wf = (n: string) => wordField(STE, n);
const V = wf('V'),
  CONFIG = wf('Config'),
  S1FMT = wf('S1Fmt'),
  S1CDMAX = wf('S1CDMax');
const CTXPTR = addrField(STE, 'S1ContextPtr');
const S1DSS = wf('S1DSS'),
  S1STALLD = wf('S1STALLD'),
  EATS = wf('EATS'),
  STRW = wf('STRW');
const PRIVCFG = wf('PRIVCFG'),
  INSTCFG = wf('INSTCFG');
const S2VMID = wf('S2VMID'),
  S2T0SZ = wf('S2T0SZ'),
  S2SL0 = wf('S2SL0'),
  S2TG = wf('S2TG'),
  S2PS = wf('S2PS');
const S2AA64 = wf('S2AA64'),
  S2ENDI = wf('S2ENDI'),
  S2AFFD = wf('S2AFFD'),
  S2PTW = wf('S2PTW');
const S2HD = wf('S2HD'),
  S2HA = wf('S2HA'),
  S2S = wf('S2S'),
  S2R = wf('S2R');
const S2TTB = addrField(STE, 'S2TTB');
const L1_SPAN = wordField(L1STD, 'Span');
const L1_L2PTR = addrField(L1STD, 'L2Ptr');
// Both in the low word of the qword (checked here), as plain constants for the hot path.
if (L1_SPAN.w !== 0 || L1_L2PTR.w !== 0) throw new Error('L1STD layout: Span / L2Ptr moved');
const L1_SPAN_SHIFT = L1_SPAN.shift,
  L1_SPAN_MASK = L1_SPAN.mask;
const L1_L2PTR_LO = L1_L2PTR.loMask,
  L1_L2PTR_HI = L1_L2PTR.hiMask;

const TWO32 = 4294967296;
const get = (w: Int32Array, f: { w: number; shift: number; mask: number }) => (w[f.w]! >>> f.shift) & f.mask;

/** Stage-2 granule encodings (S2TG / TG0): 0 = 4K, 1 = 64K, 2 = 16K. */
export function tg0Shift(tg: number): number {
  return tg === 0 ? 12 : tg === 1 ? 16 : tg === 2 ? 14 : 0;
}

/**
 * The stream table geometry from STRTAB_BASE / STRTAB_BASE_CFG (IHI0070 §6.3.23-24), decoded when
 * those registers change rather than per transaction: [base, StreamID limit, SPLIT or -1 (linear)].
 */
export function streamTableGeometry(m: SteCtx): [number, number, number] {
  const r = m.r;
  const cfg = r[R_STRTAB_BASE_CFG]!;
  let log2size = (cfg >>> CFG_LOG2SIZE.shift) & CFG_LOG2SIZE.mask;
  const fmt = (cfg >>> CFG_FMT.shift) & CFG_FMT.mask;
  if (log2size > m.feat.sidBits) log2size = m.feat.sidBits; // LOG2SIZE beyond SIDSIZE behaves as SIDSIZE
  const base =
    (r[R_STRTAB_BASE + 1]! & BASE_ADDR.hiMask) * 4294967296 + ((r[R_STRTAB_BASE]! & BASE_ADDR.loMask) >>> 0);
  if (fmt !== 1 || !m.feat.st2l) return [base, POW2[log2size]!, -1]; // linear; reserved FMT behaves as linear
  let split = (cfg >>> CFG_SPLIT.shift) & CFG_SPLIT.mask;
  if (split !== 6 && split !== 8 && split !== 10) split = 6; // reserved SPLIT values behave as 6
  // SPLIT above LOG2SIZE needs no adjustment: every valid StreamID then has L1 index 0, and the
  // level-2 array may still hold up to 2^SPLIT STEs (Span up to SPLIT + 1).
  return [base, POW2[log2size]!, split];
}

/**
 * Finds the STE of `sid`: its first 8 words are then m.steW[m.steAt..m.steAt+7]. Returns 0, or an event id
 * (C_BAD_STREAMID, F_STE_FETCH with m.fltAddr = the fetch address).
 */
export function fetchSte(m: SteCtx, sid: number): number {
  const mem = m.mem;
  if (!m.stGeomValid) m.decodeStreamTableRegs();
  if (sid >= m.stLimit) return C_BAD_STREAMID;
  const split = m.stSplit;
  // Addresses as 32-bit halves (integer arithmetic); the low half as a Number may carry past 2^32
  // when a table is not aligned to its size: then the (rare) float path.
  let steHi: number;
  let steLo: number;
  if (split >= 0) {
    const l1Lo = m.stBaseLo + (sid >>> split) * 8;
    if (!(l1Lo < TWO32 ? mem.read64hl(m.stBaseHi, l1Lo) : mem.read64(m.stBase + (sid >>> split) * 8))) {
      m.fltAddr = m.stBase + (sid >>> split) * 8;
      return F_STE_FETCH;
    }
    const lo = mem.lo;
    const hi = mem.hi;
    const span = (lo >>> L1_SPAN_SHIFT) & L1_SPAN_MASK;
    // Span 0, a reserved Span (12..31, behaves as 0) or one out of bounds for SPLIT: no valid STE (§5.1.1, §7.3.3).
    if (span === 0 || span > split + 1) return C_BAD_STREAMID;
    const l2idx = sid & ((1 << split) - 1);
    if (l2idx >= 1 << (span - 1)) return C_BAD_STREAMID;
    // L2Ptr[5 + Span - 1:0] are treated as 0: the level-2 array is aligned to its size (§5.1 L2Ptr),
    // so the index never carries into the high half.
    steHi = hi & L1_L2PTR_HI;
    steLo = ((lo & L1_L2PTR_LO & ~((64 << (span - 1)) - 1)) | (l2idx << 6)) >>> 0;
  } else {
    steHi = m.stBaseHi;
    steLo = m.stBaseLo + sid * 64; // may be >= 2^32: then the slow path below
  }
  // Qwords 0-3 hold every field the translation uses (4-7: MPAM, Secure and VMS state, not modelled).
  // One region check for the 32 bytes: then m.steW[m.steAt..] are the STE's words in RAM itself
  // (no copy; loadConfig compares them with its memo). Otherwise qword by qword into m.ste.
  const at = steLo < TWO32 ? mem.spanHL(steHi, steLo, 32) : -1;
  if (at < 0) return fetchSteSlow(m, steHi * TWO32 + steLo);
  m.steW = mem.spanWords;
  m.steAt = at;
  return 0;
}

/** fetchSte when the STE is not in one region: qword by qword into m.ste, or F_STE_FETCH. */
function fetchSteSlow(m: SteCtx, steAddr: number): number {
  const mem = m.mem;
  const ste = m.ste;
  for (let i = 0; i < 4; i++) {
    if (!mem.read64(steAddr + i * 8)) {
      m.fltAddr = steAddr + i * 8;
      return F_STE_FETCH;
    }
    ste[2 * i] = mem.lo;
    ste[2 * i + 1] = mem.hi;
  }
  m.steW = ste;
  m.steAt = 0;
  return 0;
}

/**
 * Validates the STE in m.ste (loadConfig copies it there first) and fills the STE part of slot `slot`. Returns 0, or C_BAD_STE.
 * Leaves the CD part to cd.ts. ILLEGAL combinations named in IHI0070 §5.2 give C_BAD_STE; the
 * model never throws on any STE bytes.
 */
export function decodeSte(m: SteCtx, slot: number): number {
  const w = m.ste;
  const ci = m.cc.ci;
  const o = slot * K_STRIDE;
  const feat = m.feat;
  if (get(w, V) === 0) return C_BAD_STE;
  const config = get(w, CONFIG);
  // S1CDMax is IGNORED (substreams disabled) when IDR1.SSIDSIZE = 0 (§5.2 S1CDMax).
  const cdmax = feat.ssidBits === 0 ? 0 : get(w, S1CDMAX);
  ci[o + K_CDMAX] = cdmax;
  ci[o + K_S1FMT] = get(w, S1FMT);
  ci[o + K_S1DSS] = get(w, S1DSS);
  ci[o + K_STALLD] = get(w, S1STALLD);
  ci[o + K_STRW] = get(w, STRW);
  // PRIVCFG / INSTCFG are RES0 without IDR1.ATTR_PERMS_OVR: the incoming attributes apply (§5.2).
  const ovr = feat.attrPermsOvr;
  ci[o + K_PRIVCFG] = ovr ? get(w, PRIVCFG) : 0;
  ci[o + K_INSTCFG] = ovr ? get(w, INSTCFG) : 0;
  ci[o + K_EATS] = 0; // effectively 0b00 for abort and bypass STEs (§5.2 Config)
  ci[o + K_S1F] = 0;
  ci[o + K_S2F] = 0;
  ci[o + K_VMID] = 0;
  ci[o + K_ASID] = 0;
  ci[o + K_G0] = 0;
  ci[o + K_G1] = 0;
  if ((config & 4) === 0) {
    ci[o + K_KIND] = KIND_ABORT;
    return 0;
  }
  if (config === 4) {
    ci[o + K_KIND] = KIND_BYPASS;
    return 0;
  }
  const s1 = (config & 1) !== 0;
  const s2 = (config & 2) !== 0;
  if ((s1 && !feat.s1) || (s2 && !feat.s2)) return C_BAD_STE; // stage not implemented
  ci[o + K_KIND] = s1 && s2 ? KIND_NESTED : s1 ? KIND_S1 : KIND_S2;
  // EATS (§5.2, §5.2.2; IGNORED without IDR0.ATS): 0b11 (DPT checks) behaves as 0b00 without IDR3.DPT;
  // split-stage 0b10 needs Config 0b111 and S2S = 0 (IDR0.NS1ATS = 0 here); full ATS 0b01 with stage 2
  // needs S2S = 0.
  let eats = feat.ats ? get(w, EATS) : 0;
  if (eats === 3) eats = 0;
  if (eats === 2 && (!s1 || !s2 || get(w, S2S) === 1)) return C_BAD_STE;
  if (eats === 1 && s2 && get(w, S2S) === 1) return C_BAD_STE;
  ci[o + K_EATS] = eats;
  // S2VMID (§5.2): with stage 2 implemented it tags the NS-EL1 StreamWorld's translations, stage-1-only
  // ones too; in the EL2 / EL2-E2H StreamWorlds (stage 1 only, STRW = 0b10 with IDR0.HYP) it is
  // IGNORED: no VMID tag, and no range check against IDR0.VMID16.
  if (feat.s2 && !(s1 && !s2 && feat.hyp && get(w, STRW) === 2)) {
    const vmid = get(w, S2VMID);
    if (!feat.vmid16 && vmid > 0xff) return C_BAD_STE;
    ci[o + K_VMID] = vmid;
  }
  if (s1) {
    const strw = get(w, STRW);
    if (!s2) {
      // STRW is RES0 (ignored) without IDR0.HYP; with it, 0bx1 is ILLEGAL and 0b10 selects NS-EL2, or
      // NS-EL2-E2H when SMMU_CR2.E2H = 1 (§5.2 STRW, §5.2.2; the difference is decoded in cd.ts).
      if (feat.hyp && (strw & 1) !== 0) return C_BAD_STE;
    }
    if (cdmax > feat.ssidBits) return C_BAD_STE;
    const fmt = get(w, S1FMT);
    // S1Fmt 0b11 is reserved and behaves as 0b00 (linear); the 2-level formats are ILLEGAL without
    // IDR0.CD2L (§5.2 S1Fmt, §5.2.2 SteIllegal).
    if (cdmax !== 0 && !feat.cd2l && (fmt === 1 || fmt === 2)) return C_BAD_STE;
    // S1STALLD = 1 is ILLEGAL unless STALL_MODEL = 0b00 (stall and terminate both supported; §5.5).
    if (get(w, S1STALLD) === 1 && feat.stallModel !== 0) return C_BAD_STE;
    // A context pointer outside the OAS (or the IAS, = OAS here, when it is an IPA) is ILLEGAL (§5.2, §5.2.2).
    if ((w[CTXPTR.w + 1]! & CTXPTR.hiMask) >>> (feat.oasBits - 32) !== 0) return C_BAD_STE;
    ci[o + K_CTXHI] = w[CTXPTR.w + 1]! & CTXPTR.hiMask;
    ci[o + K_CTXLO] = w[CTXPTR.w]! & CTXPTR.loMask;
  }
  if (s2) {
    if (get(w, S2AA64) === 0) return C_BAD_STE; // AArch32 stage 2 (VMSAv8-32 LPAE) not implemented: TTF=AArch64
    if (get(w, S2ENDI) === 1) return C_BAD_STE; // big-endian tables not supported (TTENDIAN=LE)
    const g = tg0Shift(get(w, S2TG));
    if (g === 0 || !feat.hasGranule(g)) return C_BAD_STE;
    const tsz = get(w, S2T0SZ);
    const ias = 64 - tsz;
    // SMMU IAS: the largest IPA the SMMU handles (OAS, at least 40 when AArch32 is supported).
    // S2T0SZ range (§5.2, SMMUv3.1+: out of range is ILLEGAL): at most 39 (IDR3.STT not implemented),
    // at least 16 with 4K/16K (no S2DS) or 12 with 64K, and never an IPA wider than the IAS.
    if (ias > feat.oasBits || tsz > 39 || (g !== 16 && tsz < 16)) return C_BAD_STE;
    const sl = s2StartLevel(g, get(w, S2SL0), ias, feat.oasBits); // DDI 0487 S2InvalidSL: PAMax = OAS
    if (sl < 0) return C_BAD_STE;
    let ps = m.paBits(get(w, S2PS));
    if (g !== 16 && ps > 48) ps = 48; // 52-bit output needs the 64 KiB granule (FEAT_LPA2 not implemented)
    const stride = g - 3;
    const covered = g + (4 - sl) * stride;
    ci[o + K_S2CONCAT] = ias > covered ? ias - covered : 0;
    const ttbHi = w[S2TTB.w + 1]! & S2TTB.hiMask;
    if (ttbHi * 4294967296 >= POW2[ps]!) return C_BAD_STE; // S2TTB beyond the output size
    // The start table(s) must be aligned to their size (at most 2^20 bytes), and to 64 bytes with a
    // 52-bit effective S2PS (§5.2 S2TTB); low bits are treated as zero.
    const tblBits = Math.max(ias - (covered - stride) + 3, ps === 52 ? 6 : 4);
    ci[o + K_S2TTBHI] = ttbHi;
    ci[o + K_S2TTBLO] = w[S2TTB.w]! & S2TTB.loMask & ~((1 << tblBits) - 1);
    if ((get(w, S2S) === 1 && feat.stallModel === 1) || (get(w, S2S) === 0 && feat.stallModel === 2))
      return C_BAD_STE;
    // HTTU the SMMU does not implement (IDR0.HTTU) is ILLEGAL, not ignored (§5.2 S2HA/S2HD).
    if ((get(w, S2HA) === 1 && feat.httu === 0) || (get(w, S2HD) === 1 && feat.httu < 2)) return C_BAD_STE;
    ci[o + K_S2G] = g;
    ci[o + K_S2TSZ] = tsz;
    ci[o + K_S2SL] = sl;
    ci[o + K_S2PS] = ps;
    ci[o + K_S2F] =
      (get(w, S2AFFD) ? S2F_AFFD : 0) |
      (get(w, S2HA) && feat.httu >= 1 ? S2F_HA : 0) |
      (get(w, S2HD) && get(w, S2HA) && feat.httu >= 2 ? S2F_HD : 0) |
      (get(w, S2R) ? S2F_R : 0) |
      (get(w, S2S) ? S2F_S : 0) |
      (get(w, S2PTW) ? S2F_PTW : 0);
  }
  return 0;
}
