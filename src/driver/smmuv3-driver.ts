// Driver side of SMMUv3: what a kernel driver does, done only through emulated memory, MMIO and
// the command queue. It never reads the model's private state. Used by the demo, the tests and the
// benchmarks to build stream tables, CD tables and page tables the way Linux's arm-smmu-v3 and
// io-pgtable-arm do (in spirit; no code is shared).
import { encode, getField, fieldOf, wordsToQwords, type FieldValues } from '../layout/layout.ts';
import type { PhysMem } from '../mem/phys-mem.ts';
import { CMD_BY_OP, OP, type CmdName } from '../smmuv3/commands.ts';
import { EVT_BY_ID } from '../smmuv3/events.ts';
import { CD, L1CD, L1STD, STE } from '../smmuv3/layouts.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../pt/vmsav8-64.ts';
import { getRegField, reg, regValue, setRegField } from '../smmuv3/regs.ts';
import { qEmpty, qIndex, qNext } from '../smmuv3/queue.ts';
import type { Mmio } from '../mem/mmio.ts';

/** Bump allocator of zeroed, aligned physical memory inside [base, base + size). */
export class PageAllocator {
  private next: number;
  constructor(
    readonly mem: PhysMem,
    readonly base: number,
    readonly size: number,
  ) {
    this.next = base;
  }

  alloc(bytes: number, align = 4096): number {
    const at = Math.ceil(this.next / align) * align;
    if (at + bytes > this.base + this.size) throw new RangeError(`allocator: out of memory (${bytes} bytes)`);
    this.next = at + bytes;
    this.mem.fill(at, bytes, 0);
    return at;
  }
}

export interface MapAttrs {
  /** Stage 1: AP[2:1] (0: priv RW, 1: RW both, 2: priv RO, 3: RO both). Default 1. */
  ap?: number;
  /** Stage 2: S2AP (bit 0 read, bit 1 write). Default 3. */
  s2ap?: number;
  pxn?: boolean;
  uxn?: boolean;
  /** Stage 2 XN[1:0]. */
  xn?: number;
  af?: boolean;
  dbm?: boolean;
  nG?: boolean;
  attrIndx?: number;
}

/**
 * A VMSAv8-64 page-table builder (stage 1 or stage 2) in emulated memory. Descriptors are written
 * through the layout tables.
 */
export class PageTable {
  readonly root: number;
  readonly stride: number;
  readonly startLevel: number;
  readonly rootEntries: number;

  constructor(
    readonly mem: PhysMem,
    readonly alloc: PageAllocator,
    readonly granule: 12 | 14 | 16,
    readonly ias: number,
    readonly stage: 1 | 2 = 1,
    startLevel?: number,
  ) {
    this.stride = granule - 3;
    this.startLevel = startLevel ?? 4 - Math.ceil((ias - granule) / this.stride);
    const covered = granule + (3 - this.startLevel) * this.stride;
    this.rootEntries = 2 ** (ias - covered);
    this.root = alloc.alloc(Math.max(this.rootEntries * 8, 64), Math.max(this.rootEntries * 8, 4096));
  }

  private shiftAt(level: number): number {
    return this.granule + (3 - level) * this.stride;
  }

  /** Maps [va, va + size) to pa with leaves of 2^leafShift bytes (default: the granule). */
  map(va: bigint, pa: bigint, size: bigint, attrs: MapAttrs = {}, leafShift: number = this.granule): void {
    const step = 1n << BigInt(leafShift);
    for (let off = 0n; off < size; off += step) this.mapOne(va + off, pa + off, leafShift, attrs);
  }

  private mapOne(va: bigint, pa: bigint, leafShift: number, attrs: MapAttrs): void {
    const leafLevel = 3 - (leafShift - this.granule) / this.stride;
    if (!Number.isInteger(leafLevel) || leafLevel < this.startLevel)
      throw new RangeError(`no level maps ${2 ** leafShift} bytes`);
    let table = this.root;
    for (let level = this.startLevel; level < leafLevel; level++) {
      const s = this.shiftAt(level);
      const bits = level === this.startLevel ? this.ias - s : this.stride;
      const idx = Number((va >> BigInt(s)) & ((1n << BigInt(bits)) - 1n));
      const da = table + idx * 8;
      const d = this.mem.read64n(da)!;
      if ((d & 3n) === 3n) {
        table = Number(this.descAddr(d));
        continue;
      }
      const next = this.alloc.alloc(2 ** this.granule, 2 ** this.granule);
      const nb = BigInt(next);
      this.mem.writeQwords(da, [
        encode(VMSA_TABLE, { Valid: 1, Table: 1, NextLevelTableAddr: nb & ((1n << 48n) - 1n) })[0]! |
          this.addrHi(nb),
      ]);
      table = next;
    }
    const s = this.shiftAt(leafLevel);
    const bits = leafLevel === this.startLevel ? this.ias - s : this.stride;
    const idx = Number((va >> BigInt(s)) & ((1n << BigInt(bits)) - 1n));
    this.mem.writeQwords(table + idx * 8, [this.leaf(pa, leafLevel === 3, attrs)]);
  }

  /** Encodes a leaf descriptor. */
  leaf(pa: bigint, page: boolean, a: MapAttrs): bigint {
    const oa = pa & ((1n << 48n) - 1n);
    const common: Record<string, bigint | number> = {
      Valid: 1,
      Page: page ? 1 : 0,
      AF: a.af === false ? 0 : 1,
      OutputAddr: oa,
      DBM: a.dbm ? 1 : 0,
      SH: 3,
    };
    if (this.stage === 1) {
      return (
        encode(VMSA_S1_LEAF, {
          ...common,
          AP: a.ap ?? 1,
          PXN: a.pxn ? 1 : 0,
          UXN: a.uxn ? 1 : 0,
          nG: a.nG === false ? 0 : 1,
          AttrIndx: a.attrIndx ?? 0,
        })[0]! | this.addrHi(pa)
      );
    }
    return (
      encode(VMSA_S2_LEAF, { ...common, S2AP: a.s2ap ?? 3, XN: a.xn ?? 0, MemAttr: 0xf })[0]! |
      this.addrHi(pa)
    );
  }

  /** 64 KiB granule (FEAT_LPA): address bits [51:48] go to descriptor bits [15:12]. */
  private addrHi(pa: bigint): bigint {
    return this.granule === 16 ? ((pa >> 48n) & 0xfn) << 12n : 0n;
  }

  /** Address in a table or leaf descriptor. */
  descAddr(d: bigint): bigint {
    const a = getField([d], fieldOf(VMSA_TABLE, 'NextLevelTableAddr'));
    return this.granule === 16 ? (a & ~0xffffn) | (((d >> 12n) & 0xfn) << 48n) : a;
  }

  /** Clears the leaf for va (the caller must invalidate the TLB). */
  unmap(va: bigint, leafShift: number = this.granule): void {
    const leafLevel = 3 - (leafShift - this.granule) / this.stride;
    let table = this.root;
    for (let level = this.startLevel; ; level++) {
      const s = this.shiftAt(level);
      const bits = level === this.startLevel ? this.ias - s : this.stride;
      const da = table + Number((va >> BigInt(s)) & ((1n << BigInt(bits)) - 1n)) * 8;
      if (level === leafLevel) {
        this.mem.write64(da, 0, 0);
        return;
      }
      const d = this.mem.read64n(da)!;
      if ((d & 3n) !== 3n) return;
      table = Number(this.descAddr(d));
    }
  }
}

export interface DriverOptions {
  /** Stream table: 'linear' or '2level' (SPLIT 8 as Linux, or `split`). */
  streamTable?: 'linear' | '2level';
  split?: 6 | 8 | 10;
  /** log2 of the number of StreamIDs. Default 8. */
  sidBits?: number;
  cmdqLog2?: number;
  evtqLog2?: number;
  priqLog2?: number;
}

/**
 * Programs an SMMUv3 the way a kernel driver does: registers through MMIO writes, tables in memory,
 * invalidations through the command queue followed by CMD_SYNC.
 */
export class Smmuv3Driver {
  cmdqBase = 0;
  evtqBase = 0;
  priqBase = 0;
  strtab = 0;
  readonly cmdqLog2: number;
  readonly evtqLog2: number;
  readonly priqLog2: number;
  readonly sidBits: number;
  readonly twoLevel: boolean;
  readonly split: number;
  private readonly l2: Map<number, number> = new Map();

  constructor(
    readonly mem: PhysMem,
    /** The SMMU's register file: the driver reaches the hardware only through it, memory and the queues. */
    readonly smmu: Mmio,
    readonly alloc: PageAllocator,
    opts: DriverOptions = {},
  ) {
    this.cmdqLog2 = opts.cmdqLog2 ?? 8;
    this.evtqLog2 = opts.evtqLog2 ?? 7;
    this.priqLog2 = opts.priqLog2 ?? 6;
    this.sidBits = opts.sidBits ?? 8;
    this.twoLevel = opts.streamTable === '2level';
    this.split = opts.split ?? 8;
  }

  w32(name: string, v: number): void {
    this.smmu.write32(reg(name).offset, v >>> 0);
  }

  w64(name: string, v: bigint): void {
    this.smmu.write64(reg(name).offset, v);
  }

  r32(name: string): number {
    return this.smmu.read32(reg(name).offset);
  }

  /** Allocates queues and the stream table, programs the registers and enables the SMMU. */
  init(): void {
    const a = this.alloc;
    this.cmdqBase = a.alloc(16 << this.cmdqLog2, Math.max(32, 16 << this.cmdqLog2));
    this.evtqBase = a.alloc(32 << this.evtqLog2, Math.max(32, 32 << this.evtqLog2));
    this.priqBase = a.alloc(16 << this.priqLog2, Math.max(32, 16 << this.priqLog2));
    if (this.twoLevel) {
      const l1n = Math.max(1, 2 ** (this.sidBits - this.split));
      this.strtab = a.alloc(l1n * 8, Math.max(64, l1n * 8));
      this.w32(
        'STRTAB_BASE_CFG',
        regValue('STRTAB_BASE_CFG', { FMT: 1, SPLIT: this.split, LOG2SIZE: this.sidBits }),
      );
    } else {
      this.strtab = a.alloc(64 * 2 ** this.sidBits, 64 * 2 ** this.sidBits);
      this.w32('STRTAB_BASE_CFG', regValue('STRTAB_BASE_CFG', { FMT: 0, LOG2SIZE: this.sidBits }));
    }
    this.w64('STRTAB_BASE', BigInt(this.strtab) | (1n << 62n));
    this.w64('CMDQ_BASE', BigInt(this.cmdqBase) | BigInt(this.cmdqLog2) | (1n << 62n));
    this.w32('CMDQ_PROD', 0);
    this.w32('CMDQ_CONS', 0);
    this.w64('EVTQ_BASE', BigInt(this.evtqBase) | BigInt(this.evtqLog2) | (1n << 62n));
    this.w32('EVTQ_PROD', 0);
    this.w32('EVTQ_CONS', 0);
    this.w64('PRIQ_BASE', BigInt(this.priqBase) | BigInt(this.priqLog2) | (1n << 62n));
    this.w32('PRIQ_PROD', 0);
    this.w32('PRIQ_CONS', 0);
    // As Linux: record invalid-StreamID events, private TLB maintenance (no broadcast TLBI).
    this.w32('CR2', regValue('CR2', { RECINVSID: 1, PTM: 1 }));
    this.w32('IRQ_CTRL', regValue('IRQ_CTRL', { GERROR_IRQEN: 1, EVENTQ_IRQEN: 1, PRIQ_IRQEN: 1 }));
    this.w32('CR0', regValue('CR0', { CMDQEN: 1 }));
    this.cmd('CFGI_STE_RANGE', { Range: 31 });
    this.cmd('TLBI_NSNH_ALL', {});
    this.sync();
    this.w32('CR0', regValue('CR0', { CMDQEN: 1, EVENTQEN: 1, PRIQEN: 1, SMMUEN: 1 }));
  }

  /** Address of the STE for sid (allocating a level-2 table with 2^split STEs if needed). */
  steAddr(sid: number): number {
    if (!this.twoLevel) return this.strtab + sid * 64;
    const l1 = Math.floor(sid / 2 ** this.split);
    let l2 = this.l2.get(l1);
    if (l2 === undefined) {
      const n = 2 ** this.split;
      l2 = this.alloc.alloc(n * 64, n * 64);
      this.l2.set(l1, l2);
      this.mem.writeQwords(this.strtab + l1 * 8, encode(L1STD, { Span: this.split + 1, L2Ptr: BigInt(l2) }));
    }
    return l2 + (sid % 2 ** this.split) * 64;
  }

  /** Writes an STE: qwords 1-7 first, then qword 0 (with V), then CFGI_STE + SYNC. */
  writeSte(sid: number, fields: FieldValues, invalidate = true): void {
    const q = encode(STE, fields);
    const at = this.steAddr(sid);
    this.mem.writeQwords(at + 8, q.slice(1));
    this.mem.writeQwords(at, [q[0]!]);
    if (invalidate) {
      this.cmd('CFGI_STE', { StreamID: sid, Leaf: 1 });
      this.sync();
    }
  }

  /** A CD table for 2^cdmax SubstreamIDs: linear (fmt 0) or 2-level (fmt 1: 4K leaves, 2: 64K leaves). */
  makeCdTable(cdmax: number, fmt: 0 | 1 | 2): CdTable {
    if (fmt === 0 || cdmax === 0) {
      const n = 2 ** cdmax;
      return new CdTable(this, this.alloc.alloc(n * 64, Math.max(64, n * 64)), cdmax, 0);
    }
    const split = fmt === 1 ? 6 : 10;
    const l1n = Math.max(1, 2 ** (cdmax - split));
    return new CdTable(this, this.alloc.alloc(l1n * 8, Math.max(64, l1n * 8)), cdmax, fmt);
  }

  /** Queues one command (fields by spec name) and advances CMDQ_PROD. */
  cmd(name: CmdName, fields: FieldValues): void {
    const def = CMD_BY_OP[OP[name]]!;
    const q = encode(def.layout, { ...fields, Opcode: def.op });
    this.rawCmd(q);
  }

  /** Queues raw command qwords (for malformed-command tests). */
  rawCmd(q: readonly bigint[]): void {
    const prod = this.r32('CMDQ_PROD');
    const idx = qIndex(prod, this.cmdqLog2);
    this.mem.writeQwords(this.cmdqBase + idx * 16, [q[0] ?? 0n, q[1] ?? 0n]);
    this.w32('CMDQ_PROD', qNext(prod, this.cmdqLog2));
  }

  /** CMD_SYNC (completion signalled through an MSI write to a word of memory when possible). */
  sync(): void {
    this.cmd('SYNC', { CS: 0 });
  }

  /** Drains the event queue: decoded records (spec field names) as software sees them. */
  readEvents(): { type: string; fields: Record<string, bigint>; words: Uint32Array }[] {
    const out: { type: string; fields: Record<string, bigint>; words: Uint32Array }[] = [];
    const log2 = this.evtqLog2;
    for (;;) {
      const prod = this.r32('EVTQ_PROD');
      const cons = this.r32('EVTQ_CONS');
      if (qEmpty(prod, cons, log2)) break;
      const idx = qIndex(cons, log2);
      const q = this.mem.readQwords(this.evtqBase + idx * 32, 4);
      const words = new Uint32Array(8);
      q.forEach((v, i) => {
        words[2 * i] = Number(v & 0xffff_ffffn);
        words[2 * i + 1] = Number(v >> 32n);
      });
      const id = Number(q[0]! & 0xffn);
      const def = EVT_BY_ID[id];
      const fields: Record<string, bigint> = {};
      if (def) for (const f of def.layout.fields) fields[f.name] = getField(q, f);
      out.push({ type: def?.name ?? `0x${id.toString(16)}`, fields, words });
      // Acknowledge an overflow while consuming (OVACKFLG := OVFLG).
      const ovflg = getRegField('EVTQ_PROD', 'OVFLG', prod);
      this.w32('EVTQ_CONS', setRegField('EVTQ_CONS', 'OVACKFLG', qNext(cons, log2), ovflg));
    }
    return out;
  }
}

export { wordsToQwords };

/** A CD table (linear or 2-level) in memory. */
export class CdTable {
  constructor(
    readonly drv: Smmuv3Driver,
    readonly base: number,
    readonly cdmax: number,
    readonly fmt: 0 | 1 | 2,
  ) {}

  /** Address of CD `ssid`, allocating its leaf table (2-level) on first use. */
  cdAddr(ssid: number): number {
    if (this.fmt === 0) return this.base + ssid * 64;
    const split = this.fmt === 1 ? 6 : 10;
    const l1 = this.base + Math.floor(ssid / 2 ** split) * 8;
    const mem = this.drv.mem;
    let d = mem.read64n(l1)!;
    if ((d & 1n) === 0n) {
      const leaf = this.drv.alloc.alloc(64 * 2 ** split, this.fmt === 1 ? 4096 : 65536);
      mem.writeQwords(l1, encode(L1CD, { V: 1, L2Ptr: BigInt(leaf) }));
      d = mem.read64n(l1)!;
    }
    return Number(getField([d], fieldOf(L1CD, 'L2Ptr'))) + (ssid % 2 ** split) * 64;
  }

  /** Writes CD `ssid` (qword 0, holding V, last) and invalidates it with CFGI_CD + SYNC. */
  writeCd(sid: number, ssid: number, fields: FieldValues, invalidate = true): void {
    const q = encode(CD, fields);
    const at = this.cdAddr(ssid);
    this.drv.mem.writeQwords(at + 8, q.slice(1));
    this.drv.mem.writeQwords(at, [q[0]!]);
    if (invalidate) {
      this.drv.cmd('CFGI_CD', { StreamID: sid, SubstreamID: ssid, Leaf: 1 });
      this.drv.sync();
    }
  }

  /** STE fields that point at this table. */
  steFields(): Record<string, number | bigint> {
    return { S1ContextPtr: BigInt(this.base), S1CDMax: this.cdmax, S1Fmt: this.fmt };
  }
}

/** CD fields for a typical Linux stage-1 CD (4K granule, 48-bit VA, IPS 48, R/A/AA64 set). */
export function linuxCd(
  ttb0: number,
  asid: number,
  extra: FieldValues = {},
): Record<string, bigint | number> {
  return {
    V: 1,
    T0SZ: 16,
    TG0: 0,
    IR0: 1,
    OR0: 1,
    SH0: 3,
    EPD1: 1,
    IPS: 5,
    AA64: 1,
    R: 1,
    A: 1,
    ASET: 1,
    ASID: asid,
    TTB0: BigInt(ttb0),
    MAIR0: 0x0004ff44,
    ...extra,
  };
}
