// The benchmark machines: one RAM region, an SMMUv3 programmed the way Linux sets up SVA devices,
// and a prepared list of transactions. One builder, parameterised by a `Scenario` (bench/rows.ts
// lists them): from 16 streams x 8 SubstreamIDs up to 2^20 SubstreamIDs on one stream, or 2^18
// pages at random IOVAs behind one CD.
//
//   - 2-level stream table (SPLIT 8, 16-bit StreamIDs), STEs written through the driver toolkit.
//   - per StreamID a 2-level CD table (S1Fmt 1: 4 KiB leaves of 64 CDs, S1CDMax `cdmax`).
//   - per (StreamID, SubstreamID) its own CD with its own ASID, pointing at one of `tables`
//     4-level 4 KiB stage-1 tables (T0SZ 16, 48-bit IOVA).
//
// The large tables are written straight into the RAM's words (one CD template per page table,
// the ASID patched in; L1CD and page-table descriptors from the layout's field positions), so
// that 2^20 CDs take well under a second to build: the driver toolkit's BigInt encoders are for
// the few structures a test writes.
//
// Requests are rows of REQ_STRIDE words: StreamID, SubstreamID, IOVA[63:32], IOVA[31:0], ACC_*
// flags. Their order is shuffled (fixed PRNG seed), so consecutive translations use different
// streams, CDs and page tables. A benchmark op is one window of `window` consecutive requests;
// successive ops take successive windows, round the list.
import { PageAllocator, PageTable, type Smmuv3Driver, linuxCd } from '../src/driver/smmuv3-driver.ts';
import { buildSmmuMachine } from '../src/machine/machine.ts';
import { addrField, encode, qwordsToWords, wordField } from '../src/layout/layout.ts';
import { PhysMem } from '../src/mem/phys-mem.ts';
import { CD, L1CD } from '../src/smmuv3/layouts.ts';
import { ACC_U, ACC_W, type SMMUv3 } from '../src/smmuv3/smmuv3.ts';

export const RAM_BASE = 0x4000_0000;
export const REQ_STRIDE = 5;
/** Requests per benchmark op in the small rows (16 streams x 8 SubstreamIDs x 8 pages: one pass). */
export const BATCH_SMALL = 1024;
/** Output addresses: above 4 GiB, so that the high word of the PA is exercised. */
const PA_BASE = 0x12_3400_0000;
const TWO32 = 4294967296;

/** What a row's machine holds. */
export interface Scenario {
  /** Streams, and SubstreamIDs per stream (contexts = sids * ssids). */
  sids: number;
  ssids: number;
  /** STE.S1CDMax (log2 of each stream's SubstreamID space). */
  cdmax: number;
  /** StreamID of stream i, SubstreamID j of stream i (each < 2^16, < 2^cdmax). */
  sidOf: (i: number) => number;
  ssidOf: (i: number, j: number) => number;
  /** Stage-1 tables: context c uses table c % tables; each maps `pages` pages whose IOVAs differ at every level. */
  tables: number;
  pages: number;
  /** Requests per context: pages (c / tables) * perCtx + k of its table, k < perCtx. */
  perCtx: number;
  /** Instead of tables/pages: one table mapping this many 4 KiB pages at random IOVAs (one context). */
  randomPages?: number;
  /** Requests per benchmark op. */
  window: number;
  ramBytes: number;
  caching: boolean;
  tlbEntries?: number;
}

export interface BenchMachine {
  mem: PhysMem;
  /** The RAM as 32-bit words (the same buffer the model reads): for the bare-loop baselines. */
  ram: Uint32Array;
  smmu: SMMUv3;
  drv: Smmuv3Driver;
  /** All requests: n rows of REQ_STRIDE words. */
  req: Uint32Array;
  n: number;
  window: number;
  /** Per request: the expected output PA and CD.TTB0; the RAM word index of its CD's word 1 (ASID). */
  pa: Float64Array;
  ttb0: Float64Array;
  cdAsidWord: Int32Array;
  /** Per window: what a batch over it returns when correct (sum of PAs, sum of TTB0s). */
  paSums: Float64Array;
  ttb0Sums: Float64Array;
  /** Bytes of emulated memory holding the CD tables (L1CD tables and leaves), and the contexts. */
  cdTableBytes: number;
  contexts: number;
}

/** xorshift32: deterministic, no allocation. */
export function rng(seed: number): () => number {
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

/** IOVA of page k of table t: a different L0, L1, L2 and L3 index for each k (k < 8). */
function iovaOf(t: number, k: number): number {
  return (k + 1) * 0x81_0040_3000 + t * 0x20_1000;
}

// Field positions for the direct writes.
const L1CD_PTR = addrField(L1CD, 'L2Ptr');
const L1CD_V = wordField(L1CD, 'V');
const CD_ASID = wordField(CD, 'ASID');
if (CD_ASID.w !== 1 || CD_ASID.shift !== 16 || CD_ASID.mask !== 0xffff)
  throw new Error('bench/machine.ts: CD.ASID moved; update the ASID patching');

/** Random-IOVA row: pages are spread over an IOVA window of 2^RANDOM_SPAN pages (16 GiB), from IOVA 2^40. */
const RANDOM_SPAN = 22;
const RANDOM_IOVA_BASE = 2 ** 40;

export function buildMachine(sc: Scenario): BenchMachine {
  const buf = new ArrayBuffer(sc.ramBytes);
  const ram = new Uint32Array(buf);
  const { mem, smmu, drv, alloc } = buildSmmuMachine({
    ram: [{ base: RAM_BASE, size: sc.ramBytes, buffer: buf }],
    model: {
      sidBits: 16,
      ssidBits: 20,
      oasBits: 48,
      caching: sc.caching,
      ...(sc.tlbEntries ? { tlbEntries: sc.tlbEntries } : {}),
    },
    driver: { streamTable: '2level', split: 8, sidBits: 16 },
  });
  const wordOf = (pa: number) => (pa - RAM_BASE) / 4;

  // Page tables, and per table its CD template (ASID 0) as 16 words.
  const roots: number[] = [];
  /** Per table: its pages' IOVAs and PAs. */
  const iovas: number[][] = [];
  const pas: number[][] = [];
  if (sc.randomPages) {
    const pt = new PageTable(mem, alloc, 12, 48, 1);
    mapRandom(ram, alloc, pt, sc.randomPages, iovas, pas);
    roots.push(pt.root);
  } else {
    for (let t = 0; t < sc.tables; t++) {
      const pt = new PageTable(mem, alloc, 12, 48, 1);
      iovas.push([]);
      pas.push([]);
      for (let k = 0; k < sc.pages; k++) {
        const out = PA_BASE + (t * sc.pages + k) * 0x1000;
        pt.map(BigInt(iovaOf(t, k)), BigInt(out), 0x1000n, { ap: 1 });
        iovas[t]!.push(iovaOf(t, k));
        pas[t]!.push(out);
      }
      roots.push(pt.root);
    }
  }
  const templates = roots.map((r) => qwordsToWords(encode(CD, linuxCd(r, 0))));

  // Stream tables, CD tables, CDs; then the requests (context c, page p).
  const contexts = sc.sids * sc.ssids;
  const nreq = sc.randomPages ? sc.randomPages : contexts * sc.perCtx;
  const reqSid = new Int32Array(nreq);
  const reqSsid = new Int32Array(nreq);
  const reqTable = new Int32Array(nreq);
  const reqPage = new Int32Array(nreq);
  const reqAsidWord = new Int32Array(nreq);
  let cdTableBytes = 0;
  let r = 0;
  const split = 6; // S1Fmt 1: 4 KiB leaves of 64 CDs
  for (let i = 0; i < sc.sids; i++) {
    const sid = sc.sidOf(i);
    const l1n = Math.max(1, 2 ** (sc.cdmax - split));
    const l1 = alloc.alloc(l1n * 8, Math.max(64, l1n * 8));
    cdTableBytes += l1n * 8;
    const leaves = new Map<number, number>();
    for (let j = 0; j < sc.ssids; j++) {
      const c = i * sc.ssids + j;
      const ssid = sc.ssidOf(i, j);
      let leaf = leaves.get(ssid >>> split);
      if (leaf === undefined) {
        leaf = alloc.alloc(64 << split, 4096);
        cdTableBytes += 64 << split;
        leaves.set(ssid >>> split, leaf);
        const w = wordOf(l1 + (ssid >>> split) * 8);
        ram[w] = ((leaf & L1CD_PTR.loMask) | (1 << L1CD_V.shift)) >>> 0;
        ram[w + 1] = Math.floor(leaf / TWO32) & L1CD_PTR.hiMask;
      }
      const t = sc.randomPages ? 0 : c % sc.tables;
      const cw = wordOf(leaf + (ssid & 63) * 64);
      ram.set(templates[t]!, cw);
      ram[cw + 1] = (ram[cw + 1]! & 0xffff) | (((1 + (c % 0xffff)) << 16) >>> 0);
      const per = sc.randomPages ? sc.randomPages : sc.perCtx;
      for (let k = 0; k < per; k++, r++) {
        reqSid[r] = sid;
        reqSsid[r] = ssid;
        reqTable[r] = t;
        reqPage[r] = sc.randomPages ? k : (Math.floor(c / sc.tables) * sc.perCtx + k) % sc.pages;
        reqAsidWord[r] = cw + 1;
      }
    }
    drv.writeSte(
      sid,
      { V: 1, Config: 5, S1ContextPtr: BigInt(l1), S1CDMax: sc.cdmax, S1Fmt: 1, S1DSS: 0 },
      false,
    );
  }

  // Shuffle (Fisher-Yates over an index), then add a random offset in the page and a mix of access kinds.
  const rand = rng(0x5eed_1234);
  const order = new Int32Array(nreq);
  for (let i = 0; i < nreq; i++) order[i] = i;
  for (let i = nreq - 1; i > 0; i--) {
    const j = rand() % (i + 1);
    const x = order[i]!;
    order[i] = order[j]!;
    order[j] = x;
  }
  const accs = [0, ACC_W, ACC_U, ACC_U | ACC_W];
  const req = new Uint32Array(nreq * REQ_STRIDE);
  const pa = new Float64Array(nreq);
  const ttb0 = new Float64Array(nreq);
  const cdAsidWord = new Int32Array(nreq);
  const window = Math.min(sc.window, nreq);
  if (nreq % window !== 0) throw new Error(`bench: ${nreq} requests are not a whole number of windows`);
  const paSums = new Float64Array(nreq / window);
  const ttb0Sums = new Float64Array(nreq / window);
  for (let q = 0; q < nreq; q++) {
    const s = order[q]!;
    const t = reqTable[s]!;
    const k = reqPage[s]!;
    const off = rand() & 0xff8;
    const va = iovas[t]![k]! + off;
    const o = q * REQ_STRIDE;
    req[o] = reqSid[s]!;
    req[o + 1] = reqSsid[s]!;
    req[o + 2] = Math.floor(va / TWO32);
    req[o + 3] = va >>> 0;
    req[o + 4] = accs[rand() & 3]!;
    pa[q] = pas[t]![k]! + off;
    ttb0[q] = roots[t]!;
    cdAsidWord[q] = reqAsidWord[s]!;
    const win = Math.floor(q / window);
    paSums[win] = paSums[win]! + pa[q]!;
    ttb0Sums[win] = ttb0Sums[win]! + ttb0[q]!;
  }
  return {
    mem,
    ram,
    smmu,
    drv,
    req,
    n: nreq,
    window,
    pa,
    ttb0,
    cdAsidWord,
    paSums,
    ttb0Sums,
    cdTableBytes,
    contexts,
  };
}

/**
 * Maps `count` 4 KiB pages at distinct pseudo-random IOVAs (an odd multiplier permutes the 2^RANDOM_SPAN
 * page numbers of the window) in table `pt`, writing descriptors straight into the RAM's words.
 * Leaf attributes come from PageTable.leaf (the toolkit's encoder), table descriptors are
 * Valid | Table | address (VMSAv8-64 4 KiB granule, 48-bit OA).
 */
function mapRandom(
  ram: Uint32Array,
  alloc: PageAllocator,
  pt: PageTable,
  count: number,
  iovas: number[][],
  pas: number[][],
): void {
  const leaf = pt.leaf(0n, true, { ap: 1 });
  const attrLo = Number(leaf & 0xffff_ffffn),
    attrHi = Number(leaf >> 32n);
  const span = 2 ** RANDOM_SPAN;
  const wordOf = (pa: number) => (pa - RAM_BASE) / 4;
  const iv: number[] = [];
  const ps: number[] = [];
  for (let i = 0; i < count; i++) {
    const page = (i * 0x9e3779 + 0x12345) % span;
    const iova = RANDOM_IOVA_BASE + page * 0x1000;
    const out = PA_BASE + i * 0x1000;
    let table = pt.root;
    for (let level = 0; level < 3; level++) {
      const idx = Math.floor(iova / 2 ** (39 - 9 * level)) % 512;
      const w = wordOf(table + idx * 8);
      if ((ram[w]! & 3) === 3) {
        table = ram[w + 1]! * TWO32 + ((ram[w]! & 0xffff_f000) >>> 0);
        continue;
      }
      const next = alloc.alloc(4096, 4096);
      ram[w] = ((next & 0xffff_f000) | 3) >>> 0;
      ram[w + 1] = Math.floor(next / TWO32);
      table = next;
    }
    const w = wordOf(table + (Math.floor(iova / 4096) % 512) * 8);
    ram[w] = (attrLo | (out & 0xffff_f000)) >>> 0;
    ram[w + 1] = (attrHi | Math.floor(out / TWO32)) >>> 0;
    iv.push(iova);
    ps.push(out);
  }
  iovas.push(iv);
  pas.push(ps);
}
