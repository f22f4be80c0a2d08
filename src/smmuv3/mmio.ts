// SMMUv3 MMIO: the register file's side effects on writes (IHI0070 §6.3). Registers are named in
// regs.ts; the model completes every update at once (CR0ACK, IRQ_CTRLACK follow their registers).
import * as Mcmdq from './cmdq.ts';
const { processCmdq } = Mcmdq;
import * as Mregs from './regs.ts';
const { REGS, REG_BY_NAME } = Mregs;
import type { SMMUv3 } from './smmuv3.ts';

// Register offsets used on frequent paths (the table in regs.ts is the source; checked at load).
const R_CR0 = 0x20 >> 2;
for (const [n, off] of [
  ['CR0', 0x20],
  ['GBPA', 0x44],
  ['STRTAB_BASE', 0x80],
  ['STRTAB_BASE_CFG', 0x88],
  ['CMDQ_BASE', 0x90],
] as const) {
  if (REG_BY_NAME.get(n)?.offset !== off) throw new Error(`register table: ${n} moved`);
}

export function mmioRead32(m: SMMUv3, off: number): number {
  if (off < 0 || off >= 0x20000 || off % 4 !== 0) return 0;
  // Page-0 copies of the page-1 queue pointers (as implementations with PAGE0_REGS_ONLY provide).
  if (off === 0xa8 || off === 0xac || off === 0xc8 || off === 0xcc) off += 0x10000;
  return m.r[off >> 2]!;
}

export function mmioRead64(m: SMMUv3, off: number): bigint {
  return (BigInt(m.read32(off + 4)) << 32n) | BigInt(m.read32(off));
}

export function mmioWrite64(m: SMMUv3, off: number, v: bigint): void {
  m.write32(off, Number(v & 0xffff_ffffn));
  m.write32(off + 4, Number((v >> 32n) & 0xffff_ffffn));
}

export function mmioWrite32(m: SMMUv3, off: number, v: number): void {
  if (off < 0 || off >= 0x20000 || off % 4 !== 0) return;
  if (off === 0xa8 || off === 0xac || off === 0xc8 || off === 0xcc) off += 0x10000;
  v >>>= 0;
  const r = m.r;
  const i = off >> 2;
  const cr0 = r[R_CR0]!;
  switch (off) {
    case 0x20: // CR0: the model completes updates at once, so CR0ACK follows immediately
      r[i] = v & 0x1df;
      r[0x24 >> 2] = r[i]!;
      processCmdq(m);
      return;
    case 0x28: // CR1, CR2: writable only while SMMUEN = 0
    case 0x2c:
      if ((cr0 & 1) === 0) r[i] = v;
      m.cc.forgetDecoded(); // CR2.E2H changes what an STE / CD means
      return;
    case 0x44: // GBPA: takes effect only with Update = 1; completes at once (Update reads 0)
      if (v & 0x8000_0000) r[i] = v & 0x001f_3f1f;
      return;
    case 0x50: // IRQ_CTRL -> IRQ_CTRLACK
      r[i] = v & 7;
      r[0x54 >> 2] = v & 7;
      return;
    case 0x64: // GERRORN: acknowledging CMDQ_ERR restarts command processing
      r[i] = v & 0x3fd;
      processCmdq(m);
      return;
    case 0x80:
    case 0x84:
    case 0x88: // STRTAB_BASE(_CFG): RO while SMMUEN = 1
      if ((cr0 & 1) === 0) r[i] = v;
      m.stGeomValid = false;
      return;
    case 0x90:
    case 0x94: // CMDQ_BASE: RO while CMDQEN = 1
      if ((cr0 & 8) === 0) r[i] = v;
      return;
    case 0x98: // CMDQ_PROD
      r[i] = v & 0xfffff;
      processCmdq(m);
      return;
    case 0x9c: // CMDQ_CONS: software may set it only while the queue is disabled
      if ((cr0 & 8) === 0) r[i] = v & 0x7f0f_ffff;
      return;
    case 0xa0:
    case 0xa4: // EVTQ_BASE
      if ((cr0 & 4) === 0) r[i] = v;
      return;
    case 0x100a8: // EVTQ_PROD: owned by the SMMU while enabled
      if ((cr0 & 4) === 0) r[i] = v & 0x800f_ffff;
      return;
    case 0x100ac: // EVTQ_CONS
      r[i] = v & 0x800f_ffff;
      return;
    case 0xc0:
    case 0xc4: // PRIQ_BASE
      if ((cr0 & 2) === 0) r[i] = v;
      return;
    case 0x100c8:
      if ((cr0 & 2) === 0) r[i] = v & 0x800f_ffff;
      return;
    case 0x100cc:
      r[i] = v & 0x800f_ffff;
      return;
    case 0x68:
    case 0x6c:
    case 0x70:
    case 0x74: // *_IRQ_CFGn
    case 0xb0:
    case 0xb4:
    case 0xb8:
    case 0xbc:
    case 0xd0:
    case 0xd4:
    case 0xd8:
    case 0xdc:
      r[i] = v;
      return;
    default:
      return; // ID registers, ACK registers, GERROR, STATUSR and reserved offsets: RO / WI
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
