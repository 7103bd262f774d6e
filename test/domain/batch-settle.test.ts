// Settling planned batches on a working set, and the sweep's decisions: pure, no ledger.
import { describe, expect, it } from 'vitest';
import type { ApplyContext } from '../../src/domain/apply.ts';
import { BatchBook, WAITING_SWEEP_ORDERS_MAX } from '../../src/domain/batch-book.ts';
import { type BatchLimits, DEFAULT_BATCH_LIMITS, parseBatchLimits } from '../../src/domain/batch-limits.ts';
import { type BatchOrderItem, planBatches } from '../../src/domain/batch-plan.ts';
import {
  type SettleHooks,
  planSweep,
  rejectExpiredWaiting,
  settleBatches,
} from '../../src/domain/batch-settle.ts';
import { ALLOW } from '../../src/domain/risk/decision.ts';
import type { Item } from '../../streams/types.ts';
import { aContext, aFundedWorld, balancesOf } from '../ledger/builders.ts';
import { PAY_SUBJECTS, aHeader, aMember, anInvalidMember } from './batch-builders.ts';
import { TEST_NOW_MS } from './builders.ts';

const bookOf = (limits: Partial<BatchLimits> = {}) => new BatchBook(parseBatchLimits(limits));
const planOf = (book: BatchBook, items: Item[]) =>
  planBatches(book, items, TEST_NOW_MS, new Map(), PAY_SUBJECTS);
/** Hooks that record what settling asked, in order. */
function hooks(): SettleHooks & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    contextFor: (item: BatchOrderItem): ApplyContext => {
      asked.push(`ctx ${item.order.id} ${item.msg.receivedAtMs - TEST_NOW_MS}`);
      return aContext({ receivedAtMs: item.msg.receivedAtMs });
    },
    riskFor: (item) => {
      asked.push(`risk ${item.order.id}`);
      return ALLOW;
    },
    nowFor: (atMs) => atMs,
  };
}
const outcomes = (results: { orderId: string; status: string; reason?: string }[]) =>
  results.map((r) => `${r.orderId}:${r.status}${r.reason ? `:${r.reason}` : ''}`);

describe('settleBatches: complete batches', () => {
  it('applies an atomic batch that completed, each order counted from the moment the batch completed', () => {
    const book = bookOf();
    const plan = planOf(book, [
      aHeader('erp', 'B', 2, { raw: { controlSum: '30.00' } }),
      aMember('erp', 'b1', 'B', { amountMinor: 1_000n }),
      aMember('erp', 'b2', 'B', { amountMinor: 2_000n, atMs: TEST_NOW_MS + 7 }),
    ]);
    const ws = aFundedWorld();
    const h = hooks();
    settleBatches(book, plan, ws, h);
    expect(outcomes(ws.published)).toEqual(['b1:approved', 'b2:approved']);
    expect(h.asked).toEqual(['ctx b1 7', 'risk b1', 'ctx b2 7', 'risk b2']);
    expect(plan.reports).toEqual([
      {
        batchId: 'B',
        report: expect.objectContaining({ status: 'completed', controlSum: '30.00', receivedSum: '30.00' }),
      },
    ]);
    expect(plan.ops.slice(-2)).toEqual([
      { kind: 'state', state: expect.objectContaining({ id: 'B', report: plan.reports[0]!.report }) },
      { kind: 'pendingCleared', batchId: 'B', count: 2 },
    ]);
    expect(book.finishedReport('B')).toBe(plan.reports[0]!.report);
    expect(balancesOf(ws).acct_alice).toBe(7_000n);
  });

  it('declines an atomic batch whole when one order would overdraw, and moves nothing', () => {
    const book = bookOf();
    const plan = planOf(book, [
      aHeader('erp', 'B', 2, { raw: { controlSum: '110.00' } }),
      aMember('erp', 'b1', 'B', { amountMinor: 6_000n }),
      aMember('erp', 'b2', 'B', { amountMinor: 5_000n }),
    ]);
    const ws = aFundedWorld();
    settleBatches(book, plan, ws, hooks());
    expect(outcomes(ws.published)).toEqual(['b1:declined:batch_declined', 'b2:declined:insufficient_funds']);
    expect(plan.reports[0]!.report).toMatchObject({
      status: 'declined',
      reason: 'atomic_batch_failed',
      firstFailure: { orderId: 'b2', reason: 'insufficient_funds' },
    });
    expect(balancesOf(ws).acct_alice).toBe(10_000n);
  });

  it('applies an independent batch order by order', () => {
    const book = bookOf();
    const plan = planOf(book, [
      aHeader('erp', 'B', 2, { raw: { controlSum: '110.00', mode: 'independent' } }),
      aMember('erp', 'b1', 'B', { amountMinor: 6_000n }),
      aMember('erp', 'b2', 'B', { amountMinor: 5_000n }),
    ]);
    const ws = aFundedWorld();
    settleBatches(book, plan, ws, hooks());
    expect(outcomes(ws.published)).toEqual(['b1:approved', 'b2:declined:insufficient_funds']);
    expect(plan.reports[0]!.report).toMatchObject({
      status: 'completed',
      perStatus: { approved: { count: 1, amount: '60.00' }, declined: { count: 1, amount: '50.00' } },
    });
  });

  it('settles only the batches at the position asked', () => {
    const book = bookOf();
    const plan = planOf(book, [
      aHeader('erp', 'A', 1),
      aMember('erp', 'a1', 'A'),
      aMember('erp', 'g', undefined),
      aHeader('erp', 'B', 1),
      aMember('erp', 'b1', 'B'),
    ]);
    const ws = aFundedWorld();
    settleBatches(book, plan, ws, hooks(), 1);
    expect(plan.reports.map((r) => r.batchId)).toEqual(['B']);
    settleBatches(book, plan, ws, hooks(), 0);
    expect(plan.reports.map((r) => r.batchId)).toEqual(['B', 'A']);
  });
});

describe('settleBatches: batches rejected whole', () => {
  it("rejects every member with the batch's reason, or batch_rejected when an invalid member spoiled it", () => {
    const book = bookOf();
    const plan = planOf(book, [
      aHeader('erp', 'S', 1),
      aMember('erp', 's1', 'S', { amountMinor: 5n }),
      aHeader('erp', 'I', 2),
      aMember('erp', 'i1', 'I'),
      anInvalidMember('erp', 'bad', 'I'),
    ]);
    const ws = aFundedWorld();
    settleBatches(book, plan, ws, hooks());
    expect(outcomes(ws.published)).toEqual([
      's1:rejected:control_sum_mismatch',
      'i1:rejected:batch_rejected',
    ]);
    expect(plan.reports.map((r) => [r.batchId, 'reason' in r.report ? r.report.reason : undefined])).toEqual([
      ['S', 'control_sum_mismatch'],
      ['I', 'invalid_member'],
    ]);
    expect(ws.published.every((r) => r.field === 'batchId')).toBe(true);
    expect(balancesOf(ws).acct_alice).toBe(10_000n);
  });

  it('rejects a batch without a header with a header made of its orders', () => {
    const book = bookOf({ batchOrdersMax: 1 });
    book.addOpen({ id: 'L', source: '', orders: [], ids: new Set(), sumMinor: 0n, openedAtMs: TEST_NOW_MS });
    const plan = planOf(book, [aMember('x', 'l1', 'L', { currency: 'EUR' }), aMember('x', 'l2', 'L')]);
    settleBatches(book, plan, aFundedWorld(), hooks());
    expect(plan.reports[0]!.report).toMatchObject({
      batchId: 'L',
      mode: 'unknown',
      reason: 'count_exceeded',
      count: 1,
      received: 1,
      currency: 'EUR',
    });
  });
});

describe('the sweep: batches open too long, orders that waited in vain', () => {
  it('is due one millisecond after batchTimeoutMs or unknownBatchWaitMs, not before', () => {
    const open = bookOf();
    planOf(open, [aHeader('erp', 'B', 2)]);
    expect(open.sweepDue(TEST_NOW_MS + DEFAULT_BATCH_LIMITS.batchTimeoutMs)).toBe(false);
    expect(open.sweepDue(TEST_NOW_MS + DEFAULT_BATCH_LIMITS.batchTimeoutMs + 1)).toBe(true);
    const waiting = bookOf();
    planOf(waiting, [aMember('erp', 'w', 'X')]);
    expect(waiting.sweepDue(TEST_NOW_MS + DEFAULT_BATCH_LIMITS.unknownBatchWaitMs)).toBe(false);
    expect(waiting.sweepDue(TEST_NOW_MS + DEFAULT_BATCH_LIMITS.unknownBatchWaitMs + 1)).toBe(true);
  });

  it('rejects an overdue batch whole, batch_incomplete, and the expired waiting orders batch_unknown (an invalid one without a second answer)', () => {
    const book = bookOf();
    planOf(book, [
      aHeader('erp', 'B', 3),
      aMember('erp', 'b1', 'B'),
      aMember('erp', 'w', 'X', { atMs: TEST_NOW_MS + 1 }),
      anInvalidMember('erp', 'bad', 'X'),
    ]);
    const nowMs = TEST_NOW_MS + DEFAULT_BATCH_LIMITS.batchTimeoutMs + 1;
    const sweep = planSweep(book, nowMs);
    expect(sweep.plan.rejected.map((r) => [r.batch.id, r.reason, r.atMs])).toEqual([
      ['B', 'batch_incomplete', nowMs],
    ]);
    expect(sweep.expired.map((e) => e.waiting.order.id)).toEqual(['bad', 'w']);
    expect(book.openBatches()).toEqual([]);
    const ws = aFundedWorld();
    settleBatches(book, sweep.plan, ws, hooks());
    rejectExpiredWaiting(book, sweep, ws, (w) => aContext({ nowMs, receivedAtMs: w.receivedAtMs }));
    expect(outcomes(ws.published)).toEqual(['b1:rejected:batch_incomplete', 'w:rejected:batch_unknown']);
    expect(sweep.plan.ops.map((c) => c.kind)).toEqual([
      'state',
      'pendingCleared',
      'waitingCleared',
      'waitingCleared',
    ]);
    expect(book.waitingCount()).toBe(0);
  });

  it(`takes at most ${WAITING_SWEEP_ORDERS_MAX} expired waiting orders a sweep, the oldest first`, () => {
    const book = bookOf({ waitingOrdersMax: 6000, waitingOrdersPerSourceMax: 6000 });
    planOf(
      book,
      Array.from({ length: WAITING_SWEEP_ORDERS_MAX + 2 }, (_, i) =>
        aMember('erp', `w${i}`, 'X', { atMs: TEST_NOW_MS - i }),
      ),
    );
    const sweep = planSweep(book, TEST_NOW_MS + DEFAULT_BATCH_LIMITS.unknownBatchWaitMs + 1);
    expect(sweep.expired).toHaveLength(WAITING_SWEEP_ORDERS_MAX);
    expect(sweep.expired[0]!.waiting.order.id).toBe(`w${WAITING_SWEEP_ORDERS_MAX + 1}`);
    expect(sweep.expired.at(-1)!.waiting.order.id).toBe('w2');
  });
});
