// The public API of the iommu-emu package (`import { SMMUv3, PhysMem } from 'iommu-emu'`).
// Minimal entry: memory, the SMMUv3 model and image load/save. The lead extends it (features,
// drivers, machine builder, layouts, decode/lint).
export { PhysMem, MAX_PA, type RegionInfo } from './mem/phys-mem.ts';
export {
  SMMUv3,
  TxResult,
  ACC_U,
  ACC_W,
  ACC_X,
  ST_OK,
  ST_ABORT,
  ST_STALL,
  ST_RAZWI,
  type ModelOptions,
} from './smmuv3/smmuv3.ts';
export { loadSmmuImage, saveSmmuImage, ImageError, type ImageJson, type ImageChunk } from './image/image.ts';
