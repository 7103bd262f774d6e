// WorkingSet.mark()/undo(): what the per-message guard uses to take back a message that failed half-way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyBatch } from '../../src/domain/batch.ts';
import { type WorkingSet, applyOrder } from '../../src/domain/apply.ts';
import { ORDER_TYPES, type Order } from '../../src/domain/types.ts';
import { BOB_TOKEN, aContext, aFundedWorld } from '../ledger/builders.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS } from './builders.ts';
import { ALLOW, type RiskDecision } from '../../src/domain/risk/decision.ts';

/** Everything a commit would write or publish, as plain values to compare. */
function stateOf(ws: WorkingSet) {
  return {
    accounts: [...ws.accounts.entries()],
    orders: [...ws.orders.entries()],
    dirtyAccounts: [...ws.dirtyAccounts].sort(),
    createdAccounts: [...ws.createdAccounts].sort(),
    dirtyOrders: [...ws.dirtyOrders].sort(),
    transfers: [...ws.transfers],
    published: [...ws.published],
    staleExpiries: [...ws.staleExpiries],
    riskObserved: [...ws.riskObserved],
  };
}

const sortedState = (ws: WorkingSet) => {
  const s = stateOf(ws);
  const byKey = <V>(entries: [string, V][]) => [...entries].sort(([a], [b]) => (a < b ? -1 : 1));
  return { ...s, accounts: byKey(s.accounts), orders: byKey(s.orders) };
};

const review: RiskDecision = { outcome: 'review', ruleId: 'big', reason: 'amount_order' };
const ctx = aContext({ nowMs: TEST_NOW_MS });

describe('WorkingSet mark and undo', () => {
  it('puts back a payment half-way: the merchant it opened, both balances, the transfer and the result', () => {
    const ws = aFundedWorld();
    const before = sortedState(ws);
    const mark = ws.mark();
    const result = applyOrder(ws, { id: 'p1', type: 'payment', cardToken: TEST_CARD_TOKEN, merchant: 'm_new', amountMinor: 500n, currency: 'USD', createdAtMs: TEST_NOW_MS }, ALLOW, ctx);
    ws.riskObserved.push({ orderId: 'p1', atMs: TEST_NOW_MS });
    expect(result.status).toBe('approved');
    expect(ws.createdAccounts.has('m_new')).toBe(true);
    ws.undo(mark);
    expect(sortedState(ws)).toEqual(before);
    expect(ws.account('m_new')).toBeUndefined();
    expect(ws.order('p1')).toBeUndefined();
  });

  it('undoes only what came after the latest mark', () => {
    const ws = aFundedWorld();
    ws.mark();
    applyOrder(ws, { id: 'keep', type: 'payment', cardToken: TEST_CARD_TOKEN, merchant: 'm_coffee', amountMinor: 100n, currency: 'USD', createdAtMs: TEST_NOW_MS }, ALLOW, ctx);
    const after = sortedState(ws);
    const mark = ws.mark();
    applyOrder(ws, { id: 'drop', type: 'authorize', cardToken: TEST_CARD_TOKEN, merchant: 'm_coffee', amountMinor: 200n, currency: 'USD', createdAtMs: TEST_NOW_MS }, ALLOW, ctx);
    ws.undo(mark);
    expect(sortedState(ws)).toEqual(after);
    expect(ws.order('keep')?.result.status).toBe('approved');
  });

  it('undoes an atomic batch that rolled itself back to a checkpoint in between', () => {
    const ws = aFundedWorld();
    const before = sortedState(ws);
    const mark = ws.mark();
    const member = (id: string, amountMinor: bigint) => ({
      order: { id, type: 'payment', cardToken: TEST_CARD_TOKEN, merchant: 'm_batch', amountMinor, currency: 'USD', createdAtMs: TEST_NOW_MS, batchId: 'b1' } satisfies Order,
      risk: ALLOW,
      ctx,
    });
    // the second member overdraws: the batch rolls back to its checkpoint and declines every member
    const report = applyBatch(ws, { id: 'b1', count: 2, controlSumMinor: 1_000_100n, currency: 'USD', mode: 'atomic' }, [member('b1-1', 100n), member('b1-2', 1_000_000n)], TEST_NOW_MS);
    expect(report.status).toBe('declined');
    ws.undo(mark);
    expect(sortedState(ws)).toEqual(before);
  });

  it('costs nothing until the first mark: no journal is kept', () => {
    const ws = aFundedWorld();
    applyOrder(ws, { id: 'p', type: 'payment', cardToken: TEST_CARD_TOKEN, merchant: 'm_coffee', amountMinor: 100n, currency: 'USD', createdAtMs: TEST_NOW_MS }, ALLOW, ctx);
    expect((ws as unknown as { journal: unknown }).journal).toBeUndefined();
  });
});

describe('WorkingSet mark and undo, for any orders', () => {
  it('returns any working set to its state at the mark, whatever orders ran before and after it (property)', () => {
    const orderArb = fc.record({
      type: fc.constantFrom(...ORDER_TYPES),
      card: fc.constantFrom(TEST_CARD_TOKEN, BOB_TOKEN),
      merchant: fc.constantFrom('m_coffee', 'm_other', 'funding-USD'),
      amountMinor: fc.bigInt({ min: 1n, max: 8_000n }),
      ref: fc.nat({ max: 20 }),
      review: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(orderArb, { maxLength: 25 }), fc.array(orderArb, { minLength: 1, maxLength: 6 }), (earlier, undone) => {
        const ws = aFundedWorld({ aliceMinor: 20_000n, bobMinor: 5_000n, merchantMinor: 8_000n });
        const ids: string[] = [];
        const run = (steps: typeof earlier, tag: string) =>
          steps.forEach((s, i) => {
            const id = i % 5 === 4 && ids.length > 0 ? ids[s.ref % ids.length]! : `${tag}${i}`;
            const order: Order = { id, type: s.type, currency: 'USD', createdAtMs: TEST_NOW_MS, amountMinor: s.amountMinor };
            if (['payment', 'authorize', 'payout'].includes(s.type)) {
              order.cardToken = s.card;
              order.merchant = s.merchant;
            } else order.ref = ids[s.ref % Math.max(1, ids.length)] ?? 'none';
            applyOrder(ws, order, s.review ? review : ALLOW, aContext({ nowMs: TEST_NOW_MS + i * 60_000 }));
            ids.push(id);
          });
        ws.mark();
        run(earlier, 'e');
        const before = sortedState(ws);
        const mark = ws.mark();
        run(undone, 'u');
        ws.undo(mark);
        expect(sortedState(ws)).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });
});
