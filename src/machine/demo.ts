// The demo machine (built on machine.ts): an Arm `virt`-like system (RAM at 0x4000_0000) with an SMMUv3 programmed the
// way Linux does, used by `npm start`, `iommu-emu image save`, tests and benchmarks.
import { PhysMem } from '../mem/phys-mem.ts';
import { PageAllocator, PageTable, type CdTable, type Smmuv3Driver } from '../driver/smmuv3-driver.ts';
import { linuxCd } from '../driver/smmuv3-driver.ts';
import { encode } from '../layout/layout.ts';
import { CD } from '../smmuv3/layouts.ts';
import type { SMMUv3, ModelOptions } from '../smmuv3/smmuv3.ts';
import { buildSmmuMachine } from './machine.ts';

export const RAM_BASE = 0x4000_0000;
/** RAM given to the nested guest: IPA 0 .. 4 MiB maps here. */
export const GUEST_RAM = RAM_BASE + (40 << 20);
export const GUEST_RAM_SIZE = 4 << 20;

export interface DemoMachine {
  mem: PhysMem;
  smmu: SMMUv3;
  drv: Smmuv3Driver;
  alloc: PageAllocator;
  /** StreamIDs: a plain DMA device, an SVA-capable device with 3 SubstreamIDs, a stage-2 device, nested, bypass, abort. */
  sids: { dma: number; sva: number; s2: number; nested: number; bypass: number; abort: number };
  pt: PageTable;
  cdt: CdTable;
}

/** Builds the demo machine: 2-level stream table, 2-level CD table, 4-level 4 KiB stage 1, S2, nested. */
export function buildDemoMachine(opts: ModelOptions = {}, ramSize = 64 << 20): DemoMachine {
  const guestBuf = new ArrayBuffer(GUEST_RAM_SIZE);
  const high = GUEST_RAM + GUEST_RAM_SIZE;
  const { mem, smmu, drv, alloc } = buildSmmuMachine({
    ram: [
      { base: RAM_BASE, size: GUEST_RAM - RAM_BASE },
      { base: GUEST_RAM, size: GUEST_RAM_SIZE, name: 'guest-ram', buffer: guestBuf },
      ...(ramSize > high - RAM_BASE
        ? [{ base: high, size: ramSize - (high - RAM_BASE), name: 'ram-high' }]
        : []),
    ],
    allocator: { base: RAM_BASE, size: 16 << 20 },
    model: { sidBits: 16, ssidBits: 20, oasBits: 48, ...opts },
    driver: { streamTable: '2level', split: 8, sidBits: 16 },
  });
  const guestMem = new PhysMem();
  guestMem.addRegion(0, GUEST_RAM_SIZE, 'guest-view', guestBuf);
  const sids = { dma: 0x8, sva: 0x10, s2: 0x18, nested: 0x20, bypass: 0x28, abort: 0x30 };

  // Device 0x8: DMA-API style domain: one CD (S1CDMax 0), IOVAs near the top of 32 bits.
  const pt = new PageTable(mem, alloc, 12, 48, 1);
  const dmaBuf = RAM_BASE + (32 << 20);
  pt.map(0xffff_0000n, BigInt(dmaBuf), 0x4000n, { ap: 1 }); // 4 pages RW
  pt.map(0xffff_4000n, BigInt(dmaBuf + 0x4000), 0x1000n, { ap: 3 }); // read-only
  pt.map(0xffff_5000n, BigInt(dmaBuf + 0x5000), 0x1000n, { ap: 0 }); // privileged only
  pt.map(0x8000_0000n, BigInt(RAM_BASE + (34 << 20)), 0x20_0000n, { ap: 1 }, 21); // one 2 MiB block
  pt.map(0x9000_0000n, BigInt(dmaBuf + 0x8000), 0x1000n, { ap: 1, af: false }); // access flag clear
  const cd0 = drv.makeCdTable(0, 0);
  cd0.writeCd(sids.dma, 0, linuxCd(pt.root, 1), false);
  drv.writeSte(sids.dma, { V: 1, Config: 5, ...cd0.steFields(), S1DSS: 0, STRW: 0, SHCFG: 1 });

  // Device 0x10: SSID-limited (S1CDMax 2: SubstreamIDs 0..3), 2-level CD table with 4 KiB leaves.
  const cdt = drv.makeCdTable(2, 1);
  const ptA = new PageTable(mem, alloc, 12, 48, 1);
  ptA.map(0x4000_0000n, BigInt(RAM_BASE + (36 << 20)), 0x1000n, { ap: 1 });
  const ptB = new PageTable(mem, alloc, 12, 48, 1);
  ptB.map(0x4000_0000n, BigInt(RAM_BASE + (37 << 20)), 0x1000n, { ap: 1 });
  cdt.writeCd(sids.sva, 1, linuxCd(ptA.root, 2), false);
  cdt.writeCd(sids.sva, 2, linuxCd(ptB.root, 3), false);
  drv.writeSte(sids.sva, { V: 1, Config: 5, ...cdt.steFields(), S1DSS: 1 });

  // Device 0x18: stage 2 only (a VM's device), 4 KiB granule, 40-bit IPA (2 concatenated level-1 tables).
  const s2 = new PageTable(mem, alloc, 12, 40, 2, 1);
  s2.map(0x1000n, BigInt(RAM_BASE + (38 << 20)), 0x2000n, { s2ap: 3 });
  drv.writeSte(sids.s2, {
    V: 1,
    Config: 6,
    S2VMID: 7,
    S2T0SZ: 24,
    S2SL0: 1,
    S2TG: 0,
    S2PS: 2,
    S2AA64: 1,
    S2R: 1,
    S2TTB: BigInt(s2.root),
  });

  // Device 0x20: nested. The guest's CD and stage-1 tables live at IPAs that stage 2 maps to the
  // guest's RAM; the guest builds them through its own view of that RAM (same bytes, IPA addresses).
  const s2n = new PageTable(mem, alloc, 12, 40, 2, 1);
  s2n.map(0n, BigInt(GUEST_RAM), BigInt(GUEST_RAM_SIZE), { s2ap: 3 }, 21);
  const gAlloc = new PageAllocator(guestMem, 0x1000, GUEST_RAM_SIZE - 0x1000);
  const gpt = new PageTable(guestMem, gAlloc, 12, 48, 1);
  gpt.map(0x10000n, 0x30_0000n, 0x2000n, { ap: 1 }); // guest VA 0x10000 -> IPA 0x300000
  const gcdIpa = gAlloc.alloc(64, 64);
  guestMem.writeQwords(gcdIpa, encode(CD, linuxCd(gpt.root, 9)));
  drv.writeSte(sids.nested, {
    V: 1,
    Config: 7,
    S1ContextPtr: BigInt(gcdIpa),
    S1CDMax: 0,
    S1Fmt: 0,
    S2VMID: 9,
    S2T0SZ: 24,
    S2SL0: 1,
    S2TG: 0,
    S2PS: 2,
    S2AA64: 1,
    S2R: 1,
    S2TTB: BigInt(s2n.root),
  });

  drv.writeSte(sids.bypass, { V: 1, Config: 4, SHCFG: 1 });
  drv.writeSte(sids.abort, { V: 1, Config: 0 });
  return { mem, smmu, drv, alloc, sids, pt, cdt };
}
