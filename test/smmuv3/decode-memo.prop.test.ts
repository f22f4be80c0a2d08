// Walk-every-access mode keeps decoded STEs and CDs in a memo (config.ts loadConfig), reused only
// when the words read from memory equal those it decoded, under the same decoded STE. These
// properties rewrite STEs and CDs behind the SMMU's back (no CFGI, no TLBI) across more CDs than the
// memo holds (its size held at 64 STEs / 512 CDs), and again with the memo growing with the working
// set while they run, with CDs of identical bytes under different STEs and CD variants that differ
// in each one of the six words the model reads, and check that every transaction follows what
// memory says at that moment.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVT } from '../../src/smmuv3/events.ts';
import { cdFields, rig, s1Table, s2Fields, s2Table, ST_ABORT, ST_OK, tx, type Rig } from './harness.ts';
import type { CdTable, PageTable } from '../../src/driver/smmuv3-driver.ts';

const STREAMS = 4;
const CDMAX = 8; // 256 CDs per stream: 1024 in all, twice the memo's first (and, held, only) 512 entries
const TABLES = 3;
/** One IOVA in the TTB0 range and one in the TTB1 range (VA[63:48] all ones). */
const IOVA0 = 0x5000n;
const IOVA1 = 0xffff_ffff_ffff_5000n;
const outPa = (t: number, hiRange: boolean) => 0x4080_0000 + t * 0x1_0000 + (hiRange ? 0x8000 : 0);
/** Stage-2-only streams: two stage-2 tables map IOVA0 to different PAs. */
const s2Pa = (t: number) => 0x40c0_0000 + t * 0x1_0000;

/**
 * A CD: a pair of page tables (TTB0, TTB1), or a variant that differs from a good CD in one word:
 * V = 0 (word 0), EPD1 = 1 (word 0), AA64 = 0 (word 1), TTB0 beyond IPS (word 3), TTB1 beyond IPS
 * (word 5). TTB0 / TTB1 low words (2 and 4) differ between tables.
 */
type CdState = { t0: number; t1: number; bad: 'none' | 'V' | 'EPD1' | 'AA64' | 'TTB0' | 'TTB1' };
/**
 * An STE. Stage-2 fields are written whatever the Config (they are ignored for stage 1 only, except
 * S2VMID): `s2t` picks the stage-2 table (word 6), `s2bad` makes them ILLEGAL in one word: S2VMID
 * above 8 bits without VMID16 (word 4), S2T0SZ out of range (word 5), S2TTB beyond S2PS (word 7).
 */
interface SteState {
  config: 'S1' | 'S2' | 'bypass' | 'abort';
  cdmax: number;
  s1dss: number;
  privcfg: number;
  s2t: number;
  s2bad: 'none' | 'VMID' | 'S2T0SZ' | 'S2TTB';
}

interface World {
  r: Rig;
  pts: PageTable[];
  s2pts: PageTable[];
  cdts: CdTable[];
  ste: SteState[];
  cd: CdState[];
}

const HIGH = 1n << 48n; // an address bit beyond IPS 48

function cdBytes(w: World, c: CdState): Record<string, number | bigint> {
  const f: Record<string, number | bigint> = {
    ...cdFields(w.pts[c.t0]!, 1), // one ASID: a change of table differs in the TTB0 word alone
    EPD1: 0,
    TG1: 2,
    T1SZ: 16,
    TTB1: BigInt(w.pts[c.t1]!.root),
  };
  if (c.bad === 'V') f.V = 0;
  if (c.bad === 'EPD1') f.EPD1 = 1;
  if (c.bad === 'AA64') f.AA64 = 0;
  if (c.bad === 'TTB0') f.TTB0 = BigInt(f.TTB0!) | HIGH;
  if (c.bad === 'TTB1') f.TTB1 = BigInt(f.TTB1!) | HIGH;
  return f;
}

function writeCd(w: World, sid: number, ssid: number, c: CdState): void {
  w.cdts[sid]!.writeCd(sid, ssid, cdBytes(w, c), false);
  w.cd[(sid << CDMAX) + ssid] = c;
}

function writeSte(w: World, sid: number, s: SteState): void {
  const config = { S1: 5, S2: 6, bypass: 4, abort: 0 }[s.config];
  const s2: Record<string, number | bigint> = s2Fields(w.s2pts[s.s2t]!, 1);
  if (s.s2bad === 'VMID') s2.S2VMID = 0x100;
  if (s.s2bad === 'S2T0SZ') s2.S2T0SZ = 50;
  if (s.s2bad === 'S2TTB') s2.S2TTB = BigInt(s2.S2TTB!) | HIGH;
  w.r.drv.writeSte(
    sid,
    {
      V: 1,
      Config: config,
      ...w.cdts[sid]!.steFields(),
      S1CDMax: s.cdmax,
      S1DSS: s.s1dss,
      PRIVCFG: s.privcfg,
      ...s2,
    },
    false,
  );
  w.ste[sid] = s;
}

/** `grow`: the memo may grow (from 64 STEs / 512 CDs) with the working set; else it keeps that size. */
function world(grow: boolean): World {
  const r = rig({ vmid16: false }, {}, 32);
  if (!grow) r.smmu.cc.limitMemo(64, 512);
  const pts: PageTable[] = [];
  for (let t = 0; t < TABLES; t++) {
    const pt = s1Table(r);
    // AP 0: privileged read/write only, so STE.PRIVCFG = unprivileged turns every access into a fault.
    pt.map(IOVA0, BigInt(outPa(t, false)), 0x1000n, { ap: 0 });
    pt.map(IOVA1, BigInt(outPa(t, true)), 0x1000n, { ap: 0 });
    pts.push(pt);
  }
  const s2pts: PageTable[] = [];
  for (let t = 0; t < 2; t++) {
    const pt = s2Table(r);
    pt.map(IOVA0, BigInt(s2Pa(t)), 0x1000n);
    s2pts.push(pt);
  }
  const w: World = { r, pts, s2pts, cdts: [], ste: [], cd: [] };
  for (let sid = 0; sid < STREAMS; sid++) {
    w.cdts.push(r.drv.makeCdTable(CDMAX, 0));
    // The same tables and ASIDs for every stream: CDs with identical bytes under different STEs.
    for (let ssid = 0; ssid < 1 << CDMAX; ssid++)
      writeCd(w, sid, ssid, { t0: ssid % TABLES, t1: (ssid >> 2) % TABLES, bad: 'none' });
    writeSte(w, sid, { config: 'S1', cdmax: CDMAX, s1dss: 2, privcfg: 0, s2t: 0, s2bad: 'none' });
  }
  return w;
}

/** What memory says (sid, ssid, iova) gives: a PA, 'abort' (no event) or an event id. */
function expected(w: World, sid: number, ssid: number, hiRange: boolean): number | 'abort' {
  const s = w.ste[sid]!;
  const iova = hiRange ? IOVA1 : IOVA0;
  if (s.config === 'abort') return 'abort';
  // Bypass: the IOVA is the PA; the TTB1-range IOVA is beyond the OAS (F_ADDR_SIZE).
  const bypass = hiRange ? EVT.F_ADDR_SIZE : Number(iova);
  if (s.config === 'bypass') return ssid >= 0 ? EVT.C_BAD_SUBSTREAMID : bypass;
  if (s.s2bad === 'VMID' || (s.config === 'S2' && s.s2bad !== 'none')) return EVT.C_BAD_STE;
  if (s.config === 'S2') return ssid >= 0 ? EVT.C_BAD_SUBSTREAMID : hiRange ? EVT.F_ADDR_SIZE : s2Pa(s.s2t);
  if (ssid >= 1 << s.cdmax) return EVT.C_BAD_SUBSTREAMID;
  if (ssid < 0 && s.s1dss === 0) return EVT.F_STREAM_DISABLED;
  if (ssid < 0 && s.s1dss === 1) return bypass;
  if (ssid === 0 && s.s1dss === 2) return EVT.F_STREAM_DISABLED;
  const c = w.cd[(sid << CDMAX) + Math.max(ssid, 0)]!;
  if (c.bad === 'V' || c.bad === 'AA64' || c.bad === 'TTB0' || c.bad === 'TTB1') return EVT.C_BAD_CD;
  if (hiRange && c.bad === 'EPD1') return EVT.F_TRANSLATION;
  if (s.privcfg === 2) return EVT.F_PERMISSION;
  return outPa(hiRange ? c.t1 : c.t0, hiRange);
}

function check(w: World, sid: number, ssid: number, hiRange: boolean): void {
  const x = tx(w.r, sid, ssid, hiRange ? IOVA1 : IOVA0);
  const want = expected(w, sid, ssid, hiRange);
  const got = x.status === ST_OK ? x.pa : x.status === ST_ABORT && x.event === 0 ? 'abort' : x.event;
  expect(
    got,
    `sid ${sid} ssid ${ssid} ${hiRange ? 'TTB1' : 'TTB0'} range; STE ${JSON.stringify(w.ste[sid])}`,
  ).toBe(want);
}

const sid = fc.integer({ min: 0, max: STREAMS - 1 });
const ssid = fc.oneof(fc.constantFrom(-1, 0), fc.integer({ min: 1, max: (1 << CDMAX) - 1 }));
const table = fc.integer({ min: 0, max: TABLES - 1 });
// A rewrite changes one thing about the entry, so that the new bytes differ from the old in as few
// words as possible: the cases a memo that compared too little would get wrong. STE rewrites keep
// most streams translating through their CDs (S1, S1CDMax 8) so that CD rewrites stay visible.
const cdChange = fc.oneof(
  fc.record({ t0: table }),
  fc.record({ t1: table }),
  fc.record({
    bad: fc.constantFrom('none', 'V', 'EPD1', 'AA64', 'TTB0', 'TTB1') as fc.Arbitrary<CdState['bad']>,
  }),
);
const steChange = fc.oneof(
  fc.record({
    config: fc.constantFrom('S1', 'S1', 'S1', 'S2', 'bypass', 'abort') as fc.Arbitrary<SteState['config']>,
  }),
  fc.record({ cdmax: fc.constantFrom(CDMAX, CDMAX, 1, 4) }),
  fc.record({ s1dss: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ privcfg: fc.constantFrom(0, 2) }),
  fc.record({ s2t: fc.integer({ min: 0, max: 1 }) }),
  fc.record({
    s2bad: fc.constantFrom('none', 'none', 'VMID', 'S2T0SZ', 'S2TTB') as fc.Arbitrary<SteState['s2bad']>,
  }),
);
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('tx' as const), sid, ssid, hi: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('cd' as const),
      sid,
      ssid: fc.integer({ min: 0, max: (1 << CDMAX) - 1 }),
      cd: cdChange,
      hi: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('ste' as const), sid, ste: steChange, ssid, hi: fc.boolean() }),
  },
);

describe('decode memo (walk mode)', () => {
  it.each([
    ['held at 64 STEs / 512 CDs', false],
    ['growing while they run', true],
  ])(
    'every translation follows memory as rewritten without invalidation, across more CDs than the memo holds; memo %s',
    (_what, grow) => {
      const w = world(grow);
      const cc = w.r.smmu.cc;
      // Every CD twice: the second pass replaces memo entries in every set.
      for (let pass = 0; pass < 2; pass++) {
        for (let s = 0; s < STREAMS; s++) for (let c = 1; c < 1 << CDMAX; c++) check(w, s, c, (c & 1) === 1);
      }
      const sizes = new Set<number>();
      fc.assert(
        fc.property(fc.array(op, { minLength: 100, maxLength: 300 }), (ops) => {
          for (const o of ops) {
            if (o.k === 'cd') {
              // Translate once with the old bytes (so the memo holds them), then rewrite.
              check(w, o.sid, o.ssid, o.hi);
              writeCd(w, o.sid, o.ssid, { ...w.cd[(o.sid << CDMAX) + o.ssid]!, ...o.cd });
            } else if (o.k === 'ste') {
              check(w, o.sid, o.ssid, o.hi);
              writeSte(w, o.sid, { ...w.ste[o.sid]!, ...o.ste });
            }
            check(w, o.sid, o.ssid, o.hi);
            sizes.add(cc.cdMemoSize);
          }
        }),
        { numRuns: 60 },
      );
      if (grow) expect(sizes.size, 'the memo grew while the property ran').toBeGreaterThan(1);
      else expect([...sizes]).toEqual([512]);
    },
  );
});
