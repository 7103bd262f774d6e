// BatchTracker on a real LevelDB: batches from header to report, atomic and independent; orders waiting for
// their header (bounded per source and in all, kept across a restart, rejected batch_unknown after the wait);
// open batches bounded per source, so one publisher's junk cannot block another's; a restart finds what it left.
import { describe, expect, it } from 'vitest';
import {
  type ApplyContext,
  DEFAULT_APPLY_OPTIONS,
  type WorkingSet,
  applyOrder,
  applyRejection,
} from '../../src/domain/apply.ts';
import { DEFAULT_BATCH_LIMITS, type BatchLimits } from '../../src/domain/batch-limits.ts';
import type { BatchInputItem, BatchOrderItem } from '../../src/domain/batch-plan.ts';
import { ALLOW } from '../../src/domain/risk/decision.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { BatchTracker } from '../../src/ledger/batches.ts';
import type { Item } from '../../streams/types.ts';
import { aHeader, aMember, anInvalidMember } from '../domain/batch-builders.ts';
import { TEST_NOW_MS } from '../domain/builders.ts';
import { withFundedStore } from '../streams/fixtures.ts';

const env = withFundedStore();
const trackerOf = (limits: Partial<BatchLimits> = {}) =>
  new BatchTracker(env.store, limits, { prefix: 'pay' });

const contextOf =
  (nowMs: number) =>
  (item: { msg: { receivedAtMs: number } }): ApplyContext => ({
    nowMs,
    receivedAtMs: item.msg.receivedAtMs,
    options: DEFAULT_APPLY_OPTIONS,
  });
function decide(ws: WorkingSet, item: Item | BatchOrderItem | BatchInputItem, ctx: ApplyContext): void {
  if (item.kind === 'order') applyOrder(ws, item.order, ALLOW, ctx);
  else if (item.kind === 'rejected' && 'reason' in item)
    applyRejection(ws, { id: item.orderId, batchId: item.batchId }, item.reason, item.field, ctx);
}

/**
 * One buffer through the tracker as the apply stage runs it (streams/apply.ts): plan, prefetch, decide the
 * direct items and settle each batch where it ended among them, one commit. Risk allows everything.
 */
async function buffer(
  tracker: BatchTracker,
  items: Item[],
  nowMs = TEST_NOW_MS,
): Promise<{ results: OrderResult[]; reports: unknown[] }> {
  return env.store.exclusive(async () => {
    const plan = tracker.plan(items, nowMs, await tracker.reportsFromLedger(tracker.unknownBatchIds(items)));
    const orders = [...plan.direct, ...plan.complete.flatMap((c) => c.items)].flatMap((i) =>
      i.kind === 'order' ? [i.order] : [],
    );
    const ids = [
      ...plan.direct.flatMap((i) => (i.kind === 'rejected' ? [i.orderId] : [])),
      ...plan.rejected.flatMap((r) => r.batch.orders.map((p) => p.order.id)),
    ];
    const ws = await env.store.prefetch(orders, ids);
    const ctx = contextOf(nowMs);
    let from = 0;
    const decideUpTo = (cut: number) => {
      for (const item of plan.direct.slice(from, cut)) decide(ws, item, ctx(item));
      from = cut;
    };
    for (const cut of [...new Set([...plan.complete, ...plan.rejected].map((e) => e.at))].sort(
      (a, b) => a - b,
    )) {
      decideUpTo(cut);
      tracker.settle(
        plan,
        ws,
        ctx,
        () => ALLOW,
        () => nowMs,
        cut,
      );
    }
    decideUpTo(plan.direct.length);
    await env.store.commit(ws, tracker.ops(plan));
    return { results: ws.published, reports: plan.reports };
  });
}

const outcomes = (results: OrderResult[]) =>
  results.map((r) => `${r.orderId}:${r.status}${r.reason ? `:${r.reason}` : ''}`).sort();
const keysUnder = async (prefix: string) => {
  const keys: string[] = [];
  for await (const key of env.store.batches.keys({ gte: prefix, lt: `${prefix}~` })) keys.push(key);
  return keys;
};
const aliceMinor = async () => (await env.store.getAccount('acct_alice'))?.balanceMinor;
const afterWaitMs = TEST_NOW_MS + DEFAULT_BATCH_LIMITS.unknownBatchWaitMs + 1;

describe('BatchTracker: a batch from its header to its report', () => {
  it('holds the orders of an open batch in the ledger, then applies them when the last one comes and stores the report', async () => {
    const tracker = trackerOf();
    const first = await buffer(tracker, [aHeader('erp', 'B', 2), aMember('erp', 'b1', 'B')]);
    expect(first).toEqual({ results: [], reports: [] });
    expect(tracker.openBatches()).toEqual([
      expect.objectContaining({ id: 'B', source: 'erp', received: 1, sumMinor: 100n }),
    ]);
    expect(await keysUnder('pending!')).toEqual(['pending!B!000001']);
    const done = await buffer(tracker, [aMember('erp', 'b2', 'B')]);
    expect(outcomes(done.results)).toEqual(['b1:approved', 'b2:approved']);
    expect(done.reports).toEqual([
      {
        batchId: 'B',
        report: expect.objectContaining({ status: 'completed', count: 2, received: 2, controlSum: '2.00' }),
      },
    ]);
    expect(await keysUnder('pending!')).toEqual([]);
    expect(tracker.openBatches()).toEqual([]);
    expect(await tracker.findReport('B')).toMatchObject({ status: 'completed' });
    expect(await aliceMinor()).toBe(9_800n);
  });

  it('declines an atomic batch whole when one order would overdraw, and moves nothing', async () => {
    const tracker = trackerOf();
    const header = aHeader('erp', 'A', 2, { raw: { controlSum: '110.00' } });
    const done = await buffer(tracker, [
      header,
      aMember('erp', 'a1', 'A', { amountMinor: 6_000n }),
      aMember('erp', 'a2', 'A', { amountMinor: 5_000n }),
    ]);
    expect(outcomes(done.results)).toEqual(['a1:declined:batch_declined', 'a2:declined:insufficient_funds']);
    expect(done.reports).toEqual([
      {
        batchId: 'A',
        report: expect.objectContaining({ status: 'declined', reason: 'atomic_batch_failed' }),
      },
    ]);
    expect(await aliceMinor()).toBe(10_000n);
    expect((await env.store.getOrder('a1'))?.result).toMatchObject({
      status: 'declined',
      reason: 'batch_declined',
    });
  });

  it('applies an independent batch order by order', async () => {
    const tracker = trackerOf();
    const header = aHeader('erp', 'I', 2, { raw: { controlSum: '110.00', mode: 'independent' } });
    const done = await buffer(tracker, [
      header,
      aMember('erp', 'i1', 'I', { amountMinor: 6_000n }),
      aMember('erp', 'i2', 'I', { amountMinor: 5_000n }),
    ]);
    expect(outcomes(done.results)).toEqual(['i1:approved', 'i2:declined:insufficient_funds']);
    expect(await aliceMinor()).toBe(4_000n);
  });

  it('answers a finished batch header with its report from the ledger, marked duplicate, after a restart', async () => {
    await buffer(trackerOf(), [aHeader('erp', 'F', 1), aMember('erp', 'f1', 'F')]);
    await env.reopen();
    const tracker = trackerOf();
    const again = await buffer(tracker, [aHeader('erp', 'F', 1), aMember('erp', 'f2', 'F')]);
    expect(again.reports).toEqual([
      { batchId: 'F', report: expect.objectContaining({ status: 'completed', duplicate: true }) },
    ]);
    expect(outcomes(again.results)).toEqual(['f2:rejected:batch_closed']);
    expect(await tracker.findReport('F')).toMatchObject({ status: 'completed' });
    expect(await tracker.findReport('nope')).toBeUndefined();
  });
});

describe('BatchTracker: limits', () => {
  it('rejects a batch still incomplete after batchTimeoutMs whole (batch_incomplete) in a sweep of its own', async () => {
    const tracker = trackerOf({ batchTimeoutMs: 60_000 });
    await buffer(tracker, [aHeader('erp', 'T', 3), aMember('erp', 't1', 'T')]);
    expect(await tracker.sweep(TEST_NOW_MS + 60_000, DEFAULT_APPLY_OPTIONS)).toEqual({
      reports: [],
      results: [],
    });
    const swept = await tracker.sweep(TEST_NOW_MS + 60_001, DEFAULT_APPLY_OPTIONS);
    expect(outcomes(swept.results)).toEqual(['t1:rejected:batch_incomplete']);
    expect(swept.reports).toEqual([
      {
        batchId: 'T',
        report: expect.objectContaining({ status: 'rejected', reason: 'batch_incomplete', received: 1 }),
      },
    ]);
    expect(await keysUnder('pending!')).toEqual([]);
    expect(await tracker.findReport('T')).toMatchObject({ reason: 'batch_incomplete' });
  });

  it('refuses a header announcing more than batchOrdersMax (batch_too_large) and one beyond the open batches allowed', async () => {
    const tracker = trackerOf({ batchOrdersMax: 5, openBatchesMax: 2, openBatchesPerSourceMax: 2 });
    const out = await buffer(tracker, [
      aHeader('erp', 'L', 6),
      aHeader('erp', 'O1', 2),
      aHeader('pos', 'O2', 2),
      aHeader('pos', 'O3', 2),
    ]);
    expect(
      out.reports.map((r) => (r as { batchId: string; report: { reason: string } }).report.reason),
    ).toEqual(['batch_too_large', 'too_many_open_batches']);
    expect(tracker.openBatches().map((b) => b.id)).toEqual(['O1', 'O2']);
    expect(await keysUnder('batch!')).toEqual(['batch!O1', 'batch!O2']);
  });

  it.each([
    [{ openBatchesMax: 0 }, 'openBatchesMax must be a whole number within 1..100000, got 0'],
    [
      { openBatchesMax: 10, openBatchesPerSourceMax: 11 },
      'openBatchesPerSourceMax (11) exceeds openBatchesMax (10)',
    ],
  ])('refuses limits %j when it is made', (limits, message) => {
    expect(() => trackerOf(limits)).toThrow(message);
  });
});

describe('BatchTracker: junk is bounded per source', () => {
  it("100 orders naming junk batch ids and a source's 100 junk headers do not stop another source's batch; the junk orders are rejected batch_unknown after the wait", async () => {
    const tracker = trackerOf();
    const junkOrders = Array.from({ length: 100 }, (_, i) => aMember('junk', `junk-o${i}`, `junk-${i}`));
    // they open nothing: they wait, stored with the buffer that took them
    expect((await buffer(tracker, junkOrders)).results).toEqual([]);
    expect([tracker.openBatches(), tracker.waitingCount('junk'), (await keysUnder('wait!')).length]).toEqual([
      [],
      100,
      100,
    ]);
    // the junk source fills its own quota of open batches, and no more
    const second = await buffer(
      tracker,
      Array.from({ length: 101 }, (_, i) => aHeader('junk', `jh-${i}`, 5)),
    );
    expect(tracker.openBatches()).toHaveLength(DEFAULT_BATCH_LIMITS.openBatchesPerSourceMax);
    expect(second.reports).toEqual([
      { batchId: 'jh-100', report: expect.objectContaining({ reason: 'too_many_open_batches' }) },
    ]);
    // another source's batch opens and completes all the same
    const payroll = await buffer(tracker, [
      aHeader('erp', 'payroll', 2),
      aMember('erp', 'p-1', 'payroll'),
      aMember('erp', 'p-2', 'payroll'),
    ]);
    expect(payroll.reports).toEqual([
      { batchId: 'payroll', report: expect.objectContaining({ status: 'completed', count: 2, received: 2 }) },
    ]);
    expect(outcomes(payroll.results)).toEqual(['p-1:approved', 'p-2:approved']);
    // within the wait nothing happens to the junk orders; after it they are rejected batch_unknown
    expect(await tracker.sweep(afterWaitMs - 1, DEFAULT_APPLY_OPTIONS)).toEqual({ reports: [], results: [] });
    const swept = await tracker.sweep(afterWaitMs, DEFAULT_APPLY_OPTIONS);
    expect(outcomes(swept.results)).toEqual(
      junkOrders.map((o) => `${o.order.id}:rejected:batch_unknown`).sort(),
    );
    expect(swept.results.every((r) => r.field === 'batchId')).toBe(true);
    expect([tracker.waitingCount(), await keysUnder('wait!')]).toEqual([0, []]);
    expect((await env.store.getOrder('junk-o7'))?.result).toMatchObject({
      status: 'rejected',
      reason: 'batch_unknown',
      batchId: 'junk-7',
    });
    expect(await aliceMinor()).toBe(9_800n);
  });

  it('bounds the waiting area per source (batch ids, orders) and in all: an order beyond a bound is rejected batch_unknown at once', async () => {
    const tracker = trackerOf({
      waitingBatchesPerSourceMax: 3,
      waitingOrdersPerSourceMax: 5,
      waitingOrdersMax: 7,
    });
    const a = await buffer(
      tracker,
      [
        ['a1', 'b1'],
        ['a2', 'b2'],
        ['a3', 'b3'],
        ['a4', 'b4'],
        ['a5', 'b1'],
        ['a6', 'b1'],
        ['a7', 'b2'],
      ].map(([id, b]) => aMember('a', id!, b!)),
    );
    expect(outcomes(a.results)).toEqual(['a4:rejected:batch_unknown', 'a7:rejected:batch_unknown']);
    expect(tracker.waitingCount('a')).toBe(5);
    const b = await buffer(tracker, [
      aMember('b', 'b-1', 'x'),
      aMember('b', 'b-2', 'x'),
      aMember('c', 'c-1', 'y'),
    ]);
    // 5 + 2 = 7 in all: the third is one too many, whatever its source
    expect(outcomes(b.results)).toEqual(['c-1:rejected:batch_unknown']);
    // a redelivered waiting order is not counted twice
    expect((await buffer(tracker, [aMember('a', 'a1', 'b1')])).results).toEqual([]);
    expect(tracker.waitingCount()).toBe(7);
  });
});

describe('BatchTracker: orders before their header', () => {
  it("a named source's batch takes its own orders only: another source can neither fill nor spoil it", async () => {
    const tracker = trackerOf();
    // one waiting before the header, one after it opened: both from the wrong source
    expect((await buffer(tracker, [aMember('evil', 'e-1', 'pay-run')])).results).toEqual([]);
    const opened = await buffer(tracker, [
      aHeader('erp', 'pay-run', 2),
      aMember('evil', 'e-2', 'pay-run'),
      aMember('erp', 'r-1', 'pay-run'),
    ]);
    expect(outcomes(opened.results)).toEqual(['e-1:rejected:batch_unknown', 'e-2:rejected:batch_unknown']);
    expect(opened.reports).toEqual([]);
    const done = await buffer(tracker, [aMember('erp', 'r-2', 'pay-run')]);
    expect(done.reports).toEqual([
      { batchId: 'pay-run', report: expect.objectContaining({ status: 'completed', received: 2 }) },
    ]);
    expect(outcomes(done.results)).toEqual(['r-1:approved', 'r-2:approved']);
  });

  it('an invalid order naming a batch before its header is rejected at once, and spoils the batch when its header comes (invalid_member)', async () => {
    const tracker = trackerOf();
    const first = await buffer(tracker, [
      anInvalidMember('erp', 'bad-1', 'spoilt'),
      aMember('erp', 'ok-1', 'spoilt'),
    ]);
    expect(outcomes(first.results)).toEqual(['bad-1:rejected:invalid_amount']);
    const opened = await buffer(tracker, [aHeader('erp', 'spoilt', 2)]);
    expect(opened.reports).toEqual([
      {
        batchId: 'spoilt',
        report: expect.objectContaining({ status: 'rejected', reason: 'invalid_member' }),
      },
    ]);
    expect(outcomes(opened.results)).toEqual(['ok-1:rejected:batch_rejected']);
    expect([await keysUnder('wait!'), tracker.openBatches()]).toEqual([[], []]);
    // with no header, the marker goes at the end of the wait without a second result
    await buffer(tracker, [anInvalidMember('erp', 'bad-2', 'never')]);
    expect((await tracker.sweep(afterWaitMs, DEFAULT_APPLY_OPTIONS)).results).toEqual([]);
    expect(tracker.waitingCount()).toBe(0);
  });

  it('a header without a source (pay.batches.<id>) opens a batch that takes orders from any source, waiting ones included', async () => {
    const tracker = trackerOf();
    await buffer(tracker, [aMember('pos', 'u-1', 'shared')]);
    const done = await buffer(tracker, [aHeader('', 'shared', 2), aMember('erp', 'u-2', 'shared')]);
    expect(done.reports).toEqual([
      { batchId: 'shared', report: expect.objectContaining({ status: 'completed', received: 2 }) },
    ]);
    expect(outcomes(done.results)).toEqual(['u-1:approved', 'u-2:approved']);
  });
});

describe('BatchTracker: a restart finds what the ledger holds', () => {
  it('loads the same open batches, held orders, waiting orders and progress, and goes on where it stopped', async () => {
    const before = trackerOf();
    await buffer(before, [
      aHeader('erp', 'B', 3, { raw: { controlSum: '4.50' } }),
      aMember('erp', 'b1', 'B'),
      aMember('erp', 'b2', 'B', { amountMinor: 250n }),
      aHeader('', 'U', 2),
    ]);
    await buffer(before, [
      aMember('pos', 'w1', 'LATER'),
      anInvalidMember('pos', 'bad', 'SPOILT'),
      aHeader('erp', 'D', 1),
      aMember('erp', 'd1', 'D'),
    ]);
    await env.reopen();
    const after = trackerOf();
    await after.load();
    expect(after.openBatches()).toEqual(before.openBatches());
    expect(after.progress()).toEqual(before.progress());
    expect([after.waitingCount(), after.waitingCount('pos')]).toEqual([2, 2]);
    const done = await buffer(after, [
      aMember('erp', 'b3', 'B'),
      aHeader('pos', 'LATER', 1),
      aHeader('pos', 'SPOILT', 1),
      aMember('erp', 'b1', 'B'),
    ]);
    // the batch completes with the orders held before the restart; b1 again is a redelivery: its result again
    expect(outcomes(done.results)).toEqual([
      'b1:approved',
      'b1:approved',
      'b2:approved',
      'b3:approved',
      'w1:approved',
    ]);
    expect(done.results.at(-1)).toMatchObject({ orderId: 'b1', duplicate: true });
    expect(
      done.reports.map((r) => (r as { batchId: string; report: { status: string } }).report.status),
    ).toEqual(['completed', 'completed', 'rejected']);
    expect(await keysUnder('pending!')).toEqual([]);
    expect(await keysUnder('wait!')).toEqual([]);
  });
});
