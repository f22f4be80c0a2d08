// The SMMUv3 hardware model. It sees only emulated physical memory and its own MMIO registers:
// stream table, CDs, page tables and queues are read from memory on every transaction (walk mode)
// or through architected caches that only CFGI_* / TLBI_* commands invalidate (caching mode).
//
// DMA API: translate(sid, ssid, iovaHi, iovaLo, acc) -> status, result in `res` (reused). Batch form
// over typed arrays: translateBatch. No allocation, no BigInt on those paths.
//
// This file holds the device state and the per-mode translation dispatch. The rest of the device:
// mmio.ts (register writes), config.ts (configuration lookup and decode memo), fault.ts (record,
// stall or terminate), ats.ts (ATS and Translated transactions), cmdq.ts / evtq.ts (queues).
import type { PhysMem } from '../mem/phys-mem.ts';
import type { ConfigCache as ConfigCacheT } from './config-cache.ts';
import type { Features as FeaturesT } from './features.ts';
import type { Tlb as TlbT } from './tlb.ts';
import type { TxResult as TxResultT } from './result.ts';
import * as Mconfig_cache from './config-cache.ts';
const {
  ConfigCache,
  K,
  KIND_ABORT,
  KIND_BYPASS,
  KIND_NESTED,
  KIND_S1,
  KIND_S2,
  KIND_TERMINATE,
  S1F_E2H,
  S1F_EL2,
  S1F_TBI0,
  S1F_TBI1,
} = Mconfig_cache;
import * as Mats from './ats.ts';
const { atsAllowed, translateAts, translateTranslated } = Mats;
import * as Mconfig from './config.ts';
const { loadConfig } = Mconfig;
import * as Mevents from './events.ts';
const { EVT, EVT_CLASS } = Mevents;
const CLASS_IN = EVT_CLASS.IN;
import * as Mevtq from './evtq.ts';
const { pushEventRecord } = Mevtq;
import * as Mfault from './fault.ts';
const { fault, stallOutcome } = Mfault;
import type { SmmuOptions } from './features.ts';
import * as Mfeatures from './features.ts';
const { Features, idrFromOptions } = Mfeatures;
import * as Mmmio from './mmio.ts';
const { loadRegister, mmioRead32, mmioRead64, mmioWrite32, mmioWrite64, registerValues } = Mmmio;
import * as Mregs from './regs.ts';
const { PA_BITS, regBits, regOffset, regValue } = Mregs;
import * as Mresult from './result.ts';
const { ST_ABORT, ST_OK, TxResult } = Mresult;
import * as Mste from './ste.ts';
const { streamTableGeometry } = Mste;
import * as Mtlb from './tlb.ts';
const { TLB_EL2, TLB_S1, TLB_S2, Tlb } = Mtlb;
import * as Mwalk from './walk.ts';
const { ACC_U, ACC_W, ACC_X, P_R, P_W, REQUIRED, U_R, U_W, walkS1, walkS2 } = Mwalk;

// Slot field offsets, re-bound locally (imported object properties are slow on the hot path).
const {
  ASID: K_ASID,
  INSTCFG: K_INSTCFG,
  KIND: K_KIND,
  PRIVCFG: K_PRIVCFG,
  S1F: K_S1F,
  STRIDE: K_STRIDE,
  VMID: K_VMID,
  TLBTAG: K_TLBTAG,
  TLBKIND: K_TLBKIND,
} = K;

export { ACC_U, ACC_W, ACC_X } from './walk.ts';
export { ST_ABORT, ST_OK, ST_RAZWI, ST_STALL, TxResult } from './result.ts';

export interface ModelOptions extends SmmuOptions {
  /** Architected caching (config cache + TLB); default false = walk on every access. */
  caching?: boolean;
  tlbEntries?: number;
  configCacheEntries?: number;
  /** ID register values; when given, they replace the feature options (image loading). */
  idr?: readonly number[];
}

const TWO32 = 4294967296;
const ALL_PERM = 0x3f;
const R_CR0 = regOffset('CR0') >> 2;
const R_GBPA = regOffset('GBPA') >> 2;
const CR0_SMMUEN = regBits('CR0', 'SMMUEN');
const GBPA_ABORT = regBits('GBPA', 'ABORT');
const R_CMDQ_PROD = regOffset('CMDQ_PROD') >> 2;
const R_CMDQ_CONS = regOffset('CMDQ_CONS') >> 2;
const CMDQ_PROD_WR = regBits('CMDQ_PROD', 'WR');

export class SMMUv3 {
  readonly feat: FeaturesT;
  /** Register file: 128 KiB (pages 0 and 1) as 32-bit words, indexed by offset / 4. */
  readonly r = new Uint32Array(0x20000 / 4);
  readonly cc: ConfigCacheT;
  readonly tlb: TlbT;
  caching: boolean;
  /** 2^SSIDSIZE, and 2^(OAS-32): limits checked per transaction. */
  readonly ssidLimit: number;
  readonly oasHiLimit: number;
  readonly res: TxResultT = new TxResult();

  // Scratch words for structure reads (no allocation per access).
  readonly ste = new Int32Array(16);
  readonly cd = new Int32Array(6);
  /** fetchSte / fetchCd outputs: the words read (in RAM itself, or in ste / cd) and where they start. */
  steW: Int32Array = this.ste;
  steAt = 0;
  cdW: Int32Array = this.cd;
  cdAt = 0;
  /** loadConfig outputs: the decoded slot, and a KIND replacing the slot's (S1DSS; -1 none). */
  cfgSlot = -1;
  kindOverride = -1;
  genCounter = 0;
  /** Stream table geometry (ste.ts streamTableGeometry), redone after STRTAB_* writes. */
  stGeomValid = false;
  stBase = 0;
  /** stBase as 32-bit halves (low half as uint32), for integer address arithmetic. */
  stBaseHi = 0;
  stBaseLo = 0;
  stLimit = 0;
  stSplit = -1;
  // TLB key of the current transaction (tlbKey).
  tTag = 0;
  tHi = 0;
  tKind = 0;
  /** The record of the last event generated (written to the queue or not): 8 words. */
  readonly evt = new Uint32Array(8);

  /** Set while serving an ATS Translation Request (see translateAts). */
  atsMode = false;
  /** ATS with STE.EATS = 0b10 (split stage): return the stage-1 output (an IPA). Read by walk.ts. */
  atsSplit = false;

  // Walk outputs.
  wPa = 0;
  wPerm = 0;
  wShift = 12;
  wGlobal = 0;
  s2PaHi = 0;
  s2PaLo = 0;
  s2Pa = 0;
  s2Perm = 0;
  s2Shift = 12;
  // Fault details for the event record.
  fltS2 = 0;
  fltClass = 0;
  fltAddr = 0;
  /** The faulting translation-table access (CLASS TT) was a write: a descriptor update (TTRnW = 0). */
  fltTtWrite = 0;

  /** Interrupts raised (wired lines; MSIs are memory writes). Not architectural state. */
  readonly irqs = { gerror: 0, evtq: 0, priq: 0, cmdSync: 0 };
  /** CMD_SYNC with CS=SEV: count of event-register signals. */
  sevs = 0;
  /**
   * Events discarded because the event queue was disabled or had an unacknowledged EVENTQ_ABT_ERR
   * (architected: not recorded, no overflow; §7.2.1).
   */
  eventsDiscarded = 0;
  /** Stalled transactions: sid, stag, state (0 pending, 1 retry, 2 terminated with an abort, 3 terminated as RAZ/WI). */
  readonly stalls: { sid: number; stag: number; state: number }[] = [];
  /** Records of stalled transactions waiting for the event queue to be writable (evtq.ts recordStall). */
  readonly pendingStalls: { sid: number; stag: number; words: Uint32Array }[] = [];
  nextStag = 0;
  /**
   * PRI responses delivered to devices: by CMD_PRI_RESP, or automatic (`auto`: a Page Request the
   * PRI queue could not take, §8.1, §8.2). `resp` in the CMD_PRI_RESP.Resp encoding.
   */
  readonly priResponses: { sid: number; ssid: number; prgIndex: number; resp: number; auto?: boolean }[] = [];
  /** Device ATCs, invalidated by CMD_ATC_INV (see atc.ts). */
  atcInvalidate: ((sid: number, ssid: number, global: boolean, addr: bigint, size: number) => void) | null =
    null;
  /** Test hook: StreamIDs whose ATC invalidation never completes (CERROR_ATC_INV_SYNC on the next SYNC). */
  readonly atcTimeout = new Set<number>();
  atcTimedOut = false;

  constructor(
    readonly mem: PhysMem,
    opts: ModelOptions = {},
  ) {
    const idr = opts.idr ?? idrFromOptions(opts);
    this.feat = new Features(idr);
    for (let i = 0; i < 6; i++) this.r[i] = idr[i] ?? 0;
    this.r[regOffset('AIDR') >> 2] = regValue('AIDR', { ArchMajorRev: 0, ArchMinorRev: 2 }); // SMMUv3.2
    this.caching = opts.caching ?? false;
    this.ssidLimit = 2 ** this.feat.ssidBits;
    this.oasHiLimit = 2 ** (this.feat.oasBits - 32);
    this.cc = new ConfigCache(opts.configCacheEntries ?? 1024);
    this.tlb = new Tlb(opts.tlbEntries ?? 4096);
  }

  decodeStreamTableRegs(): void {
    [this.stBase, this.stLimit, this.stSplit] = streamTableGeometry(this);
    this.stBaseHi = Math.floor(this.stBase / TWO32);
    this.stBaseLo = this.stBase % TWO32;
    this.stGeomValid = true;
  }

  /** Address size in bits for an IPS / S2PS / OAS encoding, capped at the SMMU's OAS. */
  paBits(enc: number): number {
    const b = enc < PA_BITS.length ? PA_BITS[enc]! : this.feat.oasBits; // reserved: behaves as OAS
    return b > this.feat.oasBits ? this.feat.oasBits : b;
  }

  // ---------------------------------------------------------------- MMIO (mmio.ts)

  read32(off: number): number {
    return mmioRead32(this, off);
  }

  read64(off: number): bigint {
    return mmioRead64(this, off);
  }

  write32(off: number, v: number): void {
    mmioWrite32(this, off, v);
  }

  write64(off: number, v: bigint): void {
    mmioWrite64(this, off, v);
  }

  /**
   * Sets a register as if software had programmed it, without side effects (image loading).
   * ID registers set the features too (call before anything else).
   */
  loadRegister(name: string, value: bigint): void {
    loadRegister(this, name, value);
  }

  /** All registers by name (for image saving), 64-bit ones whole. */
  registerValues(): Record<string, bigint> {
    return registerValues(this);
  }

  // ---------------------------------------------------------------- translation

  /** The configuration of (sid, ssid): see config.ts. */
  loadConfig(sid: number, ssid: number): number {
    return loadConfig(this, sid, ssid);
  }

  /**
   * Translates one transaction. Returns the status; details in `res`.
   *
   * Argument domain: `sid` a uint32 StreamID (other Numbers are taken modulo 2^32); `ssid` -1 for a
   * transaction without a SubstreamID, else a non-negative integer (any size: beyond SSIDSIZE or
   * the stream's S1CDMax it is C_BAD_SUBSTREAMID, and an event record keeps its low 20 bits);
   * `iovaHi` / `iovaLo` the 64-bit input address as uint32 halves; `acc` ACC_W | ACC_X | ACC_U flags
   * (0: privileged data read). Within this domain the result is always an architected outcome.
   */
  translate(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    // Small enough to be inlined into callers' loops; each mode has its own function (and its own
    // type feedback for the JIT).
    const res = this.res;
    res.event = 0;
    res.recorded = false;
    sid >>>= 0;
    if ((this.r[R_CR0]! & CR0_SMMUEN) === 0) return this.translateOff(sid, ssid, iovaHi, iovaLo, acc);
    // A SubstreamID wider than SSIDSIZE is C_BAD_SUBSTREAMID, but only once the STE has been read:
    // C_BAD_STREAMID, F_STE_FETCH and C_BAD_STE come first, and an abort STE aborts silently
    // (§7.3.22, §7.3.7). Such a transaction takes the walk path (nothing of it is cached).
    if (ssid >= this.ssidLimit) return this.translateWalk(sid, ssid, iovaHi, iovaLo, acc);
    return this.caching
      ? this.translateCached(sid, ssid, iovaHi, iovaLo, acc)
      : this.translateWalk(sid, ssid, iovaHi, iovaLo, acc);
  }

  /** SMMU disabled (SMMU_CR0.SMMUEN = 0): GBPA decides (abort without an event, or bypass). */
  private translateOff(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    // Translation is disabled, so no translation-related event is recorded: an input address
    // beyond the OAS is terminated with an abort, without F_ADDR_SIZE (§3.4, §7.2.1).
    if ((this.r[R_GBPA]! & GBPA_ABORT) !== 0 || iovaHi >>> 0 >= this.oasHiLimit)
      return (this.res.status = ST_ABORT);
    return this.bypass(sid, ssid, iovaHi, iovaLo, acc);
  }

  /** Walk on every access: the configuration from memory, then the page walk. */
  private translateWalk(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    const st = this.loadConfig(sid, ssid);
    const slot = this.cfgSlot;
    if (st !== 0) return fault(this, st, sid, ssid, iovaHi, iovaLo, acc, slot);
    const kind = this.kindOverride >= 0 ? this.kindOverride : this.cc.ci[slot * K_STRIDE + K_KIND]!;
    acc = this.attributes(slot, acc);
    if (this.atsMode && !atsAllowed(this, slot, kind))
      return fault(this, EVT.F_BAD_ATS_TREQ, sid, ssid, iovaHi, iovaLo, acc, -1);
    if (kind === KIND_S1) return this.stage1(slot, sid, ssid, iovaHi, iovaLo, acc, false);
    return this.translateKind(slot, kind, sid, ssid, iovaHi, iovaLo, acc);
  }

  /** Architected caching: configuration cache (filled from memory on a miss), then TLB, then walk. */
  private translateCached(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    const cc = this.cc;
    const ci = cc.ci;
    let slot = cc.lookup(sid, ssid + 1);
    if (slot < 0) {
      const st = this.loadConfig(sid, ssid);
      if (st !== 0) return fault(this, st, sid, ssid, iovaHi, iovaLo, acc, this.cfgSlot);
      slot = cc.victim(sid, ssid + 1);
      cc.copy(this.cfgSlot, slot);
      if (this.kindOverride >= 0) ci[slot * K_STRIDE + K_KIND] = this.kindOverride;
      this.setTlbTag(slot, ci[slot * K_STRIDE + K_KIND]!);
      cc.commit(slot, sid, ssid + 1);
    }
    const kind = ci[slot * K_STRIDE + K_KIND]!;
    acc = this.attributes(slot, acc);
    if (this.atsMode) {
      if (!atsAllowed(this, slot, kind))
        return fault(this, EVT.F_BAD_ATS_TREQ, sid, ssid, iovaHi, iovaLo, acc, -1);
    } else if (kind >= KIND_S1 && kind <= KIND_NESTED) {
      // TLB hit: the whole translation in one probe.
      this.tlbKey(slot * K_STRIDE, iovaHi);
      const tlb = this.tlb;
      if (tlb.lookup(this.tTag, this.tHi, iovaLo, this.tKind)) {
        const need = REQUIRED[acc & 7]!;
        if ((tlb.perm & need) === need) {
          const res = this.res;
          res.pa = tlb.pa + (iovaLo & 0xfff);
          res.perm = tlb.perm;
          return (res.status = ST_OK);
        }
        // Permission not in the cached entry: walk (dirty-state update, or the fault).
      }
    }
    return this.translateKind(slot, kind, sid, ssid, iovaHi, iovaLo, acc);
  }

  /** The transaction's attributes (ACC_* flags) after STE.PRIVCFG and INSTCFG. */
  private attributes(slot: number, acc: number): number {
    const ci = this.cc.ci;
    const o = slot * K_STRIDE;
    const privcfg = ci[o + K_PRIVCFG]!;
    if (privcfg === 2) acc |= ACC_U;
    else if (privcfg === 3) acc &= ~ACC_U;
    const instcfg = ci[o + K_INSTCFG]!;
    if ((acc & ACC_W) === 0) {
      if (instcfg === 2) acc &= ~ACC_X;
      else if (instcfg === 3) acc |= ACC_X;
    }
    return acc;
  }

  /** The translation for a configuration of any kind (slot), once the TLB has not answered. */
  private translateKind(
    slot: number,
    kind: number,
    sid: number,
    ssid: number,
    iovaHi: number,
    iovaLo: number,
    acc: number,
  ): number {
    if (kind === KIND_S1 || kind === KIND_NESTED)
      return this.stage1(slot, sid, ssid, iovaHi, iovaLo, acc, kind === KIND_NESTED);
    if (kind === KIND_S2) return this.stage2Only(slot, sid, ssid, iovaHi, iovaLo, acc);
    if (kind === KIND_BYPASS) return this.bypass(sid, ssid, iovaHi, iovaLo, acc);
    if (kind === KIND_TERMINATE)
      return fault(this, EVT.F_STREAM_DISABLED, sid, ssid, iovaHi, iovaLo, acc, slot);
    this.res.status = ST_ABORT; // STE.Config abort: terminate without an event
    return ST_ABORT;
  }

  private bypass(sid: number, ssid: number, hi: number, lo: number, acc: number): number {
    const res = this.res;
    if (hi >= this.oasHiLimit) {
      this.fltS2 = 0;
      this.fltClass = CLASS_IN;
      this.fltAddr = 0;
      return fault(this, EVT.F_ADDR_SIZE, sid, ssid, hi, lo, acc, -1);
    }
    res.pa = (hi >>> 0) * TWO32 + (lo >>> 0);
    res.perm = ALL_PERM;
    return (res.status = ST_OK);
  }

  /**
   * The TLB tag and regime of a configuration-cache slot (IHI0070 §3.17), computed once when the
   * slot is filled: VMID alone for stage 2 only, ASID alone for the EL2 regime, else VMID and ASID.
   */
  private setTlbTag(slot: number, kind: number): void {
    const ci = this.cc.ci;
    const o = slot * K_STRIDE;
    if (kind === KIND_S2) {
      ci[o + K_TLBTAG] = ci[o + K_VMID]! << 16;
      ci[o + K_TLBKIND] = TLB_S2;
      return;
    }
    const el2 = (ci[o + K_S1F]! & (S1F_EL2 | S1F_E2H)) !== 0;
    ci[o + K_TLBTAG] = (ci[o + K_VMID]! << 16) | ci[o + K_ASID]!;
    ci[o + K_TLBKIND] = el2 ? TLB_EL2 : TLB_S1;
  }

  /** TLB key of a transaction for a cached slot: tag, IOVA[63:32] as stored (top byte cleared under TBI), regime. */
  private tlbKey(o: number, hi: number): void {
    const ci = this.cc.ci;
    const f1 = ci[o + K_S1F]!; // 0 for stage 2 only: no TBI
    this.tHi = (f1 & ((hi >>> 23) & 1 ? S1F_TBI1 : S1F_TBI0)) !== 0 ? hi & 0xffffff : hi | 0;
    this.tTag = ci[o + K_TLBTAG]!;
    this.tKind = ci[o + K_TLBKIND]!;
  }

  private stage1(
    slot: number,
    sid: number,
    ssid: number,
    hi: number,
    lo: number,
    acc: number,
    nested: boolean,
  ): number {
    const res = this.res;
    const st = walkS1(this, slot, hi, lo, acc, nested);
    if (st !== 0) return fault(this, st, sid, ssid, hi, lo, acc, slot);
    if (this.caching && !this.atsMode) {
      this.tlbKey(slot * K_STRIDE, hi);
      this.tlb.insert(this.tTag, this.tHi, lo, this.tKind, this.wPa, this.wPerm, this.wGlobal, this.wShift);
    }
    res.pa = this.wPa;
    res.perm = this.wPerm;
    return (res.status = ST_OK);
  }

  stage2Only(slot: number, sid: number, ssid: number, hi: number, lo: number, acc: number): number {
    const res = this.res;
    // The input address must fit the SMMU's IAS (= OAS here): otherwise a stage-1 address size fault.
    if (hi >= this.oasHiLimit) {
      this.fltS2 = 0;
      this.fltClass = CLASS_IN;
      this.fltAddr = 0;
      return fault(this, EVT.F_ADDR_SIZE, sid, ssid, hi, lo, acc, slot);
    }
    const st = walkS2(this, slot, hi, lo, acc, CLASS_IN);
    if (st !== 0) return fault(this, st, sid, ssid, hi, lo, acc, slot);
    if (this.caching && !this.atsMode) {
      this.tlbKey(slot * K_STRIDE, hi);
      this.tlb.insert(this.tTag, this.tHi, lo, this.tKind, this.s2Pa, this.s2Perm, 0, this.s2Shift);
    }
    res.pa = this.s2Pa;
    res.perm = this.s2Perm;
    return (res.status = ST_OK);
  }

  /** ATS Translation Request (ats.ts). */
  translateAts(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    return translateAts(this, sid, ssid, iovaHi, iovaLo, acc);
  }

  /** A transaction marked as already translated (ats.ts). */
  translateTranslated(sid: number, ssid: number, addrHi: number, addrLo: number, acc: number): number {
    return translateTranslated(this, sid, ssid, addrHi, addrLo, acc);
  }

  /** Writes this.evt to the event queue (evtq.ts). */
  pushEvent(): boolean {
    return pushEventRecord(this);
  }

  /**
   * Outcome of a stalled transaction: 'pending', 'retry' (re-issue it), 'abort' (terminated with an
   * abort) or 'razwi' (terminated, completing with RAZ/WI semantics: CMD_RESUME with Ac = 0, AB = 0).
   */
  stallOutcome(sid: number, stag: number): 'pending' | 'retry' | 'abort' | 'razwi' | 'unknown' {
    return stallOutcome(this, sid, stag);
  }

  /**
   * Batch form: `req` holds rows of 5 words (sid, ssid + 1 (0 = none), iovaHi, iovaLo, acc), `out`
   * receives rows of 4 numbers (status, pa, perm, event). Returns the number of rows done.
   */
  translateBatch(req: Uint32Array, out: Float64Array): number {
    const n = Math.min((req.length / 5) | 0, (out.length / 4) | 0);
    const res = this.res;
    for (let i = 0; i < n; i++) {
      const j = i * 5;
      const st = this.translate(req[j]!, (req[j + 1]! | 0) - 1, req[j + 2]!, req[j + 3]!, req[j + 4]!);
      const k = i * 4;
      out[k] = st;
      out[k + 1] = res.pa;
      out[k + 2] = res.perm;
      out[k + 3] = res.event;
    }
    return n;
  }

  /** Data permissions of a translation for a (un)privileged access, as "r", "w", "rw" or "". */
  static permString(perm: number, unpriv: boolean): string {
    const rd = unpriv ? U_R : P_R;
    const wr = unpriv ? U_W : P_W;
    return (perm & rd ? 'r' : '') + (perm & wr ? 'w' : '');
  }

  /** Emulated time passing for stalls etc. is not modelled: commands complete when consumed. */
  get cmdqIdle(): boolean {
    return (this.r[R_CMDQ_PROD]! & CMDQ_PROD_WR) === (this.r[R_CMDQ_CONS]! & CMDQ_PROD_WR);
  }
}
