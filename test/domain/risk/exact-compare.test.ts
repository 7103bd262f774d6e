// The anomaly rule compares small amounts in doubles and the rest in bigints: the same answer as bigints
// everywhere, including around where it switches and at the largest multiple.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OrderFacts } from '../../../src/domain/risk/kind.ts';
import { anomalyAmount } from '../../../src/domain/risk/kinds/anomaly-amount.ts';
import { parseRiskOptions } from '../../../src/domain/risk/options.ts';
import type { CardState } from '../../../src/domain/risk/tracked.ts';

const SWITCH = 2n ** 30n;
/** amounts near 0, near the switch to bigints, and far past it */
const amountArb = fc.oneof(
  fc.bigInt({ min: -1000n, max: 1_000_000n }),
  fc.bigInt({ min: SWITCH - 3000n, max: SWITCH + 3000n }),
  fc.bigInt({ min: -SWITCH - 3000n, max: -SWITCH + 3000n }),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
);

function hits(amount: bigint, avgMinor: bigint, multiple: number): boolean {
  const compiled = anomalyAmount.compile(
    {
      id: 'a',
      kind: 'anomaly_amount',
      scope: 'card',
      enabled: true,
      outcome: 'review',
      multiple,
      minOrders: 1,
    } as never,
    parseRiskOptions(),
  );
  const card = { avgCount: 5, avgCurrency: 'USD', avgMinor } as CardState;
  const facts = { order: { id: 'o', type: 'payment', createdAtMs: 0 }, card, amount, currency: 'USD' };
  return anomalyAmount.check(compiled, facts as unknown as OrderFacts) !== undefined;
}

describe('anomaly_amount: amount above the average times the multiple', () => {
  it('answers as the comparison in bigints, small amounts or large', () => {
    fc.assert(
      fc.property(amountArb, amountArb, fc.integer({ min: 101, max: 100_000 }), (amount, avg, hundredths) => {
        const expected = amount * 100n > avg * BigInt(hundredths);
        expect(hits(amount, avg, hundredths / 100)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    // [amount, average, multiple, hit]: equal is not above; one minor unit more is
    [1000n, 100n, 10, false],
    [1001n, 100n, 10, true],
    [SWITCH - 1n, SWITCH / 2n, 2, false],
    [SWITCH - 1n, SWITCH / 2n - 1n, 2, true],
    [SWITCH, SWITCH / 2n, 2, false],
    [SWITCH + 1n, SWITCH / 2n, 2, true],
    [1000n * (SWITCH - 1n), SWITCH - 1n, 1000, false],
    [1000n * (SWITCH - 1n) + 1n, SWITCH - 1n, 1000, true],
    [SWITCH - 1n, SWITCH - 1n, 1.01, false],
    [25n, 10n, 2.5, false],
    [26n, 10n, 2.5, true],
    [0n, -1n, 2, true],
    [-3n, -1n, 2, false],
  ])('%s against an average of %s times %s: %s', (amount, avg, multiple, hit) => {
    expect(hits(amount, avg, multiple)).toBe(hit);
  });
});
