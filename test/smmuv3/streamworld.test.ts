// StreamWorld EL2 (IDR0.HYP, stage 1 only, STRW = 0b10): CD.ASID is IGNORED when SMMU_CR2.E2H = 0
// (IHI0070 §5.4 ASID), and STE.S2VMID is IGNORED in the EL2 and EL2-E2H StreamWorlds (§5.2 S2VMID:
// only NS-EL1 translations are VMID-tagged), so neither is range-checked against ASID16 / VMID16.
import { describe, expect, it } from 'vitest';
import { refTranslate } from '../../src/ref/smmuv3-ref.ts';
import { ST_ABORT, ST_OK, rig, s1Stream, tx, type Rig } from './harness.ts';

const VA = 0x1234_5000n;

function machine(e2h: boolean, strw: number, ste: Record<string, number>, cd: Record<string, number>): Rig {
  const r = rig({ hyp: true, asid16: false, vmid16: false });
  if (e2h) {
    const cr0 = r.drv.r32('CR0');
    r.drv.w32('CR0', cr0 & ~1);
    r.drv.w32('CR2', r.drv.r32('CR2') | 1);
    r.drv.w32('CR0', cr0);
  }
  const { pt } = s1Stream(r, 1, { ste: { STRW: strw, ...ste }, cd });
  pt.map(VA, 0x8000_0000n, 0x1000n);
  return r;
}

describe('StreamWorld EL2: IGNORED ASID / S2VMID are not range-checked', () => {
  it.each<[string, boolean, number, Record<string, number>, Record<string, number>, number]>([
    ['EL2, CD.ASID 0x1ff (ASID16 = 0): IGNORED', false, 2, {}, { ASID: 0x1ff }, 0],
    ['EL2-E2H, CD.ASID 0x1ff: ILLEGAL (C_BAD_CD)', true, 2, {}, { ASID: 0x1ff }, 0x0a],
    ['NS-EL1, CD.ASID 0x1ff: ILLEGAL (C_BAD_CD)', false, 0, {}, { ASID: 0x1ff }, 0x0a],
    ['EL2, S2VMID 0x1ff (VMID16 = 0): IGNORED', false, 2, { S2VMID: 0x1ff }, {}, 0],
    ['EL2-E2H, S2VMID 0x1ff: IGNORED', true, 2, { S2VMID: 0x1ff }, {}, 0],
    ['NS-EL1, S2VMID 0x1ff: ILLEGAL (C_BAD_STE)', false, 0, { S2VMID: 0x1ff }, {}, 0x04],
  ])('%s', (_n, e2h, strw, ste, cd, event) => {
    const r = machine(e2h, strw, ste, cd);
    const ref = refTranslate(r.smmu, 1, -1, VA, 0);
    const t = tx(r, 1, -1, VA, 0);
    if (event === 0) {
      expect({ status: t.status, pa: t.pa }).toEqual({ status: ST_OK, pa: 0x8000_0000 });
      expect(ref.kind).toBe('ok');
    } else {
      expect({ status: t.status, event: t.event }).toEqual({ status: ST_ABORT, event });
      expect(ref.kind === 'fault' && ref.event).toBe(event);
    }
  });
});
