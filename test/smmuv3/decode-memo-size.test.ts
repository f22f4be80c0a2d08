// The decode memo's size (config-cache.ts reviewMemo; not architectural): it grows with the working
// set in walk mode, up to its limits; CDs rewritten in place (every access a different CD at the
// same (StreamID, SubstreamID)) do not make it grow; in caching mode it keeps its size (a resize
// replaces the slot arrays, which translateCached holds across a fill). Translations stay right
// throughout (test/smmuv3/decode-memo.prop.test.ts checks correctness under rewrites).
import { describe, expect, it } from 'vitest';
import { linuxCd, type CdTable } from '../../src/driver/smmuv3-driver.ts';
import { rig, s1Table, ST_OK, tx, type Rig } from './harness.ts';

const SID = 3;
const IOVA = 0x7000n;
const pa = (t: number) => 0x4100_0000 + t * 0x1000;

/** One stream with `n` CDs (SubstreamIDs 1..n) over 4 page tables; caching or walk mode. */
function world(n: number, caching: boolean): { r: Rig; cdt: CdTable; roots: number[] } {
  const r = rig({ caching }, {}, 32);
  const roots: number[] = [];
  for (let t = 0; t < 4; t++) {
    const pt = s1Table(r);
    pt.map(IOVA, BigInt(pa(t)), 0x1000n);
    roots.push(pt.root);
  }
  const cdt = r.drv.makeCdTable(12, 1);
  for (let s = 1; s <= n; s++) cdt.writeCd(SID, s, linuxCd(roots[s % 4]!, s), false);
  r.drv.writeSte(SID, { V: 1, Config: 5, ...cdt.steFields(), S1DSS: 0 }, false);
  return { r, cdt, roots };
}

function sweep(r: Rig, n: number): void {
  for (let s = 1; s <= n; s++) {
    const x = tx(r, SID, s, IOVA);
    expect(x.status, `ssid ${s}`).toBe(ST_OK);
    expect(x.pa).toBe(pa(s % 4));
  }
}

describe('decode memo size', () => {
  it('grows with the working set in walk mode (2048 CDs: from 512 entries to at least 2048)', () => {
    const { r } = world(2048, false);
    const cc = r.smmu.cc;
    expect(cc.cdMemoSize).toBe(512);
    for (let pass = 0; pass < 10; pass++) sweep(r, 2048);
    expect(cc.cdMemoSize).toBeGreaterThanOrEqual(2048);
  });

  it('stops at its limit', () => {
    const { r } = world(2048, false);
    r.smmu.cc.limitMemo(64, 1024);
    for (let pass = 0; pass < 10; pass++) sweep(r, 2048);
    expect(r.smmu.cc.cdMemoSize).toBe(1024);
  });

  it('does not grow when the same CDs are rewritten before every access', () => {
    const { r, cdt, roots } = world(16, false);
    for (let i = 0; i < 20000; i++) {
      const s = 1 + (i % 16);
      cdt.writeCd(SID, s, linuxCd(roots[s % 4]!, 1 + (i % 200)), false); // a new ASID each time
      expect(tx(r, SID, s, IOVA).pa).toBe(pa(s % 4));
    }
    expect(r.smmu.cc.cdMemoSize).toBe(512);
  });

  it('keeps its size (and the slot arrays) in caching mode', () => {
    const { r } = world(2048, true);
    const ci = r.smmu.cc.ci;
    // 2048 CDs through a 1024-entry configuration cache: every pass refills it through loadConfig.
    for (let pass = 0; pass < 10; pass++) sweep(r, 2048);
    expect(r.smmu.cc.cdMemoSize).toBe(512);
    expect(r.smmu.cc.ci).toBe(ci);
  });
});
