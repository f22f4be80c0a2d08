// What is measured: batch loops over the request list that call the real model. Each returns the
// sum of the results (output PAs, or CD.TTB0 for the configuration lookup), or NaN if any
// transaction did not succeed, so that nothing is dead code and every batch is checked.
import { fetchCd } from '../src/smmuv3/cd.ts';
import { KF } from '../src/smmuv3/config-cache.ts';
import type { SMMUv3 } from '../src/smmuv3/smmuv3.ts';
import { decodeSte, fetchSte } from '../src/smmuv3/ste.ts';
import { REQ_STRIDE } from './machine.ts';

// Imported bindings re-bound at module top (STYLE.md: imported module cells cost in hot loops).
const fetchSte_ = fetchSte;
const decodeSte_ = decodeSte;
const fetchCd_ = fetchCd;
const TTB0 = KF.TTB0; // slot 0's TTB0 is cf[TTB0]
const RS = REQ_STRIDE;

/** `n` translations through SMMUv3.translate (walk or caching mode: whatever the model is in). */
export function translateBatch(smmu: SMMUv3, req: Uint32Array, n: number): number {
  const res = smmu.res;
  let sum = 0;
  let bad = 0;
  for (let o = 0, end = n * RS; o < end; o += RS) {
    bad |= smmu.translate(req[o]!, req[o + 1]!, req[o + 2]!, req[o + 3]!, req[o + 4]!);
    sum += res.pa;
  }
  return bad === 0 ? sum : NaN;
}

/**
 * `n` configuration lookups: what translate does before the page walk in walk mode (loadConfig):
 * STE fetch (L1STD + STE qwords 0-3), STE decode, CD fetch (L1CD + CD qwords 0-2) and decode,
 * into slot 0. Returns the sum of the decoded CD.TTB0. Give it a model that never ran translate:
 * the decode memo that translate keeps (SMMUv3.loadConfig) then stays off, so every lookup
 * decodes (as it does in translate whenever the STE differs from the previous transaction's).
 */
export function configBatch(smmu: SMMUv3, req: Uint32Array, n: number): number {
  const cf = smmu.cc.cf;
  let sum = 0;
  let bad = 0;
  for (let o = 0, end = n * RS; o < end; o += RS) {
    let st = fetchSte_(smmu, req[o]!);
    if (st === 0) st = decodeSte_(smmu, 0);
    if (st === 0) st = fetchCd_(smmu, 0, req[o + 1]!);
    bad |= st;
    sum += cf[TTB0]!;
  }
  return bad === 0 ? sum : NaN;
}
