// Event record construction (IHI0070 §7.3) and the event and PRI queues (§7.2, §7.4, §8): the
// wrap-bit protocol, overflow flagging (PROD.OVFLG toggled once per overflow until software
// acknowledges it with CONS.OVACKFLG), queue-write aborts (GERROR.*_ABT_ERR) and interrupts on
// the empty -> non-empty edge (wired, or an MSI write into memory when IDR0.MSI and *_IRQ_CFG0 is set).
//
// Cold path: runs only when a transaction faults, so the record is built through the layout
// tables (BigInt), the single source of every field position.
import { encode, qwordsToWords, wordField, type Layout } from '../layout/layout.ts';
import { EVT_BY_ID, EVT_CLASS, PRIQ_ENTRY } from './events.ts';
import { STE } from './layouts.ts';
import { fetchSte } from './ste.ts';
import { ACC_U, ACC_W, ACC_X } from './walk.ts';
const CLASS_TT = EVT_CLASS.TT;
import type { SMMUv3 } from './smmuv3.ts';
import { qEmpty, qFull, qIndex, qNext } from './queue.ts';
import { regAddrMasks, regBits, regOffset, regWordField } from './regs.ts';

/** Builds the record for event `id` into m.evt, from the transaction and m.flt* details. */
export function writeEvent(
  m: SMMUv3,
  id: number,
  sid: number,
  ssid: number,
  hi: number,
  lo: number,
  acc: number,
  stall: boolean,
  stag: number,
): void {
  const def = EVT_BY_ID[id];
  if (!def) throw new Error(`model bug: no layout for event 0x${id.toString(16)}`);
  const input = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  const a = BigInt(Math.floor(m.fltAddr));
  const candidates: Record<string, bigint | number> = {
    EventID: id,
    SSV: ssid >= 0 ? 1 : 0,
    // SubstreamIDs are 20 bits on the wire (PCIe PASID); a wider argument keeps its low 20 bits.
    SubstreamID: ssid >= 0 ? ssid & 0xfffff : 0,
    StreamID: sid >>> 0,
    STAG: stall ? stag : 0,
    Stall: stall ? 1 : 0,
    PnU: acc & ACC_U ? 0 : 1,
    InD: acc & ACC_X && !(acc & ACC_W) ? 1 : 0,
    RnW: acc & ACC_W ? 0 : 1,
    S2: m.fltS2,
    CLASS: m.fltClass,
    InputAddr: input,
    IPA: m.fltS2 ? a & ~0xfffn & ((1n << 52n) - 1n) : 0n,
    FetchAddr: a & ~7n & ((1n << 52n) - 1n),
    // Read (1) or write (0) nature of the translation-table access; meaningful when CLASS == TT.
    TTRnW: m.fltClass === CLASS_TT ? (m.fltTtWrite ? 0 : 1) : 0,
  };
  m.evt.set(qwordsToWords(build(def.layout, candidates)));
}

/** Encodes the fields of `candidates` that the layout has; address fields are masked to their bits. */
function build(l: Layout, candidates: Record<string, bigint | number>): bigint[] {
  const vals: Record<string, bigint> = {};
  for (const f of l.fields) {
    const v = candidates[f.name];
    if (v === undefined) continue;
    let b = BigInt(v);
    if (f.kind === 'addr') b &= ((1n << BigInt(f.hi + 1)) - 1n) & ~((1n << BigInt(f.lo)) - 1n);
    vals[f.name] = b;
  }
  return encode(l, vals);
}

interface QueueRegs {
  base: number; // offset of *_BASE
  prod: number; // offset of *_PROD (page 1)
  cons: number;
  en: number; // CR0 enable bit
  entryWords: number;
  abtErr: number; // GERROR bit on a write abort
  irqEn: number; // IRQ_CTRL bit
  irqCfg: number; // offset of *_IRQ_CFG0
  irqName: 'evtq' | 'priq';
}

const EVTQ: QueueRegs = {
  base: regOffset('EVTQ_BASE'),
  prod: regOffset('EVTQ_PROD'),
  cons: regOffset('EVTQ_CONS'),
  en: regBits('CR0', 'EVENTQEN'),
  entryWords: 8,
  abtErr: regBits('GERROR', 'EVENTQ_ABT_ERR'),
  irqEn: regBits('IRQ_CTRL', 'EVENTQ_IRQEN'),
  irqCfg: regOffset('EVTQ_IRQ_CFG0'),
  irqName: 'evtq',
};
const PRIQ: QueueRegs = {
  base: regOffset('PRIQ_BASE'),
  prod: regOffset('PRIQ_PROD'),
  cons: regOffset('PRIQ_CONS'),
  en: regBits('CR0', 'PRIQEN'),
  entryWords: 4,
  abtErr: regBits('GERROR', 'PRIQ_ABT_ERR'),
  irqEn: regBits('IRQ_CTRL', 'PRIQ_IRQEN'),
  irqCfg: regOffset('PRIQ_IRQ_CFG0'),
  irqName: 'priq',
};
const R_CR0 = regOffset('CR0') >> 2;
const CR0_SMMUEN = regBits('CR0', 'SMMUEN');
const R_GERROR = regOffset('GERROR') >> 2;
const R_GERRORN = regOffset('GERRORN') >> 2;
const R_IRQ_CTRL = regOffset('IRQ_CTRL') >> 2;
const GERROR_IRQEN = regBits('IRQ_CTRL', 'GERROR_IRQEN');
const A_GERROR_IRQ_CFG0 = regOffset('GERROR_IRQ_CFG0');
/** *_IRQ_CFG1 (the MSI payload) sits 8 bytes after *_IRQ_CFG0 for every queue (§6.3.20-21). */
const CFG1_AFTER_CFG0 = regOffset('GERROR_IRQ_CFG1') - A_GERROR_IRQ_CFG0;
/** Queue bases share one layout (§6.3.25, §6.3.28, §6.3.34): LOG2SIZE [4:0], ADDR [51:5]. */
const QB_LOG2SIZE = regWordField('CMDQ_BASE', 'LOG2SIZE');
const QB_ADDR = regAddrMasks('CMDQ_BASE', 'ADDR');
const IRQ_ADDR = regAddrMasks('GERROR_IRQ_CFG0', 'ADDR');
const PROD_OVFLG = regBits('EVTQ_PROD', 'OVFLG');
const MSI_ABT_ERR = {
  gerror: regBits('GERROR', 'MSI_GERROR_ABT_ERR'),
  evtq: regBits('GERROR', 'MSI_EVENTQ_ABT_ERR'),
  priq: regBits('GERROR', 'MSI_PRIQ_ABT_ERR'),
} as const;

/** Base address, log2 entries of a queue from its *_BASE register (LOG2SIZE capped by IDR1). */
export function queueGeometry(m: SMMUv3, baseOff: number, maxBits: number): { base: number; log2: number } {
  const lo = m.r[baseOff >> 2]!;
  const hi = m.r[(baseOff >> 2) + 1]!;
  let log2 = (lo >>> QB_LOG2SIZE.shift) & QB_LOG2SIZE.mask;
  if (log2 > maxBits) log2 = maxBits;
  return { base: (hi & QB_ADDR.hiMask) * 4294967296 + ((lo & QB_ADDR.loMask) >>> 0), log2 };
}

/** Toggles a GERROR bit if that error is not already active (GERROR == GERRORN for it). */
function toggleGerror(m: SMMUv3, bit: number): boolean {
  const r = m.r;
  if (((r[R_GERROR]! ^ r[R_GERRORN]!) & bit) !== 0) return false;
  r[R_GERROR] = (r[R_GERROR]! ^ bit) >>> 0;
  return true;
}

/** A global error: toggles its GERROR bit and raises the GERROR interrupt if enabled. */
export function raiseGerror(m: SMMUv3, bit: number): void {
  if (toggleGerror(m, bit) && (m.r[R_IRQ_CTRL]! & GERROR_IRQEN) !== 0)
    signalIrq(m, A_GERROR_IRQ_CFG0, 'gerror');
}

const STE_V = wordField(STE, 'V');
const STE_PPAR = wordField(STE, 'PPAR');

/** An interrupt: MSI write of *_IRQ_CFG1 to *_IRQ_CFG0 if MSIs are supported and configured, else a wired line. */
export function signalIrq(m: SMMUv3, cfg0: number, name: 'gerror' | 'evtq' | 'priq'): void {
  const lo = m.r[cfg0 >> 2]! & IRQ_ADDR.loMask;
  const hi = m.r[(cfg0 >> 2) + 1]! & IRQ_ADDR.hiMask;
  const addr = hi * 4294967296 + (lo >>> 0);
  if (m.feat.msi && addr !== 0) {
    // An MSI write that aborts is a global error (MSI_*_ABT_ERR); for the GERROR MSI itself, no
    // further interrupt is raised.
    if (!m.mem.write32(addr, m.r[(cfg0 + CFG1_AFTER_CFG0) >> 2]!)) {
      if (name === 'gerror') toggleGerror(m, MSI_ABT_ERR.gerror);
      else raiseGerror(m, MSI_ABT_ERR[name]);
    }
    return;
  }
  m.irqs[name]++;
}

// Why a queue cannot take an entry now (0: it is writable).
const Q_DISABLED = 1;
const Q_ABORT = 2;
const Q_FULL = 3;
const Q_OVERFLOW = 4;

/**
 * Writability of an output queue (§7.2.1 for the event queue, §8.1-8.2 for the PRI queue): enabled
 * (for the PRI queue the effective PRIQEN, 0 while SMMUEN = 0, §6.3.9.5), no unacknowledged
 * *_ABT_ERR, not full; and for the PRI queue no active overflow condition (§8.1: it inhibits new
 * entries, unlike an event queue overflow, §7.4).
 */
function blocked(m: SMMUv3, q: QueueRegs, maxBits: number): number {
  const r = m.r;
  const cr0 = r[R_CR0]!;
  if ((cr0 & q.en) === 0 || (q === PRIQ && (cr0 & CR0_SMMUEN) === 0)) return Q_DISABLED;
  if (((r[R_GERROR]! ^ r[R_GERRORN]!) & q.abtErr) !== 0) return Q_ABORT;
  const prod = r[q.prod >> 2]!;
  const cons = r[q.cons >> 2]!;
  if (q === PRIQ && prod >>> 31 !== cons >>> 31) return Q_OVERFLOW;
  if (qFull(prod, cons, queueGeometry(m, q.base, maxBits).log2)) return Q_FULL;
  return 0;
}

/** Toggles *_PROD.OVFLG unless an overflow condition is already present (OVFLG != OVACKFLG). */
function overflow(m: SMMUv3, q: QueueRegs): void {
  const r = m.r;
  const prod = r[q.prod >> 2]!;
  if (((prod ^ r[q.cons >> 2]!) & PROD_OVFLG) === 0) r[q.prod >> 2] = (prod ^ PROD_OVFLG) >>> 0;
}

/** Writes an entry into a writable queue. False: the write aborted (GERROR.*_ABT_ERR, §7.2.2, §8.2). */
function write(m: SMMUv3, q: QueueRegs, maxBits: number, words: Uint32Array): boolean {
  const r = m.r;
  const { base, log2 } = queueGeometry(m, q.base, maxBits);
  const prod = r[q.prod >> 2]!;
  const cons = r[q.cons >> 2]!;
  const at = base + qIndex(prod, log2) * q.entryWords * 4;
  for (let i = 0; i < q.entryWords; i += 2) {
    if (!m.mem.write64(at + i * 4, words[i]!, words[i + 1]!)) {
      // A synchronous abort: PROD does not move (§7.2.2).
      raiseGerror(m, q.abtErr);
      return false;
    }
  }
  const wasEmpty = qEmpty(prod, cons, log2);
  r[q.prod >> 2] = ((prod & PROD_OVFLG) | qNext(prod, log2)) >>> 0;
  if (wasEmpty && (r[R_IRQ_CTRL]! & q.irqEn) !== 0) signalIrq(m, q.irqCfg, q.irqName);
  return true;
}

/**
 * Writes m.evt (the record of a terminated transaction, or a configuration error) into the event
 * queue. Returns whether it was recorded. When the queue is not writable the record is discarded
 * (§7.2.1): counted in m.eventsDiscarded when the queue is disabled or has an unacknowledged
 * EVENTQ_ABT_ERR, and an overflow (PROD.OVFLG, §7.4) when it is full.
 */
export function pushEventRecord(m: SMMUv3): boolean {
  // Older stall records still waiting go first (they are kept only while the queue is unwritable).
  if (m.pendingStalls.length !== 0) drainStallRecords(m);
  const why = blocked(m, EVTQ, m.feat.evtqBits);
  if (why === Q_FULL) overflow(m, EVTQ);
  else if (why !== 0) m.eventsDiscarded++;
  return why === 0 && write(m, EVTQ, m.feat.evtqBits, m.evt);
}

/**
 * Stall records waiting for the event queue: at most this many stalled transactions whose record
 * could not be written yet (model choice: an implementation's stall resources are finite; a stall
 * fault beyond them is terminated with an abort, its record lost, without an overflow).
 */
export const MAX_PENDING_STALLS = 64;

/**
 * Records the event of a stalled transaction (m.evt, Stall = 1). A stall record is never discarded
 * and never causes an overflow (§7.2.1, §7.4): when the queue is not writable (disabled, full, or
 * with an unacknowledged EVENTQ_ABT_ERR) it is kept and written when the queue is next writable
 * (drainStallRecords). Returns 1 (written), 0 (kept, the transaction stays stalled) or -1 (no room
 * to keep it: the caller terminates the transaction).
 */
export function recordStall(m: SMMUv3, sid: number, stag: number): number {
  const p = m.pendingStalls;
  if (p.length !== 0) drainStallRecords(m);
  if (p.length === 0 && blocked(m, EVTQ, m.feat.evtqBits) === 0 && write(m, EVTQ, m.feat.evtqBits, m.evt))
    return 1;
  if (p.length >= MAX_PENDING_STALLS) return -1;
  p.push({ sid, stag, words: m.evt.slice() });
  return 0;
}

/**
 * Writes the kept stall records, oldest first, while the event queue is writable. Called when it may
 * have become writable: EVTQ_CONS written, CR0 written (EVENTQEN), GERRORN written (EVENTQ_ABT_ERR
 * acknowledged). A record whose transaction is no longer stalled (CMD_RESUME, CMD_STALL_TERM or
 * SMMUEN cleared in the meantime) is dropped: there is nothing left for software to resume.
 */
export function drainStallRecords(m: SMMUv3): void {
  const p = m.pendingStalls;
  let n = 0;
  while (n < p.length) {
    const e = p[n]!;
    if (m.stalls.some((x) => x.sid === e.sid && x.stag === e.stag && x.state === 0)) {
      if (blocked(m, EVTQ, m.feat.evtqBits) !== 0 || !write(m, EVTQ, m.feat.evtqBits, e.words)) break;
    }
    n++;
  }
  if (n !== 0) p.splice(0, n);
}

// Automatic PRG Responses (§8.1, §8.2), in the CMD_PRI_RESP.Resp encoding.
const PRI_RESP_FAILURE = 0;
const PRI_RESP_SUCCESS = 2;

/**
 * A PCIe Page Request from a device (PRI, §8): written to the PRI queue. Returns whether it was
 * recorded (false: PRI not implemented, queue (effectively) disabled, PRIQ_ABT_ERR unacknowledged,
 * full (OVFLG toggled) or in an overflow condition). A discarded request may be answered by an
 * automatic PRG Response, appended to m.priResponses with `auto: true` (§8.1, §8.2).
 */
export function pageRequest(
  m: SMMUv3,
  req: {
    sid: number;
    ssid?: number;
    addr: bigint;
    read?: boolean;
    write?: boolean;
    exec?: boolean;
    priv?: boolean;
    last?: boolean;
    prgIndex: number;
  },
): boolean {
  if (!m.feat.pri) return false;
  const ssv = req.ssid !== undefined && req.ssid >= 0;
  const why = blocked(m, PRIQ, m.feat.priqBits);
  // A Stop PASID marker (LWR = 0b100 with a PASID) never gets a response (§8.1, §8.2).
  const stopMarker = ssv && req.last === true && !req.read && !req.write;
  const auto = (resp: number, withPasid: boolean) => {
    if (!stopMarker)
      m.priResponses.push({
        sid: req.sid,
        ssid: withPasid ? req.ssid! : -1,
        prgIndex: req.prgIndex,
        resp,
        auto: true,
      });
  };
  if (why === Q_FULL || why === Q_OVERFLOW) {
    // Overflow (§8.1): the request is discarded; a Page Request with Last = 1 gets a Success
    // response, with its PASID when STE.PPAR = 1 (IDR3.PPS = 0 here); Failure without a PASID when
    // the STE cannot be checked. Last = 0: silently ignored.
    if (why === Q_FULL) overflow(m, PRIQ);
    if (req.last) {
      const ppar = ssv ? stePpar(m, req.sid) : 0;
      if (ppar < 0) auto(PRI_RESP_FAILURE, false);
      else auto(PRI_RESP_SUCCESS, ppar === 1);
    }
    return false;
  }
  if (why !== 0) {
    // PRIQEN (effectively) 0 or an unacknowledged PRIQ_ABT_ERR: every PPR is discarded with a
    // Failure response without a PASID (§8.2).
    auto(PRI_RESP_FAILURE, false);
    return false;
  }
  const q = encode(PRIQ_ENTRY, {
    StreamID: req.sid,
    SubstreamID: ssv ? req.ssid! : 0,
    SSV: ssv ? 1 : 0,
    Priv: ssv && req.priv ? 1 : 0,
    X: ssv && req.exec ? 1 : 0,
    R: req.read ? 1 : 0,
    W: req.write ? 1 : 0,
    Last: req.last ? 1 : 0,
    PRGIndex: req.prgIndex,
    PageAddress: req.addr & ~0xfffn,
  });
  if (write(m, PRIQ, m.feat.priqBits, qwordsToWords(q))) return true;
  auto(PRI_RESP_FAILURE, false); // synchronous write abort: Failure response (§8.2)
  return false;
}

/** STE.PPAR of `sid` for an overflow auto-response: 0 or 1, or -1 when the STE cannot be read or is invalid (§8.1). */
function stePpar(m: SMMUv3, sid: number): number {
  if (fetchSte(m, sid >>> 0) !== 0) return -1;
  const w = m.steW;
  const a = m.steAt;
  if ((w[a + STE_V.w]! & (STE_V.mask << STE_V.shift)) === 0) return -1;
  return (w[a + STE_PPAR.w]! >>> STE_PPAR.shift) & STE_PPAR.mask;
}
