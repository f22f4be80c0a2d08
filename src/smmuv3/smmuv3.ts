// The SMMUv3 hardware model. It sees only emulated physical memory and its own MMIO registers:
// stream table, CDs, page tables and queues are read from memory on every transaction (walk mode)
// or through architected caches that only CFGI_* / TLBI_* commands invalidate (caching mode).
//
// DMA API: translate(sid, ssid, iovaHi, iovaLo, acc) -> status, result in `res` (reused). Batch form
// over typed arrays: translateBatch. No allocation, no BigInt on those paths.
import type { PhysMem } from '../mem/phys-mem.ts';
import type { ConfigCache as ConfigCacheT } from './config-cache.ts';
import type { Features as FeaturesT } from './features.ts';
import type { Tlb as TlbT } from './tlb.ts';
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
  S1F_A,
  S1F_E2H,
  S1F_EL2,
  S1F_R,
  S1F_S,
  S1F_TBI0,
  S1F_TBI1,
  S2F_R,
  S2F_S,
} = Mconfig_cache;
import * as Mcd from './cd.ts';
const { decodeCd, fetchCd } = Mcd;
import * as Mcmdq from './cmdq.ts';
const { processCmdq } = Mcmdq;
import * as Mevents from './events.ts';
const { EVT } = Mevents;
import * as Mevtq from './evtq.ts';
const { pushEventRecord, writeEvent } = Mevtq;
import type { SmmuOptions } from './features.ts';
import * as Mfeatures from './features.ts';
const { Features, idrFromOptions } = Mfeatures;
import * as Mregs from './regs.ts';
const { PA_BITS, REGS, REG_BY_NAME } = Mregs;
import * as Mste from './ste.ts';
const { decodeSte, fetchSte, streamTableGeometry } = Mste;
import * as Mtlb from './tlb.ts';
const { TLB_EL2, TLB_S1, TLB_S2, Tlb } = Mtlb;
import * as Mwalk from './walk.ts';
const { ACC_U, ACC_W, ACC_X, CLASS_IN, P_R, P_W, REQUIRED, U_R, U_W, walkS1, walkS2 } = Mwalk;

// Slot field offsets, re-bound locally (imported object properties are slow on the hot path).
const {
  ASID: K_ASID,
  EATS: K_EATS,
  INSTCFG: K_INSTCFG,
  KIND: K_KIND,
  PRIVCFG: K_PRIVCFG,
  S1F: K_S1F,
  S2F: K_S2F,
  STRIDE: K_STRIDE,
  VMID: K_VMID,
  TLBTAG: K_TLBTAG,
  TLBKIND: K_TLBKIND,
} = K;

export { ACC_U, ACC_W, ACC_X } from './walk.ts';

/** Transaction outcome (TxResult.status). */
export const ST_OK = 0;
/** Terminated with an abort (with or without an event: see `event` / `recorded`). */
export const ST_ABORT = 1;
/** Stalled: waiting for CMD_RESUME / CMD_STALL_TERM (`stag` names it). */
export const ST_STALL = 2;
/** Terminated as RAZ/WI (CD.A = 0 with IDR0.TERM_MODEL = 0). */
export const ST_RAZWI = 3;

export class TxResult {
  status = 0;
  /** Output physical address (Number, < 2^52). */
  pa = 0;
  /** Permission mask of the translation (P_* / U_* bits from walk.ts), all-ones for bypass. */
  perm = 0;
  /** EventID of the fault (0 = none), whether it was written to the event queue. */
  event = 0;
  recorded = false;
  stag = 0;
}

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

// Register offsets used on hot or frequent paths (the table in regs.ts is the source; checked at load).
const R_CR0 = 0x20 >> 2,
  R_GBPA = 0x44 >> 2;
for (const [n, off] of [
  ['CR0', 0x20],
  ['GBPA', 0x44],
  ['STRTAB_BASE', 0x80],
  ['STRTAB_BASE_CFG', 0x88],
  ['CMDQ_BASE', 0x90],
] as const) {
  if (REG_BY_NAME.get(n)?.offset !== off) throw new Error(`register table: ${n} moved`);
}

/** w[a..a+7] equal m[b..b+7] (an STE as read against a memo entry). */
function same8(w: Int32Array, a: number, m: Int32Array, b: number): boolean {
  return (
    w[a] === m[b] &&
    w[a + 1] === m[b + 1] &&
    w[a + 2] === m[b + 2] &&
    w[a + 3] === m[b + 3] &&
    w[a + 4] === m[b + 4] &&
    w[a + 5] === m[b + 5] &&
    w[a + 6] === m[b + 6] &&
    w[a + 7] === m[b + 7]
  );
}

/** w[a..a+5] equal m[b..b+5] (a CD's qwords 0-2 against a memo entry). */
function same6(w: Int32Array, a: number, m: Int32Array, b: number): boolean {
  return (
    w[a] === m[b] &&
    w[a + 1] === m[b + 1] &&
    w[a + 2] === m[b + 2] &&
    w[a + 3] === m[b + 3] &&
    w[a + 4] === m[b + 4] &&
    w[a + 5] === m[b + 5]
  );
}

export class SMMUv3 {
  readonly feat: FeaturesT;
  /** Register file: 128 KiB (pages 0 and 1) as 32-bit words, indexed by offset / 4. */
  readonly r = new Uint32Array(0x20000 / 4);
  readonly cc: ConfigCacheT;
  readonly tlb: TlbT;
  caching: boolean;
  /** 2^SSIDSIZE, and 2^(OAS-32): limits checked per transaction. */
  private readonly ssidLimit: number;
  private readonly oasHiLimit: number;
  readonly res = new TxResult();

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
  private genCounter = 0;
  /** Stream table geometry (ste.ts streamTableGeometry), redone after STRTAB_* writes. */
  stGeomValid = false;
  stBase = 0;
  /** stBase as 32-bit halves (low half as uint32), for integer address arithmetic. */
  stBaseHi = 0;
  stBaseLo = 0;
  stLimit = 0;
  stSplit = -1;
  // TLB key of the current transaction (tlbKey).
  private tTag = 0;
  private tHi = 0;
  private tKind = 0;
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
  /** Events discarded because the event queue was disabled (architected: not recorded). */
  eventsDiscarded = 0;
  /** Stalled transactions: sid, stag, state (0 pending, 1 retry, 2 abort/terminated). */
  readonly stalls: { sid: number; stag: number; state: number }[] = [];
  private nextStag = 0;
  /** PRI responses delivered to devices by CMD_PRI_RESP. */
  readonly priResponses: { sid: number; ssid: number; prgIndex: number; resp: number }[] = [];
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
    this.r[0x1c >> 2] = 0x2; // AIDR: SMMUv3.2
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

  // ---------------------------------------------------------------- MMIO

  read32(off: number): number {
    if (off < 0 || off >= 0x20000 || off % 4 !== 0) return 0;
    // Page-0 copies of the page-1 queue pointers (as implementations with PAGE0_REGS_ONLY provide).
    if (off === 0xa8 || off === 0xac || off === 0xc8 || off === 0xcc) off += 0x10000;
    return this.r[off >> 2]!;
  }

  read64(off: number): bigint {
    return (BigInt(this.read32(off + 4)) << 32n) | BigInt(this.read32(off));
  }

  write64(off: number, v: bigint): void {
    this.write32(off, Number(v & 0xffff_ffffn));
    this.write32(off + 4, Number((v >> 32n) & 0xffff_ffffn));
  }

  write32(off: number, v: number): void {
    if (off < 0 || off >= 0x20000 || off % 4 !== 0) return;
    if (off === 0xa8 || off === 0xac || off === 0xc8 || off === 0xcc) off += 0x10000;
    v >>>= 0;
    const r = this.r;
    const i = off >> 2;
    const cr0 = r[R_CR0]!;
    switch (off) {
      case 0x20: // CR0: the model completes updates at once, so CR0ACK follows immediately
        r[i] = v & 0x1df;
        r[0x24 >> 2] = r[i]!;
        processCmdq(this);
        return;
      case 0x28: // CR1, CR2: writable only while SMMUEN = 0
      case 0x2c:
        if ((cr0 & 1) === 0) r[i] = v;
        this.cc.forgetDecoded(); // CR2.E2H changes what an STE / CD means
        return;
      case 0x44: // GBPA: takes effect only with Update = 1; completes at once (Update reads 0)
        if (v & 0x8000_0000) r[i] = v & 0x001f_3f1f;
        return;
      case 0x50: // IRQ_CTRL -> IRQ_CTRLACK
        r[i] = v & 7;
        r[0x54 >> 2] = v & 7;
        return;
      case 0x64: // GERRORN: acknowledging CMDQ_ERR restarts command processing
        r[i] = v & 0x3fd;
        processCmdq(this);
        return;
      case 0x80:
      case 0x84:
      case 0x88: // STRTAB_BASE(_CFG): RO while SMMUEN = 1
        if ((cr0 & 1) === 0) r[i] = v;
        this.stGeomValid = false;
        return;
      case 0x90:
      case 0x94: // CMDQ_BASE: RO while CMDQEN = 1
        if ((cr0 & 8) === 0) r[i] = v;
        return;
      case 0x98: // CMDQ_PROD
        r[i] = v & 0xfffff;
        processCmdq(this);
        return;
      case 0x9c: // CMDQ_CONS: software may set it only while the queue is disabled
        if ((cr0 & 8) === 0) r[i] = v & 0x7f0f_ffff;
        return;
      case 0xa0:
      case 0xa4: // EVTQ_BASE
        if ((cr0 & 4) === 0) r[i] = v;
        return;
      case 0x100a8: // EVTQ_PROD: owned by the SMMU while enabled
        if ((cr0 & 4) === 0) r[i] = v & 0x800f_ffff;
        return;
      case 0x100ac: // EVTQ_CONS
        r[i] = v & 0x800f_ffff;
        return;
      case 0xc0:
      case 0xc4: // PRIQ_BASE
        if ((cr0 & 2) === 0) r[i] = v;
        return;
      case 0x100c8:
        if ((cr0 & 2) === 0) r[i] = v & 0x800f_ffff;
        return;
      case 0x100cc:
        r[i] = v & 0x800f_ffff;
        return;
      case 0x68:
      case 0x6c:
      case 0x70:
      case 0x74: // *_IRQ_CFGn
      case 0xb0:
      case 0xb4:
      case 0xb8:
      case 0xbc:
      case 0xd0:
      case 0xd4:
      case 0xd8:
      case 0xdc:
        r[i] = v;
        return;
      default:
        return; // ID registers, ACK registers, GERROR, STATUSR and reserved offsets: RO / WI
    }
  }

  /**
   * Sets a register as if software had programmed it, without side effects (image loading).
   * ID registers set the features too (call before anything else).
   */
  loadRegister(name: string, value: bigint): void {
    const d = REG_BY_NAME.get(name);
    if (!d) throw new RangeError(`unknown SMMUv3 register '${name}'`);
    if (value < 0n || value >= 1n << BigInt(d.size * 8))
      throw new RangeError(
        `register ${name}: value 0x${value.toString(16)} is wider than ${d.size * 8} bits`,
      );
    this.stGeomValid = false;
    this.r[d.offset >> 2] = Number(value & 0xffff_ffffn);
    if (d.size === 8) this.r[(d.offset >> 2) + 1] = Number(value >> 32n);
  }

  /** All registers by name (for image saving), 64-bit ones whole. */
  registerValues(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (const d of REGS) {
      const lo = BigInt(this.r[d.offset >> 2]!);
      out[d.name] = d.size === 8 ? (BigInt(this.r[(d.offset >> 2) + 1]!) << 32n) | lo : lo;
    }
    return out;
  }

  // ---------------------------------------------------------------- translation

  /**
   * Reads the configuration for (sid, ssid) from memory (STE, then L1CD and CD) and finds it decoded
   * in this.cfgSlot. Returns 0 or an event id (the fault fields say more; this.cfgSlot is then the
   * slot whose STE flags apply, or -1). this.kindOverride >= 0 replaces the slot's KIND (S1DSS).
   *
   * Decoding is a pure function of the bytes read (and of the ID registers and CR2): the decoded
   * forms of recently seen STEs and CDs are kept in memo slots next to the bytes they came from,
   * and reused when the bytes read now are identical. Memory is still read on every transaction.
   */
  loadConfig(sid: number, ssid: number): number {
    this.kindOverride = -1;
    this.cfgSlot = -1;
    let st = fetchSte(this, sid);
    if (st !== 0) return st;
    const cc = this.cc;
    const sw = cc.steWords;
    // Memo entries are chosen by Fibonacci hashing of the StreamID (and SubstreamID for CDs): any
    // index would be correct, since a hit needs equal words; integers are cheaper to hash than addresses.
    const e = Math.imul(sid, 0x9e3779b1) >>> cc.steMemoShift;
    const sSlot = cc.steMemoBase + e;
    const w8 = e * 8;
    let gen = cc.steGen[e]!;
    let w = this.steW;
    let a = this.steAt;
    if (gen === 0 || !same8(w, a, sw, w8)) {
      cc.steGen[e] = 0;
      const ste = this.ste;
      for (let i = 0; i < 8; i++) ste[i] = w[a + i]!;
      st = decodeSte(this, sSlot);
      if (st !== 0) return st;
      for (let i = 0; i < 8; i++) sw[w8 + i] = ste[i]!;
      gen = cc.steGen[e] = ++this.genCounter;
    }
    this.cfgSlot = sSlot;
    const kind = cc.ci[sSlot * K_STRIDE + K_KIND]!;
    if (kind === KIND_S1 || kind === KIND_NESTED) {
      st = fetchCd(this, sSlot, ssid);
      if (st !== 0 || this.kindOverride >= 0) return st;
      // Two ways per set: 128 CDs hashed into one way each would collide about one time in six.
      const cw = cc.cdWords;
      const csg = cc.cdSteGen;
      let c = (Math.imul(ssid ^ (sid << 12), 0x9e3779b1) >>> cc.cdMemoShift) << 1;
      let w6 = c * 6;
      w = this.cdW;
      a = this.cdAt;
      if (csg[c] !== gen || !same6(w, a, cw, w6)) {
        c++;
        w6 += 6;
        if (csg[c] !== gen || !same6(w, a, cw, w6)) {
          // Miss in both ways: fill way 0 if it is empty (hits in way 0 cost one compare, and a
          // predictable branch), else refill the way filled longer ago (cdFill: bit set = way 1 was last).
          const set = c >>> 1;
          const f = cc.cdFill;
          const bit = 1 << (set & 31);
          if (csg[c - 1] === 0 || (f[set >>> 5]! & bit) !== 0) {
            c--;
            w6 -= 6;
            f[set >>> 5] = f[set >>> 5]! & ~bit;
          } else {
            f[set >>> 5] = f[set >>> 5]! | bit;
          }
          csg[c] = 0;
          const cd = this.cd;
          for (let i = 0; i < 6; i++) cd[i] = w[a + i]!;
          const slot = cc.cdMemoBase + c;
          cc.copy(sSlot, slot);
          st = decodeCd(this, slot);
          if (st !== 0) return st;
          for (let i = 0; i < 6; i++) cw[w6 + i] = cd[i]!;
          csg[c] = gen;
        }
      }
      const cSlot = cc.cdMemoBase + c;
      this.cfgSlot = cSlot;
    } else if (ssid >= 0 && kind !== KIND_ABORT) {
      // A SubstreamID on a stream whose STE does not use stage 1 CDs.
      return EVT.C_BAD_SUBSTREAMID;
    }
    return 0;
  }

  /**
   * Translates one transaction. `ssid` = -1 for none; `acc` = ACC_W | ACC_X | ACC_U flags (default:
   * privileged data read). Returns the status; details in `res`.
   */
  translate(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    // Small enough to be inlined into callers' loops; each mode has its own function (and its own
    // type feedback for the JIT).
    const res = this.res;
    res.event = 0;
    res.recorded = false;
    sid >>>= 0;
    if ((this.r[R_CR0]! & 1) === 0 || ssid >= this.ssidLimit)
      return this.translateOff(sid, ssid, iovaHi, iovaLo, acc);
    return this.caching
      ? this.translateCached(sid, ssid, iovaHi, iovaLo, acc)
      : this.translateWalk(sid, ssid, iovaHi, iovaLo, acc);
  }

  /** SMMU disabled (SMMU_CR0.SMMUEN = 0: GBPA decides), or a SubstreamID wider than SSIDSIZE. */
  private translateOff(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    if ((this.r[R_CR0]! & 1) === 0) {
      // SMMU disabled: GBPA decides (abort without an event, or bypass).
      if ((this.r[R_GBPA]! & 0x10_0000) !== 0) return (this.res.status = ST_ABORT);
      return this.bypass(sid, ssid, iovaHi, iovaLo, acc);
    }
    return this.fault(EVT.C_BAD_SUBSTREAMID, sid, ssid, iovaHi, iovaLo, acc, 0);
  }

  /** Walk on every access: the configuration from memory, then the page walk. */
  private translateWalk(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    const st = this.loadConfig(sid, ssid);
    const slot = this.cfgSlot;
    if (st !== 0) return this.fault(st, sid, ssid, iovaHi, iovaLo, acc, slot);
    const kind = this.kindOverride >= 0 ? this.kindOverride : this.cc.ci[slot * K_STRIDE + K_KIND]!;
    acc = this.attributes(slot, acc);
    if (this.atsMode && !this.atsAllowed(slot, kind))
      return this.fault(EVT.F_BAD_ATS_TREQ, sid, ssid, iovaHi, iovaLo, acc, -1);
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
      if (st !== 0) return this.fault(st, sid, ssid, iovaHi, iovaLo, acc, this.cfgSlot);
      slot = cc.victim(sid, ssid + 1);
      cc.copy(this.cfgSlot, slot);
      if (this.kindOverride >= 0) ci[slot * K_STRIDE + K_KIND] = this.kindOverride;
      this.setTlbTag(slot, ci[slot * K_STRIDE + K_KIND]!);
      cc.commit(slot, sid, ssid + 1);
    }
    const kind = ci[slot * K_STRIDE + K_KIND]!;
    acc = this.attributes(slot, acc);
    if (this.atsMode) {
      if (!this.atsAllowed(slot, kind))
        return this.fault(EVT.F_BAD_ATS_TREQ, sid, ssid, iovaHi, iovaLo, acc, -1);
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

  /** An ATS Translation Request needs STE.EATS != 0 unless the stream bypasses or aborts (IHI0070 §3.9.1). */
  private atsAllowed(slot: number, kind: number): boolean {
    if (kind === KIND_ABORT || kind === KIND_BYPASS) return true;
    const eats = this.cc.ci[slot * K_STRIDE + K_EATS]!;
    this.atsSplit = eats === 2; // split-stage ATS returns the stage-1 result
    return eats !== 0;
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
      return this.fault(EVT.F_STREAM_DISABLED, sid, ssid, iovaHi, iovaLo, acc, slot);
    this.res.status = ST_ABORT; // STE.Config abort: terminate without an event
    return ST_ABORT;
  }

  private bypass(sid: number, ssid: number, hi: number, lo: number, acc: number): number {
    const res = this.res;
    if (hi >= this.oasHiLimit) {
      this.fltS2 = 0;
      this.fltClass = CLASS_IN;
      this.fltAddr = 0;
      return this.fault(EVT.F_ADDR_SIZE, sid, ssid, hi, lo, acc, -1);
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
    if (st !== 0) return this.fault(st, sid, ssid, hi, lo, acc, slot);
    if (this.caching && !this.atsMode) {
      this.tlbKey(slot * K_STRIDE, hi);
      this.tlb.insert(this.tTag, this.tHi, lo, this.tKind, this.wPa, this.wPerm, this.wGlobal, this.wShift);
    }
    res.pa = this.wPa;
    res.perm = this.wPerm;
    return (res.status = ST_OK);
  }

  private stage2Only(slot: number, sid: number, ssid: number, hi: number, lo: number, acc: number): number {
    const res = this.res;
    // The input address must fit the SMMU's IAS (= OAS here): otherwise a stage-1 address size fault.
    if (hi >= this.oasHiLimit) {
      this.fltS2 = 0;
      this.fltClass = CLASS_IN;
      this.fltAddr = 0;
      return this.fault(EVT.F_ADDR_SIZE, sid, ssid, hi, lo, acc, slot);
    }
    const ipa = (hi >>> 0) * TWO32 + (lo >>> 0);
    const st = walkS2(this, slot, ipa, acc, CLASS_IN);
    if (st !== 0) return this.fault(st, sid, ssid, hi, lo, acc, slot);
    if (this.caching && !this.atsMode) {
      this.tlbKey(slot * K_STRIDE, hi);
      this.tlb.insert(this.tTag, this.tHi, lo, this.tKind, this.s2Pa, this.s2Perm, 0, this.s2Shift);
    }
    res.pa = this.s2Pa;
    res.perm = this.s2Perm;
    return (res.status = ST_OK);
  }

  /**
   * A transaction faulted with event `id`. Builds the record, decides whether it is recorded
   * (translation-class faults need CD.R / STE.S2R, or a stall), stalls or terminates. Cold path.
   */
  private fault(
    id: number,
    sid: number,
    ssid: number,
    hi: number,
    lo: number,
    acc: number,
    slot: number,
  ): number {
    const res = this.res;
    const ci = this.cc.ci;
    const o = slot * K_STRIDE;
    const isTransl =
      id === EVT.F_TRANSLATION || id === EVT.F_ADDR_SIZE || id === EVT.F_ACCESS || id === EVT.F_PERMISSION;
    // C_BAD_STREAMID is recorded only when SMMU_CR2.RECINVSID = 1 (§6.3.12, §7.3.3).
    let record = id !== EVT.C_BAD_STREAMID || (this.r[0x2c >> 2]! & 2) !== 0;
    let stall = false;
    let abort = true;
    if (isTransl && slot >= 0) {
      const kind = this.kindOverride >= 0 && !this.caching ? this.kindOverride : ci[o + K_KIND]!;
      const hasS1 = kind === KIND_S1 || kind === KIND_NESTED;
      if (this.fltS2 === 1) {
        const f2 = ci[o + K_S2F]!;
        record = (f2 & S2F_R) !== 0;
        stall = (f2 & S2F_S) !== 0;
      } else if (hasS1) {
        const f1 = ci[o + K_S1F]!;
        record = (f1 & S1F_R) !== 0;
        stall = (f1 & S1F_S) !== 0;
        abort = (f1 & S1F_A) !== 0;
      }
    }
    if (this.atsMode && isTransl) {
      // An ATS request that faults is answered with a failed completion, not an event (§3.9.1).
      record = false;
      stall = false;
    }
    const stag = stall ? (this.nextStag = (this.nextStag + 1) & 0xffff) : 0;
    writeEvent(this, id, sid, ssid, hi, lo, acc, stall, stag);
    res.event = id;
    if (stall) {
      res.recorded = this.pushEvent();
      if (res.recorded) {
        this.stalls.push({ sid, stag, state: 0 });
        res.stag = stag;
        return (res.status = ST_STALL);
      }
      // A stall whose event cannot be recorded is terminated (nothing may wait unseen).
      return (res.status = ST_ABORT);
    }
    if (record) res.recorded = this.pushEvent();
    return (res.status = abort ? ST_ABORT : ST_RAZWI);
  }

  /**
   * An ATS Translation Request from a device (PCIe ATS, IHI0070 §3.9). Returns ST_OK with `res.pa`
   * / `res.perm` (what the completion grants; with STE.EATS = 0b10, the IPA), or ST_ABORT (an
   * unsuccessful completion). STE.EATS = 0b00 gives F_BAD_ATS_TREQ; translation faults are reported
   * in the completion only. ATS requests never fill the TLB here (the ATC caches the answer).
   */
  translateAts(sid: number, ssid: number, iovaHi: number, iovaLo: number, acc: number): number {
    const res = this.res;
    if (!this.feat.ats || (this.r[R_CR0]! & 1) === 0) {
      res.event = 0;
      res.recorded = false;
      return (res.status = ST_ABORT); // UR: ATS not implemented or SMMU disabled
    }
    this.atsMode = true;
    this.atsSplit = false;
    try {
      return this.translate(sid, ssid, iovaHi, iovaLo, acc);
    } finally {
      this.atsMode = false;
      this.atsSplit = false;
    }
  }

  /**
   * A transaction marked as already translated (PCIe AT = Translated). With CR0.ATSCHK = 1 the
   * stream must have ATS enabled (else F_TRANSL_FORBIDDEN); with STE.EATS = 0b10 the address is an
   * IPA and goes through stage 2. With ATSCHK = 0 translated transactions pass unchecked.
   */
  translateTranslated(sid: number, ssid: number, addrHi: number, addrLo: number, acc: number): number {
    const res = this.res;
    res.event = 0;
    res.recorded = false;
    const r = this.r;
    const pass = () => {
      res.pa = (addrHi >>> 0) * TWO32 + (addrLo >>> 0);
      res.perm = ALL_PERM;
      return (res.status = ST_OK);
    };
    if ((r[R_CR0]! & 1) === 0 || (r[R_CR0]! & 0x10) === 0) return pass();
    const st = this.loadConfig(sid >>> 0, ssid);
    if (st !== 0) return this.fault(st, sid >>> 0, ssid, addrHi, addrLo, acc, -1);
    const ci = this.cc.ci;
    const slot = this.cfgSlot;
    const kind = this.kindOverride >= 0 ? this.kindOverride : ci[slot * K_STRIDE + K_KIND]!;
    if (kind === KIND_ABORT) return (res.status = ST_ABORT);
    if (kind === KIND_BYPASS) return pass();
    const eats = ci[slot * K_STRIDE + K_EATS]!;
    if (eats === 0) return this.fault(EVT.F_TRANSL_FORBIDDEN, sid >>> 0, ssid, addrHi, addrLo, acc, -1);
    if (eats === 2 && (kind === KIND_S2 || kind === KIND_NESTED))
      return this.stage2Only(slot, sid >>> 0, ssid, addrHi, addrLo, acc);
    return pass();
  }

  /** Writes this.evt to the event queue (evtq.ts). */
  pushEvent(): boolean {
    return pushEventRecord(this);
  }

  /** Outcome of a stalled transaction: 'pending', 'retry' (re-issue it) or 'abort'. */
  stallOutcome(sid: number, stag: number): 'pending' | 'retry' | 'abort' | 'unknown' {
    const s = this.stalls.find((x) => x.sid === sid && x.stag === stag);
    if (!s) return 'unknown';
    return s.state === 0 ? 'pending' : s.state === 1 ? 'retry' : 'abort';
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
    return (this.r[0x98 >> 2]! & 0xfffff) === (this.r[0x9c >> 2]! & 0xfffff);
  }
}
