// iommu-emu's public API: what a user of the package needs to build a machine, program it, run DMA
// through the hardware models and inspect the structures. Everything here is re-exported from the
// module that owns it; the hot-path modules themselves are not part of the API.

// Emulated physical memory and the MMIO boundary.
export { PhysMem, MAX_PA, type RegionInfo } from './mem/phys-mem.ts';
export type { Mmio } from './mem/mmio.ts';

// The SMMUv3 model, its DMA API results and access flags.
export { SMMUv3, type ModelOptions } from './smmuv3/smmuv3.ts';
export { ST_ABORT, ST_OK, ST_RAZWI, ST_STALL, TxResult } from './smmuv3/result.ts';
export { ACC_U, ACC_W, ACC_X, P_R, P_W, P_X, U_R, U_W, U_X } from './smmuv3/walk.ts';
export { Features, idrFromOptions, type SmmuOptions } from './smmuv3/features.ts';

// Layouts (structures, registers, commands, events) and the framework that reads them.
export { CD, L1CD, L1STD, STE } from './smmuv3/layouts.ts';
export { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from './pt/vmsav8-64.ts';
export { ALL_LAYOUTS } from './smmuv3/all-layouts.ts';
export {
  REGS,
  REG_BY_NAME,
  reg,
  regField,
  getRegField,
  setRegField,
  regValue,
  type RegDef,
} from './smmuv3/regs.ts';
export { CMDS, CMD_BY_OP, CMD_HEADER, OP, type CmdDef, type CmdName } from './smmuv3/commands.ts';
export {
  EVENTS,
  EVT,
  EVT_BY_ID,
  EVT_HEADER,
  PRIQ_ENTRY,
  type EvtDef,
  type EvtName,
} from './smmuv3/events.ts';
export {
  accessMask,
  decode,
  encode,
  fieldOf,
  getField,
  qwordsToWords,
  register,
  reservedMasks,
  setField,
  wordsToQwords,
  writableMask,
  type Access,
  type FieldDef,
  type Layout,
  type RegisterDef,
} from './layout/layout.ts';
export { lintStructure } from './layout/lint.ts';

// The driver side: programs an SMMU through MMIO, memory and the command queue only.
export {
  PageAllocator,
  PageTable,
  Smmuv3Driver,
  linuxCd,
  type CdTable,
  type DriverOptions,
} from './driver/smmuv3-driver.ts';

// Machines: the one builder, and the demo machine on top of it.
export { buildSmmuMachine, type SmmuMachine, type SmmuMachineSpec, type RamSpec } from './machine/machine.ts';
export { buildDemoMachine, type DemoMachine } from './machine/demo.ts';

// Machine images (registers + memory chunks).
export { ImageError, loadSmmuImage, saveSmmuImage, type ImageChunk, type ImageJson } from './image/image.ts';

// The slow, plain reference model (BigInt; for checking, not for speed).
export { refTranslate, type RefResult } from './ref/smmuv3-ref.ts';
