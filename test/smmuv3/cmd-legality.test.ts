// Command legality per feature (IHI0070 chapter 4, §7.1 CERROR_ILL): every opcode against the ID
// register features that make it legal, the reserved TLBI range encodings, and the termination
// that CMD_RESUME asks for.
import { describe, expect, it } from 'vitest';
import type { CmdName } from '../../src/smmuv3/commands.ts';
import type { ModelOptions } from '../../src/smmuv3/smmuv3.ts';
import { ACC_W, ST_STALL, rig, s1Stream, tx, type Fields, type Rig } from './harness.ts';

const CERROR_ILL = 1;
const consErr = (r: Rig) => (r.drv.r32('CMDQ_CONS') >>> 24) & 0x7f;
/** Issues one command (then a SYNC) and returns CMDQ_CONS.ERR. */
function issue(opts: ModelOptions, name: CmdName, f: Fields): number {
  const r = rig(opts);
  r.drv.cmd(name, f);
  r.drv.sync();
  return consErr(r);
}

describe('command legality per feature', () => {
  it.each<[string, ModelOptions, CmdName, Fields, number]>([
    // §4.7.1, §4.7.2: without the stall model (STALL_MODEL = 0b01), RESUME / STALL_TERM are ILLEGAL.
    ['RESUME, STALL_MODEL 0b01', { stallModel: 'none' }, 'RESUME', { StreamID: 1, Ac: 1 }, CERROR_ILL],
    ['STALL_TERM, STALL_MODEL 0b01', { stallModel: 'none' }, 'STALL_TERM', { StreamID: 1 }, CERROR_ILL],
    ['RESUME, STALL_MODEL 0b00', {}, 'RESUME', { StreamID: 1, Ac: 1 }, 0],
    ['RESUME, STALL_MODEL 0b10', { stallModel: 'force' }, 'RESUME', { StreamID: 1, Ac: 1 }, 0],
    ['STALL_TERM, STALL_MODEL 0b10', { stallModel: 'force' }, 'STALL_TERM', { StreamID: 1 }, 0],
    // §4.3.3, §4.3.4: CD invalidation on an SMMU without stage 1 (no CDs) is ILLEGAL.
    ['CFGI_CD without stage 1', { stage1: false }, 'CFGI_CD', { StreamID: 1, SubstreamID: 0 }, CERROR_ILL],
    ['CFGI_CD_ALL without stage 1', { stage1: false }, 'CFGI_CD_ALL', { StreamID: 1 }, CERROR_ILL],
    ['CFGI_CD with stage 1', {}, 'CFGI_CD', { StreamID: 1, SubstreamID: 0 }, 0],
    ['CFGI_CD_ALL with stage 1', {}, 'CFGI_CD_ALL', { StreamID: 1 }, 0],
    ['CFGI_STE without stage 1', { stage1: false }, 'CFGI_STE', { StreamID: 1 }, 0],
    // §4.4.2: the EL2 invalidations are stage-1 commands (CERROR_ILL without stage 1 or IDR0.HYP).
    ['TLBI_EL2_ALL without stage 1', { stage1: false, hyp: true }, 'TLBI_EL2_ALL', {}, CERROR_ILL],
    ['TLBI_EL2_ALL without HYP', {}, 'TLBI_EL2_ALL', {}, CERROR_ILL],
    ['TLBI_EL2_ALL with HYP', { hyp: true }, 'TLBI_EL2_ALL', {}, 0],
    ['TLBI_NSNH_ALL without stage 1', { stage1: false }, 'TLBI_NSNH_ALL', {}, 0],
    ['TLBI_NSNH_ALL without stage 2', { stage2: false }, 'TLBI_NSNH_ALL', {}, 0],
    ['PRI_RESP without PRI', { pri: false }, 'PRI_RESP', { StreamID: 1, Resp: 2 }, CERROR_ILL],
    ['ATC_INV without ATS', { ats: false }, 'ATC_INV', { StreamID: 1 }, CERROR_ILL],
    ['CFGI_VMS_PIDM (VMS not implemented)', {}, 'CFGI_VMS_PIDM', {}, CERROR_ILL],
    ['TLBI_EL3_ALL on the Non-secure queue', {}, 'TLBI_EL3_ALL', {}, CERROR_ILL],
  ])('%s', (_n, opts, name, f, err) => {
    expect(issue(opts, name, f)).toBe(err);
  });
});

describe('TLBI range encodings (§4.4.1.1)', () => {
  const VA = 0x40_0000_0000n;
  it.each<[string, Fields, number]>([
    // TTL = 0b01 with TG = 16K needs IDR5.DS: treated as 0b00, so NUM = SCALE = 0 is the Reserved combination.
    ['TG 16K, TTL 0b01, NUM = SCALE = 0 (DS = 0)', { TG: 2, TTL: 1 }, CERROR_ILL],
    ['TG 16K, TTL 0b01, NUM = 1: a range, the TTL hint ignored', { TG: 2, TTL: 1, NUM: 1 }, 0],
    ['TG 16K, TTL 0b10, NUM = SCALE = 0: a single granule with a hint', { TG: 2, TTL: 2 }, 0],
    ['TG 4K, TTL 0b01, NUM = SCALE = 0', { TG: 1, TTL: 1 }, 0],
    ['TG 64K, TTL 0, NUM = SCALE = 0', { TG: 3 }, CERROR_ILL],
    ['TG 0 with TTL', { TTL: 3 }, CERROR_ILL],
  ])('TLBI_NH_VA %s', (_n, f, err) => {
    expect(issue({}, 'TLBI_NH_VA', { VMID: 0, ASID: 1, Address: VA, ...f })).toBe(err);
    expect(issue({}, 'TLBI_S2_IPA', { VMID: 0, Address: 0x4000_0000n, ...f })).toBe(err);
  });
});

describe('CMD_RESUME termination (§4.7.1)', () => {
  const VA = 0x55_0000_0000n;
  function stalled(opts: ModelOptions): { r: Rig; stag: number } {
    const r = rig(opts);
    const { pt } = s1Stream(r, 1, { cd: { S: 1, R: 0, A: 0 } });
    pt.map(VA, 0x8000_0000n, 0x1000n);
    const t = tx(r, 1, -1, VA + 0x5000n, ACC_W);
    expect(t.status).toBe(ST_STALL);
    return { r, stag: t.stag };
  }

  it('Ac = 0, AB = 0 completes the transaction with RAZ/WI semantics (TERM_MODEL = 0)', () => {
    const { r, stag } = stalled({ termAbortOnly: false });
    r.drv.cmd('RESUME', { StreamID: 1, STAG: stag, Ac: 0, AB: 0 });
    r.drv.sync();
    expect({ err: consErr(r), outcome: r.smmu.stallOutcome(1, stag) }).toEqual({ err: 0, outcome: 'razwi' });
  });

  it('Ac = 0, AB = 1 aborts', () => {
    const { r, stag } = stalled({ termAbortOnly: false });
    r.drv.cmd('RESUME', { StreamID: 1, STAG: stag, Ac: 0, AB: 1 });
    r.drv.sync();
    expect(r.smmu.stallOutcome(1, stag)).toBe('abort');
  });

  it('TERM_MODEL = 1: AB is IGNORED, the termination is an abort', () => {
    const r = rig({ termAbortOnly: true });
    const { pt } = s1Stream(r, 1, { cd: { S: 1, R: 0 } });
    pt.map(VA, 0x8000_0000n, 0x1000n);
    const t = tx(r, 1, -1, VA + 0x5000n, ACC_W);
    expect(t.status).toBe(ST_STALL);
    r.drv.cmd('RESUME', { StreamID: 1, STAG: t.stag, Ac: 0, AB: 0 });
    r.drv.sync();
    expect(r.smmu.stallOutcome(1, t.stag)).toBe('abort');
  });

  it('STALL_TERM terminates with an abort even with TERM_MODEL = 0 (§4.7.2)', () => {
    const { r, stag } = stalled({ termAbortOnly: false });
    r.drv.cmd('STALL_TERM', { StreamID: 1 });
    r.drv.sync();
    expect(r.smmu.stallOutcome(1, stag)).toBe('abort');
  });
});

describe('SMMUEN = 0: the ATS interface is not operational (§6.3.9.6)', () => {
  it('CMD_ATC_INV and CMD_PRI_RESP are consumed and ignored', () => {
    const r = rig();
    const calls: number[] = [];
    r.smmu.atcInvalidate = (sid) => void calls.push(sid);
    r.drv.w32('CR0', r.drv.r32('CR0') & ~1);
    r.drv.cmd('ATC_INV', { StreamID: 5, Size: 52 });
    r.drv.cmd('PRI_RESP', { StreamID: 5, Resp: 2 });
    r.drv.sync();
    expect({ err: consErr(r), calls, pri: r.smmu.priResponses }).toEqual({ err: 0, calls: [], pri: [] });
    r.drv.w32('CR0', r.drv.r32('CR0') | 1);
    r.drv.cmd('ATC_INV', { StreamID: 5, Size: 52 });
    r.drv.sync();
    expect(calls).toEqual([5]);
  });
});

describe('STAGs (§4.7.1)', () => {
  it('a STAG held by a stalled transaction is not reused; once resolved it returns to the set', () => {
    const r = rig();
    const { pt } = s1Stream(r, 1, { cd: { S: 1, R: 0 } });
    pt.map(0x1000n, 0x8000_0000n, 0x1000n);
    const a = tx(r, 1, -1, 0x5000n, ACC_W).stag;
    r.smmu.nextStag = (a - 1) & 0xffff; // the allocator comes round to `a` again
    const b = tx(r, 1, -1, 0x6000n, ACC_W);
    expect({ status: b.status, same: b.stag === a }).toEqual({ status: ST_STALL, same: false });
    r.drv.cmd('RESUME', { StreamID: 1, STAG: a, Ac: 0, AB: 1 });
    r.drv.sync();
    expect(r.smmu.stallOutcome(1, a)).toBe('abort');
    r.smmu.nextStag = (a - 1) & 0xffff;
    const c = tx(r, 1, -1, 0x7000n, ACC_W);
    expect(c.stag).toBe(a);
    expect(r.smmu.stallOutcome(1, a)).toBe('pending'); // the new transaction, not the resolved one
  });
});
