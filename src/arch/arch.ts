// What the tools need to know of an IOMMU architecture, in one entry per architecture: the
// structures `decode` and `lint` know, the register table, how an image's registers become a model,
// and how a DMA request names its source. The CLI, the image loader and the benchmarks read these
// entries (src/arch/registry.ts), so adding VT-d adds an entry, not a branch in each tool.
import type { Layout, RegisterDef } from '../layout/layout.ts';
import type { PhysMem } from '../mem/phys-mem.ts';

/** A structure the tools know: one fixed layout, or a family chosen by the type byte in q0[7:0]. */
export type Structure =
  | { readonly kind: 'fixed'; readonly layout: Layout }
  | {
      readonly kind: 'typed';
      readonly header: Layout;
      readonly pick: (type: number) => { name: string; layout: Layout } | undefined;
    };

/** The DMA API every model offers: a status code, details in a reused result. */
export interface IommuModel {
  translate(id: number, sub: number, addrHi: number, addrLo: number, acc: number): number;
  readonly res: {
    readonly status: number;
    readonly pa: number;
    readonly perm: number;
    readonly event: number;
    readonly recorded: boolean;
  };
  registerValues(): Record<string, bigint>;
  loadRegister(name: string, value: bigint): void;
}

/** Options every model takes (caching mode); an architecture's own options ride along. */
export interface ModelCreateOptions {
  readonly caching?: boolean;
}

export type Access = 'read' | 'write' | 'exec';

/** One DMA as the tools describe it: source ids (sub = -1: none), input address, access kind. */
export interface DmaRequest {
  readonly id: number;
  readonly sub: number;
  readonly addr: bigint;
  readonly access: Access;
  readonly unpriv: boolean;
}

/** A fault as the tools print it: its name and number in the architecture, and the raw record. */
export interface FaultJson {
  type: string;
  id: number;
  recorded?: false;
  record: string[];
}

/** The outcome of one DMA, in the one JSON form of `translate` (addresses as "0x…" strings). */
export type Outcome =
  | { ok: true; pa: string; perm: string }
  | { ok: false; abort: true }
  | { ok: false; stalled?: true; stag?: number; razwi?: true; event: FaultJson };

export interface IommuArch {
  /** The name images and the CLI use (`"iommu": "smmuv3"`). */
  readonly name: string;
  readonly title: string;
  /** Structures by CLI name (`smmuv3-ste`, `smmuv3-cr0`, `vmsav8-s1-leaf` …). */
  readonly structures: ReadonlyMap<string, Structure>;
  /** The register file, in the layout framework. */
  readonly registers: readonly RegisterDef[];
  /** A register by its name or an accepted alias. */
  registerByName(name: string): RegisterDef | undefined;
  /** Registers an image must give: those the model's features are read from. */
  readonly requiredRegisters: readonly string[];
  /** A model over `mem` whose features come from the ID registers in `regs` (other registers unset). */
  createModel(mem: PhysMem, regs: ReadonlyMap<string, bigint>, opts?: ModelCreateOptions): IommuModel;
  /** How a request names its source: StreamID / SubstreamID (SMMUv3), RID / PASID (VT-d). */
  readonly ids: { readonly id: string; readonly sub: string };
  /** Runs one DMA through a model of this architecture and describes the outcome. */
  runRequest(model: IommuModel, q: DmaRequest): Outcome;
}
