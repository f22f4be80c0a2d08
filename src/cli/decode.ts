// `iommu-emu decode <structure> <qword0> [<qword1> ...] [--json]`: decodes raw qwords through the
// layout tables (from the architecture registry, src/arch/) and prints every field, or one line of JSON.
import { getField, hex } from '../layout/layout.ts';
import type { FieldDef, Layout } from '../layout/layout.ts';
import { lintStructure } from '../layout/lint.ts';
import { lookupStructure, REGISTER_STRUCTURE_NAMES, STRUCTURES, type Structure } from '../arch/registry.ts';
import { parseOptions } from './args.ts';
import { CliError, didYouMean, parseU64, quote } from './errors.ts';
import { processIo, type Command, type Io } from './io.ts';

// The structures come from the architecture registry (src/arch/): one entry per IOMMU, so a new
// architecture's structures and registers appear here without a change to this file.
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
  const s = lookupStructure(structure);
  if (!s)
    throw new CliError(
      `unknown structure ${quote(structure)}${didYouMean(structure, [...STRUCTURE_NAMES, ...REGISTER_STRUCTURE_NAMES])} (expected one of: ${STRUCTURE_NAMES.join(', ')}; or a register, smmuv3-cr0 …)`,
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
  const max = Math.ceil(bytes / 8);
  if (qwords.length > max) {
    throw new CliError(
      `too many qwords for ${structure}: got ${qwords.length}, the structure has ${max} (${bytes} bytes)`,
    );
  }
  if (bytes < 8 && (qwords[0] ?? 0n) >= 1n << BigInt(bytes * 8))
    throw new CliError(
      `${structure} is a ${bytes * 8}-bit register: 0x${qwords[0]!.toString(16)} does not fit`,
    );
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
    'decode a structure from its raw qwords (STE, CD, L1 descriptors, commands, events, VMSAv8-64 descriptors, registers)',
  usage: ['iommu-emu decode <structure> <qword0> [<qword1> ...] [--json]'],
  options: {
    json: { type: 'boolean', help: 'print {"structure", ["type",] "fields": {Name: value}} on one line' },
  },
  details: `<structure>  one of: ${STRUCTURE_NAMES.join(', ')}
             smmuv3-cmd / smmuv3-evt pick the command / event record by q0[7:0];
             or a register as <iommu>-<register> (smmuv3-cr0, smmuv3-strtab_base_cfg, smmuv3-idr0 …),
             its value given as qword0
<qwordN>     64-bit little-endian qword N of the structure, hex (0x...) or decimal; missing ones are 0

JSON values: address fields and fields wider than 53 bits are "0x..." strings (an address field
gives the byte address it denotes); every other field is a number.

examples:
  iommu-emu decode smmuv3-ste 0x4000000043913001 0 0 0 --json
  iommu-emu decode vmsav8-s1-leaf 0x00600000447ea743
  iommu-emu decode smmuv3-strtab_base_cfg 0x10210`,
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
