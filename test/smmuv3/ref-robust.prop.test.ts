// Properties over random bytes: whatever software writes into STEs, CDs, L1 descriptors, page
// tables or the command queue, the fast model never throws, every transaction ends in an
// architected outcome (a translation, an abort with no event, or an event the spec defines), the
// outcome equals the reference model's, and command errors are architected CERROR values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, fieldOf, setField } from '../../src/layout/layout.ts';
import { CMD_BY_OP, OP } from '../../src/smmuv3/commands.ts';
import { EVT_BY_ID } from '../../src/smmuv3/events.ts';
import { L1STD, STE } from '../../src/smmuv3/layouts.ts';
import { ST_ABORT, ST_OK, ST_RAZWI, ST_STALL } from '../../src/smmuv3/smmuv3.ts';
import { refTranslate } from '../../src/ref/smmuv3-ref.ts';
import {
  compareTxn,
  makeMachine,
  randomFeatures,
  randomScenario,
  randomTxn,
  Rng,
  type Machine,
} from './ref-harness.ts';

const seed = fc.integer({ min: 1, max: 0x7fff_ffff });

/** Status in the enum; a non-OK status carries an architected EventID, unless it is a silent abort. */
function checkArchitected(m: Machine, silentAbortOk: boolean): void {
  const res = m.smmu.res;
  expect([ST_OK, ST_ABORT, ST_STALL, ST_RAZWI]).toContain(res.status);
  if (res.status === ST_OK) return;
  if (res.event === 0) {
    expect(res.status).toBe(ST_ABORT);
    expect(silentAbortOk).toBe(true);
  } else {
    expect(EVT_BY_ID[res.event], `EventID 0x${res.event.toString(16)}`).toBeDefined();
  }
}

/** A 64 KiB region of random bytes for structures to point into. */
function junk(rng: Rng, m: Machine): number {
  const at = m.alloc.alloc(1 << 16, 1 << 16);
  for (let i = 0; i < 1 << 16; i += 4) m.mem.write32(at + i, rng.u32());
  return at;
}

function translateAndCheck(
  m: Machine,
  s: number,
  sid: number,
  ssid: number,
  iova: bigint,
  acc: number,
): void {
  const ref = refTranslate(m.smmu, sid, ssid, iova, acc); // the reference must not throw either
  const errs = compareTxn(m, sid, ssid, iova, acc);
  if (errs.length)
    throw new Error(
      `seed ${s}: sid=${sid} ssid=${ssid} iova=0x${iova.toString(16)} acc=${acc}\n${errs.join('\n')}`,
    );
  checkArchitected(m, ref.kind === 'abort');
}

describe('random structure bytes', () => {
  it('random STE, CD, L1STD and L1CD bytes: no throw, architected outcome, fast == reference', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const rng = new Rng(s);
        const m = makeMachine(randomFeatures(rng));
        const j = junk(rng, m);
        const inJunk = (align: number) => BigInt(j + rng.int((1 << 16) / align) * align);
        for (const sid of [1, 2, 3]) {
          // STE: random qwords, often made to point into the junk (CDs, L1CDs, stage-2 tables).
          const q = [0, 1, 2, 3, 4, 5, 6, 7].map(() => rng.u64());
          if (rng.chance(0.8)) {
            const set = (name: string, v: bigint) => setField(q, fieldOf(STE, name), v);
            set('V', 1n);
            set('Config', BigInt(rng.range(4, 7)));
            set('S1ContextPtr', inJunk(64));
            set('S2TTB', inJunk(16));
            if (rng.chance(0.5)) set('S2AA64', 1n);
          }
          m.mem.writeQwords(m.drv.steAddr(sid), q);
          // A random L1STD for a 2-level table.
          if (m.drv.twoLevel && rng.chance(0.3)) {
            const l1 = m.drv.strtab + Math.floor(sid / 2 ** m.drv.split) * 8;
            m.mem.writeQwords(l1, [
              rng.chance(0.5) ? rng.u64() : encode(L1STD, { Span: rng.int(32), L2Ptr: inJunk(64) })[0]!,
            ]);
          }
        }
        for (let i = 0; i < 40; i++) {
          const sid = rng.chance(0.9) ? rng.range(1, 3) : rng.int(1 << 17);
          const ssid = rng.chance(0.5) ? -1 : rng.chance(0.8) ? rng.int(64) : rng.int(1 << 20);
          const iova = rng.chance(0.7) ? rng.bits(rng.range(12, 52)) : rng.u64();
          translateAndCheck(m, s, sid, ssid, iova, rng.int(8));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('noisy STEs and CDs (random bit flips over plausible ones): fast == reference', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const rng = new Rng(s);
        const m = makeMachine(randomFeatures(rng));
        const scs = [
          randomScenario(rng, m, 1, { noise: 0.6, illegal: 0.5 }),
          randomScenario(rng, m, 2, { noise: 0.6, illegal: 0.5 }),
        ];
        for (let i = 0; i < 40; i++) {
          const t = randomTxn(rng, rng.pick(scs));
          translateAndCheck(m, s, t.sid, t.ssid, t.iova, t.acc);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('random page-table bytes (tables full of random descriptors): fast == reference', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const rng = new Rng(s);
        const m = makeMachine(randomFeatures(rng));
        const scs = [randomScenario(rng, m, 1), randomScenario(rng, m, 2)];
        // Overwrite a random share of every table page with random 64-bit values.
        const share = rng.pick([0.05, 0.3, 1]);
        const base = 0x4000_0000;
        for (let p = 0; p < 8 << 8; p++) {
          if (!rng.chance(share / 4)) continue;
          for (let o = 0; o < 4096; o += 8)
            if (rng.chance(share)) m.mem.write64(base + (1 << 20) + p * 4096 + o, rng.u32(), rng.u32());
        }
        for (let i = 0; i < 40; i++) {
          const t = randomTxn(rng, rng.pick(scs));
          translateAndCheck(m, s, t.sid, t.ssid, t.iova, t.acc);
        }
      }),
      { numRuns: 80 },
    );
  });
});

describe('random commands', () => {
  const ops = Object.values(OP) as number[];

  it('random commands never throw; CMDQ_CONS.ERR is a CERROR (0..3); translations stay architected', () => {
    fc.assert(
      fc.property(seed, fc.boolean(), (s, caching) => {
        const rng = new Rng(s);
        const m = makeMachine({ ...randomFeatures(rng), caching });
        const scs = [randomScenario(rng, m, 1), randomScenario(rng, m, 2)];
        const drv = m.drv;
        const smmu = m.smmu;
        const n = 2 ** drv.cmdqLog2;
        for (let i = 0; i < 60; i++) {
          let q0 = rng.u64();
          let q1 = rng.u64();
          if (rng.chance(0.85)) q0 = (q0 & ~0xffn) | BigInt(rng.pick(ops));
          if (rng.chance(0.5)) {
            // A well-formed command with random field values.
            const def = CMD_BY_OP[rng.pick(ops)]!;
            const vals: Record<string, bigint> = {};
            for (const f of def.layout.fields)
              if (f.name !== 'Opcode' && rng.chance(0.5))
                vals[f.name] =
                  rng.bits(Math.min(f.hi - f.lo + 1, 20)) << (f.kind === 'addr' ? BigInt(f.lo) : 0n);
            const enc = encode(def.layout, { ...vals, Opcode: def.op });
            q0 = enc[0]!;
            q1 = enc[1]!;
          }
          drv.rawCmd([q0, q1]);
          const cons = smmu.read32(0x9c);
          const err = (cons >>> 24) & 0x7f;
          expect(err).toBeGreaterThanOrEqual(0);
          expect(err).toBeLessThanOrEqual(3);
          if (((smmu.read32(0x60) ^ smmu.read32(0x64)) & 1) !== 0) {
            // As Linux does: replace the failing command with a CMD_SYNC, then acknowledge.
            expect(err).toBeGreaterThan(0);
            const at = drv.cmdqBase + (cons & (n - 1)) * 16;
            m.mem.writeQwords(at, encode(CMD_BY_OP[OP.SYNC]!.layout, { Opcode: OP.SYNC }));
            smmu.write32(0x64, smmu.read32(0x60));
          }
          if (rng.chance(0.3)) {
            const t = randomTxn(rng, rng.pick(scs));
            smmu.translate(t.sid, t.ssid, Number(t.iova >> 32n), Number(t.iova & 0xffff_ffffn), t.acc);
            checkArchitected(m, true);
            drv.readEvents();
          }
        }
        // The queue drained: every command was consumed.
        expect(smmu.read32(0x9c) & (2 * n - 1)).toBe(smmu.read32(0x98) & (2 * n - 1));
      }),
      { numRuns: 80 },
    );
  });
});
