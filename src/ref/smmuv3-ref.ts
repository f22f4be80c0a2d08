// Reference model of one SMMUv3 translation, written from the specifications (Arm IHI 0070, SMMUv3;
// Arm DDI 0487, VMSAv8-64 chapter D8) and NOT from the fast model in src/smmuv3/. It is plain and
// slow on purpose: BigInt everywhere, one function per step, a thrown `Fault` for every fault.
// fast-check compares it with the fast model (test/smmuv3/*.prop.test.ts).
//
// What it reads: emulated physical memory, the SMMU's MMIO registers (through read32, as software
// would), and the ID registers' decoded feature set. It never writes memory: hardware updates of
// descriptors (Access flag, dirty state) are returned as a list of (address, before, after) and
// applied to an overlay that later reads of the same translation see.
//
// Where the specification leaves a choice to the implementation, the reference takes the one the
// fast model documents (comments in src/smmuv3/{ste,cd,walk}.ts, smmuv3.ts); each such place says
// "model choice". Everything else is the specification's rule, cited by section.
//
// Not modelled (as in the fast model): AArch32 (VMSAv8-32 LPAE) tables, big-endian tables,
// FEAT_LPA2, FEAT_TTST, memory attributes (so STE.S2PTW has no effect), Secure/Realm state, ATS.
import type { PhysMem } from '../mem/phys-mem.ts';
import { fieldOf, getField, getRaw, type Layout } from '../layout/layout.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../pt/vmsav8-64.ts';
import { CD, L1CD, L1STD, STE } from '../smmuv3/layouts.ts';
import { EVT, EVT_CLASS } from '../smmuv3/events.ts';
import { Features } from '../smmuv3/features.ts';
import { getRegField, PA_BITS, reg } from '../smmuv3/regs.ts';

// ------------------------------------------------------------------------------------ interface

/** Transaction attribute flags (same encoding as the model's DMA API: ACC_W, ACC_X, ACC_U). */
export const REF_W = 1;
export const REF_X = 2;
export const REF_U = 4;

/** Permission mask bits (the model's TxResult.perm encoding). */
export const PR = 1,
  PW = 2,
  PX = 4,
  UR = 8,
  UW = 16,
  UX = 32;
export const ALL_PERMS = 0x3f;

/** Event CLASS (IHI0070 §7.3): what the failing access was doing (the event record layout's EVT_CLASS). */
const REF_CLASS_CD = EVT_CLASS.CD;
const REF_CLASS_TT = EVT_CLASS.TT;
const REF_CLASS_IN = EVT_CLASS.IN;

/** A hardware update of a descriptor (AF set, dirty state), as a 64-bit before/after. */
export interface RefUpdate {
  readonly addr: bigint;
  readonly before: bigint;
  readonly after: bigint;
}

export interface RefOk {
  readonly kind: 'ok';
  readonly pa: bigint;
  /** PR/PW/PX/UR/UW/UX granted by the translation as it stands after this access's updates. */
  readonly perm: number;
  readonly updates: readonly RefUpdate[];
}

/** Terminated without an event (GBPA.ABORT with SMMUEN = 0, STE.Config = abort). */
export interface RefAbort {
  readonly kind: 'abort';
}

export interface RefFault {
  readonly kind: 'fault';
  readonly event: number;
  /** Stage of the fault (event S2 field): 1 for stage 2. */
  readonly s2: 0 | 1;
  /** Event CLASS (CD / TT / IN), -1 where the record has none. */
  readonly cls: number;
  /** IPA (stage-2 translation-class faults) or fetch address (F_*_FETCH, F_WALK_EABT); else 0. */
  readonly addr: bigint;
  /** The aborted translation-table access was a write (TTRnW = 0); meaningful when cls == TT. */
  readonly ttWrite: boolean;
  /** Attributes of the transaction after the STE overrides (REF_W / REF_X / REF_U). */
  readonly acc: number;
  /** The event is written to the event queue (if it has room). */
  readonly record: boolean;
  /** The transaction stalls (the event is recorded with Stall = 1). */
  readonly stall: boolean;
  /** Terminated as RAZ/WI instead of an abort (CD.A = 0). */
  readonly razwi: boolean;
  readonly updates: readonly RefUpdate[];
}

export type RefResult = RefOk | RefAbort | RefFault;

/** What the reference reads: memory and 32-bit MMIO reads (the SMMUv3 model satisfies this). */
export interface RefDevice {
  readonly mem: PhysMem;
  read32(offset: number): number;
}

/** What a traced read fetched (`translate --explain`). */
export type RefReadKind = 'L1STD' | 'STE' | 'L1CD' | 'CD' | 'S1' | 'S2';

/**
 * Called for every configuration and descriptor read, in order: `n` is the walk level (S1, S2) or
 * the qword index (STE, CD; 0 for L1STD / L1CD); `addr` the address read (an IPA for L1CD / CD
 * when stage 2 is nested); `value` undefined when the address is not backed.
 */
export type RefTrace = (kind: RefReadKind, n: number, addr: bigint, value: bigint | undefined) => void;

/**
 * Translates one transaction: StreamID `sid`, SubstreamID `ssid` (-1: none), 64-bit input address
 * `iova`, attributes `acc` (REF_W | REF_X | REF_U; 0 = privileged data read). `trace` (optional)
 * sees every read.
 */
export function refTranslate(
  dev: RefDevice,
  sid: number,
  ssid: number,
  iova: bigint,
  acc: number,
  trace?: RefTrace,
): RefResult {
  const t = new Translation(dev, sid >>> 0, ssid, BigInt.asUintN(64, iova), acc & 7);
  if (trace) t.trace = trace;
  return t.run();
}

// ------------------------------------------------------------------------------------ bit helpers

const mask = (n: number | bigint): bigint => (1n << BigInt(n)) - 1n;
/** Bits [hi:lo] of v, right-aligned. */
const bits = (v: bigint, hi: number, lo: number): bigint => (v >> BigInt(lo)) & mask(hi - lo + 1);
const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
/** v with bits [n-1:0] cleared. */
const alignDown = (v: bigint, n: number): bigint => v & ~mask(n);
const pow2 = (n: number): bigint => 1n << BigInt(n);

// VMSAv8-64 descriptor fields (DDI 0487 D8.3), read and written by name through the layouts in
// src/pt/vmsav8-64.ts.
const T = VMSA_TABLE,
  L1 = VMSA_S1_LEAF,
  L2 = VMSA_S2_LEAF;
/** Raw bits of field `name` of descriptor d. */
const df = (l: Layout, d: bigint, name: string): bigint => getRaw([d], fieldOf(l, name));
const dbit = (l: Layout, d: bigint, name: string): boolean => df(l, d, name) !== 0n;
/** The bits of field `name` (in place) set to `v`. */
const dset = (l: Layout, name: string, v: bigint): bigint => v << BigInt(fieldOf(l, name).lo);
/** Position of the address fields: [47:lo], lo = the 4 KiB granule; FEAT_LPA OA[51:48] in [lo+3:lo]. */
const OA_LO = fieldOf(T, 'NextLevelTableAddr').lo;

/** Granule encodings. STE.S2TG and CD.TG0: 0 = 4K, 1 = 64K, 2 = 16K; CD.TG1: 1 = 16K, 2 = 4K, 3 = 64K (IHI0070 §5.2, §5.4). */
const TG0_BITS: Readonly<Record<number, number>> = { 0: 12, 1: 16, 2: 14 };
const TG1_BITS: Readonly<Record<number, number>> = { 1: 14, 2: 12, 3: 16 };

// ------------------------------------------------------------------------------------ faults

/** A fault found while translating; the translation turns it into a RefFault. */
class Fault {
  constructor(
    readonly event: number,
    readonly s2: 0 | 1 = 0,
    readonly cls: number = -1,
    readonly addr: bigint = 0n,
    readonly ttWrite = false,
  ) {}
}

const isTranslationFault = (e: number): boolean =>
  e === EVT.F_TRANSLATION || e === EVT.F_ADDR_SIZE || e === EVT.F_ACCESS || e === EVT.F_PERMISSION;

// ------------------------------------------------------------------------------------ decoded configuration

/** Stage-2 parameters from the STE (IHI0070 §5.2; VTCR_EL2-like). */
interface S2Config {
  readonly granule: number; // log2 bytes
  readonly ias: number; // input (IPA) size in bits: 64 - S2T0SZ
  readonly startLevel: number;
  readonly ps: number; // effective output size in bits
  readonly ttb: bigint; // start table(s), aligned
  readonly affd: boolean;
  readonly ha: boolean;
  readonly hd: boolean;
  readonly record: boolean; // S2R
  readonly stall: boolean; // S2S
}

/** One half of the stage-1 input range (TTB0 / TTB1) from the CD (IHI0070 §5.4; TCR_EL1-like). */
interface S1Range {
  readonly granule: number;
  readonly ias: number; // 64 - TxSZ
  readonly startLevel: number;
  readonly ttb: bigint; // aligned base of the start table
  readonly ips: number; // effective output size for this granule
  readonly had: boolean; // hierarchical attributes disabled
}

interface S1Config {
  /** StreamWorld EL2 without E2H: one VA range (TTB0), one privilege level. */
  readonly el2: boolean;
  readonly ranges: readonly [S1Range | null, S1Range | null]; // null: EPDx = 1 (or TTB1 in EL2)
  readonly tbi: readonly [boolean, boolean];
  readonly affd: boolean;
  readonly ha: boolean;
  readonly hd: boolean;
  readonly wxn: boolean;
  readonly pan: boolean;
  readonly record: boolean; // CD.R
  readonly stall: boolean; // CD.S (or forced by the stall model)
  readonly abort: boolean; // CD.A
}

// ------------------------------------------------------------------------------------ the translation

class Translation {
  private readonly mem: PhysMem;
  private readonly feat: Features;
  /** Descriptor updates made so far, by address (later reads see them). */
  private readonly overlay = new Map<bigint, { before: bigint; after: bigint }>();
  private s2cfg: S2Config | null = null;
  private s1cfg: S1Config | null = null;
  /** Stage 2 follows stage 1: CD and table addresses are IPAs. */
  private nested = false;
  /** The --explain hook (null: no tracing). */
  trace: RefTrace | null = null;

  constructor(
    private readonly dev: RefDevice,
    private readonly sid: number,
    private readonly ssid: number,
    private readonly iova: bigint,
    private acc: number,
  ) {
    this.mem = dev.mem;
    this.feat = new Features([0, 1, 2, 3, 4, 5].map((i) => this.reg32(`IDR${i}`)));
  }

  run(): RefResult {
    try {
      return this.translate();
    } catch (e) {
      if (e instanceof Fault) return this.dispose(e);
      throw e;
    }
  }

  // ---- registers and memory

  private reg32(name: string): number {
    return this.dev.read32(reg(name).offset) >>> 0;
  }

  private reg64(name: string): bigint {
    const off = reg(name).offset;
    return (BigInt(this.dev.read32(off + 4) >>> 0) << 32n) | BigInt(this.dev.read32(off) >>> 0);
  }

  /** A 64-bit little-endian read of physical memory; undefined = external abort (not backed). */
  private read64(pa: bigint): bigint | undefined {
    const o = this.overlay.get(pa);
    if (o) return o.after;
    if (pa < 0n || pa >= pow2(52) || pa % 8n !== 0n) return undefined;
    return this.mem.read64n(Number(pa));
  }

  private update(pa: bigint, before: bigint, after: bigint): void {
    if (before === after) return;
    const o = this.overlay.get(pa);
    this.overlay.set(pa, { before: o ? o.before : before, after });
  }

  private updates(): RefUpdate[] {
    return [...this.overlay].map(([addr, v]) => ({ addr, before: v.before, after: v.after }));
  }

  /** Effective size in bits of an IPS / S2PS / OAS encoding, capped at the SMMU's OAS (§6.3.6). */
  private paBits(enc: number): number {
    // Model choice: the reserved encoding 0b111 behaves as OAS.
    const b = enc < PA_BITS.length ? PA_BITS[enc]! : this.feat.oasBits;
    return Math.min(b, this.feat.oasBits);
  }

  /** SMMU IAS (§3.4.1): OAS, or at least 40 bits when AArch32 stage-2 tables are supported (IDR0.TTF[0]). */
  private smmuIas(): number {
    const ttf = getRegField('IDR0', 'TTF', this.reg32('IDR0'));
    return (ttf & 1) !== 0 ? Math.max(this.feat.oasBits, 40) : this.feat.oasBits;
  }

  // ---- top level (IHI0070 §3.1, §3.3)

  private translate(): RefResult {
    // SMMU_CR0.SMMUEN = 0: global bypass or abort per SMMU_GBPA (§6.3.9, §6.3.14).
    if (getRegField('CR0', 'SMMUEN', this.reg32('CR0')) === 0) {
      if (getRegField('GBPA', 'ABORT', this.reg32('GBPA')) === 1) return { kind: 'abort' };
      // No translation, so no translation-related event: an input beyond the OAS aborts (§3.4).
      if (this.iova >= pow2(this.feat.oasBits)) return { kind: 'abort' };
      return this.bypass();
    }
    // A SubstreamID wider than SMMU_IDR1.SSIDSIZE needs no check of its own: S1CDMax is at most
    // SSIDSIZE, so it is C_BAD_SUBSTREAMID once the STE is read, after C_BAD_STREAMID, F_STE_FETCH
    // and C_BAD_STE, and not at all for an abort STE (§7.3.22, §7.3.7).
    const ste = this.fetchSte();
    return this.useSte(ste);
  }

  /** No translation: output = input. Model choice: an input at or beyond 2^OAS is an F_ADDR_SIZE. */
  private bypass(): RefResult {
    if (this.iova >= pow2(this.feat.oasBits)) throw new Fault(EVT.F_ADDR_SIZE, 0, REF_CLASS_IN, 0n);
    return { kind: 'ok', pa: this.iova, perm: ALL_PERMS, updates: this.updates() };
  }

  // ---- stream table (§3.3.1, §5.1, §6.3.23-24)

  private fetchSte(): bigint[] {
    const cfg = this.reg32('STRTAB_BASE_CFG');
    const fmt = getRegField('STRTAB_BASE_CFG', 'FMT', cfg);
    // LOG2SIZE beyond IDR1.SIDSIZE behaves as SIDSIZE.
    const log2size = Math.min(getRegField('STRTAB_BASE_CFG', 'LOG2SIZE', cfg), this.feat.sidBits);
    const base = bits(this.reg64('STRTAB_BASE'), 51, 6) << 6n;
    const sid = BigInt(this.sid);
    if (sid >= pow2(log2size)) throw new Fault(EVT.C_BAD_STREAMID);
    let steAddr: bigint;
    if (fmt === 1 && this.feat.st2l) {
      // 2-level: the L1 table is indexed by StreamID[LOG2SIZE-1:SPLIT], each L1STD points at a
      // level-2 table of 2^(Span-1) STEs indexed by StreamID[SPLIT-1:0].
      let split = getRegField('STRTAB_BASE_CFG', 'SPLIT', cfg);
      if (split !== 6 && split !== 8 && split !== 10) split = 6; // model choice: reserved SPLIT behaves as 6
      const l1Addr = base + (sid >> BigInt(split)) * 8n;
      const l1 = this.read64(l1Addr);
      this.trace?.('L1STD', 0, l1Addr, l1);
      if (l1 === undefined) throw new Fault(EVT.F_STE_FETCH, 0, -1, l1Addr);
      const span = Number(this.field(L1STD, [l1], 'Span'));
      // Span 0: invalid; Span above SPLIT + 1 (including the reserved 12..31): no valid STE (§5.1).
      if (span === 0 || span > split + 1) throw new Fault(EVT.C_BAD_STREAMID);
      const idx = sid & mask(split);
      if (idx >= pow2(span - 1)) throw new Fault(EVT.C_BAD_STREAMID);
      // The level-2 array (2^(Span-1) STEs) is aligned to its size: L2Ptr's low bits read as zero.
      steAddr = alignDown(this.field(L1STD, [l1], 'L2Ptr'), span - 1 + 6) + idx * 64n;
    } else {
      // Linear (model choice: reserved FMT, or 2-level without IDR0.ST_LEVEL, behave as linear).
      steAddr = base + sid * 64n;
    }
    const ste: bigint[] = [];
    for (let i = 0n; i < 8n; i++) {
      const q = this.read64(steAddr + i * 8n);
      this.trace?.('STE', Number(i), steAddr + i * 8n, q);
      if (q === undefined) throw new Fault(EVT.F_STE_FETCH, 0, -1, steAddr + i * 8n);
      ste.push(q);
    }
    return ste;
  }

  private field(l: Layout, q: readonly bigint[], name: string): bigint {
    return getField(q, fieldOf(l, name));
  }

  // ---- STE (§5.2)

  private useSte(q: bigint[]): RefResult {
    const ste = (name: string): number => Number(this.field(STE, q, name));
    const feat = this.feat;
    if (ste('V') === 0) throw new Fault(EVT.C_BAD_STE);
    const config = ste('Config');
    if ((config & 0b100) === 0) return { kind: 'abort' }; // 0b0xx: abort, no event

    // STE.PRIVCFG / INSTCFG override the incoming attributes (§5.2, §13; INSTCFG applies to reads
    // only: a write is always a data access). Reserved encodings (0b01) leave them as they come.
    // Both fields are RES0 (the incoming attributes apply) without SMMU_IDR1.ATTR_PERMS_OVR (§5.2, §6.3.2).
    const ovr = this.feat.attrPermsOvr;
    const privcfg = ovr ? ste('PRIVCFG') : 0;
    if (privcfg === 0b10) this.acc |= REF_U;
    else if (privcfg === 0b11) this.acc &= ~REF_U;
    if ((this.acc & REF_W) === 0) {
      const instcfg = ovr ? ste('INSTCFG') : 0;
      if (instcfg === 0b10) this.acc &= ~REF_X;
      else if (instcfg === 0b11) this.acc |= REF_X;
    }

    if (config === 0b100) {
      // Model choice: a SubstreamID on a stream without stage-1 CDs is C_BAD_SUBSTREAMID.
      if (this.ssid >= 0) throw new Fault(EVT.C_BAD_SUBSTREAMID);
      return this.bypass();
    }
    const s1 = (config & 1) !== 0;
    const s2 = (config & 2) !== 0;
    const bad = (): never => {
      throw new Fault(EVT.C_BAD_STE);
    };
    // A stage the SMMU does not implement is ILLEGAL (IDR0.S1P / S2P).
    if ((s1 && !feat.s1) || (s2 && !feat.s2)) bad();
    if (feat.ats) {
      // EATS (§5.2; IGNORED without IDR0.ATS): 0b11 (DPT checks, no IDR3.DPT) behaves as 0b00;
      // split-stage 0b10 needs both stages and S2S = 0; full ATS with stage 2 needs S2S = 0.
      const eats = ste('EATS');
      if (eats === 0b10 && (!s1 || !s2 || ste('S2S') === 1)) bad();
      if (eats === 0b01 && s2 && ste('S2S') === 1) bad();
    }
    // S2VMID is IGNORED (not range-checked) outside the NS-EL1 StreamWorld: stage 1 only with
    // STRW = EL2 / EL2-E2H (§5.2 S2VMID).
    const el2World = s1 && !s2 && feat.hyp && ste('STRW') === 0b10;
    if (feat.s2 && !el2World && !feat.vmid16 && ste('S2VMID') > 0xff) bad();
    if (s1) {
      // STRW (stage 1 only): RES0 without IDR0.HYP; with it, 0bx1 is ILLEGAL and 0b10 selects the
      // EL2 StreamWorld, EL2-E2H when SMMU_CR2.E2H = 1 (§5.2 STRW).
      if (!s2 && feat.hyp && (ste('STRW') & 1) !== 0) bad();
      const cdmax = feat.ssidBits === 0 ? 0 : ste('S1CDMax'); // IGNORED without substreams (§5.2)
      if (cdmax > feat.ssidBits) bad();
      // S1Fmt 0b11 is reserved and behaves as linear; the 2-level formats need IDR0.CD2L (§5.2 S1Fmt).
      if (cdmax !== 0 && !feat.cd2l && (ste('S1Fmt') === 1 || ste('S1Fmt') === 2)) bad();
      // S1STALLD = 1 needs a stall model with both stall and terminate (STALL_MODEL = 0b00; §5.5).
      if (ste('S1STALLD') === 1 && feat.stallModel !== 0) bad();
      // S1ContextPtr beyond the OAS (the IAS when it is an IPA) is ILLEGAL (§5.2).
      if (this.field(STE, q, 'S1ContextPtr') >= pow2(s2 ? this.smmuIas() : feat.oasBits)) bad();
    }
    if (s2) this.s2cfg = this.decodeS2(q);

    if (!s1) {
      if (this.ssid >= 0) throw new Fault(EVT.C_BAD_SUBSTREAMID); // model choice, as for bypass
      return this.stage2Only();
    }

    // SubstreamID -> CD index (§3.3.2; STE.S1CDMax, S1DSS).
    const cdmax = feat.ssidBits === 0 ? 0 : ste('S1CDMax'); // IGNORED without substreams (§5.2)
    const dss = ste('S1DSS');
    let index: bigint;
    if (this.ssid < 0) {
      if (cdmax !== 0) {
        // S1DSS 0b00: terminate non-substream traffic; 0b11 is reserved and behaves as 0b00.
        if (dss === 0b00 || dss === 0b11) throw new Fault(EVT.F_STREAM_DISABLED);
        if (dss === 0b01) return s2 ? this.stage2Only() : this.bypass(); // stage 1 bypassed
      }
      index = 0n; // the single CD, or substream 0 (S1DSS = 0b10)
    } else {
      if (cdmax === 0 || this.ssid >= 2 ** cdmax) throw new Fault(EVT.C_BAD_SUBSTREAMID);
      // SubstreamID 0 when CD 0 serves non-substream traffic (S1DSS = 0b10): F_STREAM_DISABLED (§5.2 S1DSS, §7.3.7).
      if (this.ssid === 0 && dss === 0b10) throw new Fault(EVT.F_STREAM_DISABLED);
      index = BigInt(this.ssid);
    }
    this.nested = s2;
    const cdq = this.fetchCd(this.field(STE, q, 'S1ContextPtr'), cdmax, ste('S1Fmt'), index);
    // StreamWorld EL2 (one VA range, one privilege level). EL2-E2H is an EL2&0 regime, with two
    // ranges and two privilege levels: it translates like NS-EL1.
    const el2 = !s2 && feat.hyp && ste('STRW') === 0b10 && getRegField('CR2', 'E2H', this.reg32('CR2')) === 0;
    this.s1cfg = this.decodeCd(cdq, el2, ste('S1STALLD') === 1);
    return this.stage1();
  }

  /** Stage-2 fields of the STE; throws C_BAD_STE for ILLEGAL values (§5.2; Arm ARM D8.2). */
  private decodeS2(q: bigint[]): S2Config {
    const ste = (name: string): number => Number(this.field(STE, q, name));
    const feat = this.feat;
    const bad = (): never => {
      throw new Fault(EVT.C_BAD_STE);
    };
    if (ste('S2AA64') === 0) bad(); // AArch32 (VMSAv8-32 LPAE) stage 2: not implemented (IDR0.TTF = AArch64)
    if (ste('S2ENDI') === 1) bad(); // big-endian tables: IDR0.TTENDIAN = little-endian only
    const granule = TG0_BITS[ste('S2TG')];
    if (granule === undefined || !feat.hasGranule(granule)) bad();
    const g = granule!;
    const ias = 64 - ste('S2T0SZ');
    // IAS limits: at most the SMMU IAS, and 48 bits unless 52-bit IPAs exist (64K granule with a
    // 52-bit PA size, FEAT_LPA); at least 25 bits (S2T0SZ <= 39: FEAT_TTST is not implemented).
    const maxIas = Math.min(this.smmuIas(), g === 16 && feat.oasBits === 52 ? 52 : 48);
    if (ias > maxIas || ias < 25) bad();
    const startLevel = this.s2StartLevel(g, ste('S2SL0'), ias);
    if (startLevel < 0) bad();
    let ps = this.paBits(ste('S2PS'));
    if (g !== 16 && ps > 48) ps = 48; // 52-bit output needs the 64K granule (FEAT_LPA2 not implemented)
    const ttb = this.field(STE, q, 'S2TTB');
    if (ttb >= pow2(ps)) bad(); // model choice: S2TTB beyond the output size makes the STE ILLEGAL
    // Stall model (IDR0.STALL_MODEL): S2S = 1 ILLEGAL without stalls, S2S = 0 ILLEGAL when forced.
    if ((ste('S2S') === 1 && feat.stallModel === 1) || (ste('S2S') === 0 && feat.stallModel === 2)) bad();
    // Hardware updates the SMMU does not implement (IDR0.HTTU) are ILLEGAL (§5.2 S2HA, S2HD).
    if ((ste('S2HA') === 1 && feat.httu === 0) || (ste('S2HD') === 1 && feat.httu < 2)) bad();
    const stride = g - 3;
    // The start table (with its concatenated siblings) is aligned to its size, and to 64 bytes with a
    // 52-bit effective S2PS (§5.2 S2TTB); low bits read as zero.
    const startBits = ias - (g + (3 - startLevel) * stride);
    return {
      granule: g,
      ias,
      startLevel,
      ps,
      ttb: alignDown(ttb, Math.max(startBits + 3, ps === 52 ? 6 : 4)),
      affd: ste('S2AFFD') === 1,
      ha: ste('S2HA') === 1 && feat.httu >= 1,
      hd: ste('S2HA') === 1 && ste('S2HD') === 1 && feat.httu >= 2, // HD needs HA (and IDR0.HTTU = 2)
      record: ste('S2R') === 1,
      stall: ste('S2S') === 1,
    };
  }

  /**
   * Stage-2 start level from S2SL0, or -1 when ILLEGAL. Arm ARM AArch64.S2InvalidSL (with PAMax =
   * the SMMU OAS) and AArch64.S2InconsistentSL: the IPA must need the start level and fit it with
   * at most 16 concatenated tables.
   */
  private s2StartLevel(g: number, sl0: number, ias: number): number {
    const pamax = this.feat.oasBits;
    let level: number;
    if (g === 12) {
      if (sl0 === 0b11) return -1; // level 3 start: FEAT_TTST only
      if (sl0 === 0b10 && pamax < 44) return -1;
      level = 2 - sl0;
    } else {
      if (sl0 === 0b11) return -1; // 16K level 0 (FEAT_LPA2) / 64K reserved
      if (sl0 === 0b10 && pamax < (g === 14 ? 42 : 44)) return -1;
      level = 3 - sl0;
    }
    const stride = g - 3;
    const minIas = (3 - level) * stride + g + 1;
    const maxIas = minIas + (stride - 1) + 4;
    if (ias < minIas || ias > maxIas) return -1;
    return level;
  }

  // ---- CD table and CD (§3.3.2, §5.3, §5.4)

  /** Reads 64 bits of configuration at `addr`, an IPA when stage 2 is nested (CLASS CD). */
  private cfgRead(addr: bigint): bigint {
    let pa = addr;
    if (this.nested) pa = this.s2Translate(addr, 0, REF_CLASS_CD, false).pa;
    const v = this.read64(pa);
    if (v === undefined) throw new Fault(EVT.F_CD_FETCH, 0, -1, pa);
    return v;
  }

  private fetchCd(ctxPtr: bigint, cdmax: number, fmt: number, index: bigint): bigint[] {
    let cdAddr: bigint;
    if (cdmax === 0 || fmt === 0 || fmt === 3) {
      cdAddr = ctxPtr + index * 64n; // linear CD table (S1Fmt 0b11 reserved, behaves as linear)
    } else {
      // 2-level: L1CDs indexed by SSID[S1CDMax-1:SPLIT]; leaf tables of 2^SPLIT CDs (4K: 64, 64K: 1024).
      const split = fmt === 1 ? 6 : 10;
      const l1 = this.cfgRead(ctxPtr + (index >> BigInt(split)) * 8n);
      this.trace?.('L1CD', 0, ctxPtr + (index >> BigInt(split)) * 8n, l1);
      if (this.field(L1CD, [l1], 'V') === 0n) throw new Fault(EVT.C_BAD_SUBSTREAMID);
      // An L2Ptr beyond the OAS (IAS when nested) is C_BAD_SUBSTREAMID too (§7.3.9).
      if (this.field(L1CD, [l1], 'L2Ptr') >= pow2(this.nested ? this.smmuIas() : this.feat.oasBits))
        throw new Fault(EVT.C_BAD_SUBSTREAMID);
      cdAddr = this.field(L1CD, [l1], 'L2Ptr') + (index & mask(split)) * 64n;
    }
    const cd: bigint[] = [];
    for (let i = 0n; i < 8n; i++) cd.push(this.cfgRead(cdAddr + i * 8n));
    this.trace?.('CD', 0, cdAddr, cd[0]); // (the CD's eight qwords: cd[0..7])
    for (let i = 1; i < 8; i++) this.trace?.('CD', i, cdAddr + BigInt(i) * 8n, cd[i]);
    return cd;
  }

  private decodeCd(q: bigint[], el2: boolean, s1stalld: boolean): S1Config {
    const cd = (name: string): number => Number(this.field(CD, q, name));
    const feat = this.feat;
    const bad = (): never => {
      throw new Fault(EVT.C_BAD_CD);
    };
    if (cd('V') === 0) bad();
    if (cd('AA64') === 0) bad(); // AArch32 tables not implemented (IDR0.TTF = AArch64)
    if (cd('ENDI') === 1 && (cd('EPD0') === 0 || cd('EPD1') === 0)) bad(); // big-endian tables; IGNORED without walks
    // CD.ASID is IGNORED in StreamWorld NS-EL2 (E2H = 0): no range check (§5.4 ASID).
    if (!el2 && !feat.asid16 && cd('ASID') > 0xff) bad();
    // Stalls (§5.5): CD.S = 1 without a stall model or under STE.S1STALLD = 1, and CD.S = 0 when the
    // SMMU forces stalls (STALL_MODEL = 0b10), are ILLEGAL.
    if (cd('S') === 1 && (feat.stallModel === 1 || s1stalld)) bad();
    if (cd('S') === 0 && feat.stallModel === 2) bad();
    if (cd('A') === 0 && feat.termAbortOnly) bad(); // IDR0.TERM_MODEL = 1: terminations must abort
    // Hardware updates the SMMU does not implement (IDR0.HTTU) are ILLEGAL (§5.4 HA, HD).
    if ((cd('HA') === 1 && feat.httu === 0) || (cd('HD') === 1 && feat.httu < 2)) bad();
    const ipsAll = this.paBits(cd('IPS'));
    const range = (
      epd: number,
      tgBits: number | undefined,
      tsz: number,
      ttbName: string,
      had: number,
    ): S1Range | null => {
      if (epd === 1) return null;
      if (tgBits === undefined || !feat.hasGranule(tgBits)) bad();
      const g = tgBits!;
      // TxSZ in range: 16..39, or down to 12 for the 64K granule with IDR5.VAX (52-bit VA).
      if (tsz > 39 || tsz < (g === 16 && feat.vax52 ? 12 : 16)) bad();
      const ias = 64 - tsz;
      const stride = g - 3;
      const startLevel = 3 - Math.floor((ias - 1 - g) / stride); // Arm ARM AArch64.S1StartLevel
      const startBits = ias - (g + (3 - startLevel) * stride);
      return {
        granule: g,
        ias,
        startLevel,
        // Model choice: TTB bits below the start table's size (at least 16 bytes) read as zero.
        ttb: alignDown(this.field(CD, q, ttbName), Math.max(startBits + 3, 4)),
        ips: ipsAll,
        had: had === 1 && feat.had,
      };
    };
    const r0 = range(cd('EPD0'), TG0_BITS[cd('TG0')], cd('T0SZ'), 'TTB0', cd('HAD0'));
    // StreamWorld EL2 (no E2H): a single VA range, TTB1 unused.
    const r1 = el2 ? null : range(cd('EPD1'), TG1_BITS[cd('TG1')], cd('T1SZ'), 'TTB1', cd('HAD1'));
    // A 52-bit output size needs the 64K granule (FEAT_LPA2 not implemented): the fast model caps
    // IPS at 48 unless one of the ranges uses 64K (model choice for the mixed case).
    let ips = ipsAll;
    if (ips > 48 && r0?.granule !== 16 && r1?.granule !== 16) ips = 48;
    // A TTBx outside the effective output size (at most 48 bits with 4K/16K) is ILLEGAL (§5.4 TTB0/TTB1).
    for (const [r, name] of [
      [r0, 'TTB0'],
      [r1, 'TTB1'],
    ] as const) {
      if (r && this.field(CD, q, name) >= pow2(r.granule === 16 ? ips : Math.min(ips, 48))) bad();
    }
    // With a 52-bit effective IPS (64K granule) the start table is 64-byte aligned: TTBx[5:0] read
    // as zero (§5.4 TTB0, TTB1).
    const fix = (r: S1Range | null): S1Range | null =>
      r ? { ...r, ips, ttb: r.granule === 16 && ips === 52 ? alignDown(r.ttb, 6) : r.ttb } : null;
    const tbi = cd('TBI');
    return {
      el2,
      ranges: [fix(r0), fix(r1)],
      tbi: [(tbi & 1) !== 0, (tbi & 2) !== 0],
      affd: cd('AFFD') === 1,
      ha: cd('HA') === 1 && feat.httu >= 1,
      hd: cd('HA') === 1 && cd('HD') === 1 && feat.httu >= 2,
      wxn: cd('WXN') === 1,
      pan: cd('PAN') === 1,
      record: cd('R') === 1,
      stall: cd('S') === 1,
      abort: cd('A') === 1,
    };
  }

  // ---- stage 2 only (§3.4.1)

  private stage2Only(): RefResult {
    // Stage 1 bypassed: the input address is the IPA. Beyond the SMMU IAS it is a stage-1 Address
    // Size fault (§3.4.1).
    if (this.iova >= pow2(this.smmuIas())) throw new Fault(EVT.F_ADDR_SIZE, 0, REF_CLASS_IN, 0n);
    const r = this.s2Translate(this.iova, this.acc, REF_CLASS_IN, false);
    return { kind: 'ok', pa: r.pa, perm: r.perm, updates: this.updates() };
  }

  // ---- VMSAv8-64 descriptor fields (Arm ARM D8.3)

  /** Next-level table address: bits [47:g], plus [51:48] from bits [15:12] with the 64K granule. */
  private tableAddr(d: bigint, g: number): bigint {
    const f = getField([d], fieldOf(T, 'NextLevelTableAddr')); // bits [47:12] in place
    let a = alignDown(f, g);
    if (g === 16) a |= bits(f, OA_LO + 3, OA_LO) << 48n; // FEAT_LPA (model choice: also when OAS < 52, IMPLEMENTATION DEFINED)
    return a;
  }

  /** Output address of a block/page descriptor mapping 2^s bytes. */
  private leafAddr(d: bigint, g: number, s: number): bigint {
    const f = getField([d], fieldOf(L1, 'OutputAddr')); // same position in stage-2 leaves
    let a = alignDown(f, s);
    if (g === 16) a |= bits(f, OA_LO + 3, OA_LO) << 48n;
    return a;
  }

  /** Arm ARM AArch64.BlockDescSupported, without FEAT_LPA2: PAMax is the SMMU OAS. */
  private blockAllowed(g: number, level: number): boolean {
    if (g === 12) return level === 1 || level === 2;
    if (g === 14) return level === 2;
    return level === 2 || (level === 1 && this.feat.oasBits >= 52);
  }

  // ---- stage-2 walk (Arm ARM D8; IHI0070 §3.4, §7.3)

  /**
   * Translates an IPA through stage 2. `acc`: the access (REF_* flags); `cls`: event CLASS of a
   * fault; `ttWrite`: the access is a stage-1 descriptor update (TTRnW). Returns the PA and the
   * stage-2 permission mask.
   */
  private s2Translate(ipa: bigint, acc: number, cls: number, ttWrite: boolean): { pa: bigint; perm: number } {
    const c = this.s2cfg!;
    const fault = (e: number, addr = ipa): never => {
      throw new Fault(e, 1, cls, addr, ttWrite);
    };
    if (ipa >= pow2(c.ias)) fault(EVT.F_TRANSLATION); // beyond 64 - S2T0SZ
    const g = c.granule;
    const stride = g - 3;
    let level = c.startLevel;
    let table = c.ttb;
    for (;;) {
      const s = g + (3 - level) * stride; // bits mapped by one entry at this level
      const top = level === c.startLevel ? c.ias : s + stride; // concatenated start tables widen the index
      const da = table + bits(ipa, top - 1, s) * 8n;
      const d = this.read64(da);
      this.trace?.('S2', level, da, d);
      if (d === undefined) fault(EVT.F_WALK_EABT, da);
      const desc = d!;
      if (!dbit(T, desc, 'Valid')) fault(EVT.F_TRANSLATION); // invalid
      if (level < 3 && dbit(T, desc, 'Table')) {
        // Table descriptor: stage-2 table descriptors carry no attributes.
        table = this.tableAddr(desc, g);
        if (table >= pow2(c.ps)) fault(EVT.F_ADDR_SIZE);
        level++;
        continue;
      }
      if (level === 3 ? !dbit(L2, desc, 'Page') : !this.blockAllowed(g, level)) fault(EVT.F_TRANSLATION); // reserved encoding
      const oa = this.leafAddr(desc, g, s);
      if (oa >= pow2(c.ps)) fault(EVT.F_ADDR_SIZE);
      let after = desc;
      // Access flag (bit 10): set by hardware with S2HA (FEAT_HAFDBS), S2AFFD then IGNORED (§5.2
      // S2AFFD, §3.13.2); without S2HA a fault unless S2AFFD.
      if (!dbit(L2, desc, 'AF')) {
        if (c.ha) after |= dset(L2, 'AF', 1n);
        else if (!c.affd) fault(EVT.F_ACCESS);
      }
      // S2AP: bit 0 read, bit 1 write. DBM with HA+HD: writable-clean, and a write makes it dirty by
      // setting S2AP[1].
      const s2ap = df(L2, desc, 'S2AP');
      const r = (s2ap & 1n) !== 0n;
      let w = (s2ap & 2n) !== 0n;
      if (!w && c.hd && dbit(L2, desc, 'DBM') && (acc & REF_W) !== 0) {
        w = true;
        after |= dset(L2, 'S2AP', 2n);
      }
      // Execute: XN[1:0] with FEAT_XNX (00 both, 01 not EL1, 10 neither, 11 not EL0), else XN[1] alone.
      let px: boolean, ux: boolean;
      const xn = Number(df(L2, desc, 'XN'));
      if (this.feat.xnx) {
        px = xn === 0b00 || xn === 0b11;
        ux = xn === 0b00 || xn === 0b01;
      } else {
        px = ux = (xn & 2) === 0;
      }
      const perm = (r ? PR | UR : 0) | (w ? PW | UW : 0) | (px ? PX : 0) | (ux ? UX : 0);
      if (!permits(perm, acc)) fault(EVT.F_PERMISSION);
      this.update(da, desc, after);
      return { pa: oa | bits(ipa, s - 1, 0), perm };
    }
  }

  // ---- stage-1 walk (Arm ARM D8; IHI0070 §5.4)

  private stage1(): RefResult {
    const c = this.s1cfg!;
    const va = this.iova;
    const acc = this.acc;
    const fault = (e: number): never => {
      throw new Fault(e, 0, REF_CLASS_IN, 0n);
    };
    // VA range (Arm ARM AArch64.GetVARange / AddrTop / VAIsOutOfRange): VA[55] picks TTB0 or TTB1;
    // with TBI for that half, bits [63:56] are ignored; bits [top:IAS] must all equal VA[55]. The EL2
    // regime has one range: those bits must be zero.
    const upper = bit(va, 55);
    const half = c.el2 ? 0 : upper ? 1 : 0;
    const top = c.tbi[c.el2 ? 0 : half] ? 55 : 63;
    const range = c.ranges[half];
    if (range === null) fault(EVT.F_TRANSLATION); // EPDx = 1: no walk of this half
    const rg = range!;
    if (top >= rg.ias) {
      const hiBits = bits(va, top, rg.ias);
      const want = half === 1 ? mask(top - rg.ias + 1) : 0n;
      if (hiBits !== want) fault(EVT.F_TRANSLATION);
    }
    const g = rg.granule;
    const stride = g - 3;
    if (rg.ttb >= pow2(rg.ips)) fault(EVT.F_ADDR_SIZE); // TTBx beyond the output size
    let level = rg.startLevel;
    let table = rg.ttb;
    // Hierarchical attributes from table descriptors (Arm ARM AArch64.S1ApplyTablePerms).
    let apTable = 0; // bit 0: APTable[0] no EL0 access; bit 1: APTable[1] read-only
    let pxnTable = false;
    let uxnTable = false; // XNTable in the EL2 regime
    for (;;) {
      const s = g + (3 - level) * stride;
      const topBit = level === rg.startLevel ? rg.ias : s + stride;
      const descIpa = table + bits(va, topBit - 1, s) * 8n;
      // Nested: table addresses are IPAs; the walk's read goes through stage 2 (CLASS TT).
      const da = this.nested ? this.s2Translate(descIpa, 0, REF_CLASS_TT, false).pa : descIpa;
      const d = this.read64(da);
      this.trace?.('S1', level, da, d);
      if (d === undefined) throw new Fault(EVT.F_WALK_EABT, 0, REF_CLASS_TT, da);
      const desc = d!;
      if (!dbit(T, desc, 'Valid')) fault(EVT.F_TRANSLATION);
      if (level < 3 && dbit(T, desc, 'Table')) {
        table = this.tableAddr(desc, g);
        if (table >= pow2(rg.ips)) fault(EVT.F_ADDR_SIZE);
        if (!rg.had) {
          apTable |= Number(df(T, desc, 'APTable'));
          pxnTable ||= dbit(T, desc, 'PXNTable');
          uxnTable ||= dbit(T, desc, 'UXNTable');
        }
        level++;
        continue;
      }
      if (level === 3 ? !dbit(L1, desc, 'Page') : !this.blockAllowed(g, level)) fault(EVT.F_TRANSLATION);
      const oa = this.leafAddr(desc, g, s);
      if (oa >= pow2(rg.ips)) fault(EVT.F_ADDR_SIZE);
      let after = desc;
      // Access flag: Arm ARM order is Translation, Address size, Access flag, Permission. With HA
      // the SMMU sets it and AFFD is IGNORED (§5.4 AFFD, §3.13.2); without HA a fault unless AFFD.
      if (!dbit(L1, desc, 'AF')) {
        if (c.ha) after |= dset(L1, 'AF', 1n);
        else if (!c.affd) fault(EVT.F_ACCESS);
      }
      const dbm = dbit(L1, desc, 'DBM') && c.hd; // writable-clean: effective AP[2] = 0 (AArch64.S1CheckPermission)
      const ap = df(L1, desc, 'AP'); // AP[2:1]
      const ap2 = (ap & 2n) !== 0n;
      const ap1 = (ap & 1n) !== 0n;
      const wantWrite = (acc & REF_W) !== 0;
      const perm = this.s1Perms(
        c,
        ap1,
        ap2 && !dbm,
        dbit(L1, desc, 'PXN'),
        dbit(L1, desc, 'UXN'),
        apTable,
        pxnTable,
        uxnTable,
      );
      if (!permits(perm, acc)) fault(EVT.F_PERMISSION);
      // Dirty state: a permitted write to a writable-clean page clears AP[2].
      let granted = perm;
      if (ap2 && dbm) {
        if (wantWrite) after &= ~dset(L1, 'AP', 2n);
        else granted &= ~(PW | UW); // not yet dirty: writes still need the update
      }
      if (after !== desc && this.nested) {
        // The hardware update is a write of the descriptor through stage 2 (TTRnW = write).
        this.s2Translate(descIpa, REF_W, REF_CLASS_TT, true);
      }
      this.update(da, desc, after);
      let pa = oa | bits(va, s - 1, 0);
      if (this.nested) {
        const r = this.s2Translate(pa, acc, REF_CLASS_IN, false);
        pa = r.pa;
        granted &= r.perm;
      }
      return { kind: 'ok', pa, perm: granted, updates: this.updates() };
    }
  }

  /**
   * Stage-1 permission mask (Arm ARM AArch64.S1DirectBasePermissions). `ap2` is the effective
   * AP[2] (cleared for writable-clean pages). EL1&0 regime: two privilege levels; EL2: one.
   */
  private s1Perms(
    c: S1Config,
    ap1: boolean,
    ap2: boolean,
    pxnBit: boolean,
    uxnBit: boolean,
    apTable: number,
    pxnTable: boolean,
    uxnTable: boolean,
  ): number {
    if (c.el2) {
      // One privilege level: AP[1] and APTable[0] ignored, XN = bit 54 (+ XNTable), PXN unused.
      // Model choice: unprivileged transactions get the same permissions as privileged ones.
      const w = !ap2 && (apTable & 2) === 0;
      let x = !uxnBit && !uxnTable;
      if (c.wxn && w) x = false;
      return PR | UR | (w ? PW | UW : 0) | (x ? PX | UX : 0);
    }
    // Leaf AP[2:1]: 00 priv RW; 01 RW both; 10 priv RO; 11 RO both.
    const pr = true;
    let pw = !ap2;
    let ur = ap1;
    let uw = ap1 && !ap2;
    // APTable[0]: no unprivileged access below; APTable[1]: read-only below.
    if ((apTable & 1) !== 0) ur = uw = false;
    if ((apTable & 2) !== 0) pw = uw = false;
    // Locations writable by unprivileged accesses are never privileged-executable.
    let px = !(pxnBit || pxnTable || uw);
    let ux = !(uxnBit || uxnTable);
    // WXN: writable locations are not executable (at the level that can write them).
    if (c.wxn && pw) px = false;
    if (c.wxn && uw) ux = false;
    // PAN: privileged data accesses to unprivileged-readable locations fault (DDI 0487
    // AArch64.S1DirectBasePermissions: pan = ur). PAN is for data accesses only: an instruction
    // fetch needs execute permission alone (see permits), so PAN never affects it.
    let pRead = pr;
    let pWrite = pw;
    if (c.pan && (ur || uw)) pRead = pWrite = false;
    return (
      (pRead ? PR : 0) | (pWrite ? PW : 0) | (px ? PX : 0) | (ur ? UR : 0) | (uw ? UW : 0) | (ux ? UX : 0)
    );
  }

  // ---- what happens to a faulting transaction (IHI0070 §3.12)

  private dispose(f: Fault): RefFault {
    // C_BAD_STREAMID is recorded only with SMMU_CR2.RECINVSID = 1 (§6.3.12, §7.3.3).
    let record = f.event !== EVT.C_BAD_STREAMID || getRegField('CR2', 'RECINVSID', this.reg32('CR2')) === 1;
    let stall = false;
    let razwi = false;
    if (isTranslationFault(f.event)) {
      // Translation-related faults follow the stage's fault configuration: stage 2 STE.S2R / S2S
      // (terminations abort); stage 1 CD.R / CD.S / CD.A. A stage-1 fault with stage 1 bypassed (no
      // CD) is recorded and aborts.
      if (f.s2 === 1 && this.s2cfg) {
        record = this.s2cfg.record;
        stall = this.s2cfg.stall;
      } else if (f.s2 === 0 && this.s1cfg) {
        record = this.s1cfg.record;
        stall = this.s1cfg.stall;
        razwi = !this.s1cfg.abort;
      }
    }
    return {
      kind: 'fault',
      event: f.event,
      s2: f.s2,
      cls: f.cls,
      addr: f.addr,
      ttWrite: f.ttWrite,
      acc: this.acc,
      record: record || stall,
      stall,
      razwi: razwi && !stall,
      updates: this.updates(),
    };
  }
}

/**
 * Does the permission mask allow the access? Data read: R; write: W (an instruction write is a
 * data write, IHI0070 §13.7.1); instruction fetch: X alone (DDI 0487 AArch64.S1CheckPermission and
 * S2CheckPermission fail an IFETCH on !x only; IHI0070 §13.7.1, §3.22). Privileged or unprivileged
 * per REF_U.
 */
export function permits(perm: number, acc: number): boolean {
  const u = (acc & REF_U) !== 0;
  let need: number;
  if ((acc & REF_W) !== 0) need = u ? UW : PW;
  else if ((acc & REF_X) !== 0) need = u ? UX : PX;
  else need = u ? UR : PR;
  return (perm & need) === need;
}
