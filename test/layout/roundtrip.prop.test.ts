// Property tests over every layout table: each field round-trips over its full width without touching
// any other bit, decode never throws, and lint flags exactly the reserved bits.
import { ALL_LAYOUTS } from '../../src/smmuv3/all-layouts.ts';
import { VTD_LAYOUTS } from '../../src/vtd/all-layouts.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, fieldWidth, getField, reservedMasks, setField } from '../../src/layout/layout.ts';
import type { FieldDef, Layout } from '../../src/layout/layout.ts';
import { lintStructure } from '../../src/layout/lint.ts';
import { CD, L1CD, L1STD, STE } from '../../src/smmuv3/layouts.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../../src/pt/vmsav8-64.ts';
import { CMD_BY_OP, CMD_HEADER, CMDS, OP } from '../../src/smmuv3/commands.ts';
import { EVENTS, EVT, EVT_BY_ID, EVT_HEADER, PRIQ_ENTRY } from '../../src/smmuv3/events.ts';
import { decodeStructure } from '../../src/cli/decode.ts';

const LAYOUTS: readonly Layout[] = [...ALL_LAYOUTS, CMD_HEADER, EVT_HEADER, ...VTD_LAYOUTS];

const U64_MAX = (1n << 64n) - 1n;
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const qwordsOf = (l: Layout): fc.Arbitrary<bigint[]> =>
  fc.array(u64, { minLength: l.bytes / 8, maxLength: l.bytes / 8 });

/** Raw mask of a field, in place. */
const maskOf = (f: FieldDef): bigint => ((1n << BigInt(fieldWidth(f))) - 1n) << BigInt(f.lo);
/** A field value for raw bits `raw` (address fields take the byte address). */
const valueOf = (f: FieldDef, raw: bigint): bigint => (f.kind === 'addr' ? raw << BigInt(f.lo) : raw);
const overlaps = (a: FieldDef, b: FieldDef): boolean => a.qw === b.qw && (maskOf(a) & maskOf(b)) !== 0n;

/** Writes `raw` into field `f` of a copy of `q` and checks that nothing else moved. */
function checkRoundTrip(l: Layout, f: FieldDef, q: readonly bigint[], raw: bigint): void {
  const v = valueOf(f, raw);
  const q2 = [...q];
  setField(q2, f, v);
  expect(getField(q2, f)).toBe(v);
  for (let i = 0; i < q.length; i++) {
    const outside = i === f.qw ? ~maskOf(f) & U64_MAX : U64_MAX;
    expect((q2[i]! ^ q[i]!) & outside, `${l.name}.${f.name}: q${i} bits outside the field changed`).toBe(0n);
  }
  for (const g of l.fields)
    if (g !== f && !overlaps(f, g)) expect(getField(q2, g), `${l.name}.${g.name}`).toBe(getField(q, g));
}

describe.each(LAYOUTS.map((l) => [l.name, l] as const))('%s', (_, l) => {
  it('fields fit the structure and do not overlap', () => {
    for (const f of l.fields) {
      expect((f.qw + 1) * 8).toBeLessThanOrEqual(l.bytes);
      for (const g of l.fields) if (f !== g) expect(overlaps(f, g), `${f.name} / ${g.name}`).toBe(false);
    }
  });

  it('every field round-trips over its full width, leaving other bits alone', () => {
    for (const f of l.fields) {
      const max = (1n << BigInt(fieldWidth(f))) - 1n;
      // Deterministic edges: all-zeros, all-ones, and every single bit, over ones and zeros backgrounds.
      for (const bg of [0n, U64_MAX]) {
        const q = new Array<bigint>(l.bytes / 8).fill(bg);
        for (const raw of [0n, max, ...Array.from({ length: fieldWidth(f) }, (_, b) => 1n << BigInt(b))])
          checkRoundTrip(l, f, q, raw);
      }
      fc.assert(
        fc.property(qwordsOf(l), fc.bigInt({ min: 0n, max }), (q, raw) => checkRoundTrip(l, f, q, raw)),
        { numRuns: 25 },
      );
    }
  });

  it('encode then decode gives the values back, every other field zero', () => {
    fc.assert(
      fc.property(fc.constantFrom(...l.fields), u64, (f, r) => {
        const v = valueOf(f, r & ((1n << BigInt(fieldWidth(f))) - 1n));
        const d = decode(l, encode(l, { [f.name]: v }));
        for (const g of l.fields) expect(d[g.name]).toBe(g === f ? v : 0n);
      }),
      { numRuns: 100 },
    );
  });

  it('decode of random qwords (too few, exact, too many) never throws and fits each field', () => {
    fc.assert(
      fc.property(fc.array(u64, { maxLength: l.bytes / 8 + 2 }), (q) => {
        const d = decode(l, q);
        for (const f of l.fields) {
          const v = d[f.name]!;
          expect(v >= 0n && v <= valueOf(f, (1n << BigInt(fieldWidth(f))) - 1n)).toBe(true);
          if (f.kind === 'addr') expect(v & ((1n << BigInt(f.lo)) - 1n)).toBe(0n);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('lint is silent on field bits and reports each qword with reserved bits set', () => {
    const res = reservedMasks(l);
    fc.assert(
      fc.property(qwordsOf(l), qwordsOf(l), (q, noise) => {
        const clean = q.map((w, i) => w & ~res[i]! & U64_MAX);
        expect(lintStructure(l, clean)).toEqual([]);
        const dirty = clean.map((w, i) => w | (noise[i]! & res[i]!));
        const bad = dirty.flatMap((w, i) => ((w & res[i]!) !== 0n ? [`q${i}`] : []));
        const msgs = lintStructure(l, dirty);
        expect(msgs).toHaveLength(bad.length);
        bad.forEach((qn, k) => expect(msgs[k]).toContain(`reserved bits set in ${qn}:`));
      }),
      { numRuns: 50 },
    );
  });
});

describe('type tables', () => {
  it('CMD_BY_OP and EVT_BY_ID have 256 entries matching OP / EVT and the type byte field', () => {
    expect(CMD_BY_OP).toHaveLength(256);
    expect(EVT_BY_ID).toHaveLength(256);
    expect(CMD_BY_OP.filter(Boolean)).toHaveLength(CMDS.length);
    expect(EVT_BY_ID.filter(Boolean)).toHaveLength(EVENTS.length);
    for (const [name, op] of Object.entries(OP)) {
      const c = CMD_BY_OP[op]!;
      expect(c.name).toBe(name);
      expect(c.layout.name).toBe(`smmuv3-cmd-${name}`);
      expect(c.layout.bytes).toBe(16);
      expect(decode(c.layout, encode(c.layout, { Opcode: op })).Opcode).toBe(BigInt(op));
    }
    for (const [name, id] of Object.entries(EVT)) {
      const e = EVT_BY_ID[id]!;
      expect(e.name).toBe(name);
      expect(e.layout.name).toBe(`smmuv3-evt-${name}`);
      expect(e.layout.bytes).toBe(32);
      expect(decode(e.layout, encode(e.layout, { EventID: id })).EventID).toBe(BigInt(id));
    }
  });

  it.each([
    ['smmuv3-cmd', 2, CMD_BY_OP],
    ['smmuv3-evt', 4, EVT_BY_ID],
  ] as const)(
    'decodeStructure(%s) of random qwords never throws and picks by q0[7:0]',
    (structure, n, table) => {
      fc.assert(
        fc.property(fc.array(u64, { maxLength: n }), (q) => {
          const d = decodeStructure(structure, q);
          const def = table[Number((q[0] ?? 0n) & 0xffn)];
          expect(d.known).toBe(def !== undefined);
          expect(d.type).toBe(
            def ? def.name : `UNKNOWN(0x${((q[0] ?? 0n) & 0xffn).toString(16).padStart(2, '0')})`,
          );
          if (!d.known) expect(d.warnings).toEqual([]);
        }),
        { numRuns: 300 },
      );
    },
  );
});
