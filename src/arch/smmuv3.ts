// The SMMUv3 entry of the architecture registry.
import type { Layout } from '../layout/layout.ts';
import type { PhysMem } from '../mem/phys-mem.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../pt/vmsav8-64.ts';
import { CMD_BY_OP, CMD_HEADER } from '../smmuv3/commands.ts';
import { EVT_BY_ID, EVT_HEADER, PRIQ_ENTRY } from '../smmuv3/events.ts';
import { CD, L1CD, L1STD, STE } from '../smmuv3/layouts.ts';
import { REG_BY_NAME, REGS } from '../smmuv3/regs.ts';
import { SMMUv3, type ModelOptions } from '../smmuv3/smmuv3.ts';
import { wordsToQwords } from '../layout/layout.ts';
import { ACC_U, ACC_W, ACC_X, ST_OK, ST_RAZWI, ST_STALL } from '../smmuv3/smmuv3.ts';
import type { Access, DmaRequest, IommuArch, IommuModel, Outcome, Structure } from './arch.ts';

const fixed = (layout: Layout): Structure => ({ kind: 'fixed', layout });

function accFlags(access: Access, unpriv: boolean): number {
  return (access === 'write' ? ACC_W : access === 'exec' ? ACC_X : 0) | (unpriv ? ACC_U : 0);
}

const qwordHex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

/** One DMA through an SMMUv3 (StreamID, SubstreamID), described as the tools print it. */
function runRequest(model: IommuModel, q: DmaRequest): Outcome {
  const smmu = model as SMMUv3;
  const st = smmu.translate(
    q.id,
    q.sub,
    Number(q.addr >> 32n),
    Number(q.addr & 0xffff_ffffn),
    accFlags(q.access, q.unpriv),
  );
  const res = smmu.res;
  if (st === ST_OK)
    return { ok: true, pa: `0x${res.pa.toString(16)}`, perm: SMMUv3.permString(res.perm, q.unpriv) };
  if (res.event === 0) return { ok: false, abort: true };
  const event = {
    type: EVT_BY_ID[res.event]?.name ?? `0x${res.event.toString(16)}`,
    id: res.event,
    record: wordsToQwords(smmu.evt).map(qwordHex),
    ...(res.recorded ? {} : { recorded: false as const }),
  };
  if (st === ST_STALL) return { ok: false, stalled: true, stag: res.stag, event };
  if (st === ST_RAZWI) return { ok: false, razwi: true, event };
  return { ok: false, event };
}

/** ID registers the features come from (IHI0070 §6.3.1-6.3.6); IDR2 and IDR4 carry nothing modelled. */
const IDRS = ['IDR0', 'IDR1', 'IDR2', 'IDR3', 'IDR4', 'IDR5'];

export const SMMUV3_ARCH: IommuArch = {
  name: 'smmuv3',
  title: 'Arm SMMUv3 (IHI 0070)',
  structures: new Map<string, Structure>([
    ['smmuv3-ste', fixed(STE)],
    ['smmuv3-cd', fixed(CD)],
    ['smmuv3-l1std', fixed(L1STD)],
    ['smmuv3-l1cd', fixed(L1CD)],
    ['smmuv3-cmd', { kind: 'typed', header: CMD_HEADER, pick: (op) => CMD_BY_OP[op] }],
    ['smmuv3-evt', { kind: 'typed', header: EVT_HEADER, pick: (id) => EVT_BY_ID[id] }],
    ['smmuv3-priq', fixed(PRIQ_ENTRY)],
    // VMSAv8-64 translation table descriptors (DDI 0487 D8.3), the format SMMUv3 stage 1 and 2 walk.
    [VMSA_TABLE.name, fixed(VMSA_TABLE)],
    [VMSA_S1_LEAF.name, fixed(VMSA_S1_LEAF)],
    [VMSA_S2_LEAF.name, fixed(VMSA_S2_LEAF)],
  ]),
  registers: REGS,
  registerByName: (name) => REG_BY_NAME.get(name),
  requiredRegisters: ['IDR0', 'IDR1', 'IDR5'],
  createModel(mem: PhysMem, regs, opts = {}) {
    const idr = IDRS.map((n) => Number(regs.get(n) ?? 0n));
    return new SMMUv3(mem, { ...(opts as ModelOptions), idr });
  },
  ids: { id: 'sid', sub: 'ssid' },
  runRequest,
};
