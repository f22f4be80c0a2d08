// `npm start`: the end-to-end SMMUv3 demo. A driver (src/driver) builds a 2-level stream table,
// CD tables and page tables in emulated memory and programs the SMMU through MMIO and the command
// queue; devices then do DMA; the model walks the tables. Prints the translations, one fault of
// each common kind (read back from the event queue as a driver would), and a throughput figure.
import { parseArgs } from 'node:util';
import { saveSmmuImage } from '../image/image.ts';
import { getRegField } from '../smmuv3/regs.ts';
import { ACC_U, ACC_W, ACC_X, SMMUv3, ST_OK } from '../smmuv3/smmuv3.ts';
import { buildDemoMachine, type DemoMachine } from '../machine/demo.ts';

const hex = (v: number | bigint) => `0x${v.toString(16)}`;

interface Dma {
  what: string;
  sid: number;
  ssid: number;
  iova: bigint;
  acc: number;
}

function accName(acc: number): string {
  return (acc & ACC_W ? 'write' : acc & ACC_X ? 'exec ' : 'read ') + (acc & ACC_U ? ' unpriv' : '');
}

function run(m: DemoMachine, d: Dma): string {
  const st = m.smmu.translate(d.sid, d.ssid, Number(d.iova >> 32n), Number(d.iova & 0xffff_ffffn), d.acc);
  const res = m.smmu.res;
  const where = `sid ${hex(d.sid).padEnd(5)} ssid ${(d.ssid < 0 ? '-' : String(d.ssid)).padEnd(2)} iova ${hex(d.iova).padEnd(12)} ${accName(d.acc).padEnd(12)}`;
  if (st === ST_OK)
    return `  ${where} -> pa ${hex(res.pa).padEnd(12)} ${SMMUv3.permString(res.perm, (d.acc & ACC_U) !== 0).padEnd(2)}  ${d.what}`;
  return `  ${where} -> ${res.event ? 'fault' : 'abort, no event'}  ${d.what}`;
}

export async function runDemo(args: string[] = []): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'save-image': { type: 'string' }, quick: { type: 'boolean' } },
  });
  const m = buildDemoMachine();
  const { smmu, drv, sids } = m;
  const out = (s = '') => process.stdout.write(s + '\n');

  const idr0 = smmu.read32(0x0),
    idr1 = smmu.read32(0x4);
  out('iommu-emu: Arm SMMUv3 model, Arm virt-like machine (RAM at 0x40000000)');
  out(
    `  IDR0 ${hex(idr0)}  IDR1 ${hex(idr1)}  SIDSIZE ${getRegField('IDR1', 'SIDSIZE', idr1)}  SSIDSIZE ${getRegField('IDR1', 'SSIDSIZE', idr1)}  OAS ${smmu.feat.oasBits} bits  stall model ${getRegField('IDR0', 'STALL_MODEL', idr0)}`,
  );
  out(
    `  stream table: 2-level, SPLIT 8, at ${hex(drv.strtab)}; CMDQ at ${hex(drv.cmdqBase)}, EVTQ at ${hex(drv.evtqBase)}`,
  );
  out(
    '  devices: 0x8 DMA domain (S1, 4 KiB, 4 levels) | 0x10 SSID-limited device (S1CDMax 2, 2-level CD table)',
  );
  out('           0x18 stage 2 only | 0x20 nested (S1 inside a VM) | 0x28 bypass | 0x30 abort');
  out();
  out('DMA, walk on every access (every transaction reads STE, CD and page tables from memory):');
  const good: Dma[] = [
    { what: 'S1 page', sid: sids.dma, ssid: -1, iova: 0xffff_0010n, acc: 0 },
    { what: 'S1 page, write', sid: sids.dma, ssid: -1, iova: 0xffff_1ff8n, acc: ACC_W },
    { what: 'S1 read-only page', sid: sids.dma, ssid: -1, iova: 0xffff_4000n, acc: 0 },
    { what: 'S1 privileged-only page', sid: sids.dma, ssid: -1, iova: 0xffff_5008n, acc: ACC_W },
    { what: 'S1 2 MiB block', sid: sids.dma, ssid: -1, iova: 0x8012_3456n, acc: ACC_W },
    { what: 'SSID 1 -> its own address space', sid: sids.sva, ssid: 1, iova: 0x4000_0010n, acc: ACC_W },
    { what: 'SSID 2 -> same IOVA, other space', sid: sids.sva, ssid: 2, iova: 0x4000_0010n, acc: ACC_W },
    { what: 'no SSID: S1DSS bypass', sid: sids.sva, ssid: -1, iova: 0x4123_4567n, acc: 0 },
    { what: 'stage 2 only', sid: sids.s2, ssid: -1, iova: 0x1abcn, acc: ACC_W },
    { what: 'nested: VA -> IPA 0x300010 -> PA', sid: sids.nested, ssid: -1, iova: 0x1_0010n, acc: 0 },
    { what: 'STE bypass', sid: sids.bypass, ssid: -1, iova: 0x4000_1000n, acc: 0 },
    { what: 'STE abort', sid: sids.abort, ssid: -1, iova: 0x1000n, acc: 0 },
  ];
  for (const d of good) out(run(m, d));
  drv.readEvents(); // start the fault section with an empty queue
  out();
  out('Faults (one of each common kind), as the driver reads them back from the event queue:');
  const bad: Dma[] = [
    { what: 'unmapped IOVA', sid: sids.dma, ssid: -1, iova: 0x1000n, acc: 0 },
    { what: 'write to a read-only page', sid: sids.dma, ssid: -1, iova: 0xffff_4000n, acc: ACC_W },
    {
      what: 'unprivileged access to a privileged page',
      sid: sids.dma,
      ssid: -1,
      iova: 0xffff_5000n,
      acc: ACC_U,
    },
    { what: 'access flag clear', sid: sids.dma, ssid: -1, iova: 0x9000_0000n, acc: 0 },
    { what: 'IOVA beyond T0SZ', sid: sids.dma, ssid: -1, iova: 0x1_0000_0000_0000n, acc: 0 },
    { what: 'SSID with no CD written (CD.V = 0)', sid: sids.sva, ssid: 3, iova: 0x4000_0000n, acc: 0 },
    { what: 'SSID beyond S1CDMax: device has 4 SSIDs', sid: sids.sva, ssid: 4, iova: 0x4000_0000n, acc: 0 },
    { what: 'stage-2 fault', sid: sids.s2, ssid: -1, iova: 0x8000n, acc: 0 },
    { what: 'StreamID with no valid STE', sid: 0x38, ssid: -1, iova: 0n, acc: 0 },
    { what: 'StreamID beyond the stream table', sid: 0x1_0000, ssid: -1, iova: 0n, acc: 0 },
  ];
  for (const d of bad) out(run(m, d));
  out();
  for (const e of drv.readEvents()) {
    const f = e.fields;
    const parts = [`${e.type.padEnd(18)} StreamID ${hex(f.StreamID ?? 0n)}`];
    if (f.SSV === 1n || e.type === 'C_BAD_SUBSTREAMID') parts.push(`SubstreamID ${f.SubstreamID}`);
    if (f.InputAddr !== undefined) parts.push(`InputAddr ${hex(f.InputAddr)}`);
    if (f.RnW !== undefined) parts.push(f.RnW ? 'read' : 'write');
    if (f.PnU !== undefined) parts.push(f.PnU ? 'priv' : 'unpriv');
    if (f.S2 !== undefined) parts.push(`S2 ${f.S2}`);
    if (f.CLASS !== undefined) parts.push(`CLASS ${['CD', 'TT', 'IN', '?'][Number(f.CLASS)]}`);
    if (f.S2 === 1n && f.IPA !== undefined) parts.push(`IPA ${hex(f.IPA)}`);
    out('  ' + parts.join('  '));
  }

  // Throughput: one device, 4-level walks, in both modes (the benchmarks in bench/ are the real measure).
  out();
  const n = values.quick ? 200_000 : 2_000_000;
  const rate = (caching: boolean) => {
    smmu.caching = caching;
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      smmu.translate(sids.dma, -1, 0, 0xffff_0000 + ((i & 3) << 12) + (i & 0xff8), 0);
      sink += smmu.res.pa;
    }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    smmu.caching = false;
    return { mps: n / dt / 1e6, sink };
  };
  const w = rate(false);
  const c = rate(true);
  out(
    `Throughput (${n.toLocaleString('en')} translations, one core): walk on every access ${w.mps.toFixed(1)} M/s, architected caching (TLB hits) ${c.mps.toFixed(1)} M/s`,
  );
  out('  (npm run bench measures these properly, against a bare typed-array baseline)');
  if (values['save-image']) {
    saveSmmuImage(values['save-image'], m.mem, smmu);
    out(
      `\nImage written to ${values['save-image']} (iommu-emu translate --image ${values['save-image']} --sid 8 --iova 0xffff0010)`,
    );
  }
  return 0;
}

// Run when executed directly (npm start).
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('src/demo/main.ts')) {
  runDemo(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
