// Configuration structures that straddle a 4 GiB boundary. The model computes table addresses as
// 32-bit halves; a table not aligned to its size can carry from the low half into the high one, and
// every such case must still find the right entry: a linear stream table, an L1 stream table, a
// linear CD table, an L1CD table and a 64 KiB CD leaf, each placed across 0x1_0000_0000, with entries
// on both sides. Each result is also checked against the reference model.
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/layout/layout.ts';
import { refTranslate } from '../../src/ref/smmuv3-ref.ts';
import { CD, L1CD, L1STD, STE } from '../../src/smmuv3/layouts.ts';
import { regValue } from '../../src/smmuv3/regs.ts';
import type { PageTable } from '../../src/driver/smmuv3-driver.ts';
import { cdFields, rig, s1Table, ST_OK, tx, type Rig } from './harness.ts';

const FOUR_G = 0x1_0000_0000;
/** RAM across the boundary: [4 GiB - 1 MiB, 4 GiB + 1 MiB). */
const HIGH_RAM = FOUR_G - 0x10_0000;
const IOVA = 0x7000n;
const PA = 0x4090_0000;

function machine(): { r: Rig; pt: PageTable } {
  const r = rig({}, {}, 16);
  r.mem.addRegion(HIGH_RAM, 0x20_0000, 'across-4G');
  const pt = s1Table(r);
  pt.map(IOVA, BigInt(PA), 0x1000n);
  return { r, pt };
}

/** Points the SMMU at a stream table at `base` (format `fmt`, 2^log2size StreamIDs). */
function streamTable(r: Rig, base: number, fmt: 0 | 1, log2size: number): void {
  const cr0 = r.drv.r32('CR0');
  r.drv.w32('CR0', 0);
  r.drv.w32('STRTAB_BASE_CFG', regValue('STRTAB_BASE_CFG', { FMT: fmt, SPLIT: 6, LOG2SIZE: log2size }));
  r.drv.w64('STRTAB_BASE', BigInt(base));
  r.drv.w32('CR0', cr0);
}

function writeCdAt(r: Rig, at: number, pt: PageTable, asid: number): void {
  r.mem.writeQwords(at, encode(CD, cdFields(pt, asid)));
}

function expectTranslates(r: Rig, sid: number, ssid: number): void {
  const x = tx(r, sid, ssid, IOVA);
  expect(x.status, `sid ${sid} ssid ${ssid}: event 0x${x.event.toString(16)}`).toBe(ST_OK);
  expect(x.pa).toBe(PA);
  const ref = refTranslate(r.smmu, sid, ssid, IOVA, 0);
  expect(ref.kind === 'ok' && ref.pa).toBe(BigInt(PA));
}

describe('configuration tables across a 4 GiB boundary', () => {
  it('linear stream table: STEs below and above 4 GiB', () => {
    const { r, pt } = machine();
    const base = FOUR_G - 0x1000 + 0x40; // 64-byte aligned, not aligned to the table's size
    streamTable(r, base, 0, 8);
    const cdAt = r.alloc.alloc(64, 64);
    writeCdAt(r, cdAt, pt, 1);
    for (const sid of [0, 62, 63, 64, 255]) {
      r.mem.writeQwords(base + sid * 64, encode(STE, { V: 1, Config: 5, S1ContextPtr: BigInt(cdAt) }));
      expectTranslates(r, sid, -1);
    }
    expect(base + 62 * 64).toBeLessThan(FOUR_G);
    expect(base + 63 * 64).toBeGreaterThanOrEqual(FOUR_G);
  });

  it('2-level stream table: L1 descriptors below and above 4 GiB', () => {
    const { r, pt } = machine();
    const base = FOUR_G - 0x40; // L1STD 0-7 below, 8.. above
    streamTable(r, base, 1, 12);
    const cdAt = r.alloc.alloc(64, 64);
    writeCdAt(r, cdAt, pt, 1);
    for (const l1 of [0, 7, 8, 63]) {
      const l2 = r.alloc.alloc(64 * 64, 64 * 64);
      r.mem.writeQwords(base + l1 * 8, encode(L1STD, { Span: 7, L2Ptr: BigInt(l2) }));
      const sid = (l1 << 6) | 5;
      r.mem.writeQwords(l2 + 5 * 64, encode(STE, { V: 1, Config: 5, S1ContextPtr: BigInt(cdAt) }));
      expectTranslates(r, sid, -1);
    }
  });

  it('linear CD table, L1CD table and a 64 KiB CD leaf across 4 GiB', () => {
    const { r, pt } = machine();
    streamTable(r, r.drv.strtab, 0, 8);
    // sid 1: linear CD table (256 CDs) from 4 GiB - 0x1000 + 0x40.
    const lin = FOUR_G - 0x1000 + 0x40;
    r.drv.writeSte(1, { V: 1, Config: 5, S1Fmt: 0, S1CDMax: 8, S1DSS: 1, S1ContextPtr: BigInt(lin) }, false);
    for (const ssid of [1, 62, 63, 255]) {
      writeCdAt(r, lin + ssid * 64, pt, 1);
      expectTranslates(r, 1, ssid);
    }
    // sid 2: 2-level CD table, 4 KiB leaves, L1CD table across 4 GiB (entries 0-7 below, 8.. above).
    const l1 = FOUR_G - 0x40;
    r.drv.writeSte(2, { V: 1, Config: 5, S1Fmt: 1, S1CDMax: 10, S1DSS: 1, S1ContextPtr: BigInt(l1) }, false);
    for (const i of [0, 7, 8, 15]) {
      const leaf = r.alloc.alloc(0x1000, 0x1000);
      r.mem.writeQwords(l1 + i * 8, encode(L1CD, { V: 1, L2Ptr: BigInt(leaf) }));
      const ssid = (i << 6) | 9;
      writeCdAt(r, leaf + 9 * 64, pt, 2);
      expectTranslates(r, 2, ssid);
    }
    // sid 3: 64 KiB leaves; leaf 0 is 4 KiB-aligned only and spans 4 GiB (CDs 0-511 below, 512.. above).
    const l1b = r.alloc.alloc(64, 64);
    const leaf = FOUR_G - 0x8000;
    r.drv.writeSte(3, { V: 1, Config: 5, S1Fmt: 2, S1CDMax: 10, S1DSS: 1, S1ContextPtr: BigInt(l1b) }, false);
    r.mem.writeQwords(l1b, encode(L1CD, { V: 1, L2Ptr: BigInt(leaf) }));
    for (const ssid of [1, 511, 512, 1023]) {
      writeCdAt(r, leaf + ssid * 64, pt, 3);
      expectTranslates(r, 3, ssid);
    }
  });
});
