// Queue pointer arithmetic (src/smmuv3/queue.ts, IHI0070 §3.5.1): the one wrap-bit protocol shared by
// the model's three queues and the driver, checked against a plain count of produced entries.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { qEmpty, qFull, qIndex, qNext, qPtr } from '../../src/smmuv3/queue.ts';

/** The pointer after `n` increments from zero: index n mod size, wrap flag = parity of n div size. */
const ptrAfter = (n: number, log2: number) => ((n >> log2) & 1) * 2 ** log2 + (n % 2 ** log2);

describe('queue pointers (§3.5.1)', () => {
  it('qNext counts entries: index wraps to 0 and toggles the wrap flag', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 5000 }), (log2, n) => {
        expect(qNext(ptrAfter(n, log2), log2)).toBe(ptrAfter(n + 1, log2));
        expect(qIndex(ptrAfter(n, log2), log2)).toBe(n % 2 ** log2);
      }),
    );
    expect(qNext(0b0111, 3)).toBe(0b1000); // index 7 of 8 -> index 0, wrap set
    expect(qNext(0b1111, 3)).toBe(0b0000); // and back
  });

  it('empty and full follow the produced - consumed count, whatever the flag bits above', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 4096 }),
        fc.boolean(),
        (log2, consumed, extra, ovflg) => {
          const inFlight = extra % (2 ** log2 + 1); // 0 .. size
          const flag = ovflg ? 0x8000_0000 : 0;
          const prod = (flag | ptrAfter(consumed + inFlight, log2)) >>> 0;
          const cons = ptrAfter(consumed, log2);
          expect(qEmpty(prod, cons, log2)).toBe(inFlight === 0);
          expect(qFull(prod, cons, log2)).toBe(inFlight === 2 ** log2);
          expect(qPtr(prod, log2)).toBe(ptrAfter(consumed + inFlight, log2));
        },
      ),
    );
  });
});
