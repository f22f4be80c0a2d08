// VT-d register file (src/vtd/regs.ts) against the specification: positions below are stated from
// the Intel VT-d specification rev 4.x/5.0 §11.4, independently of the table, so a moved field fails.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderVtdRegisters } from '../../scripts/vtd-spec-notes.ts';
import { accessMask, fieldWidth, writableMask, type Access } from '../../src/layout/layout.ts';
import {
  FRCD,
  IOTLB,
  IRO_REGS,
  IVA,
  REGS,
  REG_BY_NAME,
  TTM,
  WRITE_MASK,
  frcdCount,
  frcdOffset,
  iotlbOffset,
  ivaOffset,
  reg,
  regBits,
  regField,
  regOffset,
} from '../../src/vtd/regs.ts';

describe('VT-d register map (§11.1)', () => {
  it('offsets are unique, aligned to the size, non-overlapping and below 0x100', () => {
    const sorted = [...REGS].sort((a, b) => a.offset - b.offset);
    for (let i = 0; i < sorted.length; i++) {
      const r = sorted[i]!;
      expect(r.offset % r.size, r.name).toBe(0);
      expect(r.offset + r.size, r.name).toBeLessThanOrEqual(0x100);
      if (i > 0) {
        const p = sorted[i - 1]!;
        expect(p.offset + p.size, `${p.name} / ${r.name}`).toBeLessThanOrEqual(r.offset);
      }
    }
    expect(new Set(REGS.map((r) => r.name)).size).toBe(REGS.length);
  });

  it.each([
    ['VER', 0x000, 4],
    ['CAP', 0x008, 8],
    ['ECAP', 0x010, 8],
    ['GCMD', 0x018, 4],
    ['GSTS', 0x01c, 4],
    ['RTADDR', 0x020, 8],
    ['CCMD', 0x028, 8],
    ['FSTS', 0x034, 4],
    ['FECTL', 0x038, 4],
    ['FEDATA', 0x03c, 4],
    ['FEADDR', 0x040, 4],
    ['FEUADDR', 0x044, 4],
    ['AFLOG', 0x058, 8],
    ['PMEN', 0x064, 4],
    ['PLMBASE', 0x068, 4],
    ['PLMLIMIT', 0x06c, 4],
    ['PHMBASE', 0x070, 8],
    ['PHMLIMIT', 0x078, 8],
    ['IQH', 0x080, 8],
    ['IQT', 0x088, 8],
    ['IQA', 0x090, 8],
    ['ICS', 0x09c, 4],
    ['IECTL', 0x0a0, 4],
    ['IEDATA', 0x0a4, 4],
    ['IEADDR', 0x0a8, 4],
    ['IEUADDR', 0x0ac, 4],
    ['IQERCD', 0x0b0, 8],
    ['IRTA', 0x0b8, 8],
    ['PQH', 0x0c0, 8],
    ['PQT', 0x0c8, 8],
    ['PQA', 0x0d0, 8],
    ['PRS', 0x0dc, 4],
    ['PECTL', 0x0e0, 4],
    ['PEDATA', 0x0e4, 4],
    ['PEADDR', 0x0e8, 4],
    ['PEUADDR', 0x0ec, 4],
  ] as const)('%s at %i, %i bytes', (name, off, size) => {
    expect(regOffset(name)).toBe(off);
    expect(reg(name).size).toBe(size);
  });

  it('aliases and unknown names', () => {
    expect(REG_BY_NAME.get('IQER')).toBe(reg('IQERCD'));
    expect(() => regOffset('NOPE')).toThrow();
    expect(() => regOffset('IOTLB')).toThrow(/fixed-offset/);
  });
});

describe('fields', () => {
  it('fit their register and do not overlap (also for IVA/IOTLB and FRCD)', () => {
    for (const l of [...REGS, ...IRO_REGS, FRCD]) {
      const used = new Map<number, bigint>();
      for (const fl of l.fields) {
        expect(fl.hi, `${l.name}.${fl.name}`).toBeLessThan(Math.min(64, l.bytes * 8));
        expect((fl.qw + 1) * 8).toBeLessThanOrEqual(Math.max(8, l.bytes));
        const m = ((1n << BigInt(fieldWidth(fl))) - 1n) << BigInt(fl.lo);
        expect((used.get(fl.qw) ?? 0n) & m, `${l.name}.${fl.name}`).toBe(0n);
        used.set(fl.qw, (used.get(fl.qw) ?? 0n) | m);
      }
    }
  });

  // [register, field, hi, lo, access] from the VT-d specification §11.4.
  const KEY: readonly (readonly [string, string, number, number, Access])[] = [
    ['VER', 'MAX', 7, 4, 'RO'],
    ['VER', 'MIN', 3, 0, 'RO'],
    ['CAP', 'ND', 2, 0, 'RO'],
    ['CAP', 'RWBF', 4, 4, 'RO'],
    ['CAP', 'CM', 7, 7, 'RO'],
    ['CAP', 'SAGAW', 12, 8, 'RO'],
    ['CAP', 'MGAW', 21, 16, 'RO'],
    ['CAP', 'ZLR', 22, 22, 'RO'],
    ['CAP', 'FRO', 33, 24, 'RO'],
    ['CAP', 'SSLPS', 37, 34, 'RO'],
    ['CAP', 'PSI', 39, 39, 'RO'],
    ['CAP', 'NFR', 47, 40, 'RO'],
    ['CAP', 'MAMV', 53, 48, 'RO'],
    ['CAP', 'DWD', 54, 54, 'RO'],
    ['CAP', 'DRD', 55, 55, 'RO'],
    ['CAP', 'FS1GP', 56, 56, 'RO'],
    ['CAP', 'PI', 59, 59, 'RO'],
    ['CAP', 'FS5LP', 60, 60, 'RO'],
    ['CAP', 'ESRTPS', 63, 63, 'RO'],
    ['ECAP', 'C', 0, 0, 'RO'],
    ['ECAP', 'QI', 1, 1, 'RO'],
    ['ECAP', 'DT', 2, 2, 'RO'],
    ['ECAP', 'IR', 3, 3, 'RO'],
    ['ECAP', 'EIM', 4, 4, 'RO'],
    ['ECAP', 'PT', 6, 6, 'RO'],
    ['ECAP', 'SC', 7, 7, 'RO'],
    ['ECAP', 'IRO', 17, 8, 'RO'],
    ['ECAP', 'MHMV', 23, 20, 'RO'],
    ['ECAP', 'NEST', 26, 26, 'RO'],
    ['ECAP', 'PRS', 29, 29, 'RO'],
    ['ECAP', 'PSS', 39, 35, 'RO'],
    ['ECAP', 'PASID', 40, 40, 'RO'],
    ['ECAP', 'DIT', 41, 41, 'RO'],
    ['ECAP', 'SMTS', 43, 43, 'RO'],
    ['ECAP', 'SSTS', 46, 46, 'RO'],
    ['ECAP', 'FSTS', 47, 47, 'RO'],
    ['ECAP', 'RPS', 49, 49, 'RO'],
    ['ECAP', 'ADMS', 52, 52, 'RO'],
    ['ECAP', 'RPRIVS', 53, 53, 'RO'],
    ['GCMD', 'TE', 31, 31, 'WO'],
    ['GCMD', 'SRTP', 30, 30, 'WO'],
    ['GCMD', 'QIE', 26, 26, 'WO'],
    ['GCMD', 'IRE', 25, 25, 'WO'],
    ['GCMD', 'SIRTP', 24, 24, 'WO'],
    ['GCMD', 'CFI', 23, 23, 'WO'],
    ['GSTS', 'TES', 31, 31, 'RO'],
    ['GSTS', 'RTPS', 30, 30, 'RO'],
    ['GSTS', 'QIES', 26, 26, 'RO'],
    ['GSTS', 'IRTPS', 24, 24, 'RO'],
    ['RTADDR', 'TTM', 11, 10, 'RW'],
    ['RTADDR', 'RTA', 63, 12, 'RW'],
    ['CCMD', 'ICC', 63, 63, 'RW'],
    ['CCMD', 'CIRG', 62, 61, 'RW'],
    ['CCMD', 'CAIG', 60, 59, 'RO'],
    ['CCMD', 'FM', 33, 32, 'WO'],
    ['CCMD', 'SID', 31, 16, 'WO'],
    ['CCMD', 'DID', 15, 0, 'RW'],
    ['FSTS', 'PFO', 0, 0, 'RW1C'],
    ['FSTS', 'PPF', 1, 1, 'RO'],
    ['FSTS', 'IQE', 4, 4, 'RW1C'],
    ['FSTS', 'ICE', 5, 5, 'RW1C'],
    ['FSTS', 'ITE', 6, 6, 'RW1C'],
    ['FSTS', 'FRI', 15, 8, 'RO'],
    ['FECTL', 'IM', 31, 31, 'RW'],
    ['FECTL', 'IP', 30, 30, 'RO'],
    ['FEADDR', 'MA', 31, 2, 'RW'],
    ['PMEN', 'EPM', 31, 31, 'RW'],
    ['PMEN', 'PRS', 0, 0, 'RO'],
    ['IQH', 'QH', 18, 4, 'RO'],
    ['IQT', 'QT', 18, 4, 'RW'],
    ['IQA', 'IQA', 63, 12, 'RW'],
    ['IQA', 'DW', 11, 11, 'RW'],
    ['IQA', 'QS', 2, 0, 'RW'],
    ['ICS', 'IWC', 0, 0, 'RW1C'],
    ['IQERCD', 'IQEI', 3, 0, 'RO'],
    ['IQERCD', 'ITESID', 47, 32, 'RO'],
    ['IQERCD', 'ICESID', 63, 48, 'RO'],
    ['IRTA', 'IRTA', 63, 12, 'RW'],
    ['IRTA', 'EIME', 11, 11, 'RW'],
    ['IRTA', 'S', 3, 0, 'RW'],
    ['PQH', 'PQH', 18, 5, 'RW'],
    ['PQT', 'PQT', 18, 5, 'RW'],
    ['PQA', 'PQS', 2, 0, 'RW'],
    ['PRS', 'PPR', 0, 0, 'RW1C'],
    ['PRS', 'PRO', 1, 1, 'RW1C'],
    ['PECTL', 'IM', 31, 31, 'RW'],
    ['PECTL', 'IP', 30, 30, 'RO'],
    ['IVA', 'ADDR', 63, 12, 'WO'],
    ['IVA', 'IH', 6, 6, 'WO'],
    ['IVA', 'AM', 5, 0, 'WO'],
    ['IOTLB', 'IVT', 63, 63, 'RW'],
    ['IOTLB', 'IIRG', 61, 60, 'RW'],
    ['IOTLB', 'IAIG', 58, 57, 'RO'],
    ['IOTLB', 'DR', 49, 49, 'RW'],
    ['IOTLB', 'DW', 48, 48, 'RW'],
    ['IOTLB', 'DID', 47, 32, 'RW'],
  ];
  it.each(KEY)('%s.%s [%i:%i] %s', (r, name, hi, lo, access) => {
    const fl = regField(r, name);
    expect([fl.hi, fl.lo, fl.access]).toEqual([hi, lo, access]);
    expect(fl.spec).toMatch(/^VT-d §11\.4\./);
  });

  it('every register cites a VT-d §11.4 section', () => {
    for (const r of [...REGS, ...IRO_REGS]) expect(r.spec, r.name).toMatch(/^VT-d §11\.4\.\d+(\.\d+)?$/);
  });

  it('address fields', () => {
    for (const [r, name] of [
      ['RTADDR', 'RTA'],
      ['IQA', 'IQA'],
      ['IRTA', 'IRTA'],
      ['PQA', 'PQA'],
      ['IVA', 'ADDR'],
    ] as const)
      expect(regField(r, name).kind, `${r}.${name}`).toBe('addr');
  });

  it('RTADDR.TTM encodings', () => {
    expect(TTM).toEqual({ legacy: 0, scalable: 1, 'abort-DMA': 3 });
    expect(regField('RTADDR', 'TTM').values).toEqual(TTM);
  });

  it('GCMD and GSTS bits share positions', () => {
    const pairs = [
      ['TE', 'TES'],
      ['SRTP', 'RTPS'],
      ['SFL', 'FLS'],
      ['EAFL', 'AFLS'],
      ['WBF', 'WBFS'],
      ['QIE', 'QIES'],
      ['IRE', 'IRES'],
      ['SIRTP', 'IRTPS'],
      ['CFI', 'CFIS'],
    ];
    for (const [c, s] of pairs) expect(regBits('GCMD', c!)).toBe(regBits('GSTS', s!));
    expect(regBits('GCMD', 'TE')).toBe(0x8000_0000);
    expect(regBits('GCMD', 'SRTP')).toBe(0x4000_0000);
  });
});

describe('fault-recording register (§11.4.9.6)', () => {
  // spec bit -> qword 1 bit (spec bit - 64)
  it.each([
    ['FI', 0, 63, 12, 'RO'],
    ['SID', 1, 79 - 64, 64 - 64, 'RO'],
    ['PRIV', 1, 93 - 64, 93 - 64, 'RO'],
    ['EXE', 1, 94 - 64, 94 - 64, 'RO'],
    ['PP', 1, 95 - 64, 95 - 64, 'RO'],
    ['FR', 1, 103 - 64, 96 - 64, 'RO'],
    ['PV', 1, 123 - 64, 104 - 64, 'RO'],
    ['AT', 1, 125 - 64, 124 - 64, 'RO'],
    ['T', 1, 126 - 64, 126 - 64, 'RO'],
    ['F', 1, 127 - 64, 127 - 64, 'RW1C'],
  ] as const)('FRCD.%s qword %i [%i:%i] %s', (name, qw, hi, lo, access) => {
    const fl = FRCD.fields.find((x) => x.name === name)!;
    expect([fl.qw, fl.hi, fl.lo, fl.access]).toEqual([qw, hi, lo, access]);
  });

  it('is 16 bytes; only F is writable', () => {
    expect(FRCD.bytes).toBe(16);
    expect(writableMask(FRCD)).toBe(1n << 63n); // bit 63 of a qword: F sits in qword 1
    expect(FRCD.fields.filter((x) => x.access !== 'RO').map((x) => x.name)).toEqual(['F']);
  });
});

describe('CAP/ECAP-dependent offsets', () => {
  const cap = (fro: number, nfr: number) => (BigInt(fro) << 24n) | (BigInt(nfr) << 40n);
  it('IVA at ECAP.IRO * 16, IOTLB 8 above', () => {
    const ecap = 0x0fn << 8n; // QEMU's IRO: 0xf0
    expect(ivaOffset(ecap)).toBe(0xf0);
    expect(iotlbOffset(ecap)).toBe(0xf8);
    expect(iotlbOffset((0x3ffn << 8n) | 0xffn)).toBe(0x3ff * 16 + 8);
    expect(IVA.offset).toBe(0);
    expect(IOTLB.offset).toBe(8);
  });
  it('FRCD n at CAP.FRO * 16 + 16 n, n <= CAP.NFR', () => {
    expect(frcdOffset(cap(0x22, 0), 0)).toBe(0x220); // QEMU: one record at 0x220
    expect(frcdCount(cap(0x22, 0))).toBe(1);
    expect(() => frcdOffset(cap(0x22, 0), 1)).toThrow(RangeError);
    expect(frcdCount(cap(0x40, 7))).toBe(8);
    expect(frcdOffset(cap(0x40, 7), 7)).toBe(0x400 + 7 * 16);
    expect(frcdOffset(cap(0x3ff, 255) | 0xffff_ffn, 255)).toBe(0x3ff0 + 255 * 16);
  });
});

describe('writable masks', () => {
  const w = (name: string) => {
    const r = reg(name);
    const lo = BigInt(WRITE_MASK[r.offset >> 2]!);
    return r.size === 8 ? lo | (BigInt(WRITE_MASK[(r.offset >> 2) + 1]!) << 32n) : lo;
  };
  it('CAP, ECAP, GSTS, VER, IQH, IQERCD are read-only', () => {
    for (const r of ['CAP', 'ECAP', 'GSTS', 'VER', 'IQH', 'IQERCD']) expect(w(r), r).toBe(0n);
  });
  it('derive from the access kinds', () => {
    expect(w('GCMD')).toBe(0xff80_0000n);
    expect(w('FSTS')).toBe(0b1111_1101n);
    expect(accessMask(reg('FSTS'), 'RW1C')).toBe(0b1111_1101n);
    expect(w('FECTL')).toBe(0x8000_0000n);
    expect(w('RTADDR')).toBe(0xffff_ffff_ffff_fc00n);
    expect(w('CCMD')).toBe(0xe000_0003_ffff_ffffn);
    expect(w('IQA')).toBe(0xffff_ffff_ffff_f807n);
    expect(w('IQT')).toBe(0x7fff0n);
    expect(w('ICS')).toBe(1n);
    expect(w('PRS')).toBe(3n);
    expect(writableMask(IOTLB)).toBe(0xb003_ffff_0000_0000n);
    expect(writableMask(IVA)).toBe(0xffff_ffff_ffff_f07fn);
  });
  it('no register in the fixed table is left out of the mask', () => {
    for (const r of REGS) expect(w(r.name)).toBe(writableMask(r));
  });
});

describe('spec-notes/vtd/registers.md', () => {
  it('is what scripts/gen-spec-notes.ts renders from the table', () => {
    const onDisk = readFileSync(new URL('../../spec-notes/vtd/registers.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderVtdRegisters());
  });
});
