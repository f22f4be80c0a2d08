// spec-notes/ must list exactly the fields of the layout tables and the register table, with the
// same bits (and offsets). (Regenerate with `npx tsx scripts/gen-spec-notes.ts` after changing one.)
import { ALL_LAYOUTS } from '../../src/smmuv3/all-layouts.ts';
import { VTD_LAYOUTS } from '../../src/vtd/all-layouts.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Layout } from '../../src/layout/layout.ts';
import { CD, L1CD, L1STD, STE } from '../../src/smmuv3/layouts.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../../src/pt/vmsav8-64.ts';
import { X86_64_LAYOUTS } from '../../src/pt/x86-64.ts';
import { CMDS } from '../../src/smmuv3/commands.ts';
import { EVENTS, PRIQ_ENTRY } from '../../src/smmuv3/events.ts';
import { REGS } from '../../src/smmuv3/regs.ts';
import { renderFiles } from '../../scripts/gen-spec-notes.ts';

const ROOT = fileURLToPath(new URL('../../spec-notes/', import.meta.url));
/** Directories holding layout notes (`## \`<layout name>\`` sections). */
const LAYOUT_DIRS = ['smmuv3', 'pt', 'vtd'];
const REG_FILE = 'smmuv3/registers.md';

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

interface Row {
  readonly qw: number;
  readonly hi: number;
  readonly lo: number;
}

interface Section {
  readonly file: string;
  readonly rows: Map<string, Row>;
  readonly duplicates: string[];
}

/** Sections `## \`<layout name>\` ...`, each with its `| Field | qword | bits | ...` rows. */
function parseNotes(): Map<string, Section[]> {
  const out = new Map<string, Section[]>();
  for (const dir of LAYOUT_DIRS) {
    for (const name of readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith('.md'))
      .sort()) {
      const file = `${dir}/${name}`;
      if (file === REG_FILE || file === 'vtd/registers.md') continue;
      let cur: Section | undefined;
      for (const line of read(file).split('\n')) {
        const h = /^## `([^`]+)`/.exec(line);
        if (h) {
          cur = { file, rows: new Map(), duplicates: [] };
          out.set(h[1]!, [...(out.get(h[1]!) ?? []), cur]);
          continue;
        }
        if (/^#{1,2} /.test(line)) cur = undefined;
        const r = /^\|\s*([A-Za-z][A-Za-z0-9_]*)\s*\|\s*(\d+)\s*\|\s*\[(\d+)(?::(\d+))?\]\s*\|/.exec(line);
        if (r && cur) {
          const hi = Number(r[3]);
          const row = { qw: Number(r[2]), hi, lo: r[4] === undefined ? hi : Number(r[4]) };
          if (cur.rows.has(r[1]!)) cur.duplicates.push(r[1]!);
          cur.rows.set(r[1]!, row);
        }
      }
    }
  }
  return out;
}

const LAYOUTS: readonly Layout[] = [...ALL_LAYOUTS, ...VTD_LAYOUTS, ...X86_64_LAYOUTS];
const notes = parseNotes();

describe('spec-notes layouts', () => {
  it('has one section per layout and no section for an unknown structure', () => {
    const names = new Set(LAYOUTS.map((l) => l.name));
    expect([...notes.keys()].filter((n) => !names.has(n))).toEqual([]);
    for (const l of LAYOUTS) expect(notes.get(l.name)?.length ?? 0, l.name).toBe(1);
  });

  it.each(LAYOUTS.map((l) => [l.name, l] as const))('%s matches the layout table', (_, l) => {
    const sec = notes.get(l.name)![0]!;
    expect(sec.duplicates, `${sec.file}: duplicate rows`).toEqual([]);
    const want = new Map(l.fields.map((f) => [f.name, { qw: f.qw, hi: f.hi, lo: f.lo }]));
    for (const [name, bits] of want)
      expect(sec.rows.get(name), `${sec.file} ${l.name}.${name}`).toEqual(bits);
    expect(
      [...sec.rows.keys()].filter((n) => !want.has(n)),
      `${sec.file}: rows not in ${l.name}`,
    ).toEqual([]);
  });

  it('groups the structures into the expected files', () => {
    const fileOf = (l: Layout): string => notes.get(l.name)![0]!.file;
    expect(fileOf(STE)).toBe('smmuv3/ste.md');
    expect(fileOf(CD)).toBe('smmuv3/cd.md');
    expect([fileOf(L1STD), fileOf(L1CD)]).toEqual(['smmuv3/l1.md', 'smmuv3/l1.md']);
    expect(new Set(CMDS.map((c) => fileOf(c.layout)))).toEqual(new Set(['smmuv3/commands.md']));
    expect(new Set(EVENTS.map((e) => fileOf(e.layout)))).toEqual(new Set(['smmuv3/events.md']));
    expect(fileOf(PRIQ_ENTRY)).toBe('smmuv3/priq.md');
    expect(new Set([VMSA_TABLE, VMSA_S1_LEAF, VMSA_S2_LEAF].map(fileOf))).toEqual(
      new Set(['pt/vmsav8-64.md']),
    );
    expect(new Set(X86_64_LAYOUTS.map(fileOf))).toEqual(new Set(['pt/x86-64.md']));
  });
});

// ------------------------------------------------------------------------------------ registers

interface MapRow {
  readonly offset: number;
  readonly page: number;
  readonly size: number;
  readonly section: string;
  readonly aliases: readonly string[];
}

interface RegSection {
  readonly offset: number;
  readonly size: number;
  readonly section: string;
  readonly rows: Map<string, { hi: number; lo: number; access: string; section: string }>;
  readonly duplicates: string[];
  readonly noFields: boolean;
}

/** registers.md: the `## Register map` rows and the `### \`<register>\`` field tables. */
function parseRegisters(): {
  map: Map<string, MapRow>;
  mapDuplicates: string[];
  sections: Map<string, RegSection[]>;
} {
  const map = new Map<string, MapRow>();
  const mapDuplicates: string[] = [];
  const sections = new Map<string, RegSection[]>();
  let inMap = false;
  let cur: { -readonly [K in keyof RegSection]: RegSection[K] } | undefined;
  for (const line of read(REG_FILE).split('\n')) {
    if (/^## /.test(line)) {
      inMap = line.trim() === '## Register map';
      cur = undefined;
      continue;
    }
    const h = /^### `([A-Za-z0-9_]+)` — (0x[0-9A-Fa-f]+), (32|64)-bit, (\S+)\s*$/.exec(line);
    if (h) {
      cur = {
        offset: Number(h[2]),
        size: Number(h[3]) / 8,
        section: h[4]!,
        rows: new Map(),
        duplicates: [],
        noFields: false,
      };
      sections.set(h[1]!, [...(sections.get(h[1]!) ?? []), cur]);
      continue;
    }
    if (/^#{1,3} /.test(line)) {
      cur = undefined;
      continue;
    }
    if (inMap) {
      const r =
        /^\|\s*([A-Za-z0-9_]+)\s*\|\s*(0x[0-9A-Fa-f]+)\s*\|\s*(\d)\s*\|\s*(\d+)\s*\|\s*(\S+)\s*\|([^|]*)\|\s*$/.exec(
          line,
        );
      if (r && r[1] !== 'Register') {
        if (map.has(r[1]!)) mapDuplicates.push(r[1]!);
        const aliases = r[6]!
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean);
        map.set(r[1]!, {
          offset: Number(r[2]),
          page: Number(r[3]),
          size: Number(r[4]),
          section: r[5]!,
          aliases,
        });
      }
    } else if (cur) {
      if (line.trim() === 'No fields declared.') cur.noFields = true;
      const r =
        /^\|\s*([A-Za-z][A-Za-z0-9_]*)\s*\|\s*\[(\d+)(?::(\d+))?\]\s*\|\s*(RO|RW|RW1C|WO)\s*\|\s*(\S+)\s*\|\s*$/.exec(
          line,
        );
      if (r) {
        const hi = Number(r[2]);
        if (cur.rows.has(r[1]!)) cur.duplicates.push(r[1]!);
        cur.rows.set(r[1]!, {
          hi,
          lo: r[3] === undefined ? hi : Number(r[3]),
          access: r[4]!,
          section: r[5]!,
        });
      }
    }
  }
  return { map, mapDuplicates, sections };
}

const regNotes = parseRegisters();
const sectionOf = (spec: string): string => spec.replace(/^IHI0070 /, '');

describe('spec-notes/smmuv3/registers.md', () => {
  it('the register map lists every register of REGS once, and nothing else', () => {
    expect(regNotes.mapDuplicates).toEqual([]);
    expect([...regNotes.map.keys()].sort()).toEqual(REGS.map((r) => r.name).sort());
  });

  it.each(REGS.map((r) => [r.name, r] as const))('%s: map row and field table match REGS', (_, r) => {
    expect(regNotes.map.get(r.name)).toEqual({
      offset: r.offset,
      page: r.offset >= 0x10000 ? 1 : 0,
      size: r.size,
      section: sectionOf(r.spec),
      aliases: r.aliases ?? [],
    });
    const secs = regNotes.sections.get(r.name) ?? [];
    expect(secs, `one field section for ${r.name}`).toHaveLength(1);
    const sec = secs[0]!;
    expect({ offset: sec.offset, size: sec.size, section: sec.section }).toEqual({
      offset: r.offset,
      size: r.size,
      section: sectionOf(r.spec),
    });
    expect(sec.duplicates).toEqual([]);
    expect(sec.noFields).toBe(r.fields.length === 0);
    for (const f of r.fields)
      expect(sec.rows.get(f.name), `${r.name}.${f.name}`).toEqual({
        hi: f.hi,
        lo: f.lo,
        access: f.access,
        section: sectionOf(r.spec),
      });
    expect(
      [...sec.rows.keys()].filter((n) => !r.fields.some((f) => f.name === n)),
      `rows not in ${r.name}`,
    ).toEqual([]);
  });

  it('has no field section for an unknown register', () => {
    expect([...regNotes.sections.keys()].filter((n) => !REGS.some((r) => r.name === n))).toEqual([]);
  });
});

describe('spec-notes/ as a whole', () => {
  // Only the file set: the tables are checked above, free text may lag until the next regeneration.
  const files = renderFiles();

  it('README.md links every notes file, and every notes file is generated', () => {
    const onDisk = readdirSync(ROOT, { recursive: true, encoding: 'utf8' })
      .map((f) => f.split('\\').join('/'))
      .filter((f) => f.endsWith('.md'))
      .sort();
    expect(onDisk).toEqual([...files.keys()].sort());
    const links = [...read('README.md').matchAll(/\]\(([^)]+\.md)\)/g)].map((m) => m[1]!).sort();
    expect(links).toEqual(onDisk.filter((f) => f !== 'README.md'));
  });
});
