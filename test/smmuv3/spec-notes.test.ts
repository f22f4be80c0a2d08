// spec-notes/smmuv3/*.md must list exactly the fields of the layout tables, with the same bits.
// (Regenerate with `npx tsx scripts/gen-spec-notes.ts` after changing a layout.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Layout } from '../../src/layout/layout.ts';
import { CD, L1CD, L1STD, STE } from '../../src/smmuv3/layouts.ts';
import { CMDS } from '../../src/smmuv3/commands.ts';
import { EVENTS, PRIQ_ENTRY } from '../../src/smmuv3/events.ts';

const DIR = fileURLToPath(new URL('../../spec-notes/smmuv3/', import.meta.url));

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
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.md')).sort()) {
    let cur: Section | undefined;
    for (const line of readFileSync(join(DIR, file), 'utf8').split('\n')) {
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
  return out;
}

const LAYOUTS: readonly Layout[] = [STE, CD, L1STD, L1CD, ...CMDS.map((c) => c.layout), ...EVENTS.map((e) => e.layout), PRIQ_ENTRY];
const notes = parseNotes();

describe('spec-notes/smmuv3', () => {
  it('has one section per layout and no section for an unknown structure', () => {
    const names = new Set(LAYOUTS.map((l) => l.name));
    expect([...notes.keys()].filter((n) => !names.has(n))).toEqual([]);
    for (const l of LAYOUTS) expect(notes.get(l.name)?.length ?? 0, l.name).toBe(1);
  });

  it.each(LAYOUTS.map((l) => [l.name, l] as const))('%s matches the layout table', (_, l) => {
    const sec = notes.get(l.name)![0]!;
    expect(sec.duplicates, `${sec.file}: duplicate rows`).toEqual([]);
    const want = new Map(l.fields.map((f) => [f.name, { qw: f.qw, hi: f.hi, lo: f.lo }]));
    for (const [name, bits] of want) expect(sec.rows.get(name), `${sec.file} ${l.name}.${name}`).toEqual(bits);
    expect([...sec.rows.keys()].filter((n) => !want.has(n)), `${sec.file}: rows not in ${l.name}`).toEqual([]);
  });

  it('groups the structures into the expected files', () => {
    const fileOf = (l: Layout): string => notes.get(l.name)![0]!.file;
    expect(fileOf(STE)).toBe('ste.md');
    expect(fileOf(CD)).toBe('cd.md');
    expect([fileOf(L1STD), fileOf(L1CD)]).toEqual(['l1.md', 'l1.md']);
    expect(new Set(CMDS.map((c) => fileOf(c.layout)))).toEqual(new Set(['commands.md']));
    expect(new Set(EVENTS.map((e) => fileOf(e.layout)))).toEqual(new Set(['events.md']));
    expect(fileOf(PRIQ_ENTRY)).toBe('priq.md');
  });
});
