// Registers as the CLI shows them: by name, decoded by field. The one place that reads the register
// table (src/smmuv3/regs.ts), so that moving registers into the layout framework changes only this file.
import { REG_BY_NAME, REGS } from '../smmuv3/regs.ts';
import type { SMMUv3 } from '../smmuv3/smmuv3.ts';

export interface RegFieldValue {
  readonly name: string;
  readonly hi: number;
  readonly lo: number;
  /** The field's bits, right-aligned; for an address field (ADDR) the byte address they denote. */
  readonly value: bigint;
  readonly addr: boolean;
}

export interface RegView {
  readonly name: string;
  readonly offset: number;
  readonly size: 4 | 8;
  readonly spec: string;
  readonly value: bigint;
  readonly fields: readonly RegFieldValue[];
}

export const REG_NAMES: readonly string[] = REGS.map((r) => r.name);

/** The register `name` (spec spelling or alias) with value `v`, decoded; undefined for an unknown name. */
export function viewReg(name: string, v: bigint): RegView | undefined {
  const d = REG_BY_NAME.get(name);
  if (!d) return undefined;
  const fields = d.fields.map((f) => {
    const raw = (v >> BigInt(f.lo)) & ((1n << BigInt(f.hi - f.lo + 1)) - 1n);
    const addr = f.name === 'ADDR';
    return { name: f.name, hi: f.hi, lo: f.lo, value: addr ? raw << BigInt(f.lo) : raw, addr };
  });
  return { name: d.name, offset: d.offset, size: d.size, spec: d.spec, value: v, fields };
}

/** A register's current value in the model. */
export function readReg(smmu: SMMUv3, name: string): bigint {
  const d = REG_BY_NAME.get(name);
  if (!d) throw new RangeError(`no SMMUv3 register ${name}`);
  return d.size === 8 ? smmu.read64(d.offset) : BigInt(smmu.read32(d.offset) >>> 0);
}

/** A field of a register's current value. */
export function regFieldOf(smmu: SMMUv3, name: string, field: string): bigint {
  const f = viewReg(name, readReg(smmu, name))?.fields.find((x) => x.name === field);
  if (!f) throw new RangeError(`no field ${name}.${field}`);
  return f.value;
}

/** JSON form of a register field: "0x..." for addresses and fields wider than 32 bits, else a number. */
export function regFieldJson(f: RegFieldValue): number | string {
  return f.addr || f.hi - f.lo + 1 > 32 ? `0x${f.value.toString(16)}` : Number(f.value);
}
