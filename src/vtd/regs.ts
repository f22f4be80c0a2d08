// Intel VT-d remapping-hardware register file: offsets, fields and access kinds, in the layout
// framework (src/layout/layout.ts: register()). Intel VT-d specification rev 4.x/5.0, §11.4
// (register descriptions); §11.1-§11.3 (register map, attributes). One table, as
// src/smmuv3/regs.ts does for SMMUv3: writable masks and field positions are derived from it.
//
// Sticky access kinds of the specification map onto the framework's: ROS -> RO, RW1CS -> RW1C,
// RWS -> RW. RsvdZ / RsvdP bits are those no field covers.
//
// The IOTLB registers (IVA_REG, IOTLB_REG) and the fault-recording registers (FRCD_REG) have no
// fixed offset: ECAP.IRO and CAP.FRO give them (`ivaOffset`, `iotlbOffset`, `frcdOffset`).
// MTRR, performance-monitoring, enhanced-command and virtual-command registers are not modelled.
import {
  accessMask,
  fieldBits32,
  fld,
  layout,
  register,
  rf,
  registerIndex,
  writeMaskWords,
  type Access,
  type FieldDef,
  type Layout,
  type RegisterDef,
} from '../layout/layout.ts';

export type RegField = FieldDef;
export type RegDef = RegisterDef;

interface RawReg {
  readonly name: string;
  readonly offset: number;
  readonly size: 4 | 8;
  readonly spec: string;
  /** Default access of fields that name none. */
  readonly access: Access;
  readonly fields: readonly Omit<FieldDef, 'spec'>[];
  readonly aliases?: readonly string[];
  readonly title?: string;
}

const f = (name: string, hi: number, lo: number, access?: Access, note?: string) =>
  rf(name, hi, lo, { ...(access ? { access } : {}), ...(note ? { note } : {}) });
/** An address field: its value is the byte address the bits denote (bits below `lo` zero). */
const a = (name: string, hi: number, lo: number, note?: string) =>
  rf(name, hi, lo, { kind: 'addr', ...(note ? { note } : {}) });

/** FECTL / IECTL / PECTL: interrupt mask (RW) and pending (RO). */
const ECTL_F = [f('IP', 30, 30, 'RO'), f('IM', 31, 31)];
/** FEDATA / IEDATA / PEDATA. */
const EDATA_F = [
  f('IMD', 15, 0),
  f('EIMD', 31, 16, undefined, 'extended interrupt message data (deprecated)'),
];
const EADDR_F = [a('MA', 31, 2)];
const EUADDR_F = [f('MUA', 31, 0)];

/** GCMD bits, with the GSTS bits that report them (same positions, §11.4.4/§11.4.5). */
const GCMD_GSTS: readonly (readonly [cmd: string, sts: string, bit: number])[] = [
  ['CFI', 'CFIS', 23],
  ['SIRTP', 'IRTPS', 24],
  ['IRE', 'IRES', 25],
  ['QIE', 'QIES', 26],
  ['WBF', 'WBFS', 27],
  ['EAFL', 'AFLS', 28],
  ['SFL', 'FLS', 29],
  ['SRTP', 'RTPS', 30],
  ['TE', 'TES', 31],
];

/** RTADDR.TTM encodings (§11.4.6); 2 is reserved. 3 needs ECAP.ADMS. */
export const TTM = { legacy: 0, scalable: 1, 'abort-DMA': 3 } as const;

const RAW: readonly RawReg[] = [
  {
    name: 'VER',
    offset: 0x000,
    size: 4,
    spec: 'VT-d §11.4.1',
    access: 'RO',
    title: 'Version Register',
    fields: [f('MIN', 3, 0), f('MAX', 7, 4)],
  },
  {
    name: 'CAP',
    offset: 0x008,
    size: 8,
    spec: 'VT-d §11.4.2',
    access: 'RO',
    title: 'Capability Register',
    fields: [
      f('ND', 2, 0, undefined, 'domain-ids supported: 2^(4 + 2*ND)'),
      f('AFL', 3, 3, undefined, 'advanced fault logging'),
      f('RWBF', 4, 4),
      f('PLMR', 5, 5),
      f('PHMR', 6, 6),
      f('CM', 7, 7),
      f(
        'SAGAW',
        12,
        8,
        undefined,
        'bit 1: 39-bit (3-level), bit 2: 48-bit (4-level), bit 3: 57-bit (5-level)',
      ),
      f('MGAW', 21, 16, undefined, 'maximum guest address width minus 1'),
      f('ZLR', 22, 22),
      f('FRO', 33, 24, undefined, 'fault-recording register offset / 16'),
      f('SSLPS', 37, 34, undefined, 'SLLPS before rev 4.0; bit 34: 2 MiB, bit 35: 1 GiB'),
      f('PSI', 39, 39),
      f('NFR', 47, 40, undefined, 'number of fault-recording registers minus 1'),
      f('MAMV', 53, 48),
      f('DWD', 54, 54),
      f('DRD', 55, 55),
      f('FS1GP', 56, 56, undefined, 'FL1GP before rev 4.0'),
      f('PI', 59, 59),
      f('FS5LP', 60, 60, undefined, 'FL5LP before rev 4.0'),
      f('ECMDS', 61, 61),
      f('ESIRTPS', 62, 62),
      f('ESRTPS', 63, 63),
    ],
  },
  {
    name: 'ECAP',
    offset: 0x010,
    size: 8,
    spec: 'VT-d §11.4.3',
    access: 'RO',
    title: 'Extended Capability Register',
    fields: [
      f('C', 0, 0),
      f('QI', 1, 1),
      f('DT', 2, 2),
      f('IR', 3, 3),
      f('EIM', 4, 4),
      f('PT', 6, 6),
      f('SC', 7, 7),
      f('IRO', 17, 8, undefined, 'IOTLB register offset / 16'),
      f('MHMV', 23, 20),
      f('MTS', 25, 25),
      f('NEST', 26, 26),
      f('PRS', 29, 29),
      f('ERS', 30, 30),
      f('SRS', 31, 31),
      f('NWFS', 33, 33),
      f('EAFS', 34, 34),
      f('PSS', 39, 35, undefined, 'supported PASID width minus 1'),
      f('PASID', 40, 40),
      f('DIT', 41, 41),
      f('PDS', 42, 42),
      f('SMTS', 43, 43),
      f('VCS', 44, 44),
      f('SSADS', 45, 45, undefined, 'SLADS before rev 4.0'),
      f('SSTS', 46, 46, undefined, 'SLTS before rev 4.0'),
      f('FSTS', 47, 47, undefined, 'FLTS before rev 4.0'),
      f('SMPWCS', 48, 48),
      f('RPS', 49, 49),
      f('PMS', 51, 51),
      f('ADMS', 52, 52),
      f('RPRIVS', 53, 53),
    ],
  },
  {
    name: 'GCMD',
    offset: 0x018,
    size: 4,
    spec: 'VT-d §11.4.4',
    access: 'WO',
    title: 'Global Command Register',
    fields: GCMD_GSTS.map(([c, , b]) => f(c, b, b)),
  },
  {
    name: 'GSTS',
    offset: 0x01c,
    size: 4,
    spec: 'VT-d §11.4.5',
    access: 'RO',
    title: 'Global Status Register',
    fields: GCMD_GSTS.map(([, s, b]) => f(s, b, b)),
  },
  {
    name: 'RTADDR',
    offset: 0x020,
    size: 8,
    spec: 'VT-d §11.4.6',
    access: 'RW',
    title: 'Root Table Address Register',
    fields: [rf('TTM', 11, 10, { values: TTM }), a('RTA', 63, 12)],
  },
  {
    name: 'CCMD',
    offset: 0x028,
    size: 8,
    spec: 'VT-d §11.4.7',
    access: 'RW',
    title: 'Context Command Register',
    fields: [
      f('DID', 15, 0),
      f('SID', 31, 16, 'WO'),
      f('FM', 33, 32, 'WO'),
      f('CAIG', 60, 59, 'RO'),
      rf('CIRG', 62, 61, { values: { global: 1, domain: 2, device: 3 } }),
      f('ICC', 63, 63),
    ],
  },
  {
    name: 'FSTS',
    offset: 0x034,
    size: 4,
    spec: 'VT-d §11.4.9.1',
    access: 'RW1C',
    title: 'Fault Status Register',
    fields: [
      f('PFO', 0, 0),
      f('PPF', 1, 1, 'RO'),
      f('AFO', 2, 2),
      f('APF', 3, 3),
      f('IQE', 4, 4),
      f('ICE', 5, 5),
      f('ITE', 6, 6),
      f('PRO', 7, 7, undefined, 'page request overflow (deprecated; PRS.PRO reports it)'),
      f('FRI', 15, 8, 'RO'),
    ],
  },
  { name: 'FECTL', offset: 0x038, size: 4, spec: 'VT-d §11.4.9.2', access: 'RW', fields: ECTL_F },
  { name: 'FEDATA', offset: 0x03c, size: 4, spec: 'VT-d §11.4.9.3', access: 'RW', fields: EDATA_F },
  { name: 'FEADDR', offset: 0x040, size: 4, spec: 'VT-d §11.4.9.4', access: 'RW', fields: EADDR_F },
  { name: 'FEUADDR', offset: 0x044, size: 4, spec: 'VT-d §11.4.9.5', access: 'RW', fields: EUADDR_F },
  {
    name: 'AFLOG',
    offset: 0x058,
    size: 8,
    spec: 'VT-d §11.4.9.7',
    access: 'RW',
    title: 'Advanced Fault Log Register',
    fields: [f('FLS', 11, 9), a('FLA', 63, 12)],
  },
  {
    name: 'PMEN',
    offset: 0x064,
    size: 4,
    spec: 'VT-d §11.4.10.1',
    access: 'RW',
    title: 'Protected Memory Enable Register',
    fields: [f('PRS', 0, 0, 'RO'), f('EPM', 31, 31)],
  },
  {
    name: 'PLMBASE',
    offset: 0x068,
    size: 4,
    spec: 'VT-d §11.4.10.2',
    access: 'RW',
    fields: [a('PLMB', 31, 21, 'bits [31:N], N >= 21 implementation-dependent')],
  },
  {
    name: 'PLMLIMIT',
    offset: 0x06c,
    size: 4,
    spec: 'VT-d §11.4.10.3',
    access: 'RW',
    fields: [a('PLML', 31, 21, 'bits [31:N], N >= 21 implementation-dependent')],
  },
  {
    name: 'PHMBASE',
    offset: 0x070,
    size: 8,
    spec: 'VT-d §11.4.10.4',
    access: 'RW',
    fields: [a('PHMB', 63, 21, 'bits [HAW-1:N], N >= 21 implementation-dependent')],
  },
  {
    name: 'PHMLIMIT',
    offset: 0x078,
    size: 8,
    spec: 'VT-d §11.4.10.5',
    access: 'RW',
    fields: [a('PHML', 63, 21, 'bits [HAW-1:N], N >= 21 implementation-dependent')],
  },
  {
    name: 'IQH',
    offset: 0x080,
    size: 8,
    spec: 'VT-d §11.4.11.1',
    access: 'RO',
    title: 'Invalidation Queue Head Register',
    fields: [a('QH', 18, 4, 'byte offset of the next descriptor (bit 4 zero with 256-bit descriptors)')],
  },
  {
    name: 'IQT',
    offset: 0x088,
    size: 8,
    spec: 'VT-d §11.4.11.2',
    access: 'RW',
    title: 'Invalidation Queue Tail Register',
    fields: [a('QT', 18, 4, 'byte offset (bit 4 must be zero with 256-bit descriptors)')],
  },
  {
    name: 'IQA',
    offset: 0x090,
    size: 8,
    spec: 'VT-d §11.4.11.3',
    access: 'RW',
    title: 'Invalidation Queue Address Register',
    fields: [
      f('QS', 2, 0, undefined, '2^QS 4 KiB pages'),
      rf('DW', 11, 11, { values: { '128-bit': 0, '256-bit': 1 } }),
      a('IQA', 63, 12),
    ],
  },
  {
    name: 'ICS',
    offset: 0x09c,
    size: 4,
    spec: 'VT-d §11.4.11.4',
    access: 'RW1C',
    title: 'Invalidation Completion Status Register',
    fields: [f('IWC', 0, 0)],
  },
  { name: 'IECTL', offset: 0x0a0, size: 4, spec: 'VT-d §11.4.11.5', access: 'RW', fields: ECTL_F },
  { name: 'IEDATA', offset: 0x0a4, size: 4, spec: 'VT-d §11.4.11.6', access: 'RW', fields: EDATA_F },
  { name: 'IEADDR', offset: 0x0a8, size: 4, spec: 'VT-d §11.4.11.7', access: 'RW', fields: EADDR_F },
  { name: 'IEUADDR', offset: 0x0ac, size: 4, spec: 'VT-d §11.4.11.8', access: 'RW', fields: EUADDR_F },
  {
    name: 'IQERCD',
    offset: 0x0b0,
    size: 8,
    spec: 'VT-d §11.4.11.9',
    access: 'RO',
    title: 'Invalidation Queue Error Record Register',
    aliases: ['IQER'],
    fields: [f('IQEI', 3, 0), f('ITESID', 47, 32), f('ICESID', 63, 48)],
  },
  {
    name: 'IRTA',
    offset: 0x0b8,
    size: 8,
    spec: 'VT-d §11.4.12.1',
    access: 'RW',
    title: 'Interrupt Remapping Table Address Register',
    fields: [f('S', 3, 0, undefined, '2^(S+1) entries'), f('EIME', 11, 11), a('IRTA', 63, 12)],
  },
  {
    name: 'PQH',
    offset: 0x0c0,
    size: 8,
    spec: 'VT-d §11.4.13.1',
    access: 'RW',
    title: 'Page Request Queue Head Register',
    fields: [a('PQH', 18, 5)],
  },
  {
    name: 'PQT',
    offset: 0x0c8,
    size: 8,
    spec: 'VT-d §11.4.13.2',
    access: 'RW',
    title: 'Page Request Queue Tail Register',
    fields: [a('PQT', 18, 5)],
  },
  {
    name: 'PQA',
    offset: 0x0d0,
    size: 8,
    spec: 'VT-d §11.4.13.3',
    access: 'RW',
    title: 'Page Request Queue Address Register',
    fields: [f('PQS', 2, 0, undefined, '2^PQS 4 KiB pages'), a('PQA', 63, 12)],
  },
  {
    name: 'PRS',
    offset: 0x0dc,
    size: 4,
    spec: 'VT-d §11.4.13.4',
    access: 'RW1C',
    title: 'Page Request Status Register',
    fields: [f('PPR', 0, 0), f('PRO', 1, 1)],
  },
  { name: 'PECTL', offset: 0x0e0, size: 4, spec: 'VT-d §11.4.13.5', access: 'RW', fields: ECTL_F },
  { name: 'PEDATA', offset: 0x0e4, size: 4, spec: 'VT-d §11.4.13.6', access: 'RW', fields: EDATA_F },
  { name: 'PEADDR', offset: 0x0e8, size: 4, spec: 'VT-d §11.4.13.7', access: 'RW', fields: EADDR_F },
  { name: 'PEUADDR', offset: 0x0ec, size: 4, spec: 'VT-d §11.4.13.8', access: 'RW', fields: EUADDR_F },
];

const mk = (d: RawReg): RegDef =>
  register(d.name, d.offset, d.size, d.spec, d.fields, {
    access: d.access,
    ...(d.aliases ? { aliases: d.aliases } : {}),
    ...(d.title ? { title: d.title } : {}),
  });

/** The registers at fixed offsets (§11.1 register map), ordered by offset. */
export const REGS: readonly RegDef[] = RAW.map(mk);

/**
 * IOTLB registers (§11.4.8): IVA_REG at ECAP.IRO * 16, IOTLB_REG 8 bytes above it. `offset` is
 * relative to that block; use `ivaOffset` / `iotlbOffset` for the place in the register file.
 */
export const IVA: RegDef = mk({
  name: 'IVA',
  offset: 0,
  size: 8,
  spec: 'VT-d §11.4.8.2',
  access: 'WO',
  title: 'Invalidate Address Register',
  fields: [f('AM', 5, 0), f('IH', 6, 6), a('ADDR', 63, 12)],
});

export const IOTLB: RegDef = mk({
  name: 'IOTLB',
  offset: 8,
  size: 8,
  spec: 'VT-d §11.4.8.1',
  access: 'RW',
  title: 'IOTLB Invalidate Register',
  fields: [
    f('DID', 47, 32),
    f('DW', 48, 48),
    f('DR', 49, 49),
    f('IAIG', 58, 57, 'RO'),
    rf('IIRG', 61, 60, { values: { global: 1, domain: 2, page: 3 } }),
    f('IVT', 63, 63),
  ],
});

/** The registers whose offset ECAP.IRO gives. */
export const IRO_REGS: readonly RegDef[] = [IVA, IOTLB];

const FRCD_SPEC = 'VT-d §11.4.9.6';
const fr = (
  name: string,
  qw: number,
  hi: number,
  lo: number,
  opts: { access?: Access; note?: string; addr?: boolean } = {},
) =>
  fld(name, qw, hi, lo, FRCD_SPEC, {
    access: opts.access ?? 'RO',
    ...(opts.addr ? { kind: 'addr' as const } : {}),
    ...(opts.note ? { note: opts.note } : {}),
  });

/**
 * Fault Recording Register (128 bits, at CAP.FRO * 16 + 16 n). Qword 1 holds the spec's bits
 * [127:64]: F = bit 127 = qword 1 bit 63.
 */
export const FRCD: Layout = layout('vtd-frcd', 'Fault Recording Register', 16, FRCD_SPEC, [
  fr('FI', 0, 63, 12, {
    addr: true,
    note: 'faulting page address (interrupt-remapping faults: index in [63:48])',
  }),
  fr('SID', 1, 15, 0),
  fr('PRIV', 1, 29, 29),
  fr('EXE', 1, 30, 30),
  fr('PP', 1, 31, 31),
  fr('FR', 1, 39, 32),
  fr('PV', 1, 59, 40),
  fr('AT', 1, 61, 60),
  fr('T', 1, 62, 62, { note: '1: read request, 0: write request' }),
  fr('F', 1, 63, 63, { access: 'RW1C' }),
]);

export const REG_BY_NAME: ReadonlyMap<string, RegDef> = registerIndex(REGS);

export function reg(name: string): RegDef {
  const r = REG_BY_NAME.get(name) ?? IRO_REGS.find((x) => x.name === name);
  if (!r) throw new Error(`no VT-d register ${name}`);
  return r;
}

export function regField(regName: string, field: string): RegField {
  const fl = reg(regName).fields.find((x) => x.name === field);
  if (!fl) throw new Error(`VT-d register ${regName} has no field ${field}`);
  return fl;
}

/** Byte offset of a fixed register by name (throws on an unknown name or an IRO/FRO register). */
export function regOffset(name: string): number {
  const r = REG_BY_NAME.get(name);
  if (!r) throw new Error(`no fixed-offset VT-d register ${name}`);
  return r.offset;
}

/** In-place bits of a register field within its 32-bit word (e.g. GCMD.TE = 1 << 31). */
export function regBits(regName: string, field: string): number {
  return fieldBits32(reg(regName), field);
}

/** A field of a 64-bit register value (BigInt; address fields as raw bits, not addresses). */
export function capField(regName: string, field: string, v: bigint): bigint {
  const fl = regField(regName, field);
  return (v >> BigInt(fl.lo)) & ((1n << BigInt(fl.hi - fl.lo + 1)) - 1n);
}

/** Byte offset of IVA_REG: ECAP.IRO * 16 (§11.4.3, §11.4.8). */
export function ivaOffset(ecap: bigint): number {
  return Number(capField('ECAP', 'IRO', ecap)) * 16;
}

/** Byte offset of IOTLB_REG: ECAP.IRO * 16 + 8. */
export function iotlbOffset(ecap: bigint): number {
  return ivaOffset(ecap) + 8;
}

/** Number of fault-recording registers: CAP.NFR + 1. */
export function frcdCount(cap: bigint): number {
  return Number(capField('CAP', 'NFR', cap)) + 1;
}

/** Byte offset of fault-recording register n: CAP.FRO * 16 + 16 n (n < CAP.NFR + 1). */
export function frcdOffset(cap: bigint, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= frcdCount(cap))
    throw new RangeError(`fault-recording register ${n} beyond CAP.NFR + 1 = ${frcdCount(cap)}`);
  return Number(capField('CAP', 'FRO', cap)) * 16 + 16 * n;
}

/** Size of the fixed part of the register file this table covers (bytes). */
export const FIXED_REGS_BYTES = 0x100;

/**
 * Writable mask per 32-bit word of the fixed registers (index = offset / 4): the bits a software
 * write may change (RW, RW1C, WO fields). The IRO and FRO registers: `writableMask(IOTLB)` etc.
 */
export const WRITE_MASK: Uint32Array = writeMaskWords(REGS, FIXED_REGS_BYTES);

/** RW1C bits of a register (FSTS, ICS, PRS). */
export function rw1cMask(regName: string): bigint {
  return accessMask(reg(regName), 'RW1C');
}

/** RO bits of a register. */
export function roMask(regName: string): bigint {
  return accessMask(reg(regName), 'RO');
}
