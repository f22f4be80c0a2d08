// ATS Translation Requests (IHI0070 §3.9.1.2) and Translated transactions (§3.9.1.3): UR / CA /
// F_BAD_ATS_TREQ / F_TRANSL_FORBIDDEN per configuration, configuration errors recorded only with
// SMMU_CR2.REC_CFG_ATS, the Translated address bounded by the OAS (§3.9.1.1); and STE.PRIVCFG /
// INSTCFG honoured only with IDR1.ATTR_PERMS_OVR (§5.2, §6.3.2).
import { describe, expect, it } from 'vitest';
import { regValue } from '../../src/smmuv3/regs.ts';
import type { ModelOptions } from '../../src/smmuv3/smmuv3.ts';
import { ACC_U, P_R, ST_ABORT, ST_OK, U_R, events, rig, s1Stream, tx, type Rig } from './harness.ts';

const VA = 0x1234_5000n;
const CR0_ON = regValue('CR0', { SMMUEN: 1, EVENTQEN: 1, CMDQEN: 1, PRIQEN: 1 });
const CR0_ATSCHK = regValue('CR0', { SMMUEN: 1, EVENTQEN: 1, CMDQEN: 1, PRIQEN: 1, ATSCHK: 1 });

/** Sets CR0 (and CR2, which is writable only while SMMUEN = 0). */
function setCr(r: Rig, cr0: number, cr2?: Record<string, number>): void {
  r.drv.w32('CR0', cr0 & ~1);
  if (cr2) r.drv.w32('CR2', regValue('CR2', cr2));
  r.drv.w32('CR0', cr0);
}

function machine(o: ModelOptions = {}): Rig {
  const r = rig(o);
  // 1: stage 1 with ATS (EATS = 1); 2: stage 1 without ATS; 3: bypass; 4: abort; 5: V = 0;
  // 6: stage 1, EATS = 1, CD invalid; 7: S1DSS terminate (CDMax 1, no SubstreamID).
  const { pt } = s1Stream(r, 1, { ste: { EATS: 1 } });
  pt.map(VA, 0x8000_0000n, 0x1000n);
  s1Stream(r, 2, { ste: { EATS: 0 } });
  r.drv.writeSte(3, { V: 1, Config: 4, EATS: 1 });
  r.drv.writeSte(4, { V: 1, Config: 0, EATS: 1 });
  r.drv.writeSte(5, { V: 0 });
  s1Stream(r, 6, { ste: { EATS: 1 }, cd: { V: 0 } });
  s1Stream(r, 7, { cdmax: 1, s1dss: 0, ste: { EATS: 1 } });
  return r;
}

const ats = (r: Rig, sid: number, ssid = -1, iova = VA) => {
  const st = r.smmu.translateAts(sid, ssid, Number(iova >> 32n), Number(iova & 0xffff_ffffn), 0);
  const res = r.smmu.res;
  return { st, event: res.event, recorded: res.recorded, ev: events(r).map((e) => e.type) };
};
const translated = (r: Rig, sid: number, addr: bigint) => {
  const st = r.smmu.translateTranslated(sid, -1, Number(addr >> 32n), Number(addr & 0xffff_ffffn), 0);
  const res = r.smmu.res;
  return { st, pa: res.pa, event: res.event, ev: events(r).map((e) => e.type) };
};

describe('ATS Translation Requests (§3.9.1.2)', () => {
  it('UR with F_BAD_ATS_TREQ: SMMUEN = 0, a bypass STE, EATS = 0b00; UR without an event: an abort STE', () => {
    const r = machine();
    expect(ats(r, 1)).toMatchObject({ st: ST_OK });
    expect(ats(r, 2)).toMatchObject({ st: ST_ABORT, event: 0x05, ev: ['F_BAD_ATS_TREQ'] });
    expect(ats(r, 3)).toMatchObject({ st: ST_ABORT, event: 0x05, ev: ['F_BAD_ATS_TREQ'] });
    expect(ats(r, 4)).toMatchObject({ st: ST_ABORT, event: 0, ev: [] });
    setCr(r, CR0_ON & ~1);
    expect(ats(r, 1)).toMatchObject({ st: ST_ABORT, event: 0x05, ev: ['F_BAD_ATS_TREQ'] });
  });

  it('configuration errors are CA and recorded only with CR2.REC_CFG_ATS', () => {
    const r = machine();
    setCr(r, CR0_ON, { RECINVSID: 1 });
    const cases: [number, number, number][] = [
      [5, -1, 0x04], // C_BAD_STE
      [6, -1, 0x0a], // C_BAD_CD
      [1, 3, 0x08], // C_BAD_SUBSTREAMID
      [7, -1, 0x06], // F_STREAM_DISABLED
      [0x1_0000, -1, 0x02], // C_BAD_STREAMID
    ];
    for (const [sid, ssid, event] of cases)
      expect(ats(r, sid, ssid)).toMatchObject({ st: ST_ABORT, event, ev: [] });
    setCr(r, CR0_ON, { RECINVSID: 1, REC_CFG_ATS: 1 });
    for (const [sid, ssid, event] of cases)
      expect(ats(r, sid, ssid)).toMatchObject({ st: ST_ABORT, event, recorded: true });
    // C_BAD_STREAMID also needs RECINVSID.
    setCr(r, CR0_ON, { REC_CFG_ATS: 1 });
    expect(ats(r, 0x1_0000)).toMatchObject({ event: 0x02, recorded: false, ev: [] });
  });

  it('without IDR0.ATSRECERR, REC_CFG_ATS does not exist: nothing recorded', () => {
    const r = machine({ atsRecErr: false });
    setCr(r, CR0_ON, { RECINVSID: 1, REC_CFG_ATS: 1 });
    expect(ats(r, 5)).toMatchObject({ st: ST_ABORT, event: 0x04, ev: [] });
  });

  it('a translation fault is answered without an event (R = W = 0)', () => {
    const r = machine();
    expect(ats(r, 1, -1, VA + 0x10_0000n)).toMatchObject({ st: ST_ABORT, event: 0x10, ev: [] });
  });
});

describe('ATS Translated transactions (§3.9.1.3, §3.9.1.1)', () => {
  it('SMMUEN = 0: F_TRANSL_FORBIDDEN and aborted', () => {
    const r = machine();
    setCr(r, CR0_ON & ~1);
    expect(translated(r, 1, 0x4000_0000n)).toMatchObject({
      st: ST_ABORT,
      event: 0x07,
      ev: ['F_TRANSL_FORBIDDEN'],
    });
  });

  it('ATSCHK = 0: passes unchecked, but never beyond the OAS (aborted without an event)', () => {
    const r = machine({ oasBits: 44 });
    expect(translated(r, 2, 0x4000_0000n)).toMatchObject({ st: ST_OK, pa: 0x4000_0000 });
    expect(translated(r, 2, (1n << 44n) - 4096n)).toMatchObject({ st: ST_OK, pa: 2 ** 44 - 4096 });
    for (const a of [1n << 44n, 0xffff_ffff_ffff_f000n, 1n << 53n])
      expect(translated(r, 2, a)).toMatchObject({ st: ST_ABORT, event: 0, ev: [] });
  });

  it('ATSCHK = 1: bypass and EATS = 0 are F_TRANSL_FORBIDDEN, abort is silent; EATS = 0 never fetches the CD', () => {
    const r = machine();
    setCr(r, CR0_ATSCHK);
    expect(translated(r, 1, 0x4000_0000n)).toMatchObject({ st: ST_OK, pa: 0x4000_0000 });
    expect(translated(r, 3, 0x4000_0000n)).toMatchObject({
      st: ST_ABORT,
      event: 0x07,
      ev: ['F_TRANSL_FORBIDDEN'],
    });
    expect(translated(r, 4, 0x4000_0000n)).toMatchObject({ st: ST_ABORT, event: 0, ev: [] });
    // Stream 8: EATS = 0 and a CD pointer to unbacked memory: F_TRANSL_FORBIDDEN, not F_CD_FETCH.
    r.drv.writeSte(8, { V: 1, Config: 5, EATS: 0, S1ContextPtr: 0x7_0000_0000n });
    expect(translated(r, 8, 0x4000_0000n)).toMatchObject({
      st: ST_ABORT,
      event: 0x07,
      ev: ['F_TRANSL_FORBIDDEN'],
    });
    // EATS = 1 with an unbacked CD pointer: the CD is not needed either.
    r.drv.writeSte(9, { V: 1, Config: 5, EATS: 1, S1ContextPtr: 0x7_0000_0000n });
    expect(translated(r, 9, 0x4000_0000n)).toMatchObject({ st: ST_OK });
  });

  it('ATSCHK = 1: configuration errors abort, recorded only with REC_CFG_ATS (C_BAD_STREAMID regardless of RECINVSID)', () => {
    const r = machine();
    setCr(r, CR0_ATSCHK);
    expect(translated(r, 5, 0x1000n)).toMatchObject({ st: ST_ABORT, event: 0x04, ev: [] });
    expect(translated(r, 7, 0x1000n)).toMatchObject({ st: ST_ABORT, event: 0x06, ev: [] });
    setCr(r, CR0_ATSCHK, { REC_CFG_ATS: 1 });
    expect(translated(r, 5, 0x1000n)).toMatchObject({ st: ST_ABORT, event: 0x04, ev: ['C_BAD_STE'] });
    expect(translated(r, 0x1_0000, 0x1000n)).toMatchObject({ event: 0x02, ev: ['C_BAD_STREAMID'] });
  });
});

describe('STE.PRIVCFG / INSTCFG need IDR1.ATTR_PERMS_OVR (§5.2, §6.3.2)', () => {
  it.each([true, false])('ATTR_PERMS_OVR = %s', (ovr) => {
    const r = rig({ attrPermsOvr: ovr });
    expect((r.drv.r32('IDR1') >>> 26) & 1).toBe(ovr ? 1 : 0);
    // Privileged-only page; STE.PRIVCFG = 0b10 (make every transaction unprivileged).
    const { pt } = s1Stream(r, 1, { ste: { PRIVCFG: 2 } });
    pt.map(VA, 0x8000_0000n, 0x1000n, { ap: 0 });
    const t = tx(r, 1, -1, VA, 0);
    if (ovr) expect({ status: t.status, event: t.event }).toEqual({ status: ST_ABORT, event: 0x13 });
    else expect({ status: t.status, perm: t.perm & (P_R | U_R) }).toEqual({ status: ST_OK, perm: P_R });
    expect(tx(r, 1, -1, VA, ACC_U).status).toBe(ST_ABORT);
  });
});
