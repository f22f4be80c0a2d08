// Every command of IHI0070 chapter 4 through the real command queue in memory: configuration and TLB
// invalidation in caching mode (stale before, fresh after), range invalidation, ATC/PRI/stall
// commands, CMD_SYNC completion signals, and the command-error protocol (§7.1: CMDQ_CONS.ERR,
// GERROR.CMDQ_ERR, processing halted until GERRORN acknowledges it), queue wrap.
//
// "Stale" rows check this model's exact invalidation scope: the architecture permits over-invalidation
// and caching less, but the model promises that only a CFGI_* / TLBI_* in scope changes what is cached
// (src/smmuv3/tlb.ts, config-cache.ts), so that a driver missing an invalidation is caught.
import { describe, expect, it } from 'vitest';
import type { CmdName } from '../../src/smmuv3/commands.ts';
import { pageRequest } from '../../src/smmuv3/evtq.ts';
import type { PageTable } from '../../src/driver/smmuv3-driver.ts';
import { regValue } from '../../src/smmuv3/regs.ts';
import {
  ACC_W,
  ST_ABORT,
  ST_OK,
  ST_STALL,
  cdFields,
  events,
  expectNoEvent,
  expectOneEvent,
  rig,
  s1Stream,
  s1Table,
  s2Fields,
  s2Table,
  tx,
  type Fields,
  type Rig,
} from './harness.ts';

const CERROR_ILL = 1,
  CERROR_ABT = 2,
  CERROR_ATC_INV_SYNC = 3;
const VA = 0x55_0000_0000n;
const PAGES = 8;

const cons = (r: Rig) => r.drv.r32('CMDQ_CONS');
const prod = (r: Rig) => r.drv.r32('CMDQ_PROD');
/** GERROR bits that are active (GERROR != GERRORN). */
const gerrorActive = (r: Rig) => (r.drv.r32('GERROR') ^ r.drv.r32('GERRORN')) >>> 0;
const ack = (r: Rig) => r.drv.w32('GERRORN', r.drv.r32('GERROR'));
const consErr = (r: Rig) => (cons(r) >>> 24) & 0x7f;
const consRd = (r: Rig, log2 = 8) => cons(r) & ((2 << log2) - 1);
const prodWr = (r: Rig, log2 = 8) => prod(r) & ((2 << log2) - 1);

// ---------------------------------------------------------------- configuration invalidation

describe('CFGI_* in caching mode: the stale configuration is used until invalidated', () => {
  /** Streams 0x10..0x14 bypass, all cached; then all rewritten to abort without invalidation. */
  function staleStes(): Rig {
    const r = rig({ caching: true });
    for (let s = 0x10; s <= 0x14; s++) r.drv.writeSte(s, { V: 1, Config: 4 });
    for (let s = 0x10; s <= 0x14; s++) expect(tx(r, s, -1, 0x1000n).status).toBe(ST_OK);
    for (let s = 0x10; s <= 0x14; s++) r.drv.writeSte(s, { V: 1, Config: 0 }, false);
    for (let s = 0x10; s <= 0x14; s++) expect(tx(r, s, -1, 0x1000n).status).toBe(ST_OK); // stale
    return r;
  }
  const states = (r: Rig) =>
    [0x10, 0x11, 0x12, 0x13, 0x14].map((s) => (tx(r, s, -1, 0x1000n).status === ST_OK ? 'old' : 'new'));

  it.each<[string, CmdName, Fields, string[]]>([
    [
      'CFGI_STE (StreamID 0x12)',
      'CFGI_STE',
      { StreamID: 0x12, Leaf: 1 },
      ['old', 'old', 'new', 'old', 'old'],
    ],
    ['CFGI_STE with Leaf = 0', 'CFGI_STE', { StreamID: 0x14, Leaf: 0 }, ['old', 'old', 'old', 'old', 'new']],
    [
      'CFGI_STE_RANGE (0x10, Range 1: 4 StreamIDs)',
      'CFGI_STE_RANGE',
      { StreamID: 0x10, Range: 1 },
      ['new', 'new', 'new', 'new', 'old'],
    ],
    [
      'CFGI_STE_RANGE (0x13, Range 0: the aligned pair 0x12-0x13)',
      'CFGI_STE_RANGE',
      { StreamID: 0x13, Range: 0 },
      ['old', 'old', 'new', 'new', 'old'],
    ],
    [
      'CFGI_ALL (CFGI_STE_RANGE Range 31)',
      'CFGI_STE_RANGE',
      { Range: 31 },
      ['new', 'new', 'new', 'new', 'new'],
    ],
  ])('%s', (_n, name, fields, expected) => {
    const r = staleStes();
    r.drv.cmd(name, fields);
    r.drv.sync();
    expect(states(r)).toEqual(expected);
    expect(gerrorActive(r)).toBe(0);
    expect(events(r)).toEqual([]); // Config abort: no events
  });

  /** Stream 5, S1CDMax 2: CDs 0..3 cached; then each CD rewritten with a new ASID and table (no CFGI). */
  function staleCds(): { r: Rig; state: () => string[] } {
    const r = rig({ caching: true });
    const cdt = r.drv.makeCdTable(2, 0);
    const oldPt = s1Table(r);
    const newPt = s1Table(r);
    oldPt.map(VA, 0x8000_0000n, 0x1000n);
    newPt.map(VA, 0x9000_0000n, 0x1000n);
    for (let n = 0; n < 4; n++) cdt.writeCd(5, n, cdFields(oldPt, 1 + n), false);
    r.drv.writeSte(5, { V: 1, Config: 5, ...cdt.steFields(), S1DSS: 2 });
    const state = () =>
      [-1, 1, 2, 3].map((n) => {
        const t = tx(r, 5, n, VA, 0);
        return t.pa === 0x8000_0000 ? 'old' : t.pa === 0x9000_0000 ? 'new' : `status ${t.status}`;
      });
    expect(state()).toEqual(['old', 'old', 'old', 'old']);
    for (let n = 0; n < 4; n++) cdt.writeCd(5, n, cdFields(newPt, 11 + n), false);
    expect(state()).toEqual(['old', 'old', 'old', 'old']);
    return { r, state };
  }

  it.each<[string, CmdName, Fields, string[]]>([
    [
      'CFGI_CD (SubstreamID 2)',
      'CFGI_CD',
      { StreamID: 5, SubstreamID: 2, Leaf: 1 },
      ['old', 'old', 'new', 'old'],
    ],
    [
      'CFGI_CD (SubstreamID 0: also the non-substream traffic through CD 0)',
      'CFGI_CD',
      { StreamID: 5, SubstreamID: 0, Leaf: 1 },
      ['new', 'old', 'old', 'old'],
    ],
    [
      'CFGI_CD for another stream',
      'CFGI_CD',
      { StreamID: 6, SubstreamID: 2, Leaf: 1 },
      ['old', 'old', 'old', 'old'],
    ],
    ['CFGI_CD_ALL', 'CFGI_CD_ALL', { StreamID: 5 }, ['new', 'new', 'new', 'new']],
    [
      'CFGI_STE also drops the CDs fetched through it',
      'CFGI_STE',
      { StreamID: 5, Leaf: 0 },
      ['new', 'new', 'new', 'new'],
    ],
  ])('%s', (_n, name, fields, expected) => {
    const { r, state } = staleCds();
    r.drv.cmd(name, fields);
    r.drv.sync();
    expect(state()).toEqual(expected);
  });

  it('walk mode (no caching) sees memory at once, with no CFGI', () => {
    const r = rig({ caching: false });
    r.drv.writeSte(0x10, { V: 1, Config: 4 });
    expect(tx(r, 0x10, -1, 0x1000n).status).toBe(ST_OK);
    r.drv.writeSte(0x10, { V: 1, Config: 0 }, false);
    expect(tx(r, 0x10, -1, 0x1000n).status).toBe(ST_ABORT);
  });
});

// ---------------------------------------------------------------- TLB invalidation

interface TlbRig {
  r: Rig;
  /** 'o' (old PA) / 'n' (new PA) per page of VA..VA + 8 pages, per stream. */
  pattern: () => Record<string, string>;
}

/**
 * Caching rig with four streams translating VA + i * 4 KiB (i < 8), all warmed into the TLB, then
 * every leaf remapped in memory to a new PA without invalidation:
 *   s1a: stage 1, ASID 1, VMID 0 (page 7 is global: nG = 0)
 *   s1b: stage 1, ASID 2, VMID 0
 *   s1v: stage 1, ASID 1, VMID 3
 *   s2:  stage 2 only, VMID 3 (IPA = VA)
 *   el2: stage 1 EL2 (STRW 0b10, CR2.E2H 0), ASID 5, when IDR0.HYP
 */
function tlbRig(opts: { hyp?: boolean; ril?: boolean } = {}): TlbRig {
  const r = rig({ caching: true, ...opts });
  const streams: Record<string, { sid: number; pt: PageTable; base: number }> = {};
  const add = (
    name: string,
    sid: number,
    base: number,
    pt: PageTable,
    ste: Fields,
    asid: number,
    vmid: number,
  ) => {
    streams[name] = { sid, pt, base };
    if (Object.keys(ste).length === 0) {
      const cdt = r.drv.makeCdTable(0, 0);
      cdt.writeCd(sid, 0, cdFields(pt, asid), false);
      r.drv.writeSte(sid, {
        V: 1,
        Config: 5,
        ...cdt.steFields(),
        S2VMID: vmid,
        ...(name === 'el2' ? { STRW: 2 } : {}),
      });
    } else r.drv.writeSte(sid, ste);
  };
  add('s1a', 1, 0x8000_0000, s1Table(r), {}, 1, 0);
  add('s1b', 2, 0x8100_0000, s1Table(r), {}, 2, 0);
  add('s1v', 3, 0x8200_0000, s1Table(r), {}, 1, 3);
  const s2 = s2Table(r, 12, 48);
  add('s2', 4, 0x8300_0000, s2, { V: 1, Config: 6, ...s2Fields(s2, 3) }, 0, 3);
  if (opts.hyp) add('el2', 5, 0x8400_0000, s1Table(r), {}, 5, 0);
  const map = (delta: number) => {
    for (const [name, s] of Object.entries(streams)) {
      for (let i = 0; i < PAGES; i++) {
        const attrs = name === 's1a' && i === 7 ? { nG: false } : {};
        s.pt.map(VA + BigInt(i * 0x1000), BigInt(s.base + delta + i * 0x1000), 0x1000n, attrs);
      }
    }
  };
  const pattern = () => {
    const out: Record<string, string> = {};
    for (const [name, s] of Object.entries(streams)) {
      let p = '';
      for (let i = 0; i < PAGES; i++) {
        const t = tx(r, s.sid, -1, VA + BigInt(i * 0x1000 + 0x10), 0);
        const off = t.pa - s.base - i * 0x1000 - 0x10;
        p += t.status !== ST_OK ? '!' : off === 0 ? 'o' : off === 0x10_0000 ? 'n' : '?';
      }
      out[name] = p;
    }
    return out;
  };
  map(0);
  const old = pattern();
  for (const v of Object.values(old)) expect(v).toBe('oooooooo');
  map(0x10_0000);
  expect(pattern()).toEqual(old); // every translation is now stale
  return { r, pattern };
}

const ALL_OLD = { s1a: 'oooooooo', s1b: 'oooooooo', s1v: 'oooooooo', s2: 'oooooooo' };
const ALL_NEW = 'nnnnnnnn';
const page = (i: number) => VA + BigInt(i * 0x1000);

describe('TLBI_* in caching mode: exactly the scope of each command is refreshed', () => {
  it.each<[string, CmdName, Fields, Partial<typeof ALL_OLD>]>([
    ['TLBI_NH_ALL (VMID 0)', 'TLBI_NH_ALL', { VMID: 0 }, { s1a: ALL_NEW, s1b: ALL_NEW }],
    ['TLBI_NH_ALL (VMID 3)', 'TLBI_NH_ALL', { VMID: 3 }, { s1v: ALL_NEW }],
    [
      'TLBI_NH_ASID (VMID 0, ASID 1): the global page survives',
      'TLBI_NH_ASID',
      { VMID: 0, ASID: 1 },
      { s1a: 'nnnnnnno' },
    ],
    [
      'TLBI_NH_VA (VMID 0, ASID 1, page 2)',
      'TLBI_NH_VA',
      { VMID: 0, ASID: 1, Address: page(2) },
      { s1a: 'oonooooo' },
    ],
    [
      'TLBI_NH_VA (ASID 2, page 7): also the global entry of ASID 1',
      'TLBI_NH_VA',
      { VMID: 0, ASID: 2, Address: page(7) },
      { s1a: 'ooooooon', s1b: 'ooooooon' },
    ],
    [
      'TLBI_NH_VAA (VMID 0, page 2): every ASID',
      'TLBI_NH_VAA',
      { VMID: 0, Address: page(2) },
      { s1a: 'oonooooo', s1b: 'oonooooo' },
    ],
    [
      'TLBI_NH_VA range: TG 4K, NUM 3, SCALE 0 from page 1',
      'TLBI_NH_VA',
      { VMID: 0, ASID: 1, Address: page(1), TG: 1, NUM: 3 },
      { s1a: 'onnnnooo' },
    ],
    [
      'TLBI_NH_VA range: NUM 1, SCALE 1 (4 pages) from page 0',
      'TLBI_NH_VA',
      { VMID: 0, ASID: 1, Address: page(0), TG: 1, NUM: 1, SCALE: 1 },
      { s1a: 'nnnnoooo' },
    ],
    [
      'TLBI_NH_VAA range: NUM 0, SCALE 1 (2 pages) from page 6',
      'TLBI_NH_VAA',
      { VMID: 0, Address: page(6), TG: 1, SCALE: 1 },
      { s1a: 'oooooonn', s1b: 'oooooonn' },
    ],
    [
      'TLBI_NH_VA single page with a level hint (TG 4K, TTL 3)',
      'TLBI_NH_VA',
      { VMID: 0, ASID: 1, Address: page(5), TG: 1, TTL: 3 },
      { s1a: 'ooooonoo' },
    ],
    [
      'TLBI_S12_VMALL (VMID 3): stage 1 and stage 2 of the VM',
      'TLBI_S12_VMALL',
      { VMID: 3 },
      { s1v: ALL_NEW, s2: ALL_NEW },
    ],
    ['TLBI_S2_IPA (VMID 3, IPA page 3)', 'TLBI_S2_IPA', { VMID: 3, Address: page(3) }, { s2: 'ooonoooo' }],
    [
      'TLBI_S2_IPA range: TG 4K, NUM 1 from page 3',
      'TLBI_S2_IPA',
      { VMID: 3, Address: page(3), TG: 1, NUM: 1 },
      { s2: 'ooonnooo' },
    ],
    ['TLBI_S2_IPA for another VMID', 'TLBI_S2_IPA', { VMID: 4, Address: page(3) }, {}],
    ['TLBI_NSNH_ALL', 'TLBI_NSNH_ALL', {}, { s1a: ALL_NEW, s1b: ALL_NEW, s1v: ALL_NEW, s2: ALL_NEW }],
  ])('%s', (_n, name, fields, changed) => {
    const { r, pattern } = tlbRig();
    r.drv.cmd(name, fields);
    r.drv.sync();
    expect(consErr(r)).toBe(0);
    expect(pattern()).toEqual({ ...ALL_OLD, ...changed });
  });

  it.each<[string, CmdName, Fields]>([
    ['TG != 0 without IDR3.RIL', 'TLBI_NH_VA', { ASID: 1, Address: page(1), TG: 1, NUM: 3 }],
    ['TLBI_S2_IPA range without IDR3.RIL', 'TLBI_S2_IPA', { VMID: 3, Address: page(1), TG: 1, NUM: 1 }],
  ])('CERROR_ILL: %s', (_n, name, fields) => {
    const { r, pattern } = tlbRig({ ril: false });
    r.drv.cmd(name, fields);
    r.drv.sync();
    expect(consErr(r)).toBe(CERROR_ILL);
    expect(pattern()).toEqual(ALL_OLD);
  });

  it.each<[string, CmdName, Fields]>([
    ['NUM, SCALE, TTL all 0 with TG != 0 (reserved)', 'TLBI_NH_VA', { ASID: 1, Address: page(1), TG: 1 }],
    ['NUM without TG', 'TLBI_NH_VAA', { Address: page(1), NUM: 1 }],
    ['TLBI_EL2_ALL without IDR0.HYP', 'TLBI_EL2_ALL', {}],
    ['TLBI_EL2_ASID without IDR0.HYP', 'TLBI_EL2_ASID', { ASID: 5 }],
    ['TLBI_EL2_VA without IDR0.HYP', 'TLBI_EL2_VA', { ASID: 5, Address: page(0) }],
    ['TLBI_EL2_VAA without IDR0.HYP', 'TLBI_EL2_VAA', { Address: page(0) }],
    ['TLBI_EL3_ALL on the Non-secure queue', 'TLBI_EL3_ALL', {}],
  ])('CERROR_ILL: %s', (_n, name, fields) => {
    const { r, pattern } = tlbRig();
    r.drv.cmd(name, fields);
    r.drv.sync();
    expect({ err: consErr(r), cmdqErr: gerrorActive(r) & 1 }).toEqual({ err: CERROR_ILL, cmdqErr: 1 });
    expect(pattern()).toEqual(ALL_OLD);
  });

  it('a non-zero reserved field: CERROR_ILL (§7.1), and the command is not executed', () => {
    const { r, pattern } = tlbRig();
    // CMD_TLBI_NH_ALL with bit 20 of qword 0 set (RES0) and otherwise valid.
    r.drv.rawCmd([0x10n | (1n << 20n), 0n]);
    r.drv.sync();
    expect({ err: consErr(r), cmdqErr: gerrorActive(r) & 1 }).toEqual({ err: CERROR_ILL, cmdqErr: 1 });
    expect(pattern()).toEqual(ALL_OLD);
  });

  it('stage-1 commands on an SMMU without stage 1: CERROR_ILL', () => {
    const r = rig({ stage1: false });
    r.drv.cmd('TLBI_NH_ALL', {});
    expect(consErr(r)).toBe(CERROR_ILL);
  });

  it('stage-2 commands on an SMMU without stage 2: CERROR_ILL', () => {
    const r = rig({ stage2: false });
    r.drv.cmd('TLBI_S12_VMALL', { VMID: 0 });
    expect(consErr(r)).toBe(CERROR_ILL);
  });

  it.each<[string, CmdName, Fields, string]>([
    ['TLBI_EL2_ALL', 'TLBI_EL2_ALL', {}, ALL_NEW],
    [
      'TLBI_EL2_VA (page 4; E2H = 0: the ASID parameter is ignored)',
      'TLBI_EL2_VA',
      { ASID: 0, Address: page(4) },
      'oooonooo',
    ],
    ['TLBI_EL2_VAA (page 4)', 'TLBI_EL2_VAA', { Address: page(4) }, 'oooonooo'],
    ['TLBI_NH_ALL does not touch EL2 entries', 'TLBI_NH_ALL', { VMID: 0 }, 'oooooooo'],
    ['TLBI_NSNH_ALL does not touch EL2 entries', 'TLBI_NSNH_ALL', {}, 'oooooooo'],
  ])('IDR0.HYP, StreamWorld EL2: %s', (_n, name, fields, el2) => {
    const { r, pattern } = tlbRig({ hyp: true });
    r.drv.cmd(name, fields);
    r.drv.sync();
    expect(consErr(r)).toBe(0);
    expect(pattern().el2).toBe(el2);
  });
});

// ---------------------------------------------------------------- ATS, PRI, stalls, prefetch

describe('ATC_INV, PRI_RESP', () => {
  it('ATC_INV reaches the device ATC with its fields', () => {
    const r = rig();
    const calls: unknown[] = [];
    r.smmu.atcInvalidate = (sid, ssid, global, addr, size) => calls.push({ sid, ssid, global, addr, size });
    r.drv.cmd('ATC_INV', { StreamID: 7, SSV: 1, SubstreamID: 2, Global: 1, Address: 0x12_3000n, Size: 3 });
    r.drv.cmd('ATC_INV', { StreamID: 8, Address: 0x4000n, Size: 52 });
    r.drv.sync();
    expect(calls).toEqual([
      { sid: 7, ssid: 2, global: true, addr: 0x12_3000n, size: 3 },
      { sid: 8, ssid: -1, global: false, addr: 0x4000n, size: 52 },
    ]);
    expect(consErr(r)).toBe(0);
  });

  it('an ATC invalidation that times out fails the next CMD_SYNC with CERROR_ATC_INV_SYNC', () => {
    const r = rig();
    r.smmu.atcTimeout.add(9);
    r.drv.cmd('ATC_INV', { StreamID: 9, Size: 52 });
    const syncAt = prodWr(r);
    r.drv.sync();
    expect({ err: consErr(r), rd: consRd(r), cmdqErr: gerrorActive(r) & 1 }).toEqual({
      err: CERROR_ATC_INV_SYNC,
      rd: syncAt,
      cmdqErr: 1,
    });
    ack(r);
    expect({ err: consErr(r), rd: consRd(r), active: gerrorActive(r) }).toEqual({
      err: 0,
      rd: prodWr(r),
      active: 0,
    });
  });

  it('ATC_INV without IDR0.ATS: CERROR_ILL', () => {
    const r = rig({ ats: false });
    r.drv.cmd('ATC_INV', { StreamID: 1, Size: 52 });
    expect(consErr(r)).toBe(CERROR_ILL);
  });

  it('PRI_RESP answers a page request group', () => {
    const r = rig();
    expect(
      pageRequest(r.smmu, { sid: 4, ssid: 1, addr: 0x7000n, read: true, last: true, prgIndex: 0x1a5 }),
    ).toBe(true);
    r.drv.cmd('PRI_RESP', { StreamID: 4, SSV: 1, SubstreamID: 1, PRGIndex: 0x1a5, Resp: 2 });
    r.drv.cmd('PRI_RESP', { StreamID: 4, PRGIndex: 3, Resp: 0 });
    r.drv.sync();
    expect(r.smmu.priResponses).toEqual([
      { sid: 4, ssid: 1, prgIndex: 0x1a5, resp: 2 },
      { sid: 4, ssid: -1, prgIndex: 3, resp: 0 },
    ]);
  });

  it.each<[string, Fields, object]>([
    ['Resp = 0b11 (ILLEGAL)', { StreamID: 4, PRGIndex: 1, Resp: 3 }, {}],
    ['without IDR0.PRI', { StreamID: 4, PRGIndex: 1, Resp: 2 }, { pri: false }],
  ])('PRI_RESP %s: CERROR_ILL', (_n, fields, opts) => {
    const r = rig(opts);
    r.drv.cmd('PRI_RESP', fields);
    expect(consErr(r)).toBe(CERROR_ILL);
    expect(r.smmu.priResponses).toEqual([]);
  });
});

describe('stalls: CD.S = 1 (STALL_MODEL 0b00), RESUME, STALL_TERM', () => {
  function stalling(): Rig {
    const r = rig();
    for (const sid of [1, 2]) {
      const { pt } = s1Stream(r, sid, { cd: { S: 1, R: 0 } });
      pt.map(VA, 0x8000_0000n, 0x1000n);
    }
    return r;
  }
  const stall = (r: Rig, sid: number, iova = VA + 0x5010n, acc = ACC_W) => {
    const t = tx(r, sid, -1, iova, acc);
    expect(t.status).toBe(ST_STALL);
    return t.stag;
  };

  it('a stalled fault is recorded (even with CD.R = 0) with Stall = 1 and its STAG', () => {
    const r = stalling();
    const stag = stall(r, 1);
    expectOneEvent(r, 'F_TRANSLATION', {
      StreamID: 1,
      Stall: 1,
      STAG: stag,
      RnW: 0,
      S2: 0,
      InputAddr: VA + 0x5010n,
    });
    expect(r.smmu.stallOutcome(1, stag)).toBe('pending');
  });

  it('RESUME Ac = 1 retries, Ac = 0 terminates; a RESUME for no stalled transaction is ignored', () => {
    const r = stalling();
    const a = stall(r, 1);
    const b = stall(r, 1);
    expect(a).not.toBe(b);
    r.drv.cmd('RESUME', { StreamID: 1, STAG: a, Ac: 1 });
    r.drv.cmd('RESUME', { StreamID: 1, STAG: b, Ac: 0, AB: 1 });
    r.drv.cmd('RESUME', { StreamID: 2, STAG: a, Ac: 1 }); // wrong stream
    r.drv.cmd('RESUME', { StreamID: 1, STAG: 0xfff0, Ac: 1 }); // unknown STAG
    r.drv.sync();
    expect(consErr(r)).toBe(0);
    expect([r.smmu.stallOutcome(1, a), r.smmu.stallOutcome(1, b)]).toEqual(['retry', 'abort']);
    expect(events(r).map((e) => e.fields.Stall)).toEqual([1n, 1n]);
  });

  it('STALL_TERM terminates every stalled transaction of the stream, and only those', () => {
    const r = stalling();
    const a = stall(r, 1);
    const b = stall(r, 1, VA + 0x6000n, 0);
    const c = stall(r, 2);
    r.drv.cmd('STALL_TERM', { StreamID: 1 });
    r.drv.sync();
    expect([r.smmu.stallOutcome(1, a), r.smmu.stallOutcome(1, b), r.smmu.stallOutcome(2, c)]).toEqual([
      'abort',
      'abort',
      'pending',
    ]);
  });
});

describe('PREFETCH_*, SYNC completion signals', () => {
  it('PREFETCH_CONFIG and PREFETCH_ADDR are consumed without effect', () => {
    const r = rig({ caching: true });
    r.drv.writeSte(3, { V: 1, Config: 4 });
    r.drv.cmd('PREFETCH_CONFIG', { StreamID: 3 });
    r.drv.cmd('PREFETCH_ADDR', { StreamID: 3, SSV: 1, SubstreamID: 1, Address: 0x1000n, Size: 2 });
    r.drv.cmd('PREFETCH_CONFIG', { StreamID: 0xffff }); // beyond the stream table: still no event
    r.drv.sync();
    expect({ err: consErr(r), rd: consRd(r), gerror: gerrorActive(r) }).toEqual({
      err: 0,
      rd: prodWr(r),
      gerror: 0,
    });
    expectNoEvent(r);
  });

  it('CS = SIG_IRQ with MSIAddress: the SMMU writes MSIData there', () => {
    const r = rig();
    const word = r.alloc.alloc(64, 64);
    r.drv.cmd('SYNC', { CS: 1, MSIData: 0xcafe_f00d, MSIAddress: BigInt(word + 8) });
    expect(r.mem.read32(word + 8)).toBe(0xcafe_f00d);
    expect(r.mem.read32(word + 4)).toBe(0);
    expect(r.smmu.irqs.cmdSync).toBe(0);
  });

  it('CS = SIG_IRQ without MSIAddress (or without IDR0.MSI): the wired CMD_SYNC interrupt', () => {
    const r = rig();
    r.drv.cmd('SYNC', { CS: 1, MSIData: 1 });
    expect(r.smmu.irqs.cmdSync).toBe(1);
    const r2 = rig({ msi: false });
    const word = r2.alloc.alloc(64, 64);
    r2.drv.cmd('SYNC', { CS: 1, MSIData: 7, MSIAddress: BigInt(word) });
    expect({ irq: r2.smmu.irqs.cmdSync, mem: r2.mem.read32(word) }).toEqual({ irq: 1, mem: 0 });
  });

  it('CS = SIG_SEV signals the event register; CS = 0b11 is CERROR_ILL', () => {
    const r = rig();
    r.drv.cmd('SYNC', { CS: 2 });
    expect(r.smmu.sevs).toBe(1);
    r.drv.cmd('SYNC', { CS: 3 });
    expect(consErr(r)).toBe(CERROR_ILL);
  });

  it('an MSI to unbacked memory raises GERROR.MSI_CMDQ_ABT_ERR', () => {
    const r = rig();
    r.drv.cmd('SYNC', { CS: 1, MSIData: 1, MSIAddress: 0x7_0000_0000n });
    expect({ err: consErr(r), active: gerrorActive(r) }).toEqual({ err: 0, active: 1 << 4 });
  });
});

// ---------------------------------------------------------------- errors and wrap

describe('command errors (§7.1) and queue wrap', () => {
  it('CERROR_ILL on an unknown opcode: CONS stays on it, GERROR.CMDQ_ERR toggles, later commands wait for GERRORN', () => {
    const r = rig();
    const word = r.alloc.alloc(64, 64);
    const gerrorIrqs = r.smmu.irqs.gerror;
    const badAt = prodWr(r);
    r.drv.rawCmd([0xffn, 0n]);
    r.drv.cmd('SYNC', { CS: 1, MSIData: 0x1111, MSIAddress: BigInt(word) });
    expect({
      err: consErr(r),
      rd: consRd(r),
      gerror: r.drv.r32('GERROR') & 1,
      active: gerrorActive(r),
    }).toEqual({ err: CERROR_ILL, rd: badAt, gerror: 1, active: 1 });
    expect(r.smmu.irqs.gerror).toBe(gerrorIrqs + 1);
    expect(r.mem.read32(word)).toBe(0); // the SYNC behind the bad command did not run
    r.drv.cmd('SYNC', { CS: 1, MSIData: 0x2222, MSIAddress: BigInt(word + 4) }); // nor does a new one
    expect({ rd: consRd(r), w0: r.mem.read32(word), w1: r.mem.read32(word + 4) }).toEqual({
      rd: badAt,
      w0: 0,
      w1: 0,
    });

    // Acknowledging without fixing the command: it is fetched again and fails again (GERROR toggles back).
    ack(r);
    expect({
      err: consErr(r),
      rd: consRd(r),
      gerror: r.drv.r32('GERROR') & 1,
      active: gerrorActive(r),
    }).toEqual({ err: CERROR_ILL, rd: badAt, gerror: 0, active: 1 });

    // Software replaces the bad command (as Linux does, with a CMD_SYNC) and acknowledges.
    r.mem.writeQwords(r.drv.cmdqBase + badAt * 16, [0x46n, 0n]);
    ack(r);
    expect({
      rd: consRd(r),
      active: gerrorActive(r),
      w0: r.mem.read32(word),
      w1: r.mem.read32(word + 4),
    }).toEqual({ rd: prodWr(r), active: 0, w0: 0x1111, w1: 0x2222 });
  });

  it.each<[string, bigint[]]>([
    ['reserved opcode 0x00', [0x00n, 0n]],
    ['CFGI_VMS_PIDM (not implemented)', [0x07n, 0n]],
    ['CFGI_STE with SSec = 1 on the Non-secure queue', [0x03n | (1n << 10n), 0n]],
  ])('CERROR_ILL: %s', (_n, qw) => {
    const r = rig();
    r.drv.rawCmd(qw);
    expect(consErr(r)).toBe(CERROR_ILL);
  });

  it('CERROR_ABT: the command queue is not backed', () => {
    const r = rig();
    r.drv.w32('CR0', regValue('CR0', { SMMUEN: 1, EVENTQEN: 1, PRIQEN: 1 }));
    r.drv.w64('CMDQ_BASE', 0x6_0000_0000n | 4n);
    r.drv.w32('CMDQ_PROD', 0);
    r.drv.w32('CMDQ_CONS', 0);
    r.drv.w32('CR0', regValue('CR0', { SMMUEN: 1, EVENTQEN: 1, PRIQEN: 1, CMDQEN: 1 }));
    r.drv.w32('CMDQ_PROD', 1);
    expect({ err: consErr(r), rd: cons(r) & 0x1f, active: gerrorActive(r) }).toEqual({
      err: CERROR_ABT,
      rd: 0,
      active: 1,
    });
  });

  it('the command queue wraps: CONS follows PROD through the wrap bit', () => {
    const r = rig({}, { cmdqLog2: 2 });
    const word = r.alloc.alloc(256, 64);
    const seen: number[] = [];
    for (let i = 0; i < 11; i++) {
      r.drv.cmd('SYNC', { CS: 1, MSIData: 0x100 + i, MSIAddress: BigInt(word + 4 * i) });
      const c = cons(r);
      expect(c).toBe(prod(r));
      seen.push(c);
    }
    // init() issued 3 commands; each later command advances (index, wrap) over a 4-entry queue.
    expect(seen).toEqual([4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 11; i++) expect(r.mem.read32(word + 4 * i)).toBe(0x100 + i);
    expect(consErr(r)).toBe(0);
  });
});
