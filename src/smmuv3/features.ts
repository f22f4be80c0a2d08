// SMMUv3 feature options <-> ID registers. Every ID-register feature is a constructor option; the
// model then reads its behaviour back from the ID register values only, so an image loaded from
// IDR0..IDR5 behaves exactly like a model built from options.
import { getRegField, paBitsToEnc, PA_BITS, regValue } from './regs.ts';

export interface SmmuOptions {
  /** IDR1.SIDSIZE: StreamID bits (0..32). Default 16. */
  sidBits?: number;
  /** IDR1.SSIDSIZE: SubstreamID bits (0..20). Default 20. */
  ssidBits?: number;
  /** IDR0.S1P / S2P. Defaults: both. */
  stage1?: boolean;
  stage2?: boolean;
  /** IDR5 granules. Default all three. */
  gran4k?: boolean;
  gran16k?: boolean;
  gran64k?: boolean;
  /** IDR5.OAS in bits (32,36,40,42,44,48,52). Default 48. */
  oasBits?: number;
  /** IDR5.VAX: 52-bit VA with the 64 KiB granule. Default true when OAS is 52. */
  vax52?: boolean;
  asid16?: boolean;
  vmid16?: boolean;
  /** IDR0.CD2L: 2-level CD tables. Default true. */
  cd2l?: boolean;
  /** IDR0.ST_LEVEL: 2-level stream tables. Default true. */
  st2l?: boolean;
  /** IDR0.STALL_MODEL: 'stall' (0b00), 'none' (0b01), 'force' (0b10). Default 'stall'. */
  stallModel?: 'stall' | 'none' | 'force';
  /** IDR0.TERM_MODEL: true = only abort (CD.A must be 1). Default true. */
  termAbortOnly?: boolean;
  pri?: boolean;
  ats?: boolean;
  /**
   * IDR0.ATSRECERR: SMMU_CR2.REC_CFG_ATS exists, and records the configuration errors met by ATS
   * Translation Requests and checked Translated transactions (§3.9.1.2, §3.9.1.3). Default true (with ATS).
   */
  atsRecErr?: boolean;
  /**
   * IDR1.ATTR_PERMS_OVR: STE.PRIVCFG / INSTCFG override the incoming attributes. Without it they
   * are RES0 and the incoming attributes apply (§5.2, §6.3.2). Default true.
   */
  attrPermsOvr?: boolean;
  /** IDR0.HTTU: 0 none, 1 access flag, 2 access flag + dirty state. Default 2. */
  httu?: 0 | 1 | 2;
  /** IDR3.RIL: range invalidation. Default true. */
  ril?: boolean;
  msi?: boolean;
  sev?: boolean;
  btm?: boolean;
  hyp?: boolean;
  /** IDR3.HAD: hierarchical attribute disables. Default true. */
  had?: boolean;
  /** IDR3.XNX: stage-2 XN[1:0]. Default true. */
  xnx?: boolean;
  coherent?: boolean;
  /** IDR1.CMDQS / EVENTQS / PRIQS: log2 of the maximum queue entries (0..19). */
  cmdqBits?: number;
  evtqBits?: number;
  priqBits?: number;
}

/** IDR0..IDR5 from options (IHI0070 §6.3.1-6.3.6). */
export function idrFromOptions(o: SmmuOptions = {}): number[] {
  const stall = { stall: 0, none: 1, force: 2 }[o.stallModel ?? 'stall'];
  const idr0 = regValue('IDR0', {
    S2P: +(o.stage2 ?? true),
    S1P: +(o.stage1 ?? true),
    TTF: 2, // AArch64 tables only: AArch32 LPAE formats are not implemented
    COHACC: +(o.coherent ?? true),
    BTM: +(o.btm ?? false),
    HTTU: o.httu ?? 2,
    HYP: +(o.hyp ?? false),
    ATS: +(o.ats ?? true),
    ATSRECERR: +((o.ats ?? true) && (o.atsRecErr ?? true)), // RES0 without ATS
    ASID16: +(o.asid16 ?? true),
    MSI: +(o.msi ?? true),
    SEV: +(o.sev ?? true),
    PRI: +(o.pri ?? true),
    VMID16: +(o.vmid16 ?? true),
    CD2L: +(o.cd2l ?? true),
    TTENDIAN: 2, // little-endian only
    STALL_MODEL: stall,
    TERM_MODEL: +(o.termAbortOnly ?? true),
    ST_LEVEL: +(o.st2l ?? true),
  });
  const idr1 = regValue('IDR1', {
    SIDSIZE: checkRange('sidBits', o.sidBits ?? 16, 0, 32),
    SSIDSIZE: checkRange('ssidBits', o.ssidBits ?? 20, 0, 20),
    PRIQS: checkRange('priqBits', o.priqBits ?? 19, 0, 19),
    EVENTQS: checkRange('evtqBits', o.evtqBits ?? 19, 0, 19),
    CMDQS: checkRange('cmdqBits', o.cmdqBits ?? 19, 0, 19),
    ATTR_PERMS_OVR: +(o.attrPermsOvr ?? true),
  });
  const idr3 = regValue('IDR3', { HAD: +(o.had ?? true), XNX: +(o.xnx ?? true), RIL: +(o.ril ?? true) });
  const oas = o.oasBits ?? 48;
  const idr5 = regValue('IDR5', {
    OAS: paBitsToEnc(oas),
    GRAN4K: +(o.gran4k ?? true),
    GRAN16K: +(o.gran16k ?? true),
    GRAN64K: +(o.gran64k ?? true),
    VAX: +(o.vax52 ?? oas === 52),
  });
  return [idr0, idr1, 0, idr3, 0, idr5];
}

function checkRange(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name}: ${v} is outside ${lo}..${hi}`);
  return v;
}

/** Decoded features: what the model reads at run time (plain numbers, no lookups per access). */
export class Features {
  s1 = false;
  s2 = false;
  httu = 0;
  hyp = false;
  ats = false;
  atsRecErr = false;
  attrPermsOvr = false;
  asid16 = false;
  msi = false;
  sev = false;
  pri = false;
  vmid16 = false;
  cd2l = false;
  stallModel = 0;
  termAbortOnly = true;
  st2l = false;
  sidBits = 0;
  ssidBits = 0;
  priqBits = 0;
  evtqBits = 0;
  cmdqBits = 0;
  had = false;
  xnx = false;
  ril = false;
  oasBits = 48;
  gran4k = false;
  gran16k = false;
  gran64k = false;
  vax52 = false;

  constructor(readonly idr: readonly number[]) {
    const [i0 = 0, i1 = 0, , i3 = 0, , i5 = 0] = idr;
    const g0 = (n: string) => getRegField('IDR0', n, i0);
    this.s2 = g0('S2P') === 1;
    this.s1 = g0('S1P') === 1;
    this.httu = g0('HTTU');
    this.hyp = g0('HYP') === 1;
    this.ats = g0('ATS') === 1;
    this.atsRecErr = this.ats && g0('ATSRECERR') === 1;
    this.asid16 = g0('ASID16') === 1;
    this.msi = g0('MSI') === 1;
    this.sev = g0('SEV') === 1;
    this.pri = g0('PRI') === 1;
    this.vmid16 = g0('VMID16') === 1;
    this.cd2l = g0('CD2L') === 1;
    this.stallModel = g0('STALL_MODEL');
    this.termAbortOnly = g0('TERM_MODEL') === 1;
    this.st2l = g0('ST_LEVEL') === 1;
    const g1 = (n: string) => getRegField('IDR1', n, i1);
    this.sidBits = g1('SIDSIZE');
    this.ssidBits = g1('SSIDSIZE');
    this.priqBits = g1('PRIQS');
    this.evtqBits = g1('EVENTQS');
    this.cmdqBits = g1('CMDQS');
    this.attrPermsOvr = g1('ATTR_PERMS_OVR') === 1;
    this.had = getRegField('IDR3', 'HAD', i3) === 1;
    this.xnx = getRegField('IDR3', 'XNX', i3) === 1;
    this.ril = getRegField('IDR3', 'RIL', i3) === 1;
    const oas = getRegField('IDR5', 'OAS', i5);
    this.oasBits = PA_BITS[oas] ?? 48; // reserved encodings: treated as 48 bits
    this.gran4k = getRegField('IDR5', 'GRAN4K', i5) === 1;
    this.gran16k = getRegField('IDR5', 'GRAN16K', i5) === 1;
    this.gran64k = getRegField('IDR5', 'GRAN64K', i5) === 1;
    this.vax52 = getRegField('IDR5', 'VAX', i5) === 1;
  }

  /** Granule (log2 bytes: 12, 14, 16) supported? */
  hasGranule(g: number): boolean {
    return g === 12 ? this.gran4k : g === 14 ? this.gran16k : g === 16 ? this.gran64k : false;
  }
}
