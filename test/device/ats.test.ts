// ATS: translation requests with STE.EATS checks, the device ATC, CMD_ATC_INV, translated
// transactions with CR0.ATSCHK. Real tables in real memory; the device side is src/device/atc.ts.
import { describe, expect, it } from 'vitest';
import { Atc } from '../../src/device/atc.ts';
import { buildDemoMachine } from '../../src/machine/demo.ts';
import { EVT } from '../../src/smmuv3/events.ts';
import { ACC_W, ST_ABORT, ST_OK } from '../../src/smmuv3/smmuv3.ts';
import { regValue } from '../../src/smmuv3/regs.ts';
import { linuxCd } from '../../src/driver/smmuv3-driver.ts';

function machine() {
  const m = buildDemoMachine();
  m.drv.readEvents();
  return m;
}

describe('ATS translation requests', () => {
  it('EATS = 0 gives F_BAD_ATS_TREQ and an unsuccessful completion', () => {
    const m = machine();
    expect(m.smmu.translateAts(m.sids.dma, -1, 0, 0xffff_0010, 0)).toBe(ST_ABORT);
    const ev = m.drv.readEvents();
    expect(ev.map((e) => e.type)).toEqual(['F_BAD_ATS_TREQ']);
    expect(ev[0]!.fields.StreamID).toBe(BigInt(m.sids.dma));
  });

  it('EATS = 1 returns the full translation; faults are not recorded', () => {
    const m = machine();
    const cd0 = m.drv.makeCdTable(0, 0);
    cd0.writeCd(0x40, 0, linuxCd(m.pt.root, 1), false);
    m.drv.writeSte(0x40, { V: 1, Config: 5, ...cd0.steFields(), EATS: 1 });
    expect(m.smmu.translateAts(0x40, -1, 0, 0xffff_0010, ACC_W)).toBe(ST_OK);
    expect(m.smmu.res.pa).toBe(0x4200_0010);
    expect(m.smmu.translateAts(0x40, -1, 0, 0x1000, 0)).toBe(ST_ABORT);
    expect(m.smmu.res.event).toBe(EVT.F_TRANSLATION);
    expect(m.smmu.res.recorded).toBe(false);
    expect(m.drv.readEvents()).toEqual([]);
  });

  it('the device ATC caches ATS answers until CMD_ATC_INV', () => {
    const m = machine();
    const cd0 = m.drv.makeCdTable(0, 0);
    cd0.writeCd(0x40, 0, linuxCd(m.pt.root, 1), false);
    m.drv.writeSte(0x40, { V: 1, Config: 5, ...cd0.steFields(), EATS: 1 });
    const atc = new Atc(m.smmu, 0x40);
    expect(atc.translate(-1, 0xffff_0010n, 0)?.pa).toBe(0x4200_0010);
    // The driver remaps the page but forgets the ATC: the device keeps using the old answer.
    m.pt.map(0xffff_0000n, 0x4300_0000n, 0x1000n, { ap: 1 });
    expect(atc.translate(-1, 0xffff_0010n, 0)?.pa).toBe(0x4200_0010);
    m.drv.cmd('ATC_INV', { StreamID: 0x40, Address: 0xffff_0000n, Size: 0 });
    m.drv.sync();
    expect(atc.invalidations).toBe(1);
    expect(atc.translate(-1, 0xffff_0010n, 0)?.pa).toBe(0x4300_0010);
  });

  it('translated transactions: CR0.ATSCHK = 1 forbids them on streams without ATS', () => {
    const m = machine();
    const cr0 = m.drv.r32('CR0');
    m.drv.w32('CR0', 0);
    m.drv.w32('CR0', cr0 | regValue('CR0', { ATSCHK: 1 }));
    expect(m.smmu.translateTranslated(m.sids.dma, -1, 0, 0x4200_0000, 0)).toBe(ST_ABORT);
    expect(m.drv.readEvents().map((e) => e.type)).toEqual(['F_TRANSL_FORBIDDEN']);
    m.drv.w32('CR0', 0);
    m.drv.w32('CR0', cr0);
    expect(m.smmu.translateTranslated(m.sids.dma, -1, 0, 0x4200_0000, 0)).toBe(ST_OK);
    expect(m.smmu.res.pa).toBe(0x4200_0000);
  });
});
