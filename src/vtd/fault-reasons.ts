// Intel VT-d non-recoverable fault reason codes (FRCD.FR): legacy-mode DMA remapping reasons
// (01h-0Dh), interrupt-remapping reasons (20h-26h) and scalable-mode reasons (30h-90h). VT-d §7.1.3
// (fault conditions, per translation mode) and §5.1.4.1 (interrupt-remapping fault conditions).
// Meanings are this project's summaries.
//
// Cross-checked against Linux dmar.c (dma_remap_fault_reasons, dma_remap_sm_fault_reasons,
// irq_remap_fault_reasons) and QEMU intel_iommu_internal.h via shared/reference/vtd-layout.json.
// Not listed: QEMU's 0Eh (VTD_FR_INTERRUPT_ADDR) and 91h (VTD_FR_FS_BIT_UPDATE_FAILED), which Linux's
// tables do not have either.

export type FaultMode = 'legacy' | 'interrupt' | 'scalable';

export interface FaultReason {
  readonly code: number;
  readonly name: string;
  readonly mode: FaultMode;
  readonly meaning: string;
  readonly spec: string;
}

const S_DMA = 'VT-d §7.1.3';
const S_IR = 'VT-d §5.1.4.1';

const L = (code: number, name: string, meaning: string): FaultReason => ({
  code,
  name,
  mode: 'legacy',
  meaning,
  spec: S_DMA,
});
const I = (code: number, name: string, meaning: string): FaultReason => ({
  code,
  name,
  mode: 'interrupt',
  meaning,
  spec: S_IR,
});
const S = (code: number, name: string, meaning: string): FaultReason => ({
  code,
  name,
  mode: 'scalable',
  meaning,
  spec: S_DMA,
});

export const FAULT_REASONS: readonly FaultReason[] = [
  L(0x01, 'ROOT_ENTRY_P', 'root entry not present'),
  L(0x02, 'CONTEXT_ENTRY_P', 'context entry not present'),
  L(0x03, 'CONTEXT_ENTRY_INV', 'context entry programmed invalidly (AW, TT, ...)'),
  L(0x04, 'ADDR_BEYOND_AGAW', 'input address above the domain address width'),
  L(0x05, 'WRITE', 'write to a page without write permission'),
  L(0x06, 'READ', 'read of a page without read permission'),
  L(0x07, 'PAGING_ENTRY_ACCESS', 'error reading a second-stage paging entry'),
  L(0x08, 'ROOT_TABLE_ACCESS', 'error reading the root entry (root table address)'),
  L(0x09, 'CONTEXT_TABLE_ACCESS', 'error reading the context entry (context-table pointer)'),
  L(0x0a, 'ROOT_ENTRY_RSVD', 'reserved bits set in the root entry'),
  L(0x0b, 'CONTEXT_ENTRY_RSVD', 'reserved bits set in the context entry'),
  L(0x0c, 'PAGING_ENTRY_RSVD', 'reserved bits set in a second-stage paging entry'),
  L(0x0d, 'CONTEXT_ENTRY_TT', 'request type blocked by the context entry TT'),
  I(0x20, 'IR_REQ_RSVD', 'reserved bits set in the interrupt request'),
  I(0x21, 'IR_INDEX_OVER', 'interrupt index beyond the remapping table size'),
  I(0x22, 'IR_ENTRY_P', 'interrupt remapping table entry not present'),
  I(0x23, 'IR_TABLE_ACCESS', 'error reading the interrupt remapping table'),
  I(0x24, 'IR_IRTE_RSVD', 'reserved bits set in the interrupt remapping table entry'),
  I(0x25, 'IR_REQ_COMPAT', 'compatibility-format interrupt blocked'),
  I(0x26, 'IR_SID_ERR', 'source-id verification of the interrupt request failed'),
  S(0x30, 'SM_RTADDR_INV', 'invalid root table address (RTADDR)'),
  S(0x31, 'SM_TTM_PASID', 'request with PASID while RTADDR.TTM is legacy'),
  S(0x32, 'SM_TTM_PRQ', 'page request while RTADDR.TTM is legacy'),
  S(0x38, 'SM_ROOT_ACCESS', 'error reading the scalable-mode root entry'),
  S(0x39, 'SM_ROOT_P', 'scalable-mode root entry (LP/UP) not present'),
  S(0x3a, 'SM_ROOT_RSVD', 'reserved bits set in the scalable-mode root entry'),
  S(0x40, 'SM_CTX_ACCESS', 'error reading the scalable-mode context entry'),
  S(0x41, 'SM_CTX_P', 'scalable-mode context entry not present'),
  S(0x42, 'SM_CTX_RSVD', 'reserved bits set in the scalable-mode context entry'),
  S(0x43, 'SM_CTX_INV', 'scalable-mode context entry programmed invalidly'),
  S(0x44, 'SM_CTX_DTE', 'translation request or translated request with DTE clear'),
  S(0x45, 'SM_CTX_PASIDE', 'request with PASID while PASIDE is clear'),
  S(0x46, 'SM_CTX_PDTS', 'PASID beyond the PASID directory size (PDTS)'),
  S(0x47, 'SM_CTX_PRE', 'page request while PRE is clear'),
  S(0x48, 'SM_CTX_RID_PASID', 'RID_PASID field error'),
  S(0x50, 'SM_PDE_ACCESS', 'error reading the PASID directory entry'),
  S(0x51, 'SM_PDE_P', 'PASID directory entry not present'),
  S(0x52, 'SM_PDE_RSVD', 'reserved bits set in the PASID directory entry'),
  S(0x58, 'SM_PE_ACCESS', 'error reading the PASID table entry'),
  S(0x59, 'SM_PE_P', 'PASID table entry not present'),
  S(0x5a, 'SM_PE_RSVD', 'reserved bits set in the PASID table entry'),
  S(0x5b, 'SM_PE_INV', 'PASID table entry programmed invalidly (PGTT, AW, FSPM, ...)'),
  S(0x5c, 'SM_PE_ERE', 'execute request while the PASID entry ERE is clear'),
  S(0x5d, 'SM_PE_SRE', 'supervisor request while the PASID entry SRE is clear'),
  S(0x70, 'SM_FS_ACCESS', 'error reading a first-stage paging entry'),
  S(0x71, 'SM_FS_P', 'first-stage paging entry not present'),
  S(0x72, 'SM_FS_RSVD', 'reserved bits set in a first-stage paging entry'),
  S(0x73, 'SM_FSPTPTR_ACCESS', 'error reading the first-stage root (FSPTPTR) entry'),
  S(0x74, 'SM_FS_NESTED_ADDR', 'nested: first-stage table address beyond the second-stage width'),
  S(0x75, 'SM_FSPTPTR_NESTED_READ', 'nested: no read permission on the first-stage root table'),
  S(0x76, 'SM_FS_NESTED_READ', 'nested: no read permission on a first-stage paging entry'),
  S(0x77, 'SM_FS_NESTED_WRITE', 'nested: no write permission for a first-stage A/D update'),
  S(0x78, 'SM_SS_ACCESS', 'error reading a second-stage paging entry'),
  S(0x79, 'SM_SS_P', 'second-stage paging entry without read or write permission'),
  S(0x7a, 'SM_SS_RSVD', 'reserved bits set in a second-stage paging entry'),
  S(0x7b, 'SM_SSPTPTR_INV', 'invalid second-stage page-table pointer'),
  S(0x7c, 'SM_SS_AD_NOSNOOP', 'second-stage A/D update needed on a non-snooped walk'),
  S(0x80, 'SM_NON_CANONICAL', 'first-stage input address not canonical'),
  S(0x81, 'SM_FS_US', 'user request to a supervisor-only first-stage page'),
  S(0x82, 'SM_EXECUTE', 'execute request to a page without execute permission'),
  S(0x83, 'SM_ADDR_BEYOND_MGAW', 'input address beyond the hardware maximum (MGAW)'),
  S(0x84, 'SM_SS_ADDR_BEYOND', 'second-stage input address beyond the address width'),
  S(0x85, 'SM_WRITE', 'write or AtomicOp to a page without write permission'),
  S(0x86, 'SM_READ', 'read or AtomicOp to a page without read permission'),
  S(0x87, 'SM_INTERRUPT_ADDR', 'output address in the interrupt address range'),
  S(0x90, 'SM_FS_AD_NOSNOOP', 'first-stage A/D update needed on a non-snooped walk'),
];

/** FAULT_BY_CODE[code]: the reason, or undefined for a code the spec does not define. */
export const FAULT_BY_CODE: readonly (FaultReason | undefined)[] = (() => {
  const t = new Array<FaultReason | undefined>(256).fill(undefined);
  for (const r of FAULT_REASONS) t[r.code] = r;
  return t;
})();

/** Codes by name, for the model's fault paths (`FR.SM_PE_P`). */
export const FR: Readonly<Record<string, number>> = Object.fromEntries(
  FAULT_REASONS.map((r) => [r.name, r.code]),
);
