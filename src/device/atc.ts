// Device side of ATS: an Address Translation Cache in a PCIe endpoint. It asks the SMMU for
// translations (ATS Translation Requests), caches the answers per (SubstreamID, 4 KiB page), and
// issues Translated transactions from the cache. CMD_ATC_INV, executed by the SMMU's command queue,
// reaches it through `smmu.atcInvalidate` (as an ATS Invalidate Request would over PCIe).
// Not the translation hot path: a Map is fine here.
import { ST_OK, type SMMUv3 } from '../smmuv3/smmuv3.ts';

export class Atc {
  private readonly entries = new Map<string, { pa: number; perm: number }>();
  invalidations = 0;

  constructor(
    readonly smmu: SMMUv3,
    readonly sid: number,
  ) {
    const prev = smmu.atcInvalidate;
    smmu.atcInvalidate = (s, ssid, global, addr, size) => {
      prev?.(s, ssid, global, addr, size);
      if (s === this.sid) this.invalidate(ssid, global, addr, size);
    };
  }

  private key(ssid: number, page: bigint): string {
    return `${ssid}:${page}`;
  }

  /** Translation for (ssid, iova): from the ATC, else an ATS request (cached on success). */
  translate(ssid: number, iova: bigint, acc: number): { pa: number; perm: number } | undefined {
    const page = iova >> 12n;
    const hit = this.entries.get(this.key(ssid, page));
    if (hit) return { pa: hit.pa + Number(iova & 0xfffn), perm: hit.perm };
    const st = this.smmu.translateAts(this.sid, ssid, Number(iova >> 32n), Number(iova & 0xffff_ffffn), acc);
    if (st !== ST_OK) return undefined;
    const pa = this.smmu.res.pa;
    const e = { pa: pa - (pa % 4096), perm: this.smmu.res.perm };
    this.entries.set(this.key(ssid, page), e);
    return { pa, perm: e.perm };
  }

  /** ATC_INV semantics (IHI0070 §4.6.1): span 4 KiB * 2^Size at Address; Size 52 = everything. */
  invalidate(ssid: number, global: boolean, addr: bigint, size: number): void {
    this.invalidations++;
    const span = size >= 52 ? 1n << 52n : 1n << BigInt(size);
    const first = (addr >> 12n) & ~(span - 1n);
    for (const k of [...this.entries.keys()]) {
      const [s, p] = k.split(':');
      const page = BigInt(p!);
      // Without a SubstreamID the invalidation covers every entry in the range (the safe reading of
      // PCIe's rule); with one, that SubstreamID's entries (Global: also the global ones).
      const ssidMatch = ssid < 0 || Number(s) === ssid || (global && Number(s) >= 0);
      if (ssidMatch && page >= first && page < first + span) this.entries.delete(k);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
