// SMMUv3 in-memory structure layouts: STE, CD, L1STD, L1CD. Arm IHI 0070 (SMMUv3 architecture
// specification) chapter 5; spec-notes/smmuv3/ lists each field with its section.
import { addr, fld, layout } from '../layout/layout.ts';

const S_STE = 'IHI0070 §5.2';
const S_CD = 'IHI0070 §5.4';

export const STE = layout('smmuv3-ste', 'Stream Table Entry', 64, S_STE, [
  fld('V', 0, 0, 0, S_STE),
  fld('Config', 0, 3, 1, S_STE, {
    values: { ABORT: 0, BYPASS: 4, S1_TRANS: 5, S2_TRANS: 6, NESTED: 7 },
    note: '0b0xx: abort, no event',
  }),
  fld('S1Fmt', 0, 5, 4, S_STE, { values: { LINEAR: 0, L2_4K: 1, L2_64K: 2 } }),
  addr('S1ContextPtr', 0, 51, 6, S_STE),
  fld('S1CDMax', 0, 63, 59, S_STE, { note: 'log2 of the number of CDs' }),
  fld('S1DSS', 1, 1, 0, S_STE, { values: { TERMINATE: 0, BYPASS: 1, SUBSTREAM0: 2 } }),
  fld('S1CIR', 1, 3, 2, S_STE),
  fld('S1COR', 1, 5, 4, S_STE),
  fld('S1CSH', 1, 7, 6, S_STE),
  fld('S2HWU59', 1, 8, 8, S_STE),
  fld('S2HWU60', 1, 9, 9, S_STE),
  fld('S2HWU61', 1, 10, 10, S_STE),
  fld('S2HWU62', 1, 11, 11, S_STE),
  fld('DRE', 1, 12, 12, S_STE),
  fld('CONT', 1, 16, 13, S_STE),
  fld('DCP', 1, 17, 17, S_STE),
  fld('PPAR', 1, 18, 18, S_STE),
  fld('MEV', 1, 19, 19, S_STE),
  fld('S2FWB', 1, 25, 25, S_STE),
  fld('S1MPAM', 1, 26, 26, S_STE),
  fld('S1STALLD', 1, 27, 27, S_STE),
  fld('EATS', 1, 29, 28, S_STE, { values: { ABORT: 0, FULL: 1, SPLIT: 2 } }),
  fld('STRW', 1, 31, 30, S_STE, { values: { NSEL1: 0, EL2: 2, EL2_E2H: 3 } }),
  fld('MemAttr', 1, 35, 32, S_STE),
  fld('MTCFG', 1, 36, 36, S_STE),
  fld('ALLOCCFG', 1, 40, 37, S_STE),
  fld('SHCFG', 1, 45, 44, S_STE, { values: { NSH: 0, INCOMING: 1, OSH: 2, ISH: 3 } }),
  fld('NSCFG', 1, 47, 46, S_STE),
  fld('PRIVCFG', 1, 49, 48, S_STE, { values: { INCOMING: 0, UNPRIV: 2, PRIV: 3 } }),
  fld('INSTCFG', 1, 51, 50, S_STE, { values: { INCOMING: 0, DATA: 2, INSTR: 3 } }),
  fld('S2VMID', 2, 15, 0, S_STE),
  fld('S2T0SZ', 2, 37, 32, S_STE),
  fld('S2SL0', 2, 39, 38, S_STE, {
    note: '0b10 is ILLEGAL with OAS < 44 (4K, 64K granule) or < 42 (16K): DDI 0487 S2InvalidSL',
  }),
  fld('S2IR0', 2, 41, 40, S_STE),
  fld('S2OR0', 2, 43, 42, S_STE),
  fld('S2SH0', 2, 45, 44, S_STE),
  fld('S2TG', 2, 47, 46, S_STE, { values: { '4K': 0, '64K': 1, '16K': 2 } }),
  fld('S2PS', 2, 50, 48, S_STE, {
    values: { '32': 0, '36': 1, '40': 2, '42': 3, '44': 4, '48': 5, '52': 6 },
  }),
  fld('S2AA64', 2, 51, 51, S_STE),
  fld('S2ENDI', 2, 52, 52, S_STE),
  fld('S2AFFD', 2, 53, 53, S_STE, { note: 'IGNORED when S2HA = 1 (§3.13.2)' }),
  fld('S2PTW', 2, 54, 54, S_STE),
  fld('S2HD', 2, 55, 55, S_STE),
  fld('S2HA', 2, 56, 56, S_STE),
  fld('S2S', 2, 57, 57, S_STE),
  fld('S2R', 2, 58, 58, S_STE),
  addr('S2TTB', 3, 51, 4, S_STE, {
    note: 'bits below the start table size read as zero; [5:0] with a 52-bit effective S2PS',
  }),
]);

export const CD = layout('smmuv3-cd', 'Context Descriptor', 64, S_CD, [
  fld('T0SZ', 0, 5, 0, S_CD),
  fld('TG0', 0, 7, 6, S_CD, { values: { '4K': 0, '64K': 1, '16K': 2 } }),
  fld('IR0', 0, 9, 8, S_CD),
  fld('OR0', 0, 11, 10, S_CD),
  fld('SH0', 0, 13, 12, S_CD),
  fld('EPD0', 0, 14, 14, S_CD),
  fld('ENDI', 0, 15, 15, S_CD),
  fld('T1SZ', 0, 21, 16, S_CD),
  fld('TG1', 0, 23, 22, S_CD, {
    values: { '16K': 1, '4K': 2, '64K': 3 },
    note: 'TG1 encodes granules differently from TG0',
  }),
  fld('IR1', 0, 25, 24, S_CD),
  fld('OR1', 0, 27, 26, S_CD),
  fld('SH1', 0, 29, 28, S_CD),
  fld('EPD1', 0, 30, 30, S_CD),
  fld('V', 0, 31, 31, S_CD),
  fld('IPS', 0, 34, 32, S_CD, { values: { '32': 0, '36': 1, '40': 2, '42': 3, '44': 4, '48': 5, '52': 6 } }),
  fld('AFFD', 0, 35, 35, S_CD, { note: 'IGNORED when HA = 1 (§3.13.2)' }),
  fld('WXN', 0, 36, 36, S_CD),
  fld('UWXN', 0, 37, 37, S_CD),
  fld('TBI', 0, 39, 38, S_CD, { note: 'bit 0: TBI for TTB0 half, bit 1: TBI for TTB1 half' }),
  fld('PAN', 0, 40, 40, S_CD),
  fld('AA64', 0, 41, 41, S_CD),
  fld('HD', 0, 42, 42, S_CD),
  fld('HA', 0, 43, 43, S_CD),
  fld('S', 0, 44, 44, S_CD),
  fld('R', 0, 45, 45, S_CD),
  fld('A', 0, 46, 46, S_CD),
  fld('ASET', 0, 47, 47, S_CD),
  fld('ASID', 0, 63, 48, S_CD),
  fld('NSCFG0', 1, 0, 0, S_CD),
  fld('HAD0', 1, 1, 1, S_CD),
  fld('E0PD0', 1, 2, 2, S_CD),
  addr('TTB0', 1, 51, 4, S_CD, {
    note: 'bits below the start table size read as zero; [5:0] with a 52-bit effective IPS',
  }),
  fld('HWU0g59', 1, 60, 60, S_CD),
  fld('HWU0g60', 1, 61, 61, S_CD),
  fld('HWU0g61', 1, 62, 62, S_CD),
  fld('HWU0g62', 1, 63, 63, S_CD),
  fld('NSCFG1', 2, 0, 0, S_CD),
  fld('HAD1', 2, 1, 1, S_CD),
  fld('E0PD1', 2, 2, 2, S_CD),
  addr('TTB1', 2, 51, 4, S_CD, {
    note: 'bits below the start table size read as zero; [5:0] with a 52-bit effective IPS',
  }),
  fld('HWU1g59', 2, 60, 60, S_CD),
  fld('HWU1g60', 2, 61, 61, S_CD),
  fld('HWU1g61', 2, 62, 62, S_CD),
  fld('HWU1g62', 2, 63, 63, S_CD),
  fld('MAIR0', 3, 31, 0, S_CD),
  fld('MAIR1', 3, 63, 32, S_CD),
  fld('AMAIR0', 4, 31, 0, S_CD),
  fld('AMAIR1', 4, 63, 32, S_CD),
]);

export const L1STD = layout('smmuv3-l1std', 'Level 1 Stream Table Descriptor', 8, 'IHI0070 §5.1', [
  fld('Span', 0, 4, 0, 'IHI0070 §5.1', { note: '0: invalid; n: the level-2 table holds 2^(n-1) STEs' }),
  addr('L2Ptr', 0, 51, 6, 'IHI0070 §5.1'),
]);

export const L1CD = layout('smmuv3-l1cd', 'Level 1 Context Descriptor', 8, 'IHI0070 §5.3', [
  fld('V', 0, 0, 0, 'IHI0070 §5.3'),
  addr('L2Ptr', 0, 51, 12, 'IHI0070 §5.3'),
]);

// The VMSAv8-64 descriptor layouts live with the page-table formats (src/pt/vmsav8-64.ts); re-exported
// here for code written before they moved.
export { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../pt/vmsav8-64.ts';
