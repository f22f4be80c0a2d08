// Generates spec-notes/ from the tables in src/: spec-notes/smmuv3/*.md from the layout tables
// (src/smmuv3/layouts.ts, commands.ts, events.ts) and the register table (src/smmuv3/regs.ts),
// spec-notes/pt/vmsav8-64.md from the VMSAv8-64 descriptor layouts (src/pt/vmsav8-64.ts),
// spec-notes/pt/x86-64.md from the x86-64 / VT-d second-stage paging entries (src/pt/x86-64.ts), and
// the index spec-notes/README.md. Run: npx tsx scripts/gen-spec-notes.ts
//
// Each structure gets a section `## \`<layout name>\` ...` with a table
//   | Field | qword | bits | section | notes |
// smmuv3/registers.md has one `## Register map` table
//   | Register | offset | page | size | section | aliases |
// and one section `### \`<register name>\` ...` per register with a table
//   | Field | bits | section |
// test/smmuv3/spec-notes.test.ts parses these tables and checks them against the code, so the
// notes cannot drift from it. Free text lives in the FILES / XREF / REG_NOTES tables below (not in
// the generated files): edit here, then re-run.
//
// XREF records where the Linux driver header, QEMU or gem5 (as read into
// shared/reference/smmuv3-layout.json) differ from IHI 0070 or from each other. Facts only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FieldDef, Layout } from '../src/layout/layout.ts';
import { CD, L1CD, L1STD, STE } from '../src/smmuv3/layouts.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../src/pt/vmsav8-64.ts';
import { X86_64_LAYOUTS } from '../src/pt/x86-64.ts';
import { CMDS } from '../src/smmuv3/commands.ts';
import { EVENTS, PRIQ_ENTRY } from '../src/smmuv3/events.ts';
import { REGS } from '../src/smmuv3/regs.ts';
import type { RegDef, RegField } from '../src/smmuv3/regs.ts';
import { VTD_LAYOUT_FILES, VTD_REG_FILE, VTD_REG_SUMMARY, renderVtdRegisters } from './vtd-spec-notes.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Output root; file names below are relative to it (`smmuv3/ste.md`). */
const OUT = join(ROOT, 'spec-notes');

/** XREF[layout name][field name] = note on other implementations. `*` applies to every layout of a file. */
type Xref = Readonly<Record<string, Readonly<Record<string, string>>>>;

const XREF: Xref = {
  'smmuv3-ste': {
    Config:
      'QEMU: 0b0xx abort, 0b100 bypass, bit 0 = S1, bit 1 = S2; gem5 panics on 0b0xx instead of aborting',
    S1Fmt:
      'value 1 (2-level, 4KB leaf tables) is named only by gem5; Linux names 0 (linear) and 2 (64KB leaf tables)',
    S1ContextPtr: 'Linux and gem5 [51:6]; QEMU master reads [55:6], QEMU up to 2023 read [47:6]',
    S1STALLD: 'QEMU treats S1STALLD == 1 as C_BAD_STE (no stall model)',
    MEV: 'only in recent Linux headers; also gem5',
    S2FWB: 'only in recent Linux headers',
    S1MPAM: 'not in the reference table (Linux, QEMU, gem5 headers)',
    S2T0SZ: 'Linux handles q2[50:32] (S2T0SZ..S2PS) as one VTCR-format field',
    S2AFFD: 'not defined by Linux',
    S2PTW: 'not decoded by QEMU',
    S2HD: 'QEMU before commit 21eb5b5cde (May 2023) read this flag one bit too high',
    S2HA: 'QEMU before commit 21eb5b5cde (May 2023) read this flag one bit too high',
    S2S: 'QEMU before commit 21eb5b5cde (May 2023) read bit 58 (S2R) for S2S',
  },
  'smmuv3-cd': {
    IR0: 'Linux: IRGN0',
    OR0: 'Linux: ORGN0',
    T1SZ: 'not defined by Linux',
    TG1: 'QEMU decodes TG1 as 1 = 16K, 2 = 4K, 3 = 64K (as here)',
    TBI: 'Linux defines only TBI0 (bit 38); QEMU and gem5 read both bits',
    HWU0g59: 'the reference table groups HWU0g59..62 as one field [63:60]',
    HWU1g59: 'the reference table groups HWU1g59..62 as one field [63:60]',
    MAIR0: 'Linux writes q3 as one 64-bit MAIR value (MAIR0 is the low half)',
    AMAIR0: 'Linux writes q4 as one 64-bit AMAIR value',
  },
  'smmuv3-l1std': {
    Span: 'QEMU and gem5 accept StreamID[SPLIT-1:0] up to 2^Span - 1 (the spec: below 2^(Span-1))',
    L2Ptr: 'Linux [51:6]; QEMU keeps [63:5]; gem5 [47:5]',
  },
  'smmuv3-l1cd': {
    V: 'gem5 neither checks nor masks V when following an L1CD',
  },
  'smmuv3-cmd-CFGI_STE_RANGE': {
    Range: 'Linux issues opcode 0x04 only as CFGI_ALL (Range = 31)',
  },
  'smmuv3-cmd-CFGI_VMS_PIDM': {
    Opcode:
      "QEMU's command enum calls 0x07 CFGI_ALL but rejects it as illegal; Linux and gem5 use 0x04 with Range = 31 for CFGI_ALL",
  },
  'smmuv3-cmd-TLBI_EL2_VA': {
    ASID: 'the reference table also lists VMID q0[47:32] for this command; IHI 0070 gives CMD_TLBI_EL2_VA no VMID parameter',
  },
  'smmuv3-cmd-TLBI_EL3_VA': {
    NUM: 'not in the reference table (Linux never issues this command); §4.4.1.1 applies to every address-based TLBI',
  },
  'smmuv3-cmd-TLBI_EL2_VAA': {
    NUM: 'not in the reference table (Linux never issues this command); §4.4.1.1 applies to every address-based TLBI',
  },
  'smmuv3-cmd-TLBI_S2_IPA': {
    Address: 'QEMU decodes the address from bits [63:12]',
  },
  'smmuv3-cmd-PRI_RESP': {
    Resp: 'Linux names the values DENY = 0, FAIL = 1, SUCC = 2; QEMU reads q1[12:11] (off by one, unused)',
  },
  'smmuv3-cmd-RESUME': {
    Ac: 'Linux treats q0[13:12] as one field RESP: TERM = 0, RETRY = 1, ABORT = 2 (same bits)',
  },
  'smmuv3-cmd-STALL_TERM': {
    StreamID: 'the reference table lists no fields beyond the opcode for this command',
  },
  'smmuv3-evt-*': {
    EventID: 'gem5 never writes EventID in the records it generates',
    STAG: 'gem5 declares STAG as 17 bits [16:0]',
    NSIPA: 'not defined by Linux; gem5 sets it with S2 faults',
    IPA: 'QEMU writes the whole 64-bit IPA into q3; gem5 stores the IPA unshifted into [51:12]',
    FetchAddr: 'QEMU writes the whole 64-bit address into q3',
    TTRnW: 'Linux: EVTQ_1_TT_READ, defined once for all fault records',
  },
  'smmuv3-evt-F_CD_FETCH': {
    FetchAddr: 'QEMU writes the CD fetch address into q2 (InputAddr position), not q3',
  },
  'x86-fs-*': {
    US: 'QEMU requires U/S = 1 at every level (fault 0x81); Linux sets it in its first-stage mappings',
    EA: 'not implemented by QEMU',
    XD: 'QEMU treats bits [63:52], XD included, as ignored and makes no execute check',
  },
  'vtd-ss-*': {
    X: 'Linux describes bits [6:2] as reserved',
    A: 'QEMU does not model second-stage A/D',
    SNP: 'QEMU accepts SNP only in scalable mode or with snoop control; VirtualBox treats bit 11 as reserved',
    TM: 'QEMU accepts TM only with its stale-tm option; VirtualBox treats bit 62 as reserved',
  },
  'smmuv3-priq': {
    Priv: 'Linux: PERM_PRIV',
    X: 'Linux: PERM_EXEC',
    R: 'Linux: PERM_READ',
    W: 'Linux: PERM_WRITE',
    Last: 'Linux: PRG_LAST',
    SSV: 'Linux: SSID_V',
  },
};

interface NotesFile {
  /** Path relative to spec-notes/. */
  readonly file: string;
  readonly title: string;
  /** One line for the README index. */
  readonly summary: string;
  readonly common: string;
  readonly prelude: string;
  readonly layouts: readonly { layout: Layout; heading?: string }[];
}

const COMMON = `Generated by \`scripts/gen-spec-notes.ts\` from the layout tables; \`test/smmuv3/spec-notes.test.ts\`
checks every table below against the code. Bits are \`[hi:lo]\` (or \`[n]\`) inside little-endian qword
\`qword\` (bytes 8n..8n+7). Address fields hold the byte address (low bits zero). Section numbers follow
IHI 0070 issue G.b. Bits not listed are reserved (RES0); \`iommu-emu decode\` warns when they are set.
"Other implementations" notes compare with the Linux driver header, QEMU and gem5 (facts only).`;

const COMMON_VMSA = `Generated by \`scripts/gen-spec-notes.ts\` from the layout tables; \`test/smmuv3/spec-notes.test.ts\`
checks every table below against the code. Bits are \`[hi:lo]\` (or \`[n]\`) inside the little-endian
64-bit descriptor (qword 0). Address fields hold the byte address (low bits zero). Sections refer to the
Arm Architecture Reference Manual for A-profile, DDI 0487 (D8.3, translation table descriptor formats).
Bits not listed are not modelled (IGNORED, RES0, or a feature the emulator does not implement).`;

const COMMON_X86 = `Generated by \`scripts/gen-spec-notes.ts\` from the layout tables; \`test/smmuv3/spec-notes.test.ts\`
checks every table below against the code. Bits are \`[hi:lo]\` (or \`[n]\`) inside the little-endian
64-bit entry (qword 0). Address fields hold the byte address (low bits zero). Sections refer to the Intel
Virtualization Technology for Directed I/O Architecture Specification (§9.7 first-stage, §9.8
second-stage paging entries); the first-stage entries are the x86-64 paging entries of the Intel SDM
Vol. 3 §4.5. Bits not listed are ignored or reserved, as the prelude says per level.`;

const FILES: readonly NotesFile[] = [
  {
    file: 'smmuv3/ste.md',
    title: 'SMMUv3 Stream Table Entry',
    summary: 'Stream Table Entry (`STE`), IHI 0070 §5.2',
    common: COMMON,
    prelude: '64 bytes, IHI 0070 §5.2. Table: `src/smmuv3/layouts.ts` (`STE`).',
    layouts: [{ layout: STE }],
  },
  {
    file: 'smmuv3/cd.md',
    title: 'SMMUv3 Context Descriptor',
    summary: 'Context Descriptor (`CD`), IHI 0070 §5.4',
    common: COMMON,
    prelude: '64 bytes, IHI 0070 §5.4. Table: `src/smmuv3/layouts.ts` (`CD`).',
    layouts: [{ layout: CD }],
  },
  {
    file: 'smmuv3/l1.md',
    title: 'SMMUv3 level-1 descriptors (2-level Stream table and CD table)',
    summary:
      'level-1 descriptors of the 2-level Stream table and CD table (`L1STD`, `L1CD`), IHI 0070 §5.1, §5.3',
    common: COMMON,
    prelude: '8 bytes each, IHI 0070 §5.1 (L1STD) and §5.3 (L1CD). Tables: `src/smmuv3/layouts.ts`.',
    layouts: [{ layout: L1STD }, { layout: L1CD }],
  },
  {
    file: 'smmuv3/commands.md',
    title: 'SMMUv3 commands',
    summary: 'Command queue entries, one section per command (`CMDS`), IHI 0070 chapter 4',
    common: COMMON,
    prelude: `16 bytes each, IHI 0070 chapter 4. Tables: \`src/smmuv3/commands.ts\` (\`CMDS\`, \`CMD_BY_OP\`, \`OP\`).

- CMD_CFGI_ALL is CMD_CFGI_STE_RANGE with Range = 31 (§4.3.6); it has no table of its own.
- SSec (q0[10]) must be 0 on the Non-secure Command queue; SSV (q0[11]) exists only in the commands
  that carry a SubstreamID (PREFETCH_*, ATC_INV, PRI_RESP). Linux defines SSV for every command
  (and so does the reference table); elsewhere q0[11] is RES0.
- The range-invalidation fields NUM, SCALE, TG, TTL, TTL128 (§4.4.1.1) belong to every address-based
  TLBI. SCALE is declared [24:20]; with SMMU_IDR5.DS == 1 bit 25 is SCALE[5] (not modelled).
- Physical/IPA addresses are declared up to bit 51 (bits [55:52] RES0 in SMMUv3.1-v3.3).
- Not modelled: CMD_PREFETCH_ADDR Stride and NS (bit positions not confirmed), CMD_SYNC MSI_NS (Realm
  queue), the Secure-only TLBI_S_* / TLBI_SNH_ALL and the DPTI commands (opcodes 0x50-0x73).`,
    layouts: CMDS.map((c) => ({
      layout: c.layout,
      heading: `CMD_${c.name}, opcode 0x${c.op.toString(16).padStart(2, '0')}`,
    })),
  },
  {
    file: 'smmuv3/events.md',
    title: 'SMMUv3 event records',
    summary: 'Event queue records, one section per event (`EVENTS`), IHI 0070 §7.3',
    common: COMMON,
    prelude: `32 bytes each, IHI 0070 §7.3. Tables: \`src/smmuv3/events.ts\` (\`EVENTS\`, \`EVT_BY_ID\`, \`EVT\`).

- CLASS: CD = 0, TT = 1, IN = 2 (\`EVT_CLASS\`). STAG and Stall exist only in the four translation
  fault records (F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION).
- C_BAD_SUBSTREAMID has no SSV (its SubstreamID is always valid); F_STREAM_DISABLED and
  F_TRANSL_FORBIDDEN carry no SubstreamID.
- Addresses are declared up to bit 51 (IHI 0070 G.b draws FetchAddr/IPA up to bit 55 for SMMUv3.4).
- Positions read from the spec's record diagrams through a text rendering: F_BAD_ATS_TREQ (R/W/X/PRIV,
  Span), E_PAGE_REQUEST (pR..uX, Span), F_STE_FETCH/F_VMS_FETCH (Reason [15:0], GPCF [16]).
  Positions taken by analogy, worth re-checking against the PDF: Reason/GPCF of F_CD_FETCH and
  F_WALK_EABT (as F_STE_FETCH), Reason of F_TLB_CONFLICT (as F_CFG_CONFLICT [31:0]).
- Not modelled: Overlay, AssuredOnly, DirtyBit of F_PERMISSION (SMMUv3.4 permission indirection).
- IMPLEMENTATION DEFINED events 0xE0-0xEF and reserved IDs decode as UNKNOWN(0x..) with the header only.`,
    layouts: EVENTS.map((e) => ({
      layout: e.layout,
      heading: `${e.name}, EventID 0x${e.id.toString(16).padStart(2, '0')}`,
    })),
  },
  {
    file: 'smmuv3/priq.md',
    title: 'SMMUv3 PRI queue entry',
    summary: 'PRI queue entry (`PRIQ_ENTRY`), IHI 0070 chapter 8',
    common: COMMON,
    prelude: `16 bytes, IHI 0070 chapter 8. Table: \`src/smmuv3/events.ts\` (\`PRIQ_ENTRY\`). Field names are
the spec's (Priv, X, R, W, Last), which Linux spells PERM_PRIV, PERM_EXEC, PERM_READ, PERM_WRITE, PRG_LAST.`,
    layouts: [{ layout: PRIQ_ENTRY }],
  },
  {
    file: 'pt/vmsav8-64.md',
    title: 'VMSAv8-64 translation table descriptors',
    summary:
      'VMSAv8-64 table and stage-1/stage-2 block/page descriptors (`VMSA_TABLE`, `VMSA_S1_LEAF`, `VMSA_S2_LEAF`), DDI 0487 D8.3',
    common: COMMON_VMSA,
    prelude: `8 bytes each, as the SMMU walks them for CD.AA64 = 1 (stage 1) and STE.S2AA64 = 1 (stage 2).
Tables: \`src/pt/vmsav8-64.ts\` (\`VMSA_TABLE\`, \`VMSA_S1_LEAF\`, \`VMSA_S2_LEAF\`).

- Descriptor type, bits [1:0]: 0bx0 invalid; 0b01 block (levels 1-2); 0b11 table (levels 0-2) or page
  (level 3); 0b01 at level 3 is reserved and behaves as invalid.
- The address fields are declared [47:12], the 4 KiB-granule position. With the 16 KiB granule bits
  [13:12] and with the 64 KiB granule bits [15:12] are not address bits: they are RES0, except that with
  the 64 KiB granule and a 52-bit output address (FEAT_LPA) bits [15:12] hold OA[51:48]. So a raw read of
  the field with the 64 KiB granule mixes OA[51:48] into its low bits: the walker (\`src/smmuv3/walk.ts\`)
  and the driver toolkit (\`src/driver/smmuv3-driver.ts\`, \`descAddr\` / \`addrHi\`) move them to [51:48].
  Linux io-pgtable-arm packs 52-bit addresses the same way.
- The walker reads no bit by number: its masks and shifts are derived from these tables at load
  (\`descBit\` / \`descField\` / \`descAddr\` in \`src/pt/vmsav8-64.ts\`), and \`test/pt/vmsav8-64.test.ts\`
  checks each derived constant against the table; the reference model reads the fields by name.
- In a block descriptor the output-address bits below the block size are RES0.
- Not modelled: FEAT_LPA2 (with DS = 1, OA[51:50] in bits [9:8]), nT (bit 16, FEAT_BBM), GP (bit 50,
  FEAT_BTI), the software-use bits [58:55], PBHA [62:59], stage-2 FnXS (bit 11), permission indirection
  and overlays (SMMUv3.4), the VMSAv9-128 (D128) formats.`,
    layouts: [{ layout: VMSA_TABLE }, { layout: VMSA_S1_LEAF }, { layout: VMSA_S2_LEAF }],
  },
  {
    file: 'pt/x86-64.md',
    title: 'x86-64 paging entries (VT-d first stage) and VT-d second-stage paging entries',
    summary:
      'x86-64 paging entries of VT-d first-stage translation and VT-d second-stage entries (`X86_64_LAYOUTS`), VT-d §9.7, §9.8',
    common: COMMON_X86,
    prelude: `8 bytes each. Tables: \`src/pt/x86-64.ts\` (\`X86_FS_*\`, \`VTD_SS_*\`, \`X86_64_LAYOUTS\`); reserved bits per
level: \`ENTRY_KINDS\`, \`fsReservedMask\`, \`ssReservedMask\` (the walker and the lint read these, not this file).

- Levels: PML5E (5-level paging only), PML4E, PDPTE, PDE, PTE. A PDPTE or PDE with PS = 1 maps a 1 GiB or
  2 MiB page; PS is reserved in PML5E and PML4E. The 1 GiB first-stage page needs CAP.FS1GP, second-stage
  large pages CAP.SSLPS (capabilities, not part of these masks).
- HAW is the host address width. Address fields are declared [51:lo]; bits [51:HAW] are reserved.
- First stage, reserved: [51:HAW] at every level; bit 7 (PS) in PML5E/PML4E; [29:13] in a 1 GiB page and
  [20:13] in a 2 MiB page (bit 12 is PAT there); XD (63) when execute-disable is not in use (the SDM's
  IA32_EFER.NXE = 0). Ignored: bit 6 and 8 in entries that reference a table, bits 9 and 11, [62:52].
  EA (10) is updated only when the PASID entry has EAFE = 1.
- Second stage, reserved: [51:HAW] at every level; bit 7 (PS) in SS-PML5E/SS-PML4E; bits 11 and 62 in
  entries that reference a table; [29:12] in a 1 GiB page and [20:12] in a 2 MiB page; SNP (11) in a leaf
  where it is not defined; TM (62) in a leaf unless accepted. Ignored: [6:3] and [10:9] in entries that
  reference a table, bit 10 in leaves, bit 7 in an SS-PTE, [61:52] and 63 everywhere. An entry with R =
  W = 0 is not present (no reserved-bit check applies).
- Not modelled: protection keys ([62:59] of first-stage leaves, ignored by VT-d), HLAT restart (bit 11).`,
    layouts: X86_64_LAYOUTS.map((layout) => ({ layout })),
  },
  ...VTD_LAYOUT_FILES,
];

export function bitsText(f: FieldDef): string {
  return f.hi === f.lo ? `[${f.hi}]` : `[${f.hi}:${f.lo}]`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function notesOf(l: Layout, f: FieldDef): string {
  const parts: string[] = [];
  if (f.kind === 'addr' && f.lo > 0)
    parts.push(`address: value is the byte address, bits ${f.lo === 1 ? '[0]' : `[${f.lo - 1}:0]`} zero`);
  if (f.note) parts.push(f.note);
  if (f.values)
    parts.push(
      'values: ' +
        Object.entries(f.values)
          .map(([k, v]) => `${k} = ${v}`)
          .join(', '),
    );
  const family = Object.keys(XREF).find((k) => k.endsWith('*') && l.name.startsWith(k.slice(0, -1))) ?? '';
  const xref = XREF[l.name]?.[f.name] ?? (family ? XREF[family]?.[f.name] : undefined);
  if (xref) parts.push(`other implementations: ${xref}`);
  return parts.join('; ');
}

/** `IHI0070 §5.2` -> `§5.2`; other documents keep their name (`DDI0487 D8.3`). */
function sectionText(spec: string): string {
  return spec.replace(/^IHI0070 /, '');
}

function renderLayout(l: Layout, heading?: string): string {
  const rows = l.fields.map(
    (f) => `| ${f.name} | ${f.qw} | ${bitsText(f)} | ${sectionText(f.spec)} | ${cell(notesOf(l, f))} |`,
  );
  return [
    `## \`${l.name}\` — ${heading ?? l.title}`,
    '',
    `${l.title}, ${l.bytes} bytes, ${l.spec}.`,
    '',
    '| Field | qword | bits | section | notes |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Every XREF entry must name an existing field (of at least one layout of the family for `*`). */
function checkXref(): void {
  const all = FILES.flatMap((f) => f.layouts.map((x) => x.layout));
  for (const [key, notes] of Object.entries(XREF)) {
    const layouts = key.endsWith('*')
      ? all.filter((l) => l.name.startsWith(key.slice(0, -1)))
      : all.filter((l) => l.name === key);
    if (layouts.length === 0) throw new Error(`XREF: no layout ${key}`);
    for (const field of Object.keys(notes)) {
      if (!layouts.some((l) => l.fields.some((f) => f.name === field)))
        throw new Error(`XREF: ${key} has no field ${field}`);
    }
  }
}

// ------------------------------------------------------------------------------------ registers

const REG_FILE = 'smmuv3/registers.md';
const REG_SUMMARY = 'register map (page 0 and page 1) and register fields (`REGS`), IHI 0070 §6';

/** REG_NOTES[register] = note shown under the register's heading (facts only). */
const REG_NOTES: Readonly<Record<string, string>> = {
  IDR4: 'IMPLEMENTATION DEFINED contents.',
  AGBPA: 'IMPLEMENTATION DEFINED contents (alternate global bypass attributes).',
};
/** Registers the spec defines with the fields of another register. */
const SAME_FIELDS_AS: Readonly<Record<string, string>> = {
  CR0ACK: 'CR0',
  IRQ_CTRLACK: 'IRQ_CTRL',
  GERRORN: 'GERROR',
};
/** Queue base registers whose bit 62 the spec names WA (Write-Allocate hint; CMDQ_BASE and STRTAB_BASE: RA). */
const WA_BIT62 = ['EVTQ_BASE', 'PRIQ_BASE'];

function regNote(r: RegDef): string | undefined {
  const parts: string[] = [];
  if (REG_NOTES[r.name]) parts.push(REG_NOTES[r.name]!);
  const same = SAME_FIELDS_AS[r.name];
  if (same)
    parts.push(
      `The spec gives it the fields of ${same}${r.fields.length === 0 ? '; regs.ts declares none.' : '.'}`,
    );
  if (WA_BIT62.includes(r.name)) {
    const b62 = r.fields.find((f) => f.lo === 62 && f.hi === 62);
    parts.push(
      `The spec names bit 62 WA (Write-Allocate hint)${b62 && b62.name !== 'WA' ? `; regs.ts names it ${b62.name}.` : '.'}`,
    );
  }
  return parts.length ? parts.join(' ') : undefined;
}

const REG_PRELUDE = `Table: \`src/smmuv3/regs.ts\` (\`REGS\`, \`REG_BY_NAME\`). IHI 0070 §6.2 (memory map), §6.3 (formats).

- Offsets are from the SMMU base: page 0 at 0x00000, page 1 at 0x10000. Names drop the spec's \`SMMU_\`
  prefix; \`EVTQ_*\` is the spec's \`SMMU_EVENTQ_*\` (accepted as an alias).
- Only EVENTQ_PROD/CONS and PRIQ_PROD/CONS live in page 1. Their page-0 offsets (0xA8, 0xAC, 0xC8, 0xCC)
  are an optional alias of the page-1 register, otherwise RAZ/WI; the model aliases them.
- All registers are 32-bit except the 64-bit *_BASE and *_IRQ_CFG0 registers (two 32-bit halves,
  [63:32] at offset +4).
- Bits are \`[hi:lo]\` (or \`[n]\`) inside the register. Bits not listed are RES0 or not modelled.
  Address fields are declared up to bit 51 (IHI 0070 G.b draws them up to bit 55 for SMMUv3.4).
- Access: RO (writes ignored), RW, RW1C (write 1 to clear), WO; the model's writable masks derive
  from it (\`WRITE_MASK\` in regs.ts).
- The section column repeats the register's section (\`spec\` in regs.ts) for each field.
- Not in the table: S2PII (0x30), GATOS_* (0x100-0x118), MPAMIDR/GMPAM/GBPMPAM (0x130-0x13C),
  VATOS_SEL (0x180), IDR6 (0x190), DPT_* (0x200-0x210), the ECMDQ control pages (0x4000 + 32n), the
  Secure registers (SMMU_S_*, 0x8000 up), the VATOS page, PMCG and RAS registers.`;

export function hex(n: number): string {
  return '0x' + n.toString(16).toUpperCase().padStart(5, '0');
}

export function regBitsText(f: RegField): string {
  return f.hi === f.lo ? `[${f.hi}]` : `[${f.hi}:${f.lo}]`;
}

function renderRegister(r: RegDef): string {
  const sec = sectionText(r.spec);
  const head = [`### \`${r.name}\` — ${hex(r.offset)}, ${r.size * 8}-bit, ${sec}`, ''];
  const note = regNote(r);
  if (note) head.push(note, '');
  if (r.fields.length === 0) return [...head, 'No fields declared.', ''].join('\n');
  const rows = [...r.fields]
    .sort((a, b) => a.lo - b.lo)
    .map((f) => `| ${f.name} | ${regBitsText(f)} | ${f.access ?? ''} | ${sec} |`);
  return [...head, '| Field | bits | access | section |', '|---|---|---|---|', ...rows, ''].join('\n');
}

function renderRegisters(): string {
  for (const name of [...Object.keys(REG_NOTES), ...Object.entries(SAME_FIELDS_AS).flat(), ...WA_BIT62]) {
    if (!REGS.some((r) => r.name === name)) throw new Error(`REG_NOTES: no register ${name}`);
  }
  const regs = [...REGS].sort((a, b) => a.offset - b.offset);
  const map = regs.map(
    (r) =>
      `| ${r.name} | ${hex(r.offset)} | ${r.offset >= 0x10000 ? 1 : 0} | ${r.size} | ${sectionText(r.spec)} | ${(r.aliases ?? []).join(', ')} |`,
  );
  return [
    '# SMMUv3 registers',
    '',
    `Generated by \`scripts/gen-spec-notes.ts\` from the register table; \`test/smmuv3/spec-notes.test.ts\`
checks every table below against the code. Section numbers are those of regs.ts (\`spec\`): numbered in
offset order with each page-1 PROD/CONS pair after its queue's *_BASE, not checked against an issue of IHI 0070.`,
    '',
    REG_PRELUDE,
    '',
    '## Register map',
    '',
    '| Register | offset | page | size | section | aliases |',
    '|---|---|---|---|---|---|',
    ...map,
    '',
    '## Fields',
    '',
    ...regs.map(renderRegister),
  ].join('\n');
}

// ------------------------------------------------------------------------------------ README

function renderReadme(files: readonly { file: string; summary: string }[]): string {
  return [
    '# spec-notes',
    '',
    `Notes on the hardware structures and registers the emulator models, one Markdown table per structure,
generated by \`scripts/gen-spec-notes.ts\` from the tables in \`src/\` (do not edit the files by hand:
edit the tables or the free text in the script, then run \`npx tsx scripts/gen-spec-notes.ts\`).
\`test/smmuv3/spec-notes.test.ts\` parses every table and checks it against the code.`,
    '',
    'Format:',
    '',
    '- A structure is a section ``## `name` — title`` with a table `| Field | qword | bits | section | notes |`:',
    '  bits `[hi:lo]` (or `[n]`) inside little-endian qword `qword` (bytes 8n..8n+7) of the structure;',
    "  `name` is the layout's `name` in `src/` (`iommu-emu decode` takes the SMMUv3 ones; commands and events",
    '  through `smmuv3-cmd` / `smmuv3-evt`, which pick the layout from the opcode / EventID).',
    '- `smmuv3/registers.md` has a `## Register map` table (`| Register | offset | page | size | section |',
    '  aliases |`) and a section ``### `name` — offset, size, section`` per register with a table',
    '  `| Field | bits | section |` (bits inside the 32- or 64-bit register).',
    '- Address fields hold the byte address (low bits zero). Bits not listed are reserved or not modelled.',
    '- Notes state facts only; "other implementations" compares with the Linux driver, QEMU and gem5.',
    '',
    'Files:',
    '',
    ...files.map((f) => `- [\`${f.file}\`](${f.file}): ${f.summary}`),
    '',
  ].join('\n');
}

/** Every generated file, by path relative to spec-notes/ (`README.md`, `smmuv3/ste.md`, ...). */
export function renderFiles(): Map<string, string> {
  checkXref();
  const out = new Map<string, string>();
  for (const f of FILES) {
    const body = [
      `# ${f.title}`,
      '',
      f.common,
      '',
      f.prelude,
      '',
      ...f.layouts.map((x) => renderLayout(x.layout, x.heading)),
    ];
    out.set(f.file, body.join('\n'));
  }
  out.set(REG_FILE, renderRegisters());
  out.set(VTD_REG_FILE, renderVtdRegisters());
  const index = [
    ...FILES.map((f) => ({ file: f.file, summary: f.summary })),
    { file: REG_FILE, summary: REG_SUMMARY },
    { file: VTD_REG_FILE, summary: VTD_REG_SUMMARY },
  ];
  index.sort((a, b) => a.file.localeCompare(b.file));
  out.set('README.md', renderReadme(index));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, text] of renderFiles()) {
    mkdirSync(dirname(join(OUT, file)), { recursive: true });
    writeFileSync(join(OUT, file), text);
    console.log(`wrote ${join('spec-notes', file)}`);
  }
}
