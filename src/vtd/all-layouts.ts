// Every architected VT-d in-memory layout table in one list (tests and spec-notes iterate over it).
// The register file (regs.ts) is separate, as for SMMUv3.
import type { Layout } from '../layout/layout.ts';
import { INV_DESCS, PAGE_REQUEST_DESC } from './inv-desc.ts';
import {
  CONTEXT_ENTRY,
  PASID_DIR_ENTRY,
  PASID_ENTRY,
  ROOT_ENTRY,
  SM_CONTEXT_ENTRY,
  SM_ROOT_ENTRY,
} from './layouts.ts';

export const VTD_LAYOUTS: readonly Layout[] = [
  ROOT_ENTRY,
  SM_ROOT_ENTRY,
  CONTEXT_ENTRY,
  SM_CONTEXT_ENTRY,
  PASID_DIR_ENTRY,
  PASID_ENTRY,
  ...INV_DESCS.map((d) => d.layout),
  PAGE_REQUEST_DESC,
];
