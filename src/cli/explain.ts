// `translate --explain`: the walk as a person reads it. The slow reference model
// (src/ref/smmuv3-ref.ts) runs the request with its trace hook, which reports every configuration
// and descriptor read; this module groups the reads into steps (L1STD, STE, L1CD, CD, one table
// descriptor per level), picks the fields that mattered, and names the rule that decided the
// outcome. The outcome shown is always the fast model's; when the reference disagrees, the output
// says so.
import { getField, type FieldDef, type Layout } from '../layout/layout.ts';
import { refTranslate, type RefReadKind, type RefResult, REF_U, REF_W, REF_X } from '../ref/smmuv3-ref.ts';
import { EVT_BY_ID } from '../smmuv3/events.ts';
import { CD, L1CD, L1STD, STE } from '../smmuv3/layouts.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../pt/vmsav8-64.ts';
import { SMMUv3 } from '../smmuv3/smmuv3.ts';
import { fieldJson } from './decode.ts';
import { regFieldOf } from './regs-view.ts';
import {
  outcomeText,
  requestJson,
  runRequest,
  type Outcome,
  type RequestJson,
  type TranslateRequest,
} from './translate.ts';

export interface ExplainStep {
  /** L1STD, STE, L1CD, CD, S1 (stage-1 table descriptor), S2 (stage-2 table descriptor). */
  readonly kind: RefReadKind;
  /** A person's name for it: `STE[0x8]`, `S1 level 3 page`. */
  readonly what: string;
  /** Walk level for S1 / S2 steps; null otherwise. */
  readonly level: number | null;
  /** Address read ("0x..."). */
  readonly addr: string;
  /** The raw qwords read ("0x..." each; one for a descriptor, eight for an STE or CD); null: not backed. */
  readonly raw: string[] | null;
  /** The fields that mattered, decoded (JSON forms as `decode --json`). */
  readonly fields: Record<string, number | string>;
  /** Stage-1 descriptors: the input-address bits that indexed the table (`IOVA[20:12] = 0x1c3`); else null. */
  readonly index: string | null;
}

export interface Explanation {
  readonly request: RequestJson;
  /** What the (fast) model did: the same form as `translate --json`. */
  readonly outcome: Outcome;
  /** The reference model's outcome in one line, and whether it agrees with the model's. */
  readonly reference: { readonly agrees: boolean; readonly outcome: string };
  readonly steps: ExplainStep[];
  /** The rule that decided the outcome, with its section. */
  readonly rule: string;
}

export interface Read {
  kind: RefReadKind;
  n: number;
  addr: bigint;
  value: bigint | undefined;
}

const h = (v: bigint | number): string => `0x${v.toString(16)}`;
const q16 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

function pick(l: Layout, q: readonly bigint[], names: readonly string[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const n of names) {
    const f = l.fields.find((x) => x.name === n);
    if (f) out[n] = fieldValue(f, getField(q, f));
  }
  return out;
}

/** A field as the explanation shows it: its encoding name when it has one, else the JSON form. */
function fieldValue(f: FieldDef, v: bigint): number | string {
  if (f.values && f.kind !== 'addr')
    for (const [name, x] of Object.entries(f.values)) if (BigInt(x) === v) return name;
  return fieldJson(f, v);
}

const STE_S1 = ['S1Fmt', 'S1ContextPtr', 'S1CDMax', 'S1DSS', 'STRW'];
const STE_S2 = [
  'S2VMID',
  'S2T0SZ',
  'S2SL0',
  'S2TG',
  'S2PS',
  'S2AA64',
  'S2AFFD',
  'S2HA',
  'S2HD',
  'S2R',
  'S2S',
  'S2TTB',
];
const CD_R0 = ['T0SZ', 'TG0', 'EPD0', 'TTB0'];
const CD_R1 = ['T1SZ', 'TG1', 'EPD1', 'TTB1'];
const CD_COMMON = ['V', 'AA64', 'ASID', 'IPS', 'TBI', 'AFFD', 'HA', 'HD', 'WXN', 'PAN', 'R', 'A', 'S'];

export function steFields(q: readonly bigint[]): Record<string, number | string> {
  const cfg = Number(
    getField(
      q,
      STE.fields.find((f) => f.name === 'Config')!,
    ),
  );
  const names = ['V', 'Config'];
  if (cfg === 5 || cfg === 7) names.push(...STE_S1);
  if (cfg === 6 || cfg === 7) names.push(...STE_S2);
  const out = pick(STE, q, names);
  // Overrides that are not at their defaults.
  for (const [k, v] of Object.entries(pick(STE, q, ['PRIVCFG', 'INSTCFG', 'S1STALLD', 'EATS'])))
    if (v !== 0 && v !== 'INCOMING' && v !== 'ABORT') out[k] = v;
  return out;
}

function descFields(
  kind: 'S1' | 'S2',
  level: number,
  d: bigint,
): { what: string; fields: Record<string, number | string> } {
  const valid = (d & 1n) === 1n;
  const bit1 = (d & 2n) === 2n;
  if (!valid) return { what: `${kind} level ${level} invalid`, fields: { Valid: 0 } };
  if (level < 3 && bit1) {
    const names = ['Valid', 'Table', 'NextLevelTableAddr'];
    if (kind === 'S1') names.push('APTable', 'PXNTable', 'UXNTable');
    return { what: `${kind} level ${level} table`, fields: pick(VMSA_TABLE, [d], names) };
  }
  const l = kind === 'S1' ? VMSA_S1_LEAF : VMSA_S2_LEAF;
  const names =
    kind === 'S1'
      ? ['Valid', 'Page', 'OutputAddr', 'AP', 'AF', 'PXN', 'UXN', 'DBM', 'nG']
      : ['Valid', 'Page', 'OutputAddr', 'S2AP', 'AF', 'XN', 'DBM'];
  const what = level === 3 ? (bit1 ? 'page' : 'reserved (level-3 block)') : 'block';
  return { what: `${kind} level ${level} ${what}`, fields: pick(l, [d], names) };
}

/**
 * Drops a stage-2 walk that repeats the one just before it read for read (nested: the eight qwords
 * of a CD, or an L1CD and its CD, are translated one by one through the same stage-2 entries);
 * returns the reads and, per kept read index, how many times its walk was repeated.
 */
function dedupeS2(reads: readonly Read[]): { reads: Read[]; times: Map<number, number> } {
  const out: Read[] = [];
  const times = new Map<number, number>();
  let prev: { start: number; key: string } | null = null;
  for (let i = 0; i < reads.length;) {
    if (reads[i]!.kind !== 'S2') {
      out.push(reads[i]!);
      prev = null;
      i++;
      continue;
    }
    // One stage-2 walk: S2 reads with increasing levels.
    let j = i + 1;
    while (j < reads.length && reads[j]!.kind === 'S2' && reads[j]!.n > reads[j - 1]!.n) j++;
    const walk = reads.slice(i, j);
    const key = walk.map((r) => `${r.n}:${r.addr}:${r.value}`).join(',');
    if (prev && prev.key === key) {
      times.set(prev.start, (times.get(prev.start) ?? 1) + 1);
    } else {
      prev = { start: out.length + walk.length - 1, key };
      out.push(...walk);
    }
    i = j;
  }
  return { reads: out, times };
}

/** " (IPA)" for a CD / L1CD read of a nested stream (stage-2 reads came before it): its address is an IPA. */
export function ipa(reads: readonly Read[], i: number): string {
  for (let j = 0; j < i; j++) if (reads[j]!.kind === 'S2') return ' (IPA)';
  return '';
}

export function steps(all: readonly Read[], sid: number, ssid: number, iova: bigint): ExplainStep[] {
  const { reads, times } = dedupeS2(all);
  const out: ExplainStep[] = [];
  // Stage-1 geometry from the CD (granule and input size of the half the address is in), for the
  // index bits of each level (DDI 0487 D8.2: AArch64.S1StartLevel).
  let s1: { g: number; ias: number; start: number } | null = null;
  for (let i = 0; i < reads.length; i++) {
    const r = reads[i]!;
    if (r.kind === 'STE' || r.kind === 'CD') {
      // The eight qwords of one STE / CD arrive as n = 0..7.
      const group: Read[] = [r];
      while (group.length < 8 && reads[i + 1]?.kind === r.kind && reads[i + 1]!.n === group.length)
        group.push(reads[++i]!);
      const missing = group.some((g) => g.value === undefined);
      const q = group.map((g) => g.value ?? 0n);
      let fields: Record<string, number | string> = {};
      if (!missing) {
        if (r.kind === 'STE') fields = steFields(q);
        else {
          const upper = ((iova >> 55n) & 1n) === 1n;
          fields = pick(CD, q, [...CD_COMMON.slice(0, 3), ...(upper ? CD_R1 : CD_R0), ...CD_COMMON.slice(3)]);
          const g = { '4K': 12, '16K': 14, '64K': 16 }[String(upper ? fields.TG1 : fields.TG0)];
          const ias = 64 - Number(upper ? fields.T1SZ : fields.T0SZ);
          s1 = g === undefined ? null : { g, ias, start: 3 - Math.floor((ias - 1 - g) / (g - 3)) };
        }
      }
      out.push({
        kind: r.kind,
        what: r.kind === 'STE' ? `STE[${h(sid)}]` : `CD[${ssid < 0 ? '-' : h(ssid)}]${ipa(reads, i)}`,
        level: null,
        addr: h(r.addr),
        raw: missing ? null : q.map(q16),
        fields,
        index: null,
      });
      continue;
    }
    if (r.kind === 'L1STD' || r.kind === 'L1CD') {
      out.push({
        kind: r.kind,
        what: r.kind === 'L1CD' ? `L1CD${ipa(reads, i)}` : r.kind,
        level: null,
        addr: h(r.addr),
        raw: r.value === undefined ? null : [q16(r.value)],
        fields:
          r.value === undefined
            ? {}
            : pick(
                r.kind === 'L1STD' ? L1STD : L1CD,
                [r.value],
                r.kind === 'L1STD' ? ['Span', 'L2Ptr'] : ['V', 'L2Ptr'],
              ),
        index: null,
      });
      continue;
    }
    const d = r.value;
    const x =
      d === undefined
        ? { what: `${r.kind} level ${r.n} (not backed)`, fields: {} }
        : descFields(r.kind, r.n, d);
    const rep = times.get(i);
    if (rep !== undefined) x.what += ` (walk ×${rep})`;
    out.push({
      kind: r.kind,
      what: x.what,
      level: r.n,
      addr: h(r.addr),
      raw: d === undefined ? null : [q16(d)],
      fields: x.fields,
      index: r.kind === 'S1' && s1 ? indexBits(s1, r.n, iova) : null,
    });
  }
  return out;
}

function indexBits(c: { g: number; ias: number; start: number }, level: number, iova: bigint): string {
  const lo = c.g + (3 - level) * (c.g - 3);
  const hi = level === c.start ? c.ias - 1 : lo + c.g - 4;
  if (hi < lo || lo > 63) return '';
  const v = (iova >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
  return `IOVA[${hi}:${lo}] = ${h(v)}`;
}

function refLine(r: RefResult): string {
  if (r.kind === 'ok') return `ok pa=${h(r.pa)}`;
  if (r.kind === 'abort') return 'abort (no event)';
  return `fault ${EVT_BY_ID[r.event]?.name ?? h(r.event)}${r.s2 ? ' (stage 2)' : ''}`;
}

function agrees(r: RefResult, o: Outcome): boolean {
  if (o.ok) return r.kind === 'ok' && h(r.pa) === o.pa;
  if ('abort' in o) return r.kind === 'abort';
  return r.kind === 'fault' && r.event === o.event.id;
}

/** Stage-1 AP[2:1] (DDI 0487 D8.4, direct permissions). */
const AP_TEXT = [
  'read/write, privileged only',
  'read/write at both privilege levels',
  'read-only, privileged only',
  'read-only at both privilege levels',
];

function accessText(q: TranslateRequest): string {
  const a = q.access === 'exec' ? 'instruction fetch' : q.access;
  return `${q.unpriv ? 'unprivileged' : 'privileged'} ${a}`;
}

/** The rule that decided the outcome, from the reference result and the last steps. */
function ruleOf(
  smmu: SMMUv3,
  q: TranslateRequest,
  ref: RefResult,
  st: readonly ExplainStep[],
  o: Outcome,
): string {
  const last = st[st.length - 1];
  const lastOf = (k: RefReadKind) => [...st].reverse().find((s) => s.kind === k);
  if (ref.kind === 'ok') {
    const leaf = last && (last.kind === 'S1' || last.kind === 'S2') ? last : undefined;
    const perm = o.ok ? `; permissions ${o.perm || '(none)'} allow a ${accessText(q)}` : '';
    if (!leaf) return `no translation (bypass): PA = input address${perm} (IHI 0070 §3.3, §5.2 Config)`;
    const lo = /IOVA\[\d+:(\d+)\]/.exec(leaf.index ?? '')?.[1];
    const low = lo === undefined ? 'the input address bits below its size' : `IOVA[${Number(lo) - 1}:0]`;
    return `${leaf.what}: PA = OutputAddr ${String(leaf.fields.OutputAddr)} | ${low}${perm} (DDI 0487 D8.3)`;
  }
  if (ref.kind === 'abort') {
    if (regFieldOf(smmu, 'CR0', 'SMMUEN') === 0n)
      return 'SMMU_CR0.SMMUEN = 0 and SMMU_GBPA.ABORT = 1: terminated without an event (IHI 0070 §6.3.14)';
    return 'STE.Config = 0b0xx (abort): terminated without an event (IHI 0070 §5.2)';
  }
  const name = EVT_BY_ID[ref.event]?.name ?? h(ref.event);
  const stage = ref.s2 ? 'stage 2' : 'stage 1';
  switch (name) {
    case 'C_BAD_STREAMID': {
      const l1 = lastOf('L1STD');
      if (l1 && last === l1)
        return `L1STD.Span = ${String(l1.fields.Span)} does not cover StreamID ${h(q.sid)} (0: no level-2 table) (IHI 0070 §5.1, §7.3.2)`;
      return `StreamID ${h(q.sid)} is beyond the stream table (2^STRTAB_BASE_CFG.LOG2SIZE, at most 2^IDR1.SIDSIZE entries) (IHI 0070 §6.3.24, §7.3.2)`;
    }
    case 'F_STE_FETCH':
      return `the STE read at ${h(ref.addr)} was an external abort (address not backed) (IHI 0070 §7.3.4)`;
    case 'C_BAD_STE':
      if (lastOf('STE')?.fields.V === 0) return 'STE.V = 0: the STE is not valid (IHI 0070 §5.2, §7.3.5)';
      return 'the STE is ILLEGAL for this SMMU: a field holds a value the SMMU does not support (IHI 0070 §5.2, §7.3.5)';
    case 'C_BAD_SUBSTREAMID': {
      const l1 = lastOf('L1CD');
      if (l1 && last === l1)
        return 'L1CD.V = 0 (or L2Ptr beyond the address size): no CD table for this SubstreamID (IHI 0070 §5.3, §7.3.9)';
      if (q.ssid < 0) return 'a SubstreamID is needed here (IHI 0070 §7.3.9)';
      return `SubstreamID ${h(q.ssid)} is beyond SMMU_IDR1.SSIDSIZE or 2^STE.S1CDMax, or the stream has no CDs (IHI 0070 §3.3.2, §7.3.9)`;
    }
    case 'F_STREAM_DISABLED':
      return q.ssid < 0
        ? 'a transaction without SubstreamID on a stream with STE.S1CDMax > 0 and S1DSS = TERMINATE (IHI 0070 §5.2 S1DSS, §7.3.7)'
        : 'SubstreamID 0 with STE.S1DSS = SUBSTREAM0 (CD 0 serves the traffic without SubstreamID) (IHI 0070 §5.2, §7.3.7)';
    case 'F_CD_FETCH':
      return `the CD read at ${h(ref.addr)} was an external abort (address not backed) (IHI 0070 §7.3.10)`;
    case 'C_BAD_CD':
      if (lastOf('CD')?.fields.V === 0) return 'CD.V = 0: the CD is not valid (IHI 0070 §5.4, §7.3.11)';
      return 'the CD is ILLEGAL for this SMMU: a field holds a value the SMMU does not support (IHI 0070 §5.4, §7.3.11)';
    case 'F_WALK_EABT':
      return `the ${stage} descriptor read at ${h(ref.addr)} was an external abort (address not backed) (IHI 0070 §7.3.12)`;
    case 'F_TRANSLATION': {
      const d = last && (last.kind === 'S1' || last.kind === 'S2') ? last : undefined;
      if (d?.fields.Valid === 0)
        return `${stage}: the level ${d.level} descriptor is invalid (bit[0] = 0) (DDI 0487 D8.3; IHI 0070 §7.3.13)`;
      if (d?.what.includes('reserved'))
        return `${stage}: a level-3 descriptor with bit[1] = 0 is reserved (DDI 0487 D8.3)`;
      if (d?.what.endsWith('block'))
        return `${stage}: a block descriptor is not allowed at level ${d.level} with this granule (DDI 0487 D8.3)`;
      return `${stage}: the input address is outside the range the table covers (TxSZ / S2T0SZ, TBI, EPDx) (DDI 0487 D8.2; IHI 0070 §3.4, §7.3.13)`;
    }
    case 'F_ADDR_SIZE':
      return `${stage}: an output or next-table address is beyond the output size (CD.IPS / STE.S2PS, SMMU_IDR5.OAS) (DDI 0487 D8.3; IHI 0070 §3.4, §7.3.14)`;
    case 'F_ACCESS':
      return `${stage}: the leaf has AF = 0, access-flag faults are enabled (AFFD = 0) and hardware does not set AF (HA = 0) (DDI 0487 D8.4; IHI 0070 §7.3.15)`;
    case 'F_PERMISSION': {
      const p = o.ok
        ? ''
        : ` (the access needs ${q.access === 'write' ? 'write' : q.access === 'exec' ? 'execute' : 'read'} permission)`;
      const leaf = last && (last.kind === 'S1' || last.kind === 'S2') ? last : undefined;
      const ap = leaf?.kind === 'S1' ? AP_TEXT[Number(leaf.fields.AP)] : undefined;
      const why = ap
        ? `AP=0b${Number(leaf!.fields.AP).toString(2).padStart(2, '0')} (${ap})`
        : "the leaf's permissions (AP / S2AP, XN";
      return `${stage}: ${ap ? `${why} does` : `${why}, with the table attributes, WXN, PAN) do`} not allow a ${accessText(q)}${p} (DDI 0487 D8.4; IHI 0070 §7.3.16)`;
    }
    default:
      return `${name} (IHI 0070 §7.3)`;
  }
}

/** Explains one request on `smmu` (the reference runs first: it never writes memory). */
export function explainRequest(smmu: SMMUv3, q: TranslateRequest): Explanation {
  const reads: Read[] = [];
  const acc = (q.access === 'write' ? REF_W : q.access === 'exec' ? REF_X : 0) | (q.unpriv ? REF_U : 0);
  const ref = refTranslate(smmu, q.sid, q.ssid, q.iova, acc, (kind, n, addr, value) =>
    reads.push({ kind, n, addr, value }),
  );
  const outcome = runRequest(smmu, q);
  const st = steps(reads, q.sid, q.ssid, q.iova);
  return {
    request: requestJson(q),
    outcome,
    reference: { agrees: agrees(ref, outcome), outcome: refLine(ref) },
    steps: st,
    rule: ruleOf(smmu, q, ref, st, outcome),
  };
}

function fieldsText(f: Record<string, number | string>): string {
  return Object.entries(f)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The text diagram. */
export function explainText(x: Explanation): string {
  const r = x.request;
  const lines = [
    `translate sid ${h(r.sid)}${r.ssid === null ? '' : ` ssid ${h(r.ssid)}`} iova ${r.iova} (${r.unpriv ? 'unprivileged' : 'privileged'} ${r.access})`,
  ];
  const w = Math.max(8, ...x.steps.map((s) => s.what.length));
  const aw = Math.max(4, ...x.steps.map((s) => s.addr.length));
  for (const s of x.steps) {
    const raw =
      s.raw === null
        ? 'not backed (external abort)'
        : s.raw.length === 1
          ? s.raw[0]!
          : `${s.raw[0]!} +7 qwords`;
    lines.push(`  ├─ ${s.what.padEnd(w)}  @${s.addr.padEnd(aw)}  ${raw}${s.index ? `  ${s.index}` : ''}`);
    if (s.raw && s.raw.length > 1) lines.push(`  │    raw ${s.raw.join(' ')}`);
    if (Object.keys(s.fields).length) lines.push(`  │    ${fieldsText(s.fields)}`);
  }
  if (x.steps.length === 0) lines.push('  ├─ (no table read)');
  const out = outcomeText(x.outcome).split('\n');
  lines.push(`  └─ ${out[0]!}`);
  for (const l of out.slice(1)) lines.push(`     ${l}`);
  lines.push(`     rule: ${x.rule}`);
  lines.push(
    x.reference.agrees
      ? `     reference model: agrees (${x.reference.outcome})`
      : `     reference model DISAGREES: ${x.reference.outcome} (the outcome above is the model's)`,
  );
  return lines.join('\n') + '\n';
}
