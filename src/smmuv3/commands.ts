// SMMUv3 Command queue entries: one 16-byte layout per command. Arm IHI 0070 chapter 4 (section
// numbers as in issue G.b); spec-notes/smmuv3/commands.md lists each field with its section.
//
// Physical/IPA address fields are declared up to bit 51 (SMMUv3.1-v3.3: bits [55:52] of these fields
// are RES0; SMMUv3.4 with 56-bit PAs widens them to bit 55).
import { addr, fld, layout } from '../layout/layout.ts';
import type { FieldDef, Layout } from '../layout/layout.ts';

export interface CmdDef {
  readonly op: number;
  /** Command name without the CMD_ prefix (`CFGI_STE`). */
  readonly name: string;
  readonly layout: Layout;
}

export const OP = {
  PREFETCH_CONFIG: 0x01,
  PREFETCH_ADDR: 0x02,
  CFGI_STE: 0x03,
  CFGI_STE_RANGE: 0x04,
  CFGI_CD: 0x05,
  CFGI_CD_ALL: 0x06,
  CFGI_VMS_PIDM: 0x07,
  TLBI_NH_ALL: 0x10,
  TLBI_NH_ASID: 0x11,
  TLBI_NH_VA: 0x12,
  TLBI_NH_VAA: 0x13,
  TLBI_EL3_ALL: 0x18,
  TLBI_EL3_VA: 0x1a,
  TLBI_EL2_ALL: 0x20,
  TLBI_EL2_ASID: 0x21,
  TLBI_EL2_VA: 0x22,
  TLBI_EL2_VAA: 0x23,
  TLBI_S12_VMALL: 0x28,
  TLBI_S2_IPA: 0x2a,
  TLBI_NSNH_ALL: 0x30,
  ATC_INV: 0x40,
  PRI_RESP: 0x41,
  RESUME: 0x44,
  STALL_TERM: 0x45,
  SYNC: 0x46,
} as const;

export type CmdName = keyof typeof OP;

/** CMD_CFGI_ALL is CMD_CFGI_STE_RANGE with this Range value (§4.3.6). */
export const CFGI_ALL_RANGE = 31;

const S_OPCODES = 'IHI0070 §4.1.1';
const S_COMMON = 'IHI0070 §4.1.6';
const S_RANGE = 'IHI0070 §4.4.1.1';

// ---- field builders shared by several commands -------------------------------------------------

const opcode = (op: number): FieldDef =>
  fld('Opcode', 0, 7, 0, S_OPCODES, { note: `0x${op.toString(16).padStart(2, '0')}` });
const ssec = (): FieldDef =>
  fld('SSec', 0, 10, 10, S_COMMON, {
    values: { NS: 0, S: 1 },
    note: 'StreamID is Secure; must be 0 on the Non-secure Command queue',
  });
const ssv = (): FieldDef => fld('SSV', 0, 11, 11, S_COMMON, { note: 'SubstreamID supplied' });
const substreamId = (spec: string): FieldDef => fld('SubstreamID', 0, 31, 12, spec);
const streamId = (spec: string): FieldDef => fld('StreamID', 0, 63, 32, spec);
const vmid = (spec: string): FieldDef =>
  fld('VMID', 0, 47, 32, spec, { note: 'upper 8 bits RES0 without SMMU_IDR0.VMID16' });
const asid = (spec: string): FieldDef =>
  fld('ASID', 0, 63, 48, spec, { note: 'upper 8 bits RES0 without SMMU_IDR0.ASID16' });
const leaf = (spec: string): FieldDef =>
  fld('Leaf', 1, 0, 0, spec, { note: '1: only the last level (leaf) entries need be invalidated' });

/** NUM/SCALE (qword 0) and TTL128/TTL/TG (qword 1) of the range-capable TLBI commands (SMMUv3.2 RIL). */
const rangeFields = (): FieldDef[] => [
  fld('NUM', 0, 16, 12, S_RANGE, { note: 'range = (NUM+1) * 2^SCALE granules; RES0 when TG == 0' }),
  fld('SCALE', 0, 24, 20, S_RANGE, {
    note: 'bit 25 is SCALE[5] when SMMU_IDR5.DS == 1 (not modelled: RES0 here)',
  }),
  fld('TTL128', 1, 7, 7, S_RANGE, { note: 'TTL hint is for 128-bit descriptors (SMMUv3.4); RES0 otherwise' }),
  fld('TTL', 1, 9, 8, S_RANGE, { note: 'level hint of the leaf entries; RES0 when TG == 0' }),
  fld('TG', 1, 11, 10, S_RANGE, {
    values: { ANY: 0, '4K': 1, '16K': 2, '64K': 3 },
    note: 'TG == 0: no range, no TTL hint',
  }),
];

const va = (spec: string): FieldDef => addr('Address', 1, 63, 12, spec, { note: 'VA[63:12]' });

function cmd(op: number, name: string, spec: string, fields: readonly FieldDef[]): CmdDef {
  return { op, name, layout: layout(`smmuv3-cmd-${name}`, `CMD_${name}`, 16, spec, [opcode(op), ...fields]) };
}

// ---- the commands ------------------------------------------------------------------------------

const S_PF_CFG = 'IHI0070 §4.2.1';
const S_PF_ADDR = 'IHI0070 §4.2.2';
const S_CFGI_STE = 'IHI0070 §4.3.1';
const S_CFGI_RANGE = 'IHI0070 §4.3.2';
const S_CFGI_CD = 'IHI0070 §4.3.3';
const S_CFGI_CD_ALL = 'IHI0070 §4.3.4';
const S_CFGI_VMS = 'IHI0070 §4.3.5';

export const CMD_PREFETCH_CONFIG = cmd(OP.PREFETCH_CONFIG, 'PREFETCH_CONFIG', S_PF_CFG, [
  ssec(),
  ssv(),
  substreamId(S_PF_CFG),
  streamId(S_PF_CFG),
]);

export const CMD_PREFETCH_ADDR = cmd(OP.PREFETCH_ADDR, 'PREFETCH_ADDR', S_PF_ADDR, [
  ssec(),
  ssv(),
  substreamId(S_PF_ADDR),
  streamId(S_PF_ADDR),
  fld('Size', 1, 4, 0, S_PF_ADDR, {
    note: '2^Size translations at the stride; Stride and NS (v3.1+/SEL2) not modelled',
  }),
  va(S_PF_ADDR),
]);

export const CMD_CFGI_STE = cmd(OP.CFGI_STE, 'CFGI_STE', S_CFGI_STE, [
  ssec(),
  streamId(S_CFGI_STE),
  leaf(S_CFGI_STE),
]);

export const CMD_CFGI_STE_RANGE = cmd(OP.CFGI_STE_RANGE, 'CFGI_STE_RANGE', S_CFGI_RANGE, [
  ssec(),
  streamId(S_CFGI_RANGE),
  fld('Range', 1, 4, 0, S_CFGI_RANGE, {
    values: { ALL: CFGI_ALL_RANGE },
    note: '2^(Range+1) StreamIDs; Range == 31 is CMD_CFGI_ALL',
  }),
]);

export const CMD_CFGI_CD = cmd(OP.CFGI_CD, 'CFGI_CD', S_CFGI_CD, [
  ssec(),
  substreamId(S_CFGI_CD),
  streamId(S_CFGI_CD),
  leaf(S_CFGI_CD),
]);

export const CMD_CFGI_CD_ALL = cmd(OP.CFGI_CD_ALL, 'CFGI_CD_ALL', S_CFGI_CD_ALL, [
  ssec(),
  streamId(S_CFGI_CD_ALL),
]);

export const CMD_CFGI_VMS_PIDM = cmd(OP.CFGI_VMS_PIDM, 'CFGI_VMS_PIDM', S_CFGI_VMS, [
  ssec(),
  vmid(S_CFGI_VMS),
]);

const S_NH_ALL = 'IHI0070 §4.4.2.1';
const S_NH_ASID = 'IHI0070 §4.4.2.2';
const S_NH_VAA = 'IHI0070 §4.4.2.3';
const S_NH_VA = 'IHI0070 §4.4.2.4';
const S_EL3_ALL = 'IHI0070 §4.4.2.5';
const S_EL3_VA = 'IHI0070 §4.4.2.6';
const S_EL2_ALL = 'IHI0070 §4.4.2.7';
const S_EL2_VA = 'IHI0070 §4.4.2.8';
const S_EL2_VAA = 'IHI0070 §4.4.2.9';
const S_EL2_ASID = 'IHI0070 §4.4.2.10';
const S_S2_IPA = 'IHI0070 §4.4.3.1';
const S_S12_VMALL = 'IHI0070 §4.4.3.2';
const S_NSNH_ALL = 'IHI0070 §4.4.4.1';

export const CMD_TLBI_NH_ALL = cmd(OP.TLBI_NH_ALL, 'TLBI_NH_ALL', S_NH_ALL, [vmid(S_NH_ALL)]);

export const CMD_TLBI_NH_ASID = cmd(OP.TLBI_NH_ASID, 'TLBI_NH_ASID', S_NH_ASID, [
  vmid(S_NH_ASID),
  asid(S_NH_ASID),
]);

export const CMD_TLBI_NH_VA = cmd(OP.TLBI_NH_VA, 'TLBI_NH_VA', S_NH_VA, [
  ...rangeFields(),
  vmid(S_NH_VA),
  asid(S_NH_VA),
  leaf(S_NH_VA),
  va(S_NH_VA),
]);

export const CMD_TLBI_NH_VAA = cmd(OP.TLBI_NH_VAA, 'TLBI_NH_VAA', S_NH_VAA, [
  ...rangeFields(),
  vmid(S_NH_VAA),
  leaf(S_NH_VAA),
  va(S_NH_VAA),
]);

export const CMD_TLBI_EL3_ALL = cmd(OP.TLBI_EL3_ALL, 'TLBI_EL3_ALL', S_EL3_ALL, []);

export const CMD_TLBI_EL3_VA = cmd(OP.TLBI_EL3_VA, 'TLBI_EL3_VA', S_EL3_VA, [
  ...rangeFields(),
  leaf(S_EL3_VA),
  va(S_EL3_VA),
]);

export const CMD_TLBI_EL2_ALL = cmd(OP.TLBI_EL2_ALL, 'TLBI_EL2_ALL', S_EL2_ALL, []);

export const CMD_TLBI_EL2_ASID = cmd(OP.TLBI_EL2_ASID, 'TLBI_EL2_ASID', S_EL2_ASID, [asid(S_EL2_ASID)]);

export const CMD_TLBI_EL2_VA = cmd(OP.TLBI_EL2_VA, 'TLBI_EL2_VA', S_EL2_VA, [
  ...rangeFields(),
  asid(S_EL2_VA),
  leaf(S_EL2_VA),
  va(S_EL2_VA),
]);

export const CMD_TLBI_EL2_VAA = cmd(OP.TLBI_EL2_VAA, 'TLBI_EL2_VAA', S_EL2_VAA, [
  ...rangeFields(),
  leaf(S_EL2_VAA),
  va(S_EL2_VAA),
]);

export const CMD_TLBI_S12_VMALL = cmd(OP.TLBI_S12_VMALL, 'TLBI_S12_VMALL', S_S12_VMALL, [vmid(S_S12_VMALL)]);

export const CMD_TLBI_S2_IPA = cmd(OP.TLBI_S2_IPA, 'TLBI_S2_IPA', S_S2_IPA, [
  ...rangeFields(),
  vmid(S_S2_IPA),
  leaf(S_S2_IPA),
  addr('Address', 1, 51, 12, S_S2_IPA, { note: 'IPA[51:12]' }),
]);

export const CMD_TLBI_NSNH_ALL = cmd(OP.TLBI_NSNH_ALL, 'TLBI_NSNH_ALL', S_NSNH_ALL, []);

const S_ATC = 'IHI0070 §4.5.1';
const S_PRI = 'IHI0070 §4.5.2';
const S_RESUME = 'IHI0070 §4.7.1';
const S_STALL = 'IHI0070 §4.7.2';
const S_SYNC = 'IHI0070 §4.7.3';

export const CMD_ATC_INV = cmd(OP.ATC_INV, 'ATC_INV', S_ATC, [
  fld('Global', 0, 9, 9, S_ATC, { note: 'Global Invalidate flag of the ATS request; IGNORED when SSV == 0' }),
  ssv(),
  substreamId(S_ATC),
  streamId(S_ATC),
  fld('Size', 1, 5, 0, S_ATC, {
    values: { ALL: 52 },
    note: 'span = 4096 * 2^Size bytes; 52 invalidates everything',
  }),
  addr('Address', 1, 63, 12, S_ATC),
]);

export const CMD_PRI_RESP = cmd(OP.PRI_RESP, 'PRI_RESP', S_PRI, [
  ssv(),
  substreamId(S_PRI),
  streamId(S_PRI),
  fld('PRGIndex', 1, 8, 0, S_PRI, { note: 'Page Request Group Index from the page requests' }),
  fld('Resp', 1, 13, 12, S_PRI, {
    values: { RESPONSE_FAILURE: 0, INVALID_REQUEST: 1, SUCCESS: 2 },
    note: '0b11 is ILLEGAL',
  }),
]);

export const CMD_RESUME = cmd(OP.RESUME, 'RESUME', S_RESUME, [
  ssec(),
  fld('Ac', 0, 12, 12, S_RESUME, { values: { TERMINATE: 0, RETRY: 1 }, note: 'Action' }),
  fld('AB', 0, 13, 13, S_RESUME, {
    values: { RAZ_WI: 0, ABORT: 1 },
    note: 'Abort: how a terminated transaction completes; IGNORED when Ac == 1 or SMMU_IDR0.TERM_MODEL == 1',
  }),
  streamId(S_RESUME),
  fld('STAG', 1, 15, 0, S_RESUME, { note: 'opaque token from the stall event record' }),
]);

export const CMD_STALL_TERM = cmd(OP.STALL_TERM, 'STALL_TERM', S_STALL, [ssec(), streamId(S_STALL)]);

export const CMD_SYNC = cmd(OP.SYNC, 'SYNC', S_SYNC, [
  fld('CS', 0, 13, 12, S_SYNC, {
    values: { SIG_NONE: 0, SIG_IRQ: 1, SIG_SEV: 2 },
    note: 'ComplSignal; 0b11 is ILLEGAL',
  }),
  fld('MSH', 0, 23, 22, S_SYNC, {
    values: { NSH: 0, OSH: 2, ISH: 3 },
    note: 'MSI Shareability; 0b01 behaves as 0b00',
  }),
  fld('MSIAttr', 0, 27, 24, S_SYNC, { note: 'MSI memory type, encoded as STE.MemAttr' }),
  fld('MSIData', 0, 63, 32, S_SYNC),
  addr('MSIAddress', 1, 51, 2, S_SYNC, {
    note: 'zero: no MSI write (MSI_NS of the Realm queue not modelled)',
  }),
]);

/** Every command of the spec this model knows, in opcode order. */
export const CMDS: readonly CmdDef[] = [
  CMD_PREFETCH_CONFIG,
  CMD_PREFETCH_ADDR,
  CMD_CFGI_STE,
  CMD_CFGI_STE_RANGE,
  CMD_CFGI_CD,
  CMD_CFGI_CD_ALL,
  CMD_CFGI_VMS_PIDM,
  CMD_TLBI_NH_ALL,
  CMD_TLBI_NH_ASID,
  CMD_TLBI_NH_VA,
  CMD_TLBI_NH_VAA,
  CMD_TLBI_EL3_ALL,
  CMD_TLBI_EL3_VA,
  CMD_TLBI_EL2_ALL,
  CMD_TLBI_EL2_ASID,
  CMD_TLBI_EL2_VA,
  CMD_TLBI_EL2_VAA,
  CMD_TLBI_S12_VMALL,
  CMD_TLBI_S2_IPA,
  CMD_TLBI_NSNH_ALL,
  CMD_ATC_INV,
  CMD_PRI_RESP,
  CMD_RESUME,
  CMD_STALL_TERM,
  CMD_SYNC,
];

/** Index by opcode (256 entries; undefined for reserved / unmodelled opcodes). */
export const CMD_BY_OP: readonly (CmdDef | undefined)[] = (() => {
  const t = new Array<CmdDef | undefined>(256).fill(undefined);
  for (const c of CMDS) {
    if (t[c.op]) throw new Error(`duplicate opcode 0x${c.op.toString(16)}`);
    if (OP[c.name as CmdName] !== c.op) throw new Error(`OP.${c.name} does not match`);
    t[c.op] = c;
  }
  return t;
})();

/** What every command has in common: the opcode. Used to show a command with an unknown opcode. */
export const CMD_HEADER: Layout = layout('smmuv3-cmd', 'Command (header)', 16, S_OPCODES, [
  fld('Opcode', 0, 7, 0, S_OPCODES),
]);
