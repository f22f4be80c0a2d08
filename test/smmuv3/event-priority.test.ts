// Event priority and the argument domain of translate (IHI0070 §7.3, §3.4). A SubstreamID wider
// than SSIDSIZE is C_BAD_SUBSTREAMID only after the STE has been read: C_BAD_STREAMID, F_STE_FETCH
// and C_BAD_STE come first and an abort STE aborts silently (§7.3.22, §7.3.7). With SMMUEN = 0 an
// input address beyond the OAS aborts without an event (§3.4). Any SubstreamID, StreamID and
// address in the documented domain gives an architected outcome, never an exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVT_BY_ID } from '../../src/smmuv3/events.ts';
import { regValue } from '../../src/smmuv3/regs.ts';
import { ST_ABORT, ST_OK, ST_RAZWI, ST_STALL } from '../../src/smmuv3/smmuv3.ts';
import { refTranslate } from '../../src/ref/smmuv3-ref.ts';
import { events, rig, s1Stream, tx, type Rig } from './harness.ts';
import { compareTxn, makeMachine, randomFeatures, randomScenario, Rng } from './ref-harness.ts';

const WIDE = 1 << 12; // beyond SSIDSIZE = 8

function machine(caching: boolean): Rig {
  const r = rig({ ssidBits: 8, caching });
  s1Stream(r, 1, { cdmax: 4, ssids: [0, 1] }); // a valid stage-1 stream
  r.drv.writeSte(2, { V: 0 }); // invalid STE
  r.drv.writeSte(3, { V: 1, Config: 0 }); // abort
  r.drv.writeSte(4, { V: 1, Config: 4 }); // bypass
  return r;
}

describe('a SubstreamID beyond SSIDSIZE is reported after the stream table checks (§7.3.22, §7.3.7)', () => {
  it.each([false, true])('caching %s', (caching) => {
    const r = machine(caching);
    const ev = (sid: number, ssid = WIDE) => {
      const t = tx(r, sid, ssid, 0x1000n, 0);
      events(r);
      return [t.status, t.event];
    };
    expect(ev(0x1_0000)).toEqual([ST_ABORT, 0x02]); // C_BAD_STREAMID (StreamID beyond the table)
    expect(ev(2)).toEqual([ST_ABORT, 0x04]); // C_BAD_STE
    expect(ev(3)).toEqual([ST_ABORT, 0]); // Config = abort: no event
    expect(ev(4)).toEqual([ST_ABORT, 0x08]); // bypass with a SubstreamID
    expect(ev(1)).toEqual([ST_ABORT, 0x08]); // stage 1: C_BAD_SUBSTREAMID
    // The stream table not backed: F_STE_FETCH first.
    r.drv.w32('CR0', regValue('CR0', { EVENTQEN: 1, CMDQEN: 1, PRIQEN: 1 }));
    r.drv.w64('STRTAB_BASE', 0x7_0000_0000n);
    r.drv.w32('CR0', regValue('CR0', { SMMUEN: 1, EVENTQEN: 1, CMDQEN: 1, PRIQEN: 1 }));
    expect(ev(1)).toEqual([ST_ABORT, 0x03]);
  });

  it('SubstreamIDs of any size: C_BAD_SUBSTREAMID with the low 20 bits recorded, no exception', () => {
    const r = machine(false);
    for (const ssid of [2 ** 20, 2 ** 20 + 5, 2 ** 31, 2 ** 32 + 7, 2 ** 52]) {
      const t = tx(r, 1, ssid, 0x1000n, 0);
      expect([t.status, t.event]).toEqual([ST_ABORT, 0x08]);
      const e = events(r);
      expect(e.map((x) => [x.type, x.fields.SubstreamID])).toEqual([
        ['C_BAD_SUBSTREAMID', BigInt(ssid % 2 ** 20)],
      ]);
      expect(refTranslate(r.smmu, 1, ssid, 0x1000n, 0)).toMatchObject({ kind: 'fault', event: 0x08 });
    }
  });
});

describe('SMMUEN = 0 (§3.4)', () => {
  it('an input address beyond the OAS aborts without an event; below it, bypass', () => {
    const r = rig({ oasBits: 40 });
    r.drv.w32('CR0', regValue('CR0', { EVENTQEN: 1, CMDQEN: 1 }));
    const hi = tx(r, 1, -1, 1n << 40n, 0);
    expect({ status: hi.status, event: hi.event, recorded: hi.recorded }).toEqual({
      status: ST_ABORT,
      event: 0,
      recorded: false,
    });
    expect(events(r)).toEqual([]);
    expect(refTranslate(r.smmu, 1, -1, 1n << 40n, 0).kind).toBe('abort');
    const lo = tx(r, 1, -1, (1n << 40n) - 8n, 0);
    expect({ status: lo.status, pa: lo.pa }).toEqual({ status: ST_OK, pa: 2 ** 40 - 8 });
  });
});

describe('translate argument domain (property)', () => {
  it('random StreamID, SubstreamID and address: no exception, architected outcome, fast == reference', () => {
    const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
    const ssidArb = fc.oneof(
      fc.constant(-1),
      fc.integer({ min: 0, max: 15 }),
      fc.integer({ min: 0, max: 2 ** 21 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    );
    const txn = fc.tuple(
      fc.oneof(fc.integer({ min: 0, max: 8 }), u32),
      ssidArb,
      u32,
      u32,
      fc.integer({ min: 0, max: 7 }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0x7fff_ffff }),
        fc.boolean(),
        fc.array(txn, { minLength: 1, maxLength: 24 }),
        (s, off, txns) => {
          const rng = new Rng(s);
          const m = makeMachine({ ...randomFeatures(rng), caching: rng.chance(0.3) });
          for (const x of [1, 2, 3]) randomScenario(rng, m, x);
          if (off) m.smmu.write32(0x20, m.smmu.read32(0x20) & ~1); // SMMUEN = 0
          for (const [sid, ssid, hi, lo, acc] of txns) {
            const iova = (BigInt(hi) << 32n) | BigInt(lo);
            const errs = compareTxn(m, sid, ssid, iova, acc);
            if (errs.length) throw new Error(`seed ${s} sid=${sid} ssid=${ssid}\n${errs.join('\n')}`);
            const res = m.smmu.res;
            expect([ST_OK, ST_ABORT, ST_STALL, ST_RAZWI]).toContain(res.status);
            if (res.event !== 0) expect(EVT_BY_ID[res.event]).toBeDefined();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('SSIDSIZE = 0: STE.S1CDMax is IGNORED (§5.2)', () => {
  it('a non-zero S1CDMax is not ILLEGAL: the STE points at one CD; a SubstreamID is C_BAD_SUBSTREAMID', () => {
    const r = rig({ ssidBits: 0 });
    const { pt } = s1Stream(r, 1, { ste: { S1CDMax: 5, S1Fmt: 1 } });
    pt.map(0x1000n, 0x8000_0000n, 0x1000n);
    expect(tx(r, 1, -1, 0x1000n, 0)).toMatchObject({ status: ST_OK, pa: 0x8000_0000 });
    expect(refTranslate(r.smmu, 1, -1, 0x1000n, 0)).toMatchObject({ kind: 'ok', pa: 0x8000_0000n });
    expect(tx(r, 1, 0, 0x1000n, 0)).toMatchObject({ status: ST_ABORT, event: 0x08 });
  });
});
