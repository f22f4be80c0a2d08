// The benchmark rows of each IOMMU architecture (the names are those of src/arch/registry.ts).
// Adding an architecture adds an entry here; run.ts reads only this list.
import { ARCHES } from '../src/arch/registry.ts';
import { SMMUV3_ROWS, type Row } from './smmuv3-rows.ts';

export type { BatchFn, Loops, MemoryFigure, Row } from './smmuv3-rows.ts';

const ROWS_BY_IOMMU: Readonly<Record<string, readonly Row[]>> = { smmuv3: SMMUV3_ROWS };

for (const name of Object.keys(ROWS_BY_IOMMU))
  if (!ARCHES.some((a) => a.name === name)) throw new Error(`bench registry: no architecture ${name}`);

/** Every row, in order, with the architecture it measures. */
export const ROWS: readonly (Row & { readonly iommu: string })[] = Object.entries(ROWS_BY_IOMMU).flatMap(
  ([iommu, rows]) => rows.map((r) => ({ ...r, iommu })),
);
