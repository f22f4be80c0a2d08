// Registers in the layout framework (src/layout/layout.ts register()): 64-bit registers with fields
// above bit 31 and access kinds, so that VT-d's CAP / ECAP / GCMD can be described the day that
// model starts. The register below is shaped like the VT-d Capability Register (VT-d spec §11.4.2:
// ND [2:0], SAGAW [12:8], MGAW [21:16], FRO [33:24], NFR [47:40], FS1GP [56]) — a shape test of the
// framework, not a VT-d table.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accessMask,
  decode,
  encode,
  register,
  reservedMasks,
  rf,
  wordField,
  writableMask,
} from '../../src/layout/layout.ts';

const CAP_LIKE = register(
  'CAP_LIKE',
  0x08,
  8,
  'shape test',
  [
    rf('ND', 2, 0),
    rf('SAGAW', 12, 8),
    rf('MGAW', 21, 16),
    rf('FRO', 33, 24),
    rf('NFR', 47, 40),
    rf('FS1GP', 56, 56),
  ],
  { access: 'RO' },
);
const CMD_LIKE = register('CMD_LIKE', 0x18, 4, 'shape test', [
  rf('SRTP', 30, 30, { access: 'WO' }),
  rf('TE', 31, 31),
  rf('FLAG', 3, 0, { access: 'RW1C' }),
  rf('STATUS', 7, 4, { access: 'RO' }),
]);

describe('register(): 64-bit fields and access kinds', () => {
  it('fields straddling and above bit 31 encode and decode over their full width', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 10n) - 1n }),
        fc.bigInt({ min: 0n, max: 255n }),
        fc.bigInt({ min: 0n, max: 1n }),
        (fro, nfr, fs1gp) => {
          const q = encode(CAP_LIKE, { FRO: fro, NFR: nfr, FS1GP: fs1gp });
          expect(q).toHaveLength(1);
          expect(q[0]).toBe((fro << 24n) | (nfr << 40n) | (fs1gp << 56n));
          const d = decode(CAP_LIKE, q);
          expect([d.FRO, d.NFR, d.FS1GP]).toEqual([fro, nfr, fs1gp]);
        },
      ),
    );
  });

  it('the default access fills fields that name none; masks follow the kinds', () => {
    expect(CAP_LIKE.fields.every((f) => f.access === 'RO')).toBe(true);
    expect(writableMask(CAP_LIKE)).toBe(0n);
    expect(CMD_LIKE.fields.find((f) => f.name === 'TE')?.access).toBe('RW');
    expect(writableMask(CMD_LIKE)).toBe(0xc000_000fn);
    expect(accessMask(CMD_LIKE, 'RW1C')).toBe(0xfn);
    expect(accessMask(CMD_LIKE, 'RO')).toBe(0xf0n);
  });

  it('a 32-bit register has one 32-bit reserved mask, and hot-path accessors work on it', () => {
    expect(reservedMasks(CMD_LIKE)).toEqual([0x3fff_ff00n]);
    expect(wordField(CMD_LIKE, 'STATUS')).toEqual({ w: 0, shift: 4, mask: 0xf });
    expect(wordField(CAP_LIKE, 'NFR')).toEqual({ w: 1, shift: 8, mask: 0xff });
  });

  it('rejects a field beyond the register, overlapping fields and duplicates', () => {
    expect(() => register('R', 0, 4, 's', [rf('X', 32, 32)])).toThrow(/beyond 32 bits/);
    expect(() => register('R', 0, 8, 's', [rf('X', 7, 0), rf('Y', 8, 4)])).toThrow(/overlaps/);
    expect(() => register('R', 0, 8, 's', [rf('X', 7, 0), rf('X', 9, 8)])).toThrow(/duplicate/);
  });
});
