// Intel VT-d invalidation descriptors (invalidation queue, VT-d §6.5.2) and the page request
// descriptor (page request queue, VT-d §7.5.1): one layout per descriptor type, chosen by the type
// field, as src/smmuv3/commands.ts does with CMD_BY_OP.
//
// The type is split: Type[3:0] in bits [3:0] and Type[6:4] in bits [11:9] of qword 0
// (`descType`). Descriptors are 128-bit with IQA.DW = 0 and 256-bit with IQA.DW = 1; the fields of
// the 128-bit descriptors lie in qwords 0-1 (with DW = 1, qwords 2-3 are reserved). The PASID-based
// IOTLB and PASID-cache descriptors are scalable-mode descriptors drawn 256-bit (qwords 2-3
// reserved); the page group response carries private data in qwords 2-3.
import { addr, fld, layout } from '../layout/layout.ts';
import type { FieldDef, Layout } from '../layout/layout.ts';

export const INV_TYPE = {
  CONTEXT_CACHE: 0x1,
  IOTLB: 0x2,
  DEVICE_TLB: 0x3,
  IEC: 0x4,
  INV_WAIT: 0x5,
  PASID_IOTLB: 0x6,
  PASID_CACHE: 0x7,
  PASID_DEVICE_TLB: 0x8,
  PAGE_GROUP_RESPONSE: 0x9,
} as const;

export type InvDescName = keyof typeof INV_TYPE;

export interface InvDescDef {
  readonly type: number;
  readonly name: InvDescName;
  readonly layout: Layout;
}

const S_QI = 'VT-d §6.5.2';
const S_CC = 'VT-d §6.5.2.1';
const S_PC = 'VT-d §6.5.2.2';
const S_IOTLB = 'VT-d §6.5.2.3';
const S_PIOTLB = 'VT-d §6.5.2.4';
const S_DTLB = 'VT-d §6.5.2.5';
const S_PDTLB = 'VT-d §6.5.2.6';
const S_IEC = 'VT-d §6.5.2.7';
const S_WAIT = 'VT-d §6.5.2.8';
const S_PGRESP = 'VT-d §7.7.1';
const S_PRQ = 'VT-d §7.5.1';

/** The descriptor type of qword 0: bits [3:0] | bits [11:9] << 4. */
export function descType(q0: bigint): number {
  return Number((q0 & 0xfn) | (((q0 >> 9n) & 0x7n) << 4n));
}

const typeLo = (t: number): FieldDef =>
  fld('Type', 0, 3, 0, S_QI, { note: `Type[3:0]; descriptor type 0x${t.toString(16)}` });
const typeHi = (): FieldDef => fld('TypeHi', 0, 11, 9, S_QI, { note: 'Type[6:4]; 0 for every type defined' });
const did = (spec: string): FieldDef => fld('DID', 0, 31, 16, spec);
const pasid = (spec: string): FieldDef => fld('PASID', 0, 51, 32, spec);
const am = (spec: string): FieldDef =>
  fld('AM', 1, 5, 0, spec, { note: 'address mask: 2^AM pages, ADDR aligned to it' });
const ih = (spec: string): FieldDef =>
  fld('IH', 1, 6, 6, spec, { note: 'invalidation hint: leaf entries only, paging-structure caches kept' });
const pageAddr = (spec: string): FieldDef => addr('ADDR', 1, 63, 12, spec);
const pfsid = (spec: string): FieldDef[] => [
  fld('PFSID_3_0', 0, 15, 12, spec, { note: 'physical function source-id [3:0] (ECAP.DIT)' }),
  fld('PFSID_15_4', 0, 63, 52, spec, { note: 'physical function source-id [15:4] (ECAP.DIT)' }),
];

function desc(
  type: number,
  name: InvDescName,
  title: string,
  bytes: 16 | 32,
  spec: string,
  fields: readonly FieldDef[],
): InvDescDef {
  const slug = name.toLowerCase().replace(/_/g, '-');
  return {
    type,
    name,
    layout: layout(`vtd-inv-${slug}`, title, bytes, spec, [typeLo(type), typeHi(), ...fields]),
  };
}

export const INV_CONTEXT_CACHE = desc(
  INV_TYPE.CONTEXT_CACHE,
  'CONTEXT_CACHE',
  'Context-cache Invalidate Descriptor',
  16,
  S_CC,
  [
    fld('G', 0, 5, 4, S_CC, { values: { GLOBAL: 1, DOMAIN: 2, DEVICE: 3 } }),
    did(S_CC),
    fld('SID', 0, 47, 32, S_CC),
    fld('FM', 0, 49, 48, S_CC, { note: 'function mask: SID bits [2:0] ignored per FM (device-selective)' }),
  ],
);

export const INV_IOTLB = desc(INV_TYPE.IOTLB, 'IOTLB', 'IOTLB Invalidate Descriptor', 16, S_IOTLB, [
  fld('G', 0, 5, 4, S_IOTLB, { values: { GLOBAL: 1, DOMAIN: 2, PAGE: 3 } }),
  fld('DW', 0, 6, 6, S_IOTLB, { note: 'drain writes (CAP.DWD)' }),
  fld('DR', 0, 7, 7, S_IOTLB, { note: 'drain reads (CAP.DRD)' }),
  did(S_IOTLB),
  am(S_IOTLB),
  ih(S_IOTLB),
  pageAddr(S_IOTLB),
]);

export const INV_DEVICE_TLB = desc(
  INV_TYPE.DEVICE_TLB,
  'DEVICE_TLB',
  'Device-TLB Invalidate Descriptor',
  16,
  S_DTLB,
  [
    ...pfsid(S_DTLB),
    fld('MIP', 0, 20, 16, S_DTLB, { note: 'max invalidations pending (Linux: QDEP)' }),
    fld('SID', 0, 47, 32, S_DTLB),
    fld('S', 1, 0, 0, S_DTLB, { note: 'size: ADDR encodes the range by its low set bits' }),
    pageAddr(S_DTLB),
  ],
);

export const INV_IEC = desc(INV_TYPE.IEC, 'IEC', 'Interrupt Entry Cache Invalidate Descriptor', 16, S_IEC, [
  fld('G', 0, 4, 4, S_IEC, { values: { GLOBAL: 0, INDEX: 1 } }),
  fld('IM', 0, 31, 27, S_IEC, { note: 'index mask: 2^IM entries' }),
  fld('IIDX', 0, 47, 32, S_IEC, { note: 'interrupt index' }),
]);

export const INV_WAIT = desc(INV_TYPE.INV_WAIT, 'INV_WAIT', 'Invalidation Wait Descriptor', 16, S_WAIT, [
  fld('IF', 0, 4, 4, S_WAIT, { note: 'interrupt on completion (ICS.IWC)' }),
  fld('SW', 0, 5, 5, S_WAIT, { note: 'status write of STATUS_DATA to STATUS_ADDR' }),
  fld('FN', 0, 6, 6, S_WAIT, { note: 'fence: later descriptors wait for this one' }),
  fld('PD', 0, 7, 7, S_WAIT, { note: 'page-request drain (ECAP.PDS)' }),
  fld('STATUS_DATA', 0, 63, 32, S_WAIT),
  addr('STATUS_ADDR', 1, 63, 2, S_WAIT),
]);

export const INV_PASID_IOTLB = desc(
  INV_TYPE.PASID_IOTLB,
  'PASID_IOTLB',
  'PASID-based-IOTLB Invalidate Descriptor',
  32,
  S_PIOTLB,
  [
    fld('G', 0, 5, 4, S_PIOTLB, { values: { PASID: 2, PAGE: 3 }, note: '00b and 01b reserved' }),
    did(S_PIOTLB),
    pasid(S_PIOTLB),
    am(S_PIOTLB),
    ih(S_PIOTLB),
    pageAddr(S_PIOTLB),
  ],
);

export const INV_PASID_CACHE = desc(
  INV_TYPE.PASID_CACHE,
  'PASID_CACHE',
  'PASID-cache Invalidate Descriptor',
  32,
  S_PC,
  [
    fld('G', 0, 5, 4, S_PC, { values: { DOMAIN: 0, PASID: 1, GLOBAL: 3 }, note: '10b reserved' }),
    did(S_PC),
    pasid(S_PC),
  ],
);

export const INV_PASID_DEVICE_TLB = desc(
  INV_TYPE.PASID_DEVICE_TLB,
  'PASID_DEVICE_TLB',
  'PASID-based-Device-TLB Invalidate Descriptor',
  16,
  S_PDTLB,
  [
    fld('MIP', 0, 8, 4, S_PDTLB, { note: 'max invalidations pending (Linux: QDEP)' }),
    ...pfsid(S_PDTLB),
    fld('SID', 0, 31, 16, S_PDTLB),
    pasid(S_PDTLB),
    fld('G', 1, 0, 0, S_PDTLB, { note: 'global: all PASIDs of the device' }),
    fld('S', 1, 11, 11, S_PDTLB, { note: 'size: ADDR encodes the range by its low set bits' }),
    pageAddr(S_PDTLB),
  ],
);

export const INV_PAGE_GROUP_RESPONSE = desc(
  INV_TYPE.PAGE_GROUP_RESPONSE,
  'PAGE_GROUP_RESPONSE',
  'Page Group Response Descriptor',
  32,
  S_PGRESP,
  [
    fld('PP', 0, 4, 4, S_PGRESP, { note: 'PASID present' }),
    fld('PDP', 0, 5, 5, S_PGRESP, { note: 'private data present (QEMU treats it as reserved)' }),
    fld('RC', 0, 15, 12, S_PGRESP, { values: { SUCCESS: 0x0, INVALID_REQUEST: 0x1, FAILURE: 0xf } }),
    fld('RID', 0, 31, 16, S_PGRESP, { note: 'requester-id' }),
    pasid(S_PGRESP),
    fld('LPIG', 1, 2, 2, S_PGRESP, { note: 'last page in group' }),
    fld('PRGI', 1, 11, 3, S_PGRESP, { note: 'page request group index' }),
    fld('PRIV_DATA0', 2, 63, 0, S_PGRESP, { note: 'private data (with PDP)' }),
    fld('PRIV_DATA1', 3, 63, 0, S_PGRESP, { note: 'private data (with PDP)' }),
  ],
);

export const INV_DESCS: readonly InvDescDef[] = [
  INV_CONTEXT_CACHE,
  INV_IOTLB,
  INV_DEVICE_TLB,
  INV_IEC,
  INV_WAIT,
  INV_PASID_IOTLB,
  INV_PASID_CACHE,
  INV_PASID_DEVICE_TLB,
  INV_PAGE_GROUP_RESPONSE,
];

/** INV_BY_TYPE[descType(q0)]: the descriptor definition, or undefined for a reserved type (IQE). */
export const INV_BY_TYPE: readonly (InvDescDef | undefined)[] = (() => {
  const t = new Array<InvDescDef | undefined>(128).fill(undefined);
  for (const d of INV_DESCS) t[d.type] = d;
  return t;
})();

/** The definition for a descriptor's qword 0, or undefined for a reserved type. */
export function invDescOf(q0: bigint): InvDescDef | undefined {
  return INV_BY_TYPE[descType(q0)];
}

/** Type byte of a page request descriptor. */
export const PAGE_REQUEST_TYPE = 0x1;

/** Page request descriptor, 256-bit, written by hardware into the page request queue. */
export const PAGE_REQUEST_DESC = layout('vtd-page-request', 'Page Request Descriptor', 32, S_PRQ, [
  fld('Type', 0, 7, 0, S_PRQ, { note: '01h: page request' }),
  fld('PP', 0, 8, 8, S_PRQ, { note: 'PASID present' }),
  fld('PDP', 0, 9, 9, S_PRQ, { note: 'private data present' }),
  fld('RID', 0, 31, 16, S_PRQ, { note: 'requester-id' }),
  fld('PASID', 0, 51, 32, S_PRQ),
  fld('ER', 0, 52, 52, S_PRQ, { note: 'execute requested (Linux: exe_req)' }),
  fld('PMR', 0, 53, 53, S_PRQ, { note: 'privileged mode requested (Linux: pm_req)' }),
  fld('RDR', 1, 0, 0, S_PRQ, { note: 'read requested' }),
  fld('WRR', 1, 1, 1, S_PRQ, { note: 'write requested' }),
  fld('LPIG', 1, 2, 2, S_PRQ, { note: 'last page in group' }),
  fld('PRGI', 1, 11, 3, S_PRQ, { note: 'page request group index' }),
  addr('ADDR', 1, 63, 12, S_PRQ),
  fld('PRIV_DATA0', 2, 63, 0, S_PRQ, { note: 'private data (with PDP)' }),
  fld('PRIV_DATA1', 3, 63, 0, S_PRQ, { note: 'private data (with PDP)' }),
]);
