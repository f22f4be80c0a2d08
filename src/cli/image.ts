// iommu-emu image save | info | dump: write the demo machine as an image; show an image's
// configuration at a glance; decode the structures one StreamID (and SubstreamID) uses, in place.
import { getField } from '../layout/layout.ts';
import { ImageError, loadSmmuImage, prepareImageDir, saveSmmuImage } from '../image/image.ts';
import type { PhysMem } from '../mem/phys-mem.ts';
import { refTranslate } from '../ref/smmuv3-ref.ts';
import { EVT_BY_ID } from '../smmuv3/events.ts';
import { L1STD } from '../smmuv3/layouts.ts';
import type { SMMUv3 } from '../smmuv3/smmuv3.ts';
import { parseOptions, type OptionSpecs } from './args.ts';
import { decodedTable, decodeStructure, fieldJson, type Decoded } from './decode.ts';
import { CliError, didYouMean, parseUnsigned, quote, U32_MAX, U64_MAX } from './errors.ts';
import { ipa, steFields, type Read } from './explain.ts';
import type { Command, Io } from './io.ts';
import { readReg, REG_NAMES, regFieldJson, regFieldOf, viewReg } from './regs-view.ts';

const VERBS = ['save', 'info', 'dump'];

const OPTIONS: OptionSpecs = {
  json: { type: 'boolean', help: 'info, dump: one JSON object instead of text' },
  sid: { type: 'string', arg: 'N', help: 'dump: the StreamID' },
  ssid: { type: 'string', arg: 'N', help: 'dump: the SubstreamID (default: none)' },
  iova: { type: 'string', arg: 'X', help: 'dump: also decode the table descriptors the walk of X reads' },
};

function load(dir: string): { mem: PhysMem; smmu: SMMUv3 } {
  try {
    return loadSmmuImage(dir);
  } catch (e) {
    if (e instanceof ImageError) throw new CliError(e.message);
    throw e;
  }
}

const h = (v: bigint | number): string => `0x${v.toString(16)}`;

/** At most this many StreamIDs are scanned by `image info` (a stream table can name 2^32). */
const SCAN_MAX = 1 << 20;

interface StreamInfo {
  sid: number;
  ste: string;
  config: string;
  fields: Record<string, number | string>;
}

interface TableInfo {
  format: 'linear' | '2-level';
  base: string;
  log2size: number;
  split: number | null;
  streams: StreamInfo[];
  /** StreamIDs not scanned (beyond SCAN_MAX), 0 normally. */
  notScanned: number;
}

function streamTable(mem: PhysMem, smmu: SMMUv3): TableInfo {
  const fmt = Number(regFieldOf(smmu, 'STRTAB_BASE_CFG', 'FMT'));
  const sidBits = smmu.feat.sidBits;
  const log2size = Math.min(Number(regFieldOf(smmu, 'STRTAB_BASE_CFG', 'LOG2SIZE')), sidBits);
  let split = Number(regFieldOf(smmu, 'STRTAB_BASE_CFG', 'SPLIT'));
  const base = regFieldOf(smmu, 'STRTAB_BASE', 'ADDR');
  const twoLevel = fmt === 1 && smmu.feat.st2l;
  if (twoLevel && split !== 6 && split !== 8 && split !== 10) split = 6; // reserved SPLIT behaves as 6 (model choice)
  const streams: StreamInfo[] = [];
  const total = 2 ** log2size;
  let scanned = 0;
  const ste = (sid: number, addr: bigint): void => {
    const q: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      const v = mem.read64n(Number(addr) + i * 8);
      if (v === undefined) return;
      q.push(v);
    }
    if ((q[0]! & 1n) === 0n) return;
    const f = steFields(q);
    streams.push({ sid, ste: h(addr), config: String(f.Config), fields: f });
  };
  if (twoLevel) {
    const l1n = 2 ** Math.max(0, log2size - split);
    for (let i = 0; i < l1n && scanned < SCAN_MAX; i++) {
      const l1 = mem.read64n(Number(base) + i * 8);
      scanned += 2 ** split;
      if (l1 === undefined) continue;
      const span = Number(
        getField(
          [l1],
          L1STD.fields.find((f) => f.name === 'Span')!,
        ),
      );
      if (span === 0 || span > split + 1) continue;
      const l2 = getField(
        [l1],
        L1STD.fields.find((f) => f.name === 'L2Ptr')!,
      );
      const l2base = l2 & ~((1n << BigInt(span - 1 + 6)) - 1n);
      for (let j = 0; j < 2 ** (span - 1); j++) ste(i * 2 ** split + j, l2base + BigInt(j) * 64n);
    }
  } else {
    for (let sid = 0; sid < total && sid < SCAN_MAX; sid++, scanned++) ste(sid, base + BigInt(sid) * 64n);
  }
  return {
    format: twoLevel ? '2-level' : 'linear',
    base: h(base),
    log2size,
    split: twoLevel ? split : null,
    streams,
    notScanned: Math.max(0, total - scanned),
  };
}

function info(dir: string, json: boolean, io: Io): number {
  const { mem, smmu } = load(dir);
  const regs = REG_NAMES.map((n) => viewReg(n, readReg(smmu, n))!);
  const st = streamTable(mem, smmu);
  const chunks = mem.regions();
  if (json) {
    const registers: Record<string, { value: string; fields: Record<string, number | string> }> = {};
    for (const r of regs) {
      const fields: Record<string, number | string> = {};
      for (const f of r.fields) fields[f.name] = regFieldJson(f);
      registers[r.name] = { value: h(r.value), fields };
    }
    io.out(
      JSON.stringify({
        image: dir,
        iommu: 'smmuv3',
        memory: chunks.map((c) => ({ pa: h(c.base), size: h(c.size) })),
        registers,
        streamTable: { ...st, streams: undefined, notScanned: st.notScanned },
        streams: st.streams,
      }) + '\n',
    );
    return 0;
  }
  const bytes = chunks.reduce((a, c) => a + c.size, 0);
  const lines = [
    `image ${dir}: smmuv3, ${chunks.length} memory chunks (${h(bytes)} bytes)`,
    '',
    'registers (non-zero fields):',
  ];
  const w = Math.max(...regs.map((r) => r.name.length));
  for (const r of regs) {
    const nz = r.fields
      .filter((f) => f.value !== 0n)
      .map((f) => `${f.name}=${f.addr ? h(f.value) : f.value}`);
    const v = `0x${r.value.toString(16).padStart(r.size * 2, '0')}`;
    lines.push(`  ${r.name.padEnd(w)}  ${v.padEnd(18)}  ${nz.join(' ')}`.trimEnd());
  }
  lines.push('');
  const en = regFieldOf(smmu, 'CR0', 'SMMUEN');
  lines.push(
    `SMMU ${en ? 'enabled (CR0.SMMUEN=1)' : `disabled (CR0.SMMUEN=0): every transaction ${regFieldOf(smmu, 'GBPA', 'ABORT') ? 'aborts' : 'bypasses'} (GBPA)`}`,
  );
  lines.push(
    `stream table: ${st.format} at ${st.base}, LOG2SIZE ${st.log2size} (${2 ** st.log2size} StreamIDs)` +
      (st.split === null
        ? ''
        : `, SPLIT ${st.split} (${2 ** Math.max(0, st.log2size - st.split)} L1 descriptors)`),
  );
  if (st.notScanned) lines.push(`  (the first ${SCAN_MAX} StreamIDs scanned; ${st.notScanned} not)`);
  // Abort STEs (Linux fills unused ones with them) as StreamID ranges; the others one per line.
  const aborts = st.streams.filter((s) => s.config === 'ABORT').map((s) => s.sid);
  const others = st.streams.filter((s) => s.config !== 'ABORT');
  lines.push(`valid STEs: ${st.streams.length} (${others.length} not abort)`);
  if (aborts.length) lines.push(`  abort (Config=ABORT): StreamIDs ${ranges(aborts)}`);
  const sw = Math.max(4, ...others.map((s) => h(s.sid).length));
  for (const s of others) {
    const rest = Object.entries(s.fields)
      .filter(([k]) => k !== 'V' && k !== 'Config')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(`  sid ${h(s.sid).padEnd(sw)}  ${s.config.padEnd(8)}  STE @${s.ste}  ${rest}`.trimEnd());
  }
  io.out(lines.join('\n') + '\n');
  return 0;
}

const WALK_FAULTS = new Set(['F_TRANSLATION', 'F_ADDR_SIZE', 'F_ACCESS', 'F_PERMISSION', 'F_WALK_EABT']);

/** "0x0-0x7, 0x9, 0xb-0xff" for sorted integers. */
function ranges(v: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < v.length;) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[j]! + 1) j++;
    out.push(i === j ? h(v[i]!) : `${h(v[i]!)}-${h(v[j]!)}`);
    i = j + 1;
  }
  return out.join(', ');
}

interface DumpEntry {
  what: string;
  addr: string;
  decoded: Decoded | null;
}

function dump(
  dir: string,
  sid: number,
  ssid: number,
  iova: bigint | undefined,
  json: boolean,
  io: Io,
): number {
  const { smmu } = load(dir);
  const reads: Read[] = [];
  const r = refTranslate(smmu, sid, ssid, iova ?? 0n, 0, (kind, n, addr, value) =>
    reads.push({ kind, n, addr, value }),
  );
  // Without --iova only the configuration structures are shown.
  const shown = iova === undefined ? reads.filter((x) => x.kind !== 'S1' && x.kind !== 'S2') : reads;
  const entries: DumpEntry[] = [];
  for (let i = 0; i < shown.length; i++) {
    const x = shown[i]!;
    let q: (bigint | undefined)[] = [x.value];
    if (x.kind === 'STE' || x.kind === 'CD') {
      q = [];
      for (let n = 0; n < 8 && shown[i + n]?.kind === x.kind && shown[i + n]!.n === n; n++)
        q.push(shown[i + n]!.value);
      i += q.length - 1;
    }
    const missing = q.some((v) => v === undefined);
    let structure: string;
    let what: string;
    switch (x.kind) {
      case 'L1STD':
        [structure, what] = ['smmuv3-l1std', 'L1STD'];
        break;
      case 'STE':
        [structure, what] = ['smmuv3-ste', `STE[${h(sid)}]`];
        break;
      case 'L1CD':
        [structure, what] = ['smmuv3-l1cd', `L1CD${ipa(reads, reads.indexOf(x))}`];
        break;
      case 'CD':
        [structure, what] = ['smmuv3-cd', `CD[${ssid < 0 ? '-' : h(ssid)}]${ipa(reads, reads.indexOf(x))}`];
        break;
      default: {
        const v = x.value ?? 0n;
        const table = x.n < 3 && (v & 3n) === 3n;
        structure = table ? 'vmsav8-table' : x.kind === 'S1' ? 'vmsav8-s1-leaf' : 'vmsav8-s2-leaf';
        what = `${x.kind} level ${x.n} ${(v & 1n) === 0n ? 'invalid' : table ? 'table' : x.n === 3 ? 'page' : 'block'}`;
      }
    }
    entries.push({
      what,
      addr: h(x.addr),
      decoded: missing ? null : decodeStructure(structure, q as bigint[]),
    });
  }
  // Why reading stopped: a configuration fault (or, with --iova, any fault).
  const ev = r.kind === 'fault' ? (EVT_BY_ID[r.event]?.name ?? h(r.event)) : undefined;
  const stopped = ev !== undefined && (iova !== undefined || !WALK_FAULTS.has(ev)) ? ev : undefined;
  if (json) {
    const out = entries.map((e) => {
      if (!e.decoded) return { what: e.what, addr: e.addr, backed: false };
      const fields: Record<string, number | string> = {};
      for (const f of e.decoded.fields) fields[f.def.name] = fieldJson(f.def, f.value);
      return { what: e.what, addr: e.addr, structure: e.decoded.structure, fields };
    });
    io.out(
      JSON.stringify({
        request: { sid, ssid: ssid < 0 ? null : ssid, iova: iova === undefined ? null : h(iova) },
        structures: out,
        ...(stopped ? { stopped } : {}),
      }) + '\n',
    );
    return 0;
  }
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(`${e.what} @${e.addr}${e.decoded ? '' : ': not backed (external abort)'}`);
    if (e.decoded) lines.push(decodedTable(e.decoded).trimEnd());
    lines.push('');
  }
  if (entries.length === 0) lines.push('(nothing read)', '');
  if (stopped) lines.push(`reading stopped: ${stopped} (iommu-emu translate --explain tells why)`);
  io.out(lines.join('\n').trimEnd() + '\n');
  return 0;
}

export const imageCommand: Command = {
  name: 'image',
  summary: 'image save DIR | info DIR | dump DIR --sid N: write, summarise or decode a machine image',
  usage: [
    'iommu-emu image save DIR',
    'iommu-emu image info DIR [--json]',
    'iommu-emu image dump DIR --sid N [--ssid N] [--iova X] [--json]',
  ],
  options: OPTIONS,
  details: `save   writes the demo machine (registers + memory) as an image directory
info   the configuration at a glance: registers decoded by field, the stream-table format, every
       valid STE with its configuration
dump   the L1STD, STE, L1CD and CD that StreamID N (SubstreamID N) uses, each decoded at its
       address; with --iova also the table descriptors of the walk

examples:
  iommu-emu image info examples/images/linux-virt-smmuv3-4k
  iommu-emu image dump examples/images/linux-virt-smmuv3-4k --sid 8 --iova 0xffe46010`,
  run: (args, io) => {
    const { values, positionals } = parseOptions('image', args, OPTIONS);
    const [verb, dir, ...extra] = positionals;
    if (verb === undefined) throw new CliError('image: missing action (expected: save, info or dump)');
    if (!VERBS.includes(verb))
      throw new CliError(
        `image: unknown action ${quote(verb)}${didYouMean(verb, VERBS)} (expected: save, info or dump)`,
      );
    if (dir === undefined) throw new CliError(`image ${verb}: missing DIR`);
    if (extra.length) throw new CliError(`image ${verb}: unexpected argument ${quote(extra[0]!)}`);
    const only = (allowed: readonly string[]): void => {
      for (const k of Object.keys(values))
        if (values[k] !== undefined && !allowed.includes(k))
          throw new CliError(`image ${verb}: --${k} does not apply`);
    };
    if (verb === 'save') {
      only([]);
      // The target is checked (and created) before the machine is built.
      try {
        prepareImageDir(dir);
      } catch (e) {
        if (e instanceof ImageError) throw new CliError(e.message);
        throw e;
      }
      return import('../machine/demo.ts').then(({ buildDemoMachine }) => {
        const m = buildDemoMachine({}, 48 << 20);
        try {
          saveSmmuImage(dir, m.mem, m.smmu);
        } catch (e) {
          if (e instanceof ImageError) throw new CliError(e.message);
          throw e;
        }
        io.out(`wrote ${dir}/image.json and ${dir}/memory.bin.gz (${m.mem.regions().length} regions)\n`);
        return 0;
      });
    }
    if (verb === 'info') {
      only(['json']);
      return info(dir, values.json === true, io);
    }
    only(['json', 'sid', 'ssid', 'iova']);
    if (values.sid === undefined) throw new CliError('image dump: --sid N is required');
    const sid = Number(parseUnsigned(values.sid as string, 'image dump: --sid', U32_MAX));
    const ssid =
      values.ssid === undefined
        ? -1
        : Number(parseUnsigned(values.ssid as string, 'image dump: --ssid', U32_MAX));
    const iova =
      values.iova === undefined
        ? undefined
        : parseUnsigned(values.iova as string, 'image dump: --iova', U64_MAX);
    return dump(dir, sid, ssid, iova, values.json === true, io);
  },
};
