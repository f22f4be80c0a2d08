// Event record construction (IHI0070 §7.3) and the event and PRI queues (§7.2, §7.4, §8): the
// wrap-bit protocol, overflow flagging (PROD.OVFLG toggled once per overflow until software
// acknowledges it with CONS.OVACKFLG), queue-write aborts (GERROR.*_ABT_ERR) and interrupts on
// the empty -> non-empty edge (wired, or an MSI write into memory when IDR0.MSI and *_IRQ_CFG0 is set).
//
// Cold path: runs only when a transaction faults, so the record is built through the layout
// tables (BigInt), the single source of every field position.
import { encode, qwordsToWords, type Layout } from '../layout/layout.ts';
import { EVT_BY_ID, PRIQ_ENTRY } from './events.ts';
import { ACC_U, ACC_W, ACC_X, CLASS_TT } from './walk.ts';
import type { SMMUv3 } from './smmuv3.ts';

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
    SubstreamID: ssid >= 0 ? ssid : 0,
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
  base: 0xa0,
  prod: 0x100a8,
  cons: 0x100ac,
  en: 1 << 2,
  entryWords: 8,
  abtErr: 1 << 2,
  irqEn: 1 << 2,
  irqCfg: 0xb0,
  irqName: 'evtq',
};
const PRIQ: QueueRegs = {
  base: 0xc0,
  prod: 0x100c8,
  cons: 0x100cc,
  en: 1 << 1,
  entryWords: 4,
  abtErr: 1 << 3,
  irqEn: 1 << 1,
  irqCfg: 0xd0,
  irqName: 'priq',
};

/** Base address, log2 entries of a queue from its *_BASE register (LOG2SIZE capped by IDR1). */
export function queueGeometry(m: SMMUv3, baseOff: number, maxBits: number): { base: number; log2: number } {
  const lo = m.r[baseOff >> 2]!;
  const hi = m.r[(baseOff >> 2) + 1]!;
  let log2 = lo & 0x1f;
  if (log2 > maxBits) log2 = maxBits;
  return { base: (hi & 0xfffff) * 4294967296 + ((lo & ~0x1f) >>> 0), log2 };
}

/** Toggles a GERROR bit if that error is not already active (GERROR == GERRORN for it). */
function toggleGerror(m: SMMUv3, bit: number): boolean {
  const r = m.r;
  if (((r[0x60 >> 2]! ^ r[0x64 >> 2]!) & bit) !== 0) return false;
  r[0x60 >> 2] = (r[0x60 >> 2]! ^ bit) >>> 0;
  return true;
}

/** A global error: toggles its GERROR bit and raises the GERROR interrupt if enabled. */
export function raiseGerror(m: SMMUv3, bit: number): void {
  if (toggleGerror(m, bit) && (m.r[0x50 >> 2]! & 1) !== 0) signalIrq(m, 0x68, 'gerror');
}

const MSI_ABT_ERR = { gerror: 1 << 7, evtq: 1 << 5, priq: 1 << 6 } as const;

/** An interrupt: MSI write of *_IRQ_CFG1 to *_IRQ_CFG0 if MSIs are supported and configured, else a wired line. */
export function signalIrq(m: SMMUv3, cfg0: number, name: 'gerror' | 'evtq' | 'priq'): void {
  const lo = m.r[cfg0 >> 2]! & ~3;
  const hi = m.r[(cfg0 >> 2) + 1]! & 0xfffff;
  const addr = hi * 4294967296 + (lo >>> 0);
  if (m.feat.msi && addr !== 0) {
    // An MSI write that aborts is a global error (MSI_*_ABT_ERR); for the GERROR MSI itself, no
    // further interrupt is raised.
    if (!m.mem.write32(addr, m.r[(cfg0 + 8) >> 2]!)) {
      if (name === 'gerror') toggleGerror(m, MSI_ABT_ERR.gerror);
      else raiseGerror(m, MSI_ABT_ERR[name]);
    }
    return;
  }
  m.irqs[name]++;
}

function push(m: SMMUv3, q: QueueRegs, maxBits: number, words: Uint32Array): boolean {
  const r = m.r;
  if ((r[0x20 >> 2]! & q.en) === 0) {
    if (q === EVTQ) m.eventsDiscarded++;
    return false;
  }
  const { base, log2 } = queueGeometry(m, q.base, maxBits);
  const prod = r[q.prod >> 2]!;
  const cons = r[q.cons >> 2]!;
  const idxMask = 2 ** log2 - 1;
  const wrapBit = 2 ** log2;
  const pIdx = prod & idxMask,
    pWrap = prod & wrapBit;
  const cIdx = cons & idxMask,
    cWrap = cons & wrapBit;
  if (pIdx === cIdx && pWrap !== cWrap) {
    // Full: the record is lost, and the loss is flagged (once, until acknowledged).
    if (prod >>> 31 === cons >>> 31) r[q.prod >> 2] = (prod ^ 0x8000_0000) >>> 0;
    return false;
  }
  const at = base + pIdx * q.entryWords * 4;
  for (let i = 0; i < q.entryWords; i += 2) {
    if (!m.mem.write64(at + i * 4, words[i]!, words[i + 1]!)) {
      raiseGerror(m, q.abtErr);
      return false;
    }
  }
  const wasEmpty = pIdx === cIdx && pWrap === cWrap;
  let next = pIdx + 1;
  let wrap = pWrap;
  if (next > idxMask) {
    next = 0;
    wrap ^= wrapBit;
  }
  r[q.prod >> 2] = ((prod & 0x8000_0000) | wrap | next) >>> 0;
  if (wasEmpty && (r[0x50 >> 2]! & q.irqEn) !== 0) signalIrq(m, q.irqCfg, q.irqName);
  return true;
}

/** Writes m.evt into the event queue. Returns whether it was recorded. */
export function pushEventRecord(m: SMMUv3): boolean {
  return push(m, EVTQ, m.feat.evtqBits, m.evt);
}

/**
 * A PCIe Page Request from a device (PRI, §8): written to the PRI queue. Returns whether it was
 * recorded (false: queue disabled, full (OVFLG), or PRI not implemented).
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
  return push(m, PRIQ, m.feat.priqBits, qwordsToWords(q));
}
