// SMMUv3 Event queue records (32 bytes, IHI 0070 §7.3, section numbers as in issue G.b) and the
// PRI queue entry (16 bytes, chapter 8). spec-notes/smmuv3/events.md and priq.md list every field.
//
// Physical/IPA address fields are declared up to bit 51 (SMMUv3.1-v3.3; SMMUv3.4 widens them to 55).
import { addr, fld, layout } from '../layout/layout.ts';
import type { FieldDef, Layout } from '../layout/layout.ts';

export interface EvtDef {
  readonly id: number;
  readonly name: string;
  readonly layout: Layout;
}

export const EVT = {
  F_UUT: 0x01,
  C_BAD_STREAMID: 0x02,
  F_STE_FETCH: 0x03,
  C_BAD_STE: 0x04,
  F_BAD_ATS_TREQ: 0x05,
  F_STREAM_DISABLED: 0x06,
  F_TRANSL_FORBIDDEN: 0x07,
  C_BAD_SUBSTREAMID: 0x08,
  F_CD_FETCH: 0x09,
  C_BAD_CD: 0x0a,
  F_WALK_EABT: 0x0b,
  F_TRANSLATION: 0x10,
  F_ADDR_SIZE: 0x11,
  F_ACCESS: 0x12,
  F_PERMISSION: 0x13,
  F_TLB_CONFLICT: 0x20,
  F_CFG_CONFLICT: 0x21,
  E_PAGE_REQUEST: 0x24,
  F_VMS_FETCH: 0x25,
} as const;

export type EvtName = keyof typeof EVT;

/** Event CLASS encodings (§7.3): what the faulting access was doing. */
export const EVT_CLASS = { CD: 0, TT: 1, IN: 2 } as const;

const S_EVT = 'IHI0070 §7.3';

// ---- field builders ----------------------------------------------------------------------------

const eventId = (id: number): FieldDef =>
  fld('EventID', 0, 7, 0, S_EVT, { note: `0x${id.toString(16).padStart(2, '0')}` });
const ssv = (): FieldDef => fld('SSV', 0, 11, 11, S_EVT, { note: 'SubstreamID valid' });
const substreamId = (): FieldDef => fld('SubstreamID', 0, 31, 12, S_EVT, { note: 'UNKNOWN when SSV == 0' });
const streamId = (): FieldDef => fld('StreamID', 0, 63, 32, S_EVT);
/** The usual first qword: EventID, SSV, SubstreamID, StreamID. */
const header = (id: number): FieldDef[] => [eventId(id), ssv(), substreamId(), streamId()];

const pnu = (): FieldDef => fld('PnU', 1, 33, 33, S_EVT, { values: { UNPRIV: 0, PRIV: 1 } });
const ind = (): FieldDef => fld('InD', 1, 34, 34, S_EVT, { values: { DATA: 0, INSTR: 1 } });
const rnw = (): FieldDef => fld('RnW', 1, 35, 35, S_EVT, { values: { WRITE: 0, READ: 1 } });
const nsipa = (): FieldDef =>
  fld('NSIPA', 1, 38, 38, S_EVT, { note: 'Secure Event queue, S2 == 1 only; else 0' });
const s2 = (): FieldDef =>
  fld('S2', 1, 39, 39, S_EVT, { values: { S1: 0, S2: 1 }, note: 'stage of the fault' });
const cls = (): FieldDef => fld('CLASS', 1, 41, 40, S_EVT, { values: EVT_CLASS, note: '0b11 Reserved' });
const ttrnw = (spec: string): FieldDef =>
  fld('TTRnW', 1, 44, 44, spec, {
    values: { WRITE: 0, READ: 1 },
    note: 'read/write nature of the translation table access; valid when CLASS == TT',
  });
const inputAddr = (): FieldDef =>
  fld('InputAddr', 2, 63, 0, S_EVT, { note: 'the 64-bit input address, untouched by TBI' });
const ipa = (spec: string): FieldDef => addr('IPA', 3, 51, 12, spec, { note: 'valid when S2 == 1' });
const fetchAddr = (spec: string): FieldDef =>
  addr('FetchAddr', 3, 51, 3, spec, { note: 'PA of the aborted structure or descriptor fetch' });
const reason16 = (spec: string, note = 'IMPLEMENTATION DEFINED cause'): FieldDef =>
  fld('Reason', 1, 15, 0, spec, { note });
const gpcf = (spec: string, note = 'abort arose from a Granule Protection Check fault (RME)'): FieldDef =>
  fld('GPCF', 1, 16, 16, spec, { note });

/** STAG..CLASS, InputAddr and IPA: the body shared by F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION. */
const translationFault = (spec: string): FieldDef[] => [
  fld('STAG', 1, 15, 0, S_EVT, { note: 'stall tag for CMD_RESUME; valid when Stall == 1' }),
  fld('Stall', 1, 31, 31, S_EVT, { note: 'the transaction is stalled' }),
  pnu(),
  ind(),
  rnw(),
  nsipa(),
  s2(),
  cls(),
  inputAddr(),
  ipa(spec),
];

function evt(id: number, name: string, spec: string, fields: readonly FieldDef[]): EvtDef {
  return { id, name, layout: layout(`smmuv3-evt-${name}`, name, 32, spec, fields) };
}

// ---- the event records -------------------------------------------------------------------------

const S_UUT = 'IHI0070 §7.3.2';
const S_BAD_SID = 'IHI0070 §7.3.3';
const S_STE_FETCH = 'IHI0070 §7.3.4';
const S_BAD_STE = 'IHI0070 §7.3.5';
const S_BAD_ATS = 'IHI0070 §7.3.6';
const S_DISABLED = 'IHI0070 §7.3.7';
const S_FORBIDDEN = 'IHI0070 §7.3.8';
const S_BAD_SSID = 'IHI0070 §7.3.9';
const S_CD_FETCH = 'IHI0070 §7.3.10';
const S_BAD_CD = 'IHI0070 §7.3.11';
const S_WALK = 'IHI0070 §7.3.12';
const S_TRANSLATION = 'IHI0070 §7.3.13';
const S_ADDR_SIZE = 'IHI0070 §7.3.14';
const S_ACCESS = 'IHI0070 §7.3.15';
const S_PERMISSION = 'IHI0070 §7.3.16';
const S_TLB_CONFLICT = 'IHI0070 §7.3.17';
const S_CFG_CONFLICT = 'IHI0070 §7.3.18';
const S_PAGE_REQ = 'IHI0070 §7.3.19';
const S_VMS_FETCH = 'IHI0070 §7.3.20';

export const EVT_F_UUT = evt(EVT.F_UUT, 'F_UUT', S_UUT, [
  ...header(EVT.F_UUT),
  reason16(S_UUT),
  fld('PnU', 1, 33, 33, S_UUT, {
    values: { UNPRIV: 0, PRIV: 1 },
    note: 'incoming attribute (before STE overrides)',
  }),
  fld('InD', 1, 34, 34, S_UUT, {
    values: { DATA: 0, INSTR: 1 },
    note: 'incoming attribute (before STE overrides)',
  }),
  rnw(),
  inputAddr(),
]);

export const EVT_C_BAD_STREAMID = evt(
  EVT.C_BAD_STREAMID,
  'C_BAD_STREAMID',
  S_BAD_SID,
  header(EVT.C_BAD_STREAMID),
);

export const EVT_F_STE_FETCH = evt(EVT.F_STE_FETCH, 'F_STE_FETCH', S_STE_FETCH, [
  ...header(EVT.F_STE_FETCH),
  reason16(S_STE_FETCH),
  gpcf(S_STE_FETCH),
  fetchAddr(S_STE_FETCH),
]);

export const EVT_C_BAD_STE = evt(EVT.C_BAD_STE, 'C_BAD_STE', S_BAD_STE, header(EVT.C_BAD_STE));

export const EVT_F_BAD_ATS_TREQ = evt(EVT.F_BAD_ATS_TREQ, 'F_BAD_ATS_TREQ', S_BAD_ATS, [
  ...header(EVT.F_BAD_ATS_TREQ),
  fld('Span', 1, 3, 0, S_BAD_ATS, { note: 'number of STUs requested' }),
  fld('PRIV', 1, 28, 28, S_BAD_ATS, {
    note: 'requested permissions, before STE.PRIVCFG/INSTCFG overrides (diagram label "P")',
  }),
  fld('X', 1, 29, 29, S_BAD_ATS),
  fld('W', 1, 30, 30, S_BAD_ATS, { note: '!NW of the ATS Translation Request' }),
  fld('R', 1, 31, 31, S_BAD_ATS, { note: 'always 1 for PCIe ATS' }),
  addr('InputAddr', 2, 63, 12, S_BAD_ATS),
]);

export const EVT_F_STREAM_DISABLED = evt(EVT.F_STREAM_DISABLED, 'F_STREAM_DISABLED', S_DISABLED, [
  eventId(EVT.F_STREAM_DISABLED),
  streamId(),
]);

export const EVT_F_TRANSL_FORBIDDEN = evt(EVT.F_TRANSL_FORBIDDEN, 'F_TRANSL_FORBIDDEN', S_FORBIDDEN, [
  eventId(EVT.F_TRANSL_FORBIDDEN),
  streamId(),
  rnw(),
  inputAddr(),
]);

export const EVT_C_BAD_SUBSTREAMID = evt(EVT.C_BAD_SUBSTREAMID, 'C_BAD_SUBSTREAMID', S_BAD_SSID, [
  eventId(EVT.C_BAD_SUBSTREAMID),
  fld('SubstreamID', 0, 31, 12, S_BAD_SSID, { note: 'always valid: this record has no SSV' }),
  streamId(),
]);

export const EVT_F_CD_FETCH = evt(EVT.F_CD_FETCH, 'F_CD_FETCH', S_CD_FETCH, [
  ...header(EVT.F_CD_FETCH),
  reason16(S_CD_FETCH),
  gpcf(S_CD_FETCH),
  fetchAddr(S_CD_FETCH),
]);

export const EVT_C_BAD_CD = evt(EVT.C_BAD_CD, 'C_BAD_CD', S_BAD_CD, header(EVT.C_BAD_CD));

export const EVT_F_WALK_EABT = evt(EVT.F_WALK_EABT, 'F_WALK_EABT', S_WALK, [
  ...header(EVT.F_WALK_EABT),
  reason16(S_WALK, 'IMPLEMENTATION DEFINED cause (position as in the other fetch-abort records)'),
  gpcf(
    S_WALK,
    'abort arose from a Granule Protection Check fault (RME; position as in the other fetch-abort records)',
  ),
  pnu(),
  ind(),
  rnw(),
  s2(),
  cls(),
  ttrnw(S_WALK),
  inputAddr(),
  fetchAddr(S_WALK),
]);

export const EVT_F_TRANSLATION = evt(EVT.F_TRANSLATION, 'F_TRANSLATION', S_TRANSLATION, [
  ...header(EVT.F_TRANSLATION),
  ...translationFault(S_TRANSLATION),
]);

export const EVT_F_ADDR_SIZE = evt(EVT.F_ADDR_SIZE, 'F_ADDR_SIZE', S_ADDR_SIZE, [
  ...header(EVT.F_ADDR_SIZE),
  ...translationFault(S_ADDR_SIZE),
]);

export const EVT_F_ACCESS = evt(EVT.F_ACCESS, 'F_ACCESS', S_ACCESS, [
  ...header(EVT.F_ACCESS),
  ...translationFault(S_ACCESS),
]);

export const EVT_F_PERMISSION = evt(EVT.F_PERMISSION, 'F_PERMISSION', S_PERMISSION, [
  ...header(EVT.F_PERMISSION),
  ...translationFault(S_PERMISSION),
  ttrnw(S_PERMISSION),
]);

export const EVT_F_TLB_CONFLICT = evt(EVT.F_TLB_CONFLICT, 'F_TLB_CONFLICT', S_TLB_CONFLICT, [
  ...header(EVT.F_TLB_CONFLICT),
  fld('Reason', 1, 31, 0, S_TLB_CONFLICT, {
    note: 'IMPLEMENTATION DEFINED conflict reason (position as in F_CFG_CONFLICT)',
  }),
  pnu(),
  ind(),
  rnw(),
  s2(),
  inputAddr(),
  ipa(S_TLB_CONFLICT),
]);

export const EVT_F_CFG_CONFLICT = evt(EVT.F_CFG_CONFLICT, 'F_CFG_CONFLICT', S_CFG_CONFLICT, [
  ...header(EVT.F_CFG_CONFLICT),
  fld('Reason', 1, 31, 0, S_CFG_CONFLICT, { note: 'IMPLEMENTATION DEFINED conflict reason' }),
]);

export const EVT_E_PAGE_REQUEST = evt(EVT.E_PAGE_REQUEST, 'E_PAGE_REQUEST', S_PAGE_REQ, [
  ...header(EVT.E_PAGE_REQUEST),
  fld('uX', 1, 33, 33, S_PAGE_REQ, { note: 'unprivileged execute anticipated' }),
  fld('uW', 1, 34, 34, S_PAGE_REQ, { note: 'unprivileged write anticipated' }),
  fld('uR', 1, 35, 35, S_PAGE_REQ, { note: 'unprivileged read anticipated' }),
  fld('pX', 1, 37, 37, S_PAGE_REQ, { note: 'privileged execute anticipated' }),
  fld('pW', 1, 38, 38, S_PAGE_REQ, { note: 'privileged write anticipated' }),
  fld('pR', 1, 39, 39, S_PAGE_REQ, { note: 'privileged read anticipated' }),
  fld('Span', 1, 51, 44, S_PAGE_REQ, { note: 'access span = Span * 4096 bytes' }),
  addr('InputAddr', 2, 63, 12, S_PAGE_REQ),
]);

export const EVT_F_VMS_FETCH = evt(EVT.F_VMS_FETCH, 'F_VMS_FETCH', S_VMS_FETCH, [
  ...header(EVT.F_VMS_FETCH),
  reason16(S_VMS_FETCH),
  gpcf(S_VMS_FETCH),
  fetchAddr(S_VMS_FETCH),
]);

/** Every architected event record, in EventID order. */
export const EVENTS: readonly EvtDef[] = [
  EVT_F_UUT,
  EVT_C_BAD_STREAMID,
  EVT_F_STE_FETCH,
  EVT_C_BAD_STE,
  EVT_F_BAD_ATS_TREQ,
  EVT_F_STREAM_DISABLED,
  EVT_F_TRANSL_FORBIDDEN,
  EVT_C_BAD_SUBSTREAMID,
  EVT_F_CD_FETCH,
  EVT_C_BAD_CD,
  EVT_F_WALK_EABT,
  EVT_F_TRANSLATION,
  EVT_F_ADDR_SIZE,
  EVT_F_ACCESS,
  EVT_F_PERMISSION,
  EVT_F_TLB_CONFLICT,
  EVT_F_CFG_CONFLICT,
  EVT_E_PAGE_REQUEST,
  EVT_F_VMS_FETCH,
];

/** Index by EventID (256 entries; undefined for reserved and IMPLEMENTATION DEFINED 0xE0-0xEF). */
export const EVT_BY_ID: readonly (EvtDef | undefined)[] = (() => {
  const t = new Array<EvtDef | undefined>(256).fill(undefined);
  for (const e of EVENTS) {
    if (t[e.id]) throw new Error(`duplicate EventID 0x${e.id.toString(16)}`);
    if (EVT[e.name as EvtName] !== e.id) throw new Error(`EVT.${e.name} does not match`);
    t[e.id] = e;
  }
  return t;
})();

/** The fields most records share in qword 0. Used to show a record with an unknown EventID. */
export const EVT_HEADER: Layout = layout('smmuv3-evt', 'Event record (header)', 32, S_EVT, [
  fld('EventID', 0, 7, 0, S_EVT),
  ssv(),
  substreamId(),
  streamId(),
]);

const S_PRIQ = 'IHI0070 §8';

/** PRI queue entry: one PCIe Page Request (chapter 8). */
export const PRIQ_ENTRY: Layout = layout('smmuv3-priq', 'PRI queue entry (Page Request)', 16, S_PRIQ, [
  fld('StreamID', 0, 31, 0, S_PRIQ, { note: 'StreamID[15:0] == PCIe RequesterID' }),
  fld('SubstreamID', 0, 51, 32, S_PRIQ, { note: 'PASID; UNKNOWN when SSV == 0' }),
  fld('Priv', 0, 58, 58, S_PRIQ, { note: 'privileged access requested; 0 when SSV == 0' }),
  fld('X', 0, 59, 59, S_PRIQ, { note: 'execute requested; 0 when SSV == 0' }),
  fld('R', 0, 60, 60, S_PRIQ, { note: 'read requested' }),
  fld('W', 0, 61, 61, S_PRIQ, { note: 'write requested' }),
  fld('Last', 0, 62, 62, S_PRIQ, {
    note: 'last request of the Page Request Group; L,W,R == 1,0,0 with SSV == 1 is a Stop Marker',
  }),
  fld('SSV', 0, 63, 63, S_PRIQ, { note: 'request carried a PASID TLP prefix' }),
  fld('PRGIndex', 1, 8, 0, S_PRIQ, { note: 'Page Request Group Index, echoed by CMD_PRI_RESP' }),
  addr('PageAddress', 1, 63, 12, S_PRIQ, { note: '"Page address[63:12]"' }),
]);
