// VMSAv8-64 translation table formats (Arm ARM DDI 0487 D8.3): the descriptor layouts the SMMU walks
// for CD.AA64 = 1 (stage 1) and STE.S2AA64 = 1 (stage 2), shared by the walker (src/smmuv3/walk.ts,
// through constants derived at module load), the reference model, the driver toolkit, the CLI and
// spec-notes/pt/vmsav8-64.md. The layouts hold fields only; what the walker makes of them (start
// levels, block sizes, FEAT_LPA address bits) is in walk.ts.
import { addr, fieldOf, fld, layout, wordField, type Layout } from '../layout/layout.ts';

const S_VMSA = 'DDI0487 D8.3';

export const VMSA_TABLE = layout('vmsav8-table', 'VMSAv8-64 table descriptor', 8, S_VMSA, [
  fld('Valid', 0, 0, 0, S_VMSA),
  fld('Table', 0, 1, 1, S_VMSA, { note: '1: table (levels 0-2) or page (level 3)' }),
  addr('NextLevelTableAddr', 0, 47, 12, S_VMSA, {
    note: 'bits [51:48] in [15:12] with the 64 KiB granule (FEAT_LPA)',
  }),
  fld('PXNTable', 0, 59, 59, S_VMSA),
  fld('UXNTable', 0, 60, 60, S_VMSA, { note: 'XNTable at stage 1 with one privilege level' }),
  fld('APTable', 0, 62, 61, S_VMSA, { note: 'bit 0: no EL0 access below; bit 1: read-only below' }),
  fld('NSTable', 0, 63, 63, S_VMSA),
]);

export const VMSA_S1_LEAF = layout('vmsav8-s1-leaf', 'VMSAv8-64 stage-1 block/page descriptor', 8, S_VMSA, [
  fld('Valid', 0, 0, 0, S_VMSA),
  fld('Page', 0, 1, 1, S_VMSA, { note: '0: block (levels 1-2), 1: page (level 3)' }),
  fld('AttrIndx', 0, 4, 2, S_VMSA),
  fld('NS', 0, 5, 5, S_VMSA),
  fld('AP', 0, 7, 6, S_VMSA, { note: 'AP[1] (bit 6): EL0 access; AP[2] (bit 7): read-only' }),
  fld('SH', 0, 9, 8, S_VMSA),
  fld('AF', 0, 10, 10, S_VMSA),
  fld('nG', 0, 11, 11, S_VMSA),
  addr('OutputAddr', 0, 47, 12, S_VMSA, {
    note: 'bits below the block size are RES0; with the 64 KiB granule bits [15:12] hold OA[51:48] (FEAT_LPA)',
  }),
  fld('DBM', 0, 51, 51, S_VMSA),
  fld('Contiguous', 0, 52, 52, S_VMSA),
  fld('PXN', 0, 53, 53, S_VMSA),
  fld('UXN', 0, 54, 54, S_VMSA, { note: 'XN with one privilege level' }),
]);

export const VMSA_S2_LEAF = layout('vmsav8-s2-leaf', 'VMSAv8-64 stage-2 block/page descriptor', 8, S_VMSA, [
  fld('Valid', 0, 0, 0, S_VMSA),
  fld('Page', 0, 1, 1, S_VMSA),
  fld('MemAttr', 0, 5, 2, S_VMSA),
  fld('S2AP', 0, 7, 6, S_VMSA, { note: 'bit 6: read, bit 7: write' }),
  fld('SH', 0, 9, 8, S_VMSA),
  fld('AF', 0, 10, 10, S_VMSA),
  addr('OutputAddr', 0, 47, 12, S_VMSA, {
    note: 'with the 64 KiB granule bits [15:12] hold OA[51:48] (FEAT_LPA)',
  }),
  fld('DBM', 0, 51, 51, S_VMSA),
  fld('Contiguous', 0, 52, 52, S_VMSA),
  fld('XN', 0, 54, 53, S_VMSA, { note: 'XN[1:0] with FEAT_XNX (IDR3.XNX); else only bit 54' }),
]);

/**
 * Hot-path view of a one-bit field of a descriptor: which 32-bit half holds it (0 = bits [31:0],
 * 1 = bits [63:32]) and its mask inside that half.
 */
export interface DescBit {
  readonly hi: 0 | 1;
  readonly mask: number;
}

/** The half and in-half mask of a one-bit field (throws if the field is wider: use descField). */
export function descBit(l: Layout, name: string): DescBit {
  const f = wordField(l, name);
  if (f.mask !== 1) throw new Error(`${l.name}.${name} is not one bit wide`);
  return { hi: f.w === 1 ? 1 : 0, mask: (1 << f.shift) >>> 0 };
}

/** Hot-path view of a multi-bit field of a descriptor: half, shift and mask (value = (half >>> shift) & mask). */
export function descField(l: Layout, name: string): { hi: 0 | 1; shift: number; mask: number } {
  const f = wordField(l, name);
  return { hi: f.w === 1 ? 1 : 0, shift: f.shift, mask: f.mask };
}

/**
 * Hot-path view of a descriptor's address field [hi:lo] (lo < 32 < hi): the masks of its bits in each
 * half, and `lo`, the granule position the field is declared at (bits [lo+3:lo] hold OA[51:48] with
 * the 64 KiB granule, FEAT_LPA).
 */
export function descAddr(l: Layout, name: string): { loMask: number; hiMask: number; lo: number } {
  const f = fieldOf(l, name);
  if (f.kind !== 'addr' || f.qw !== 0 || f.lo >= 32 || f.hi < 32)
    throw new Error(`${l.name}.${name}: not an address`);
  return { loMask: ~((1 << f.lo) - 1) >>> 0, hiMask: 2 ** (f.hi - 31) - 1, lo: f.lo };
}
