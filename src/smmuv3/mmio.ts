// SMMUv3 MMIO: the register file's side effects on writes (IHI0070 §6.3). Every offset, field and
// writable mask comes from the register table (regs.ts); the model completes every update at once
// (CR0ACK and IRQ_CTRLACK follow their registers, GBPA.Update reads 0).
import * as Mcmdq from './cmdq.ts';
const { processCmdq } = Mcmdq;
import * as Mevtq from './evtq.ts';
const { drainStallRecords, queueGeometry } = Mevtq;
import * as Mregs from './regs.ts';
const { REGS, REG_BY_NAME, WRITE_MASK, regBits, regOffset } = Mregs;
import type { SMMUv3 } from './smmuv3.ts';

const A_CR0 = regOffset('CR0');
const A_CR0ACK = regOffset('CR0ACK');
const A_CR1 = regOffset('CR1');
const A_CR2 = regOffset('CR2');
const A_GBPA = regOffset('GBPA');
const A_IRQ_CTRL = regOffset('IRQ_CTRL');
const A_IRQ_CTRLACK = regOffset('IRQ_CTRLACK');
const A_GERRORN = regOffset('GERRORN');
const A_STRTAB_BASE = regOffset('STRTAB_BASE');
const A_STRTAB_BASE_CFG = regOffset('STRTAB_BASE_CFG');
const A_CMDQ_BASE = regOffset('CMDQ_BASE');
const A_CMDQ_PROD = regOffset('CMDQ_PROD');
const A_CMDQ_CONS = regOffset('CMDQ_CONS');
const A_EVTQ_BASE = regOffset('EVTQ_BASE');
const A_EVTQ_PROD = regOffset('EVTQ_PROD');
const A_EVTQ_CONS = regOffset('EVTQ_CONS');
const A_PRIQ_BASE = regOffset('PRIQ_BASE');
const A_PRIQ_PROD = regOffset('PRIQ_PROD');
const A_PRIQ_CONS = regOffset('PRIQ_CONS');
/** Page 1 starts at 64 KiB; its queue pointers also appear in page 0 at the same offset below it. */
const PAGE1 = 0x10000;
const R_CR0 = A_CR0 >> 2;
const CR0_SMMUEN = regBits('CR0', 'SMMUEN');
const CR0_CMDQEN = regBits('CR0', 'CMDQEN');
const CR0_EVENTQEN = regBits('CR0', 'EVENTQEN');
const CR0_PRIQEN = regBits('CR0', 'PRIQEN');
const GBPA_UPDATE = regBits('GBPA', 'Update');

/** Page-0 copies of the page-1 queue pointers (as implementations with PAGE0_REGS_ONLY provide). */
function unalias(off: number): number {
  return off === A_EVTQ_PROD - PAGE1 ||
    off === A_EVTQ_CONS - PAGE1 ||
    off === A_PRIQ_PROD - PAGE1 ||
    off === A_PRIQ_CONS - PAGE1
    ? off + PAGE1
    : off;
}

export function mmioRead32(m: SMMUv3, off: number): number {
  if (off < 0 || off >= 0x20000 || off % 4 !== 0) return 0;
  off = unalias(off);
  const v = m.r[off >> 2]!;
  // Queue pointers: bits [19:QS+1] above the wrap flag read as zero, QS being the queue's
  // effective LOG2SIZE (§6.3.26-36: e.g. §6.3.28 CMDQ_CONS).
  if (off === A_CMDQ_PROD || off === A_CMDQ_CONS) return ptrRead(m, v, A_CMDQ_BASE, m.feat.cmdqBits);
  if (off === A_EVTQ_PROD || off === A_EVTQ_CONS) return ptrRead(m, v, A_EVTQ_BASE, m.feat.evtqBits);
  if (off === A_PRIQ_PROD || off === A_PRIQ_CONS) return ptrRead(m, v, A_PRIQ_BASE, m.feat.priqBits);
  return v;
}

/** A queue pointer register as read: the index and wrap bits of the queue's size, and the flags above bit 19. */
function ptrRead(m: SMMUv3, v: number, base: number, maxBits: number): number {
  const qs = queueGeometry(m, base, maxBits).log2;
  return (v & ~(0xfffff & ~(2 ** (qs + 1) - 1))) >>> 0;
}

export function mmioRead64(m: SMMUv3, off: number): bigint {
  return (BigInt(mmioRead32(m, off + 4)) << 32n) | BigInt(mmioRead32(m, off));
}

export function mmioWrite64(m: SMMUv3, off: number, v: bigint): void {
  mmioWrite32(m, off, Number(v & 0xffff_ffffn));
  mmioWrite32(m, off + 4, Number((v >> 32n) & 0xffff_ffffn));
}

export function mmioWrite32(m: SMMUv3, off: number, v: number): void {
  if (off < 0 || off >= 0x20000 || off % 4 !== 0) return;
  off = unalias(off);
  const r = m.r;
  const i = off >> 2;
  // Only the bits the register table makes writable change (RO fields and RES0 bits are ignored).
  v = (v & WRITE_MASK[i]!) >>> 0;
  const cr0 = r[R_CR0]!;
  switch (off) {
    case A_CR0: // the model completes updates at once, so CR0ACK follows immediately
      r[i] = v;
      r[A_CR0ACK >> 2] = v;
      // SMMUEN 1 -> 0 marks every stalled transaction terminated with an abort (§6.3.9.6).
      if ((cr0 & CR0_SMMUEN) !== 0 && (v & CR0_SMMUEN) === 0)
        for (const s of m.stalls) if (s.state === 0) s.state = 2;
      processCmdq(m);
      if (m.pendingStalls.length !== 0) drainStallRecords(m); // EVENTQEN may have become 1
      return;
    case A_CR1: // CR1, CR2: writable only while SMMUEN = 0
    case A_CR2:
      if ((cr0 & CR0_SMMUEN) === 0) r[i] = v;
      m.cc.forgetDecoded(); // CR2.E2H changes what an STE / CD means
      return;
    case A_GBPA: // takes effect only with Update = 1; completes at once (Update reads 0)
      if (v & GBPA_UPDATE) r[i] = (v & ~GBPA_UPDATE) >>> 0;
      return;
    case A_IRQ_CTRL: // IRQ_CTRLACK follows at once
      r[i] = v;
      r[A_IRQ_CTRLACK >> 2] = v;
      return;
    case A_GERRORN: // acknowledging CMDQ_ERR restarts command processing
      r[i] = v;
      processCmdq(m);
      // Acknowledging EVENTQ_ABT_ERR makes the event queue writable again (§7.2.1).
      if (m.pendingStalls.length !== 0) drainStallRecords(m);
      return;
    case A_STRTAB_BASE: // STRTAB_BASE(_CFG): RO while SMMUEN = 1
    case A_STRTAB_BASE + 4:
    case A_STRTAB_BASE_CFG:
      if ((cr0 & CR0_SMMUEN) === 0) r[i] = v;
      m.stGeomValid = false;
      return;
    case A_CMDQ_BASE: // RO while CMDQEN = 1
    case A_CMDQ_BASE + 4:
      if ((cr0 & CR0_CMDQEN) === 0) r[i] = v;
      return;
    case A_CMDQ_PROD:
      r[i] = v;
      processCmdq(m);
      return;
    case A_CMDQ_CONS: // software may set it only while the queue is disabled (ERR is RO)
      if ((cr0 & CR0_CMDQEN) === 0) r[i] = v;
      return;
    case A_EVTQ_BASE:
    case A_EVTQ_BASE + 4:
      if ((cr0 & CR0_EVENTQEN) === 0) r[i] = v;
      return;
    case A_EVTQ_PROD: // owned by the SMMU while enabled
      if ((cr0 & CR0_EVENTQEN) === 0) r[i] = v;
      return;
    case A_PRIQ_BASE:
    case A_PRIQ_BASE + 4:
      if ((cr0 & CR0_PRIQEN) === 0) r[i] = v;
      return;
    case A_PRIQ_PROD:
      if ((cr0 & CR0_PRIQEN) === 0) r[i] = v;
      return;
    case A_EVTQ_CONS: // room made in a full queue lets kept stall records in (§7.4)
      r[i] = v;
      if (m.pendingStalls.length !== 0) drainStallRecords(m);
      return;
    case A_PRIQ_CONS:
      r[i] = v;
      return;
    default:
      // *_IRQ_CFGn and other plain RW registers take the writable bits; ID, ACK, GERROR, STATUSR
      // and reserved offsets have a zero mask, so they stay as they are (RO / WI).
      if (WRITE_MASK[i] !== 0) r[i] = v;
      return;
  }
}

/**
 * Sets a register as if software had programmed it, without side effects (image loading).
 * ID registers set the features too (call before anything else).
 */
export function loadRegister(m: SMMUv3, name: string, value: bigint): void {
  const d = REG_BY_NAME.get(name);
  if (!d) throw new RangeError(`unknown SMMUv3 register '${name}'`);
  if (value < 0n || value >= 1n << BigInt(d.size * 8))
    throw new RangeError(`register ${name}: value 0x${value.toString(16)} is wider than ${d.size * 8} bits`);
  m.stGeomValid = false;
  m.r[d.offset >> 2] = Number(value & 0xffff_ffffn);
  if (d.size === 8) m.r[(d.offset >> 2) + 1] = Number(value >> 32n);
}

/** All registers by name (for image saving), 64-bit ones whole. */
export function registerValues(m: SMMUv3): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const d of REGS) {
    const lo = BigInt(m.r[d.offset >> 2]!);
    out[d.name] = d.size === 8 ? (BigInt(m.r[(d.offset >> 2) + 1]!) << 32n) | lo : lo;
  }
  return out;
}
