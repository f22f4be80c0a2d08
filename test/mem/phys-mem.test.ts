// PhysMem address domain: an address that is not a non-negative integer is not backed (an external
// abort for the models, IHI0070 §3.4 / the *_FETCH and F_WALK_EABT events), never an alias of the
// backed address it would truncate to.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PhysMem } from '../../src/mem/phys-mem.ts';

const BASE = 0x4000_0000;

function mem(): PhysMem {
  const m = new PhysMem();
  m.addRegion(0, 4096, 'low');
  m.addRegion(BASE, 1 << 16, 'ram');
  m.write64(BASE, 0x1111_1111, 0x2222_2222);
  m.write64(0, 0x3333_3333, 0x4444_4444);
  return m;
}

describe('PhysMem: addresses outside the integer domain are not backed', () => {
  it.each([BASE + 0.5, BASE + 7.75, -8, -0.5, NaN, Infinity, -Infinity, 2 ** 60])(
    'address %s: every access aborts',
    (pa) => {
      const m = mem();
      m.read64(BASE); // make the region the most recently used one (the inline path)
      expect(m.read64(pa)).toBe(false);
      expect([m.lo, m.hi]).toEqual([0, 0]);
      expect(m.read32(pa)).toBe(-1);
      expect(m.write32(pa, 5)).toBe(false);
      expect(m.write64(pa, 5, 6)).toBe(false);
      expect(m.cas32(pa, 0x1111_1111, 7)).toBe(false);
      expect(m.span(pa, 8)).toBe(-1);
      expect(m.isBacked(pa)).toBe(false);
      expect(m.regionAt(pa)).toBeUndefined();
      // Nothing was written anywhere.
      expect([m.read64n(BASE), m.read64n(0)]).toEqual([0x2222_2222_1111_1111n, 0x4444_4444_3333_3333n]);
    },
  );

  it('property: a non-integer address never reads the contents of a backed one', () => {
    fc.assert(
      fc.property(fc.double({ min: -(2 ** 53), max: 2 ** 53, noNaN: false }), fc.boolean(), (pa, warm) => {
        const m = mem();
        if (warm) m.read64(BASE);
        const ok = m.read64(pa);
        if (!Number.isInteger(pa) || pa < 0) expect(ok).toBe(false);
        expect(m.read32(pa) === -1 || Number.isInteger(pa)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
