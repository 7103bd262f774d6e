// The hot path's shortcuts in src/domain/apply.ts against what they replace: results and records built as one
// literal keep the keys (and so the wire and stored bytes) of resultOf/newRecord, a cached expiry check answers as
// cards.ts isExpired, and a checkpoint rolled back from the journal leaves what a full copy did.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type WorkingSet, applyOrder, isCardExpired } from '../../src/domain/apply.ts';
import { applyBatch } from '../../src/domain/batch.ts';
import { isExpired } from '../../src/domain/cards.ts';
import type { Order } from '../../src/domain/types.ts';
import { ALLOW, type RiskDecision } from '../../src/domain/risk/decision.ts';
import { aContext, aFundedWorld } from '../ledger/builders.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS } from './builders.ts';

const review: RiskDecision = { outcome: 'review', ruleId: 'big_amount', reason: 'amount_order' };
const base = { cardToken: TEST_CARD_TOKEN, merchant: 'm_coffee', currency: 'USD', createdAtMs: TEST_NOW_MS };

// What resultOf and newRecord gave before the literals (JSON.stringify of the result is the wire payload).
// biome-ignore format: one row a case
const EXPECTED: [name: string, resultJson: string, recordKeys: string[]][] = [
  ['payment', '{"orderId":"p1","status":"approved","transferId":"tx_p1","available":"87.50","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId']],
  ['batch payment', '{"orderId":"p2","status":"approved","transferId":"tx_p2","available":"86.50","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7,"batchId":"b1"}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId']],
  ['authorize', '{"orderId":"a1","status":"authorized","available":"66.50","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId', 'holdExpiresAtMs']],
  ['held payment', '{"orderId":"h1","status":"held","available":"63.50","rule":"big_amount","reason":"amount_order","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId', 'holdExpiresAtMs', 'reviewRule']],
  ['held authorize', '{"orderId":"h2","status":"held","available":"59.50","rule":"big_amount","reason":"amount_order","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId', 'holdExpiresAtMs', 'reviewRule']],
  ['payout', '{"orderId":"o1","status":"approved","transferId":"tx_o1","available":"64.50","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId']],
  ['held payout', '{"orderId":"o2","status":"held","rule":"big_amount","reason":"amount_order","available":"64.50","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId', 'holdAccountId', 'holdExpiresAtMs', 'reviewRule']],
  ['capture', '{"orderId":"c1","status":"captured","transferId":"tx_c1","available":"64.50","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId']],
  ['refund', '{"orderId":"r1","status":"refunded","transferId":"tx_r1","available":"65.00","processedAt":"2026-11-25T10:00:00.000Z","latencyMs":7}', ['order', 'result', 'holdMinor', 'open', 'paidMinor', 'refundedMinor', 'capturedMinor', 'accountId']],
];

describe('results and records of the orders that move or hold money', () => {
  it('keep their keys in the order the wire and the ledger had them', () => {
    const ws = aFundedWorld({ merchantMinor: 50_000n });
    const ctx = aContext({ receivedAtMs: TEST_NOW_MS - 7 });
    const steps: [Order, RiskDecision][] = [
      [{ id: 'p1', type: 'payment', amountMinor: 1250n, ...base }, ALLOW],
      [{ id: 'p2', type: 'payment', amountMinor: 100n, batchId: 'b1', ...base }, ALLOW],
      [{ id: 'a1', type: 'authorize', amountMinor: 2000n, ...base }, ALLOW],
      [{ id: 'h1', type: 'payment', amountMinor: 300n, ...base }, review],
      [{ id: 'h2', type: 'authorize', amountMinor: 400n, ...base }, review],
      [{ id: 'o1', type: 'payout', amountMinor: 500n, ...base }, ALLOW],
      [{ id: 'o2', type: 'payout', amountMinor: 600n, ...base }, review],
      [{ id: 'c1', type: 'capture', ref: 'a1', createdAtMs: TEST_NOW_MS }, ALLOW],
      [{ id: 'r1', type: 'refund', ref: 'p1', amountMinor: 50n, createdAtMs: TEST_NOW_MS }, ALLOW],
    ];
    const seen = steps.map(([order, risk], i) => {
      const result = applyOrder(ws, order, risk, ctx);
      return [EXPECTED[i]![0], JSON.stringify(result), Object.keys(ws.order(order.id)!)];
    });
    expect(seen).toEqual(EXPECTED);
  });
});

describe('isCardExpired', () => {
  it('answers as isExpired for any expiry text and instant, asked once or again', () => {
    const texts = ['01/26', '11/26', '12/26', '12/2026', '11/2026', '10/99', '12/2099', '00/26', '13/26', '1/26', '01/2', '01/2100', '01/1999', '01-26', ' 01/26', '01/26 ', '01/26\n', '', '０1/26'];
    const instants = [TEST_NOW_MS, Date.UTC(2026, 11, 1) - 1, Date.UTC(2026, 11, 1), Date.UTC(2027, 0, 1) - 1, Date.UTC(2027, 0, 1), 0, Date.UTC(2100, 0, 1), Number.NaN];
    for (let pass = 0; pass < 2; pass++) {
      for (const text of texts) for (const nowMs of instants) expect([text, nowMs, isCardExpired(text, nowMs)]).toEqual([text, nowMs, isExpired(text, nowMs)]);
    }
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,2}\/[0-9]{1,4}$/), fc.integer({ min: Date.UTC(1999, 0, 1), max: Date.UTC(2101, 0, 1) }), (text, nowMs) => {
        expect(isCardExpired(text, nowMs)).toBe(isExpired(text, nowMs));
      }),
      { numRuns: 2000 },
    );
  });
});

/** The state a rollback must restore, Maps and Sets in their iteration order. */
const stateOf = (ws: WorkingSet) => ({
  accounts: [...ws.accounts.entries()],
  orders: [...ws.orders.entries()],
  dirtyAccounts: [...ws.dirtyAccounts],
  createdAccounts: [...ws.createdAccounts],
  dirtyOrders: [...ws.dirtyOrders],
  transfers: [...ws.transfers],
  published: [...ws.published],
  staleExpiries: [...ws.staleExpiries],
});

describe('checkpoint and rollback from the journal', () => {
  it('leaves every map and set as it was, in the same order, with or without a mark before', () => {
    for (const marked of [false, true]) {
      const ws = aFundedWorld({ merchantMinor: 5_000n });
      if (marked) ws.mark();
      const ctx = aContext();
      applyOrder(ws, { id: 'before', type: 'authorize', amountMinor: 700n, ...base }, ALLOW, ctx);
      const cp = ws.checkpoint();
      const at = stateOf(ws);
      applyOrder(ws, { id: 'x1', type: 'payment', amountMinor: 100n, ...base, merchant: 'm_new' }, ALLOW, ctx);
      applyOrder(ws, { id: 'x2', type: 'capture', ref: 'before', createdAtMs: TEST_NOW_MS }, ALLOW, ctx);
      applyOrder(ws, { id: 'x3', type: 'payment', amountMinor: 200n, ...base }, review, ctx);
      ws.rollback(cp);
      expect(stateOf(ws)).toEqual(at);
      expect(ws.account('m_new')).toBeUndefined();
    }
  });

  it('lets a mark taken before an atomic batch undo the batch and what its rollback declined', () => {
    const ws = aFundedWorld();
    const before = stateOf(ws);
    const mark = ws.mark();
    const ctx = aContext();
    const member = (id: string, amountMinor: bigint) => ({ order: { id, type: 'payment', amountMinor, batchId: 'b1', ...base } satisfies Order, risk: ALLOW, ctx });
    const report = applyBatch(ws, { id: 'b1', count: 3, controlSumMinor: 1_000_300n, currency: 'USD', mode: 'atomic' }, [member('m1', 100n), member('m2', 200n), member('m3', 1_000_000n)], TEST_NOW_MS);
    expect(report.status).toBe('declined');
    ws.undo(mark);
    expect(stateOf(ws)).toEqual(before);
  });

  it('refuses a rollback to a checkpoint taken before the latest mark', () => {
    const ws = aFundedWorld();
    const cp = ws.checkpoint();
    ws.mark();
    expect(() => ws.rollback(cp)).toThrow('rollback to a checkpoint taken before the latest mark');
  });
});
