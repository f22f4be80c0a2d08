// x86-64 paging entries as VT-d first-stage translation uses them (VT-d spec §3.6, §9.7; Intel SDM
// Vol. 3 §4.5, 4-level and 5-level paging), and the VT-d second-stage paging entries (VT-d spec §3.7,
// §9.8). The layouts hold fields only, in the layout framework (src/layout/layout.ts), as
// src/pt/vmsav8-64.ts does for VMSAv8-64; spec-notes/pt/x86-64.md is generated from them. There is no
// walker yet: what a walker needs beyond the fields (which bits are reserved at which level, given
// the host address width) is data here, `fsReservedMask` / `ssReservedMask`, so that the walker and
// the lint read one table.
//
// Address fields are declared up to bit 51 (the architectural maximum). Bits [51:HAW] are reserved:
// HAW is the host address width (VT-d: CAP.MGAW bounds the second-stage output; first-stage output is
// checked against HAW; the SDM calls the same bound MAXPHYADDR, "M").
import { addr, fld, layout, type FieldDef, type Layout } from '../layout/layout.ts';

const S_FS = 'VT-d §9.7';
const S_SS = 'VT-d §9.8';

// ------------------------------------------------------------------------------------ first stage

/** Bits [5:0] common to every first-stage entry: P, R/W, U/S, PWT, PCD, A. */
function fsLow(what: string): FieldDef[] {
  return [
    fld('P', 0, 0, 0, S_FS, { note: 'present' }),
    fld('RW', 0, 1, 1, S_FS, { note: `R/W: 0 = writes not allowed to the ${what}` }),
    fld('US', 0, 2, 2, S_FS, {
      note: `U/S: 0 = user-mode (non-supervisor) requests not allowed to the ${what}`,
    }),
    fld('PWT', 0, 3, 3, S_FS),
    fld('PCD', 0, 4, 4, S_FS),
    fld('A', 0, 5, 5, S_FS, { note: 'accessed' }),
  ];
}

const FS_EA = fld('EA', 0, 10, 10, S_FS, {
  note: 'extended accessed: set by hardware only when the PASID entry has EAFE = 1; ignored otherwise',
});
const FS_XD = fld('XD', 0, 63, 63, S_FS, { note: 'execute disable' });

/** PML5E, PML4E, and the PDPTE / PDE that reference a next-level table (PS = 0). */
export const X86_FS_TABLE = layout(
  'x86-fs-table',
  'x86-64 paging entry referencing a table (PML5E, PML4E, PDPTE, PDE with PS = 0)',
  8,
  S_FS,
  [
    ...fsLow('region this entry controls'),
    fld('PS', 0, 7, 7, S_FS, {
      note: 'page size: must be 0 here; 1 in a PDPTE / PDE makes it a 1 GiB / 2 MiB page; reserved in PML5E and PML4E',
    }),
    FS_EA,
    addr('ADDR', 0, 51, 12, S_FS, { note: 'next-level table; bits [51:HAW] reserved' }),
    FS_XD,
  ],
);

/** Bits of a large-page (PS = 1) first-stage leaf: D, PS, G, PAT at 12. */
function fsLarge(name: string, title: string, addrLo: number): Layout {
  return layout(name, title, 8, S_FS, [
    ...fsLow('page'),
    fld('D', 0, 6, 6, S_FS, { note: 'dirty' }),
    fld('PS', 0, 7, 7, S_FS, { note: 'page size: 1' }),
    fld('G', 0, 8, 8, S_FS, { note: 'global' }),
    FS_EA,
    fld('PAT', 0, 12, 12, S_FS),
    addr('ADDR', 0, 51, addrLo, S_FS, {
      note: `page frame; bits [${addrLo - 1}:13] and [51:HAW] reserved`,
    }),
    FS_XD,
  ]);
}

/** PDPTE that maps a 1 GiB page (PS = 1). */
export const X86_FS_PDPTE_1G = fsLarge('x86-fs-pdpte-1g', 'x86-64 PDPTE mapping a 1 GiB page', 30);
/** PDE that maps a 2 MiB page (PS = 1). */
export const X86_FS_PDE_2M = fsLarge('x86-fs-pde-2m', 'x86-64 PDE mapping a 2 MiB page', 21);

/** PTE that maps a 4 KiB page (PAT at bit 7, where larger entries have PS). */
export const X86_FS_PTE = layout('x86-fs-pte', 'x86-64 PTE mapping a 4 KiB page', 8, S_FS, [
  ...fsLow('page'),
  fld('D', 0, 6, 6, S_FS, { note: 'dirty' }),
  fld('PAT', 0, 7, 7, S_FS),
  fld('G', 0, 8, 8, S_FS, { note: 'global' }),
  FS_EA,
  addr('ADDR', 0, 51, 12, S_FS, { note: 'page frame; bits [51:HAW] reserved' }),
  FS_XD,
]);

// ------------------------------------------------------------------------------------ second stage

function ssLow(): FieldDef[] {
  return [
    fld('R', 0, 0, 0, S_SS, { note: 'read; an entry with R = W = 0 is not present' }),
    fld('W', 0, 1, 1, S_SS, { note: 'write' }),
    fld('X', 0, 2, 2, S_SS, { note: 'execute; used only with execute requests (SLEE / ERS)' }),
  ];
}

const SS_A = fld('A', 0, 8, 8, S_SS, {
  note: 'accessed: updated only with second-stage A/D enabled (SSADE)',
});

/** SS-PML5E, SS-PML4E, and the SS-PDPTE / SS-PDE that reference a next-level table (PS = 0). */
export const VTD_SS_TABLE = layout(
  'vtd-ss-table',
  'VT-d second-stage entry referencing a table (SS-PML5E, SS-PML4E, SS-PDPTE, SS-PDE with PS = 0)',
  8,
  S_SS,
  [
    ...ssLow(),
    fld('PS', 0, 7, 7, S_SS, {
      note: 'page size: must be 0 here; 1 in an SS-PDPTE / SS-PDE makes it a 1 GiB / 2 MiB page; reserved in SS-PML5E and SS-PML4E',
    }),
    SS_A,
    addr('ADDR', 0, 51, 12, S_SS, { note: 'next-level table; bits [51:HAW] reserved' }),
  ],
);

function ssLeaf(name: string, title: string, addrLo: number, ps: boolean): Layout {
  return layout(name, title, 8, S_SS, [
    ...ssLow(),
    fld('EMT', 0, 5, 3, S_SS, { note: 'extended memory type (with ECAP.MTS)' }),
    fld('IPAT', 0, 6, 6, S_SS, { note: 'ignore PAT' }),
    ...(ps ? [fld('PS', 0, 7, 7, S_SS, { note: 'page size: 1' })] : []),
    SS_A,
    fld('D', 0, 9, 9, S_SS, { note: 'dirty: updated only with SSADE' }),
    fld('SNP', 0, 11, 11, S_SS, { note: 'snoop: forces snooped access (ECAP.SC, scalable mode)' }),
    addr('ADDR', 0, 51, addrLo, S_SS, {
      note:
        addrLo > 12
          ? `page frame; bits [${addrLo - 1}:12] and [51:HAW] reserved`
          : 'page frame; bits [51:HAW] reserved',
    }),
    fld('TM', 0, 62, 62, S_SS, {
      note: 'transient mapping (device-TLB hint); reserved (0) in later revisions of the spec',
    }),
  ]);
}

/** SS-PDPTE mapping a 1 GiB page (PS = 1). */
export const VTD_SS_1G = ssLeaf('vtd-ss-pdpte-1g', 'VT-d second-stage PDPTE mapping a 1 GiB page', 30, true);
/** SS-PDE mapping a 2 MiB page (PS = 1). */
export const VTD_SS_2M = ssLeaf('vtd-ss-pde-2m', 'VT-d second-stage PDE mapping a 2 MiB page', 21, true);
/** SS-PTE mapping a 4 KiB page (bit 7 is ignored). */
export const VTD_SS_PTE = ssLeaf('vtd-ss-pte', 'VT-d second-stage PTE mapping a 4 KiB page', 12, false);

/** Every layout of this file (spec-notes and tests iterate over it). */
export const X86_64_LAYOUTS: readonly Layout[] = [
  X86_FS_TABLE,
  X86_FS_PDPTE_1G,
  X86_FS_PDE_2M,
  X86_FS_PTE,
  VTD_SS_TABLE,
  VTD_SS_1G,
  VTD_SS_2M,
  VTD_SS_PTE,
];

// ------------------------------------------------------------------------------------ reserved bits

/**
 * The kind of an entry: its level and, at levels 3 and 2, whether PS = 1 made it a page.
 * Levels count from the leaf: 1 = PTE, 2 = PDE, 3 = PDPTE, 4 = PML4E, 5 = PML5E.
 */
export type EntryKind = 'pml5e' | 'pml4e' | 'pdpte' | 'pde' | 'pdpte-1g' | 'pde-2m' | 'pte';

export interface EntryKindInfo {
  readonly level: 1 | 2 | 3 | 4 | 5;
  /** Bytes mapped by a leaf of this kind; undefined for an entry that references a table. */
  readonly pageBytes?: bigint;
  readonly fs: Layout;
  readonly ss: Layout;
  /**
   * Reserved bits that do not depend on the address width or on options: first stage
   * (`fs`) and second stage (`ss`). Bits [51:HAW] come on top (`fsReservedMask` / `ssReservedMask`).
   */
  readonly fsFixed: bigint;
  readonly ssFixed: bigint;
}

/** Bits [hi:lo] as a mask. */
export function bitRange(hi: number, lo: number): bigint {
  return hi < lo ? 0n : ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);
}

const PS = 1n << 7n;

export const ENTRY_KINDS: Readonly<Record<EntryKind, EntryKindInfo>> = {
  pml5e: { level: 5, fs: X86_FS_TABLE, ss: VTD_SS_TABLE, fsFixed: PS, ssFixed: PS },
  pml4e: { level: 4, fs: X86_FS_TABLE, ss: VTD_SS_TABLE, fsFixed: PS, ssFixed: PS },
  pdpte: { level: 3, fs: X86_FS_TABLE, ss: VTD_SS_TABLE, fsFixed: 0n, ssFixed: 0n },
  pde: { level: 2, fs: X86_FS_TABLE, ss: VTD_SS_TABLE, fsFixed: 0n, ssFixed: 0n },
  'pdpte-1g': {
    level: 3,
    pageBytes: 1n << 30n,
    fs: X86_FS_PDPTE_1G,
    ss: VTD_SS_1G,
    fsFixed: bitRange(29, 13),
    ssFixed: bitRange(29, 12),
  },
  'pde-2m': {
    level: 2,
    pageBytes: 1n << 21n,
    fs: X86_FS_PDE_2M,
    ss: VTD_SS_2M,
    fsFixed: bitRange(20, 13),
    ssFixed: bitRange(20, 12),
  },
  pte: { level: 1, pageBytes: 1n << 12n, fs: X86_FS_PTE, ss: VTD_SS_PTE, fsFixed: 0n, ssFixed: 0n },
};

function addrWidthMask(haw: number): bigint {
  if (!(Number.isInteger(haw) && haw >= 32 && haw <= 52)) throw new Error(`bad address width ${haw}`);
  return bitRange(51, haw);
}

export interface FsReservedOpts {
  /**
   * Execute-disable in use (the SDM's IA32_EFER.NXE = 1). With false, XD (bit 63) is reserved, as in
   * the SDM with NXE = 0. Default true.
   */
  readonly xd?: boolean;
}

/** First-stage reserved bits (must be 0, else a reserved-bit fault) of an entry of `kind` with host address width `haw`. */
export function fsReservedMask(kind: EntryKind, haw: number, opts: FsReservedOpts = {}): bigint {
  let m = ENTRY_KINDS[kind].fsFixed | addrWidthMask(haw);
  if (opts.xd === false) m |= 1n << 63n;
  return m;
}

export interface SsReservedOpts {
  /**
   * SNP (bit 11) is defined in leaves (scalable mode, ECAP.SC = 1). With false it is reserved there as
   * well. Default true. Bit 11 of an entry that references a table is always reserved.
   */
  readonly snp?: boolean;
  /** TM (bit 62) is accepted in leaves. With false (the default) it is reserved there as well. */
  readonly tm?: boolean;
}

/**
 * Second-stage reserved bits of an entry of `kind` with host address width `haw`. Bits 11 (SNP) and
 * 62 (TM) are reserved in entries that reference a table; bits [61:52] and 63 are ignored.
 */
export function ssReservedMask(kind: EntryKind, haw: number, opts: SsReservedOpts = {}): bigint {
  const info = ENTRY_KINDS[kind];
  let m = info.ssFixed | addrWidthMask(haw);
  const leaf = info.pageBytes !== undefined;
  if (!leaf || opts.tm !== true) m |= 1n << 62n;
  if (!leaf || opts.snp === false) m |= 1n << 11n;
  return m;
}
