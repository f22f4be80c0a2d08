// Directed examples for the reference model itself (src/ref/smmuv3-ref.ts), with expectations
// worked out by hand from the specifications, so that the reference is not only checked against
// the fast model. Tables are written as raw descriptor values where the bit layout matters.
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/layout/layout.ts';
import { linuxCd, PageTable } from '../../src/driver/smmuv3-driver.ts';
import { CD } from '../../src/smmuv3/layouts.ts';
import { EVT, EVT_CLASS } from '../../src/smmuv3/events.ts';
import {
  ALL_PERMS,
  PR,
  PW,
  PX,
  REF_U,
  REF_W,
  REF_X,
  refTranslate,
  UR,
  UW,
  UX,
  type RefResult,
} from '../../src/ref/smmuv3-ref.ts';
import { makeMachine, RAM_BASE, type Machine, type MachineOptions } from '../smmuv3/ref-harness.ts';

const ok = (r: RefResult) => {
  if (r.kind !== 'ok')
    throw new Error(
      `expected a translation, got ${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`,
    );
  return r;
};
const fault = (r: RefResult) => {
  if (r.kind !== 'fault') throw new Error(`expected a fault, got ${r.kind}`);
  return r;
};

/** Page-table descriptors, bit by bit (Arm ARM D8.3). */
const TABLE = 0b11n; // valid, table
const PAGE = 0b11n; // valid, page (level 3)
const BLOCK = 0b01n;
const AF = 1n << 10n;
const AP = (ap: number) => BigInt(ap) << 6n; // AP[2:1]
const S2AP = (ap: number) => BigInt(ap) << 6n; // S2AP[1:0]: bit 6 read, bit 7 write
const DBM = 1n << 51n;
const PXN = 1n << 53n;
const UXN = 1n << 54n;
const APTABLE = (v: number) => BigInt(v) << 61n;

interface Env {
  m: Machine;
  w: (pa: number, v: bigint) => void;
  page: () => number;
  tr: (sid: number, va: bigint, acc?: number, ssid?: number) => RefResult;
}

function env(o: MachineOptions = {}): Env {
  const m = makeMachine(o);
  return {
    m,
    w: (pa, v) => m.mem.writeQwords(pa, [v]),
    page: () => m.alloc.alloc(4096),
    tr: (sid, va, acc = 0, ssid = -1) => refTranslate(m.smmu, sid, ssid, va, acc),
  };
}

/** A 4-level 4K stage-1 walk for VA 0x80_4020_1123: indices 1, 1, 1, 1, offset 0x123. */
function fourLevel(e: Env, leaf: bigint, cd: Record<string, bigint | number> = {}) {
  const [t0, t1, t2, t3] = [e.page(), e.page(), e.page(), e.page()];
  e.w(t0 + 8, BigInt(t1) | TABLE);
  e.w(t1 + 8, BigInt(t2) | TABLE);
  e.w(t2 + 8, BigInt(t3) | TABLE);
  e.w(t3 + 8, leaf);
  const cdt = e.m.drv.makeCdTable(0, 0);
  cdt.writeCd(1, 0, linuxCd(t0, 5, cd), false);
  e.m.drv.writeSte(1, { V: 1, Config: 5, ...cdt.steFields() }, false);
  return { t0, t1, t2, t3, va: 0x80_4020_1123n };
}

describe('reference model: global bypass and stream table', () => {
  it('SMMUEN = 0: GBPA.ABORT aborts without an event, else bypass; beyond OAS aborts without an event (§3.4)', () => {
    const e = env();
    e.m.smmu.write32(0x20, e.m.smmu.read32(0x20) & ~1);
    e.m.smmu.write32(0x44, 0x8000_0000 | (1 << 20));
    expect(e.tr(0, 0x1000n).kind).toBe('abort');
    e.m.smmu.write32(0x44, 0x8000_0000);
    expect(ok(e.tr(0, 0x1234_5678n))).toMatchObject({ pa: 0x1234_5678n, perm: ALL_PERMS });
    expect(e.tr(0, 1n << 48n).kind).toBe('abort');
  });

  it('StreamIDs beyond LOG2SIZE, invalid L1STD, invalid STE, abort and bypass STEs', () => {
    const e = env({ streamTable: '2level', split: 6 });
    expect(fault(e.tr(256, 0n)).event).toBe(EVT.C_BAD_STREAMID); // LOG2SIZE = 8
    expect(fault(e.tr(200, 0n)).event).toBe(EVT.C_BAD_STREAMID); // L1STD for 192..255 not written: Span 0
    e.m.drv.writeSte(3, { V: 1, Config: 4 }, false);
    expect(ok(e.tr(3, 0x4000n)).pa).toBe(0x4000n);
    expect(fault(e.tr(4, 0n)).event).toBe(EVT.C_BAD_STE); // same L2 table, STE 4 all zero: V = 0
    e.m.drv.writeSte(5, { V: 1, Config: 0 }, false);
    expect(e.tr(5, 0n).kind).toBe('abort');
    expect(fault(e.tr(3, 0x1000n, 0, 1)).event).toBe(EVT.C_BAD_SUBSTREAMID); // SSID on a bypass stream
  });
});

describe('reference model: stage 1', () => {
  it('4K, four levels: output address and permissions of AP = 01 (EL0 RW => privileged XN)', () => {
    const e = env();
    const { va } = fourLevel(e, 0x4012_3000n | AF | AP(1) | PAGE);
    const r = ok(e.tr(1, va));
    expect(r.pa).toBe(0x4012_3123n);
    expect(r.perm).toBe(PR | PW | UR | UW | UX);
    expect(ok(e.tr(1, va, REF_W | REF_U)).pa).toBe(0x4012_3123n);
    expect(fault(e.tr(1, va, REF_X))).toMatchObject({
      event: EVT.F_PERMISSION,
      s2: 0,
      cls: EVT_CLASS.IN,
      record: true,
      razwi: false,
    });
  });

  it('AP = 11 is read-only; AP = 00 privileged only; PAN denies privileged data access to EL0 pages', () => {
    let e = env();
    let { va } = fourLevel(e, 0x4012_3000n | AF | AP(3) | PAGE);
    expect(ok(e.tr(1, va)).perm).toBe(PR | PX | UR | UX);
    expect(fault(e.tr(1, va, REF_W)).event).toBe(EVT.F_PERMISSION);
    e = env();
    ({ va } = fourLevel(e, 0x4012_3000n | AF | AP(0) | PAGE));
    expect(ok(e.tr(1, va)).perm).toBe(PR | PW | PX | UX);
    expect(fault(e.tr(1, va, REF_U)).event).toBe(EVT.F_PERMISSION);
    e = env();
    ({ va } = fourLevel(e, 0x4012_3000n | AF | AP(3) | PAGE, { PAN: 1 }));
    expect(fault(e.tr(1, va)).event).toBe(EVT.F_PERMISSION); // privileged read of an EL0-readable page
    expect(ok(e.tr(1, va, REF_U)).perm).toBe(PX | UR | UX);
  });

  it('PXN / UXN and WXN', () => {
    let e = env();
    let { va } = fourLevel(e, 0x4012_3000n | AF | AP(3) | PXN | PAGE);
    expect(ok(e.tr(1, va)).perm).toBe(PR | UR | UX);
    e = env();
    ({ va } = fourLevel(e, 0x4012_3000n | AF | AP(0) | UXN | PAGE, { WXN: 1 }));
    expect(ok(e.tr(1, va)).perm).toBe(PR | PW); // privileged-writable: WXN removes PX
  });

  it('APTable[1] makes everything below read-only unless HAD0; APTable[0] removes EL0 access', () => {
    const e = env();
    const { t0, t1, va } = fourLevel(e, 0x4012_3000n | AF | AP(1) | PAGE);
    e.w(t0 + 8, BigInt(t1) | TABLE | APTABLE(0b10));
    expect(ok(e.tr(1, va)).perm).toBe(PR | PX | UR | UX); // read-only, no longer EL0-writable
    expect(fault(e.tr(1, va, REF_W)).event).toBe(EVT.F_PERMISSION);
    e.w(t0 + 8, BigInt(t1) | TABLE | APTABLE(0b01));
    expect(ok(e.tr(1, va)).perm).toBe(PR | PW | PX | UX);
    const e2 = env();
    const w2 = fourLevel(e2, 0x4012_3000n | AF | AP(1) | PAGE, { HAD0: 1 });
    e2.w(w2.t0 + 8, BigInt(w2.t1) | TABLE | APTABLE(0b10));
    expect(ok(e2.tr(1, w2.va, REF_W)).pa).toBe(0x4012_3123n);
  });

  it('Access flag: fault without HA, hardware update with HA, ignored with AFFD', () => {
    let e = env();
    let w = fourLevel(e, 0x4012_3000n | AP(1) | PAGE);
    expect(fault(e.tr(1, w.va))).toMatchObject({ event: EVT.F_ACCESS, s2: 0 });
    e = env();
    w = fourLevel(e, 0x4012_3000n | AP(1) | PAGE, { HA: 1 });
    expect(ok(e.tr(1, w.va)).updates).toEqual([
      {
        addr: BigInt(w.t3 + 8),
        before: 0x4012_3000n | AP(1) | PAGE,
        after: 0x4012_3000n | AP(1) | PAGE | AF,
      },
    ]);
    e = env();
    w = fourLevel(e, 0x4012_3000n | AP(1) | PAGE, { AFFD: 1 });
    expect(ok(e.tr(1, w.va)).updates).toEqual([]);
  });

  it('dirty state: a write to a writable-clean page clears AP[2]; the clean page counts as writable', () => {
    const e = env();
    const leaf = 0x4012_3000n | AF | AP(3) | DBM | PAGE;
    const w = fourLevel(e, leaf, { HA: 1, HD: 1 });
    const rd = ok(e.tr(1, w.va));
    expect(rd.perm).toBe(PR | UR | UX); // EL0-writable-clean: privileged execute-never already
    const wr = ok(e.tr(1, w.va, REF_W));
    expect(wr.updates).toEqual([{ addr: BigInt(w.t3 + 8), before: leaf, after: leaf & ~(1n << 7n) }]);
    expect(wr.perm).toBe(PR | PW | UR | UW | UX);
  });

  it('invalid, reserved and unbacked descriptors; output beyond IPS', () => {
    const e = env();
    const w = fourLevel(e, 0x4012_3000n | AF | PAGE);
    e.w(w.t3 + 8, 0x4012_3000n | AF | 0b01n); // level 3 with bit 1 clear: reserved
    expect(fault(e.tr(1, w.va)).event).toBe(EVT.F_TRANSLATION);
    e.w(w.t2 + 8, 0x1000_0000n | TABLE); // next level not backed
    expect(fault(e.tr(1, w.va))).toMatchObject({
      event: EVT.F_WALK_EABT,
      s2: 0,
      cls: EVT_CLASS.TT,
      addr: 0x1000_0008n,
      ttWrite: false,
    });
    e.w(w.t2 + 8, (1n << 47n) | BLOCK | AF); // 2 MiB block at 2^47, inside IPS 48
    expect(ok(e.tr(1, w.va)).pa).toBe((1n << 47n) | 0x1123n);
    e.w(w.t0 + 8, 0n);
    expect(fault(e.tr(1, w.va)).event).toBe(EVT.F_TRANSLATION);
  });

  it('1 GiB block at level 1 (4K) and address size fault against IPS', () => {
    const e = env();
    const w = fourLevel(e, 0n, { IPS: 2 }); // 40 bits
    e.w(w.t1 + 8, 0x80_0000_0000n | BLOCK | AF); // 2^39: fits 40 bits
    expect(ok(e.tr(1, w.va)).pa).toBe(0x80_0000_0000n + 0x20_1123n);
    e.w(w.t1 + 8, 0x100_0000_0000n | BLOCK | AF); // 2^40: beyond IPS
    expect(fault(e.tr(1, w.va))).toMatchObject({ event: EVT.F_ADDR_SIZE, s2: 0, cls: EVT_CLASS.IN });
  });

  it('TTB1 with TBI: VA[55] selects the half, the top byte is ignored only with TBI1', () => {
    const e = env();
    const pt0 = new PageTable(e.m.mem, e.m.alloc, 12, 48, 1);
    const pt1 = new PageTable(e.m.mem, e.m.alloc, 12, 48, 1);
    pt1.map(0xff80_0000_0000n, 0x4060_0000n, 0x1000n, { ap: 1 }); // VA 0xffff_ff80_0000_0000 in the upper half
    const cdt = e.m.drv.makeCdTable(0, 0);
    const cd = (tbi: number) =>
      linuxCd(pt0.root, 1, { EPD1: 0, T1SZ: 16, TG1: 2, TTB1: BigInt(pt1.root), TBI: tbi });
    cdt.writeCd(1, 0, cd(0), false);
    e.m.drv.writeSte(1, { V: 1, Config: 5, ...cdt.steFields() }, false);
    expect(ok(e.tr(1, 0xffff_ff80_0000_0123n)).pa).toBe(0x4060_0123n);
    expect(fault(e.tr(1, 0x12ff_ff80_0000_0123n)).event).toBe(EVT.F_TRANSLATION); // top byte must be ones
    cdt.writeCd(1, 0, cd(2), false);
    expect(ok(e.tr(1, 0x12ff_ff80_0000_0123n)).pa).toBe(0x4060_0123n);
    expect(fault(e.tr(1, 0x0000_ff80_0000_0123n)).event).toBe(EVT.F_TRANSLATION); // lower half: TTB0, unmapped
  });

  it('64K granule, T0SZ = 22: start level 2, 13-bit indices, 64 KiB pages', () => {
    const e = env();
    const l2 = e.m.alloc.alloc(1 << 16, 1 << 16);
    const l3 = e.m.alloc.alloc(1 << 16, 1 << 16);
    // VA 0x2003_0456: level 2 index VA[41:29] = 1, level 3 index VA[28:16] = 3, offset 0x0456.
    e.w(l2 + 1 * 8, BigInt(l3) | TABLE);
    e.w(l3 + 3 * 8, 0x4050_0000n | AF | AP(1) | PAGE);
    const cdt = e.m.drv.makeCdTable(0, 0);
    cdt.writeCd(1, 0, linuxCd(l2, 1, { TG0: 1, T0SZ: 22 }), false);
    e.m.drv.writeSte(1, { V: 1, Config: 5, ...cdt.steFields() }, false);
    expect(ok(e.tr(1, 0x2003_0456n)).pa).toBe(0x4050_0456n);
    expect(fault(e.tr(1, 1n << 42n)).event).toBe(EVT.F_TRANSLATION); // beyond 2^42
  });

  it('16K granule, T0SZ = 17: start level 1 (VA[46:36]), 32 MiB blocks at level 2', () => {
    const e = env();
    const l1 = e.m.alloc.alloc(1 << 14, 1 << 14);
    const l2 = e.m.alloc.alloc(1 << 14, 1 << 14);
    // VA 0x10_0600_1234: level 1 index VA[46:36] = 1, level 2 index VA[35:25] = 3.
    e.w(l1 + 8, BigInt(l2) | TABLE);
    e.w(l2 + 3 * 8, 0x4200_0000n | AF | AP(1) | BLOCK);
    const cdt = e.m.drv.makeCdTable(0, 0);
    cdt.writeCd(1, 0, linuxCd(l1, 1, { TG0: 2, T0SZ: 17 }), false);
    e.m.drv.writeSte(1, { V: 1, Config: 5, ...cdt.steFields() }, false);
    expect(ok(e.tr(1, 0x10_0600_1234n)).pa).toBe(0x4200_0000n + 0x1234n);
  });

  it('64K level-1 block: valid only on an SMMU with 52-bit OAS (FEAT_LPA)', () => {
    for (const oas of [48, 52]) {
      const e = env({ oasBits: oas });
      const l1 = e.m.alloc.alloc(1 << 16, 1 << 16);
      e.w(l1 + 8, (1n << 42n) | AF | BLOCK); // 4 TiB block at 2^42 for VA [2^42, 2^43)
      const cdt = e.m.drv.makeCdTable(0, 0);
      cdt.writeCd(1, 0, linuxCd(l1, 1, { TG0: 1, T0SZ: 16 }), false);
      e.m.drv.writeSte(1, { V: 1, Config: 5, ...cdt.steFields() }, false);
      const r = e.tr(1, (1n << 42n) + 0x1234n);
      if (oas === 52) expect(ok(r).pa).toBe((1n << 42n) + 0x1234n);
      else expect(fault(r).event).toBe(EVT.F_TRANSLATION);
    }
  });

  it('fault disposition: CD.R = 0 not recorded, CD.A = 0 RAZ/WI (TERM_MODEL 0), CD.S = 1 stalls', () => {
    let e = env({ termAbortOnly: false });
    let w = fourLevel(e, 0n, { R: 0, A: 0 });
    expect(fault(e.tr(1, w.va))).toMatchObject({
      event: EVT.F_TRANSLATION,
      record: false,
      razwi: true,
      stall: false,
    });
    e = env();
    w = fourLevel(e, 0n, { S: 1 });
    expect(fault(e.tr(1, w.va))).toMatchObject({
      event: EVT.F_TRANSLATION,
      record: true,
      stall: true,
      razwi: false,
    });
  });

  it('EL2 StreamWorld: one VA range and one privilege level; EL2-E2H: two ranges, two levels', () => {
    const e = env({ hyp: true });
    const w = fourLevel(e, 0x4012_3000n | AF | AP(0) | PAGE);
    const cdt = e.m.drv.makeCdTable(0, 0);
    cdt.writeCd(1, 0, linuxCd(w.t0, 5, { EPD1: 0, T1SZ: 16, TG1: 2, TTB1: BigInt(w.t0) }), false);
    e.m.drv.writeSte(1, { V: 1, Config: 5, STRW: 2, ...cdt.steFields() }, false);
    // AP = 00 in EL2: read/write at the one level (AP[1] ignored); unprivileged treated the same.
    expect(ok(e.tr(1, w.va)).perm).toBe(PR | PW | PX | UR | UW | UX);
    expect(fault(e.tr(1, 0xffff_0000_0000_0000n | w.va)).event).toBe(EVT.F_TRANSLATION); // no TTB1
    // EL2-E2H: EL2&0 regime, like NS-EL1 (TTB1 walks; AP[1] gives EL0 access).
    e.m.smmu.write32(0x20, e.m.smmu.read32(0x20) & ~1);
    e.m.smmu.write32(0x2c, e.m.smmu.read32(0x2c) | 1);
    e.m.smmu.write32(0x20, e.m.smmu.read32(0x20) | 1);
    expect(ok(e.tr(1, w.va)).perm).toBe(PR | PW | PX | UX);
    expect(ok(e.tr(1, 0xffff_0000_0000_0000n | w.va)).pa).toBe(0x4012_3123n);
  });
});

describe('reference model: configuration checks', () => {
  it('C_BAD_STE, C_BAD_CD, C_BAD_SUBSTREAMID, F_STREAM_DISABLED, F_CD_FETCH', () => {
    const e = env({ ssidBits: 4 });
    const cdt = e.m.drv.makeCdTable(2, 1); // 2-level, SSIDs 0..3
    cdt.writeCd(1, 1, linuxCd(e.page(), 1), false);
    cdt.writeCd(1, 2, linuxCd(e.page(), 2, { T0SZ: 40 }), false);
    e.m.drv.writeSte(1, { V: 1, Config: 5, S1DSS: 0, ...cdt.steFields() }, false);
    expect(fault(e.tr(1, 0n, 0, 1)).event).toBe(EVT.F_TRANSLATION); // empty tables
    expect(fault(e.tr(1, 0n, 0, 2)).event).toBe(EVT.C_BAD_CD); // T0SZ 40 out of range
    expect(fault(e.tr(1, 0n, 0, 3)).event).toBe(EVT.C_BAD_CD); // CD 3 not written: V = 0
    expect(fault(e.tr(1, 0n, 0, 4)).event).toBe(EVT.C_BAD_SUBSTREAMID); // beyond S1CDMax
    expect(fault(e.tr(1, 0n, 0, 1 << 4)).event).toBe(EVT.C_BAD_SUBSTREAMID); // beyond SSIDSIZE
    expect(fault(e.tr(1, 0n)).event).toBe(EVT.F_STREAM_DISABLED); // S1DSS terminate
    e.m.drv.writeSte(1, { V: 1, Config: 5, S1DSS: 2, ...cdt.steFields() }, false);
    expect(fault(e.tr(1, 0n, 0, 0)).event).toBe(EVT.F_STREAM_DISABLED); // SSID 0 with S1DSS substream 0
    e.m.drv.writeSte(1, { V: 1, Config: 5, S1DSS: 1, ...cdt.steFields() }, false);
    expect(ok(e.tr(1, 0x4444_0000n)).pa).toBe(0x4444_0000n); // S1DSS bypass
    e.m.drv.writeSte(1, { V: 1, Config: 5, S1CDMax: 5, S1ContextPtr: BigInt(cdt.base) }, false);
    expect(fault(e.tr(1, 0n, 0, 1)).event).toBe(EVT.C_BAD_STE); // S1CDMax > SSIDSIZE
    e.m.drv.writeSte(1, { V: 1, Config: 5, S1ContextPtr: 0x3000_0000n }, false);
    expect(fault(e.tr(1, 0n))).toMatchObject({ event: EVT.F_CD_FETCH, addr: 0x3000_0000n });
    e.m.drv.writeSte(
      1,
      { V: 1, Config: 6, S2T0SZ: 24, S2SL0: 0, S2TG: 0, S2PS: 5, S2AA64: 1, S2TTB: BigInt(e.page()) },
      false,
    );
    expect(fault(e.tr(1, 0n)).event).toBe(EVT.C_BAD_STE); // 40-bit IPA cannot start at level 2
  });
});

describe('reference model: stage 2 and nesting', () => {
  /** Stage 2, 4K granule, 40-bit IPA starting at level 1 with two concatenated tables. */
  function s2env(o: MachineOptions = {}) {
    const e = env(o);
    const root = e.m.alloc.alloc(8192, 8192);
    const l2 = e.page();
    const l3 = e.page();
    // IPA 0x80_0000_1abc: start index IPA[39:30] = 512 (second table), level 2 index 0, level 3 index 1.
    e.w(root + 512 * 8, BigInt(l2) | TABLE);
    e.w(l2, BigInt(l3) | TABLE);
    e.w(l3 + 8, 0x4070_0000n | AF | S2AP(3) | PAGE);
    const ste = {
      V: 1,
      Config: 6,
      S2VMID: 1,
      S2T0SZ: 24,
      S2SL0: 1,
      S2TG: 0,
      S2PS: 5,
      S2AA64: 1,
      S2R: 1,
      S2TTB: BigInt(root),
    };
    e.m.drv.writeSte(1, ste, false);
    return { e, root, l2, l3, ste, ipa: 0x80_0000_1abcn };
  }

  it('concatenated start tables, S2AP, XN[1:0], IPA beyond S2T0SZ and beyond IAS', () => {
    const { e, l3, ipa } = s2env();
    expect(ok(e.tr(1, ipa))).toMatchObject({ pa: 0x4070_0abcn, perm: ALL_PERMS });
    e.w(l3 + 8, 0x4070_0000n | AF | S2AP(1) | (0b10n << 53n) | PAGE); // read-only, XN both
    expect(ok(e.tr(1, ipa)).perm).toBe(PR | UR);
    expect(fault(e.tr(1, ipa, REF_W))).toMatchObject({
      event: EVT.F_PERMISSION,
      s2: 1,
      cls: EVT_CLASS.IN,
      addr: ipa,
    });
    expect(fault(e.tr(1, 1n << 40n))).toMatchObject({ event: EVT.F_TRANSLATION, s2: 1, addr: 1n << 40n });
    expect(fault(e.tr(1, 1n << 48n))).toMatchObject({ event: EVT.F_ADDR_SIZE, s2: 0, cls: EVT_CLASS.IN }); // beyond the SMMU IAS
  });

  it('S2 dirty state (DBM + S2HA/S2HD) and access flag', () => {
    const { e, l3, ste, ipa } = s2env();
    e.m.drv.writeSte(1, { ...ste, S2HA: 1, S2HD: 1 }, false);
    const d = 0x4070_0000n | S2AP(1) | DBM | PAGE;
    e.w(l3 + 8, d);
    expect(ok(e.tr(1, ipa)).updates).toEqual([{ addr: BigInt(l3 + 8), before: d, after: d | AF }]);
    expect(ok(e.tr(1, ipa, REF_W)).updates).toEqual([
      { addr: BigInt(l3 + 8), before: d, after: d | AF | (1n << 7n) },
    ]);
  });

  it('nested: CD and tables are IPAs; stage-2 faults carry CLASS CD / TT / IN; HTTU writes need S2 write permission', () => {
    const e = env();
    const G = RAM_BASE + (8 << 20); // guest RAM: IPA 0 -> PA G, 2 MiB
    const s2 = new PageTable(e.m.mem, e.m.alloc, 12, 40, 2, 1);
    s2.map(0n, BigInt(G), 0x20_0000n, { s2ap: 3 });
    const ipa = (pa: number) => BigInt(pa - G);
    const t = [G + 0x1000, G + 0x2000, G + 0x3000, G + 0x4000];
    e.w(t[0]!, ipa(t[1]!) | TABLE);
    e.w(t[1]!, ipa(t[2]!) | TABLE);
    e.w(t[2]!, ipa(t[3]!) | TABLE);
    e.w(t[3]! + 5 * 8, 0x10_0000n | AP(1) | PAGE); // VA 0x5000 -> IPA 0x10_0000, AF = 0
    const cd = G + 0x8000;
    e.m.mem.writeQwords(cd, [0n]);
    const cdq = linuxCd(Number(ipa(t[0]!)), 9, { HA: 1 });
    const ste = {
      V: 1,
      Config: 7,
      S1ContextPtr: ipa(cd),
      S2VMID: 2,
      S2T0SZ: 24,
      S2SL0: 1,
      S2TG: 0,
      S2PS: 5,
      S2AA64: 1,
      S2R: 1,
      S2TTB: BigInt(s2.root),
    };
    e.m.drv.writeSte(1, ste, false);
    e.m.mem.writeQwords(cd, encode(CD, cdq));
    const r = ok(e.tr(1, 0x5123n, REF_W));
    expect(r.pa).toBe(BigInt(G) + 0x10_0123n);
    expect(r.updates).toEqual([
      { addr: BigInt(t[3]! + 40), before: 0x10_0000n | AP(1) | PAGE, after: 0x10_0000n | AP(1) | PAGE | AF },
    ]);
    // The guest's table page read-only at stage 2: the AF update is a stage-2 permission fault, CLASS TT, write.
    s2.map(0x4000n, BigInt(G + 0x4000), 0x1000n, { s2ap: 1 });
    expect(fault(e.tr(1, 0x5123n))).toMatchObject({
      event: EVT.F_PERMISSION,
      s2: 1,
      cls: EVT_CLASS.TT,
      addr: 0x4028n,
      ttWrite: true,
    });
    // A table page unmapped at stage 2: translation fault, CLASS TT, read.
    s2.unmap(0x2000n);
    expect(fault(e.tr(1, 0x5123n))).toMatchObject({
      event: EVT.F_TRANSLATION,
      s2: 1,
      cls: EVT_CLASS.TT,
      addr: 0x2000n,
      ttWrite: false,
    });
    // The CD page unmapped at stage 2: CLASS CD.
    s2.unmap(0x8000n);
    expect(fault(e.tr(1, 0x5123n))).toMatchObject({
      event: EVT.F_TRANSLATION,
      s2: 1,
      cls: EVT_CLASS.CD,
      addr: 0x8000n,
    });
    // Output IPA beyond the stage-2 mapping: CLASS IN.
    s2.map(0x8000n, BigInt(G + 0x8000), 0x1000n, { s2ap: 3 });
    s2.map(0x2000n, BigInt(G + 0x2000), 0x1000n, { s2ap: 3 });
    s2.map(0x4000n, BigInt(G + 0x4000), 0x1000n, { s2ap: 3 });
    e.w(t[3]! + 5 * 8, 0x30_0000n | AF | AP(1) | PAGE);
    expect(fault(e.tr(1, 0x5123n))).toMatchObject({
      event: EVT.F_TRANSLATION,
      s2: 1,
      cls: EVT_CLASS.IN,
      addr: 0x30_0123n,
    });
  });
});
