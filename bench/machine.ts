// The benchmark machine: one RAM region, an SMMUv3 programmed by the driver toolkit the way Linux
// does for SVA devices, and a prepared list of transactions that touches many streams, substreams
// and pages.
//
//   - 2-level stream table (SPLIT 8, 16-bit StreamIDs); NSIDS StreamIDs in different L1 entries.
//   - per StreamID a 2-level CD table (S1Fmt 1: 4 KiB leaves of 64 CDs, S1CDMax 16), NSSIDS
//     SubstreamIDs per stream, spread over different leaves.
//   - per (StreamID, SubstreamID) its own ASID and its own 4-level 4 KiB stage-1 page table
//     (T0SZ 16, 48-bit IOVA), PAGES pages at IOVAs that differ at every level.
//
// Requests are rows of REQ_STRIDE words: StreamID, SubstreamID, IOVA[63:32], IOVA[31:0], ACC_*
// flags. Their order is shuffled, so consecutive translations use different streams, CDs and
// page tables. Everything is deterministic (fixed PRNG seed).
import { PageAllocator, PageTable, Smmuv3Driver, linuxCd } from '../src/driver/smmuv3-driver.ts';
import { PhysMem } from '../src/mem/phys-mem.ts';
import { ACC_U, ACC_W, SMMUv3 } from '../src/smmuv3/smmuv3.ts';

export const RAM_BASE = 0x4000_0000;
export const RAM_SIZE = 32 << 20;
export const NSIDS = 16;
export const NSSIDS = 8;
export const PAGES = 8;
/** Transactions per benchmark op (one pass over the request list). */
export const BATCH = NSIDS * NSSIDS * PAGES;
export const REQ_STRIDE = 5;
/** log2 of the SubstreamID space of each stream (STE.S1CDMax). */
export const CDMAX = 16;
/** Output addresses: above 4 GiB, so that the high word of the PA is exercised. */
const PA_BASE = 0x12_3400_0000;
const TWO32 = 4294967296;

export interface BenchMachine {
  mem: PhysMem;
  /** The RAM as 32-bit words (the same buffer the model reads): for the bare-loop baselines. */
  ram: Uint32Array;
  smmu: SMMUv3;
  drv: Smmuv3Driver;
  /** BATCH rows of REQ_STRIDE words. */
  req: Uint32Array;
  /** Per request: the expected output PA and the expected CD.TTB0 (the page table root). */
  pa: Float64Array;
  ttb0: Float64Array;
  /** Sums over one batch (what every batch function returns when it is correct). */
  paSum: number;
  ttb0Sum: number;
}

/** xorshift32: deterministic, no allocation. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

export function sidOf(i: number): number {
  return (i * 0x1101 + 0x23) & 0xffff; // a different L1STD (SID[15:8]) for every stream
}

export function ssidOf(j: number): number {
  return (j * 0x1f3d + 0x107) & ((1 << CDMAX) - 1); // a different L1CD (SSID[15:6]) for every substream
}

/** IOVA of page k of context c: a different L0, L1, L2 and L3 index for each k. */
function iovaOf(c: number, k: number): number {
  return (k + 1) * 0x81_0040_3000 + c * 0x20_1000;
}

/**
 * TLB size of the benchmark model in caching mode. The request list is BATCH (1024) pages; with the
 * default 4096-entry 4-way TLB the model's set hash maps more than 4 of them to some sets (about a
 * quarter of the requests miss on every pass), and the row would measure walks, not hits. 16384
 * entries hold them all; run.ts reports any miss while timing.
 */
export const BENCH_TLB_ENTRIES = 16384;

export function buildBenchMachine(caching: boolean): BenchMachine {
  const buf = new ArrayBuffer(RAM_SIZE);
  const mem = new PhysMem();
  mem.addRegion(RAM_BASE, RAM_SIZE, 'ram', buf);
  const ram = new Uint32Array(buf);
  const smmu = new SMMUv3(mem, {
    sidBits: 16,
    ssidBits: 20,
    oasBits: 48,
    caching,
    tlbEntries: BENCH_TLB_ENTRIES,
  });
  const alloc = new PageAllocator(mem, RAM_BASE, RAM_SIZE);
  const drv = new Smmuv3Driver(mem, smmu, alloc, { streamTable: '2level', split: 8, sidBits: 16 });
  drv.init();

  const pa = new Float64Array(BATCH);
  const ttb0 = new Float64Array(BATCH);
  const rows: number[][] = [];
  let ctx = 0;
  for (let i = 0; i < NSIDS; i++) {
    const sid = sidOf(i);
    const cdt = drv.makeCdTable(CDMAX, 1);
    for (let j = 0; j < NSSIDS; j++, ctx++) {
      const ssid = ssidOf(j);
      const pt = new PageTable(mem, alloc, 12, 48, 1);
      for (let k = 0; k < PAGES; k++) {
        const out = PA_BASE + (ctx * PAGES + k) * 0x1000;
        pt.map(BigInt(iovaOf(ctx, k)), BigInt(out), 0x1000n, { ap: 1 });
        rows.push([sid, ssid, iovaOf(ctx, k), out, pt.root]);
      }
      cdt.writeCd(sid, ssid, linuxCd(pt.root, 1 + ctx), false);
    }
    drv.writeSte(sid, { V: 1, Config: 5, ...cdt.steFields(), S1DSS: 0 }, false);
  }

  // Shuffle (Fisher-Yates), then add a random offset in the page and a mix of access kinds.
  const rand = rng(0x5eed_1234);
  for (let i = rows.length - 1; i > 0; i--) {
    const j = rand() % (i + 1);
    const t = rows[i]!;
    rows[i] = rows[j]!;
    rows[j] = t;
  }
  const accs = [0, ACC_W, ACC_U, ACC_U | ACC_W];
  const req = new Uint32Array(BATCH * REQ_STRIDE);
  let paSum = 0;
  let ttb0Sum = 0;
  for (let r = 0; r < BATCH; r++) {
    const [sid, ssid, iova, out, root] = rows[r]!;
    const off = rand() & 0xff8;
    const va = iova! + off;
    const o = r * REQ_STRIDE;
    req[o] = sid!;
    req[o + 1] = ssid!;
    req[o + 2] = Math.floor(va / TWO32);
    req[o + 3] = va >>> 0;
    req[o + 4] = accs[rand() & 3]!;
    pa[r] = out! + off;
    ttb0[r] = root!;
    paSum += out! + off;
    ttb0Sum += root!;
  }
  return { mem, ram, smmu, drv, req, pa, ttb0, paSum, ttb0Sum };
}
