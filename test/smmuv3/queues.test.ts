// Output queues and global registers: the event queue wrap-bit protocol, overflow (OVFLG toggled once
// per overflow until acknowledged with OVACKFLG; nothing else written), events discarded while
// EVENTQEN = 0, the event interrupt on the empty -> non-empty edge (wired or MSI), GERROR/GERRORN,
// the PRI queue, the GBPA Update handshake, CR0/CR0ACK and registers that are read-only while enabled.
// IHI0070 §3.5 (queues), §6.3 (registers), §7.2 (event queue), §7.4-7.5 (overflow, GERROR), §8 (PRI).
import { describe, expect, it } from 'vitest';
import { decode } from '../../src/layout/layout.ts';
import { PRIQ_ENTRY } from '../../src/smmuv3/events.ts';
import { pageRequest } from '../../src/smmuv3/evtq.ts';
import { reg, regValue } from '../../src/smmuv3/regs.ts';
import { ST_ABORT, events, rig, s1Stream, tx, type Rig } from './harness.ts';

const OVFLG = 0x8000_0000;
const ov = (x: number) => (OVFLG | x) >>> 0;
const CR0_ALL = regValue('CR0', { SMMUEN: 1, PRIQEN: 1, EVENTQEN: 1, CMDQEN: 1 });

/** A C_BAD_STE event from StreamID `sid` (the stream table is all zeros: every STE has V = 0). */
function fault(r: Rig, sid: number): boolean {
  const t = tx(r, sid, -1, 0x1000n, 0);
  expect({ status: t.status, event: t.event }).toEqual({ status: ST_ABORT, event: 0x04 });
  return t.recorded;
}

const prod = (r: Rig) => r.drv.r32('EVTQ_PROD');
const evCons = (r: Rig) => r.drv.r32('EVTQ_CONS');
const gerrorActive = (r: Rig) => (r.drv.r32('GERROR') ^ r.drv.r32('GERRORN')) >>> 0;
/** StreamID of the record in event queue slot `i`, read straight from memory. */
const slotSid = (r: Rig, i: number) => r.mem.read32(r.drv.evtqBase + i * 32 + 4);

describe('event queue', () => {
  it('records land in successive slots; PROD and CONS flip the wrap bit at the end of each lap', () => {
    const r = rig({}, { evtqLog2: 2 });
    const seen: [number, number, number][] = [];
    for (let i = 0; i < 10; i++) {
      expect(fault(r, 0x20 + i)).toBe(true);
      const p = prod(r);
      expect(slotSid(r, (p - 1) & 3)).toBe(0x20 + i);
      const ev = events(r);
      expect(ev.map((e) => Number(e.fields.StreamID))).toEqual([0x20 + i]);
      seen.push([p, evCons(r), r.mem.read32(r.drv.evtqBase + ((p - 1) & 3) * 32) & 0xff]);
    }
    expect(seen.map((x) => x[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 0, 1, 2]);
    expect(seen.every((x) => x[0] === x[1] && x[2] === 0x04)).toBe(true);
  });

  it('a full queue (index equal, wrap different) holds 2^LOG2SIZE records', () => {
    const r = rig({}, { evtqLog2: 2 });
    for (let i = 0; i < 4; i++) expect(fault(r, 0x30 + i)).toBe(true);
    expect({ prod: prod(r), cons: evCons(r) }).toEqual({ prod: 4, cons: 0 });
    expect(events(r).map((e) => Number(e.fields.StreamID))).toEqual([0x30, 0x31, 0x32, 0x33]);
  });

  it('overflow: OVFLG toggles once, nothing is written, and again only after OVACKFLG acknowledges it', () => {
    const r = rig({}, { evtqLog2: 1 });
    expect([fault(r, 0x40), fault(r, 0x41)]).toEqual([true, true]);
    const full = r.mem.readBytes(r.drv.evtqBase, 64);
    expect(prod(r)).toBe(2); // index 0, wrap 1: full
    expect(fault(r, 0x42)).toBe(false);
    expect(prod(r)).toBe(ov(2));
    expect(fault(r, 0x43)).toBe(false);
    expect(prod(r)).toBe(ov(2)); // not toggled again
    expect(r.mem.readBytes(r.drv.evtqBase, 64)).toEqual(full);
    expect(r.smmu.eventsDiscarded).toBe(0);

    // The driver consumes and acknowledges (OVACKFLG := OVFLG): the two records from before the overflow.
    expect(events(r).map((e) => Number(e.fields.StreamID))).toEqual([0x40, 0x41]);
    expect(evCons(r)).toBe(ov(2));
    expect([fault(r, 0x44), fault(r, 0x45)]).toEqual([true, true]);
    expect(prod(r)).toBe(ov(0)); // wrapped back to lap 0, OVFLG still as acknowledged
    expect(fault(r, 0x46)).toBe(false);
    expect(prod(r)).toBe(0); // the next overflow toggles OVFLG back
    expect(events(r).map((e) => Number(e.fields.StreamID))).toEqual([0x44, 0x45]);
  });

  it('EVENTQEN = 0: events are discarded (counted), PROD does not move', () => {
    const r = rig();
    r.drv.w32('CR0', regValue('CR0', { SMMUEN: 1, PRIQEN: 1, CMDQEN: 1 }));
    expect(fault(r, 0x60)).toBe(false);
    expect(fault(r, 0x61)).toBe(false);
    expect({ discarded: r.smmu.eventsDiscarded, prod: prod(r), irq: r.smmu.irqs.evtq }).toEqual({
      discarded: 2,
      prod: 0,
      irq: 0,
    });
    r.drv.w32('CR0', CR0_ALL);
    expect(fault(r, 0x62)).toBe(true);
    expect(events(r).map((e) => Number(e.fields.StreamID))).toEqual([0x62]);
  });

  it('the event interrupt fires on the empty -> non-empty edge only (wired line)', () => {
    const r = rig();
    fault(r, 1);
    fault(r, 2);
    fault(r, 3);
    expect(r.smmu.irqs.evtq).toBe(1);
    events(r);
    fault(r, 4);
    expect(r.smmu.irqs.evtq).toBe(2);
    events(r);
    r.drv.w32('IRQ_CTRL', regValue('IRQ_CTRL', { GERROR_IRQEN: 1, PRIQ_IRQEN: 1 }));
    expect(r.drv.r32('IRQ_CTRLACK')).toBe(3);
    fault(r, 5);
    expect(r.smmu.irqs.evtq).toBe(2); // EVENTQ_IRQEN = 0
  });

  it('with EVTQ_IRQ_CFG0 set (IDR0.MSI), the interrupt is an MSI write of EVTQ_IRQ_CFG1', () => {
    const r = rig();
    const word = r.alloc.alloc(64, 64);
    r.drv.w64('EVTQ_IRQ_CFG0', BigInt(word + 8));
    r.drv.w32('EVTQ_IRQ_CFG1', 0xfeed_0001);
    fault(r, 1);
    fault(r, 2);
    expect({ mem: r.mem.read32(word + 8), wired: r.smmu.irqs.evtq }).toEqual({ mem: 0xfeed_0001, wired: 0 });
    r.mem.write32(word + 8, 0);
    events(r);
    fault(r, 3);
    expect(r.mem.read32(word + 8)).toBe(0xfeed_0001);
  });

  it('an event queue write abort toggles GERROR.EVENTQ_ABT_ERR once until GERRORN acknowledges it', () => {
    const r = rig();
    r.drv.w32('CR0', regValue('CR0', { SMMUEN: 1, PRIQEN: 1, CMDQEN: 1 }));
    r.drv.w64('EVTQ_BASE', 0x6_0000_0000n | 3n);
    r.drv.w32('CR0', CR0_ALL);
    const irqs = r.smmu.irqs.gerror;
    expect(fault(r, 1)).toBe(false);
    expect({ gerror: r.drv.r32('GERROR'), active: gerrorActive(r), irq: r.smmu.irqs.gerror }).toEqual({
      gerror: 4,
      active: 4,
      irq: irqs + 1,
    });
    expect(fault(r, 2)).toBe(false);
    expect({ gerror: r.drv.r32('GERROR'), irq: r.smmu.irqs.gerror }).toEqual({ gerror: 4, irq: irqs + 1 }); // still active: no toggle
    r.drv.w32('GERRORN', r.drv.r32('GERROR'));
    expect(gerrorActive(r)).toBe(0);
    expect(fault(r, 3)).toBe(false);
    expect({ gerror: r.drv.r32('GERROR'), active: gerrorActive(r), irq: r.smmu.irqs.gerror }).toEqual({
      gerror: 0,
      active: 4,
      irq: irqs + 2,
    });
  });

  it('an MSI to unbacked memory raises GERROR.MSI_EVENTQ_ABT_ERR (the record itself is written)', () => {
    const r = rig();
    r.drv.w64('EVTQ_IRQ_CFG0', 0x7_0000_0000n);
    expect(fault(r, 1)).toBe(true);
    expect(gerrorActive(r)).toBe(1 << 5);
    expect(events(r)).toHaveLength(1);
  });
});

describe('PRI queue', () => {
  const entry = (r: Rig, i: number) => decode(PRIQ_ENTRY, r.mem.readQwords(r.drv.priqBase + i * 16, 2));

  it('page requests are written as PRI queue entries; the PRIQ interrupt fires on the edge', () => {
    const r = rig();
    expect(
      pageRequest(r.smmu, {
        sid: 0x42,
        ssid: 3,
        addr: 0x7fff_1234_5678n,
        read: true,
        write: true,
        exec: true,
        priv: true,
        prgIndex: 0x1ab,
      }),
    ).toBe(true);
    expect(
      pageRequest(r.smmu, {
        sid: 0x43,
        addr: 0x9000n,
        read: true,
        last: true,
        exec: true,
        priv: true,
        prgIndex: 2,
      }),
    ).toBe(true);
    expect(r.drv.r32('PRIQ_PROD')).toBe(2);
    expect(r.smmu.irqs.priq).toBe(1);
    expect(entry(r, 0)).toMatchObject({
      StreamID: 0x42n,
      SubstreamID: 3n,
      SSV: 1n,
      Priv: 1n,
      X: 1n,
      R: 1n,
      W: 1n,
      Last: 0n,
      PRGIndex: 0x1abn,
      PageAddress: 0x7fff_1234_5000n,
    });
    // Without a PASID, Priv and X are 0 (§8: only meaningful with a PASID TLP prefix).
    expect(entry(r, 1)).toMatchObject({
      StreamID: 0x43n,
      SSV: 0n,
      Priv: 0n,
      X: 0n,
      R: 1n,
      W: 0n,
      Last: 1n,
      PRGIndex: 2n,
      PageAddress: 0x9000n,
    });
  });

  it('overflow sets PRIQ_PROD.OVFLG once; PRIQEN = 0 or no IDR0.PRI drops the request', () => {
    const r = rig({}, { priqLog2: 1 });
    const req = { sid: 1, addr: 0x1000n, read: true, prgIndex: 1 };
    expect([pageRequest(r.smmu, req), pageRequest(r.smmu, req), pageRequest(r.smmu, req)]).toEqual([
      true,
      true,
      false,
    ]);
    expect(r.drv.r32('PRIQ_PROD')).toBe(ov(2));
    expect(pageRequest(r.smmu, req)).toBe(false);
    expect(r.drv.r32('PRIQ_PROD')).toBe(ov(2));
    r.drv.w32('CR0', regValue('CR0', { SMMUEN: 1, EVENTQEN: 1, CMDQEN: 1 }));
    r.drv.w32('PRIQ_CONS', 2);
    expect(pageRequest(r.smmu, req)).toBe(false);
    expect(pageRequest(rig({ pri: false }).smmu, req)).toBe(false);
  });
});

describe('registers: GBPA, CR0/CR0ACK, read-only while enabled', () => {
  it('GBPA takes a value only with Update = 1, which then reads as 0', () => {
    const r = rig();
    r.drv.w32('GBPA', regValue('GBPA', { ABORT: 1, SHCFG: 2 }));
    expect(r.drv.r32('GBPA')).toBe(0);
    r.drv.w32('GBPA', regValue('GBPA', { ABORT: 1, SHCFG: 2, INSTCFG: 2, Update: 1 }));
    expect(r.drv.r32('GBPA')).toBe(regValue('GBPA', { ABORT: 1, SHCFG: 2, INSTCFG: 2 }));
    r.drv.w32('GBPA', 0xffff_ffff);
    expect(r.drv.r32('GBPA') & 0x8000_0000).toBe(0);
    expect(r.drv.r32('GBPA') & ~0x001f_3f1f).toBe(0); // reserved bits read 0
  });

  it('CR0ACK follows CR0 (the model completes updates at once); reserved bits are not stored', () => {
    const r = rig();
    for (const v of [0, 8, 0xd, 0x1f, CR0_ALL]) {
      r.drv.w32('CR0', v);
      expect({ cr0: r.drv.r32('CR0'), ack: r.drv.r32('CR0ACK') }).toEqual({ cr0: v, ack: v });
    }
    r.drv.w32('CR0', 0xffff_ffff);
    expect(r.drv.r32('CR0')).toBe(0x1df);
    expect(r.drv.r32('CR0ACK')).toBe(0x1df);
  });

  it.each<[string, string, bigint | number, string]>([
    ['STRTAB_BASE', 'STRTAB_BASE', 0x1234_0000n, 'SMMUEN'],
    ['STRTAB_BASE_CFG', 'STRTAB_BASE_CFG', 0x10006, 'SMMUEN'],
    ['CR1', 'CR1', 0x3f, 'SMMUEN'],
    ['CR2', 'CR2', 0x1, 'SMMUEN'],
    ['CMDQ_BASE', 'CMDQ_BASE', 0x5000_0004n, 'CMDQEN'],
    ['CMDQ_CONS', 'CMDQ_CONS', 0x1, 'CMDQEN'],
    ['EVTQ_BASE', 'EVTQ_BASE', 0x5100_0004n, 'EVENTQEN'],
    ['EVTQ_PROD (owned by the SMMU)', 'EVTQ_PROD', 0x3, 'EVENTQEN'],
    ['PRIQ_BASE', 'PRIQ_BASE', 0x5200_0004n, 'PRIQEN'],
    ['PRIQ_PROD (owned by the SMMU)', 'PRIQ_PROD', 0x3, 'PRIQEN'],
  ])('%s is read-only while CR0.%s = 1, writable once it is 0', (_n, reg, v, enable) => {
    const r = rig();
    const is64 = typeof v === 'bigint';
    const read = () => (is64 ? r.smmu.read64(regOff(reg)) : BigInt(r.drv.r32(reg)));
    const write = () => (is64 ? r.drv.w64(reg, v as bigint) : r.drv.w32(reg, v as number));
    const before = read();
    expect(before).not.toBe(BigInt(v));
    write();
    expect(read()).toBe(before);
    const others = { SMMUEN: 1, PRIQEN: 1, EVENTQEN: 1, CMDQEN: 1, [enable]: 0 };
    r.drv.w32('CR0', regValue('CR0', others));
    write();
    expect(read()).toBe(BigInt(v));
  });

  it('ID registers are read-only', () => {
    const r = rig();
    const idr0 = r.drv.r32('IDR0');
    r.drv.w32('IDR0', 0);
    r.drv.w32('IDR1', 0);
    expect(r.drv.r32('IDR0')).toBe(idr0);
    expect(r.drv.r32('IDR1')).not.toBe(0);
  });
});

function regOff(name: string): number {
  return reg(name).offset;
}
