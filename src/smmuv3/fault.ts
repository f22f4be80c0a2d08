// Fault policy (IHI0070 §3.12, §3.5): whether a fault is recorded, stalls or terminates, and how.
// Cold path: called only when a transaction faults.
import * as Mconfig_cache from './config-cache.ts';
const { K, KIND_NESTED, KIND_S1, S1F_A, S1F_R, S1F_S, S2F_R, S2F_S } = Mconfig_cache;
const { KIND: K_KIND, S1F: K_S1F, S2F: K_S2F, STRIDE: K_STRIDE } = K;
import * as Mevents from './events.ts';
const { EVT } = Mevents;
import * as Mevtq from './evtq.ts';
const { recordStall, writeEvent } = Mevtq;
import * as Mresult from './result.ts';
const { ST_ABORT, ST_RAZWI, ST_STALL } = Mresult;
import * as Mregs from './regs.ts';
const { regBits, regOffset } = Mregs;
import type { SMMUv3 } from './smmuv3.ts';

const R_CR2 = regOffset('CR2') >> 2;
const CR2_RECINVSID = regBits('CR2', 'RECINVSID');
const CR2_REC_CFG_ATS = regBits('CR2', 'REC_CFG_ATS');

/**
 * A transaction faulted with event `id`. Builds the record, decides whether it is recorded
 * (translation-class faults need CD.R / STE.S2R, or a stall), stalls or terminates. Cold path.
 */
export function fault(
  m: SMMUv3,
  id: number,
  sid: number,
  ssid: number,
  hi: number,
  lo: number,
  acc: number,
  slot: number,
): number {
  const res = m.res;
  const ci = m.cc.ci;
  const o = slot * K_STRIDE;
  const isTransl =
    id === EVT.F_TRANSLATION || id === EVT.F_ADDR_SIZE || id === EVT.F_ACCESS || id === EVT.F_PERMISSION;
  // C_BAD_STREAMID is recorded only when SMMU_CR2.RECINVSID = 1 (§6.3.12, §7.3.3).
  let record = id !== EVT.C_BAD_STREAMID || (m.r[R_CR2]! & CR2_RECINVSID) !== 0;
  let stall = false;
  let abort = true;
  if (isTransl && slot >= 0) {
    const kind = m.kindOverride >= 0 && !m.caching ? m.kindOverride : ci[o + K_KIND]!;
    const hasS1 = kind === KIND_S1 || kind === KIND_NESTED;
    if (m.fltS2 === 1) {
      const f2 = ci[o + K_S2F]!;
      record = (f2 & S2F_R) !== 0;
      stall = (f2 & S2F_S) !== 0;
    } else if (hasS1) {
      const f1 = ci[o + K_S1F]!;
      record = (f1 & S1F_R) !== 0;
      stall = (f1 & S1F_S) !== 0;
      abort = (f1 & S1F_A) !== 0;
    }
  }
  if (m.atsMode) {
    // An ATS Translation Request (§3.9.1.2) never stalls. A translation-class fault is answered
    // with R = W = 0 and no event; F_BAD_ATS_TREQ is always recorded; every other event (a
    // configuration error, external abort on a structure or table fetch) is answered with CA and
    // recorded only with SMMU_CR2.REC_CFG_ATS (C_BAD_STREAMID also needing RECINVSID, as above).
    stall = false;
    if (isTransl) record = false;
    else if (id !== EVT.F_BAD_ATS_TREQ) record = record && recCfgAts(m);
  }
  const stag = stall ? freeStag(m) : 0;
  if (stag < 0) stall = false; // every STAG is held by a stalled transaction: terminate instead
  writeEvent(m, id, sid, ssid, hi, lo, acc, stall, stag);
  res.event = id;
  if (stall) {
    // The record of a stalled transaction is written now, or kept until the event queue is
    // writable again (never discarded, never an overflow: §7.2.1, §7.4); the transaction stays
    // stalled either way. `recorded` says whether it is in the queue now.
    const rec = recordStall(m, sid, stag);
    if (rec < 0) return (res.status = ST_ABORT); // no stall resources left (evtq.ts MAX_PENDING_STALLS)
    res.recorded = rec === 1;
    // A resolved transaction's entry with the same STAG and StreamID is superseded (stallOutcome
    // then reports the new one); resolved entries beyond the newest STALL_HISTORY are forgotten.
    const old = m.stalls.findIndex((x) => x.sid === sid && x.stag === stag);
    if (old >= 0) m.stalls.splice(old, 1);
    if (m.stalls.length >= STALL_HISTORY) {
      const r = m.stalls.findIndex((x) => x.state !== 0);
      if (r >= 0) m.stalls.splice(r, 1);
    }
    m.stalls.push({ sid, stag, state: 0 });
    res.stag = stag;
    return (res.status = ST_STALL);
  }
  if (record) res.recorded = m.pushEvent();
  return (res.status = abort ? ST_ABORT : ST_RAZWI);
}

/** Resolved stalls kept for stallOutcome (the oldest resolved ones are dropped beyond this). */
const STALL_HISTORY = 4096;

/**
 * The next STAG not held by a transaction that is still stalled (a STAG returns to the set the SMMU
 * may use once CMD_RESUME / CMD_STALL_TERM resolves its transaction, §4.7.1, §4.7.2), or -1.
 */
function freeStag(m: SMMUv3): number {
  for (let i = 0; i < 0x10000; i++) {
    const stag = (m.nextStag = (m.nextStag + 1) & 0xffff);
    if (!m.stalls.some((x) => x.stag === stag && x.state === 0)) return stag;
  }
  return -1;
}

/** SMMU_CR2.REC_CFG_ATS, where IDR0.ATSRECERR makes it exist (§6.3.12). */
export function recCfgAts(m: SMMUv3): boolean {
  return m.feat.atsRecErr && (m.r[R_CR2]! & CR2_REC_CFG_ATS) !== 0;
}

/** Outcome of a stalled transaction: 'pending', 'retry' (re-issue it), 'abort' or 'razwi' (terminated). */
export function stallOutcome(
  m: SMMUv3,
  sid: number,
  stag: number,
): 'pending' | 'retry' | 'abort' | 'razwi' | 'unknown' {
  const s = m.stalls.find((x) => x.sid === sid && x.stag === stag);
  if (!s) return 'unknown';
  return s.state === 0 ? 'pending' : s.state === 1 ? 'retry' : s.state === 2 ? 'abort' : 'razwi';
}
