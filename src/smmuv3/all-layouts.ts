// Every architected SMMUv3-side layout table in one list (tests and spec-notes iterate over it).
import type { Layout } from '../layout/layout.ts';
import { CMDS } from './commands.ts';
import { EVENTS, PRIQ_ENTRY } from './events.ts';
import { CD, L1CD, L1STD, STE } from './layouts.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../pt/vmsav8-64.ts';

export const ALL_LAYOUTS: readonly Layout[] = [
  STE,
  CD,
  L1STD,
  L1CD,
  ...CMDS.map((c) => c.layout),
  ...EVENTS.map((e) => e.layout),
  PRIQ_ENTRY,
  VMSA_TABLE,
  VMSA_S1_LEAF,
  VMSA_S2_LEAF,
];
