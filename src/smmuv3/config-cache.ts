// Decoded configuration slots (STE + CD for one StreamID/SubstreamID pair) and the architected
// configuration cache that holds them.
//
// A slot is a row of an Int32Array (integers; addresses as 32-bit halves). In
// walk-on-every-access mode the model decodes into slot 0 on every transaction; in caching mode
// slots 1..N form a set-associative cache tagged by (StreamID, SubstreamID), filled on a miss and
// changed only by CFGI_* commands (IHI0070 §4.3): a driver that forgets CFGI_STE / CFGI_CD keeps
// seeing the old STE / CD, as on silicon.
//
// Simplification, allowed by the architecture (an implementation may cache less than it could):
// the STE and the CD of a (StreamID, SubstreamID) are cached together, so any CFGI that names the
// stream or the CD drops the pair; an entry is never cached for a configuration that faulted.

/** Integer fields of a slot. */
export const K = {
  // Fields 0-15 are what a translation reads (one 64-byte line): the configuration lookup
  // (KIND, CDMAX..S1DSS), translate (PRIVCFG, INSTCFG) and the stage-1 walk.
  KIND: 0, // KIND_* below
  VMID: 1,
  ASID: 2,
  S1F: 3, // S1F_* flags
  G0: 4, // TTB0 granule (log2 bytes), 0 = range disabled (EPD0 or no stage 1)
  TSZ0: 5,
  SL0: 6, // start level for TTB0
  G1: 7,
  TSZ1: 8,
  SL1: 9,
  IPS: 10, // effective stage-1 output size (bits)
  CDMAX: 11, // STE.S1CDMax, S1Fmt, S1DSS: what the CD lookup needs
  S1FMT: 12,
  S1DSS: 13,
  PRIVCFG: 14,
  INSTCFG: 15,
  S2G: 16, // stage-2 granule (log2 bytes)
  S2TSZ: 17,
  S2SL: 18, // stage-2 start level
  S2PS: 19, // effective stage-2 output size (bits)
  S2F: 20, // S2F_* flags
  SID: 21, // tag
  SSID: 22, // tag: SubstreamID + 1, 0 = no SubstreamID; -1 in a slot not in use (VALID = 0)
  EATS: 23,
  S2CONCAT: 24, // log2 of the number of concatenated stage-2 start tables
  VALID: 25, // cache slot in use
  AGE: 26, // replacement: fill order (FIFO)
  SSV: 27, // SubstreamID actually used (-1: none) for event records
  STALLD: 28, // STE.S1STALLD and STRW: what the CD decode needs
  STRW: 29,
  TLBTAG: 30, // cache slots: the TLB tag (VMID << 16 | ASID) and regime (TLB_*), set when filled
  TLBKIND: 31,
  TTB0LO: 32, // CD.TTB0 / TTB1 (low bits below the start table's size cleared) in 32-bit halves
  TTB0HI: 33,
  TTB1LO: 34,
  TTB1HI: 35,
  CTXLO: 36, // STE.S1ContextPtr (an IPA when nested) in 32-bit halves
  CTXHI: 37,
  S2TTBLO: 38, // STE.S2TTB (low bits below the start table's size cleared) in 32-bit halves
  S2TTBHI: 39,
  STRIDE: 40,
} as const;

export const KIND_ABORT = 0;
export const KIND_BYPASS = 1;
export const KIND_S1 = 2;
export const KIND_S2 = 3;
export const KIND_NESTED = 4;
/** Stream disabled: S1DSS terminate with a non-substream transaction (F_STREAM_DISABLED). */
export const KIND_TERMINATE = 5;

export const S1F_TBI0 = 1 << 0;
export const S1F_TBI1 = 1 << 1;
export const S1F_AFFD = 1 << 2;
export const S1F_HA = 1 << 3;
export const S1F_HD = 1 << 4;
export const S1F_HAD0 = 1 << 5;
export const S1F_HAD1 = 1 << 6;
export const S1F_WXN = 1 << 7;
export const S1F_UWXN = 1 << 8;
export const S1F_PAN = 1 << 9;
export const S1F_R = 1 << 10; // record faults
export const S1F_S = 1 << 11; // stall faults
export const S1F_A = 1 << 12; // abort (1) or RAZ/WI (0) on termination
export const S1F_EL2 = 1 << 13; // STRW EL2 (CR2.E2H = 0): one privilege level, AP[1] ignored
export const S1F_E2H = 1 << 14; // STRW EL2 with CR2.E2H = 1: EL1-like translation, EL2 TLB tagging

export const S2F_AFFD = 1 << 0;
export const S2F_HA = 1 << 1;
export const S2F_HD = 1 << 2;
export const S2F_R = 1 << 3;
export const S2F_S = 1 << 4;
export const S2F_PTW = 1 << 5;

const { STRIDE, SID, SSID } = K;

/** Decode memo: fewest probes between two reviews of its size (ConfigCache.reviewMemo). */
const MEMO_WINDOW = 4096;

export class ConfigCache {
  /** Slot fields; a new array when the decode memo is resized (walk mode: read it after loadConfig). */
  ci: Int32Array;
  readonly sets: number;
  readonly ways: number;
  private clock = 1;
  /** Lookups that missed (statistics, not architectural). */
  misses = 0;

  // Decode memo (not architectural: see config.ts loadConfig). Slots steMemoBase.. hold decoded
  // STEs (direct-mapped), cdMemoBase.. decoded STE+CD pairs (sets of 2 ways), next to the raw words
  // they were decoded from, a generation number (0 = empty) tying a CD entry to the STE entry it
  // was decoded under, and the (StreamID, SubstreamID) it was filled for (replacement and sizing
  // only: a hit needs equal words, never an equal key). The memo grows with the working set: every
  // MEMO_WINDOW probes or more, a memo whose misses evicted other valid entries in 1 probe in 16 or
  // more doubles (emptied), up to steMemoMax / cdMemoMax entries. Walk mode only: in caching mode
  // the memo is used for fills alone and keeps its size.
  steMemoSize = 0;
  cdMemoSize = 0;
  /** 32 - log2(size or sets): the shift that turns a 32-bit hash into a memo index or set. */
  steMemoShift = 0;
  cdMemoShift = 0;
  readonly steMemoBase: number;
  cdMemoBase = 0;
  steWords = new Int32Array(0);
  steGen = new Int32Array(0);
  /** Per STE entry: the StreamID it holds. */
  steKey = new Int32Array(0);
  cdWords = new Int32Array(0);
  cdSteGen = new Int32Array(0);
  /** Per CD entry: StreamID, SubstreamID. */
  cdKey = new Int32Array(0);
  /** Per CD memo set, one bit: the way filled last. */
  cdFill = new Int32Array(0);
  /** Largest memo sizes (entries; about 200 bytes each: 25 MiB of CDs at most); the memo starts at 64 STEs and 512 CDs. */
  steMemoMax = 1 << 14;
  cdMemoMax = 1 << 17;
  /** Probes left until the next review (loadConfig counts down), probes per review, evictions since. */
  memoCountdown = 0;
  memoWindow = 0;
  steEvicts = 0;
  cdEvicts = 0;

  /** `entries` = sets * ways (power of two sets): the architected cache; the memo slots follow. */
  constructor(entries = 1024, ways = 4) {
    this.ways = ways;
    this.sets = Math.max(1, entries / ways) | 0;
    if ((this.sets & (this.sets - 1)) !== 0)
      throw new RangeError('config cache: sets must be a power of two');
    this.steMemoBase = 1 + this.sets * ways;
    this.ci = new Int32Array(0);
    this.resizeMemo(64, 512);
    this.invalidateAll();
  }

  /**
   * Gives the memo `ste` STE entries and `cd` CD entries (powers of two, cd >= 2), empty. The
   * architected cache slots (1..steMemoBase-1) keep their contents; `ci` is a new array.
   */
  resizeMemo(ste: number, cd: number): void {
    const cacheSlots = this.steMemoBase;
    const slots = cacheSlots + ste + cd;
    const ci = new Int32Array(slots * K.STRIDE);
    ci.set(this.ci.subarray(0, cacheSlots * K.STRIDE));
    this.ci = ci;
    this.steMemoSize = ste;
    this.cdMemoSize = cd;
    this.steMemoShift = 32 - Math.log2(ste);
    this.cdMemoShift = 32 - Math.log2(cd >>> 1);
    this.cdMemoBase = cacheSlots + ste;
    this.steWords = new Int32Array(ste * 8);
    this.steGen = new Int32Array(ste);
    this.steKey = new Int32Array(ste);
    this.cdWords = new Int32Array(cd * 6);
    this.cdSteGen = new Int32Array(cd);
    this.cdKey = new Int32Array(cd * 2);
    this.cdFill = new Int32Array(Math.max(1, cd >>> 6));
    this.steEvicts = this.cdEvicts = 0;
    this.memoWindow = this.memoCountdown = Math.max(MEMO_WINDOW, 2 * cd);
  }

  /**
   * Called by loadConfig when memoCountdown runs out, before it uses any slot: grows a memo whose
   * misses evicted other valid entries in at least 1 probe in 16 since the last review (walk mode).
   */
  reviewMemo(caching: boolean): void {
    const n = this.memoWindow;
    const ste = !caching && this.steEvicts * 16 >= n && this.steMemoSize < this.steMemoMax;
    const cd = !caching && this.cdEvicts * 16 >= n && this.cdMemoSize < this.cdMemoMax;
    if (ste || cd) this.resizeMemo(this.steMemoSize << +ste, this.cdMemoSize << +cd);
    this.steEvicts = this.cdEvicts = 0;
    this.memoWindow = this.memoCountdown = Math.max(MEMO_WINDOW, 2 * this.cdMemoSize);
  }

  /** Sets the largest memo sizes (powers of two); a memo already larger is emptied and shrunk. */
  limitMemo(steMax: number, cdMax: number): void {
    this.steMemoMax = steMax;
    this.cdMemoMax = cdMax;
    if (this.steMemoSize > steMax || this.cdMemoSize > cdMax)
      this.resizeMemo(Math.min(this.steMemoSize, steMax), Math.min(this.cdMemoSize, cdMax));
  }

  /** Slot index holding (sid, ssid+1), or -1. */
  lookup(sid: number, ssidTag: number): number {
    const ci = this.ci;
    const ways = this.ways;
    let s = 1 + (((sid * 31) ^ ssidTag) & (this.sets - 1)) * ways;
    for (let i = 0; i < ways; i++, s++) {
      const o = s * STRIDE;
      // An unused slot has SSID -1, which no tag equals: no separate VALID test.
      if (ci[o + SSID] === ssidTag && ci[o + SID] === (sid | 0)) return s;
    }
    this.misses++;
    return -1;
  }

  /** A slot to fill for (sid, ssid+1): an invalid way, else the oldest filled (FIFO, by AGE). */
  victim(sid: number, ssidTag: number): number {
    const ci = this.ci;
    const ways = this.ways;
    const first = 1 + (((sid * 31) ^ ssidTag) & (this.sets - 1)) * ways;
    let best = first;
    let bestAge = Infinity;
    for (let i = 0; i < ways; i++) {
      const o = (first + i) * K.STRIDE;
      if (ci[o + K.VALID] === 0) return first + i;
      if (ci[o + K.AGE]! < bestAge) {
        bestAge = ci[o + K.AGE]!;
        best = first + i;
      }
    }
    return best;
  }

  commit(slot: number, sid: number, ssidTag: number): void {
    const o = slot * K.STRIDE;
    this.ci[o + K.SID] = sid | 0;
    this.ci[o + K.SSID] = ssidTag;
    this.ci[o + K.VALID] = 1;
    this.ci[o + K.AGE] = this.clock++;
  }

  /** Copies slot `from` into slot `to` (decode happens in slot 0, then is committed). */
  copy(from: number, to: number): void {
    // A plain loop: for 40 words, copyWithin's call costs more than the copy (the decode memo
    // copies an STE slot on every CD decode).
    const ci = this.ci;
    const a = from * STRIDE;
    const b = to * STRIDE;
    for (let i = 0; i < STRIDE; i++) ci[b + i] = ci[a + i]!;
  }

  /** Empties the decode memo (when what the bytes mean changes, e.g. SMMU_CR2.E2H). */
  forgetDecoded(): void {
    this.steGen.fill(0);
    this.cdSteGen.fill(0);
  }

  /** Drops entries matching a predicate on (sid, ssidTag). Returns how many were dropped. */
  invalidate(match: (sid: number, ssidTag: number) => boolean): number {
    let n = 0;
    const ci = this.ci;
    for (let s = 1; s < this.steMemoBase; s++) {
      const o = s * K.STRIDE;
      if (ci[o + K.VALID] !== 0 && match(ci[o + K.SID]! >>> 0, ci[o + K.SSID]!)) {
        ci[o + K.VALID] = 0;
        ci[o + K.SSID] = -1;
        n++;
      }
    }
    return n;
  }

  invalidateAll(): void {
    for (let s = 1; s < this.steMemoBase; s++) {
      this.ci[s * K.STRIDE + K.VALID] = 0;
      this.ci[s * K.STRIDE + K.SSID] = -1;
    }
  }

  count(): number {
    let n = 0;
    for (let s = 1; s < this.steMemoBase; s++) if (this.ci[s * K.STRIDE + K.VALID] !== 0) n++;
    return n;
  }
}
