import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OrderType } from '../../../src/domain/types.ts';
import { AttemptWindow, typeBit, typeMask } from '../../../src/domain/risk/window.ts';

/** What the velocity rule used to do: walk from the newest back while entries are newer than sinceMs. */
function scanCount(w: AttemptWindow, sinceMs: number, mask: number): number {
  let n = 0;
  for (let i = 0; i < w.size; i++) {
    if (w.atMsOf(i) <= sinceMs) break;
    if ((typeBit(w.typeOf(i)) & mask) !== 0) n++;
  }
  return n;
}

const typeArb = fc.constantFrom<OrderType>('payment', 'authorize', 'payout', 'payment', 'payment');
const maskArb = fc.constantFrom(
  typeMask(['payment', 'authorize']),
  typeMask(['payment']),
  typeMask(['payout']),
  typeMask(['payment', 'authorize', 'payout']),
);

describe('AttemptWindow: counts by type over a time window', () => {
  it('counts what a scan from the newest counts, for attempts pushed in time order, across wrap-around', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.record({ gapMs: fc.constantFrom(0, 0, 1, 5, 40, 300), type: typeArb }), {
          maxLength: 60,
        }),
        fc.integer({ min: 0, max: 2_000 }),
        maskArb,
        (capacity, pushes, lookbackMs, mask) => {
          const w = new AttemptWindow(capacity);
          let atMs = 1_000_000;
          for (const [i, p] of pushes.entries()) {
            atMs += p.gapMs;
            w.push(atMs, 100n, 'USD', 'm-1', `o-${i}`, p.type);
            expect(w.ordered).toBe(true);
            // every cut: before all, inside, exactly on an entry, after all
            for (const sinceMs of [0, atMs - lookbackMs, atMs - p.gapMs, atMs]) {
              expect(w.countSince(sinceMs, mask)).toBe(scanCount(w, sinceMs, mask));
            }
          }
        },
      ),
    );
  });

  it('counts right after its running counts wrap (kept small: they wrap at 2^30, here just above the capacity)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ gapMs: fc.constantFrom(0, 1, 5, 40), type: typeArb }), {
          minLength: 10,
          maxLength: 80,
        }),
        maskArb,
        (capacity, wrapAbove, pushes, mask) => {
          const w = new AttemptWindow(capacity, capacity + wrapAbove);
          let atMs = 1_000_000;
          for (const [i, p] of pushes.entries()) {
            atMs += p.gapMs;
            w.push(atMs, 100n, 'USD', 'm-1', `o-${i}`, p.type);
            for (const sinceMs of [0, atMs - 10, atMs - 1, atMs]) {
              expect(w.countSince(sinceMs, mask)).toBe(scanCount(w, sinceMs, mask));
            }
          }
        },
      ),
    );
    expect(() => new AttemptWindow(4, 4)).toThrow(/wrap above the capacity/);
  });
});

describe('AttemptWindow: its rows', () => {
  it('gives back every field of the newest `capacity` attempts, newest first, as rows grow and wrap', () => {
    const attemptArb = fc.record({
      gapMs: fc.integer({ min: -5, max: 1000 }),
      amountMinor: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
      currency: fc.constantFrom('USD', 'EUR', 'JPY'),
      merchant: fc.constantFrom('m-1', 'm-2', ''),
      type: fc.constantFrom<OrderType>('payment', 'authorize', 'payout', 'refund', 'capture'),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(attemptArb, { maxLength: 120 }),
        (capacity, pushes) => {
          const w = new AttemptWindow(capacity);
          const model: {
            atMs: number;
            amountMinor: bigint;
            currency: string;
            merchant: string;
            orderId: string;
            type: OrderType;
          }[] = [];
          let atMs = 1_700_000_000_000;
          for (const [i, p] of pushes.entries()) {
            atMs += p.gapMs;
            w.push(atMs, p.amountMinor, p.currency, p.merchant, `o-${i}`, p.type);
            model.unshift({
              atMs,
              amountMinor: p.amountMinor,
              currency: p.currency,
              merchant: p.merchant,
              orderId: `o-${i}`,
              type: p.type,
            });
            model.length = Math.min(model.length, capacity);
          }
          expect(w.size).toBe(model.length);
          const held = model.map((_, i) => ({
            atMs: w.atMsOf(i),
            amountMinor: w.amountOf(i),
            currency: w.currencyOf(i),
            merchant: w.merchantOf(i),
            orderId: w.orderIdOf(i),
            type: w.typeOf(i),
          }));
          expect(held).toEqual(model);
        },
      ),
    );
  });
});

describe('AttemptWindow: what it keeps', () => {
  it('keeps the newest `capacity` attempts, oldest overwritten', () => {
    const w = new AttemptWindow(3);
    for (let i = 0; i < 5; i++) w.push(1000 + i, BigInt(i), 'USD', 'm', `o-${i}`, 'payment');
    expect(w.size).toBe(3);
    expect([0, 1, 2].map((i) => w.orderIdOf(i))).toEqual(['o-4', 'o-3', 'o-2']);
    expect([0, 1, 2].map((i) => w.amountOf(i))).toEqual([4n, 3n, 2n]);
    expect(w.countSince(0, typeMask(['payment']))).toBe(3);
    expect(w.countSince(1002, typeMask(['payment']))).toBe(2);
    expect(w.countSince(1004, typeMask(['payment']))).toBe(0);
  });

  it('counts only the masked types', () => {
    const w = new AttemptWindow(8);
    const types: OrderType[] = ['payment', 'payout', 'authorize', 'payout', 'payment'];
    for (const [i, t] of types.entries()) w.push(1000 + i, 1n, 'USD', 'm', `o-${i}`, t);
    expect(w.countSince(999, typeMask(['payment', 'authorize']))).toBe(3);
    expect(w.countSince(999, typeMask(['payout']))).toBe(2);
    expect(w.countSince(1001, typeMask(['payout']))).toBe(1);
  });

  it('says it is no longer in time order once an older attempt is pushed (callers scan then)', () => {
    const w = new AttemptWindow(4);
    w.push(2000, 1n, 'USD', 'm', 'a', 'payment');
    w.push(2000, 1n, 'USD', 'm', 'b', 'payment');
    expect(w.ordered).toBe(true);
    w.push(1500, 1n, 'USD', 'm', 'c', 'payment');
    expect(w.ordered).toBe(false);
  });
});

describe('AttemptWindow: whether an attempt charges', () => {
  it('marks an attempt by order id, newest first, and leaves its type and the counts as they were', () => {
    const w = new AttemptWindow(8);
    const types: OrderType[] = ['payment', 'payout', 'authorize', 'payment'];
    for (const [i, t] of types.entries()) w.push(1000 + i, 1n, 'USD', 'm', `o-${i}`, t, i !== 1);
    expect([0, 1, 2, 3].map((i) => w.chargesOf(i))).toEqual([true, true, false, true]);
    expect(w.settle('o-2', false, 1002)).toBe(true);
    expect(w.settle('o-1', true)).toBe(true);
    expect([0, 1, 2, 3].map((i) => w.chargesOf(i))).toEqual([true, false, true, true]);
    expect([0, 1, 2, 3].map((i) => w.typeOf(i))).toEqual(['payment', 'authorize', 'payout', 'payment']);
    expect(w.countSince(999, typeMask(['payment', 'authorize']))).toBe(3);
    expect(w.countSince(999, typeMask(['payout']))).toBe(1);
  });

  it('stops looking at the time the attempt was recorded, in a window in time order', () => {
    const w = new AttemptWindow(4);
    for (let i = 0; i < 3; i++) w.push(1000 + i, 1n, 'USD', 'm', `o-${i}`, 'payment');
    expect(w.settle('o-0', false, 1001)).toBe(false); // recorded at 1000: not searched that far
    expect(w.chargesOf(2)).toBe(true);
    expect(w.settle('o-0', false, 1000)).toBe(true);
    expect(w.chargesOf(2)).toBe(false);
    expect(w.settle('gone', false)).toBe(false);
  });

  it('finds the attempt anywhere once the window is out of time order, and not once it is overwritten', () => {
    const w = new AttemptWindow(3);
    w.push(2000, 1n, 'USD', 'm', 'a', 'payment');
    w.push(1000, 1n, 'USD', 'm', 'b', 'payment');
    expect(w.settle('a', false, 2000)).toBe(true);
    expect(w.chargesOf(1)).toBe(false);
    w.push(3000, 1n, 'USD', 'm', 'c', 'payment');
    w.push(3001, 1n, 'USD', 'm', 'd', 'payment');
    expect(w.settle('a', true)).toBe(false);
  });
});
