// The SMMUv3 rows of `npm run bench` (registered in bench/registry.ts): what each builds and times, and its target (bench/README.md).
// Each row runs in a child process of its own (run.ts --row N), which builds only that row's machine.
import { BareMemo, bareMemo, bareSerial, bareTlbHit } from './baselines.ts';
import {
  BATCH_SMALL,
  RAM_BASE,
  REQ_STRIDE,
  buildMachine,
  type BenchMachine,
  type Scenario,
} from './machine.ts';
import { configBatch, translateBatch } from './smmuv3-cases.ts';

/** A batch loop: requests [start, start + n); returns the batch's checked sum. */
export type BatchFn = (start: number, n: number) => number;

/** What a row measures: the model loop and its baselines, over `n` requests taken `window` at a time. */
export interface Loops {
  model: BatchFn;
  /** The serial-chain bare loop (null where there is none: a TLB hit has no chain to break). */
  serial: BatchFn | null;
  /** The bare loop built with the model's own shortcuts (the target applies to model / this). */
  like: BatchFn;
  n: number;
  window: number;
  /** Windows per benchmark op (default 1): enough work per op that timing it costs little. */
  reps?: number;
  /** Per window: what every loop returns for it when correct. */
  sums: Float64Array;
  /** Called before timing, and after: returns a problem with the measurement (e.g. TLB misses), or ''. */
  before?: () => void;
  after?: () => string;
  /** Figures reported with the row (not timed): memory, and the model's memo geometry (STE/CD entries). */
  memory?: () => MemoryFigure;
  memo?: () => string;
}

export interface MemoryFigure {
  /** Bound SubstreamIDs, and the bytes of emulated memory their CD tables take (L1CD + leaves). */
  ssids: number;
  emulatedBytes: number;
  /** Bytes of the model's own typed arrays (registers, caches, decode memo), after the row ran. */
  modelBytes: number;
}

export interface Row {
  name: string;
  /** Target (a goal, not a test): minimum ratio of the model to its like-built bare loop. */
  minRatio: number;
  build: () => Loops;
}

/**
 * TLB size of the caching-mode model. The request list is 1024 pages; with the default 4096-entry
 * 4-way TLB the model's set hash maps more than 4 of them to some sets (about a quarter of the
 * requests miss on every pass), and the row would measure walks, not hits. 16384 entries hold them
 * all; the row reports any miss while timed.
 */
export const BENCH_TLB_ENTRIES = 16384;

const SMALL: Scenario = {
  sids: 16,
  sidOf: (i) => (i * 0x1101 + 0x23) & 0xffff, // a different L1STD (SID[15:8]) for every stream
  ssids: 8,
  ssidOf: (_i, j) => (j * 0x1f3d + 0x107) & 0xffff, // a different L1CD (SSID[15:6]) for every substream
  cdmax: 16,
  tables: 128, // one per context
  pages: 8,
  perCtx: 8,
  window: BATCH_SMALL,
  ramBytes: 32 << 20,
  caching: false,
};

/** Shared page tables for the large rows: 128 tables of 8 pages (12.5 MiB of tables). */
const SHARED = { tables: 128, pages: 8, perCtx: 1, window: 4096, caching: false } as const;

const SIDS_4K: Scenario = {
  ...SHARED,
  sids: 4096,
  sidOf: (i) => 0x100 + i, // PCI-like: 16 buses of 256 functions
  ssids: 16,
  ssidOf: (i, j) => 1 + ((i * 16 + j) % 0xffff), // global PASIDs 1.., 16 per device
  cdmax: 16,
  ramBytes: 96 << 20,
};

const SSIDS_64K: Scenario = {
  ...SHARED,
  sids: 1,
  sidOf: () => 0x42,
  ssids: 1 << 16,
  ssidOf: (_i, j) => j,
  cdmax: 16,
  ramBytes: 32 << 20,
};

const SSIDS_4K: Scenario = { ...SSIDS_64K, ssids: 1 << 12, ramBytes: 32 << 20 };

const SIDS_64: Scenario = {
  ...SHARED,
  sids: 64,
  sidOf: (i) => 0x100 + i,
  ssids: 64,
  ssidOf: (i, j) => 1 + ((i * 64 + j) % 0xffff),
  cdmax: 16,
  ramBytes: 32 << 20,
};

const SSIDS_1M: Scenario = {
  ...SSIDS_64K,
  ssids: 1 << 20,
  cdmax: 20,
  ramBytes: 96 << 20,
};

const RANDOM_1G: Scenario = {
  ...SHARED,
  sids: 1,
  sidOf: () => 0x42,
  ssids: 1,
  ssidOf: () => 1,
  cdmax: 16,
  tables: 1,
  randomPages: 1 << 18, // 1 GiB of 4 KiB pages
  ramBytes: 64 << 20,
};

/**
 * Checks requests through the model against their expected PAs (all of them, or the first 2^16 in
 * the large rows: every batch is checked by its sum anyway); throws on a mismatch.
 */
function verifyTranslations(m: BenchMachine, what: string): void {
  const { smmu, req, pa } = m;
  for (let r = 0, end = Math.min(m.n, 1 << 16); r < end; r++) {
    const o = r * REQ_STRIDE;
    const st = smmu.translate(req[o]!, req[o + 1]!, req[o + 2]!, req[o + 3]!, req[o + 4]!);
    if (st !== 0 || smmu.res.pa !== pa[r]) {
      const iova = req[o + 2]! * 4294967296 + req[o + 3]!;
      throw new Error(
        `${what}: sid 0x${req[o]!.toString(16)} ssid 0x${req[o + 1]!.toString(16)} iova 0x${iova.toString(16)}: ` +
          `status ${st} event 0x${smmu.res.event.toString(16)} pa 0x${smmu.res.pa.toString(16)}, expected 0x${pa[r]!.toString(16)}`,
      );
    }
  }
}

/**
 * The like-built loops' memo, with the geometry of the model's decode memo once it has settled: the
 * model runs round the request list until its memo (which grows with the working set, see
 * config-cache.ts) has kept its size over 4 review windows and the whole list (at most 2^21 requests).
 */
function bareMemoLike(m: BenchMachine, batch: BatchFn): BareMemo {
  const cc = m.smmu.cc;
  let geometry = memoGeometry(m);
  let stable = 0;
  for (let done = 0, s = 0; done < 1 << 21; done += m.window, s = (s + m.window) % m.n) {
    batch(s, m.window);
    stable += m.window;
    if (memoGeometry(m) !== geometry) {
      geometry = memoGeometry(m);
      stable = 0;
    } else if (stable >= Math.max(4 * cc.memoWindow, m.n)) break;
  }
  return new BareMemo(cc.steMemoSize, cc.cdMemoSize / 2);
}

/** The model's memo geometry: STE entries / CD entries. */
function memoGeometry(m: BenchMachine): string {
  return `${m.smmu.cc.steMemoSize}/${m.smmu.cc.cdMemoSize}`;
}

/** Bytes of the model's own typed arrays: the SMMUv3 object and the objects it holds (not memory). */
function modelBytes(m: BenchMachine): number {
  const seen = new Set<ArrayBufferLike>([m.ram.buffer]); // views into emulated RAM are not the model's
  let total = 0;
  const visit = (o: object, depth: number): void => {
    for (const v of Object.values(o)) {
      if (ArrayBuffer.isView(v)) {
        if (!seen.has(v.buffer)) {
          seen.add(v.buffer);
          total += v.buffer.byteLength;
        }
      } else if (v !== null && typeof v === 'object' && v !== m.mem && depth < 2) visit(v, depth + 1);
    }
  };
  visit(m.smmu, 0);
  return total;
}

/** A walk-mode row: translate vs. the serial chain and the like-built loop (optionally CDs rewritten first). */
function walkRow(sc: Scenario, decode: boolean, withMemory = false): () => Loops {
  return () => {
    const m = buildMachine(sc);
    verifyTranslations(m, 'walk mode');
    const { ram, req, smmu } = m;
    const strtab = m.drv.strtab;
    const cdw = decode ? m.cdAsidWord : null;
    const ctr = new Int32Array([1]);
    const model: BatchFn = (s, n) => translateBatch(smmu, req, s, n, ram, cdw, ctr);
    const memo = bareMemoLike(m, model);
    const geometry = memoGeometry(m);
    return {
      model,
      serial: (s, n) => bareSerial(ram, RAM_BASE, strtab, req, s, n, true, cdw, ctr),
      like: (s, n) => bareMemo(ram, RAM_BASE, strtab, req, s, n, true, cdw, ctr, memo),
      n: m.n,
      window: m.window,
      sums: m.paSums,
      memo: () => memoGeometry(m),
      after: () =>
        memoGeometry(m) === geometry ? '' : `model memo resized while timed (${geometry} before)`,
      ...(withMemory
        ? { memory: () => ({ ssids: m.contexts, emulatedBytes: m.cdTableBytes, modelBytes: modelBytes(m) }) }
        : {}),
    };
  };
}

export const SMMUV3_ROWS: Row[] = [
  {
    // Walk mode: every translation reads the configuration and the page tables from memory.
    name: 'walk: 16 SIDs x 8 SSIDs, 8 pages each',
    minRatio: 0.5,
    build: walkRow(SMALL, false),
  },
  {
    // Caching mode, warmed so that every request hits the configuration cache and the TLB.
    name: 'tlb hit: 16 SIDs x 8 SSIDs x 8 pages (caching on, warm)',
    minRatio: 0.5,
    build: () => {
      const m = buildMachine({ ...SMALL, caching: true, tlbEntries: BENCH_TLB_ENTRIES });
      verifyTranslations(m, 'caching mode (fill)');
      verifyTranslations(m, 'caching mode (hit)');
      const { req, smmu } = m;
      const tlb = smmu.tlb;
      const cc = smmu.cc;
      const ctr = new Int32Array([1]);
      let tlbMiss0 = 0,
        ccMiss0 = 0;
      return {
        model: (s, n) => translateBatch(smmu, req, s, n, m.ram, null, ctr),
        serial: null,
        like: (s, n) => bareTlbHit(cc.ci, cc.sets, cc.ways, tlb.e, tlb.sets, tlb.ways, req, s, n),
        n: m.n,
        window: m.window,
        reps: 16,
        sums: m.paSums,
        before: () => {
          tlbMiss0 = tlb.misses;
          ccMiss0 = cc.misses;
        },
        after: () => {
          const t = tlb.misses - tlbMiss0,
            c = cc.misses - ccMiss0;
          return t || c ? `not all hits while timed: ${t} TLB and ${c} config-cache misses` : '';
        },
      };
    },
  },
  {
    // Walk mode, the configuration lookup alone (loadConfig: what translate does before the walk).
    name: 'ssid lookup: 16 SIDs x 8 SSIDs (L1STD, STE, L1CD, CD)',
    minRatio: 0.5,
    build: () => {
      const m = buildMachine(SMALL);
      verifyTranslations(m, 'walk mode');
      const { ram, req, smmu } = m;
      const strtab = m.drv.strtab;
      const ctr = new Int32Array([1]);
      const model: BatchFn = (s, n) => configBatch(smmu, req, s, n);
      const memo = bareMemoLike(m, model);
      return {
        model,
        memo: () => memoGeometry(m),
        serial: (s, n) => bareSerial(ram, RAM_BASE, strtab, req, s, n, false, null, ctr),
        like: (s, n) => bareMemo(ram, RAM_BASE, strtab, req, s, n, false, null, ctr, memo),
        n: m.n,
        window: m.window,
        reps: 4,
        sums: m.ttb0Sums,
      };
    },
  },
  {
    // Every translation first rewrites its CD's ASID word: no memo can hold the words, the CD is decoded.
    name: 'walk, CD rewritten before each access (decode every time)',
    minRatio: 0.5,
    build: walkRow(SMALL, true),
  },
  { name: 'walk: 64 SIDs x 64 SSIDs', minRatio: 0.5, build: walkRow(SIDS_64, false) },
  { name: 'walk: 4096 SSIDs on one stream', minRatio: 0.5, build: walkRow(SSIDS_4K, false) },
  { name: 'walk: 4096 SIDs x 16 SSIDs', minRatio: 0.5, build: walkRow(SIDS_4K, false) },
  { name: 'walk: 2^16 SSIDs on one stream', minRatio: 0.5, build: walkRow(SSIDS_64K, false) },
  { name: 'walk: 2^20 SSIDs on one stream', minRatio: 0.5, build: walkRow(SSIDS_1M, false, true) },
  { name: 'walk: 1 GiB of 4K pages at random IOVAs', minRatio: 0.5, build: walkRow(RANDOM_1G, false) },
];
