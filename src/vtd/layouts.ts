// Intel VT-d in-memory translation structures as layout tables: legacy and scalable-mode root
// entries, legacy and scalable-mode context entries, PASID directory and PASID table entries. Intel
// VT-d specification rev 4.x/5.0, chapter 9 (translation structure formats); field positions as
// qword index + [hi:lo] (spec-style absolute bit = 64*qword + bit).
//
// Cross-checked against shared/reference/vtd-layout.json (Linux, QEMU, VirtualBox headers) and the
// Intel TDX module's dmar_defs.h (scalable-mode entries). PASID entry NXE q2[5] and SMEP q2[6] (named
// by VirtualBox, the TDX module and older Linux; not by current Linux, QEMU or issue 7) are left
// reserved here.
import { addr, fld, layout } from '../layout/layout.ts';

const S_ROOT = 'VT-d §9.1';
const S_SMROOT = 'VT-d §9.2';
const S_CTX = 'VT-d §9.3';
const S_SMCTX = 'VT-d §9.4';
const S_PDE = 'VT-d §9.5';
const S_PE = 'VT-d §9.6';

/** Legacy root entry (RTADDR.TTM = 00b): 256 of them, indexed by bus number. */
export const ROOT_ENTRY = layout('vtd-root', 'Root Entry', 16, S_ROOT, [
  fld('P', 0, 0, 0, S_ROOT),
  addr('CTP', 0, 63, 12, S_ROOT, { note: 'context-table pointer; bits above HAW reserved' }),
]);

/** Scalable-mode root entry (RTADDR.TTM = 01b): lower half for devfn 0x00-0x7f, upper for 0x80-0xff. */
export const SM_ROOT_ENTRY = layout('vtd-sm-root', 'Scalable-Mode Root Entry', 16, S_SMROOT, [
  fld('LP', 0, 0, 0, S_SMROOT, { note: 'lower context table present (devfn 0x00-0x7f)' }),
  addr('LCTP', 0, 63, 12, S_SMROOT),
  fld('UP', 1, 0, 0, S_SMROOT, { note: 'upper context table present (devfn 0x80-0xff)' }),
  addr('UCTP', 1, 63, 12, S_SMROOT),
]);

/** Address widths of the AW field (legacy context entry, PASID table entry): levels = AW + 2. */
export const AW_VALUES = { AGAW39_3LVL: 1, AGAW48_4LVL: 2, AGAW57_5LVL: 3 } as const;

/** Legacy context entry, 128-bit, indexed by devfn. */
export const CONTEXT_ENTRY = layout('vtd-context', 'Context Entry', 16, S_CTX, [
  fld('P', 0, 0, 0, S_CTX),
  fld('FPD', 0, 1, 1, S_CTX, { note: 'fault processing disable (qualified faults)' }),
  fld('TT', 0, 3, 2, S_CTX, {
    values: { UNTRANSLATED: 0, DEVICE_TLB: 1, PASS_THROUGH: 2 },
    note: '11b reserved; DEVICE_TLB needs ECAP.DT, PASS_THROUGH needs ECAP.PT',
  }),
  addr('SSPTPTR', 0, 63, 12, S_CTX, { note: 'second-stage page-table pointer (rev 3: SLPTPTR)' }),
  fld('AW', 1, 2, 0, S_CTX, { values: AW_VALUES, note: 'AGAW = 30 + 9*AW; must be set in CAP.SAGAW' }),
  fld('AVAIL', 1, 6, 3, S_CTX, { note: 'ignored by hardware, available to software' }),
  fld('DID', 1, 23, 8, S_CTX, { note: 'bits above CAP.ND width reserved' }),
]);

/** Scalable-mode context entry, 256-bit, indexed by devfn[6:0] under LCTP/UCTP. */
export const SM_CONTEXT_ENTRY = layout('vtd-sm-context', 'Scalable-Mode Context Entry', 32, S_SMCTX, [
  fld('P', 0, 0, 0, S_SMCTX),
  fld('FPD', 0, 1, 1, S_SMCTX),
  fld('DTE', 0, 2, 2, S_SMCTX, { note: 'device-TLB (ATS) enable' }),
  fld('PASIDE', 0, 3, 3, S_SMCTX, { note: 'requests with PASID allowed' }),
  fld('PRE', 0, 4, 4, S_SMCTX, { note: 'page requests allowed' }),
  fld('PDTS', 0, 11, 9, S_SMCTX, { note: 'PASID directory holds 2^(PDTS+7) entries' }),
  addr('PASIDDIRPTR', 0, 63, 12, S_SMCTX),
  fld('RID_PASID', 1, 19, 0, S_SMCTX, {
    note: 'PASID for requests without PASID (ECAP.RPS; otherwise treated as 0)',
  }),
  fld('RID_PRIV', 1, 20, 20, S_SMCTX, { note: 'privilege of requests without PASID (ECAP.RPRIVS)' }),
]);

/** Scalable-mode PASID directory entry, 64-bit, indexed by PASID[19:6]. */
export const PASID_DIR_ENTRY = layout('vtd-pasid-dir', 'Scalable-Mode PASID Directory Entry', 8, S_PDE, [
  fld('P', 0, 0, 0, S_PDE),
  fld('FPD', 0, 1, 1, S_PDE),
  addr('SMPTBLPTR', 0, 63, 12, S_PDE, { note: 'scalable-mode PASID table pointer (64 entries)' }),
]);

/** Scalable-mode PASID table entry, 512-bit, indexed by PASID[5:0]; qwords 3-7 reserved. */
export const PASID_ENTRY = layout('vtd-pasid', 'Scalable-Mode PASID Table Entry', 64, S_PE, [
  fld('P', 0, 0, 0, S_PE),
  fld('FPD', 0, 1, 1, S_PE),
  fld('AW', 0, 4, 2, S_PE, { values: AW_VALUES, note: 'second-stage address width (SS, nested)' }),
  fld('SSEE', 0, 5, 5, S_PE, { note: 'second-stage execute enable (rev 3: SLEE)' }),
  fld('PGTT', 0, 8, 6, S_PE, {
    values: { FS: 1, SS: 2, NESTED: 3, PT: 4 },
    note: '000b and 101b-111b reserved',
  }),
  fld('SSADE', 0, 9, 9, S_PE, { note: 'second-stage accessed/dirty enable (rev 3: SLADE)' }),
  addr('SSPTPTR', 0, 63, 12, S_PE, { note: 'second-stage page-table pointer' }),
  fld('DID', 1, 15, 0, S_PE),
  fld('PWSNP', 1, 23, 23, S_PE, { note: 'page-walk snoop' }),
  fld('PGSNP', 1, 24, 24, S_PE, { note: 'page snoop' }),
  fld('CD', 1, 25, 25, S_PE, { note: 'cache disable' }),
  fld('EMTE', 1, 26, 26, S_PE, { note: 'extended memory type enable' }),
  fld('EMT', 1, 29, 27, S_PE, { note: 'extended memory type' }),
  fld('PWT', 1, 30, 30, S_PE),
  fld('PCD', 1, 31, 31, S_PE),
  fld('PAT', 1, 63, 32, S_PE, { note: 'page attribute table (8 x 4-bit)' }),
  fld('SRE', 2, 0, 0, S_PE, { note: 'supervisor requests enable' }),
  fld('ERE', 2, 1, 1, S_PE, { note: 'execute requests enable' }),
  fld('FSPM', 2, 3, 2, S_PE, {
    values: { LVL4: 0, LVL5: 1 },
    note: 'first-stage paging mode (rev 3: FLPM); 5-level needs CAP.FS5LP',
  }),
  fld('WPE', 2, 4, 4, S_PE, { note: 'write protect enable (supervisor)' }),
  fld('EAFE', 2, 7, 7, S_PE, { note: 'extended accessed flag enable' }),
  addr('FSPTPTR', 2, 63, 12, S_PE, { note: 'first-stage page-table pointer (rev 3: FLPTPTR)' }),
]);
