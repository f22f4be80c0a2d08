// ATS (IHI0070 §3.9): Translation Requests from devices, and transactions marked as already
// translated (PCIe AT = Translated).
import * as Mconfig_cache from './config-cache.ts';
const { K, KIND_ABORT, KIND_NESTED, KIND_S1 } = Mconfig_cache;
const { CDMAX: K_CDMAX, EATS: K_EATS, KIND: K_KIND, S1DSS: K_S1DSS, STRIDE: K_STRIDE } = K;
import * as Mconfig from './config.ts';
const { loadSte } = Mconfig;
import * as Mevtq from './evtq.ts';
const { writeEvent } = Mevtq;
import * as Mevents from './events.ts';
const { EVT } = Mevents;
import * as Mresult from './result.ts';
const { ST_ABORT, ST_OK } = Mresult;
import * as Mfault from './fault.ts';
const { fault, recCfgAts } = Mfault;
import type { SMMUv3 } from './smmuv3.ts';

const TWO32 = 4294967296;
const ALL_PERM = 0x3f;
import * as Mregs from './regs.ts';
const { regBits, regOffset } = Mregs;
const R_CR0 = regOffset('CR0') >> 2;
const CR0_SMMUEN = regBits('CR0', 'SMMUEN');
const CR0_ATSCHK = regBits('CR0', 'ATSCHK');

/**
 * Whether an ATS Translation Request may be translated: the effective STE.EATS must be non-zero
 * (§3.9.1.2). EATS reads 0 for a bypass STE (decodeSte: ATS is implicitly disabled, §5.2 Config),
 * and 0b10 (split stage) counts as 0b00 with CR0.ATSCHK = 0. An abort STE passes here and then
 * aborts without an event (UR). `kind` may be an S1DSS override; EATS is the STE's own.
 */
export function atsAllowed(m: SMMUv3, slot: number, kind: number): boolean {
  if (kind === KIND_ABORT) return true;
  let eats = m.cc.ci[slot * K_STRIDE + K_EATS]!;
  if (eats === 2 && (m.r[R_CR0]! & CR0_ATSCHK) === 0) eats = 0;
  m.atsSplit = eats === 2; // split-stage ATS returns the stage-1 result
  return eats !== 0;
}

/**
 * An ATS Translation Request from a device (PCIe ATS, IHI0070 §3.9.1.2). Returns ST_OK with
 * `res.pa` / `res.perm` (what the completion grants; with STE.EATS = 0b10, the IPA), or ST_ABORT
 * (an unsuccessful completion: UR or CA). ATS not implemented: UR, no event. SMMUEN = 0, a bypass
 * STE or an effective EATS of 0b00: UR and F_BAD_ATS_TREQ; an abort STE: UR, no event. A
 * configuration error (C_BAD_STE, C_BAD_SUBSTREAMID, C_BAD_CD, F_STREAM_DISABLED, fetch and walk
 * aborts): CA, recorded only with SMMU_CR2.REC_CFG_ATS (fault.ts). Translation faults: R = W = 0,
 * no event. ATS requests never fill the TLB here (the ATC caches the answer). The argument domain
 * is translate's (smmuv3.ts).
 */
export function translateAts(
  m: SMMUv3,
  sid: number,
  ssid: number,
  iovaHi: number,
  iovaLo: number,
  acc: number,
): number {
  const res = m.res;
  res.event = 0;
  res.recorded = false;
  if (!m.feat.ats) return (res.status = ST_ABORT); // UR: ATS not implemented
  sid >>>= 0;
  m.atsMode = true;
  m.atsSplit = false;
  try {
    if ((m.r[R_CR0]! & CR0_SMMUEN) === 0) {
      noFaultDetail(m);
      return fault(m, EVT.F_BAD_ATS_TREQ, sid, ssid, iovaHi, iovaLo, acc, -1);
    }
    if (!m.caching) {
      // Whether ATS is enabled is the STE's to say, before any CD is fetched. (In caching mode the
      // configuration cache answers, and translate checks the same after its lookup.)
      const st = loadSte(m, sid);
      if (st !== 0) return fault(m, st, sid, ssid, iovaHi, iovaLo, acc, -1);
      const slot = m.cfgSlot;
      if (!atsAllowed(m, slot, m.cc.ci[slot * K_STRIDE + K_KIND]!)) {
        noFaultDetail(m);
        return fault(m, EVT.F_BAD_ATS_TREQ, sid, ssid, iovaHi, iovaLo, acc, -1);
      }
    }
    return m.translate(sid, ssid, iovaHi, iovaLo, acc);
  } finally {
    m.atsMode = false;
    m.atsSplit = false;
  }
}

function noFaultDetail(m: SMMUv3): void {
  m.fltS2 = 0;
  m.fltClass = 0;
  m.fltAddr = 0;
}

/**
 * A transaction marked as already translated (PCIe AT = Translated, IHI0070 §3.9.1.3). SMMUEN = 0:
 * F_TRANSL_FORBIDDEN, aborted. CR0.ATSCHK = 0: passes unchecked. ATSCHK = 1: the STE alone is read
 * (no CD): an abort STE aborts without an event; a bypass STE or EATS = 0b00 is F_TRANSL_FORBIDDEN;
 * a configuration error (C_BAD_STREAMID, F_STE_FETCH, C_BAD_STE, F_STREAM_DISABLED) aborts and is
 * recorded only with SMMU_CR2.REC_CFG_ATS (C_BAD_STREAMID regardless of RECINVSID); with EATS =
 * 0b10 the address is an IPA and goes through stage 2 (faults recorded as for any transaction).
 * The transaction carries no SubstreamID (IDR3.PASIDTT = 0: `ssid` is ignored, records have SSV = 0).
 * A passing address with bits set at or above the OAS aborts without an event (§3.9.1.1, the
 * IMPLEMENTATION DEFINED choice of this model); the output is always below 2^OAS.
 * Argument domain: `sid` uint32, `addrHi` / `addrLo` uint32 halves of the 64-bit address.
 */
export function translateTranslated(
  m: SMMUv3,
  sid: number,
  ssid: number,
  addrHi: number,
  addrLo: number,
  acc: number,
): number {
  const res = m.res;
  res.event = 0;
  res.recorded = false;
  sid >>>= 0;
  ssid = -1;
  const cr0 = m.r[R_CR0]!;
  if ((cr0 & CR0_SMMUEN) === 0) {
    noFaultDetail(m);
    return fault(m, EVT.F_TRANSL_FORBIDDEN, sid, ssid, addrHi, addrLo, acc, -1);
  }
  if ((cr0 & CR0_ATSCHK) === 0) return pass(m, addrHi, addrLo);
  const st = loadSte(m, sid);
  if (st !== 0) return checkedConfigError(m, st, sid, addrHi, addrLo, acc);
  const ci = m.cc.ci;
  const slot = m.cfgSlot;
  const o = slot * K_STRIDE;
  const kind = ci[o + K_KIND]!;
  if (kind === KIND_ABORT) return (res.status = ST_ABORT);
  const eats = ci[o + K_EATS]!; // 0 for a bypass STE
  if (eats === 0) {
    noFaultDetail(m);
    return fault(m, EVT.F_TRANSL_FORBIDDEN, sid, ssid, addrHi, addrLo, acc, -1);
  }
  // Without a SubstreamID, STE.S1DSS = terminate (0b00, or the reserved 0b11) disables the stream.
  if ((kind === KIND_S1 || kind === KIND_NESTED) && ci[o + K_CDMAX] !== 0) {
    const dss = ci[o + K_S1DSS]!;
    if (dss === 0 || dss === 3) return checkedConfigError(m, EVT.F_STREAM_DISABLED, sid, addrHi, addrLo, acc);
  }
  if (eats === 2 && kind === KIND_NESTED) return m.stage2Only(slot, sid, ssid, addrHi, addrLo, acc);
  return pass(m, addrHi, addrLo);
}

/** A Translated transaction passes: the address as given, if it fits the OAS (else aborted, no event). */
function pass(m: SMMUv3, hi: number, lo: number): number {
  const res = m.res;
  if (hi >>> 0 >= m.oasHiLimit) return (res.status = ST_ABORT);
  res.pa = (hi >>> 0) * TWO32 + (lo >>> 0);
  res.perm = ALL_PERM;
  return (res.status = ST_OK);
}

/** A configuration error met by a checked Translated transaction: aborted; recorded only with REC_CFG_ATS. */
function checkedConfigError(m: SMMUv3, id: number, sid: number, hi: number, lo: number, acc: number): number {
  const res = m.res;
  noFaultDetail(m);
  writeEvent(m, id, sid, -1, hi, lo, acc, false, 0);
  res.event = id;
  if (recCfgAts(m)) res.recorded = m.pushEvent();
  return (res.status = ST_ABORT);
}
