// The one machine builder: physical memory with RAM regions, an IOMMU model, a page allocator and
// the driver that initialises the IOMMU through MMIO. The demo, the benchmarks, the tests and the
// reference harness all start from it and add their own tables. This is the only place (with the
// scenarios built on it) that wires hardware models and software together.
import { PhysMem } from '../mem/phys-mem.ts';
import { PageAllocator, Smmuv3Driver, type DriverOptions } from '../driver/smmuv3-driver.ts';
import { SMMUv3, type ModelOptions } from '../smmuv3/smmuv3.ts';
import { regValue } from '../smmuv3/regs.ts';

/** A RAM region: base and size in bytes (optionally over a given buffer, shared with another view). */
export interface RamSpec {
  readonly base: number;
  readonly size: number;
  readonly name?: string;
  readonly buffer?: ArrayBuffer;
}

export interface SmmuMachineSpec {
  readonly iommu?: 'smmuv3';
  /** RAM regions; default 16 MiB at 0x4000_0000 (an Arm `virt` machine's RAM base). */
  readonly ram?: readonly RamSpec[];
  /** The model's features and mode (ID registers follow from them). */
  readonly model?: ModelOptions;
  /** How the driver lays out the stream table and queues. */
  readonly driver?: DriverOptions;
  /** The region the driver's page allocator hands out: default the first RAM region. */
  readonly allocator?: { readonly base: number; readonly size: number };
  /** CR2 bits the driver sets before enabling, as Linux does (RECINVSID, PTM), and E2H when asked. */
  readonly cr2?: { readonly RECINVSID?: number; readonly PTM?: number; readonly E2H?: number };
  /** The memory to use (e.g. a subclass that logs descriptor updates); default a new PhysMem. */
  readonly mem?: PhysMem;
  /** Leave the SMMU unprogrammed (no driver init). */
  readonly noInit?: boolean;
}

export interface SmmuMachine {
  readonly mem: PhysMem;
  readonly smmu: SMMUv3;
  readonly drv: Smmuv3Driver;
  readonly alloc: PageAllocator;
}

export const DEFAULT_RAM_BASE = 0x4000_0000;

/** Builds memory, an SMMUv3 and its driver, and initialises the SMMU (tables, queues, enable). */
export function buildSmmuMachine(spec: SmmuMachineSpec = {}): SmmuMachine {
  const mem = spec.mem ?? new PhysMem();
  const ram = spec.ram ?? [{ base: DEFAULT_RAM_BASE, size: 16 << 20 }];
  if (ram.length === 0) throw new RangeError('machine: at least one RAM region is needed');
  for (const r of ram) mem.addRegion(r.base, r.size, r.name ?? 'ram', r.buffer);
  const smmu = new SMMUv3(mem, spec.model ?? {});
  const first = ram[0]!;
  const alloc = new PageAllocator(
    mem,
    spec.allocator?.base ?? first.base,
    spec.allocator?.size ?? first.size,
  );
  const drv = new Smmuv3Driver(mem, smmu, alloc, spec.driver ?? {});
  if (spec.cr2) drv.w32('CR2', regValue('CR2', spec.cr2));
  if (!spec.noInit) drv.init();
  return { mem, smmu, drv, alloc };
}
