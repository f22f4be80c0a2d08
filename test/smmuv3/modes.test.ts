// Translation modes, table-driven (QEMU's iommu-smmuv3-test style, plus everything SubstreamIDs need):
// SMMUEN = 0 with GBPA, STE abort / bypass / S1 / S2 / nested, and every CD table format with the
// SSID-starved configurations (S1CDMax 1 and 2) this project cares about. Each scenario builds real
// tables in memory; each row is one transaction with its expected PA, or the exact event record read
// back from the event queue. IHI0070 §5.2 (STE.Config, S1Fmt, S1CDMax, S1DSS), §5.3 (L1CD), §6.3.14
// (GBPA), §7.3.7 (F_STREAM_DISABLED), §7.3.9 (C_BAD_SUBSTREAMID).
import { beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../../src/layout/layout.ts';
import { CD } from '../../src/smmuv3/layouts.ts';
import type { ModelOptions } from '../../src/smmuv3/smmuv3.ts';
import { regValue } from '../../src/smmuv3/regs.ts';
import {
  ACC_U,
  ACC_W,
  CLASS,
  P_R,
  P_W,
  P_X,
  RAM,
  ST_ABORT,
  ST_OK,
  U_R,
  U_W,
  U_X,
  cdFields,
  events,
  expectNoEvent,
  expectOneEvent,
  rig,
  s1Table,
  s2Fields,
  s2Table,
  tx,
  type Fields,
  type Rig,
} from './harness.ts';

const VA = 0x1234_5678_9000n;
const OFF = 0xabc;
/** Output page of the translation through the CD of SubstreamID n (ssid -1: the CD of a plain stream). */
const paOf = (n: number) => 0x8000_0000 + (n + 1) * 0x10_0000;
/** Stage-1 page with AP = 0b01 (read/write at EL1 and EL0): EL0-writable, so PXN is implied (no P_X). */
const PERM_S1_RW = P_R | P_W | U_R | U_W | U_X;
const PERM_ALL = P_R | P_W | P_X | U_R | U_W | U_X;

interface Row {
  name: string;
  sid: number;
  ssid: number;
  iova: bigint;
  acc?: number;
  /** Success with this PA (and perm, if given). */
  pa?: number;
  perm?: number;
  /** Terminated without an event. */
  silent?: true;
  /** Terminated with exactly this record in the event queue. */
  event?: [string, Fields];
}

interface Scenario {
  name: string;
  opts?: ModelOptions;
  build: (r: Rig) => void;
  rows: Row[];
}

function runScenario(s: Scenario): void {
  describe(s.name, () => {
    let r: Rig;
    beforeAll(() => {
      r = rig(s.opts ?? {});
      s.build(r);
      expect(events(r)).toEqual([]); // the set-up itself raised nothing
    });
    it.each(s.rows)('$name', (row) => {
      const t = tx(r, row.sid, row.ssid, row.iova, row.acc ?? 0);
      if (row.pa !== undefined) {
        expect({ status: t.status, pa: t.pa.toString(16) }).toEqual({
          status: ST_OK,
          pa: row.pa.toString(16),
        });
        if (row.perm !== undefined) expect(t.perm).toBe(row.perm);
        expectNoEvent(r);
      } else if (row.silent) {
        expect({ status: t.status, event: t.event }).toEqual({ status: ST_ABORT, event: 0 });
        expectNoEvent(r);
      } else {
        const [type, fields] = row.event!;
        expect(t.status).toBe(ST_ABORT);
        expect(t.recorded).toBe(true);
        expectOneEvent(r, type, fields);
      }
    });
  });
}

/** A stage-1 table mapping VA -> paOf(n) (one 4 KiB page, AP 0b01). */
function tableFor(r: Rig, n: number) {
  const pt = s1Table(r);
  pt.map(VA, BigInt(paOf(n)), 0x1000n, { ap: 1 });
  return pt;
}

/**
 * Stream `sid` with a CD table of 2^cdmax CDs in format `fmt`; CD n (for n in ssids) translates VA to
 * paOf(n) with its own page table and ASID.
 */
function substreams(
  r: Rig,
  sid: number,
  cdmax: number,
  fmt: 0 | 1 | 2,
  ssids: number[],
  s1dss: number,
): void {
  const cdt = r.drv.makeCdTable(cdmax, fmt);
  for (const n of ssids) cdt.writeCd(sid, n, cdFields(tableFor(r, n), 1 + n), false);
  r.drv.writeSte(sid, { V: 1, Config: 5, ...cdt.steFields(), S1DSS: s1dss });
}

const badSsid = (sid: number, ssid: number): [string, Fields] => [
  'C_BAD_SUBSTREAMID',
  { EventID: 0x08, SubstreamID: ssid, StreamID: sid },
];
const disabled = (sid: number): [string, Fields] => ['F_STREAM_DISABLED', { EventID: 0x06, StreamID: sid }];
const ok = (sid: number, ssid: number, n = ssid): Row => ({
  name: `SSID ${ssid} -> CD ${n}`,
  sid,
  ssid,
  iova: VA + BigInt(OFF),
  pa: paOf(n) + OFF,
  perm: PERM_S1_RW,
});

/** Guest memory for the nested scenario: IPA [ipa, ipa + 4 MiB) -> PA [gpa, gpa + 4 MiB). */
const NESTED = { ipa: 0x1000_0000, gpa: RAM + (8 << 20) };

const CR0_QUEUES = regValue('CR0', { CMDQEN: 1, EVENTQEN: 1, PRIQEN: 1 });
const GBPA_UPDATE = 0x8000_0000;
const GBPA_ABORT = 1 << 20;

const SCENARIOS: Scenario[] = [
  {
    name: 'SMMUEN = 0, GBPA.ABORT = 0: every transaction bypasses',
    build: (r) => {
      r.drv.w32('CR0', CR0_QUEUES);
      r.drv.w32('GBPA', GBPA_UPDATE);
      expect(r.drv.r32('GBPA')).toBe(0); // Update reads 0: the update completed
    },
    rows: [
      { name: 'read', sid: 3, ssid: -1, iova: 0x1_2345_6abcn, pa: 0x1_2345_6abc, perm: PERM_ALL },
      {
        name: 'unprivileged write',
        sid: 3,
        ssid: -1,
        iova: 0xfff0n,
        acc: ACC_W | ACC_U,
        pa: 0xfff0,
        perm: PERM_ALL,
      },
      { name: 'StreamID beyond the stream table', sid: 0x1_0000, ssid: -1, iova: 0x1000n, pa: 0x1000 },
      { name: 'with a SubstreamID', sid: 3, ssid: 9, iova: 0x2000n, pa: 0x2000 },
    ],
  },
  {
    name: 'SMMUEN = 0, GBPA.ABORT = 1: every transaction aborts, no event',
    build: (r) => {
      r.drv.w32('CR0', CR0_QUEUES);
      r.drv.w32('GBPA', GBPA_ABORT); // without Update: ignored
      expect(r.drv.r32('GBPA')).toBe(0);
      r.drv.w32('GBPA', GBPA_UPDATE | GBPA_ABORT);
      expect(r.drv.r32('GBPA')).toBe(GBPA_ABORT);
    },
    rows: [
      { name: 'read', sid: 3, ssid: -1, iova: 0x1000n, silent: true },
      { name: 'write with a SubstreamID', sid: 3, ssid: 1, iova: 0x1000n, acc: ACC_W, silent: true },
      { name: 'StreamID beyond the stream table', sid: 0x1_0000, ssid: -1, iova: 0x1000n, silent: true },
    ],
  },
  {
    name: 'STE.Config = abort (0b000, and reserved 0b001..0b011 behave as 0b000): no event',
    build: (r) => {
      for (let c = 0; c < 4; c++) r.drv.writeSte(1 + c, { V: 1, Config: c });
    },
    rows: [0, 1, 2, 3].flatMap((c) => [
      { name: `Config ${c}: read`, sid: 1 + c, ssid: -1, iova: 0x1000n, silent: true as const },
      {
        name: `Config ${c}: write with a SubstreamID`,
        sid: 1 + c,
        ssid: 2,
        iova: 0x1000n,
        acc: ACC_W,
        silent: true as const,
      },
    ]),
  },
  {
    name: 'STE.Config = bypass',
    build: (r) => r.drv.writeSte(4, { V: 1, Config: 4 }),
    rows: [
      { name: 'read', sid: 4, ssid: -1, iova: 0xabcd_e123n, pa: 0xabcd_e123, perm: PERM_ALL },
      {
        name: 'write near the top of the 48-bit OAS',
        sid: 4,
        ssid: -1,
        iova: 0xffff_ffff_f000n,
        acc: ACC_W,
        pa: 0xffff_ffff_f000,
      },
      {
        name: 'a SubstreamID without stage 1: C_BAD_SUBSTREAMID',
        sid: 4,
        ssid: 3,
        iova: 0x1000n,
        event: badSsid(4, 3),
      },
    ],
  },
  {
    name: 'stage 1 only, linear CD table, S1CDMax = 0',
    build: (r) => {
      const pt = tableFor(r, -1);
      pt.map(VA + 0x1000n, BigInt(paOf(-1) + 0x1000), 0x1000n, { ap: 3 }); // read-only at EL1 and EL0
      const cdt = r.drv.makeCdTable(0, 0);
      cdt.writeCd(5, 0, cdFields(pt, 1), false);
      r.drv.writeSte(5, { V: 1, Config: 5, ...cdt.steFields() });
    },
    rows: [
      { name: 'read', sid: 5, ssid: -1, iova: VA + 0xabcn, pa: paOf(-1) + 0xabc, perm: PERM_S1_RW },
      {
        name: 'unprivileged write',
        sid: 5,
        ssid: -1,
        iova: VA + 0x10n,
        acc: ACC_W | ACC_U,
        pa: paOf(-1) + 0x10,
      },
      {
        name: 'read-only page',
        sid: 5,
        ssid: -1,
        iova: VA + 0x1008n,
        pa: paOf(-1) + 0x1008,
        perm: P_R | P_X | U_R | U_X,
      },
      {
        name: 'SubstreamID 0 with S1CDMax = 0: C_BAD_SUBSTREAMID',
        sid: 5,
        ssid: 0,
        iova: VA,
        event: badSsid(5, 0),
      },
    ],
  },
  {
    name: 'stage 2 only (4 KiB granule, 40-bit IPA, 2 concatenated level-1 tables)',
    build: (r) => {
      const pt = s2Table(r, 12, 40, 1);
      expect(pt.rootEntries).toBe(1024);
      pt.map(0x80_1234_5000n, 0x8800_0000n, 0x1000n); // IPA above 2^39: second concatenated table
      pt.map(0x1000n, 0x8800_1000n, 0x1000n, { s2ap: 1 }); // read-only
      r.drv.writeSte(6, { V: 1, Config: 6, ...s2Fields(pt, 7) });
    },
    rows: [
      { name: 'read', sid: 6, ssid: -1, iova: 0x80_1234_5abcn, pa: 0x8800_0abc, perm: PERM_ALL },
      {
        name: 'read-only page',
        sid: 6,
        ssid: -1,
        iova: 0x1004n,
        pa: 0x8800_1004,
        perm: P_R | U_R | P_X | U_X,
      },
      {
        name: 'a SubstreamID without stage 1: C_BAD_SUBSTREAMID',
        sid: 6,
        ssid: 1,
        iova: 0x1000n,
        event: badSsid(6, 1),
      },
      {
        name: 'unmapped IPA: stage-2 F_TRANSLATION, CLASS IN',
        sid: 6,
        ssid: -1,
        iova: 0x7_0000_0123n,
        acc: ACC_W,
        event: [
          'F_TRANSLATION',
          {
            EventID: 0x10,
            StreamID: 6,
            SSV: 0,
            S2: 1,
            CLASS: CLASS.IN,
            RnW: 0,
            PnU: 1,
            InD: 0,
            InputAddr: 0x7_0000_0123n,
            IPA: 0x7_0000_0000n,
          },
        ],
      },
    ],
  },
  {
    name: 'nested: CD and stage-1 tables at IPAs, output IPA through stage 2',
    build: buildNested,
    rows: [
      { name: 'read', sid: 7, ssid: -1, iova: VA + 0xabcn, pa: NESTED.gpa + 0x20_0abc, perm: PERM_S1_RW },
      {
        name: 'a SubstreamID with S1CDMax = 0: C_BAD_SUBSTREAMID',
        sid: 7,
        ssid: 1,
        iova: VA,
        event: badSsid(7, 1),
      },
      {
        name: 'S1DSS = bypass (S1CDMax 1): no SubstreamID -> stage 2 only',
        sid: 8,
        ssid: -1,
        iova: BigInt(NESTED.ipa + 0x30_0010),
        pa: NESTED.gpa + 0x30_0010,
      },
      {
        name: 'S1DSS = bypass (S1CDMax 1): SubstreamID 1 -> nested',
        sid: 8,
        ssid: 1,
        iova: VA + 0x4n,
        pa: NESTED.gpa + 0x20_0004,
      },
    ],
  },
  // ---- SubstreamIDs: every CD table format ------------------------------------------------------
  {
    name: 'S1Fmt linear, S1CDMax = 1 (2 SSIDs), S1DSS = bypass',
    build: (r) => substreams(r, 9, 1, 0, [0, 1], 1),
    rows: [
      ok(9, 0),
      ok(9, 1),
      { name: 'SSID 2 >= 2^S1CDMax: C_BAD_SUBSTREAMID', sid: 9, ssid: 2, iova: VA, event: badSsid(9, 2) },
      {
        name: 'SSID 0x80000: C_BAD_SUBSTREAMID',
        sid: 9,
        ssid: 0x8_0000,
        iova: VA,
        event: badSsid(9, 0x8_0000),
      },
      { name: 'no SSID: bypass', sid: 9, ssid: -1, iova: VA + 0x10n, pa: Number(VA) + 0x10, perm: PERM_ALL },
    ],
  },
  {
    name: 'S1Fmt linear, S1CDMax = 2 (4 SSIDs), S1DSS = substream 0',
    build: (r) => substreams(r, 10, 2, 0, [0, 1, 2, 3], 2),
    rows: [
      ok(10, 1),
      ok(10, 2),
      ok(10, 3),
      { name: 'SSID 4 >= 2^S1CDMax: C_BAD_SUBSTREAMID', sid: 10, ssid: 4, iova: VA, event: badSsid(10, 4) },
      { ...ok(10, -1, 0), name: 'no SSID -> CD 0' },
      {
        name: 'SSID 0 (reserved for non-substream traffic): F_STREAM_DISABLED',
        sid: 10,
        ssid: 0,
        iova: VA,
        event: disabled(10),
      },
    ],
  },
  {
    name: 'S1Fmt linear, S1CDMax = 2, S1DSS = terminate',
    build: (r) => substreams(r, 11, 2, 0, [0, 3], 0),
    rows: [
      ok(11, 0),
      ok(11, 3),
      { name: 'no SSID: F_STREAM_DISABLED', sid: 11, ssid: -1, iova: VA, acc: ACC_W, event: disabled(11) },
    ],
  },
  {
    name: 'S1Fmt linear, S1CDMax = 1, S1DSS = 0b11 (reserved, behaves as terminate)',
    build: (r) => substreams(r, 19, 1, 0, [0, 1], 3),
    rows: [
      ok(19, 0),
      ok(19, 1),
      { name: 'no SSID: F_STREAM_DISABLED', sid: 19, ssid: -1, iova: VA, event: disabled(19) },
    ],
  },
  {
    name: 'S1Fmt 2-level 4 KiB leaves, S1CDMax = 1 (only L1CD 0 used)',
    build: (r) => substreams(r, 12, 1, 1, [0, 1], 0),
    rows: [
      ok(12, 0),
      ok(12, 1),
      { name: 'SSID 2: C_BAD_SUBSTREAMID', sid: 12, ssid: 2, iova: VA, event: badSsid(12, 2) },
    ],
  },
  {
    name: 'S1Fmt 2-level 4 KiB leaves, S1CDMax = 2, S1DSS = substream 0',
    build: (r) => substreams(r, 13, 2, 1, [0, 1, 3], 2),
    rows: [
      ok(13, 1),
      ok(13, 3),
      { ...ok(13, -1, 0), name: 'no SSID -> CD 0' },
      { name: 'SSID 4: C_BAD_SUBSTREAMID', sid: 13, ssid: 4, iova: VA, event: badSsid(13, 4) },
      { name: 'SSID 0: F_STREAM_DISABLED', sid: 13, ssid: 0, iova: VA, event: disabled(13) },
    ],
  },
  {
    name: 'S1Fmt 2-level 4 KiB leaves (64 CDs each), S1CDMax = 7',
    build: (r) => substreams(r, 14, 7, 1, [0, 63, 64, 0x45, 127], 0),
    rows: [
      ok(14, 0),
      ok(14, 63),
      ok(14, 64),
      ok(14, 0x45),
      ok(14, 127),
      { name: 'SSID 128: C_BAD_SUBSTREAMID', sid: 14, ssid: 128, iova: VA, event: badSsid(14, 128) },
      { name: 'no SSID: F_STREAM_DISABLED', sid: 14, ssid: -1, iova: VA, event: disabled(14) },
    ],
  },
  {
    name: 'S1Fmt 2-level 64 KiB leaves, S1CDMax = 2',
    build: (r) => substreams(r, 15, 2, 2, [0, 1, 2, 3], 1),
    rows: [
      ok(15, 0),
      ok(15, 3),
      { name: 'SSID 4: C_BAD_SUBSTREAMID', sid: 15, ssid: 4, iova: VA, event: badSsid(15, 4) },
    ],
  },
  {
    name: 'S1Fmt 2-level 64 KiB leaves (1024 CDs each), S1CDMax = 11, S1DSS = substream 0',
    build: (r) => substreams(r, 16, 11, 2, [0, 1023, 1024, 0x405, 2047], 2),
    rows: [
      ok(16, 1023),
      ok(16, 1024),
      ok(16, 0x405),
      ok(16, 2047),
      { ...ok(16, -1, 0), name: 'no SSID -> CD 0' },
      { name: 'SSID 2048: C_BAD_SUBSTREAMID', sid: 16, ssid: 2048, iova: VA, event: badSsid(16, 2048) },
      { name: 'SSID 0: F_STREAM_DISABLED', sid: 16, ssid: 0, iova: VA, event: disabled(16) },
    ],
  },
  {
    name: 'L1CD.V = 0 (2-level 4 KiB leaves, S1CDMax = 8, only leaf 1 present)',
    build: (r) => substreams(r, 17, 8, 1, [0x41], 2),
    rows: [
      ok(17, 0x41),
      {
        name: 'SSID 0x81 through an invalid L1CD: C_BAD_SUBSTREAMID',
        sid: 17,
        ssid: 0x81,
        iova: VA,
        event: badSsid(17, 0x81),
      },
      {
        name: 'SSID 1 through an invalid L1CD: C_BAD_SUBSTREAMID',
        sid: 17,
        ssid: 1,
        iova: VA,
        event: badSsid(17, 1),
      },
      {
        name: 'no SSID -> CD 0 through an invalid L1CD: C_BAD_SUBSTREAMID, SubstreamID 0',
        sid: 17,
        ssid: -1,
        iova: VA,
        event: badSsid(17, 0),
      },
    ],
  },
  {
    name: 'an SMMU with SSIDSIZE = 1 (2 SSIDs) and S1CDMax = 1',
    opts: { ssidBits: 1 },
    build: (r) => substreams(r, 18, 1, 0, [0, 1], 0),
    rows: [
      ok(18, 0),
      ok(18, 1),
      {
        name: 'SSID 2 beyond SSIDSIZE: C_BAD_SUBSTREAMID',
        sid: 18,
        ssid: 2,
        iova: VA,
        event: badSsid(18, 2),
      },
    ],
  },
];

function buildNested(r: Rig): void {
  const { ipa, gpa } = NESTED;
  const s2 = s2Table(r, 12, 40, 1);
  s2.map(BigInt(ipa), BigInt(gpa), 0x40_0000n, {}, 21);
  const toIpa = (pa: number) => BigInt(pa - gpa + ipa);
  const tbl = (pa: number) => toIpa(pa) | 3n;
  // Guest stage-1 tables (4 levels, 4 KiB granule) and CDs, written at PAs, pointing at IPAs.
  const l0 = gpa,
    l1 = gpa + 0x1000,
    l2 = gpa + 0x2000,
    l3 = gpa + 0x3000,
    cd = gpa + 0x4000;
  const v = VA;
  const idx = (s: bigint) => Number((v >> s) & 0x1ffn) * 8;
  r.mem.writeQwords(l0 + idx(39n), [tbl(l1)]);
  r.mem.writeQwords(l1 + idx(30n), [tbl(l2)]);
  r.mem.writeQwords(l2 + idx(21n), [tbl(l3)]);
  r.mem.writeQwords(l3 + idx(12n), [toIpa(gpa + 0x20_0000) | 0x743n]); // AF, SH, AP 0b01, page
  const cdq = (asid: number) => ({
    V: 1,
    T0SZ: 16,
    TG0: 0,
    EPD1: 1,
    IPS: 5,
    AA64: 1,
    R: 1,
    A: 1,
    ASID: asid,
    TTB0: toIpa(l0),
  });
  r.mem.writeQwords(cd, encode(CD, cdq(9)));
  r.drv.writeSte(7, { V: 1, Config: 7, S1ContextPtr: toIpa(cd), S1CDMax: 0, S1Fmt: 0, ...s2Fields(s2, 9) });
  // Stream 8: S1CDMax 1 (CDs 0 and 1 at cd + 0x40), S1DSS bypass.
  r.mem.writeQwords(cd + 0x40, encode(CD, cdq(10)));
  r.mem.writeQwords(cd + 0x80, encode(CD, cdq(11)));
  r.drv.writeSte(8, {
    V: 1,
    Config: 7,
    S1ContextPtr: toIpa(cd + 0x40),
    S1CDMax: 1,
    S1Fmt: 0,
    S1DSS: 1,
    ...s2Fields(s2, 9),
  });
}

for (const s of SCENARIOS) runScenario(s);
