// Caching mode (configuration cache + TLB) against the reference model, which walks memory on
// every access: after each change of the tables, CDs or STEs followed by the invalidation the
// architecture asks software for (CFGI_STE / CFGI_CD / TLBI_NH_VA / TLBI_NH_ASID / TLBI_S2_IPA +
// TLBI_S12_VMALL, then CMD_SYNC), every translation equals the walk. And the negative side: without
// the invalidation the caching model keeps returning the stale translation, as silicon would.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldValues } from '../../src/layout/layout.ts';
import { linuxCd, PageTable, type CdTable } from '../../src/driver/smmuv3-driver.ts';
import { ST_OK } from '../../src/smmuv3/smmuv3.ts';
import { refTranslate } from '../../src/ref/smmuv3-ref.ts';
import { compareTxn, makeMachine, RAM_BASE, Rng, type Machine } from './ref-harness.ts';

const seed = fc.integer({ min: 1, max: 0x7fff_ffff });

/** Where data pages live (outputs of the mappings): [DATA, DATA + 4 MiB). */
const DATA = RAM_BASE + (12 << 20);

type Granule = 12 | 14 | 16;
const IAS: Record<Granule, number> = { 12: 48, 14: 47, 16: 42 };
const TG0: Record<Granule, number> = { 12: 0, 14: 2, 16: 1 };

/** One translation context: a stream (and SubstreamID) with its tables and tags. */
interface Ctx {
  name: string;
  sid: number;
  ssid: number;
  kind: 's1' | 's2' | 'nested';
  g: Granule;
  pt: PageTable; // the tables in use (stage 1, or stage 2 for 's2')
  spare: PageTable; // another set of tables to switch TTB0 / S2TTB to
  asid: number;
  vmid: number;
  /** Input pages (VA or IPA) the tests translate, page-aligned. */
  vas: bigint[];
  /** The CD's extra fields (HA/HD...) and how to rewrite the CD. */
  cdExtra: FieldValues;
  writeCd?: (fields: FieldValues) => void;
  steFields?: () => FieldValues;
}

class World {
  readonly m: Machine;
  readonly ctxs: Ctx[] = [];
  private nextAsid = 100;
  private nextVmid = 100;
  /** The nested stream's stage-2 (identity over RAM, 2 MiB blocks) and its VMID. */
  nestedS2!: PageTable;

  constructor(readonly rng: Rng) {
    this.m = makeMachine({
      caching: true,
      tlbEntries: rng.pick([16, 64, 4096]),
      configCacheEntries: rng.pick([4, 16, 1024]),
    });
    const m = this.m;
    const pick = (): Granule => rng.pick([12, 12, 14, 16] as const);
    const cdFlags = (): FieldValues => {
      const ha = rng.chance(0.4);
      return { HA: ha ? 1 : 0, HD: ha && rng.chance(0.5) ? 1 : 0 };
    };
    const s1 = (g: Granule) => new PageTable(m.mem, m.alloc, g, IAS[g], 1);
    const cdFields = (c: Ctx): Record<string, bigint | number> =>
      linuxCd(c.pt.root, c.asid, { T0SZ: 64 - IAS[c.g], TG0: TG0[c.g], ...c.cdExtra });

    // sid 1: stage 1, one CD (S1CDMax = 0).
    {
      const g = pick();
      const cdt = m.drv.makeCdTable(0, 0);
      const c: Ctx = {
        name: 's1',
        sid: 1,
        ssid: -1,
        kind: 's1',
        g,
        pt: s1(g),
        spare: s1(g),
        asid: 1,
        vmid: 1,
        vas: [],
        cdExtra: cdFlags(),
      };
      c.writeCd = (f) => cdt.writeCd(1, 0, f, false);
      c.steFields = () => ({ V: 1, Config: 5, S2VMID: c.vmid, ...cdt.steFields() });
      this.ctxs.push(c);
    }
    // sid 2: stage 1 with SubstreamIDs 1 and 2 (2-level CD table, 4K leaves), S1DSS = bypass.
    {
      const cdt: CdTable = m.drv.makeCdTable(2, 1);
      for (const ssid of [1, 2]) {
        const g = pick();
        const c: Ctx = {
          name: `s1.ssid${ssid}`,
          sid: 2,
          ssid,
          kind: 's1',
          g,
          pt: s1(g),
          spare: s1(g),
          asid: 1 + ssid,
          vmid: 2,
          vas: [],
          cdExtra: cdFlags(),
        };
        c.writeCd = (f) => cdt.writeCd(2, ssid, f, false);
        c.steFields = () => ({ V: 1, Config: 5, S2VMID: 2, S1DSS: 1, ...cdt.steFields() });
        this.ctxs.push(c);
      }
    }
    // sid 3: stage 2 only, 4K granule, 40-bit IPA (two concatenated level-1 tables).
    {
      const s2 = () => new PageTable(m.mem, m.alloc, 12, 40, 2, 1);
      const ha = rng.chance(0.4);
      const c: Ctx = {
        name: 's2',
        sid: 3,
        ssid: -1,
        kind: 's2',
        g: 12,
        pt: s2(),
        spare: s2(),
        asid: 0,
        vmid: 3,
        vas: [],
        cdExtra: {},
      };
      c.steFields = () => ({
        V: 1,
        Config: 6,
        S2VMID: c.vmid,
        S2T0SZ: 24,
        S2SL0: 1,
        S2TG: 0,
        S2PS: 5,
        S2AA64: 1,
        S2R: 1,
        S2TTB: BigInt(c.pt.root),
        S2HA: ha ? 1 : 0,
        S2HD: ha && rng.chance(0.5) ? 1 : 0,
      });
      this.ctxs.push(c);
    }
    // sid 4: nested. Stage 2 maps RAM one-to-one (IPA = PA) with 2 MiB blocks, so the guest's
    // stage-1 tables, built at PAs, are also at those IPAs.
    {
      const s2 = new PageTable(m.mem, m.alloc, 12, 40, 2, 1);
      s2.map(BigInt(RAM_BASE), BigInt(RAM_BASE), 16n << 20n, { s2ap: 3 }, 21);
      this.nestedS2 = s2;
      const g = pick();
      const cdt = m.drv.makeCdTable(0, 0);
      const c: Ctx = {
        name: 'nested',
        sid: 4,
        ssid: -1,
        kind: 'nested',
        g,
        pt: s1(g),
        spare: s1(g),
        asid: 4,
        vmid: 4,
        vas: [],
        cdExtra: cdFlags(),
      };
      c.writeCd = (f) => cdt.writeCd(4, 0, f, false);
      c.steFields = () => ({
        V: 1,
        Config: 7,
        S2VMID: c.vmid,
        S2T0SZ: 24,
        S2SL0: 1,
        S2TG: 0,
        S2PS: 5,
        S2AA64: 1,
        S2R: 1,
        S2TTB: BigInt(s2.root),
        ...cdt.steFields(),
      });
      this.ctxs.push(c);
    }
    // Initial mappings, CDs and STEs.
    for (const c of this.ctxs) {
      const base = BigInt(rng.int(1 << 12)) << 28n; // a VA/IPA area per context
      for (let i = 0; i < 6; i++) {
        // Half of the pages share a last-level table with an earlier one.
        const span = BigInt(2 * c.g - 3);
        const va =
          i > 0 && rng.chance(0.5)
            ? (c.vas[rng.int(i)]! & ~((1n << span) - 1n)) + (BigInt(rng.int(1 << (c.g - 3))) << BigInt(c.g))
            : base + (BigInt(rng.int(1 << 14)) << BigInt(c.g));
        c.vas.push(va);
        this.mapRandom(c, va);
      }
      if (c.writeCd) c.writeCd(cdFields(c));
    }
    for (const c of this.ctxs) if (c.ssid <= 1) m.drv.writeSte(c.sid, c.steFields!(), false);
    this.cmd('CFGI_STE_RANGE', { Range: 31 });
    this.cmd('TLBI_NSNH_ALL', {});
    this.sync();
    this.cdFields = cdFields;
  }

  cdFields: (c: Ctx) => Record<string, bigint | number>;

  cmd(name: Parameters<Machine['drv']['cmd']>[0], f: FieldValues): void {
    this.m.drv.cmd(name, f);
  }

  sync(): void {
    this.m.drv.sync();
    expect((this.m.smmu.read32(0x9c) >>> 24) & 0x7f, 'CMDQ_CONS.ERR').toBe(0);
  }

  /** Maps `va` in the context's current tables to a random data page with random attributes. */
  mapRandom(c: Ctx, va: bigint): void {
    const rng = this.rng;
    const pa = BigInt(DATA) + (BigInt(rng.int(1 << 22)) & ~((1n << BigInt(c.g)) - 1n));
    if (c.kind === 's2') {
      c.pt.map(va, pa, 1n << 12n, {
        s2ap: rng.pick([3, 3, 1, 2]),
        xn: rng.int(4),
        af: rng.chance(0.85),
        dbm: rng.chance(0.3),
      });
    } else {
      c.pt.map(va, pa, 1n << BigInt(c.g), {
        ap: rng.int(4),
        pxn: rng.chance(0.2),
        uxn: rng.chance(0.2),
        af: rng.chance(0.85),
        dbm: rng.chance(0.3),
      });
    }
  }

  /** The invalidation a driver issues after changing the leaf for `va` of context `c`. */
  invalidateLeaf(c: Ctx, va: bigint): void {
    if (c.kind === 's2') this.cmd('TLBI_S2_IPA', { VMID: c.vmid, Address: va });
    else this.cmd('TLBI_NH_VA', { VMID: c.vmid, ASID: c.asid, Address: va & ((1n << 64n) - 4096n) });
    this.sync();
  }

  /** One random change with its invalidation. */
  change(): string {
    const rng = this.rng;
    const c = rng.pick(this.ctxs);
    const op = rng.int(10);
    const va = rng.pick(c.vas);
    switch (op) {
      case 0:
      case 1:
      case 2: // remap / change attributes
        this.mapRandom(c, va);
        this.invalidateLeaf(c, va);
        return `remap ${c.name} ${va.toString(16)}`;
      case 3: // unmap
        c.pt.unmap(va);
        this.invalidateLeaf(c, va);
        return `unmap ${c.name} ${va.toString(16)}`;
      case 4: {
        // new ASID (stage 1) / new VMID (stage 2)
        if (c.kind === 's2') {
          const old = c.vmid;
          c.vmid = this.nextVmid++;
          this.m.drv.writeSte(c.sid, c.steFields!(), false);
          this.cmd('CFGI_STE', { StreamID: c.sid, Leaf: 1 });
          this.cmd('TLBI_S12_VMALL', { VMID: old });
          this.sync();
          return `vmid ${c.name}`;
        }
        const old = c.asid;
        c.asid = this.nextAsid++;
        c.writeCd!(this.cdFields(c));
        this.cmd('CFGI_CD', { StreamID: c.sid, SubstreamID: Math.max(c.ssid, 0), Leaf: 1 });
        this.cmd('TLBI_NH_ASID', { VMID: c.vmid, ASID: old });
        this.sync();
        return `asid ${c.name}`;
      }
      case 5: {
        // switch to the spare tables (TTB0 / S2TTB)
        [c.pt, c.spare] = [c.spare, c.pt];
        if (c.kind === 's2') {
          this.m.drv.writeSte(c.sid, c.steFields!(), false);
          this.cmd('CFGI_STE', { StreamID: c.sid, Leaf: 1 });
          this.cmd('TLBI_S12_VMALL', { VMID: c.vmid });
        } else {
          c.writeCd!(this.cdFields(c));
          this.cmd('CFGI_CD', { StreamID: c.sid, SubstreamID: Math.max(c.ssid, 0), Leaf: 1 });
          this.cmd('TLBI_NH_ASID', { VMID: c.vmid, ASID: c.asid });
        }
        this.sync();
        for (const v of c.vas) if (rng.chance(0.5)) this.mapRandom(c, v);
        if (c.kind === 's2') this.cmd('TLBI_S12_VMALL', { VMID: c.vmid });
        else this.cmd('TLBI_NH_ASID', { VMID: c.vmid, ASID: c.asid });
        this.sync();
        return `tables ${c.name}`;
      }
      case 6: {
        // STE: another configuration and back (abort / bypass), or new flags
        const st = rng.pick([0, 4, -1]);
        const f = { ...c.steFields!(), ...(st >= 0 ? { Config: st } : {}) };
        this.m.drv.writeSte(c.sid, f, false);
        this.cmd('CFGI_STE', { StreamID: c.sid, Leaf: 1 });
        this.sync();
        if (st >= 0 && rng.chance(0.5)) {
          this.m.drv.writeSte(c.sid, c.steFields!(), false);
          this.cmd('CFGI_STE', { StreamID: c.sid, Leaf: 1 });
          this.sync();
        }
        return `ste ${c.name} ${st}`;
      }
      case 7: {
        // CD flags (HA/HD, WXN, PAN) change
        if (!c.writeCd) return 'noop';
        c.cdExtra = { ...c.cdExtra, WXN: rng.int(2), PAN: rng.int(2), HA: rng.int(2) };
        c.writeCd(this.cdFields(c));
        this.cmd('CFGI_CD', { StreamID: c.sid, SubstreamID: Math.max(c.ssid, 0), Leaf: 1 });
        this.cmd('TLBI_NH_ASID', { VMID: c.vmid, ASID: c.asid });
        this.sync();
        return `cdflags ${c.name}`;
      }
      case 8: {
        // drop a whole last-level table (zero its table descriptor): range invalidation
        const stride = c.g - 3;
        const span = c.g + stride; // bytes covered by one level-2 entry
        c.pt.unmap(va, span);
        const start = va & ~((1n << BigInt(span)) - 1n);
        // (NUM + 1) * 2^SCALE granules of TG (IHI0070 §4.4.1.1): one level-2 entry = 2^stride granules.
        const range = { TG: c.g === 12 ? 1 : c.g === 14 ? 2 : 3, SCALE: stride, NUM: 0, Address: start };
        if (c.kind === 's2') this.cmd('TLBI_S2_IPA', { VMID: c.vmid, ...range });
        else this.cmd('TLBI_NH_VA', { VMID: c.vmid, ASID: c.asid, ...range });
        this.sync();
        // Mapping where nothing was mapped needs no invalidation.
        for (const v of c.vas)
          if ((v & ~((1n << BigInt(span)) - 1n)) === start && rng.chance(0.5)) this.mapRandom(c, v);
        return `drop-table ${c.name} ${start.toString(16)}`;
      }
      default: {
        // the nested stream's stage 2: move or restrict one 2 MiB block of the data area
        const ipa = BigInt(DATA) + (BigInt(rng.int(2)) << 21n);
        const pa = rng.chance(0.5) ? ipa : BigInt(DATA) + (BigInt(rng.int(2)) << 21n);
        this.nestedS2.map(ipa, pa, 1n << 21n, { s2ap: rng.pick([3, 1]), xn: rng.int(4) }, 21);
        const vmid = this.ctxs.find((x) => x.kind === 'nested')!.vmid;
        this.cmd('TLBI_S2_IPA', { VMID: vmid, Address: ipa });
        this.cmd('TLBI_S12_VMALL', { VMID: vmid });
        this.sync();
        return `nested-s2 ${ipa.toString(16)}`;
      }
    }
  }

  /** A translation through context `c`, compared with the reference. */
  translate(c: Ctx): string[] {
    const rng = this.rng;
    const va = rng.chance(0.9) ? rng.pick(c.vas) + BigInt(rng.int(1 << c.g)) : rng.bits(40);
    return compareTxn(this.m, c.sid, c.ssid, va, rng.int(8), true);
  }
}

describe('caching mode after the right invalidations == walking every access', () => {
  it('random table / CD / STE changes, each followed by CFGI_* / TLBI_* and CMD_SYNC', () => {
    fc.assert(
      fc.property(seed, (s) => {
        const rng = new Rng(s);
        const w = new World(rng);
        const log: string[] = [];
        for (let step = 0; step < 200; step++) {
          if (rng.chance(0.2)) log.push(w.change());
          else {
            const c = rng.pick(w.ctxs);
            const errs = w.translate(c);
            if (errs.length)
              throw new Error(
                `seed ${s}, step ${step} (${c.name}); changes: ${log.slice(-6).join('; ')}\n${errs.join('\n')}`,
              );
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('caching mode without the invalidation keeps stale state (as silicon does)', () => {
  const read = (m: Machine, sid: number, ssid: number, va: bigint) => {
    const st = m.smmu.translate(sid, ssid, Number(va >> 32n), Number(va & 0xffff_ffffn), 0);
    return st === ST_OK ? m.smmu.res.pa : -1;
  };

  it('a remapped page keeps its old translation until TLBI_NH_VA + CMD_SYNC', () => {
    const w = new World(new Rng(7));
    const c = w.ctxs[0]!;
    const va = 0x1234_0000n;
    const page = (n: number) => BigInt(DATA + n * 0x1_0000);
    c.pt.map(va, page(1), 1n << BigInt(c.g), { ap: 1 });
    w.invalidateLeaf(c, va);
    expect(read(w.m, c.sid, c.ssid, va)).toBe(Number(page(1))); // fills the TLB
    c.pt.map(va, page(2), 1n << BigInt(c.g), { ap: 1 }); // no invalidation
    expect(read(w.m, c.sid, c.ssid, va)).toBe(Number(page(1))); // stale
    const ref = refTranslate(w.m.smmu, c.sid, c.ssid, va, 0);
    expect(ref.kind === 'ok' && ref.pa).toBe(page(2)); // memory says page 2
    w.invalidateLeaf(c, va);
    expect(read(w.m, c.sid, c.ssid, va)).toBe(Number(page(2)));
  });

  it('an unmapped page still translates until invalidated; a walk-mode SMMU faults at once', () => {
    const w = new World(new Rng(8));
    const c = w.ctxs.find((x) => x.kind === 's2')!;
    const ipa = 0x7654_3000n;
    c.pt.map(ipa, BigInt(DATA), 0x1000n, { s2ap: 3 });
    w.invalidateLeaf(c, ipa);
    expect(read(w.m, c.sid, -1, ipa)).toBe(DATA);
    c.pt.unmap(ipa);
    expect(read(w.m, c.sid, -1, ipa)).toBe(DATA); // stale TLB entry
    w.m.smmu.caching = false;
    expect(read(w.m, c.sid, -1, ipa)).toBe(-1); // walking: translation fault
    w.m.smmu.caching = true;
    w.invalidateLeaf(c, ipa);
    expect(read(w.m, c.sid, -1, ipa)).toBe(-1);
  });

  it('a CD rewritten with new TTB0 and ASID is not seen until CFGI_CD', () => {
    const w = new World(new Rng(9));
    const c = w.ctxs[0]!;
    const va = 0x4_0000_0000n;
    c.pt.map(va, BigInt(DATA), 1n << BigInt(c.g), { ap: 1 });
    c.spare.map(va, BigInt(DATA + 0x10_0000), 1n << BigInt(c.g), { ap: 1 });
    w.invalidateLeaf(c, va);
    expect(read(w.m, c.sid, c.ssid, va)).toBe(DATA);
    [c.pt, c.spare] = [c.spare, c.pt];
    c.asid = 999;
    c.writeCd!(w.cdFields(c));
    expect(read(w.m, c.sid, c.ssid, va)).toBe(DATA); // cached CD (and TLB entry under the old ASID)
    w.cmd('CFGI_CD', { StreamID: c.sid, SubstreamID: 0, Leaf: 1 });
    w.sync();
    expect(read(w.m, c.sid, c.ssid, va)).toBe(DATA + 0x10_0000);
  });

  it('an STE switched to abort keeps translating until CFGI_STE', () => {
    const w = new World(new Rng(10));
    const c = w.ctxs.find((x) => x.kind === 'nested')!;
    const va = 0x8_0000n;
    c.pt.map(va, BigInt(DATA), 1n << BigInt(c.g), { ap: 1 });
    w.invalidateLeaf(c, va);
    expect(read(w.m, c.sid, -1, va)).toBe(DATA);
    w.m.drv.writeSte(c.sid, { ...c.steFields!(), Config: 0 }, false);
    expect(read(w.m, c.sid, -1, va)).toBe(DATA); // stale configuration
    w.cmd('CFGI_STE', { StreamID: c.sid, Leaf: 1 });
    w.sync();
    expect(read(w.m, c.sid, -1, va)).toBe(-1);
  });
});
