// Configuration lookup (IHI0070 §3.3): STE, then L1CD and CD, read from memory on every transaction,
// with a decode memo. Decoding is a pure function of the bytes read (and of the ID registers and
// CR2): the decoded forms of recently seen STEs and CDs are kept in memo slots next to the bytes they
// came from, and reused when the bytes read now are identical.
import * as Mconfig_cache from './config-cache.ts';
const { K, KIND_ABORT, KIND_NESTED, KIND_S1 } = Mconfig_cache;
const { KIND: K_KIND, STRIDE: K_STRIDE } = K;
import * as Mcd from './cd.ts';
const { decodeCd, fetchCd } = Mcd;
import * as Mevents from './events.ts';
const { EVT } = Mevents;
import * as Mste from './ste.ts';
const { decodeSte, fetchSte } = Mste;
import type { ConfigCache } from './config-cache.ts';
import type { SMMUv3 } from './smmuv3.ts';

/** w[a..a+7] equal m[b..b+7] (an STE as read against a memo entry). */
function same8(w: Int32Array, a: number, m: Int32Array, b: number): boolean {
  return (
    w[a] === m[b] &&
    w[a + 1] === m[b + 1] &&
    w[a + 2] === m[b + 2] &&
    w[a + 3] === m[b + 3] &&
    w[a + 4] === m[b + 4] &&
    w[a + 5] === m[b + 5] &&
    w[a + 6] === m[b + 6] &&
    w[a + 7] === m[b + 7]
  );
}

/** w[a..a+5] equal m[b..b+5] (a CD's qwords 0-2 against a memo entry). */
function same6(w: Int32Array, a: number, m: Int32Array, b: number): boolean {
  return (
    w[a] === m[b] &&
    w[a + 1] === m[b + 1] &&
    w[a + 2] === m[b + 2] &&
    w[a + 3] === m[b + 3] &&
    w[a + 4] === m[b + 4] &&
    w[a + 5] === m[b + 5]
  );
}

/**
 * The STE half of loadConfig: reads the STE of `sid` and finds it decoded in m.cfgSlot (an STE memo
 * slot). Returns 0 or an event id (C_BAD_STREAMID, F_STE_FETCH, C_BAD_STE). For requests that need
 * the STE alone (ATS Translated transactions, §3.9.1.3: no CD is fetched).
 */
export function loadSte(m: SMMUv3, sid: number): number {
  m.kindOverride = -1;
  m.cfgSlot = -1;
  const cc = m.cc;
  // Every so many probes, let the memo grow with the working set (before any slot is in use: a
  // resize replaces cc.ci).
  if (--cc.memoCountdown <= 0) cc.reviewMemo(m.caching);
  const st = fetchSte(m, sid);
  if (st !== 0) return st;
  const sw = cc.steWords;
  const sidI = sid | 0;
  // Memo entries are chosen by Fibonacci hashing of the StreamID (and SubstreamID for CDs): any
  // index would be correct, since a hit needs equal words; integers are cheaper to hash than addresses.
  const e = Math.imul(sid, 0x9e3779b1) >>> cc.steMemoShift;
  const sSlot = cc.steMemoBase + e;
  const w8 = e * 8;
  const gen = cc.steGen[e]!;
  const w = m.steW;
  const a = m.steAt;
  if (gen === 0 || !same8(w, a, sw, w8)) {
    // Another stream's STE evicted: counts toward growing the memo (a rewritten STE does not).
    if (gen !== 0 && cc.steKey[e] !== sidI) cc.steEvicts++;
    cc.steGen[e] = 0;
    const ste = m.ste;
    for (let i = 0; i < 8; i++) ste[i] = w[a + i]!;
    const bad = decodeSte(m, sSlot);
    if (bad !== 0) return bad;
    for (let i = 0; i < 8; i++) sw[w8 + i] = ste[i]!;
    cc.steKey[e] = sidI;
    cc.steGen[e] = ++m.genCounter;
  }
  m.cfgSlot = sSlot;
  return 0;
}

/**
 * Reads the configuration for (sid, ssid) from memory (STE, then L1CD and CD) and finds it decoded
 * in m.cfgSlot. Returns 0 or an event id (the fault fields say more; m.cfgSlot is then the
 * slot whose STE flags apply, or -1). m.kindOverride >= 0 replaces the slot's KIND (S1DSS).
 *
 * Decoding is a pure function of the bytes read (and of the ID registers and CR2): the decoded
 * forms of recently seen STEs and CDs are kept in memo slots next to the bytes they came from,
 * and reused when the bytes read now are identical. Memory is still read on every transaction.
 */
export function loadConfig(m: SMMUv3, sid: number, ssid: number): number {
  let st = loadSte(m, sid);
  if (st !== 0) return st;
  const cc = m.cc;
  const sSlot = m.cfgSlot;
  const sidI = sid | 0;
  const gen = cc.steGen[sSlot - cc.steMemoBase]!;
  const kind = cc.ci[sSlot * K_STRIDE + K_KIND]!;
  if (kind === KIND_S1 || kind === KIND_NESTED) {
    st = fetchCd(m, sSlot, ssid);
    if (st !== 0 || m.kindOverride >= 0) return st;
    // Two ways per set: 128 CDs hashed into one way each would collide about one time in six.
    const cw = cc.cdWords;
    const csg = cc.cdSteGen;
    let c = (Math.imul(ssid ^ (sid << 12), 0x9e3779b1) >>> cc.cdMemoShift) << 1;
    let w6 = c * 6;
    const w = m.cdW;
    const a = m.cdAt;
    if (csg[c] !== gen || !same6(w, a, cw, w6)) {
      c++;
      w6 += 6;
      if (csg[c] !== gen || !same6(w, a, cw, w6)) {
        c = cdVictim(cc, c - 1, sidI, ssid);
        w6 = c * 6;
        csg[c] = 0;
        const cd = m.cd;
        for (let i = 0; i < 6; i++) cd[i] = w[a + i]!;
        const slot = cc.cdMemoBase + c;
        cc.copy(sSlot, slot);
        st = decodeCd(m, slot);
        if (st !== 0) return st;
        for (let i = 0; i < 6; i++) cw[w6 + i] = cd[i]!;
        cc.cdKey[2 * c] = sidI;
        cc.cdKey[2 * c + 1] = ssid;
        csg[c] = gen;
      }
    }
    const cSlot = cc.cdMemoBase + c;
    m.cfgSlot = cSlot;
  } else if (ssid >= 0 && kind !== KIND_ABORT) {
    // A SubstreamID on a stream whose STE does not use stage 1 CDs.
    return EVT.C_BAD_SUBSTREAMID;
  }
  return 0;
}

/**
 * The CD memo entry to refill after a miss in both ways of the set starting at entry `c0`: the way
 * already filled for this (StreamID, SubstreamID) (its CD or STE was rewritten), else an empty way 0
 * (hits in way 0 cost one compare), else the way filled longer ago (cdFill: bit set = way 1 was last).
 * Evicting an entry that is still valid under its stream's current STE counts toward growing the memo.
 */
function cdVictim(cc: ConfigCache, c0: number, sid: number, ssid: number): number {
  const ck = cc.cdKey;
  const csg = cc.cdSteGen;
  const set = c0 >>> 1;
  const f = cc.cdFill;
  const bit = 1 << (set & 31);
  let way: number;
  if (csg[c0] !== 0 && ck[2 * c0] === sid && ck[2 * c0 + 1] === ssid) way = 0;
  else if (csg[c0 + 1] !== 0 && ck[2 * c0 + 2] === sid && ck[2 * c0 + 3] === ssid) way = 1;
  else {
    way = csg[c0] === 0 || (f[set >>> 5]! & bit) !== 0 ? 0 : 1;
    const v = c0 + way;
    const g = csg[v]!;
    if (g !== 0 && cc.steGen[Math.imul(ck[2 * v]!, 0x9e3779b1) >>> cc.steMemoShift] === g) cc.cdEvicts++;
  }
  if (way === 0) f[set >>> 5] = f[set >>> 5]! & ~bit;
  else f[set >>> 5] = f[set >>> 5]! | bit;
  return c0 + way;
}
