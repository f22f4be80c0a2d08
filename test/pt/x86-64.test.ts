// The x86-64 paging entries of VT-d first-stage translation (VT-d §9.7, Intel SDM Vol. 3 §4.5) and the
// VT-d second-stage entries (VT-d §9.8), checked against bit positions stated here from the specs,
// through the BigInt encoder; plus the reserved-bit masks per level and a full encode/decode round trip.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  fieldOf,
  fieldWidth,
  reservedMasks,
  type FieldValues,
  type Layout,
} from '../../src/layout/layout.ts';
import {
  ENTRY_KINDS,
  VTD_SS_1G,
  VTD_SS_2M,
  VTD_SS_PTE,
  VTD_SS_TABLE,
  X86_64_LAYOUTS,
  X86_FS_PDE_2M,
  X86_FS_PDPTE_1G,
  X86_FS_PTE,
  X86_FS_TABLE,
  bitRange,
  fsReservedMask,
  ssReservedMask,
  type EntryKind,
} from '../../src/pt/x86-64.ts';

const bit = (n: number): bigint => 1n << BigInt(n);
const enc = (l: Layout, v: FieldValues): bigint => encode(l, v)[0]!;
const U64 = (1n << 64n) - 1n;
/** Bits held by the layout's fields. */
const used = (l: Layout): bigint => ~reservedMasks(l)[0]! & U64;

const FS = [X86_FS_TABLE, X86_FS_PDPTE_1G, X86_FS_PDE_2M, X86_FS_PTE];
const SS = [VTD_SS_TABLE, VTD_SS_1G, VTD_SS_2M, VTD_SS_PTE];
const KINDS = Object.keys(ENTRY_KINDS) as EntryKind[];

describe('first-stage (x86-64 paging) bit positions, SDM Vol. 3 §4.5 / VT-d §9.7', () => {
  it.each(FS.map((l) => [l.name, l] as const))(
    '%s: P 0, R/W 1, U/S 2, PWT 3, PCD 4, A 5, EA 10, XD 63',
    (_, l) => {
      const want: Record<string, number> = { P: 0, RW: 1, US: 2, PWT: 3, PCD: 4, A: 5, EA: 10, XD: 63 };
      for (const [n, b] of Object.entries(want)) expect(enc(l, { [n]: 1 }), n).toBe(bit(b));
    },
  );

  it('tables: PS 7, no D / G / PAT', () => {
    expect(enc(X86_FS_TABLE, { PS: 1 })).toBe(bit(7));
    for (const n of ['D', 'G', 'PAT']) expect(() => fieldOf(X86_FS_TABLE, n)).toThrow();
  });

  it('large pages: D 6, PS 7, G 8, PAT 12', () => {
    for (const l of [X86_FS_PDPTE_1G, X86_FS_PDE_2M]) {
      expect(enc(l, { D: 1 })).toBe(bit(6));
      expect(enc(l, { PS: 1 })).toBe(bit(7));
      expect(enc(l, { G: 1 })).toBe(bit(8));
      expect(enc(l, { PAT: 1 })).toBe(bit(12));
    }
  });

  it('4 KiB PTE: D 6, PAT 7, G 8, no PS', () => {
    expect(enc(X86_FS_PTE, { D: 1 })).toBe(bit(6));
    expect(enc(X86_FS_PTE, { PAT: 1 })).toBe(bit(7));
    expect(enc(X86_FS_PTE, { G: 1 })).toBe(bit(8));
    expect(() => fieldOf(X86_FS_PTE, 'PS')).toThrow();
  });

  it('ignored bits: 6 (tables), 8, 9, 11, [62:52]: no field, and not reserved at any width', () => {
    const ign = bitRange(62, 52) | bit(9) | bit(11);
    for (const [l, extra] of [
      [X86_FS_TABLE, bit(6) | bit(8)],
      [X86_FS_PDPTE_1G, 0n],
      [X86_FS_PDE_2M, 0n],
      [X86_FS_PTE, 0n],
    ] as const)
      expect(used(l) & (ign | extra), l.name).toBe(0n);
    for (const k of KINDS) expect(fsReservedMask(k, 39) & (ign | bit(63)), k).toBe(0n);
  });
});

describe('second-stage bit positions, VT-d §9.8', () => {
  it.each(SS.map((l) => [l.name, l] as const))('%s: R 0, W 1, X 2, A 8', (_, l) => {
    for (const [n, b] of [
      ['R', 0],
      ['W', 1],
      ['X', 2],
      ['A', 8],
    ] as const)
      expect(enc(l, { [n]: 1 }), n).toBe(bit(b));
  });

  it('leaves: EMT [5:3], IPAT 6, D 9, SNP 11, TM 62; PS 7 in large pages only', () => {
    for (const l of [VTD_SS_1G, VTD_SS_2M, VTD_SS_PTE]) {
      expect(enc(l, { EMT: 7 })).toBe(bitRange(5, 3));
      expect(enc(l, { EMT: 6 })).toBe(bit(5) | bit(4));
      expect(enc(l, { IPAT: 1 })).toBe(bit(6));
      expect(enc(l, { D: 1 })).toBe(bit(9));
      expect(enc(l, { SNP: 1 })).toBe(bit(11));
      expect(enc(l, { TM: 1 })).toBe(bit(62));
    }
    expect(enc(VTD_SS_1G, { PS: 1 })).toBe(bit(7));
    expect(enc(VTD_SS_2M, { PS: 1 })).toBe(bit(7));
    expect(() => fieldOf(VTD_SS_PTE, 'PS')).toThrow();
  });

  it('tables: PS 7; no EMT / IPAT / D / SNP / TM', () => {
    expect(enc(VTD_SS_TABLE, { PS: 1 })).toBe(bit(7));
    for (const n of ['EMT', 'IPAT', 'D', 'SNP', 'TM']) expect(() => fieldOf(VTD_SS_TABLE, n)).toThrow();
  });
});

describe('address fields per page size', () => {
  const cases: [Layout, number][] = [
    [X86_FS_TABLE, 12],
    [X86_FS_PTE, 12],
    [X86_FS_PDE_2M, 21],
    [X86_FS_PDPTE_1G, 30],
    [VTD_SS_TABLE, 12],
    [VTD_SS_PTE, 12],
    [VTD_SS_2M, 21],
    [VTD_SS_1G, 30],
  ];
  it.each(cases.map(([l, lo]) => [l.name, l, lo] as const))('%s: ADDR [51:%i]', (_, l, lo) => {
    const f = fieldOf(l, 'ADDR');
    expect([f.kind, f.hi, f.lo]).toEqual(['addr', 51, lo]);
    const all = bitRange(51, lo);
    expect(enc(l, { ADDR: all })).toBe(all);
    expect(decode(l, [U64]).ADDR).toBe(all);
    expect(() => encode(l, { ADDR: bit(lo - 1) })).toThrow(/not aligned/);
  });

  it('page sizes of the leaf kinds', () => {
    expect(ENTRY_KINDS['pdpte-1g'].pageBytes).toBe(1n << 30n);
    expect(ENTRY_KINDS['pde-2m'].pageBytes).toBe(1n << 21n);
    expect(ENTRY_KINDS.pte.pageBytes).toBe(4096n);
    for (const k of ['pml5e', 'pml4e', 'pdpte', 'pde'] as const)
      expect(ENTRY_KINDS[k].pageBytes).toBeUndefined();
  });
});

describe('reserved masks', () => {
  const above48 = bitRange(51, 48);

  it('first stage, HAW 48: [51:48]; PS in PML5E/PML4E; [29:13] / [20:13] in 1 GiB / 2 MiB pages', () => {
    expect(fsReservedMask('pml5e', 48)).toBe(above48 | bit(7));
    expect(fsReservedMask('pml4e', 48)).toBe(above48 | bit(7));
    expect(fsReservedMask('pdpte', 48)).toBe(above48);
    expect(fsReservedMask('pde', 48)).toBe(above48);
    expect(fsReservedMask('pdpte-1g', 48)).toBe(above48 | 0x3fff_e000n);
    expect(fsReservedMask('pde-2m', 48)).toBe(above48 | 0x1f_e000n);
    expect(fsReservedMask('pte', 48)).toBe(above48);
    expect(fsReservedMask('pte', 48, { xd: false })).toBe(above48 | bit(63));
  });

  it('second stage, HAW 48: [51:48], bit 11 and 62 in tables; [29:12] / [20:12] in 1 GiB / 2 MiB pages', () => {
    const tbl = above48 | bit(11) | bit(62);
    expect(ssReservedMask('pml5e', 48)).toBe(tbl | bit(7));
    expect(ssReservedMask('pml4e', 48)).toBe(tbl | bit(7));
    expect(ssReservedMask('pdpte', 48)).toBe(tbl);
    expect(ssReservedMask('pde', 48)).toBe(tbl);
    expect(ssReservedMask('pdpte-1g', 48)).toBe(above48 | bit(62) | 0x3fff_f000n);
    expect(ssReservedMask('pde-2m', 48)).toBe(above48 | bit(62) | 0x1f_f000n);
    expect(ssReservedMask('pte', 48)).toBe(above48 | bit(62));
    expect(ssReservedMask('pte', 48, { tm: true })).toBe(above48);
    expect(ssReservedMask('pte', 48, { snp: false })).toBe(above48 | bit(11) | bit(62));
    // bits 63 and [61:52] are ignored at every level
    for (const k of KINDS)
      expect(ssReservedMask(k, 39, { snp: false }) & (bit(63) | bitRange(61, 52)), k).toBe(0n);
  });

  it('the address-width bound: [51:HAW], nothing at 52', () => {
    for (const k of KINDS) {
      expect(fsReservedMask(k, 52) & bitRange(51, 30), k).toBe(0n);
      expect(fsReservedMask(k, 39) & bitRange(51, 30), k).toBe(bitRange(51, 39));
      expect(ssReservedMask(k, 46) & bitRange(51, 30), k).toBe(bitRange(51, 46));
    }
    expect(() => fsReservedMask('pte', 53)).toThrow();
    expect(() => ssReservedMask('pte', 31)).toThrow();
  });

  it('per kind, the layouts are those of the level; reserved bits are unnamed except PS / SNP / TM / ADDR', () => {
    for (const k of KINDS) {
      const { fs, ss } = ENTRY_KINDS[k];
      const fsNamed = fsReservedMask(k, 40, { xd: false }) & used(fs);
      const fsAllowed = bitRange(51, 40) | bit(63) | (fs === X86_FS_TABLE ? bit(7) : 0n);
      expect(fsNamed & ~fsAllowed, `fs ${k}`).toBe(0n);
      const ssNamed = ssReservedMask(k, 40, { snp: false }) & used(ss);
      const ssAllowed = bitRange(51, 40) | bit(11) | bit(62) | (ss === VTD_SS_TABLE ? bit(7) : 0n);
      expect(ssNamed & ~ssAllowed, `ss ${k}`).toBe(0n);
    }
    expect(ENTRY_KINDS['pde-2m'].fs).toBe(X86_FS_PDE_2M);
    expect(ENTRY_KINDS['pdpte-1g'].ss).toBe(VTD_SS_1G);
    expect(ENTRY_KINDS.pte.fs).toBe(X86_FS_PTE);
    expect(ENTRY_KINDS.pml4e.ss).toBe(VTD_SS_TABLE);
  });

  it('cross-check (QEMU, reference table): 2 MiB [20:13] and 1 GiB [29:13] first-stage large-page masks', () => {
    expect(ENTRY_KINDS['pde-2m'].fsFixed).toBe(0x1fe000n);
    expect(ENTRY_KINDS['pdpte-1g'].fsFixed).toBe(0x3fffe000n);
  });
});

describe('encode/decode round trip over every field', () => {
  const valueArb = (l: Layout): fc.Arbitrary<Record<string, bigint>> =>
    fc.record(
      Object.fromEntries(
        l.fields.map((f) => [
          f.name,
          fc
            .bigInt({ min: 0n, max: (1n << BigInt(fieldWidth(f))) - 1n })
            .map((raw) => (f.kind === 'addr' ? raw << BigInt(f.lo) : raw)),
        ]),
      ),
    );

  it.each(X86_64_LAYOUTS.map((l) => [l.name, l] as const))('%s', (_, l) => {
    fc.assert(
      fc.property(valueArb(l), (v) => {
        const q = encode(l, v);
        expect(decode(l, q)).toEqual(v);
        expect(q[0]! & reservedMasks(l)[0]!).toBe(0n);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: U64 }), (raw) => {
        // decode then encode keeps exactly the named bits
        expect(encode(l, decode(l, [raw]))[0]).toBe(raw & used(l));
      }),
      { numRuns: 200 },
    );
  });

  it('fields of each layout do not overlap', () => {
    for (const l of X86_64_LAYOUTS) {
      let seen = 0n;
      for (const f of l.fields) {
        const m = bitRange(f.hi, f.lo);
        expect(seen & m, `${l.name}.${f.name}`).toBe(0n);
        seen |= m;
      }
    }
  });
});
