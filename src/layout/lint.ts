// Structure lint: checks a structure's qwords against its layout table.
import { reservedMasks } from './layout.ts';
import type { Layout } from './layout.ts';

/** Bit ranges [hi:lo] (or [n]) of the set bits of `v`, highest first. */
function bitRuns(v: bigint): string[] {
  const runs: string[] = [];
  let bit = 63;
  while (bit >= 0) {
    if (((v >> BigInt(bit)) & 1n) === 0n) {
      bit--;
      continue;
    }
    const hi = bit;
    while (bit >= 0 && ((v >> BigInt(bit)) & 1n) === 1n) bit--;
    const lo = bit + 1;
    runs.push(hi === lo ? `[${hi}]` : `[${hi}:${lo}]`);
  }
  return runs;
}

/**
 * Reports reserved (RES0) bits that are set: one message per qword of the structure that has any.
 * Missing qwords count as zero; qwords beyond the structure's size are not examined.
 */
export function lintStructure(l: Layout, qwords: readonly bigint[]): string[] {
  const out: string[] = [];
  reservedMasks(l).forEach((mask, i) => {
    const bad = (qwords[i] ?? 0n) & mask;
    if (bad !== 0n) {
      out.push(
        `${l.name}: reserved bits set in q${i}: ${bitRuns(bad)
          .map((r) => `q${i}${r}`)
          .join(', ')} (0x${bad.toString(16).padStart(16, '0')}; RES0)`,
      );
    }
  });
  return out;
}
