// The walker's descriptor constants (src/smmuv3/walk.ts, VMSA_BITS) are derived from the layouts in
// src/pt/vmsav8-64.ts at module load; this checks each one against the layout table itself, through
// the BigInt encoder (DDI 0487 D8.3), so that a mistake in the derivation cannot hide.
import { describe, expect, it } from 'vitest';
import { encode, type FieldValues, type Layout } from '../../src/layout/layout.ts';
import {
  VMSA_S1_LEAF,
  VMSA_S2_LEAF,
  VMSA_TABLE,
  descAddr,
  descBit,
  descField,
} from '../../src/pt/vmsav8-64.ts';
import { VMSA_BITS as B } from '../../src/smmuv3/walk.ts';

/** The descriptor with `v` set, as [bits 31:0, bits 63:32]. */
function halves(l: Layout, v: FieldValues): [number, number] {
  const q = encode(l, v)[0]!;
  return [Number(q & 0xffff_ffffn), Number(q >> 32n)];
}

describe('walker constants derived from the VMSAv8-64 layouts (DDI 0487 D8.3)', () => {
  it('one-bit masks in the low half', () => {
    expect(halves(VMSA_TABLE, { Valid: 1 })).toEqual([B.D_VALID, 0]);
    expect(halves(VMSA_TABLE, { Table: 1 })).toEqual([B.D_TABLE, 0]);
    expect(halves(VMSA_S1_LEAF, { Page: 1 })).toEqual([B.D_TABLE, 0]);
    expect(halves(VMSA_S2_LEAF, { Page: 1 })).toEqual([B.D_TABLE, 0]);
    expect(halves(VMSA_S1_LEAF, { AF: 1 })).toEqual([B.D_AF, 0]);
    expect(halves(VMSA_S2_LEAF, { AF: 1 })).toEqual([B.D_AF, 0]);
    expect(halves(VMSA_S1_LEAF, { nG: 1 })).toEqual([B.D_NG, 0]);
  });

  it('one-bit masks and shifts in the high half', () => {
    expect(halves(VMSA_S1_LEAF, { DBM: 1 })).toEqual([0, B.D_DBM]);
    expect(halves(VMSA_S2_LEAF, { DBM: 1 })).toEqual([0, B.D_DBM]);
    expect(halves(VMSA_S1_LEAF, { PXN: 1 })).toEqual([0, 2 ** B.PXN_SHIFT]);
    expect(halves(VMSA_S1_LEAF, { UXN: 1 })).toEqual([0, 2 ** B.UXN_SHIFT]);
    expect(halves(VMSA_TABLE, { PXNTable: 1 })).toEqual([0, 2 ** B.PXNTABLE_SHIFT]);
    expect(halves(VMSA_TABLE, { UXNTable: 1 })).toEqual([0, 2 ** B.UXNTABLE_SHIFT]);
  });

  it('two-bit fields: AP[1] / AP[2], S2AP[0] / S2AP[1], XN[0] / XN[1], APTable[0] / APTable[1]', () => {
    expect(halves(VMSA_S1_LEAF, { AP: 1 })).toEqual([2 ** B.AP1_SHIFT, 0]);
    expect(halves(VMSA_S1_LEAF, { AP: 2 })).toEqual([2 ** B.AP2_SHIFT, 0]);
    expect(halves(VMSA_S2_LEAF, { S2AP: 1 })).toEqual([2 ** B.S2AP_R_SHIFT, 0]);
    expect(halves(VMSA_S2_LEAF, { S2AP: 2 })).toEqual([2 ** B.S2AP_W_SHIFT, 0]);
    expect(halves(VMSA_S2_LEAF, { XN: 1 })).toEqual([0, 2 ** B.XN_SHIFT]);
    expect(halves(VMSA_S2_LEAF, { XN: 2 })).toEqual([0, 2 ** B.XN1_SHIFT]);
    expect(halves(VMSA_TABLE, { APTable: 1 })).toEqual([0, 2 ** B.APTABLE_SHIFT]);
    expect(halves(VMSA_TABLE, { APTable: 2 })).toEqual([0, 2 ** (B.APTABLE_SHIFT + 1)]);
  });

  it('address fields: [47:12] in both halves; FEAT_LPA OA[51:48] from the four lowest bits', () => {
    const all = (1n << 48n) - (1n << 12n);
    for (const [l, n] of [
      [VMSA_TABLE, 'NextLevelTableAddr'],
      [VMSA_S1_LEAF, 'OutputAddr'],
      [VMSA_S2_LEAF, 'OutputAddr'],
    ] as const) {
      expect(halves(l, { [n]: all })).toEqual([B.OA_LO, B.OA_HI]);
      expect(halves(l, { [n]: 0xf000n })).toEqual([0xf << B.LPA_SHIFT, 0]);
    }
    // OA[51:48] land in address bits [51:48]: high-half bits [LPA_TO + 3 : LPA_TO].
    expect(2 ** (B.LPA_TO + 32)).toBe(2 ** 48);
  });

  it('the helpers refuse what the hot path cannot use', () => {
    expect(() => descBit(VMSA_S1_LEAF, 'AP')).toThrow(/not one bit/);
    expect(() => descAddr(VMSA_S1_LEAF, 'AF')).toThrow(/not an address/);
    expect(descField(VMSA_S2_LEAF, 'XN')).toEqual({ hi: 1, shift: B.XN_SHIFT, mask: 3 });
  });
});
