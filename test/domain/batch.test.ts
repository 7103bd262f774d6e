// Batch payments: header checks, atomic and independent application, reports, rejections.
import { describe, expect, it } from 'vitest';
import {
  type BatchHeader,
  type BatchMember,
  type BatchRejection,
  applyBatch,
  checkBatchHeader,
  completionMismatch,
  memberRejection,
  rejectBatch,
} from '../../src/domain/batch.ts';
import { BATCH_REASONS, REJECT_REASONS } from '../../src/domain/reasons.ts';
import { applyOrder } from '../../src/domain/apply.ts';
import type { Order } from '../../src/domain/types.ts';
import { BOB_TOKEN, aContext, aFundedWorld, balancesOf, holdsOf } from '../ledger/builders.ts';
import { TEST_NOW_MS, anOrder } from './builders.ts';
import { ALLOW, type RiskDecision } from '../../src/domain/risk/decision.ts';

const ctx = aContext();
const COUNT_MAX = 10_000;

function aHeaderRaw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const raw: Record<string, unknown> = {
    id: 'payroll-1',
    count: 3,
    controlSum: '120.00',
    currency: 'USD',
    mode: 'atomic',
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete raw[key];
    else raw[key] = value;
  }
  return raw;
}

function aHeader(overrides: Partial<BatchHeader> = {}): BatchHeader {
  return {
    id: 'payroll-1',
    count: 3,
    controlSumMinor: 12_000n,
    currency: 'USD',
    mode: 'atomic',
    ...overrides,
  };
}

function members(orders: Order[], risk: RiskDecision = ALLOW): BatchMember[] {
  return orders.map((order) => ({ order, risk, ctx }));
}

/** Three payments of Alice's (30.00, 50.00, 40.00: 120.00 in all) in batch payroll-1. */
function threePayments(): Order[] {
  return [3_000n, 5_000n, 4_000n].map((amountMinor) => anOrder({ amountMinor, batchId: 'payroll-1' }));
}

describe('checkBatchHeader: id, count, control sum', () => {
  it('accepts a well-formed header, the control sum in minor units', () => {
    expect(checkBatchHeader(aHeaderRaw(), 'payroll-1', COUNT_MAX)).toEqual({ ok: true, header: aHeader() });
  });

  it('takes independent as the default mode', () => {
    const check = checkBatchHeader(aHeaderRaw({ mode: undefined }), 'payroll-1', COUNT_MAX);
    expect(check).toMatchObject({ ok: true, header: { mode: 'independent' } });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too long', 'b'.repeat(65)],
    ['with a dot', 'pay.roll'],
    ['a number', 42],
  ])('refuses an id that is %s, without naming it', (_, id) => {
    const check = checkBatchHeader(aHeaderRaw({ id }), 'payroll-1', COUNT_MAX);
    expect(check).toMatchObject({ ok: false, reason: 'invalid_batch' });
    expect(check).not.toHaveProperty('id');
  });

  it("refuses a header whose id differs from the subject's", () => {
    expect(checkBatchHeader(aHeaderRaw(), 'payroll-2', COUNT_MAX)).toMatchObject({
      ok: false,
      reason: 'invalid_batch',
      id: 'payroll-1',
      message: expect.stringContaining('payroll-2'),
    });
  });

  it.each([0, -1, 1.5, '3', null, undefined])('refuses count %s', (count) => {
    expect(checkBatchHeader(aHeaderRaw({ count }), 'payroll-1', COUNT_MAX)).toMatchObject({
      ok: false,
      reason: 'invalid_batch',
    });
  });

  it('accepts a count at the limit and refuses one beyond it as batch_too_large', () => {
    expect(checkBatchHeader(aHeaderRaw({ count: COUNT_MAX }), 'payroll-1', COUNT_MAX).ok).toBe(true);
    expect(checkBatchHeader(aHeaderRaw({ count: COUNT_MAX + 1 }), 'payroll-1', COUNT_MAX)).toMatchObject({
      ok: false,
      reason: 'batch_too_large',
    });
  });

  it.each([
    [120, 'amount_not_string'],
    ['120.001', 'amount_too_precise'],
    ['1.2e2', 'invalid_amount'],
    ['+120.00', 'invalid_amount'],
    ['0.00', 'amount_out_of_range'],
    ['-120.00', 'amount_out_of_range'],
    [undefined, 'amount_not_string'],
  ])('refuses control sum %s (%s)', (controlSum, why) => {
    expect(checkBatchHeader(aHeaderRaw({ controlSum }), 'payroll-1', COUNT_MAX)).toMatchObject({
      ok: false,
      reason: 'invalid_batch',
      message: `controlSum: ${why}`,
    });
  });
});

describe('checkBatchHeader: exponent, currency, mode', () => {
  it('reads the control sum with the currency exponent', () => {
    expect(
      checkBatchHeader(aHeaderRaw({ controlSum: '120', currency: 'JPY' }), 'payroll-1', COUNT_MAX),
    ).toMatchObject({
      header: { controlSumMinor: 120n },
    });
    expect(
      checkBatchHeader(aHeaderRaw({ controlSum: '1.234', currency: 'KWD' }), 'payroll-1', COUNT_MAX),
    ).toMatchObject({
      header: { controlSumMinor: 1_234n },
    });
  });

  it('refuses a missing or unknown currency', () => {
    expect(checkBatchHeader(aHeaderRaw({ currency: undefined }), 'payroll-1', COUNT_MAX)).toMatchObject({
      ok: false,
      message: 'currency is missing',
    });
    expect(checkBatchHeader(aHeaderRaw({ currency: 'XXX' }), 'payroll-1', COUNT_MAX)).toMatchObject({
      ok: false,
      message: 'controlSum: unknown_currency',
    });
  });

  it('refuses a mode other than independent or atomic', () => {
    expect(checkBatchHeader(aHeaderRaw({ mode: 'all-or-nothing' }), 'payroll-1', COUNT_MAX)).toMatchObject({
      ok: false,
      reason: 'invalid_batch',
    });
  });
});

describe('applyBatch, atomic: a failure declines the whole batch', () => {
  it('declines the whole batch when one order would overdraw, naming the first failure, and moves nothing', () => {
    const ws = aFundedWorld(); // Alice has 100.00; the batch wants 120.00
    const before = balancesOf(ws);
    const orders = threePayments();
    const report = applyBatch(ws, aHeader(), members(orders), TEST_NOW_MS);
    expect(report).toEqual({
      batchId: 'payroll-1',
      mode: 'atomic',
      status: 'declined',
      reason: 'atomic_batch_failed',
      firstFailure: { orderId: orders[2]!.id, status: 'declined', reason: 'insufficient_funds' },
      count: 3,
      received: 3,
      controlSum: '120.00',
      receivedSum: '120.00',
      currency: 'USD',
      perStatus: { declined: { count: 3, amount: '120.00' } },
      processedAt: new Date(TEST_NOW_MS).toISOString(),
    });
    expect(balancesOf(ws)).toEqual(before);
    expect(ws.transfers).toEqual([]);
    expect(ws.published.map((r) => [r.orderId, r.status, r.reason, r.batchId])).toEqual([
      [orders[0]!.id, 'declined', 'batch_declined', 'payroll-1'],
      [orders[1]!.id, 'declined', 'batch_declined', 'payroll-1'],
      [orders[2]!.id, 'declined', 'insufficient_funds', 'payroll-1'],
    ]);
  });

  it('keeps the decline final: a republished member gets its declined result', () => {
    const ws = aFundedWorld();
    const orders = threePayments();
    applyBatch(ws, aHeader(), members(orders), TEST_NOW_MS);
    ws.accounts.set('acct_alice', { ...ws.account('acct_alice')!, balanceMinor: 1_000_000n });
    expect(applyOrder(ws, orders[0]!, ALLOW, ctx)).toMatchObject({
      status: 'declined',
      reason: 'batch_declined',
      duplicate: true,
    });
  });

  it('applies all orders when none fails', () => {
    const ws = aFundedWorld({ aliceMinor: 12_000n });
    const report = applyBatch(ws, aHeader(), members(threePayments()), TEST_NOW_MS);
    expect(report).toMatchObject({
      status: 'completed',
      perStatus: { approved: { count: 3, amount: '120.00' } },
    });
    expect(report).not.toHaveProperty('firstFailure');
    expect(balancesOf(ws)).toMatchObject({ acct_alice: 0n, m_coffee: 12_000n });
  });
});

describe('applyBatch, atomic: all or none', () => {
  it('pays a payroll of payouts from the merchant in one go', () => {
    const ws = aFundedWorld({ merchantMinor: 50_000n });
    const payroll = [
      anOrder({ type: 'payout', amountMinor: 20_000n, batchId: 'payroll-1' }),
      anOrder({ type: 'payout', cardToken: BOB_TOKEN, amountMinor: 30_000n, batchId: 'payroll-1' }),
    ];
    const header = aHeader({ count: 2, controlSumMinor: 50_000n });
    expect(applyBatch(ws, header, members(payroll), TEST_NOW_MS).status).toBe('completed');
    expect(balancesOf(ws)).toMatchObject({ m_coffee: 0n, acct_alice: 30_000n, acct_bob: 30_000n });
  });

  it('declines the whole batch when an order is held for review, and releases the hold', () => {
    const ws = aFundedWorld({ aliceMinor: 20_000n });
    const review: RiskDecision = { outcome: 'review', ruleId: 'big', reason: 'amount_order' };
    const orders = threePayments();
    const batch = members(orders);
    batch[1] = { ...batch[1]!, risk: review };
    const report = applyBatch(ws, aHeader(), batch, TEST_NOW_MS);
    expect(report).toMatchObject({
      status: 'declined',
      firstFailure: { orderId: orders[1]!.id, status: 'held' },
    });
    expect(holdsOf(ws).acct_alice).toBe(0n);
    expect(balancesOf(ws).acct_alice).toBe(20_000n);
  });

  it('declines a batch reusing an earlier order id, and leaves that earlier order as it was', () => {
    const ws = aFundedWorld({ aliceMinor: 50_000n });
    const earlier = anOrder({ amountMinor: 1_000n });
    const first = applyOrder(ws, earlier, ALLOW, ctx);
    const orders = [
      anOrder({ amountMinor: 2_000n, batchId: 'payroll-1' }),
      { ...earlier, batchId: 'payroll-1' },
    ];
    const report = applyBatch(ws, aHeader({ count: 2 }), members(orders), TEST_NOW_MS);
    expect(report).toMatchObject({
      status: 'declined',
      firstFailure: { orderId: earlier.id, status: 'approved' },
    });
    expect(ws.order(earlier.id)).toMatchObject({ result: first, paidMinor: 1_000n });
    expect(ws.published.at(-1)).toEqual({ ...first, duplicate: true });
    expect(balancesOf(ws)).toMatchObject({ acct_alice: 49_000n, m_coffee: 1_000n });
  });

  it('declines a batch naming the same order id twice, recording that id once', () => {
    const ws = aFundedWorld();
    const order = anOrder({ amountMinor: 1_000n, batchId: 'payroll-1' });
    const report = applyBatch(ws, aHeader({ count: 2 }), members([order, { ...order }]), TEST_NOW_MS);
    expect(report).toMatchObject({ status: 'declined', perStatus: { declined: { count: 2 } } });
    expect(ws.order(order.id)?.result).toMatchObject({ status: 'declined', reason: 'batch_declined' });
    expect(ws.published.map((r) => r.duplicate ?? false)).toEqual([false, true]);
    expect(ws.transfers).toEqual([]);
  });
});

describe('applyBatch, independent', () => {
  it('applies every order it can and reports each failure', () => {
    const ws = aFundedWorld();
    const orders = threePayments();
    const report = applyBatch(ws, aHeader({ mode: 'independent' }), members(orders), TEST_NOW_MS);
    expect(report).toMatchObject({
      status: 'completed',
      mode: 'independent',
      perStatus: { approved: { count: 2, amount: '80.00' }, declined: { count: 1, amount: '40.00' } },
    });
    expect(report).not.toHaveProperty('firstFailure');
    expect(ws.published.map((r) => r.status)).toEqual(['approved', 'approved', 'declined']);
    expect(ws.published[2]).toMatchObject({ reason: 'insufficient_funds', batchId: 'payroll-1' });
    expect(balancesOf(ws)).toMatchObject({ acct_alice: 2_000n, m_coffee: 8_000n });
  });

  it('totals every status separately, sorted by status', () => {
    const ws = aFundedWorld();
    const orders = [
      anOrder({ amountMinor: 1_000n }),
      anOrder({ type: 'authorize', amountMinor: 2_000n }),
      anOrder({ amountMinor: 500n }),
      anOrder({ amountMinor: 100n, currency: 'EUR' }),
    ];
    const batch = members(orders);
    batch[2] = { ...batch[2]!, risk: { outcome: 'review', ruleId: 'r', reason: 'amount_order' } };
    const report = applyBatch(ws, aHeader({ mode: 'independent', count: 4 }), batch, TEST_NOW_MS);
    expect(Object.keys(report.perStatus)).toEqual(['approved', 'authorized', 'declined', 'held']);
    expect(report.perStatus).toEqual({
      approved: { count: 1, amount: '10.00' },
      authorized: { count: 1, amount: '20.00' },
      declined: { count: 1, amount: '1.00' },
      held: { count: 1, amount: '5.00' },
    });
    expect(report.receivedSum).toBe('36.00');
  });
});

describe('rejectBatch', () => {
  it('rejects every member, moves nothing, and reports the reason', () => {
    const ws = aFundedWorld();
    const before = balancesOf(ws);
    const orders = threePayments();
    const report = rejectBatch(
      ws,
      aHeader({ controlSumMinor: 12_001n }),
      orders.map((order) => ({ order, ctx })),
      'control_sum_mismatch',
      TEST_NOW_MS,
    );
    expect(report).toEqual({
      batchId: 'payroll-1',
      mode: 'atomic',
      status: 'rejected',
      reason: 'control_sum_mismatch',
      count: 3,
      received: 3,
      currency: 'USD',
      controlSum: '120.01',
      receivedSum: '120.00',
      perStatus: { rejected: { count: 3, amount: '120.00' } },
      processedAt: new Date(TEST_NOW_MS).toISOString(),
    });
    expect(ws.published.map((r) => [r.status, r.reason, r.field, r.batchId])).toEqual(
      orders.map(() => ['rejected', 'control_sum_mismatch', 'batchId', 'payroll-1']),
    );
    expect(balancesOf(ws)).toEqual(before);
    expect(ws.transfers).toEqual([]);
  });

  it('works from a partial header (batch timed out before its header came)', () => {
    const ws = aFundedWorld();
    const order = anOrder({ batchId: 'lost-1' });
    const report = rejectBatch(
      ws,
      { id: 'lost-1', count: 1, currency: 'USD' },
      [{ order, ctx }],
      'batch_incomplete',
      TEST_NOW_MS,
    );
    expect(report).toMatchObject({ mode: 'unknown', status: 'rejected', received: 1 });
    expect(report).not.toHaveProperty('controlSum');
  });

  it('gives a member the ledger already knows its original result, marked duplicate, and keeps it', () => {
    const ws = aFundedWorld();
    const known = anOrder({ amountMinor: 1_000n });
    const first = applyOrder(ws, known, ALLOW, ctx);
    const report = rejectBatch(
      ws,
      aHeader({ count: 1 }),
      [{ order: { ...known, batchId: 'payroll-1' }, ctx }],
      'batch_incomplete',
      TEST_NOW_MS,
    );
    expect(report.perStatus).toEqual({ approved: { count: 1, amount: '10.00' } });
    expect(ws.published.at(-1)).toEqual({ ...first, duplicate: true });
    expect(ws.order(known.id)?.result).toEqual(first);
  });
});

describe('completionMismatch: the money check of a batch whose count is reached', () => {
  const header = { controlSumMinor: 12_000n, currency: 'USD' };

  it('passes orders that add up to the control sum in the header currency', () => {
    expect(completionMismatch(header, threePayments())).toBeUndefined();
  });

  it('finds a sum one minor unit off either way, and an empty batch against a non-zero sum', () => {
    const orders = threePayments();
    expect(completionMismatch({ ...header, controlSumMinor: 12_001n }, orders)).toBe('control_sum_mismatch');
    expect(completionMismatch({ ...header, controlSumMinor: 11_999n }, orders)).toBe('control_sum_mismatch');
    expect(completionMismatch(header, [])).toBe('control_sum_mismatch');
  });

  it('finds an order in another currency, the sum being checked first', () => {
    const orders = [...threePayments().slice(0, 2), anOrder({ amountMinor: 4_000n, currency: 'EUR' })];
    expect(completionMismatch(header, orders)).toBe('currency_mismatch');
    expect(completionMismatch({ ...header, controlSumMinor: 1n }, orders)).toBe('control_sum_mismatch');
  });

  it('counts an order without an amount as zero', () => {
    expect(completionMismatch({ ...header, controlSumMinor: 0n }, [{ currency: 'USD' }])).toBeUndefined();
  });
});

describe('memberRejection and the batch reasons', () => {
  const rejections: BatchRejection[] = ['count_exceeded', 'invalid_member', 'control_sum_mismatch', 'currency_mismatch', 'batch_incomplete', 'internal_error'];

  it("gives each member of a batch rejected whole the batch's reason, batch_rejected for a batch spoiled by an invalid member", () => {
    expect(rejections.map(memberRejection)).toEqual(['count_exceeded', 'batch_rejected', 'control_sum_mismatch', 'currency_mismatch', 'batch_incomplete', 'internal_error']);
  });

  it('has every reason a batch is rejected for on the batch list, and every reason its members get on the reject list', () => {
    for (const reason of rejections) {
      expect(BATCH_REASONS).toHaveProperty(reason);
      expect(REJECT_REASONS).toHaveProperty(memberRejection(reason));
    }
  });
});
