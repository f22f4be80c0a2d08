// SMMUv3 register file layout: offsets (page 0 and page 1), fields and their access kinds, in the
// layout framework (src/layout/layout.ts: register()). IHI0070 §6.2 (memory map), §6.3 (register
// formats). One table: the MMIO handlers (mmio.ts), the queues, the image loader, the CLI and the
// tests read it; writable masks and field positions are derived from it, never written twice.
import {
  accessMask,
  fieldBits32,
  register,
  rf,
  registerIndex,
  writeMaskWords,
  type Access,
  type FieldDef,
  type RegisterDef,
} from '../layout/layout.ts';

/** A register field (qword 0 of the register's layout). */
export type RegField = FieldDef;
/** A register: name as the image format and CLI spell it (EVTQ_* = the spec's EVENTQ_*), offset, size. */
export type RegDef = RegisterDef;

interface RawReg {
  readonly name: string;
  readonly offset: number;
  readonly size: 4 | 8;
  readonly spec: string;
  readonly fields: readonly Omit<FieldDef, 'spec'>[];
  readonly aliases?: readonly string[];
}

const f = (name: string, hi: number, lo: number, access?: Access) =>
  rf(name, hi, lo, access ? { access } : {});
/** An address field: its value is the byte address the bits denote (bits below `lo` zero). */
const a = (name: string, hi: number, lo: number) => rf(name, hi, lo, { kind: 'addr' });

const CR0_F = [
  f('SMMUEN', 0, 0),
  f('PRIQEN', 1, 1),
  f('EVENTQEN', 2, 2),
  f('CMDQEN', 3, 3),
  f('ATSCHK', 4, 4),
  f('VMW', 8, 6),
];
const IRQ_CTRL_F = [f('GERROR_IRQEN', 0, 0), f('PRIQ_IRQEN', 1, 1), f('EVENTQ_IRQEN', 2, 2)];
const GERROR_F = [
  f('CMDQ_ERR', 0, 0),
  f('EVENTQ_ABT_ERR', 2, 2),
  f('PRIQ_ABT_ERR', 3, 3),
  f('MSI_CMDQ_ABT_ERR', 4, 4),
  f('MSI_EVENTQ_ABT_ERR', 5, 5),
  f('MSI_PRIQ_ABT_ERR', 6, 6),
  f('MSI_GERROR_ABT_ERR', 7, 7),
  f('SFM_ERR', 8, 8),
  f('CMDQP_ERR', 9, 9),
];

const CMDQ_BASE_F = [f('LOG2SIZE', 4, 0), a('ADDR', 51, 5), f('RA', 62, 62)];
const WQ_BASE_F = [f('LOG2SIZE', 4, 0), a('ADDR', 51, 5), f('WA', 62, 62)]; // queues the SMMU writes
const QPTR = [f('WR', 19, 0)];
const IRQ_CFG0 = [a('ADDR', 51, 2)];
const IRQ_CFG2 = [f('MemAttr', 3, 0), f('SH', 5, 4)];

const RAW: readonly RawReg[] = [
  {
    name: 'IDR0',
    offset: 0x00,
    size: 4,
    spec: 'IHI0070 §6.3.1',
    fields: [
      f('S2P', 0, 0),
      f('S1P', 1, 1),
      f('TTF', 3, 2),
      f('COHACC', 4, 4),
      f('BTM', 5, 5),
      f('HTTU', 7, 6),
      f('DORMHINT', 8, 8),
      f('HYP', 9, 9),
      f('ATS', 10, 10),
      f('NS1ATS', 11, 11),
      f('ASID16', 12, 12),
      f('MSI', 13, 13),
      f('SEV', 14, 14),
      f('ATOS', 15, 15),
      f('PRI', 16, 16),
      f('VMW', 17, 17),
      f('VMID16', 18, 18),
      f('CD2L', 19, 19),
      f('VATOS', 20, 20),
      f('TTENDIAN', 22, 21),
      f('ATSRECERR', 23, 23),
      f('STALL_MODEL', 25, 24),
      f('TERM_MODEL', 26, 26),
      f('ST_LEVEL', 28, 27),
    ],
  },
  {
    name: 'IDR1',
    offset: 0x04,
    size: 4,
    spec: 'IHI0070 §6.3.2',
    fields: [
      f('SIDSIZE', 5, 0),
      f('SSIDSIZE', 10, 6),
      f('PRIQS', 15, 11),
      f('EVENTQS', 20, 16),
      f('CMDQS', 25, 21),
      f('ATTR_PERMS_OVR', 26, 26),
      f('ATTR_TYPES_OVR', 27, 27),
      f('REL', 28, 28),
      f('QUEUES_PRESET', 29, 29),
      f('TABLES_PRESET', 30, 30),
      f('ECMDQ', 31, 31),
    ],
  },
  { name: 'IDR2', offset: 0x08, size: 4, spec: 'IHI0070 §6.3.3', fields: [f('BA_VATOS', 9, 0)] },
  {
    name: 'IDR3',
    offset: 0x0c,
    size: 4,
    spec: 'IHI0070 §6.3.4',
    fields: [
      f('HAD', 2, 2),
      f('PBHA', 3, 3),
      f('XNX', 4, 4),
      f('PPS', 5, 5),
      f('MPAM', 7, 7),
      f('FWB', 8, 8),
      f('STT', 9, 9),
      f('RIL', 10, 10),
      f('BBML', 12, 11),
      f('E0PD', 13, 13),
      f('PTWNNC', 14, 14),
    ],
  },
  { name: 'IDR4', offset: 0x10, size: 4, spec: 'IHI0070 §6.3.5', fields: [] },
  {
    name: 'IDR5',
    offset: 0x14,
    size: 4,
    spec: 'IHI0070 §6.3.6',
    fields: [
      f('OAS', 2, 0),
      f('GRAN4K', 4, 4),
      f('GRAN16K', 5, 5),
      f('GRAN64K', 6, 6),
      f('VAX', 11, 10),
      f('STALL_MAX', 31, 16),
    ],
  },
  {
    name: 'IIDR',
    offset: 0x18,
    size: 4,
    spec: 'IHI0070 §6.3.7',
    fields: [f('Implementer', 11, 0), f('Revision', 15, 12), f('Variant', 19, 16), f('ProductID', 31, 20)],
  },
  {
    name: 'AIDR',
    offset: 0x1c,
    size: 4,
    spec: 'IHI0070 §6.3.8',
    fields: [f('ArchMinorRev', 3, 0), f('ArchMajorRev', 7, 4)],
  },
  { name: 'CR0', offset: 0x20, size: 4, spec: 'IHI0070 §6.3.9', fields: CR0_F },
  { name: 'CR0ACK', offset: 0x24, size: 4, spec: 'IHI0070 §6.3.10', fields: CR0_F },
  {
    name: 'CR1',
    offset: 0x28,
    size: 4,
    spec: 'IHI0070 §6.3.11',
    fields: [
      f('QUEUE_IC', 1, 0),
      f('QUEUE_OC', 3, 2),
      f('QUEUE_SH', 5, 4),
      f('TABLE_IC', 7, 6),
      f('TABLE_OC', 9, 8),
      f('TABLE_SH', 11, 10),
    ],
  },
  {
    name: 'CR2',
    offset: 0x2c,
    size: 4,
    spec: 'IHI0070 §6.3.12',
    fields: [f('E2H', 0, 0), f('RECINVSID', 1, 1), f('PTM', 2, 2), f('REC_CFG_ATS', 3, 3)],
  },
  { name: 'STATUSR', offset: 0x40, size: 4, spec: 'IHI0070 §6.3.13', fields: [f('DORMANT', 0, 0)] },
  {
    name: 'GBPA',
    offset: 0x44,
    size: 4,
    spec: 'IHI0070 §6.3.14',
    fields: [
      f('MemAttr', 3, 0),
      f('MTCFG', 4, 4),
      f('ALLOCCFG', 11, 8),
      f('SHCFG', 13, 12),
      f('PRIVCFG', 17, 16),
      f('INSTCFG', 19, 18),
      f('ABORT', 20, 20),
      f('Update', 31, 31),
    ],
  },
  { name: 'AGBPA', offset: 0x48, size: 4, spec: 'IHI0070 §6.3.15', fields: [] },
  { name: 'IRQ_CTRL', offset: 0x50, size: 4, spec: 'IHI0070 §6.3.16', fields: IRQ_CTRL_F },
  { name: 'IRQ_CTRLACK', offset: 0x54, size: 4, spec: 'IHI0070 §6.3.17', fields: IRQ_CTRL_F },
  { name: 'GERROR', offset: 0x60, size: 4, spec: 'IHI0070 §6.3.18', fields: GERROR_F },
  { name: 'GERRORN', offset: 0x64, size: 4, spec: 'IHI0070 §6.3.19', fields: GERROR_F },
  { name: 'GERROR_IRQ_CFG0', offset: 0x68, size: 8, spec: 'IHI0070 §6.3.20', fields: IRQ_CFG0 },
  { name: 'GERROR_IRQ_CFG1', offset: 0x70, size: 4, spec: 'IHI0070 §6.3.21', fields: [f('DATA', 31, 0)] },
  { name: 'GERROR_IRQ_CFG2', offset: 0x74, size: 4, spec: 'IHI0070 §6.3.22', fields: IRQ_CFG2 },
  {
    name: 'STRTAB_BASE',
    offset: 0x80,
    size: 8,
    spec: 'IHI0070 §6.3.23',
    fields: [a('ADDR', 51, 6), f('RA', 62, 62)],
  },
  {
    name: 'STRTAB_BASE_CFG',
    offset: 0x88,
    size: 4,
    spec: 'IHI0070 §6.3.24',
    fields: [f('LOG2SIZE', 5, 0), f('SPLIT', 10, 6), f('FMT', 17, 16)],
  },
  { name: 'CMDQ_BASE', offset: 0x90, size: 8, spec: 'IHI0070 §6.3.25', fields: CMDQ_BASE_F },
  { name: 'CMDQ_PROD', offset: 0x98, size: 4, spec: 'IHI0070 §6.3.26', fields: QPTR },
  {
    name: 'CMDQ_CONS',
    offset: 0x9c,
    size: 4,
    spec: 'IHI0070 §6.3.27',
    fields: [f('RD', 19, 0), f('ERR', 30, 24, 'RO')],
  },
  {
    name: 'EVTQ_BASE',
    offset: 0xa0,
    size: 8,
    spec: 'IHI0070 §6.3.28',
    fields: WQ_BASE_F,
    aliases: ['EVENTQ_BASE'],
  },
  {
    name: 'EVTQ_PROD',
    offset: 0x100a8,
    size: 4,
    spec: 'IHI0070 §6.3.29',
    fields: [f('WR', 19, 0), f('OVFLG', 31, 31)],
    aliases: ['EVENTQ_PROD'],
  },
  {
    name: 'EVTQ_CONS',
    offset: 0x100ac,
    size: 4,
    spec: 'IHI0070 §6.3.30',
    fields: [f('RD', 19, 0), f('OVACKFLG', 31, 31)],
    aliases: ['EVENTQ_CONS'],
  },
  {
    name: 'EVTQ_IRQ_CFG0',
    offset: 0xb0,
    size: 8,
    spec: 'IHI0070 §6.3.31',
    fields: IRQ_CFG0,
    aliases: ['EVENTQ_IRQ_CFG0'],
  },
  {
    name: 'EVTQ_IRQ_CFG1',
    offset: 0xb8,
    size: 4,
    spec: 'IHI0070 §6.3.32',
    fields: [f('DATA', 31, 0)],
    aliases: ['EVENTQ_IRQ_CFG1'],
  },
  {
    name: 'EVTQ_IRQ_CFG2',
    offset: 0xbc,
    size: 4,
    spec: 'IHI0070 §6.3.33',
    fields: IRQ_CFG2,
    aliases: ['EVENTQ_IRQ_CFG2'],
  },
  { name: 'PRIQ_BASE', offset: 0xc0, size: 8, spec: 'IHI0070 §6.3.34', fields: WQ_BASE_F },
  {
    name: 'PRIQ_PROD',
    offset: 0x100c8,
    size: 4,
    spec: 'IHI0070 §6.3.35',
    fields: [f('WR', 19, 0), f('OVFLG', 31, 31)],
  },
  {
    name: 'PRIQ_CONS',
    offset: 0x100cc,
    size: 4,
    spec: 'IHI0070 §6.3.36',
    fields: [f('RD', 19, 0), f('OVACKFLG', 31, 31)],
  },
  { name: 'PRIQ_IRQ_CFG0', offset: 0xd0, size: 8, spec: 'IHI0070 §6.3.37', fields: IRQ_CFG0 },
  { name: 'PRIQ_IRQ_CFG1', offset: 0xd8, size: 4, spec: 'IHI0070 §6.3.38', fields: [f('DATA', 31, 0)] },
  { name: 'PRIQ_IRQ_CFG2', offset: 0xdc, size: 4, spec: 'IHI0070 §6.3.39', fields: IRQ_CFG2 },
];

/**
 * Default access of each register's fields (IHI0070 §6.3): ID, ACK and status registers are RO;
 * GERROR is RO (software acknowledges through GERRORN); the rest are RW. Fields that differ name
 * their own (CMDQ_CONS.ERR is RO).
 */
const RO_REGS = new Set([
  'IDR0',
  'IDR1',
  'IDR2',
  'IDR3',
  'IDR4',
  'IDR5',
  'IIDR',
  'AIDR',
  'CR0ACK',
  'IRQ_CTRLACK',
  'STATUSR',
  'GERROR',
]);

export const REGS: readonly RegDef[] = RAW.map((d) =>
  register(d.name, d.offset, d.size, d.spec, d.fields, {
    access: RO_REGS.has(d.name) ? 'RO' : 'RW',
    ...(d.aliases ? { aliases: d.aliases } : {}),
  }),
);

export const REG_BY_NAME: ReadonlyMap<string, RegDef> = registerIndex(REGS);

export function reg(name: string): RegDef {
  const r = REG_BY_NAME.get(name);
  if (!r) throw new Error(`no SMMUv3 register ${name}`);
  return r;
}

export function regField(regName: string, field: string): RegField {
  const fl = reg(regName).fields.find((x) => x.name === field);
  if (!fl) throw new Error(`SMMUv3 register ${regName} has no field ${field}`);
  return fl;
}

/** Extracts a field of the low 32 bits of a register value (fields above bit 31 throw). */
export function getRegField(regName: string, field: string, v: number): number {
  const fl = low32Field(regName, field);
  const w = fl.hi - fl.lo + 1;
  return w === 32 ? v >>> 0 : (v >>> fl.lo) & ((1 << w) - 1);
}

export function setRegField(regName: string, field: string, v: number, x: number): number {
  const fl = low32Field(regName, field);
  const w = fl.hi - fl.lo + 1;
  const m = w === 32 ? 0xffff_ffff : ((1 << w) - 1) << fl.lo;
  if (x < 0 || x >= 2 ** w) throw new RangeError(`${regName}.${field}: ${x} does not fit ${w} bits`);
  return ((v & ~m) | ((x << fl.lo) & m)) >>> 0;
}

function low32Field(regName: string, field: string): RegField {
  const fl = regField(regName, field);
  if (fl.hi > 31) throw new RangeError(`${regName}.${field} is above bit 31: use BigInt on the 64-bit value`);
  return fl;
}

/** Register value from named fields. */
export function regValue(regName: string, fields: Readonly<Record<string, number>>): number {
  let v = 0;
  for (const [k, x] of Object.entries(fields)) v = setRegField(regName, k, v, x);
  return v;
}

/** Byte offset of a register by name (throws on an unknown name: a typo fails at module load). */
export function regOffset(name: string): number {
  return reg(name).offset;
}

/** In-place bits of a register field within its 32-bit word (e.g. CR0.SMMUEN = 1). */
export function regBits(regName: string, field: string): number {
  return fieldBits32(reg(regName), field);
}

/**
 * Writable mask per 32-bit word of the register file (index = offset / 4): the bits a software
 * write may change, from the fields' access kinds (RW, RW1C, WO). RES0 and RO bits read as written
 * by the SMMU only.
 */
export const WRITE_MASK: Uint32Array = writeMaskWords(REGS, 0x20000);

/** A register's address field [hi:lo] (lo < 32 < hi) as masks of the low and high 32-bit words. */
export function regAddrMasks(regName: string, field: string): { loMask: number; hiMask: number } {
  const fl = regField(regName, field);
  if (fl.lo >= 32 || fl.hi < 32) throw new RangeError(`${regName}.${field} does not straddle bit 32`);
  return { loMask: ~((1 << fl.lo) - 1) >>> 0, hiMask: fl.hi === 63 ? 0xffff_ffff : 2 ** (fl.hi - 31) - 1 };
}

/** A 32-bit register's field as word/shift/mask (value = (word >>> shift) & mask). */
export function regWordField(regName: string, field: string): { shift: number; mask: number } {
  const fl = low32Field(regName, field);
  const w = fl.hi - fl.lo + 1;
  return { shift: fl.lo, mask: w === 32 ? 0xffff_ffff : (1 << w) - 1 };
}

/** RO bits of a register that software never writes (e.g. CMDQ_CONS.ERR). */
export function roMask(regName: string): bigint {
  return accessMask(reg(regName), 'RO');
}

/** OAS / IPS / PS encodings (IHI0070 §6.3.6) to address sizes in bits. */
export const PA_BITS: readonly number[] = [32, 36, 40, 42, 44, 48, 52];
export function paBitsToEnc(bits: number): number {
  const i = PA_BITS.indexOf(bits);
  if (i < 0) throw new RangeError(`unsupported physical address size ${bits} (one of ${PA_BITS.join(', ')})`);
  return i;
}
