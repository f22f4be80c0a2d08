// Shared set-up for the SMMUv3 behaviour tests: a real PhysMem with RAM at 0x4000_0000, the model,
// and the driver toolkit programming it through MMIO and the command queue. Nothing is mocked: tests
// build real tables in memory, translate, then check what the hardware wrote (bytes in memory,
// records in the event queue read back through Smmuv3Driver.readEvents()).
import { expect } from 'vitest';
import { PhysMem } from '../../src/mem/phys-mem.ts';
import {
  PageAllocator,
  PageTable,
  Smmuv3Driver,
  type CdTable,
  type DriverOptions,
  type MapAttrs,
} from '../../src/driver/smmuv3-driver.ts';
import type { SMMUv3, ModelOptions } from '../../src/smmuv3/smmuv3.ts';
import { buildSmmuMachine } from '../../src/machine/machine.ts';

export { ACC_U, ACC_W, ACC_X, ST_ABORT, ST_OK, ST_RAZWI, ST_STALL } from '../../src/smmuv3/smmuv3.ts';
export { P_R, P_W, P_X, U_R, U_W, U_X } from '../../src/smmuv3/walk.ts';

export const RAM = 0x4000_0000;
/** Class of a translation fault record (IHI0070 §7.3): the event layout's EVT_CLASS. */
export { EVT_CLASS as CLASS } from '../../src/smmuv3/events.ts';

export interface Rig {
  mem: PhysMem;
  smmu: SMMUv3;
  drv: Smmuv3Driver;
  alloc: PageAllocator;
}

/**
 * A machine with `ramMiB` of RAM at 0x4000_0000, an SMMU built from `opts` and a driver that has
 * initialised it (linear stream table of 2^8 STEs unless `d` says otherwise). CR2.RECINVSID is set
 * as Linux sets it, so C_BAD_STREAMID is recorded.
 */
export function rig(opts: ModelOptions = {}, d: DriverOptions = {}, ramMiB = 16): Rig {
  return buildSmmuMachine({
    ram: [{ base: RAM, size: ramMiB << 20 }],
    model: opts,
    driver: d,
    cr2: { RECINVSID: 1, PTM: 1 },
  });
}

/** Granule encodings. */
export const TG0 = { 12: 0, 16: 1, 14: 2 } as const;
export const TG1 = { 14: 1, 12: 2, 16: 3 } as const;

/** A stage-1 page table with `ias`-bit input. */
export function s1Table(r: Rig, granule: 12 | 14 | 16 = 12, ias = 48): PageTable {
  return new PageTable(r.mem, r.alloc, granule, ias, 1);
}

/** A stage-2 page table; `startLevel` may ask for concatenated start tables. */
export function s2Table(r: Rig, granule: 12 | 14 | 16 = 12, ias = 40, startLevel?: number): PageTable {
  return new PageTable(r.mem, r.alloc, granule, ias, 2, startLevel);
}

/** S2SL0 encoding of a start level (VTCR_EL2.SL0). */
export function sl0Of(granule: number, level: number): number {
  return granule === 12 ? 2 - level : 3 - level;
}

/** STE stage-2 fields for a table built by s2Table. */
export function s2Fields(
  pt: PageTable,
  vmid: number,
  extra: Record<string, number | bigint> = {},
): Record<string, number | bigint> {
  return {
    S2VMID: vmid,
    S2T0SZ: 64 - pt.ias,
    S2SL0: sl0Of(pt.granule, pt.startLevel),
    S2TG: TG0[pt.granule],
    S2PS: 5,
    S2AA64: 1,
    S2R: 1,
    S2TTB: BigInt(pt.root),
    ...extra,
  };
}

/** CD fields: AArch64, TTB0 only, R = A = 1, IPS 48. */
export function cdFields(
  pt: PageTable,
  asid: number,
  extra: Record<string, number | bigint> = {},
): Record<string, number | bigint> {
  return {
    V: 1,
    T0SZ: 64 - pt.ias,
    TG0: TG0[pt.granule],
    IR0: 1,
    OR0: 1,
    SH0: 3,
    EPD1: 1,
    IPS: 5,
    AA64: 1,
    R: 1,
    A: 1,
    ASET: 1,
    ASID: asid,
    TTB0: BigInt(pt.root),
    ...extra,
  };
}

/**
 * A stream with stage 1 only: one page table, CD table with 2^cdmax CDs (format `fmt`), CD `ssid` for
 * each of `ssids` (default: just CD 0). Returns the page table (shared by all CDs) and the CD table.
 */
export function s1Stream(
  r: Rig,
  sid: number,
  o: {
    cdmax?: number;
    fmt?: 0 | 1 | 2;
    ssids?: number[];
    s1dss?: number;
    granule?: 12 | 14 | 16;
    ias?: number;
    cd?: Record<string, number | bigint>;
    ste?: Record<string, number | bigint>;
  } = {},
): { pt: PageTable; cdt: CdTable } {
  const pt = s1Table(r, o.granule ?? 12, o.ias ?? 48);
  const cdt = r.drv.makeCdTable(o.cdmax ?? 0, o.fmt ?? 0);
  for (const ssid of o.ssids ?? [0]) cdt.writeCd(sid, ssid, cdFields(pt, 1 + ssid, o.cd), false);
  r.drv.writeSte(sid, { V: 1, Config: 5, ...cdt.steFields(), S1DSS: o.s1dss ?? 0, ...o.ste });
  return { pt, cdt };
}

export interface Tx {
  status: number;
  pa: number;
  perm: number;
  event: number;
  recorded: boolean;
  stag: number;
}

/** One transaction (ssid -1: none). */
export function tx(r: Rig, sid: number, ssid: number, iova: bigint, acc = 0): Tx {
  const st = r.smmu.translate(sid, ssid, Number(iova >> 32n), Number(iova & 0xffff_ffffn), acc);
  const x = r.smmu.res;
  return { status: st, pa: x.pa, perm: x.perm, event: x.event, recorded: x.recorded, stag: x.stag };
}

export type Fields = Record<string, number | bigint>;
export interface Evt {
  type: string;
  fields: Record<string, bigint>;
}

/** Drains the event queue through the driver (records decoded by the layout tables). */
export function events(r: Rig): Evt[] {
  return r.drv.readEvents().map((e) => ({ type: e.type, fields: e.fields }));
}

/** The named fields of a record, as bigints, for toEqual. */
export function pick(e: Evt, names: readonly string[]): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const n of names) {
    if (!(n in e.fields)) throw new Error(`${e.type} has no field ${n}`);
    out[n] = e.fields[n]!;
  }
  return out;
}

export function big(f: Fields): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(f)) out[k] = BigInt(v);
  return out;
}

/** Exactly one record in the queue, of `type`, with (at least) these field values. */
export function expectOneEvent(r: Rig, type: string, f: Fields): Evt {
  const ev = events(r);
  expect(ev.map((e) => e.type)).toEqual([type]);
  expect(pick(ev[0]!, Object.keys(f))).toEqual(big(f));
  return ev[0]!;
}

export function expectNoEvent(r: Rig): void {
  expect(events(r)).toEqual([]);
}

/** Raw read of a 64-bit word of memory. */
export function q(r: Rig, pa: number): bigint {
  const v = r.mem.read64n(pa);
  if (v === undefined) throw new Error(`0x${pa.toString(16)} not backed`);
  return v;
}

export type { MapAttrs };

/** Address of the descriptor for `va` at `level` of a PageTable (walking its table descriptors). */
export function entryAddr(r: Rig, pt: PageTable, va: bigint, level: number): number {
  let table = pt.root;
  for (let l = pt.startLevel; ; l++) {
    const s = pt.granule + (3 - l) * pt.stride;
    const bits = l === pt.startLevel ? pt.ias - s : pt.stride;
    const da = table + Number((va >> BigInt(s)) & ((1n << BigInt(bits)) - 1n)) * 8;
    if (l === level) return da;
    table = Number(pt.descAddr(q(r, da)));
  }
}
