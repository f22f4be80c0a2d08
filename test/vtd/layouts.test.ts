// VT-d in-memory structures (src/vtd/layouts.ts, inv-desc.ts, fault-reasons.ts) against the
// specification: positions below are stated from the Intel VT-d specification rev 4.x/5.0 (§9.1-§9.6,
// §6.5.2, §7.5.1) as absolute bit numbers, independently of the tables, so a moved field fails.
import { describe, expect, it } from 'vitest';
import { decode, encode, fieldOf, type Layout } from '../../src/layout/layout.ts';
import { VTD_LAYOUTS } from '../../src/vtd/all-layouts.ts';
import { FAULT_BY_CODE, FAULT_REASONS, FR } from '../../src/vtd/fault-reasons.ts';
import {
  INV_BY_TYPE,
  INV_DESCS,
  INV_TYPE,
  PAGE_REQUEST_DESC,
  descType,
  invDescOf,
} from '../../src/vtd/inv-desc.ts';
import {
  CONTEXT_ENTRY,
  PASID_DIR_ENTRY,
  PASID_ENTRY,
  ROOT_ENTRY,
  SM_CONTEXT_ENTRY,
  SM_ROOT_ENTRY,
} from '../../src/vtd/layouts.ts';

/** [absolute hi, absolute lo] of a field (64 * qword + bit), as the spec draws it. */
const abs = (l: Layout, name: string): [number, number] => {
  const f = fieldOf(l, name);
  return [64 * f.qw + f.hi, 64 * f.qw + f.lo];
};

const expectBits = (l: Layout, want: Readonly<Record<string, readonly [number, number]>>): void => {
  for (const [name, bits] of Object.entries(want)) expect(abs(l, name), `${l.name}.${name}`).toEqual(bits);
};

describe('root entries (§9.1, §9.2)', () => {
  it('legacy root entry: P 0, CTP [63:12], upper 64 bits reserved', () => {
    expect(ROOT_ENTRY.bytes).toBe(16);
    expectBits(ROOT_ENTRY, { P: [0, 0], CTP: [63, 12] });
    expect(ROOT_ENTRY.fields.map((f) => f.name)).toEqual(['P', 'CTP']);
  });
  it('scalable-mode root entry: LP 0, LCTP [63:12], UP 64, UCTP [127:76]', () => {
    expectBits(SM_ROOT_ENTRY, { LP: [0, 0], LCTP: [63, 12], UP: [64, 64], UCTP: [127, 76] });
  });
});

describe('context entries (§9.3, §9.4)', () => {
  it('legacy: P 0, FPD 1, TT [3:2], SSPTPTR [63:12], AW [66:64], DID [87:72]', () => {
    expect(CONTEXT_ENTRY.bytes).toBe(16);
    expectBits(CONTEXT_ENTRY, {
      P: [0, 0],
      FPD: [1, 1],
      TT: [3, 2],
      SSPTPTR: [63, 12],
      AW: [66, 64],
      DID: [87, 72],
    });
    expect(fieldOf(CONTEXT_ENTRY, 'TT').values).toEqual({ UNTRANSLATED: 0, DEVICE_TLB: 1, PASS_THROUGH: 2 });
    expect(fieldOf(CONTEXT_ENTRY, 'AW').values).toMatchObject({
      AGAW39_3LVL: 1,
      AGAW48_4LVL: 2,
      AGAW57_5LVL: 3,
    });
  });
  it('scalable: 256-bit; P, FPD, DTE, PASIDE, PRE, PDTS [11:9], PASIDDIRPTR [63:12], RID_PASID [83:64], RID_PRIV 84', () => {
    expect(SM_CONTEXT_ENTRY.bytes).toBe(32);
    expectBits(SM_CONTEXT_ENTRY, {
      P: [0, 0],
      FPD: [1, 1],
      DTE: [2, 2],
      PASIDE: [3, 3],
      PRE: [4, 4],
      PDTS: [11, 9],
      PASIDDIRPTR: [63, 12],
      RID_PASID: [83, 64],
      RID_PRIV: [84, 84],
    });
  });
});

describe('PASID structures (§9.5, §9.6)', () => {
  it('directory entry: P 0, FPD 1, SMPTBLPTR [63:12]', () => {
    expect(PASID_DIR_ENTRY.bytes).toBe(8);
    expectBits(PASID_DIR_ENTRY, { P: [0, 0], FPD: [1, 1], SMPTBLPTR: [63, 12] });
  });
  it('PASID table entry: 512-bit, positions as the spec draws them', () => {
    expect(PASID_ENTRY.bytes).toBe(64);
    expectBits(PASID_ENTRY, {
      P: [0, 0],
      FPD: [1, 1],
      AW: [4, 2],
      SSEE: [5, 5],
      PGTT: [8, 6],
      SSADE: [9, 9],
      SSPTPTR: [63, 12],
      DID: [79, 64],
      PWSNP: [87, 87],
      PGSNP: [88, 88],
      CD: [89, 89],
      EMTE: [90, 90],
      EMT: [93, 91],
      PWT: [94, 94],
      PCD: [95, 95],
      PAT: [127, 96],
      SRE: [128, 128],
      ERE: [129, 129],
      FSPM: [131, 130],
      WPE: [132, 132],
      EAFE: [135, 135],
      FSPTPTR: [191, 140],
    });
    expect(fieldOf(PASID_ENTRY, 'PGTT').values).toEqual({ FS: 1, SS: 2, NESTED: 3, PT: 4 });
    expect(PASID_ENTRY.fields.every((f) => f.qw <= 2)).toBe(true);
  });
  it('PGTT = NESTED with DID 0x1234 encodes to q0 = 0xc0 | ptr, q1 = 0x1234', () => {
    const q = encode(PASID_ENTRY, {
      P: 1,
      PGTT: 3,
      DID: 0x1234,
      SSPTPTR: 0x1_2345_6000n,
      FSPTPTR: 0xabc000n,
    });
    expect(q[0]).toBe(0x1_2345_6000n | 0xc0n | 1n);
    expect(q[1]).toBe(0x1234n);
    expect(q[2]).toBe(0xabc000n);
    expect(q.slice(3)).toEqual([0n, 0n, 0n, 0n, 0n]);
  });
});

describe('every layout', () => {
  it('every field round-trips alone through encode/decode (all ones, lowest bit)', () => {
    for (const l of VTD_LAYOUTS)
      for (const f of l.fields) {
        const width = BigInt(f.hi - f.lo + 1);
        for (const raw of [(1n << width) - 1n, 1n]) {
          const v = f.kind === 'addr' ? raw << BigInt(f.lo) : raw;
          const d = decode(l, encode(l, { [f.name]: v }));
          for (const g of l.fields) expect(d[g.name], `${l.name}.${g.name}`).toBe(g === f ? v : 0n);
        }
      }
  });
  it('names are unique and carry a VT-d section', () => {
    expect(new Set(VTD_LAYOUTS.map((l) => l.name)).size).toBe(VTD_LAYOUTS.length);
    for (const l of VTD_LAYOUTS) for (const f of l.fields) expect(f.spec).toMatch(/^VT-d §\d/);
  });
});

describe('invalidation descriptors (§6.5.2)', () => {
  it('type encodings', () => {
    expect(INV_TYPE).toEqual({
      CONTEXT_CACHE: 1,
      IOTLB: 2,
      DEVICE_TLB: 3,
      IEC: 4,
      INV_WAIT: 5,
      PASID_IOTLB: 6,
      PASID_CACHE: 7,
      PASID_DEVICE_TLB: 8,
      PAGE_GROUP_RESPONSE: 9,
    });
  });
  it('type is bits [3:0] plus bits [11:9] as Type[6:4]', () => {
    for (const d of INV_DESCS) {
      expectBits(d.layout, { Type: [3, 0], TypeHi: [11, 9] });
      expect(d.layout.name).toBe(`vtd-inv-${d.name.toLowerCase().replace(/_/g, '-')}`);
    }
    expect(descType(0x2n)).toBe(2);
    expect(descType(0x2n | (1n << 9n))).toBe(0x12);
    expect(descType(0xfffn)).toBe(0x7f);
  });
  it('picks the layout by type; reserved types give undefined', () => {
    expect(INV_BY_TYPE).toHaveLength(128);
    expect(INV_BY_TYPE.filter(Boolean)).toHaveLength(INV_DESCS.length);
    for (const d of INV_DESCS) {
      const q = encode(d.layout, { Type: d.type });
      expect(invDescOf(q[0]! | 0xffff_ffff_0000_0000n)).toBe(d);
    }
    for (const t of [0, 0xa, 0xb, 0xf]) expect(invDescOf(BigInt(t))).toBeUndefined();
    expect(invDescOf(0x2n | (1n << 9n))).toBeUndefined();
  });
  it('field positions', () => {
    const by = (n: keyof typeof INV_TYPE) => INV_BY_TYPE[INV_TYPE[n]]!.layout;
    expectBits(by('CONTEXT_CACHE'), { G: [5, 4], DID: [31, 16], SID: [47, 32], FM: [49, 48] });
    expectBits(by('IOTLB'), {
      G: [5, 4],
      DW: [6, 6],
      DR: [7, 7],
      DID: [31, 16],
      AM: [69, 64],
      IH: [70, 70],
      ADDR: [127, 76],
    });
    expectBits(by('DEVICE_TLB'), {
      PFSID_3_0: [15, 12],
      MIP: [20, 16],
      SID: [47, 32],
      PFSID_15_4: [63, 52],
      S: [64, 64],
      ADDR: [127, 76],
    });
    expectBits(by('IEC'), { G: [4, 4], IM: [31, 27], IIDX: [47, 32] });
    expectBits(by('INV_WAIT'), {
      IF: [4, 4],
      SW: [5, 5],
      FN: [6, 6],
      PD: [7, 7],
      STATUS_DATA: [63, 32],
      STATUS_ADDR: [127, 66],
    });
    expectBits(by('PASID_IOTLB'), {
      G: [5, 4],
      DID: [31, 16],
      PASID: [51, 32],
      AM: [69, 64],
      IH: [70, 70],
      ADDR: [127, 76],
    });
    expectBits(by('PASID_CACHE'), { G: [5, 4], DID: [31, 16], PASID: [51, 32] });
    expectBits(by('PASID_DEVICE_TLB'), {
      MIP: [8, 4],
      PFSID_3_0: [15, 12],
      SID: [31, 16],
      PASID: [51, 32],
      PFSID_15_4: [63, 52],
      G: [64, 64],
      S: [75, 75],
      ADDR: [127, 76],
    });
    expectBits(by('PAGE_GROUP_RESPONSE'), {
      PP: [4, 4],
      PDP: [5, 5],
      RC: [15, 12],
      RID: [31, 16],
      PASID: [51, 32],
      LPIG: [66, 66],
      PRGI: [75, 67],
    });
    expect(fieldOf(by('CONTEXT_CACHE'), 'G').values).toEqual({ GLOBAL: 1, DOMAIN: 2, DEVICE: 3 });
    expect(fieldOf(by('IOTLB'), 'G').values).toEqual({ GLOBAL: 1, DOMAIN: 2, PAGE: 3 });
    expect(fieldOf(by('PASID_CACHE'), 'G').values).toEqual({ DOMAIN: 0, PASID: 1, GLOBAL: 3 });
  });
  it('page request descriptor: 256-bit, PASID [51:32], RID [31:16], PRGI [75:67], ADDR [127:76]', () => {
    expect(PAGE_REQUEST_DESC.bytes).toBe(32);
    expectBits(PAGE_REQUEST_DESC, {
      Type: [7, 0],
      PP: [8, 8],
      PDP: [9, 9],
      RID: [31, 16],
      PASID: [51, 32],
      ER: [52, 52],
      PMR: [53, 53],
      RDR: [64, 64],
      WRR: [65, 65],
      LPIG: [66, 66],
      PRGI: [75, 67],
      ADDR: [127, 76],
    });
  });
});

describe('fault reasons', () => {
  it('codes are unique, and the table lookups agree', () => {
    expect(new Set(FAULT_REASONS.map((r) => r.code)).size).toBe(FAULT_REASONS.length);
    expect(new Set(FAULT_REASONS.map((r) => r.name)).size).toBe(FAULT_REASONS.length);
    for (const r of FAULT_REASONS) {
      expect(FAULT_BY_CODE[r.code]).toBe(r);
      expect(FR[r.name]).toBe(r.code);
      expect(r.spec).toMatch(/^VT-d §\d/);
    }
  });
  it('legacy 01h-0Dh, interrupt 20h-26h, scalable 30h-90h as the spec lists them', () => {
    const codes = (m: string) => FAULT_REASONS.filter((r) => r.mode === m).map((r) => r.code);
    expect(codes('legacy')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(codes('interrupt')).toEqual([0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26]);
    expect(codes('scalable')).toEqual([
      0x30, 0x31, 0x32, 0x38, 0x39, 0x3a, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x50, 0x51,
      0x52, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
      0x7a, 0x7b, 0x7c, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x90,
    ]);
    expect(FR.SM_PE_P).toBe(0x59);
    expect(FR.SM_CTX_PDTS).toBe(0x46);
    expect(FR.CONTEXT_ENTRY_TT).toBe(0x0d);
  });
});
