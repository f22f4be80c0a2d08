// Faults and configuration errors, table-driven: each row builds a real configuration in memory, sends
// one transaction and checks the exact event record the SMMU wrote to the event queue (decoded by the
// layout tables), or the success and what the SMMU wrote back into the page tables (HTTU).
// IHI0070 §3.3 (stream table), §5.1-§5.5 (L1STD, STE, L1CD, CD, A/R/S), §7.3 (event records);
// DDI0487 D8 (VMSAv8-64 walks, permissions, access flag, dirty state).
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/layout/layout.ts';
import { PageAllocator, PageTable, type DriverOptions } from '../../src/driver/smmuv3-driver.ts';
import { CD as CDL, L1STD } from '../../src/smmuv3/layouts.ts';
import { regValue } from '../../src/smmuv3/regs.ts';
import type { ModelOptions } from '../../src/smmuv3/smmuv3.ts';
import {
  ACC_U,
  ACC_W,
  ACC_X,
  CLASS,
  P_R,
  P_W,
  P_X,
  ST_ABORT,
  ST_OK,
  ST_RAZWI,
  TG0,
  TG1,
  U_R,
  U_W,
  U_X,
  cdFields,
  entryAddr,
  events,
  expectNoEvent,
  expectOneEvent,
  q,
  rig,
  s1Stream,
  s1Table,
  s2Fields,
  s2Table,
  tx,
  type Fields,
  type Rig,
} from './harness.ts';

const SID = 3;
/** Runs the set-up (for its side effects), then names the transaction. */
const go = (_setUp: unknown, req: Req): Req => req;
const VA = 0x12_3456_7000n;
const PA = 0x9000_0000;

interface Req {
  sid?: number;
  ssid?: number;
  iova?: bigint;
  acc?: number;
}

interface Row {
  name: string;
  opts?: ModelOptions;
  d?: DriverOptions;
  /** Builds the configuration; returns the transaction (defaults: SID, no SSID, VA + 0x10, read). */
  build: (r: Rig) => Req | void;
  pa?: number;
  perm?: number;
  /** Terminated, event not recorded (res.event is the fault that was not recorded). */
  unrecorded?: number;
  /** Terminated, no event at all. */
  silent?: true;
  event?: [string, Fields];
  /** Status of a recorded fault (default: abort). */
  status?: number;
  /** MiB of RAM (default 4). */
  ram?: number;
  /** Extra checks after the transaction (memory written by the SMMU). */
  check?: (r: Rig) => void;
}

/** A stage-1 stream SID (linear CD table, S1CDMax 0) with VA -> PA mapped RW (AP 0b01), unless `map` says otherwise. */
function s1(
  r: Rig,
  o: { cd?: Fields; ste?: Fields; map?: (pt: PageTable) => void; granule?: 12 | 14 | 16; ias?: number } = {},
): PageTable {
  const { pt } = s1Stream(r, SID, { cd: o.cd, ste: o.ste, granule: o.granule, ias: o.ias });
  if (o.map) o.map(pt);
  else pt.map(VA, BigInt(PA), 0x1000n, { ap: 1 });
  return pt;
}

/** The fields of a translation-related fault record for a transaction of SID without SSID. */
function tf(
  iova: bigint,
  o: { acc?: number; s2?: number; cls?: number; ipa?: bigint; ssid?: number } = {},
): Fields {
  const acc = o.acc ?? 0;
  return {
    StreamID: SID,
    SSV: o.ssid === undefined ? 0 : 1,
    ...(o.ssid === undefined ? {} : { SubstreamID: o.ssid }),
    Stall: 0,
    STAG: 0,
    PnU: acc & ACC_U ? 0 : 1,
    InD: acc & ACC_X && !(acc & ACC_W) ? 1 : 0,
    RnW: acc & ACC_W ? 0 : 1,
    S2: o.s2 ?? 0,
    CLASS: o.cls ?? CLASS.IN,
    InputAddr: iova,
    IPA: o.ipa ?? 0n,
  };
}

const CR0_ALL = regValue('CR0', { CMDQEN: 1, EVENTQEN: 1, PRIQEN: 1, SMMUEN: 1 });
const CR0_NO_SMMUEN = regValue('CR0', { CMDQEN: 1, EVENTQEN: 1, PRIQEN: 1 });

/** Reprograms registers that are RO while SMMUEN = 1. */
function withSmmuDisabled(r: Rig, fn: () => void): void {
  r.drv.w32('CR0', CR0_NO_SMMUEN);
  fn();
  r.drv.w32('CR0', CR0_ALL);
}

const L2 = { streamTable: '2level', split: 8, sidBits: 16 } as const;

function run(rows: Row[]): void {
  it.each(rows)('$name', (row) => {
    const r = rig(row.opts ?? {}, row.d ?? {}, row.ram ?? 4);
    const q0 = row.build(r) ?? {};
    expect(events(r)).toEqual([]);
    const iova = q0.iova ?? VA + 0x10n;
    const t = tx(r, q0.sid ?? SID, q0.ssid ?? -1, iova, q0.acc ?? 0);
    if (row.pa !== undefined) {
      expect({ status: t.status, pa: t.pa.toString(16) }).toEqual({ status: ST_OK, pa: row.pa.toString(16) });
      if (row.perm !== undefined) expect(t.perm).toBe(row.perm);
      expectNoEvent(r);
    } else if (row.unrecorded !== undefined) {
      expect({ status: t.status, event: t.event, recorded: t.recorded }).toEqual({
        status: ST_ABORT,
        event: row.unrecorded,
        recorded: false,
      });
      expectNoEvent(r);
    } else if (row.silent) {
      expect({ status: t.status, event: t.event }).toEqual({ status: ST_ABORT, event: 0 });
      expectNoEvent(r);
    } else {
      const [type, f] = row.event!;
      expect(t.status).toBe(row.status ?? ST_ABORT);
      expectOneEvent(r, type, f);
    }
    row.check?.(r);
  });
}

const badSte = (f: Fields = {}): [string, Fields] => [
  'C_BAD_STE',
  { EventID: 0x04, StreamID: SID, SSV: 0, ...f },
];
const badCd = (f: Fields = {}): [string, Fields] => [
  'C_BAD_CD',
  { EventID: 0x0a, StreamID: SID, SSV: 0, ...f },
];
/** An S2-only STE for SID with S2 fields overridden. */
const s2Ste = (r: Rig, f: Fields) => {
  const pt = s2Table(r, 12, 40, 1);
  pt.map(0x1000n, BigInt(PA), 0x1000n);
  r.drv.writeSte(SID, { V: 1, Config: 6, ...s2Fields(pt, 1), ...f });
};

describe('stream table: C_BAD_STREAMID, F_STE_FETCH', () => {
  run([
    {
      name: 'linear: StreamID >= 2^LOG2SIZE',
      build: () => ({ sid: 256 }),
      event: ['C_BAD_STREAMID', { EventID: 0x02, StreamID: 256, SSV: 0 }],
    },
    {
      name: 'linear: StreamID out of range, with a SubstreamID',
      build: () => ({ sid: 0x1234, ssid: 5 }),
      event: ['C_BAD_STREAMID', { StreamID: 0x1234, SSV: 1, SubstreamID: 5 }],
    },
    {
      name: 'LOG2SIZE beyond IDR1.SIDSIZE behaves as SIDSIZE',
      opts: { sidBits: 6 },
      build: () => ({ sid: 64 }),
      event: ['C_BAD_STREAMID', { StreamID: 64 }],
    },
    {
      name: 'CR2.RECINVSID = 0: C_BAD_STREAMID is not recorded',
      build: (r) => {
        withSmmuDisabled(r, () => r.drv.w32('CR2', 0));
        return { sid: 256 };
      },
      unrecorded: 0x02,
    },
    {
      name: '2-level: L1STD never written (Span 0)',
      d: L2,
      build: () => ({ sid: 0x305 }),
      event: ['C_BAD_STREAMID', { StreamID: 0x305 }],
    },
    {
      name: '2-level: L1STD.Span = 0 with an L2Ptr',
      d: L2,
      build: (r) => {
        r.drv.writeSte(0x100, { V: 1, Config: 4 });
        r.mem.writeQwords(
          r.drv.strtab + 8,
          encode(L1STD, { Span: 0, L2Ptr: q(r, r.drv.strtab + 8) & ~0x3fn }),
        );
        return { sid: 0x100 };
      },
      event: ['C_BAD_STREAMID', { StreamID: 0x100 }],
    },
    {
      name: '2-level: StreamID beyond the L1STD span (Span 2: 2 STEs)',
      d: L2,
      build: (r) => {
        const l2 = r.alloc.alloc(128, 64);
        r.mem.writeQwords(r.drv.strtab + 2 * 8, encode(L1STD, { Span: 2, L2Ptr: BigInt(l2) }));
        r.mem.writeQwords(l2 + 64, [9n]); // STE 0x201: V, Config bypass
        expect(tx(r, 0x201, -1, 0x1000n).status).toBe(ST_OK);
        return { sid: 0x202 };
      },
      event: ['C_BAD_STREAMID', { StreamID: 0x202 }],
    },
    {
      name: '2-level: L1STD.Span > SPLIT + 1 is out of bounds',
      d: L2,
      build: (r) => {
        const l2 = r.alloc.alloc(64 << 9, 64 << 9);
        r.mem.writeQwords(l2 + 5 * 64, [9n]); // a bypass STE at index 5
        r.mem.writeQwords(r.drv.strtab + 4 * 8, encode(L1STD, { Span: 10, L2Ptr: BigInt(l2) }));
        return { sid: 0x405 };
      },
      event: ['C_BAD_STREAMID', { StreamID: 0x405 }],
    },
    {
      name: '2-level: L1STD.Span 12..31 is reserved and behaves as 0',
      d: L2,
      build: (r) => {
        const l2 = r.alloc.alloc(64 << 8, 64 << 8);
        r.mem.writeQwords(l2 + 5 * 64, [9n]);
        r.mem.writeQwords(r.drv.strtab + 4 * 8, encode(L1STD, { Span: 12, L2Ptr: BigInt(l2) }));
        return { sid: 0x405 };
      },
      event: ['C_BAD_STREAMID', { StreamID: 0x405 }],
    },
    {
      name: '2-level: L2Ptr bits below the level-2 array size are treated as 0',
      d: L2,
      build: (r) => {
        const l2 = r.alloc.alloc(128, 128);
        r.mem.writeQwords(l2, [9n]); // STE 0: bypass
        r.mem.writeQwords(l2 + 64, [1n]); // what a misaligned L2Ptr would hit: abort
        r.mem.writeQwords(r.drv.strtab + 4 * 8, encode(L1STD, { Span: 2, L2Ptr: BigInt(l2 + 64) }));
        return { sid: 0x400, iova: 0x1234n };
      },
      pa: 0x1234,
    },
    {
      name: 'linear: stream table not backed: F_STE_FETCH with the STE address',
      build: (r) => {
        withSmmuDisabled(r, () => r.drv.w64('STRTAB_BASE', 0x1_0000_0000n));
      },
      event: [
        'F_STE_FETCH',
        { EventID: 0x03, StreamID: SID, SSV: 0, FetchAddr: 0x1_0000_0000n + BigInt(SID * 64) },
      ],
    },
    {
      name: '2-level: L1 table not backed: F_STE_FETCH with the L1STD address',
      d: L2,
      build: (r) => {
        withSmmuDisabled(r, () => r.drv.w64('STRTAB_BASE', 0x2_0000_0000n));
        return { sid: 0x305, ssid: 1 };
      },
      event: ['F_STE_FETCH', { StreamID: 0x305, SSV: 1, SubstreamID: 1, FetchAddr: 0x2_0000_0018n }],
    },
    {
      name: '2-level: L2Ptr not backed: F_STE_FETCH with the STE address',
      d: L2,
      build: (r) => {
        r.mem.writeQwords(r.drv.strtab + 8, encode(L1STD, { Span: 9, L2Ptr: 0x3_0000_0000n }));
        return { sid: 0x105 };
      },
      event: ['F_STE_FETCH', { StreamID: 0x105, FetchAddr: 0x3_0000_0000n + 5n * 64n }],
    },
  ]);
});

describe('C_BAD_STE', () => {
  run([
    { name: 'V = 0', build: () => {}, event: badSte() },
    {
      name: 'V = 0, with a SubstreamID',
      build: () => ({ ssid: 2 }),
      event: badSte({ SSV: 1, SubstreamID: 2 }),
    },
    {
      name: 'stage 1 not implemented (IDR0.S1P = 0), Config = S1',
      opts: { stage1: false },
      build: (r) => void s1(r),
      event: badSte(),
    },
    {
      name: 'stage 2 not implemented (IDR0.S2P = 0), Config = S2',
      opts: { stage2: false },
      build: (r) => s2Ste(r, {}),
      event: badSte(),
    },
    {
      name: 'stage 2 not implemented, Config = nested',
      opts: { stage2: false },
      build: (r) => void s1(r, { ste: { Config: 7 } }),
      event: badSte(),
    },
    {
      name: 'S1CDMax > IDR1.SSIDSIZE',
      opts: { ssidBits: 4 },
      build: (r) => void s1(r, { ste: { S1CDMax: 5 } }),
      event: badSte(),
    },
    {
      name: 'S1CDMax = SSIDSIZE is legal',
      opts: { ssidBits: 4 },
      build: (r) => void s1(r, { ste: { S1CDMax: 4, S1DSS: 2 } }),
      pa: PA + 0x10,
    },
    {
      name: 'S1Fmt 2-level without IDR0.CD2L',
      opts: { cd2l: false },
      build: (r) => void s1(r, { ste: { S1CDMax: 2, S1Fmt: 1, S1DSS: 2 } }),
      event: badSte(),
    },
    {
      name: 'S1Fmt = 0b11 (reserved) behaves as linear',
      build: (r) => void s1(r, { ste: { S1CDMax: 2, S1Fmt: 3, S1DSS: 2 } }),
      pa: PA + 0x10,
    },
    {
      name: 'S1STALLD = 1 with STALL_MODEL = 0b01 (no stalls)',
      opts: { stallModel: 'none' },
      build: (r) => void s1(r, { ste: { S1STALLD: 1 } }),
      event: badSte(),
    },
    {
      name: 'S1STALLD = 1 with STALL_MODEL = 0b10 (forced stalls)',
      opts: { stallModel: 'force' },
      build: (r) => void s1(r, { ste: { S1STALLD: 1 }, cd: { S: 1 } }),
      event: badSte(),
    },
    {
      name: 'S2AA64 = 0 (VMSAv8-32 stage 2 not implemented)',
      build: (r) => s2Ste(r, { S2AA64: 0 }),
      event: badSte(),
    },
    {
      name: 'S2ENDI = 1 (big-endian tables not supported)',
      build: (r) => s2Ste(r, { S2ENDI: 1 }),
      event: badSte(),
    },
    { name: 'S2TG = 0b11 (reserved)', build: (r) => s2Ste(r, { S2TG: 3 }), event: badSte() },
    {
      name: 'S2TG = 16 KiB without IDR5.GRAN16K',
      opts: { gran16k: false },
      build: (r) => s2Ste(r, { S2TG: 2, S2SL0: 1, S2T0SZ: 28 }),
      event: badSte(),
    },
    { name: 'S2SL0 = 0b11 with 4 KiB', build: (r) => s2Ste(r, { S2SL0: 3 }), event: badSte() },
    {
      name: '4 KiB, start level 0 for a 39-bit IPA (S2T0SZ 25)',
      build: (r) => s2Ste(r, { S2SL0: 2, S2T0SZ: 25 }),
      event: badSte(),
    },
    {
      name: '4 KiB, start level 2 for a 48-bit IPA (needs 512 tables)',
      build: (r) => s2Ste(r, { S2SL0: 0, S2T0SZ: 16 }),
      event: badSte(),
    },
    {
      name: '64 KiB, start level 1 for a 40-bit IPA',
      build: (r) => s2Ste(r, { S2TG: 1, S2SL0: 2, S2T0SZ: 24 }),
      event: badSte(),
    },
    {
      name: 'S2T0SZ = 40 (> 39 without IDR3.STT), 4 KiB start level 2',
      build: (r) => s2Ste(r, { S2SL0: 0, S2T0SZ: 40 }),
      event: badSte(),
    },
    {
      name: 'S2T0SZ = 15: IPA wider than IAS (48)',
      build: (r) => s2Ste(r, { S2SL0: 2, S2T0SZ: 15 }),
      event: badSte(),
    },
    {
      name: 'S2TTB beyond the effective S2PS (40 bits)',
      build: (r) => s2Ste(r, { S2PS: 2, S2TTB: 1n << 40n }),
      event: badSte(),
    },
    {
      name: 'S2TTB beyond 48 bits with a 4 KiB granule (OAS 52, S2PS 52)',
      opts: { oasBits: 52 },
      build: (r) => s2Ste(r, { S2PS: 6, S2TTB: 1n << 48n }),
      event: badSte(),
    },
    {
      name: 'S2S = 1 with STALL_MODEL = 0b01',
      opts: { stallModel: 'none' },
      build: (r) => s2Ste(r, { S2S: 1 }),
      event: badSte(),
    },
    {
      name: 'S2S = 0 with STALL_MODEL = 0b10',
      opts: { stallModel: 'force' },
      build: (r) => s2Ste(r, { S2S: 0 }),
      event: badSte(),
    },
    {
      name: 'S2HA = 1 without HTTU',
      opts: { httu: 0 },
      build: (r) => s2Ste(r, { S2HA: 1 }),
      event: badSte(),
    },
    {
      name: 'S2HD = 1 with HTTU access flag only',
      opts: { httu: 1 },
      build: (r) => s2Ste(r, { S2HA: 1, S2HD: 1 }),
      event: badSte(),
    },
    {
      name: 'S2VMID[15:8] != 0 without IDR0.VMID16',
      opts: { vmid16: false },
      build: (r) => s2Ste(r, { S2VMID: 0x100 }),
      event: badSte(),
    },
    {
      name: 'S1ContextPtr beyond the OAS (48 bits)',
      build: (r) => void s1(r, { ste: { S1ContextPtr: 1n << 48n } }),
      event: badSte(),
    },
    {
      name: 'EATS 0b11 without DPT behaves as 0b00',
      build: (r) => void s1(r, { ste: { EATS: 3 } }),
      pa: PA + 0x10,
    },
    {
      name: 'EATS 0b10 (split-stage) without stage 1 and stage 2 both translating',
      build: (r) => s2Ste(r, { EATS: 2 }),
      event: badSte(),
    },
    {
      name: 'EATS 0b01 with stage 2 and S2S = 1',
      build: (r) => s2Ste(r, { EATS: 1, S2S: 1 }),
      event: badSte(),
    },
    {
      name: 'EATS is IGNORED without IDR0.ATS',
      opts: { ats: false },
      build: (r) => {
        s2Ste(r, { EATS: 2 });
        return { iova: 0x1010n };
      },
      pa: PA + 0x10,
    },
  ]);
});

describe('C_BAD_CD, F_CD_FETCH', () => {
  run([
    { name: 'V = 0', build: (r) => void s1(r, { cd: { V: 0 } }), event: badCd() },
    {
      name: 'V = 0, with a SubstreamID',
      build: (r) => {
        s1Stream(r, SID, { cdmax: 1, ssids: [0] });
        return { ssid: 1 };
      },
      event: badCd({ SSV: 1, SubstreamID: 1 }),
    },
    {
      name: 'AA64 = 0 (VMSAv8-32 LPAE not implemented)',
      build: (r) => void s1(r, { cd: { AA64: 0 } }),
      event: badCd(),
    },
    { name: 'T0SZ = 40 (> 39)', build: (r) => void s1(r, { cd: { T0SZ: 40 } }), event: badCd() },
    { name: 'T0SZ = 15 (< 16)', build: (r) => void s1(r, { cd: { T0SZ: 15 } }), event: badCd() },
    {
      name: 'T0SZ = 12 with 64 KiB but without IDR5.VAX',
      opts: { vax52: false, oasBits: 52 },
      build: (r) => void s1(r, { cd: { T0SZ: 12, TG0: 1 } }),
      event: badCd(),
    },
    { name: 'TG0 = 0b11 (reserved)', build: (r) => void s1(r, { cd: { TG0: 3 } }), event: badCd() },
    {
      name: 'TG0 = 16 KiB without IDR5.GRAN16K',
      opts: { gran16k: false },
      build: (r) => void s1(r, { cd: { TG0: 2 } }),
      event: badCd(),
    },
    {
      name: 'TG1 = 0b00 (reserved) with EPD1 = 0',
      build: (r) => void s1(r, { cd: { EPD1: 0, TG1: 0, T1SZ: 16 } }),
      event: badCd(),
    },
    {
      name: 'EPD0 = 1: TG0 and T0SZ are IGNORED',
      build: (r) => go(s1(r, { cd: { EPD0: 1, TG0: 3, T0SZ: 63 } }), { iova: VA }),
      event: ['F_TRANSLATION', tf(VA)],
    },
    {
      name: 'ENDI = 1 (big-endian not supported)',
      build: (r) => void s1(r, { cd: { ENDI: 1 } }),
      event: badCd(),
    },
    {
      name: 'ENDI is IGNORED when EPD0 = EPD1 = 1',
      build: (r) => void s1(r, { cd: { ENDI: 1, EPD0: 1, EPD1: 1 } }),
      event: ['F_TRANSLATION', tf(VA + 0x10n)],
    },
    { name: 'A = 0 with IDR0.TERM_MODEL = 1', build: (r) => void s1(r, { cd: { A: 0 } }), event: badCd() },
    {
      name: 'S = 1 with STALL_MODEL = 0b01',
      opts: { stallModel: 'none' },
      build: (r) => void s1(r, { cd: { S: 1 } }),
      event: badCd(),
    },
    {
      name: 'S = 1 through an STE with S1STALLD = 1',
      build: (r) => void s1(r, { cd: { S: 1 }, ste: { S1STALLD: 1 } }),
      event: badCd(),
    },
    {
      name: 'S = 0 with STALL_MODEL = 0b10 (forced stalls)',
      opts: { stallModel: 'force' },
      build: (r) => void s1(r, { cd: { S: 0 } }),
      event: badCd(),
    },
    {
      name: 'ASID[15:8] != 0 without IDR0.ASID16',
      opts: { asid16: false },
      build: (r) => void s1(r, { cd: { ASID: 0x100 } }),
      event: badCd(),
    },
    {
      name: 'HA = 1 without HTTU',
      opts: { httu: 0 },
      build: (r) => void s1(r, { cd: { HA: 1 } }),
      event: badCd(),
    },
    {
      name: 'HD = 1 with HTTU access flag only',
      opts: { httu: 1 },
      build: (r) => void s1(r, { cd: { HA: 1, HD: 1 } }),
      event: badCd(),
    },
    {
      name: 'TTB0 beyond the effective IPS (32 bits)',
      build: (r) => void s1(r, { cd: { IPS: 0, TTB0: 0x1_0000_0000n } }),
      event: badCd(),
    },
    {
      name: 'CD not backed: F_CD_FETCH with the CD address',
      build: (r) => r.drv.writeSte(SID, { V: 1, Config: 5, S1ContextPtr: 0x3_0000_0040n }),
      event: ['F_CD_FETCH', { EventID: 0x09, StreamID: SID, SSV: 0, FetchAddr: 0x3_0000_0040n }],
    },
    {
      name: 'linear CD table not backed, SubstreamID 3: F_CD_FETCH at CD 3',
      build: (r) => {
        r.drv.writeSte(SID, { V: 1, Config: 5, S1ContextPtr: 0x3_0000_0000n, S1CDMax: 2 });
        return { ssid: 3 };
      },
      event: ['F_CD_FETCH', { StreamID: SID, SSV: 1, SubstreamID: 3, FetchAddr: 0x3_0000_00c0n }],
    },
    {
      name: '2-level: L1CD table not backed: F_CD_FETCH at the L1CD',
      build: (r) => {
        r.drv.writeSte(SID, { V: 1, Config: 5, S1ContextPtr: 0x3_0000_0000n, S1CDMax: 8, S1Fmt: 1 });
        return { ssid: 0x85 };
      },
      event: ['F_CD_FETCH', { SSV: 1, SubstreamID: 0x85, FetchAddr: 0x3_0000_0010n }],
    },
    {
      name: '2-level: L1CD.L2Ptr beyond the OAS: C_BAD_SUBSTREAMID',
      build: (r) => {
        const l1 = r.alloc.alloc(64, 64);
        r.mem.writeQwords(l1 + 8, [(1n << 49n) | 1n]);
        r.drv.writeSte(SID, { V: 1, Config: 5, S1ContextPtr: BigInt(l1), S1CDMax: 8, S1Fmt: 1 });
        return { ssid: 0x45 };
      },
      event: ['C_BAD_SUBSTREAMID', { SubstreamID: 0x45, StreamID: SID }],
    },
    {
      name: '2-level: L1CD.L2Ptr not backed: F_CD_FETCH at the CD',
      build: (r) => {
        const l1 = r.alloc.alloc(64, 64);
        r.mem.writeQwords(l1 + 8, [0x4_0000_0000n | 1n]);
        r.drv.writeSte(SID, { V: 1, Config: 5, S1ContextPtr: BigInt(l1), S1CDMax: 8, S1Fmt: 1 });
        return { ssid: 0x45 };
      },
      event: ['F_CD_FETCH', { SSV: 1, SubstreamID: 0x45, FetchAddr: 0x4_0000_0000n + 5n * 64n }],
    },
  ]);
});

const RW = P_R | P_W | U_R | U_W | U_X;

describe('translation faults: F_WALK_EABT, F_TRANSLATION, F_ADDR_SIZE', () => {
  run([
    {
      name: 'TTB0 not backed: F_WALK_EABT, CLASS TT, FetchAddr = level-0 descriptor',
      build: (r) => void s1(r, { cd: { TTB0: 0x5_0000_0000n }, map: () => {} }),
      event: [
        'F_WALK_EABT',
        {
          EventID: 0x0b,
          StreamID: SID,
          SSV: 0,
          S2: 0,
          CLASS: CLASS.TT,
          RnW: 1,
          PnU: 1,
          InD: 0,
          InputAddr: VA + 0x10n,
          FetchAddr: 0x5_0000_0000n + ((VA >> 39n) & 0x1ffn) * 8n,
        },
      ],
    },
    {
      name: 'level-2 table descriptor pointing at unbacked memory: F_WALK_EABT at the level-3 descriptor',
      build: (r) => {
        const pt = s1(r);
        const d = entryAddr(r, pt, VA, 2);
        r.mem.writeQwords(d, [0x7_0000_0000n | 3n]);
        return { acc: ACC_W | ACC_U };
      },
      event: [
        'F_WALK_EABT',
        {
          S2: 0,
          CLASS: CLASS.TT,
          RnW: 0,
          PnU: 0,
          InD: 0,
          InputAddr: VA + 0x10n,
          FetchAddr: 0x7_0000_0000n + ((VA >> 12n) & 0x1ffn) * 8n,
        },
      ],
    },
    {
      name: 'stage 2 only, S2TTB not backed: F_WALK_EABT, S2 = 1, CLASS IN',
      build: (r) => {
        s2Ste(r, { S2TTB: 0x6_0000_0000n });
        return { iova: 0x1234n };
      },
      event: ['F_WALK_EABT', { S2: 1, CLASS: CLASS.IN, InputAddr: 0x1234n, FetchAddr: 0x6_0000_0000n }],
    },
    {
      name: 'invalid leaf descriptor',
      build: (r) => go(s1(r), { iova: VA + 0x1008n }),
      event: ['F_TRANSLATION', tf(VA + 0x1008n)],
    },
    {
      name: 'invalid, instruction fetch',
      build: (r) => go(s1(r), { iova: VA + 0x2000n, acc: ACC_X }),
      event: ['F_TRANSLATION', tf(VA + 0x2000n, { acc: ACC_X })],
    },
    {
      name: 'invalid, unprivileged instruction write (InD = 0 for writes)',
      build: (r) => go(s1(r), { iova: VA + 0x2000n, acc: ACC_X | ACC_W | ACC_U }),
      event: ['F_TRANSLATION', tf(VA + 0x2000n, { acc: ACC_X | ACC_W | ACC_U })],
    },
    {
      name: 'VA above the T0SZ range (T0SZ 25, VA bit 39 set)',
      build: (r) => go(s1(r, { ias: 39 }), { iova: VA | (1n << 39n) }),
      event: ['F_TRANSLATION', tf(VA | (1n << 39n))],
    },
    {
      name: 'TTB1 range with EPD1 = 1',
      build: (r) => go(s1(r), { iova: 0xffff_8000_0000_0000n }),
      event: ['F_TRANSLATION', tf(0xffff_8000_0000_0000n)],
    },
    {
      name: 'EPD0 = 1: TTB0 walks disabled',
      build: (r) => void s1(r, { cd: { EPD0: 1 } }),
      event: ['F_TRANSLATION', tf(VA + 0x10n)],
    },
    {
      name: 'page descriptor format (bit 1 = 1) is required at level 3',
      build: (r) => {
        const pt = s1(r);
        const d = entryAddr(r, pt, VA, 3);
        r.mem.writeQwords(d, [q(r, d) & ~2n]);
      },
      event: ['F_TRANSLATION', tf(VA + 0x10n)],
    },
    {
      name: 'block descriptor at level 0 (4 KiB granule) is invalid',
      build: (r) => {
        const pt = s1(r);
        const d = entryAddr(r, pt, VA, 0);
        r.mem.writeQwords(d, [0x701n]); // block, AF, output 0
      },
      event: ['F_TRANSLATION', tf(VA + 0x10n)],
    },
    {
      name: 'leaf output beyond IPS (32 bits): F_ADDR_SIZE',
      build: (r) => void s1(r, { cd: { IPS: 0 }, map: (pt) => pt.map(VA, 0x1_0000_0000n, 0x1000n) }),
      event: ['F_ADDR_SIZE', { EventID: 0x11, ...tf(VA + 0x10n) }],
    },
    {
      name: 'next-level table address beyond IPS: F_ADDR_SIZE',
      build: (r) => {
        const pt = s1(r, { cd: { IPS: 0 } });
        const d = entryAddr(r, pt, VA, 1);
        r.mem.writeQwords(d, [q(r, d) | (1n << 40n)]);
      },
      event: ['F_ADDR_SIZE', tf(VA + 0x10n)],
    },
    {
      name: 'stage 2 only: IPA above the S2T0SZ range (40 bits): stage-2 F_TRANSLATION',
      build: (r) => {
        s2Ste(r, {});
        return { iova: 0x100_0000_1234n };
      },
      event: ['F_TRANSLATION', tf(0x100_0000_1234n, { s2: 1, ipa: 0x100_0000_1000n })],
    },
    {
      name: 'stage 2 only: input above the IAS (48 bits): stage-1 F_ADDR_SIZE',
      build: (r) => {
        s2Ste(r, {});
        return { iova: 0x1_0000_0000_1234n, acc: ACC_W };
      },
      event: ['F_ADDR_SIZE', tf(0x1_0000_0000_1234n, { acc: ACC_W })],
    },
    {
      name: 'stage-2 output beyond S2PS (32 bits): F_ADDR_SIZE, S2 = 1',
      build: (r) => {
        const pt = s2Table(r, 12, 40, 1);
        pt.map(0x5000n, 0x1_0000_0000n, 0x1000n);
        r.drv.writeSte(SID, { V: 1, Config: 6, ...s2Fields(pt, 1, { S2PS: 0 }) });
        return { iova: 0x5008n, acc: ACC_W };
      },
      event: ['F_ADDR_SIZE', tf(0x5008n, { acc: ACC_W, s2: 1, ipa: 0x5000n })],
    },
  ]);
});

describe('access flag, permissions, HTTU', () => {
  let afDesc = 0;
  let leaf = 0;
  run([
    {
      name: 'AF = 0: F_ACCESS',
      build: (r) => void s1(r, { map: (pt) => pt.map(VA, BigInt(PA), 0x1000n, { af: false }) }),
      event: ['F_ACCESS', { EventID: 0x12, ...tf(VA + 0x10n) }],
    },
    {
      name: 'AF = 0 with CD.AFFD = 1: translates, descriptor untouched',
      build: (r) => {
        const pt = s1(r, { cd: { AFFD: 1 }, map: (p) => p.map(VA, BigInt(PA), 0x1000n, { af: false }) });
        afDesc = entryAddr(r, pt, VA, 3);
      },
      pa: PA + 0x10,
      check: (r) => expect(q(r, afDesc) & 0x400n).toBe(0n),
    },
    {
      name: 'AF = 0 with CD.HA = 1: translates and the SMMU sets AF in memory',
      build: (r) => {
        const pt = s1(r, { cd: { HA: 1 }, map: (p) => p.map(VA, BigInt(PA), 0x1000n, { af: false }) });
        afDesc = entryAddr(r, pt, VA, 3);
        leaf = Number(q(r, afDesc) & 0xffff_ffffn);
      },
      pa: PA + 0x10,
      check: (r) => expect(Number(q(r, afDesc) & 0xffff_ffffn)).toBe((leaf | 0x400) >>> 0),
    },
    {
      name: 'stage 2 AF = 0: F_ACCESS, S2 = 1',
      build: (r) => {
        const pt = s2Table(r, 12, 40, 1);
        pt.map(0x7000n, BigInt(PA), 0x1000n, { af: false });
        r.drv.writeSte(SID, { V: 1, Config: 6, ...s2Fields(pt, 1) });
        return { iova: 0x7abcn };
      },
      event: ['F_ACCESS', tf(0x7abcn, { s2: 1, ipa: 0x7000n })],
    },
    {
      name: 'stage 2 AF = 0 with S2HA = 1: the SMMU sets AF',
      build: (r) => {
        const pt = s2Table(r, 12, 40, 1);
        pt.map(0x7000n, BigInt(PA), 0x1000n, { af: false });
        r.drv.writeSte(SID, { V: 1, Config: 6, ...s2Fields(pt, 1, { S2HA: 1 }) });
        afDesc = entryAddr(r, pt, 0x7000n, 3);
        return { iova: 0x7abcn };
      },
      pa: PA + 0xabc,
      check: (r) => expect(q(r, afDesc) & 0x400n).toBe(0x400n),
    },
    {
      name: 'write to a read-only page (AP 0b11): F_PERMISSION',
      build: (r) => go(s1(r, { map: (pt) => pt.map(VA, BigInt(PA), 0x1000n, { ap: 3 }) }), { acc: ACC_W }),
      event: ['F_PERMISSION', { EventID: 0x13, ...tf(VA + 0x10n, { acc: ACC_W }) }],
    },
    {
      name: 'privileged write to an EL1 read-only page (AP 0b10)',
      build: (r) => go(s1(r, { map: (pt) => pt.map(VA, BigInt(PA), 0x1000n, { ap: 2 }) }), { acc: ACC_W }),
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_W })],
    },
    {
      name: 'unprivileged read of a privileged-only page (AP 0b00)',
      build: (r) => go(s1(r, { map: (pt) => pt.map(VA, BigInt(PA), 0x1000n, { ap: 0 }) }), { acc: ACC_U }),
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_U })],
    },
    {
      name: 'privileged read of a privileged-only page (AP 0b00)',
      build: (r) => void s1(r, { map: (pt) => pt.map(VA, BigInt(PA), 0x1000n, { ap: 0 }) }),
      pa: PA + 0x10,
      perm: P_R | P_W | P_X | U_X,
    },
    {
      name: 'STE.PRIVCFG = unprivileged turns a privileged read into an unprivileged one',
      build: (r) =>
        void s1(r, { ste: { PRIVCFG: 2 }, map: (pt) => pt.map(VA, BigInt(PA), 0x1000n, { ap: 0 }) }),
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_U })],
    },
    {
      name: 'unprivileged instruction fetch with UXN',
      build: (r) =>
        go(s1(r, { map: (pt) => pt.map(VA, BigInt(PA), 0x1000n, { ap: 3, uxn: true }) }), {
          acc: ACC_X | ACC_U,
        }),
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_X | ACC_U })],
    },
    {
      name: 'privileged instruction fetch with PXN',
      build: (r) =>
        go(s1(r, { map: (pt) => pt.map(VA, BigInt(PA), 0x1000n, { ap: 3, pxn: true }) }), { acc: ACC_X }),
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_X })],
    },
    {
      name: 'privileged instruction fetch from an EL0-writable page (implicit PXN)',
      build: (r) => go(s1(r), { acc: ACC_X }),
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_X })],
    },
    {
      name: 'STE.INSTCFG = instruction turns a data read into an instruction fetch',
      build: (r) => void s1(r, { ste: { INSTCFG: 3 } }),
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_X })],
    },
    {
      name: 'APTable[1] (read-only below) on the level-2 table descriptor: write faults',
      build: (r) => {
        const pt = s1(r);
        const d = entryAddr(r, pt, VA, 2);
        r.mem.writeQwords(d, [q(r, d) | (1n << 62n)]);
        return { acc: ACC_W };
      },
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_W })],
    },
    {
      name: 'APTable[0] (no EL0 access below): unprivileged read faults',
      build: (r) => {
        const pt = s1(r);
        const d = entryAddr(r, pt, VA, 1);
        r.mem.writeQwords(d, [q(r, d) | (1n << 61n)]);
        return { acc: ACC_U };
      },
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_U })],
    },
    {
      name: 'APTable ignored with CD.HAD0 = 1',
      build: (r) => {
        const pt = s1(r, { cd: { HAD0: 1 } });
        const d = entryAddr(r, pt, VA, 2);
        r.mem.writeQwords(d, [q(r, d) | (3n << 61n)]);
        return { acc: ACC_W | ACC_U };
      },
      pa: PA + 0x10,
      perm: RW,
    },
    {
      name: 'UXNTable: unprivileged instruction fetch faults',
      build: (r) => {
        const pt = s1(r, { map: (p) => p.map(VA, BigInt(PA), 0x1000n, { ap: 3 }) });
        const d = entryAddr(r, pt, VA, 0);
        r.mem.writeQwords(d, [q(r, d) | (1n << 60n)]);
        return { acc: ACC_X | ACC_U };
      },
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_X | ACC_U })],
    },
    {
      name: 'stage 2 S2AP read-only: write faults at stage 2',
      build: (r) => {
        const pt = s2Table(r, 12, 40, 1);
        pt.map(0x7000n, BigInt(PA), 0x1000n, { s2ap: 1 });
        r.drv.writeSte(SID, { V: 1, Config: 6, ...s2Fields(pt, 1) });
        return { iova: 0x7004n, acc: ACC_W };
      },
      event: ['F_PERMISSION', tf(0x7004n, { acc: ACC_W, s2: 1, ipa: 0x7000n })],
    },
    {
      name: 'HD: write to a writable-clean page (DBM, AP[2] = 1) succeeds and clears AP[2] in memory',
      build: (r) => {
        const pt = s1(r, {
          cd: { HA: 1, HD: 1 },
          map: (p) => p.map(VA, BigInt(PA), 0x1000n, { ap: 2, dbm: true }),
        });
        afDesc = entryAddr(r, pt, VA, 3);
        leaf = Number(q(r, afDesc) & 0xffff_ffffn);
        expect(tx(r, SID, -1, VA, 0).perm & P_W).toBe(0); // a read leaves it clean
        expect(Number(q(r, afDesc) & 0xffff_ffffn)).toBe(leaf);
        return { acc: ACC_W };
      },
      pa: PA + 0x10,
      check: (r) => expect(Number(q(r, afDesc) & 0xffff_ffffn)).toBe((leaf & ~0x80) >>> 0),
    },
    {
      name: 'DBM without CD.HD: write to AP[2] = 1 faults',
      build: (r) =>
        go(s1(r, { cd: { HA: 1 }, map: (p) => p.map(VA, BigInt(PA), 0x1000n, { ap: 2, dbm: true }) }), {
          acc: ACC_W,
        }),
      event: ['F_PERMISSION', tf(VA + 0x10n, { acc: ACC_W })],
    },
    {
      name: 'stage 2 HD: write to S2AP read-only with DBM sets S2AP[1] in memory',
      build: (r) => {
        const pt = s2Table(r, 12, 40, 1);
        pt.map(0x7000n, BigInt(PA), 0x1000n, { s2ap: 1, dbm: true });
        r.drv.writeSte(SID, { V: 1, Config: 6, ...s2Fields(pt, 1, { S2HA: 1, S2HD: 1 }) });
        afDesc = entryAddr(r, pt, 0x7000n, 3);
        return { iova: 0x7004n, acc: ACC_W };
      },
      pa: PA + 4,
      check: (r) => expect(q(r, afDesc) & 0x80n).toBe(0x80n),
    },
  ]);
});

describe('fault configuration: R, A', () => {
  run([
    {
      name: 'CD.R = 0: F_TRANSLATION terminates without a record',
      build: (r) => go(s1(r, { cd: { R: 0 } }), { iova: VA + 0x5000n }),
      unrecorded: 0x10,
    },
    {
      name: 'CD.R = 0 does not suppress F_WALK_EABT',
      build: (r) => void s1(r, { cd: { R: 0, TTB0: 0x5_0000_0000n } }),
      event: ['F_WALK_EABT', { S2: 0, CLASS: CLASS.TT }],
    },
    {
      name: 'STE.S2R = 0: stage-2 F_TRANSLATION terminates without a record',
      build: (r) => {
        s2Ste(r, { S2R: 0 });
        return { iova: 0x9000n };
      },
      unrecorded: 0x10,
    },
    {
      name: 'CD.A = 0 (TERM_MODEL = 0): terminated as RAZ/WI, recorded',
      opts: { termAbortOnly: false },
      build: (r) => go(s1(r, { cd: { A: 0 } }), { iova: VA + 0x5000n }),
      status: ST_RAZWI,
      event: ['F_TRANSLATION', tf(VA + 0x5000n)],
    },
  ]);
  it('CD.A = 0 reports ST_RAZWI to the device', () => {
    const r = rig({ termAbortOnly: false }, {}, 4);
    s1(r, { cd: { A: 0, R: 0 } });
    const t = tx(r, SID, -1, VA + 0x5000n, ACC_W);
    expect({ status: t.status, event: t.event, recorded: t.recorded }).toEqual({
      status: ST_RAZWI,
      event: 0x10,
      recorded: false,
    });
    expectNoEvent(r);
  });
});

describe('granules, 52-bit addresses, TTB1 and TBI', () => {
  run([
    {
      name: '16 KiB granule, 48-bit VA (level 0 start): 16 KiB page',
      build: (r) =>
        go(s1(r, { granule: 14, map: (pt) => pt.map(0xabcd_1234_4000n, 0x9abc_8000n, 0x4000n) }), {
          iova: 0xabcd_1234_7ffcn,
        }),
      pa: 0x9abc_bffc,
    },
    {
      name: '16 KiB granule: 32 MiB block at level 2',
      build: (r) =>
        go(
          s1(r, { granule: 14, map: (pt) => pt.map(0x8000_0000_0000n, 0x1_0200_0000n, 0x200_0000n, {}, 25) }),
          { iova: 0x8000_01ab_cdefn },
        ),
      pa: 0x1_03ab_cdef,
    },
    {
      name: '64 KiB granule, 48-bit VA (level 1 start): 64 KiB page',
      build: (r) =>
        go(s1(r, { granule: 16, map: (pt) => pt.map(0xfedc_ba98_0000n, 0x9000_0000n, 0x1_0000n) }), {
          iova: 0xfedc_ba98_fff0n,
        }),
      pa: 0x9000_fff0,
    },
    {
      name: '64 KiB granule: 512 MiB block at level 2',
      build: (r) =>
        go(s1(r, { granule: 16, map: (pt) => pt.map(0x2000_0000n, 0x4_0000_0000n, 0x2000_0000n, {}, 29) }), {
          iova: 0x3fff_fff8n,
        }),
      pa: 0x4_1fff_fff8,
    },
    {
      name: '4 KiB granule: 1 GiB block at level 1',
      build: (r) =>
        go(s1(r, { map: (pt) => pt.map(0x40_0000_0000n, 0xc000_0000n, 0x4000_0000n, {}, 30) }), {
          iova: 0x40_1234_5678n,
        }),
      pa: 0xd234_5678,
    },
    {
      name: '52-bit VA and PA: OAS 52, 64 KiB granule, T0SZ 12 (IDR5.VAX), tables above 2^48',
      opts: { oasBits: 52 },
      build: (r) => {
        const hi = 0x8_0000_0000_0000; // 2^51: a region only a 52-bit PA reaches
        r.mem.addRegion(hi, 1 << 20, 'high');
        const pt = new PageTable(r.mem, new PageAllocator(r.mem, hi, 1 << 20), 16, 52, 1);
        pt.map(0xf_abcd_1234_0000n, 0xf_1234_5678_0000n, 0x1_0000n);
        const cdt = r.drv.makeCdTable(0, 0);
        cdt.writeCd(SID, 0, cdFields(pt, 1, { IPS: 6 }), false);
        r.drv.writeSte(SID, { V: 1, Config: 5, ...cdt.steFields() });
        expect(pt.root).toBe(hi);
        return { iova: 0xf_abcd_1234_fedcn };
      },
      pa: 0xf_1234_5678_fedc,
    },
    {
      name: 'IPS 52 with a 4 KiB granule: TTB0 above 48 bits is C_BAD_CD',
      opts: { oasBits: 52 },
      build: (r) => void s1(r, { cd: { IPS: 6, TTB0: 1n << 48n } }),
      event: badCd(),
    },
    {
      name: 'IPS 52 with a 4 KiB granule: 48-bit output translates',
      opts: { oasBits: 52 },
      build: (r) => void s1(r, { cd: { IPS: 6 }, map: (pt) => pt.map(VA, 0xffff_ffff_f000n, 0x1000n) }),
      pa: 0xffff_ffff_f010,
    },
    {
      name: 'TTB1 with TBI1: tagged upper-range address translates',
      build: (r) => {
        const pt1 = s1Table(r);
        pt1.map(0xffff_ffff_8000_0000n, 0x9100_0000n, 0x1000n);
        s1(r, { cd: { EPD1: 0, T1SZ: 16, TG1: TG1[12], TTB1: BigInt(pt1.root), TBI: 2 } });
        return { iova: 0xa5ff_ffff_8000_0123n };
      },
      pa: 0x9100_0123,
    },
    {
      name: 'TTB1 without TBI1: the same tagged address faults (InputAddr keeps the tag)',
      build: (r) => {
        const pt1 = s1Table(r);
        pt1.map(0xffff_ffff_8000_0000n, 0x9100_0000n, 0x1000n);
        s1(r, { cd: { EPD1: 0, T1SZ: 16, TG1: TG1[12], TTB1: BigInt(pt1.root), TBI: 1 } });
        return { iova: 0xa5ff_ffff_8000_0123n };
      },
      event: ['F_TRANSLATION', tf(0xa5ff_ffff_8000_0123n)],
    },
    {
      name: 'TTB1 with TBI1: unmapped tagged address faults with the tagged InputAddr',
      build: (r) => {
        const pt1 = s1Table(r);
        s1(r, { cd: { EPD1: 0, T1SZ: 16, TG1: TG1[12], TTB1: BigInt(pt1.root), TBI: 2 } });
        return { iova: 0x5aff_ffff_9000_0000n, acc: ACC_W };
      },
      event: ['F_TRANSLATION', tf(0x5aff_ffff_9000_0000n, { acc: ACC_W })],
    },
    {
      name: 'TBI0: tagged lower-range address translates through TTB0',
      build: (r) => go(s1(r, { cd: { TBI: 1 } }), { iova: (0x7fn << 56n) | (VA + 0x44n) }),
      pa: PA + 0x44,
    },
  ]);
});

describe('nested: stage-2 faults on the stage-1 walk (CLASS CD / TT / IN)', () => {
  /** Nested stream SID whose CD and stage-1 tables sit at IPA = PA - OFFSET (stage 2 maps IPA 0.. -> PA base). */
  function nested(r: Rig, o: { unmapIpa?: bigint; cdIpa?: bigint } = {}) {
    const base = r.alloc.alloc(2 << 20, 2 << 20); // guest RAM, 2 MiB
    const s2 = s2Table(r, 12, 40, 1);
    s2.map(0n, BigInt(base), 0x20_0000n);
    s2.map(0x100_0000n, BigInt(PA), 0x1000n); // the guest's DMA page at IPA 16 MiB
    if (o.unmapIpa !== undefined) s2.unmap(o.unmapIpa);
    const ipa = (pa: number) => BigInt(pa - base);
    // Guest stage-1 table: 4 levels at base + 0x1000.. ; CD at base + 0x100.
    const lv = [0x1000, 0x2000, 0x3000, 0x4000].map((x) => base + x);
    const sh = [39n, 30n, 21n, 12n];
    for (let i = 0; i < 3; i++)
      r.mem.writeQwords(lv[i]! + Number((VA >> sh[i]!) & 0x1ffn) * 8, [ipa(lv[i + 1]!) | 3n]);
    r.mem.writeQwords(lv[3]! + Number((VA >> 12n) & 0x1ffn) * 8, [0x100_0000n | 0x743n]);
    const cd = base + 0x100;
    r.mem.writeQwords(cd, encode(CDL, cdFieldsRaw(ipa(lv[0]!))));
    r.drv.writeSte(SID, { V: 1, Config: 7, S1ContextPtr: o.cdIpa ?? ipa(cd), ...s2Fields(s2, 1) });
    return { base };
  }
  run([
    { name: 'translates', ram: 8, build: (r) => void nested(r), pa: PA + 0x10 },
    {
      name: 'CD IPA unmapped at stage 2: F_TRANSLATION, S2 = 1, CLASS CD, IPA = CD address',
      ram: 8,
      build: (r) => void nested(r, { cdIpa: 0x30_0040n }),
      event: ['F_TRANSLATION', tf(VA + 0x10n, { s2: 1, cls: CLASS.CD, ipa: 0x30_0000n })],
    },
    {
      name: 'level-2 table IPA unmapped at stage 2: F_TRANSLATION, S2 = 1, CLASS TT',
      ram: 8,
      build: (r) => void nested(r, { unmapIpa: 0x3000n }),
      event: ['F_TRANSLATION', tf(VA + 0x10n, { s2: 1, cls: CLASS.TT, ipa: 0x3000n })],
    },
    {
      name: 'output IPA unmapped at stage 2: F_TRANSLATION, S2 = 1, CLASS IN, IPA = output',
      ram: 8,
      build: (r) => void nested(r, { unmapIpa: 0x100_0000n }),
      event: ['F_TRANSLATION', tf(VA + 0x10n, { s2: 1, cls: CLASS.IN, ipa: 0x100_0000n })],
    },
  ]);
});

function cdFieldsRaw(ttb0: bigint): Fields {
  return { V: 1, T0SZ: 16, TG0: TG0[12], EPD1: 1, IPS: 5, AA64: 1, R: 1, A: 1, ASID: 5, TTB0: ttb0 };
}

describe('StreamWorld (STE.STRW, SMMU_CR2.E2H; §5.2 STRW)', () => {
  const e2h = (r: Rig) =>
    withSmmuDisabled(r, () => r.drv.w32('CR2', regValue('CR2', { E2H: 1, RECINVSID: 1, PTM: 1 })));
  const privOnly = (pt: PageTable) => pt.map(VA, BigInt(PA), 0x1000n, { ap: 0 });
  run([
    {
      name: 'STRW is RES0 without IDR0.HYP: STRW 0b10 is ignored (EL1)',
      build: (r) => void s1(r, { ste: { STRW: 2 } }),
      pa: PA + 0x10,
    },
    {
      name: 'STRW is RES0 without IDR0.HYP: STRW 0b01 is ignored (EL1)',
      build: (r) => void s1(r, { ste: { STRW: 1 } }),
      pa: PA + 0x10,
    },
    {
      name: 'HYP: STRW 0b01 is ILLEGAL',
      opts: { hyp: true },
      build: (r) => void s1(r, { ste: { STRW: 1 } }),
      event: badSte(),
    },
    {
      name: 'HYP: STRW 0b11 is ILLEGAL (even with CR2.E2H = 1)',
      opts: { hyp: true },
      build: (r) => {
        e2h(r);
        s1(r, { ste: { STRW: 3 } });
      },
      event: badSte(),
    },
    {
      name: 'HYP: STRW is IGNORED with stage 2 (Config S2, STRW 0b11)',
      opts: { hyp: true },
      build: (r) => {
        s2Ste(r, { STRW: 3 });
        return { iova: 0x1010n };
      },
      pa: PA + 0x10,
    },
    {
      name: 'HYP, STRW 0b10, E2H 0 (NS-EL2): one privilege level, unprivileged accesses act as privileged',
      opts: { hyp: true },
      build: (r) => go(s1(r, { ste: { STRW: 2 }, map: privOnly }), { acc: ACC_U }),
      pa: PA + 0x10,
    },
  ]);
  // EL2-E2H (STRW 0b10 with CR2.E2H = 1) is an EL1-like regime with two VA ranges and two privilege
  // levels in the EL2 TLB: the model treats it as plain NS-EL2 (one range, one privilege level).
  it('HYP, STRW 0b10, E2H 1 (NS-EL2-E2H): the TTB1 range translates', () => {
    const r = rig({ hyp: true }, {}, 4);
    e2h(r);
    const pt1 = s1Table(r);
    pt1.map(0xffff_ffff_8000_0000n, 0x9100_0000n, 0x1000n);
    s1(r, { ste: { STRW: 2 }, cd: { EPD1: 0, T1SZ: 16, TG1: TG1[12], TTB1: BigInt(pt1.root) } });
    expect(tx(r, SID, -1, 0xffff_ffff_8000_0010n, 0).pa).toBe(0x9100_0010);
  });
  it('HYP, STRW 0b10, E2H 1 (NS-EL2-E2H): AP[1] = 0 denies unprivileged access', () => {
    const r = rig({ hyp: true }, {}, 4);
    e2h(r);
    s1(r, { ste: { STRW: 2 }, map: privOnly });
    expect(tx(r, SID, -1, VA, ACC_U).event).toBe(0x13);
  });
});
