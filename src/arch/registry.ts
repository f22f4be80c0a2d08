// The IOMMU architectures the tools know. Adding one (VT-d) adds an entry here.
import type { IommuArch, Structure } from './arch.ts';
import { SMMUV3_ARCH } from './smmuv3.ts';

export type { IommuArch, IommuModel, Structure } from './arch.ts';

export const ARCHES: readonly IommuArch[] = [SMMUV3_ARCH];

export function archByName(name: string): IommuArch | undefined {
  return ARCHES.find((a) => a.name === name);
}

/**
 * A structure by CLI name, or a register as `<arch>-<register>` (`smmuv3-cr0`, `smmuv3-strtab_base_cfg`):
 * registers are layouts too, decoded as one value.
 */
export function lookupStructure(name: string): Structure | undefined {
  const s = STRUCTURES.get(name.toLowerCase());
  if (s) return s;
  for (const a of ARCHES) {
    const prefix = `${a.name}-`;
    if (!name.toLowerCase().startsWith(prefix)) continue;
    const r = a.registerByName(name.slice(prefix.length).toUpperCase());
    if (r) return { kind: 'fixed', layout: r };
  }
  return undefined;
}

/** Register names as `decode` accepts them (`smmuv3-cr0` …). */
export const REGISTER_STRUCTURE_NAMES: readonly string[] = ARCHES.flatMap((a) =>
  a.registers.map((r) => `${a.name}-${r.name.toLowerCase()}`),
);

/** Every structure of every architecture, by CLI name (names are unique across architectures). */
export const STRUCTURES: ReadonlyMap<string, Structure> = (() => {
  const m = new Map<string, Structure>();
  for (const a of ARCHES)
    for (const [n, s] of a.structures) {
      if (m.has(n)) throw new Error(`architecture registry: structure ${n} defined twice`);
      m.set(n, s);
    }
  return m;
})();
