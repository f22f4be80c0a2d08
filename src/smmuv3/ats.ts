// ATS (IHI0070 §3.9): Translation Requests from devices, and transactions marked as already
// translated (PCIe AT = Translated).
import * as Mconfig_cache from './config-cache.ts';
const { K, KIND_ABORT, KIND_BYPASS, KIND_NESTED, KIND_S2 } = Mconfig_cache;
const { EATS: K_EATS, KIND: K_KIND, STRIDE: K_STRIDE } = K;
import * as Mevents from './events.ts';
const { EVT } = Mevents;
import * as Mresult from './result.ts';
const { ST_ABORT, ST_OK } = Mresult;
import * as Mfault from './fault.ts';
const { fault } = Mfault;
import type { SMMUv3 } from './smmuv3.ts';

const TWO32 = 4294967296;
const ALL_PERM = 0x3f;
import * as Mregs from './regs.ts';
const { regBits, regOffset } = Mregs;
const R_CR0 = regOffset('CR0') >> 2;
const CR0_SMMUEN = regBits('CR0', 'SMMUEN');
const CR0_ATSCHK = regBits('CR0', 'ATSCHK');

/** An ATS Translation Request needs STE.EATS != 0 unless the stream bypasses or aborts (IHI0070 §3.9.1). */
export function atsAllowed(m: SMMUv3, slot: number, kind: number): boolean {
  if (kind === KIND_ABORT || kind === KIND_BYPASS) return true;
  const eats = m.cc.ci[slot * K_STRIDE + K_EATS]!;
  m.atsSplit = eats === 2; // split-stage ATS returns the stage-1 result
  return eats !== 0;
}

/**
 * An ATS Translation Request from a device (PCIe ATS, IHI0070 §3.9). Returns ST_OK with `res.pa`
 * / `res.perm` (what the completion grants; with STE.EATS = 0b10, the IPA), or ST_ABORT (an
 * unsuccessful completion). STE.EATS = 0b00 gives F_BAD_ATS_TREQ; translation faults are reported
 * in the completion only. ATS requests never fill the TLB here (the ATC caches the answer).
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
  if (!m.feat.ats || (m.r[R_CR0]! & CR0_SMMUEN) === 0) {
    res.event = 0;
    res.recorded = false;
    return (res.status = ST_ABORT); // UR: ATS not implemented or SMMU disabled
  }
  m.atsMode = true;
  m.atsSplit = false;
  try {
    return m.translate(sid, ssid, iovaHi, iovaLo, acc);
  } finally {
    m.atsMode = false;
    m.atsSplit = false;
  }
}

/**
 * A transaction marked as already translated (PCIe AT = Translated). With CR0.ATSCHK = 1 the
 * stream must have ATS enabled (else F_TRANSL_FORBIDDEN); with STE.EATS = 0b10 the address is an
 * IPA and goes through stage 2. With ATSCHK = 0 translated transactions pass unchecked.
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
  const r = m.r;
  const pass = () => {
    res.pa = (addrHi >>> 0) * TWO32 + (addrLo >>> 0);
    res.perm = ALL_PERM;
    return (res.status = ST_OK);
  };
  if ((r[R_CR0]! & CR0_SMMUEN) === 0 || (r[R_CR0]! & CR0_ATSCHK) === 0) return pass();
  const st = m.loadConfig(sid >>> 0, ssid);
  if (st !== 0) return fault(m, st, sid >>> 0, ssid, addrHi, addrLo, acc, -1);
  const ci = m.cc.ci;
  const slot = m.cfgSlot;
  const kind = m.kindOverride >= 0 ? m.kindOverride : ci[slot * K_STRIDE + K_KIND]!;
  if (kind === KIND_ABORT) return (res.status = ST_ABORT);
  if (kind === KIND_BYPASS) return pass();
  const eats = ci[slot * K_STRIDE + K_EATS]!;
  if (eats === 0) return fault(m, EVT.F_TRANSL_FORBIDDEN, sid >>> 0, ssid, addrHi, addrLo, acc, -1);
  if (eats === 2 && (kind === KIND_S2 || kind === KIND_NESTED))
    return m.stage2Only(slot, sid >>> 0, ssid, addrHi, addrLo, acc);
  return pass();
}
