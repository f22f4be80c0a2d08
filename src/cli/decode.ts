// `iommu-emu decode <structure> <qword0> [<qword1> ...] [--json]`: decodes raw qwords through the
// layout tables (src/smmuv3/*.ts) and prints every field, or one line of JSON.
import { getField, hex } from '../layout/layout.ts';
import type { FieldDef, Layout } from '../layout/layout.ts';
import { lintStructure } from '../layout/lint.ts';
import { CD, L1CD, L1STD, STE } from '../smmuv3/layouts.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../pt/vmsav8-64.ts';
import { CMD_BY_OP, CMD_HEADER } from '../smmuv3/commands.ts';
import { EVT_BY_ID, EVT_HEADER, PRIQ_ENTRY } from '../smmuv3/events.ts';
import { parseOptions } from './args.ts';
import { CliError, didYouMean, parseU64, quote } from './errors.ts';
import { processIo, type Command, type Io } from './io.ts';

/** A structure the CLI knows: either one fixed layout, or a family chosen by the type byte in q0[7:0]. */
type Structure =
  | { readonly kind: 'fixed'; readonly layout: Layout }
  | {
      readonly kind: 'typed';
      readonly header: Layout;
      readonly pick: (type: number) => { name: string; layout: Layout } | undefined;
    };

// The decode registry: one entry per structure the CLI can decode, named as the layout names it.
// Registers: the lead adds register entries here (e.g. `smmuv3-reg-cr0`) once registers are layouts
// in src/layout (issue 6 §1); `decode` then knows them without further change.
const STRUCTURES: ReadonlyMap<string, Structure> = new Map<string, Structure>([
  ['smmuv3-ste', { kind: 'fixed', layout: STE }],
  ['smmuv3-cd', { kind: 'fixed', layout: CD }],
  ['smmuv3-l1std', { kind: 'fixed', layout: L1STD }],
  ['smmuv3-l1cd', { kind: 'fixed', layout: L1CD }],
  ['smmuv3-cmd', { kind: 'typed', header: CMD_HEADER, pick: (op) => CMD_BY_OP[op] }],
  ['smmuv3-evt', { kind: 'typed', header: EVT_HEADER, pick: (id) => EVT_BY_ID[id] }],
  ['smmuv3-priq', { kind: 'fixed', layout: PRIQ_ENTRY }],
  // VMSAv8-64 translation table descriptors (DDI 0487 D8.3).
  [VMSA_TABLE.name, { kind: 'fixed', layout: VMSA_TABLE }],
  [VMSA_S1_LEAF.name, { kind: 'fixed', layout: VMSA_S1_LEAF }],
  [VMSA_S2_LEAF.name, { kind: 'fixed', layout: VMSA_S2_LEAF }],
]);

export const STRUCTURE_NAMES: readonly string[] = [...STRUCTURES.keys()];

export interface DecodedField {
  readonly def: FieldDef;
  /** Field value (for an address field, the byte address). */
  readonly value: bigint;
  /** Name of the encoding from the field's `values`, if one matches. */
  readonly encoding?: string;
}

export interface Decoded {
  /** Structure name as given by the caller. */
  readonly structure: string;
  readonly layout: Layout;
  /** Command / event name for smmuv3-cmd and smmuv3-evt (`UNKNOWN(0x..)` when not defined). */
  readonly type?: string;
  /** False when the type byte is unknown and only the header was decoded. */
  readonly known: boolean;
  readonly fields: readonly DecodedField[];
  /** Reserved-bit findings (empty for an unknown type: its reserved bits are not known). */
  readonly warnings: readonly string[];
}

function lookup(structure: string): Structure {
  const s = STRUCTURES.get(structure.toLowerCase());
  if (!s)
    throw new CliError(
      `unknown structure ${quote(structure)}${didYouMean(structure, STRUCTURE_NAMES)} (expected one of: ${STRUCTURE_NAMES.join(', ')})`,
    );
  return s;
}

/**
 * A field value in JSON, one form per field: addresses and fields wider than 53 bits are "0x..."
 * strings (an address field: the byte address it denotes); every other field is a number.
 */
export function fieldJson(def: FieldDef, v: bigint): number | string {
  return def.kind === 'addr' || def.hi - def.lo + 1 > 53 ? hex(v) : Number(v);
}

function encodingName(f: FieldDef, v: bigint): string | undefined {
  if (!f.values || f.kind === 'addr') return undefined;
  for (const [name, val] of Object.entries(f.values)) if (BigInt(val) === v) return name;
  return undefined;
}

/** Decodes `qwords` (missing ones are zero) as `structure`. Throws CliError on bad input. */
export function decodeStructure(structure: string, qwords: readonly bigint[]): Decoded {
  const s = lookup(structure);
  const bytes = s.kind === 'fixed' ? s.layout.bytes : s.header.bytes;
  const max = bytes / 8;
  if (qwords.length > max) {
    throw new CliError(
      `too many qwords for ${structure}: got ${qwords.length}, the structure has ${max} (${bytes} bytes)`,
    );
  }
  let l: Layout;
  let type: string | undefined;
  let known = true;
  if (s.kind === 'fixed') {
    l = s.layout;
  } else {
    const t = Number((qwords[0] ?? 0n) & 0xffn);
    const def = s.pick(t);
    if (def) {
      l = def.layout;
      type = def.name;
    } else {
      l = s.header;
      type = `UNKNOWN(${hex(t, 2)})`;
      known = false;
    }
  }
  const fields = l.fields.map((def) => {
    const value = getField(qwords, def);
    const encoding = encodingName(def, value);
    return encoding === undefined ? { def, value } : { def, value, encoding };
  });
  const warnings = known ? lintStructure(l, qwords) : [];
  return type === undefined
    ? { structure, layout: l, known, fields, warnings }
    : { structure, layout: l, type, known, fields, warnings };
}

export function bitsOf(f: FieldDef): string {
  return f.hi === f.lo ? `q${f.qw}[${f.hi}]` : `q${f.qw}[${f.hi}:${f.lo}]`;
}

/** The one-line JSON form. */
export function decodedJson(d: Decoded): string {
  const fields: Record<string, number | string> = {};
  for (const f of d.fields) fields[f.def.name] = fieldJson(f.def, f.value);
  const obj =
    d.type === undefined
      ? { structure: d.structure, fields }
      : { structure: d.structure, type: d.type, fields };
  return JSON.stringify(obj);
}

/** The human-readable table. */
export function decodedTable(d: Decoded): string {
  const l = d.layout;
  let title: string;
  if (d.type === undefined) title = `${l.title} (${l.spec})`;
  else if (d.known) title = `${l.title} (${l.spec})`;
  else title = `${d.type}: type not defined by IHI 0070 (or not modelled); header fields only`;
  const rows = d.fields.map((f) => [f.def.name, bitsOf(f.def), hex(f.value), f.encoding ?? '']);
  const w0 = Math.max(5, ...rows.map((r) => r[0]!.length));
  const w1 = Math.max(4, ...rows.map((r) => r[1]!.length));
  const w2 = Math.max(5, ...rows.map((r) => r[2]!.length));
  const line = (r: readonly string[]): string =>
    `  ${r[0]!.padEnd(w0)}  ${r[1]!.padEnd(w1)}  ${r[2]!.padEnd(w2)}  ${r[3]!}`.trimEnd();
  return (
    [`${d.structure}: ${title}`, line(['field', 'bits', 'value', 'encoding']), ...rows.map(line)].join('\n') +
    '\n'
  );
}

export const decodeCommand: Command = {
  name: 'decode',
  summary:
    'decode a structure from its raw qwords (STE, CD, L1 descriptors, commands, events, VMSAv8-64 descriptors)',
  usage: ['iommu-emu decode <structure> <qword0> [<qword1> ...] [--json]'],
  options: {
    json: { type: 'boolean', help: 'print {"structure", ["type",] "fields": {Name: value}} on one line' },
  },
  details: `<structure>  one of: ${STRUCTURE_NAMES.join(', ')}
             smmuv3-cmd / smmuv3-evt pick the command / event record by q0[7:0]
<qwordN>     64-bit little-endian qword N of the structure, hex (0x...) or decimal; missing ones are 0

JSON values: address fields and fields wider than 53 bits are "0x..." strings (an address field
gives the byte address it denotes); every other field is a number.

examples:
  iommu-emu decode smmuv3-ste 0x4000000043913001 0 0 0 --json
  iommu-emu decode vmsav8-s1-leaf 0x00600000447ea743`,
  run: (args, io) => {
    const { values, positionals } = parseOptions('decode', args, decodeCommand.options);
    const [structure, ...words] = positionals;
    if (structure === undefined)
      throw new CliError(`decode: missing <structure> (expected one of: ${STRUCTURE_NAMES.join(', ')})`);
    lookup(structure);
    if (words.length === 0) throw new CliError('decode: missing <qword0>');
    const qwords = words.map((w, i) => parseU64(w, `decode: qword${i}`));
    const d = decodeStructure(structure, qwords);
    if (values.json) {
      io.out(decodedJson(d) + '\n');
    } else {
      io.out(decodedTable(d));
      for (const w of d.warnings) io.err(`warning: ${w}\n`);
    }
    return 0;
  },
};

/** Kept for callers of the old entry point: `decode` with process output. */
export async function decodeCmd(args: string[], io: Io = processIo): Promise<number> {
  return decodeCommand.run(args, io);
}
