// When an output queue is writable, and what happens to an entry when it is not.
// Event queue (IHI0070 §7.2.1, §7.2.2, §7.4, §3.5): writable = enabled, not full, no unacknowledged
// GERROR.EVENTQ_ABT_ERR. Otherwise records of terminated transactions are discarded (an overflow
// only when full), while the record of a stalled transaction is kept, the transaction stays stalled,
// and the record is written when the queue is next writable (never an overflow).
// PRI queue (§8.1, §8.2): an active overflow inhibits new entries; discarded requests get automatic
// PRG Responses.
import { describe, expect, it } from 'vitest';
import { pageRequest, MAX_PENDING_STALLS } from '../../src/smmuv3/evtq.ts';
import { regValue } from '../../src/smmuv3/regs.ts';
import { ACC_W, ST_ABORT, ST_STALL, events, rig, s1Stream, tx, type Rig } from './harness.ts';

const OVFLG = 0x8000_0000;
const CR0_ALL = regValue('CR0', { SMMUEN: 1, PRIQEN: 1, EVENTQEN: 1, CMDQEN: 1 });
const CR0_NO_EVTQ = regValue('CR0', { SMMUEN: 1, PRIQEN: 1, CMDQEN: 1 });
const VA = 0x55_0000_0000n;
const evProd = (r: Rig) => r.drv.r32('EVTQ_PROD') >>> 0;
const gerrorActive = (r: Rig) => (r.drv.r32('GERROR') ^ r.drv.r32('GERRORN')) >>> 0;
const EVENTQ_ABT_ERR = 1 << 2;

/** A rig whose stream 1 stalls on faults (CD.S = 1) and whose stream table is otherwise invalid. */
function stallRig(evtqLog2 = 1): Rig {
  const r = rig({}, { evtqLog2 });
  const { pt } = s1Stream(r, 1, { cd: { S: 1, R: 0 } });
  pt.map(VA, 0x8000_0000n, 0x1000n);
  return r;
}
/** A stalling fault on stream 1 (an unmapped page). */
const stall = (r: Rig, page = 5) => tx(r, 1, -1, VA + BigInt(page) * 0x1000n, ACC_W);
/** A C_BAD_STE from stream `sid` (a terminated transaction; STE V = 0). */
const bad = (r: Rig, sid: number) => tx(r, sid, -1, 0x1000n, 0);

describe('event queue: stall records are kept, not lost (§7.2.1, §7.4)', () => {
  it('a stall meeting a full queue stays stalled; no overflow; its record lands once there is room', () => {
    const r = stallRig(1);
    expect([bad(r, 0x50).recorded, bad(r, 0x51).recorded]).toEqual([true, true]); // full
    const before = r.mem.readBytes(r.drv.evtqBase, 64);
    const t = stall(r);
    expect({ status: t.status, event: t.event, recorded: t.recorded }).toEqual({
      status: ST_STALL,
      event: 0x10,
      recorded: false,
    });
    expect((evProd(r) & OVFLG) >>> 0).toBe(0); // a stall record never overflows the queue
    expect(r.mem.readBytes(r.drv.evtqBase, 64)).toEqual(before);
    expect(r.smmu.stallOutcome(1, t.stag)).toBe('pending');
    // Software consumes: the kept record follows the two older ones, with Stall = 1 and its STAG.
    const ev = events(r);
    expect(ev.map((e) => e.type)).toEqual(['C_BAD_STE', 'C_BAD_STE', 'F_TRANSLATION']);
    expect({ Stall: ev[2]!.fields.Stall, STAG: ev[2]!.fields.STAG }).toEqual({
      Stall: 1n,
      STAG: BigInt(t.stag),
    });
    r.drv.cmd('RESUME', { StreamID: 1, STAG: t.stag, Ac: 1 });
    r.drv.sync();
    expect(r.smmu.stallOutcome(1, t.stag)).toBe('retry');
  });

  it('several kept stall records are written in order as room appears; later terminated events do not overtake them', () => {
    const r = stallRig(1);
    bad(r, 0x50);
    bad(r, 0x51);
    const a = stall(r, 5);
    const b = stall(r, 6);
    expect(bad(r, 0x52).recorded).toBe(false); // terminated: discarded, and this one overflows
    expect((evProd(r) & OVFLG) >>> 0).toBe(OVFLG);
    const ev = events(r);
    expect(ev.map((e) => [e.type, Number(e.fields.StreamID)])).toEqual([
      ['C_BAD_STE', 0x50],
      ['C_BAD_STE', 0x51],
      ['F_TRANSLATION', 1],
      ['F_TRANSLATION', 1],
    ]);
    expect(ev.slice(2).map((e) => Number(e.fields.STAG))).toEqual([a.stag, b.stag]);
  });

  it('EVENTQEN = 0: the stall is kept (not counted as discarded) and recorded when the queue is enabled', () => {
    const r = stallRig(4);
    r.drv.w32('CR0', CR0_NO_EVTQ);
    expect(bad(r, 0x60).recorded).toBe(false);
    const t = stall(r);
    expect({ status: t.status, recorded: t.recorded, discarded: r.smmu.eventsDiscarded }).toEqual({
      status: ST_STALL,
      recorded: false,
      discarded: 1,
    });
    r.drv.w32('CR0', CR0_ALL);
    expect(events(r).map((e) => [e.type, Number(e.fields.STAG)])).toEqual([['F_TRANSLATION', t.stag]]);
  });

  it('a kept record whose transaction was resumed or terminated in the meantime is not written', () => {
    const r = stallRig(4);
    r.drv.w32('CR0', CR0_NO_EVTQ);
    const a = stall(r, 5);
    const b = stall(r, 6);
    const c = stall(r, 7);
    r.drv.cmd('RESUME', { StreamID: 1, STAG: a.stag, Ac: 0, AB: 1 });
    r.drv.sync();
    r.drv.w32('CR0', CR0_ALL);
    expect(events(r).map((e) => Number(e.fields.STAG))).toEqual([b.stag, c.stag]);
    // SMMUEN 1 -> 0 marks every stalled transaction terminated with an abort (§6.3.9.6).
    r.drv.w32('CR0', regValue('CR0', { EVENTQEN: 1, CMDQEN: 1 }));
    expect([r.smmu.stallOutcome(1, b.stag), r.smmu.stallOutcome(1, c.stag)]).toEqual(['abort', 'abort']);
  });

  it(`at most ${MAX_PENDING_STALLS} stall records are kept; a stall fault beyond that is terminated`, () => {
    const r = stallRig(4);
    r.drv.w32('CR0', CR0_NO_EVTQ);
    for (let i = 0; i < MAX_PENDING_STALLS; i++) expect(stall(r, 1 + (i % 15)).status).toBe(ST_STALL);
    const t = stall(r);
    expect({ status: t.status, recorded: t.recorded }).toEqual({ status: ST_ABORT, recorded: false });
  });
});

describe('event queue: an unacknowledged EVENTQ_ABT_ERR makes the queue unwritable (§7.2.1)', () => {
  it('terminated events are discarded without a write until GERRORN acknowledges the error', () => {
    const r = stallRig(2);
    const HOLE = 0x6_0000_0000;
    r.drv.w32('CR0', CR0_NO_EVTQ);
    r.drv.w64('EVTQ_BASE', BigInt(HOLE) | 2n);
    r.drv.w32('CR0', CR0_ALL);
    expect(bad(r, 0x71).recorded).toBe(false); // the write aborts: EVENTQ_ABT_ERR
    expect(gerrorActive(r)).toBe(EVENTQ_ABT_ERR);
    // The queue memory appears; the error is still unacknowledged: nothing is written.
    r.mem.addRegion(HOLE, 4096, 'late');
    const discarded = r.smmu.eventsDiscarded;
    expect(bad(r, 0x72).recorded).toBe(false);
    expect({ prod: evProd(r), first: r.mem.read32(HOLE), discarded: r.smmu.eventsDiscarded }).toEqual({
      prod: 0,
      first: 0,
      discarded: discarded + 1,
    });
    // A stall meanwhile is kept, and written as soon as the error is acknowledged.
    const t = stall(r);
    expect({ status: t.status, recorded: t.recorded }).toEqual({ status: ST_STALL, recorded: false });
    r.drv.w32('GERRORN', r.drv.r32('GERROR'));
    expect(evProd(r)).toBe(1);
    expect(bad(r, 0x73).recorded).toBe(true);
    expect(r.mem.read32(HOLE) & 0xff).toBe(0x10); // the stall record came first
  });
});

describe('PRI queue: an active overflow inhibits new entries (§8.1); automatic responses (§8.2)', () => {
  const req = (last: boolean, prgIndex: number, ssid?: number) => ({
    sid: 1,
    ssid,
    addr: 0x1000n,
    read: true,
    last,
    prgIndex,
  });

  it('after an overflow, a request is discarded even with room, until OVACKFLG acknowledges it', () => {
    const r = rig({}, { priqLog2: 1 });
    expect([pageRequest(r.smmu, req(false, 1)), pageRequest(r.smmu, req(false, 2))]).toEqual([true, true]);
    expect(pageRequest(r.smmu, req(true, 3))).toBe(false); // full: overflow
    expect(r.drv.r32('PRIQ_PROD')).toBe((OVFLG | 2) >>> 0);
    r.drv.w32('PRIQ_CONS', 2); // consumed both, overflow not acknowledged
    expect(pageRequest(r.smmu, req(true, 4))).toBe(false);
    expect(pageRequest(r.smmu, req(false, 5))).toBe(false);
    expect(r.drv.r32('PRIQ_PROD')).toBe((OVFLG | 2) >>> 0);
    r.drv.w32('PRIQ_CONS', (OVFLG | 2) >>> 0); // acknowledged
    expect(pageRequest(r.smmu, req(false, 6))).toBe(true);
    // Last = 1 requests discarded in the overflow got a Success response without a PASID; Last = 0 none.
    expect(r.smmu.priResponses).toEqual([
      { sid: 1, ssid: -1, prgIndex: 3, resp: 2, auto: true },
      { sid: 1, ssid: -1, prgIndex: 4, resp: 2, auto: true },
    ]);
  });

  it('overflow auto-response with a PASID: kept when STE.PPAR = 1; Failure when the STE is invalid', () => {
    const r = rig({}, { priqLog2: 0 });
    r.drv.writeSte(1, { V: 1, Config: 4, PPAR: 1 });
    expect(pageRequest(r.smmu, req(false, 1, 7))).toBe(true);
    expect(pageRequest(r.smmu, req(true, 2, 7))).toBe(false);
    expect(pageRequest(r.smmu, { ...req(true, 3, 7), sid: 2 })).toBe(false); // STE 2 invalid
    // A Stop PASID marker (L = 1, R = W = 0, with a PASID) gets no response.
    expect(pageRequest(r.smmu, { sid: 1, ssid: 7, addr: 0n, last: true, prgIndex: 4 })).toBe(false);
    expect(r.smmu.priResponses).toEqual([
      { sid: 1, ssid: 7, prgIndex: 2, resp: 2, auto: true },
      { sid: 2, ssid: -1, prgIndex: 3, resp: 0, auto: true },
    ]);
  });

  it('SMMUEN = 0 makes PRIQEN effectively 0: requests are discarded with a Failure response', () => {
    const r = rig();
    r.drv.w32('CR0', regValue('CR0', { PRIQEN: 1, EVENTQEN: 1, CMDQEN: 1 }));
    expect(pageRequest(r.smmu, req(false, 1, 3))).toBe(false);
    expect(r.drv.r32('PRIQ_PROD')).toBe(0);
    expect(r.smmu.priResponses).toEqual([{ sid: 1, ssid: -1, prgIndex: 1, resp: 0, auto: true }]);
  });
});

describe('queue pointer registers (§6.3.26-36)', () => {
  it('bits [19:QS+1] above the wrap flag read as zero, for PROD and CONS of all three queues', () => {
    const r = rig({}, { cmdqLog2: 3, evtqLog2: 2, priqLog2: 1 });
    // Disable the queues (the pointers are writable by software then), write all-ones pointers.
    r.drv.w32('CR0', regValue('CR0', { SMMUEN: 1 }));
    const regs: [string, number][] = [
      ['CMDQ_PROD', 3],
      ['CMDQ_CONS', 3],
      ['EVTQ_PROD', 2],
      ['EVTQ_CONS', 2],
      ['PRIQ_PROD', 1],
      ['PRIQ_CONS', 1],
    ];
    for (const [name, qs] of regs) {
      r.drv.w32(name, 0x000f_ffff);
      expect(r.drv.r32(name), name).toBe(2 ** (qs + 1) - 1);
    }
    // The flags above bit 19 stay (EVTQ_PROD.OVFLG, EVTQ_CONS.OVACKFLG).
    r.drv.w32('EVTQ_CONS', 0x8000_0005);
    expect(r.drv.r32('EVTQ_CONS') >>> 0).toBe(0x8000_0005);
  });
});
