// Test harness for comparing the fast SMMUv3 model with the reference model (src/ref/smmuv3-ref.ts):
// machine construction, a seeded generator of random configurations and page tables, and the
// comparison of one transaction. Used by test/smmuv3/*.prop.test.ts.
import { encode, getField, type FieldValues } from '../../src/layout/layout.ts';
import { PhysMem } from '../../src/mem/phys-mem.ts';
import { PageAllocator, PageTable, Smmuv3Driver } from '../../src/driver/smmuv3-driver.ts';
import { EVT_BY_ID, EVT_CLASS } from '../../src/smmuv3/events.ts';
import { CD, L1CD, STE } from '../../src/smmuv3/layouts.ts';
import { SMMUv3, ST_ABORT, ST_OK, ST_RAZWI, ST_STALL, type ModelOptions } from '../../src/smmuv3/smmuv3.ts';
import { buildSmmuMachine } from '../../src/machine/machine.ts';
import { refTranslate, REF_U, REF_W, REF_X, type RefResult } from '../../src/ref/smmuv3-ref.ts';

// ------------------------------------------------------------------------------------ PRNG

/** mulberry32: small, fast, deterministic. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Random bigint of `n` bits. */
  bits(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i += 32) v = (v << 32n) | BigInt(this.u32());
    return v & ((1n << BigInt(n)) - 1n);
  }
  u64(): bigint {
    return this.bits(64);
  }
}

// ------------------------------------------------------------------------------------ machine

export const RAM_BASE = 0x4000_0000;
export const RAM_SIZE = 16 << 20;
/** A second, small region above 4 GiB (tables and CDs at high addresses). */
export const HIGH_BASE = 0x8_0000_0000;
export const HIGH_SIZE = 1 << 20;

/** PhysMem that logs the descriptor updates (cas32) the model makes. */
export class LoggingMem extends PhysMem {
  readonly cas: number[] = [];
  override cas32(pa: number, expect: number, value: number): boolean {
    const ok = super.cas32(pa, expect, value);
    if (ok && expect >>> 0 !== value >>> 0) this.cas.push(pa);
    return ok;
  }
}

export interface MachineOptions extends ModelOptions {
  streamTable?: 'linear' | '2level';
  split?: 6 | 8 | 10;
  /** Set CR2.E2H before enabling (needs hyp). */
  e2h?: boolean;
}

export interface Machine {
  mem: LoggingMem;
  smmu: SMMUv3;
  drv: Smmuv3Driver;
  alloc: PageAllocator;
  high: PageAllocator;
}

export function makeMachine(o: MachineOptions = {}): Machine {
  const mem = new LoggingMem();
  const { smmu, drv, alloc } = buildSmmuMachine({
    mem,
    ram: [
      { base: RAM_BASE, size: RAM_SIZE },
      { base: HIGH_BASE, size: HIGH_SIZE, name: 'high' },
    ],
    allocator: { base: RAM_BASE, size: 8 << 20 },
    model: { sidBits: 16, ...o },
    driver: { streamTable: o.streamTable ?? 'linear', split: o.split ?? 8, sidBits: 8, evtqLog2: 8 },
    // CR2 is writable only while SMMUEN = 0: E2H is set before the driver enables the SMMU.
    ...(o.e2h ? { cr2: { E2H: 1 } } : {}),
  });
  const high = new PageAllocator(mem, HIGH_BASE, HIGH_SIZE);
  return { mem, smmu, drv, alloc, high };
}

/** Feature options drawn from a seed: mostly the defaults, with every knob that changes translation. */
export function randomFeatures(rng: Rng): MachineOptions {
  const o: MachineOptions = {};
  if (rng.chance(0.35)) o.oasBits = rng.pick([36, 40, 42, 44, 52, 52]);
  if (rng.chance(0.2)) o.httu = rng.pick([0, 1] as const);
  if (rng.chance(0.15)) o.had = false;
  if (rng.chance(0.15)) o.xnx = false;
  if (rng.chance(0.2)) o.stallModel = rng.pick(['none', 'force'] as const);
  if (rng.chance(0.2)) o.termAbortOnly = false;
  if (rng.chance(0.1)) o.cd2l = false;
  if (rng.chance(0.1)) o.st2l = false;
  if (rng.chance(0.1)) o.asid16 = false;
  if (rng.chance(0.1)) o.vmid16 = false;
  if (rng.chance(0.1)) o.attrPermsOvr = false; // STE.PRIVCFG / INSTCFG then RES0
  if (rng.chance(0.1)) o.ssidBits = rng.range(0, 6);
  if (rng.chance(0.15)) {
    o.hyp = true;
    o.e2h = rng.chance(0.5); // STRW = EL2 selects EL2-E2H
  }
  if (rng.chance(0.15)) {
    o.gran4k = rng.chance(0.6);
    o.gran16k = rng.chance(0.6);
    o.gran64k = !(o.gran4k || o.gran16k) || rng.chance(0.6);
  }
  if (o.oasBits === 52 && rng.chance(0.3)) o.vax52 = false;
  // A 2-level table on an SMMU without IDR0.ST_LEVEL is read as linear: keep that rare.
  o.streamTable = rng.chance(o.st2l === false ? 0.1 : 0.5) ? '2level' : 'linear';
  o.split = rng.pick([6, 8, 10] as const);
  return o;
}

// ------------------------------------------------------------------------------------ random page tables

const granules = (m: Machine): (12 | 14 | 16)[] => {
  const f = m.smmu.feat;
  const gs: (12 | 14 | 16)[] = [];
  if (f.gran4k) gs.push(12);
  if (f.gran16k) gs.push(14);
  if (f.gran64k) gs.push(16);
  return gs.length ? gs : [12];
};

export interface TreeOptions {
  stage: 1 | 2;
  granule: 12 | 14 | 16;
  ias: number;
  startLevel: number;
  /** Allocator for the tables (PA). */
  alloc: PageAllocator;
  /** Table addresses as the walker sees them (IPA for nested stage 1). */
  ref: (pa: number) => bigint;
  /** Output addresses of leaves are drawn mostly from [oaBase, oaBase + oaSize). */
  oaBase: bigint;
  oaSize: bigint;
  /** Number of tables per level below the start level. */
  fanout?: number;
}

/**
 * A dense random translation table: every entry of every table holds a descriptor (drawn from a
 * small per-table pool of templates), so that random input addresses meet every kind of descriptor.
 * Returns the start table's address (as `ref` sees it).
 */
export function buildRandomTree(rng: Rng, mem: PhysMem, t: TreeOptions): bigint {
  const g = t.granule;
  const stride = g - 3;
  const fan = t.fanout ?? 2;
  const levels: number[][] = [];
  const startBits = t.ias - (g + (3 - t.startLevel) * stride);
  const startBytes = 2 ** (startBits + 3);
  levels[t.startLevel] = [t.alloc.alloc(Math.max(startBytes, 64), Math.max(startBytes, 64))];
  for (let l = t.startLevel + 1; l <= 3; l++) {
    levels[l] = [];
    for (let i = 0; i < fan; i++) levels[l]!.push(t.alloc.alloc(2 ** g, 2 ** g));
  }
  const TWO32 = 4294967296;
  const oaBase = Number(t.oaBase);
  const oaSize = Number(t.oaSize);
  for (let l = t.startLevel; l <= 3; l++) {
    const s = g + (3 - l) * stride;
    for (const table of levels[l]!) {
      const entries = l === t.startLevel ? 2 ** startBits : 2 ** stride;
      const pool: { lo: number; hi: number; leaf: boolean; oa: number }[] = [];
      for (let k = 0; k < 8; k++) {
        const p = randomDescriptor(rng, t, l, s, levels[l + 1] ?? []);
        pool.push({
          lo: Number(p.d & 0xffff_ffffn),
          hi: Number(p.d >> 32n),
          leaf: p.leaf,
          oa: Number(oaOf(p.d, g)),
        });
      }
      const salt = rng.u32();
      for (let i = 0; i < entries; i++) {
        const p = pool[(Math.imul(i ^ salt, 0x9e3779b1) >>> 29) & 7]!;
        let lo = p.lo;
        let hi = p.hi;
        if (p.leaf) {
          // Leaves map consecutive inputs to consecutive outputs: OA + i * 2^s, wrapping inside
          // the output window when the template's OA lies in it (else mod 2^52).
          let oa = (p.oa + i * 2 ** s) % 2 ** 52;
          if (p.oa >= oaBase && p.oa < oaBase + oaSize) oa = oaBase + ((p.oa - oaBase + i * 2 ** s) % oaSize);
          oa -= oa % 2 ** s;
          const oaHi = Math.floor(oa / TWO32);
          hi = ((hi & ~0xffff) | (oaHi & 0xffff)) >>> 0;
          lo = ((lo & 0xfff) | ((oa % TWO32) & 0xfffff000)) >>> 0;
          if (g === 16) lo = ((lo & ~0xf000) | (((oaHi >>> 16) & 0xf) << 12)) >>> 0;
        }
        mem.write64(table + i * 8, lo, hi);
      }
    }
  }
  return t.ref(levels[t.startLevel]![0]!);
}

function oaOf(d: bigint, g: number): bigint {
  let a = d & 0x0000_ffff_ffff_f000n;
  if (g === 16) a = (a & ~0xffffn) | (((d >> 12n) & 0xfn) << 48n);
  return a;
}

/** Replaces the output address bits of descriptor d (address bits below s cleared). */
function withOA(d: bigint, g: number, oa: bigint, s: number): bigint {
  const a = oa & ~((1n << BigInt(s)) - 1n);
  let v = (d & ~0x0000_ffff_ffff_f000n) | (a & 0x0000_ffff_ffff_f000n); // bits [47:12]
  if (g === 16) v = (v & ~0xf000n) | (((a >> 48n) & 0xfn) << 12n); // OA[51:48] in bits [15:12]
  return v;
}

function randomDescriptor(
  rng: Rng,
  t: TreeOptions,
  level: number,
  s: number,
  next: number[],
): { d: bigint; leaf: boolean } {
  const g = t.granule;
  const roll = rng.int(100);
  // Fully random bits, sometimes.
  if (roll < 2) return { d: rng.u64(), leaf: false };
  // Invalid (bit 0 clear, garbage elsewhere).
  if (roll < 5) return { d: rng.u64() & ~1n, leaf: false };
  if (level < 3 && roll < 92 && next.length) {
    // Table descriptor.
    let addr: bigint;
    const r = rng.int(25);
    if (r === 0)
      addr = BigInt(0x1000_0000 + rng.int(256) * 2 ** g); // unbacked
    else if (r === 1)
      addr = 1n << BigInt(rng.range(32, 51)); // maybe beyond the output size
    else addr = t.ref(rng.pick(next));
    let d = 3n | withOA(0n, g, addr, g);
    if (rng.chance(0.25)) d |= BigInt(rng.int(32)) << 59n; // PXNTable, XNTable, APTable, NSTable
    if (rng.chance(0.1)) d |= BigInt(rng.int(256)) << 2n; // ignored low bits
    return { d, leaf: false };
  }
  // Block / page descriptor.
  const page = level === 3;
  let oa: bigint;
  const r = rng.int(20);
  if (r === 0) oa = rng.bits(52);
  else if (r === 1) oa = (1n << BigInt(rng.range(36, 51))) | rng.bits(30);
  else oa = t.oaBase + (rng.bits(40) % (t.oaSize > 0n ? t.oaSize : 1n));
  let d = (page ? 3n : 1n) | withOA(0n, g, oa, s);
  if (level === 3 && rng.chance(0.04)) d &= ~2n; // reserved level-3 encoding
  if (rng.chance(0.8)) d |= 1n << 10n; // AF
  if (t.stage === 1) {
    d |= BigInt(rng.int(4)) << 6n; // AP[2:1]
    if (rng.chance(0.2)) d |= 1n << 53n; // PXN
    if (rng.chance(0.2)) d |= 1n << 54n; // UXN / XN
    if (rng.chance(0.5)) d |= 1n << 11n; // nG
    d |= BigInt(rng.int(8)) << 2n; // AttrIndx
  } else {
    d |= BigInt(rng.pick([3, 3, 3, 1, 2, 0])) << 6n; // S2AP
    d |= BigInt(rng.int(4)) << 53n; // XN[1:0]
    d |= BigInt(rng.int(16)) << 2n; // MemAttr
  }
  if (rng.chance(0.3)) d |= 1n << 51n; // DBM
  if (rng.chance(0.05)) d |= 1n << 52n; // Contiguous hint
  d |= BigInt(rng.int(4)) << 8n; // SH
  return { d, leaf: true };
}

// ------------------------------------------------------------------------------------ random configurations

/** Stage-1 start level (Arm ARM), for tree building. */
export const s1Start = (g: number, ias: number): number => 3 - Math.floor((ias - 1 - g) / (g - 3));

/** A consistent (granule, S2SL0, IAS) for stage 2 at the SMMU's OAS, or undefined. */
export function s2Params(
  rng: Rng,
  g: number,
  oas: number,
  minIas: number,
): { sl0: number; ias: number; start: number } | undefined {
  const stride = g - 3;
  const maxIas = Math.min(oas, g === 16 && oas === 52 ? 52 : 48);
  for (let tries = 0; tries < 20; tries++) {
    const ias = rng.range(Math.max(25, minIas), maxIas);
    const sl0 = rng.int(3);
    const start = g === 12 ? 2 - sl0 : 3 - sl0;
    const lo = (3 - start) * stride + g + 1;
    const hi = lo + stride - 1 + 4;
    if (ias < lo || ias > hi) continue;
    if (sl0 === 2 && oas < (g === 14 ? 42 : 44)) continue;
    return { sl0, ias, start };
  }
  return undefined;
}

const tg0Enc = (g: number): number => (g === 12 ? 0 : g === 16 ? 1 : 2);
const tg1Enc = (g: number): number => (g === 14 ? 1 : g === 12 ? 2 : 3);
const psEnc = (bits: number): number => [32, 36, 40, 42, 44, 48, 52].indexOf(bits);

export interface S1Range {
  granule: 12 | 14 | 16;
  ias: number;
  root: bigint;
}

export interface Scenario {
  m: Machine;
  sid: number;
  /** SubstreamIDs that have CDs (empty: none). */
  ssids: number[];
  kind: 'bypass' | 'abort' | 's1' | 's2' | 'nested';
  /** Stage-1 input ranges (TTB0, TTB1) and CD.TBI of each CD, by SubstreamID (0: the CD of non-substream traffic). */
  cds: Map<number, { ranges: (S1Range | null)[]; tbi: number }>;
  s2ias: number;
}

/** Offset of the guest's IPA space in PA for nested scenarios (IPA 0 -> GUEST_PA). */
export const GUEST_PA = RAM_BASE + (8 << 20);
export const GUEST_SIZE = 6 << 20;

/** Picks a CD's stage-1 parameters and builds its random tables. Legal unless `tweak`. */
function randomCd(
  rng: Rng,
  m: Machine,
  opts: {
    nested: boolean;
    alloc: PageAllocator;
    ref: (pa: number) => bigint;
    s1stalld: boolean;
    el2: boolean;
    tweak: boolean;
  },
): { fields: FieldValues; ranges: (S1Range | null)[]; tbi: number } {
  const feat = m.smmu.feat;
  const gs = granules(m);
  const oaBase = opts.nested ? 0n : BigInt(RAM_BASE);
  const oaSize = opts.nested ? BigInt(GUEST_SIZE) : 1n << 32n;
  const ranges: (S1Range | null)[] = [];
  const ha = feat.httu >= 1 && rng.chance(0.5);
  const f: Record<string, number | bigint> = {
    V: 1,
    AA64: 1,
    IPS: rng.chance(0.8) ? [32, 36, 40, 42, 44, 48, 52].indexOf(Math.min(feat.oasBits, 48)) : rng.int(8),
    AFFD: rng.chance(0.1) ? 1 : 0,
    WXN: rng.chance(0.2) ? 1 : 0,
    PAN: rng.chance(0.2) ? 1 : 0,
    HA: ha ? 1 : 0,
    HD: ha && feat.httu >= 2 && rng.chance(0.6) ? 1 : 0,
    R: rng.chance(0.8) ? 1 : 0,
    A: feat.termAbortOnly || rng.chance(0.7) ? 1 : 0,
    S: feat.stallModel === 2 ? 1 : feat.stallModel === 0 && !opts.s1stalld && rng.chance(0.15) ? 1 : 0,
    ASID: rng.int(feat.asid16 && rng.chance(0.5) ? 65536 : 256),
    TBI: rng.chance(0.3) ? rng.int(4) : 0,
  };
  if (opts.tweak) {
    const t = rng.int(11);
    if (t === 0) f.V = 0;
    else if (t === 1) f.AA64 = 0;
    else if (t === 2) f.ENDI = 1;
    else if (t === 3) f.A = 0;
    else if (t === 4) f.S = 1 - Number(f.S);
    else if (t === 5) f.HA = 1;
    else if (t === 6) f.HD = 1;
    else if (t === 7) f.ASID = 0x100 + rng.int(0xff00);
    else if (t === 8) f.IPS = rng.int(8);
  }
  for (const half of [0, 1] as const) {
    const epd = half === 0 ? rng.chance(0.04) : opts.el2 || rng.chance(0.5);
    if (epd) {
      f[half ? 'EPD1' : 'EPD0'] = 1;
      ranges.push(null);
      continue;
    }
    let g = rng.pick(gs);
    const minTsz = g === 16 && feat.vax52 ? 12 : 16;
    let tsz = rng.chance(0.6) ? rng.range(minTsz, 39) : rng.pick([minTsz, 16, 25, 32, 33, 39]);
    if (opts.tweak && rng.chance(0.3)) tsz = rng.int(64); // possibly out of range
    if (opts.tweak && rng.chance(0.1)) g = rng.pick([12, 14, 16] as const); // possibly unsupported
    const ias = 64 - tsz;
    if (half === 0) {
      f.TG0 = tg0Enc(g);
      f.T0SZ = tsz;
      if (opts.tweak && rng.chance(0.1)) f.TG0 = 3;
    } else {
      f.TG1 = tg1Enc(g);
      f.T1SZ = tsz;
      if (opts.tweak && rng.chance(0.1)) f.TG1 = 0;
    }
    if (rng.chance(0.2)) f[half ? 'HAD1' : 'HAD0'] = 1;
    if (ias < 25 || ias > 52 || ias <= g) {
      ranges.push(null);
      f[half ? 'TTB1' : 'TTB0'] = BigInt(RAM_BASE);
      continue;
    }
    const start = s1Start(g, ias);
    const root = buildRandomTree(rng, m.mem, {
      stage: 1,
      granule: g,
      ias,
      startLevel: start,
      alloc: opts.alloc,
      ref: opts.ref,
      oaBase,
      oaSize,
    });
    let ttb = root;
    if (rng.chance(0.03)) ttb = BigInt(0x2000_0000); // unbacked
    if (opts.tweak && rng.chance(0.2)) ttb = (1n << BigInt(rng.range(36, 51))) | root; // maybe beyond IPS
    f[half ? 'TTB1' : 'TTB0'] = ttb;
    ranges.push({ granule: g, ias, root });
  }
  return { fields: f, ranges, tbi: Number(f.TBI) };
}

/** A clean stage-2 mapping IPA [0, GUEST_SIZE) -> GUEST_PA, with random perturbations. */
function guestStage2(rng: Rng, m: Machine, g: 12 | 14 | 16, ias: number, start: number): bigint {
  const pt = new PageTable(m.mem, m.alloc, g, ias, 2, start);
  const leaf = g === 12 && rng.chance(0.5) ? 21 : g;
  pt.map(0n, BigInt(GUEST_PA), BigInt(GUEST_SIZE), { s2ap: 3, af: !rng.chance(0.1) }, leaf);
  // Perturb a few leaves: read-only, no access flag, XN, DBM, unmapped.
  for (let i = 0; i < 6; i++) {
    if (!rng.chance(0.5)) continue;
    const va = BigInt(rng.int(GUEST_SIZE)) & ~((1n << BigInt(leaf)) - 1n);
    const kind = rng.int(6);
    if (kind === 5) pt.unmap(va, leaf);
    else
      pt.map(
        va,
        BigInt(GUEST_PA) + va,
        1n << BigInt(leaf),
        {
          s2ap: kind === 0 || kind === 3 ? 1 : kind === 4 ? rng.int(4) : 3,
          af: kind !== 1,
          xn: kind === 2 ? rng.int(4) : 0,
          dbm: kind === 3,
        },
        leaf,
      );
  }
  return BigInt(pt.root);
}

/**
 * A random stream configuration on StreamID `sid`: STE (bypass / abort / S1 / S2 / nested), CD
 * table, random tables. Mostly legal; with probability `illegal` one field is made ILLEGAL or
 * odd. `noise` XORs random bits into STE and CD qwords.
 */
export function randomScenario(
  rng: Rng,
  m: Machine,
  sid: number,
  opts: { noise?: number; illegal?: number; kind?: Scenario['kind'] } = {},
): Scenario {
  const feat = m.smmu.feat;
  const noise = opts.noise ?? 0;
  const tweak = rng.chance(opts.illegal ?? 0.1);
  const r = rng.int(100);
  let kind: Scenario['kind'] =
    opts.kind ?? (r < 40 ? 's1' : r < 60 ? 's2' : r < 90 ? 'nested' : r < 96 ? 'bypass' : 'abort');
  if ((kind === 's2' || kind === 'nested') && !feat.s2) kind = 's1';
  const ste: Record<string, number | bigint> = {
    V: 1,
    PRIVCFG: rng.chance(0.2) ? rng.int(4) : 0,
    INSTCFG: rng.chance(0.2) ? rng.int(4) : 0,
    EATS: feat.ats && rng.chance(0.2) ? (kind === 'nested' ? rng.int(3) : rng.int(2)) : 0,
    S2VMID: rng.int(feat.vmid16 && rng.chance(0.5) ? 65536 : 256),
  };
  const sc: Scenario = { m, sid, ssids: [], kind, cds: new Map(), s2ias: 0 };
  if (kind === 'bypass') ste.Config = 4;
  else if (kind === 'abort') ste.Config = rng.int(4);
  else ste.Config = kind === 's1' ? 5 : kind === 's2' ? 6 : 7;
  let steTweak = -1;
  if (tweak && rng.chance(0.5)) steTweak = rng.int(10);
  const cdTweak = tweak && steTweak < 0;

  let ref = (pa: number): bigint => BigInt(pa);
  let s1alloc = m.alloc;
  if (kind === 's2' || kind === 'nested') {
    const g = rng.pick(granules(m));
    const p = s2Params(rng, g, feat.oasBits, kind === 'nested' ? 23 : 25);
    if (p) {
      let root: bigint;
      if (kind === 'nested' && rng.chance(0.92)) {
        root = guestStage2(rng, m, g, p.ias, p.start);
      } else {
        const oaBase = BigInt(kind === 'nested' ? GUEST_PA : RAM_BASE);
        root = buildRandomTree(rng, m.mem, {
          stage: 2,
          granule: g,
          ias: p.ias,
          startLevel: p.start,
          alloc: m.alloc,
          ref: (x) => BigInt(x),
          oaBase,
          oaSize: kind === 'nested' ? BigInt(GUEST_SIZE) : 1n << 32n,
        });
      }
      const ha = feat.httu >= 1 && rng.chance(0.5);
      Object.assign(ste, {
        S2T0SZ: 64 - p.ias,
        S2SL0: p.sl0,
        S2TG: tg0Enc(g),
        S2PS: rng.chance(0.85) ? psEnc(Math.min(48, feat.oasBits)) : rng.int(8),
        S2AA64: 1,
        S2TTB: root,
        S2AFFD: rng.chance(0.1) ? 1 : 0,
        S2HA: ha ? 1 : 0,
        S2HD: ha && feat.httu >= 2 && rng.chance(0.6) ? 1 : 0,
        S2R: rng.chance(0.8) ? 1 : 0,
        S2S: feat.stallModel === 2 ? 1 : feat.stallModel === 0 && rng.chance(0.1) ? 1 : 0,
      });
      sc.s2ias = p.ias;
      if (steTweak === 0) ste.S2SL0 = rng.int(4);
      if (steTweak === 1) ste.S2T0SZ = rng.int(64);
      if (steTweak === 2) ste.S2AA64 = 0;
      if (steTweak === 3) ste.S2ENDI = 1;
      if (steTweak === 4) ste.S2S = 1 - Number(ste.S2S);
      if (steTweak === 5) ste.S2HD = 1;
      if (steTweak === 6) ste.S2TTB = (1n << BigInt(rng.range(36, 51))) | root;
    } else {
      Object.assign(ste, { S2T0SZ: 20, S2SL0: 2, S2TG: 0, S2AA64: 1 }); // probably ILLEGAL
    }
    if (kind === 'nested') {
      ref = (pa: number) => BigInt(pa - GUEST_PA);
      s1alloc = new PageAllocator(m.mem, GUEST_PA, GUEST_SIZE);
    }
  }
  if (steTweak === 7) ste.V = 0;
  if (steTweak === 8) ste.EATS = rng.int(4);
  if (steTweak === 9) ste.S2VMID = rng.int(65536);
  if (kind === 's1' || kind === 'nested') {
    if (feat.hyp && kind === 's1' && rng.chance(0.4)) ste.STRW = 2;
    if (tweak && rng.chance(0.1)) ste.STRW = rng.int(4);
    const cdmax = Math.min(feat.ssidBits, rng.chance(0.4) ? 0 : rng.pick([1, 2, 7, 11]));
    let fmt = cdmax === 0 || !feat.cd2l ? 0 : rng.pick([0, 1, 2]);
    if (tweak && rng.chance(0.15)) fmt = rng.int(4);
    ste.S1CDMax = cdmax;
    if (tweak && rng.chance(0.1)) ste.S1CDMax = rng.int(32);
    ste.S1Fmt = fmt;
    ste.S1DSS = tweak && rng.chance(0.2) ? 3 : rng.pick([0, 1, 1, 2, 2, 2]);
    ste.S1STALLD = feat.stallModel === 0 && rng.chance(0.1) ? 1 : 0;
    if (tweak && rng.chance(0.1)) ste.S1STALLD = 1;
    // The CD table, in the allocator the walker addresses (IPA space for nested).
    const ssids = cdmax === 0 ? [0] : [...new Set([0, 1, rng.int(2 ** cdmax), rng.int(2 ** cdmax)])];
    const twoLevel = fmt === 1 || fmt === 2;
    const split = fmt === 1 ? 6 : 10;
    let base: number;
    const l1: Map<number, number> = new Map();
    if (!twoLevel) base = s1alloc.alloc(64 * 2 ** cdmax, Math.max(64, 64 * 2 ** cdmax));
    else base = s1alloc.alloc(8 * Math.max(1, 2 ** (cdmax - split)), 64);
    const cdAt = (ssid: number): number => {
      if (!twoLevel) return base + ssid * 64;
      const i = Math.floor(ssid / 2 ** split);
      let leaf = l1.get(i);
      if (leaf === undefined) {
        leaf = s1alloc.alloc(64 * 2 ** split, fmt === 1 ? 4096 : 65536);
        l1.set(i, leaf);
        m.mem.writeQwords(base + i * 8, encode(L1CD, { V: rng.chance(0.95) ? 1 : 0, L2Ptr: ref(leaf) }));
      }
      return leaf + (ssid % 2 ** split) * 64;
    };
    const el2 = kind === 's1' && Number(ste.STRW ?? 0) === 2;
    for (const ssid of ssids) {
      const cd = randomCd(rng, m, {
        nested: kind === 'nested',
        alloc: s1alloc,
        ref,
        s1stalld: ste.S1STALLD === 1,
        el2,
        tweak: cdTweak && rng.chance(0.6),
      });
      sc.cds.set(ssid, { ranges: cd.ranges, tbi: cd.tbi });
      const q = encode(CD, cd.fields);
      if (noise)
        for (let i = 0; i < 3; i++) if (rng.chance(noise)) q[i] = q[i]! ^ (1n << BigInt(rng.int(64)));
      m.mem.writeQwords(cdAt(ssid), q);
    }
    sc.ssids = cdmax === 0 ? [] : ssids;
    ste.S1ContextPtr = ref(base);
  }
  const q = encode(STE, ste);
  if (noise) for (let i = 0; i < 4; i++) if (rng.chance(noise)) q[i] = q[i]! ^ (1n << BigInt(rng.int(64)));
  const at = m.drv.steAddr(sid);
  m.mem.writeQwords(at, q);
  return sc;
}

/** A transaction for scenario `sc`: (ssid, iova, acc), mostly inside the configured ranges. */
export function randomTxn(rng: Rng, sc: Scenario): { sid: number; ssid: number; iova: bigint; acc: number } {
  const acc = rng.int(8);
  let ssid = -1;
  if (sc.ssids.length && rng.chance(0.7)) ssid = rng.pick(sc.ssids);
  else if (rng.chance(0.03)) ssid = rng.int(1 << 20);
  const sid = rng.chance(0.97) ? sc.sid : rng.int(1 << 17);
  let iova: bigint;
  const r = rng.int(100);
  if (r < 3) iova = rng.u64();
  else if (sc.kind === 's2' || sc.kind === 'bypass' || sc.kind === 'abort') {
    const ias = sc.s2ias || 40;
    iova = r < 8 ? rng.bits(Math.min(ias + 2, 64)) : rng.bits(ias);
    if (sc.kind === 'bypass' && rng.chance(0.8)) iova = BigInt(RAM_BASE) + rng.bits(24);
  } else {
    const cd = sc.cds.get(ssid < 0 ? 0 : ssid) ?? sc.cds.get(0) ?? { ranges: [], tbi: 0 };
    const half = cd.ranges[1] && (!cd.ranges[0] || rng.chance(0.35)) ? 1 : 0;
    const rg = cd.ranges[half] ?? { ias: 48 };
    const ias = rg.ias;
    iova = rng.bits(ias);
    if (r < 6) iova |= 1n << BigInt(Math.min(ias + rng.int(3), 63)); // just out of range
    if (half === 1) iova |= ~((1n << BigInt(ias)) - 1n) & ((1n << 64n) - 1n);
    // A top byte: usually only where TBI lets it through.
    if ((cd.tbi & (1 << half)) !== 0 ? rng.chance(0.5) : rng.chance(0.03))
      iova = (iova & ((1n << 56n) - 1n)) | (BigInt(rng.int(256)) << 56n);
  }
  return { sid, ssid, iova, acc };
}

// ------------------------------------------------------------------------------------ comparison

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

function describeRef(r: RefResult): string {
  if (r.kind === 'ok')
    return `ok pa=${hex(r.pa)} perm=${hex(r.perm)} updates=${r.updates.map((u) => `${hex(u.addr)}:${hex(u.before)}->${hex(u.after)}`).join(',')}`;
  if (r.kind === 'abort') return 'abort (no event)';
  return `fault ${hex(r.event)} s2=${r.s2} class=${r.cls} addr=${hex(r.addr)} tt${r.ttWrite ? 'W' : 'R'} record=${r.record} stall=${r.stall} razwi=${r.razwi}`;
}

/**
 * Runs one transaction on the reference (first: it does not touch memory) and on the fast model,
 * and returns a description of every difference (empty: they agree).
 *
 * `cached`: the model may answer from its TLB. A TLB entry made from a writable-clean (DBM) page
 * before the hardware dirtied it legitimately still lacks write permission (a write through it
 * walks again and finds the page dirty), so the model's W bits need only be a subset of the walk's.
 */
export function compareTxn(
  m: Machine,
  sid: number,
  ssid: number,
  iova: bigint,
  acc: number,
  cached = false,
): string[] {
  const ref = refTranslate(m.smmu, sid, ssid, iova, acc);
  m.mem.cas.length = 0;
  const smmu = m.smmu;
  const st = smmu.translate(sid, ssid, Number(iova >> 32n), Number(iova & 0xffff_ffffn), acc);
  const res = smmu.res;
  const errs: string[] = [];
  const fast = `status=${st} pa=${hex(res.pa)} perm=${hex(res.perm)} event=${hex(res.event)} recorded=${res.recorded}`;
  const diff = (what: string) => errs.push(`${what}\n  ref:  ${describeRef(ref)}\n  fast: ${fast}`);
  if (ref.kind === 'ok') {
    if (st !== ST_OK) diff('status');
    else {
      if (res.pa !== Number(ref.pa)) diff('pa');
      const W = 2 | 16; // PW | UW
      if (
        cached
          ? (res.perm & ~W) !== (ref.perm & ~W) || (res.perm & W & ~ref.perm) !== 0
          : res.perm !== ref.perm
      )
        diff('perm');
      // Hardware updates: the same descriptors, the same new values.
      const want = new Map(ref.updates.map((u) => [Number(u.addr), u.after]));
      const got = new Set(m.mem.cas.map((a) => a - (a % 8)));
      for (const [a, v] of want) {
        if (!got.has(a)) diff(`update at ${hex(a)} missing`);
        else if (m.mem.read64n(a) !== v) diff(`update at ${hex(a)}: ${hex(m.mem.read64n(a)!)} != ${hex(v)}`);
      }
      for (const a of got) if (!want.has(a)) diff(`unexpected update at ${hex(a)}`);
    }
  } else if (ref.kind === 'abort') {
    if (st !== ST_ABORT || res.event !== 0) diff('abort');
  } else {
    if (res.event !== ref.event) diff('event');
    else {
      const wantSt = ref.stall ? ST_STALL : ref.razwi ? ST_RAZWI : ST_ABORT;
      // A stall whose record cannot be written yet stays stalled (recorded = false until the queue
      // is writable); the harness drains the queue, so every record is written at once.
      if (st !== wantSt) diff(`status ${st} != ${wantSt}`);
      if (res.recorded !== ref.record) diff('recorded');
      errs.push(
        ...compareRecord(m, ref, sid, ssid, iova).map(
          (e) => `${e}\n  ref:  ${describeRef(ref)}\n  fast: ${fast}`,
        ),
      );
    }
  }
  if (res.recorded) m.drv.readEvents();
  return errs;
}

/** Fields of the event record the model built (smmu.evt) against the reference's fault. */
function compareRecord(
  m: Machine,
  ref: Extract<RefResult, { kind: 'fault' }>,
  sid: number,
  ssid: number,
  iova: bigint,
): string[] {
  const def = EVT_BY_ID[ref.event]!;
  const w = m.smmu.evt;
  const q: bigint[] = [];
  for (let i = 0; i < 8; i += 2) q.push((BigInt(w[i + 1]!) << 32n) | BigInt(w[i]!));
  const errs: string[] = [];
  const has = (n: string) => def.layout.fields.find((f) => f.name === n);
  const check = (n: string, want: bigint) => {
    const f = has(n);
    if (!f) return;
    const got = getField(q, f);
    if (got !== want) errs.push(`record ${def.name}.${n}: ${hex(got)} != ${hex(want)}`);
  };
  check('EventID', BigInt(ref.event));
  check('StreamID', BigInt(sid >>> 0));
  if (has('SSV') && ref.event !== 0x08) {
    check('SSV', ssid >= 0 ? 1n : 0n);
    if (ssid >= 0) check('SubstreamID', BigInt(ssid) & 0xfffffn); // a wider argument: its low 20 bits
  }
  const transl = ref.event >= 0x10 && ref.event <= 0x13;
  if (transl || ref.event === 0x0b) {
    check('S2', BigInt(ref.s2));
    check('CLASS', BigInt(ref.cls));
    check('InputAddr', iova);
    check('RnW', (ref.acc & REF_W) !== 0 ? 0n : 1n);
    if (ref.cls === EVT_CLASS.IN) {
      check('PnU', (ref.acc & REF_U) !== 0 ? 0n : 1n);
      check('InD', (ref.acc & REF_X) !== 0 && (ref.acc & REF_W) === 0 ? 1n : 0n);
    }
  }
  if (transl && ref.s2 === 1) check('IPA', ref.addr & 0x000f_ffff_ffff_f000n);
  if (has('FetchAddr')) check('FetchAddr', ref.addr & 0x000f_ffff_ffff_fff8n);
  if (ref.cls === EVT_CLASS.TT && (ref.event === 0x0b || ref.event === 0x13))
    check('TTRnW', ref.ttWrite ? 0n : 1n);
  return errs;
}
