// What is measured: batch loops over requests [start, start + n) that call the real model. Each
// returns the sum of the results (output PAs, or CD.TTB0 for the configuration lookup), or NaN if
// any transaction did not succeed, so that nothing is dead code and every batch is checked.
import { K } from '../src/smmuv3/config-cache.ts';
import type { SMMUv3 } from '../src/smmuv3/smmuv3.ts';
import { nextAsid } from './baselines.ts';
import { REQ_STRIDE } from './machine.ts';

// Imported bindings re-bound at module top (STYLE.md: imported module cells cost in hot loops).
const TTB0HI = K.TTB0HI,
  TTB0LO = K.TTB0LO,
  K_STRIDE = K.STRIDE;
const RS = REQ_STRIDE;

/**
 * Translations through SMMUv3.translate (walk or caching mode: whatever the model is in). With
 * `cdw` (the decode row), each request's CD word 1 (ASID) is rewritten first, in `ram`, behind the
 * model's back, exactly as the bare loops do (baselines.ts nextAsid).
 */
export function translateBatch(
  smmu: SMMUv3,
  req: Uint32Array,
  start: number,
  n: number,
  ram: Uint32Array,
  cdw: Int32Array | null,
  ctr: Int32Array,
): number {
  const res = smmu.res;
  let sum = 0;
  let bad = 0;
  for (let q = start, end = start + n; q < end; q++) {
    const o = q * RS;
    if (cdw !== null) {
      const x = cdw[q]!;
      ram[x] = ((ram[x]! & 0xffff) | (nextAsid(ctr) << 16)) >>> 0;
    }
    bad |= smmu.translate(req[o]!, req[o + 1]!, req[o + 2]!, req[o + 3]!, req[o + 4]!);
    sum += res.pa;
  }
  return bad === 0 ? sum : NaN;
}

/**
 * Configuration lookups: what translate does before the page walk in walk mode
 * (SMMUv3.loadConfig): STE fetch (L1STD + STE qwords 0-3), L1CD + CD qwords 0-2 fetch, and the
 * decoded configuration (decoded again whenever the words differ from the memo's). Returns the sum
 * of the decoded CD.TTB0.
 */
export function configBatch(smmu: SMMUv3, req: Uint32Array, start: number, n: number): number {
  let sum = 0;
  let bad = 0;
  for (let o = start * RS, end = (start + n) * RS; o < end; o += RS) {
    bad |= smmu.loadConfig(req[o]!, req[o + 1]!);
    const ci = smmu.cc.ci;
    const k = smmu.cfgSlot * K_STRIDE;
    sum += ci[k + TTB0HI]! * 4294967296 + (ci[k + TTB0LO]! >>> 0);
  }
  return bad === 0 ? sum : NaN;
}
