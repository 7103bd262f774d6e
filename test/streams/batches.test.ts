// The batch stage on a real LevelDB: only a header opens a batch; orders naming a batch no header has
// opened wait in a bounded area, then are rejected batch_unknown; open batches are bounded per source, so
// one publisher's junk cannot block another's batches; waiting orders are stored with the buffer that took them.

import { describe, expect, it } from 'vitest';
import { DEFAULT_APPLY_OPTIONS } from '../../src/domain/apply.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { type ApplyDeps, applyBuffer } from '../../streams/apply.ts';
import { type BatchLimits, BatchTracker, DEFAULT_BATCH_LIMITS, parseBatchLimits } from '../../streams/batches.ts';
import type { AppliedBuffer, Item } from '../../streams/types.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS } from '../domain/builders.ts';
import { withFundedStore } from './fixtures.ts';

const env = withFundedStore();

const enc = new TextEncoder();
const tracker = (limits: Partial<BatchLimits> = {}) => new BatchTracker(env.store, limits, { prefix: 'pay' });
const depsOf = (batches: BatchTracker): ApplyDeps => ({
  store: env.store,
  options: DEFAULT_APPLY_OPTIONS,
  clock: () => TEST_NOW_MS,
  virtualTime: false,
  scrub: (p: Uint8Array) => p,
  batches,
});

/** A payment of 1.00 naming a batch, as the validate stage hands it on, from pay.orders.<source>. */
const order = (source: string, id: string, batchId: string, atMs = TEST_NOW_MS): Item => ({
  kind: 'order',
  msg: { subject: `pay.orders.${source}`, data: enc.encode(JSON.stringify({ id, batchId })), receivedAtMs: atMs },
  order: { id, type: 'payment', cardToken: TEST_CARD_TOKEN, merchant: 'm_coffee', amountMinor: 100n, currency: 'USD', batchId, createdAtMs: atMs },
});

/** A header of `count` orders of 1.00 on pay.batches.<source>.<id> (pay.batches.<id> when source is ''). */
const header = (source: string, id: string, count: number, atMs = TEST_NOW_MS): Item => {
  const raw = { id, count, controlSum: `${count}.00`, currency: 'USD', mode: 'atomic' };
  return { kind: 'batch', msg: { subject: source === '' ? `pay.batches.${id}` : `pay.batches.${source}.${id}`, data: enc.encode(JSON.stringify(raw)), receivedAtMs: atMs }, raw };
};

async function buffer(batches: BatchTracker, items: Item[]): Promise<AppliedBuffer> {
  const applied = await env.store.exclusive(() => applyBuffer(depsOf(batches), items));
  await applied.written;
  return applied;
}

const outcomes = (results: OrderResult[]) => results.map((r) => `${r.orderId}:${r.status}${r.reason ? `:${r.reason}` : ''}`).sort();
const waitKeys = async () => {
  const keys: string[] = [];
  for await (const key of env.store.batches.keys({ gte: 'wait!', lt: 'wait!~' })) keys.push(key);
  return keys;
};

describe('batches: a header opens a batch; junk is bounded per source', () => {
  it("100 orders naming junk batch ids and a source's 100 junk headers do not stop another source's batch; the junk orders are rejected batch_unknown after the wait", async () => {
    const batches = tracker();
    const junkOrders = Array.from({ length: 100 }, (_, i) => order('junk', `junk-o${i}`, `junk-${i}`));
    const first = await buffer(batches, junkOrders);
    // they open nothing: they wait, stored with the buffer that took them
    expect(first.results).toEqual([]);
    expect(batches.openBatches()).toEqual([]);
    expect(batches.waitingCount('junk')).toBe(100);
    expect(await waitKeys()).toHaveLength(100);

    // the junk source fills its own quota of open batches, and no more
    const junkHeaders = Array.from({ length: 101 }, (_, i) => header('junk', `jh-${i}`, 5));
    const second = await buffer(batches, junkHeaders);
    expect(batches.openBatches()).toHaveLength(DEFAULT_BATCH_LIMITS.openBatchesPerSourceMax);
    expect(second.reports.map((r) => [r.batchId, (r.report as { reason?: string }).reason])).toEqual([['jh-100', 'too_many_open_batches']]);

    // another source's batch opens and completes all the same
    const payroll = await buffer(batches, [header('erp', 'payroll', 2), order('erp', 'p-1', 'payroll'), order('erp', 'p-2', 'payroll')]);
    expect(payroll.reports).toEqual([{ batchId: 'payroll', report: expect.objectContaining({ status: 'completed', count: 2, received: 2 }) }]);
    expect(outcomes(payroll.results)).toEqual(['p-1:approved', 'p-2:approved']);

    // within the wait nothing happens to the junk orders; after it they are rejected batch_unknown
    expect(await batches.sweep(TEST_NOW_MS + DEFAULT_BATCH_LIMITS.unknownBatchWaitMs, DEFAULT_APPLY_OPTIONS)).toEqual({ reports: [], results: [] });
    const swept = await batches.sweep(TEST_NOW_MS + DEFAULT_BATCH_LIMITS.unknownBatchWaitMs + 1, DEFAULT_APPLY_OPTIONS);
    expect(outcomes(swept.results)).toEqual(junkOrders.map((o) => `${(o as { order: { id: string } }).order.id}:rejected:batch_unknown`).sort());
    expect(swept.results.every((r) => r.field === 'batchId')).toBe(true);
    expect(batches.waitingCount()).toBe(0);
    expect(await waitKeys()).toEqual([]);
    expect((await env.store.getOrder('junk-o7'))?.result).toMatchObject({ status: 'rejected', reason: 'batch_unknown', batchId: 'junk-7' });
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(9_800n);
  });

  it('bounds the waiting area per source (batch ids, orders) and in all: an order beyond a bound is rejected batch_unknown at once', async () => {
    const batches = tracker({ waitingBatchesPerSourceMax: 3, waitingOrdersPerSourceMax: 5, waitingOrdersMax: 7 });
    const a = await buffer(batches, [
      order('a', 'a1', 'b1'),
      order('a', 'a2', 'b2'),
      order('a', 'a3', 'b3'),
      order('a', 'a4', 'b4'), // a fourth batch id of source a
      order('a', 'a5', 'b1'),
      order('a', 'a6', 'b1'),
      order('a', 'a7', 'b2'), // a sixth order of source a
    ]);
    expect(outcomes(a.results)).toEqual(['a4:rejected:batch_unknown', 'a7:rejected:batch_unknown']);
    expect(a.deadLetters.map((d) => [d.orderId, d.reason])).toEqual([['a4', 'batch_unknown'], ['a7', 'batch_unknown']]);
    expect(batches.waitingCount('a')).toBe(5);
    const b = await buffer(batches, [order('b', 'b-1', 'x'), order('b', 'b-2', 'x'), order('c', 'c-1', 'y')]);
    // 5 + 2 = 7 in all: the third is one too many, whatever its source
    expect(outcomes(b.results)).toEqual(['c-1:rejected:batch_unknown']);
    expect(batches.waitingCount()).toBe(7);
    // a redelivered waiting order is not counted twice
    expect((await buffer(batches, [order('a', 'a1', 'b1')])).results).toEqual([]);
    expect(batches.waitingCount()).toBe(7);
  });

  it('keeps waiting orders across a restart (stored with the buffer that took them); they join their batch when its header comes', async () => {
    await buffer(tracker(), [order('erp', 'w-1', 'later'), order('erp', 'w-2', 'later')]);
    await env.reopen();
    const batches = tracker();
    await batches.load();
    expect(batches.waitingCount('erp')).toBe(2);
    const done = await buffer(batches, [header('erp', 'later', 2)]);
    expect(done.reports).toEqual([{ batchId: 'later', report: expect.objectContaining({ status: 'completed', received: 2 }) }]);
    expect(outcomes(done.results)).toEqual(['w-1:approved', 'w-2:approved']);
    expect(await waitKeys()).toEqual([]);
    expect(batches.waitingCount()).toBe(0);
  });

  it("a named source's batch takes its own orders only: another source can neither fill nor spoil it", async () => {
    const batches = tracker();
    // one waiting before the header, one after it opened: both from the wrong source
    const early = await buffer(batches, [order('evil', 'e-1', 'pay-run')]);
    expect(early.results).toEqual([]);
    const opened = await buffer(batches, [header('erp', 'pay-run', 2), order('evil', 'e-2', 'pay-run'), order('erp', 'r-1', 'pay-run')]);
    expect(outcomes(opened.results)).toEqual(['e-1:rejected:batch_unknown', 'e-2:rejected:batch_unknown']);
    expect(opened.reports).toEqual([]);
    const done = await buffer(batches, [order('erp', 'r-2', 'pay-run')]);
    expect(done.reports).toEqual([{ batchId: 'pay-run', report: expect.objectContaining({ status: 'completed', received: 2 }) }]);
    expect(outcomes(done.results)).toEqual(['r-1:approved', 'r-2:approved']);
  });

  it('an invalid order naming a batch before its header is rejected at once, and spoils the batch when its header comes (invalid_member)', async () => {
    const batches = tracker();
    const invalid: Item = {
      kind: 'rejected',
      msg: { subject: 'pay.orders.erp', data: enc.encode('{"id":"bad-1","amount":"x"}'), receivedAtMs: TEST_NOW_MS },
      orderId: 'bad-1',
      reason: 'invalid_amount',
      field: 'amount',
      message: 'not an amount',
      batchId: 'spoilt',
    };
    const first = await buffer(batches, [invalid, order('erp', 'ok-1', 'spoilt')]);
    expect(outcomes(first.results)).toEqual(['bad-1:rejected:invalid_amount']);
    const opened = await buffer(batches, [header('erp', 'spoilt', 2)]);
    expect(opened.reports).toEqual([{ batchId: 'spoilt', report: expect.objectContaining({ status: 'rejected', reason: 'invalid_member' }) }]);
    expect(outcomes(opened.results)).toEqual(['ok-1:rejected:batch_rejected']);
    expect(await waitKeys()).toEqual([]);
    expect(batches.openBatches()).toEqual([]);
    // with no header, the marker goes at the end of the wait without a second result
    await buffer(batches, [{ ...invalid, orderId: 'bad-2', batchId: 'never' }]);
    const swept = await batches.sweep(TEST_NOW_MS + DEFAULT_BATCH_LIMITS.unknownBatchWaitMs + 1, DEFAULT_APPLY_OPTIONS);
    expect(swept.results).toEqual([]);
    expect(batches.waitingCount()).toBe(0);
  });

  it('a header without a source (pay.batches.<id>) opens a batch that takes orders from any source, waiting ones included', async () => {
    const batches = tracker();
    await buffer(batches, [order('pos', 'u-1', 'shared')]);
    const done = await buffer(batches, [header('', 'shared', 2), order('erp', 'u-2', 'shared')]);
    expect(done.reports).toEqual([{ batchId: 'shared', report: expect.objectContaining({ status: 'completed', received: 2 }) }]);
    expect(outcomes(done.results)).toEqual(['u-1:approved', 'u-2:approved']);
  });
});

describe('parseBatchLimits', () => {
  it('fills the documented defaults', () => {
    expect(parseBatchLimits()).toEqual(DEFAULT_BATCH_LIMITS);
    expect(parseBatchLimits({ openBatchesPerSourceMax: 10 })).toEqual({ ...DEFAULT_BATCH_LIMITS, openBatchesPerSourceMax: 10 });
  });

  it.each([
    [{ openBatchesMax: 0 }, 'openBatchesMax must be a whole number within 1..100000, got 0'],
    [{ batchOrdersMax: 2.5 }, 'batchOrdersMax must be a whole number within 1..100000, got 2.5'],
    [{ unknownBatchWaitMs: -1 }, 'unknownBatchWaitMs must be a whole number within 0..3600000, got -1'],
    [{ waitingOrdersMax: 'many' as unknown as number }, 'waitingOrdersMax must be a whole number within 0..1000000, got many'],
    [{ batchTimeoutMs: Number.NaN }, 'batchTimeoutMs must be a whole number within 1000..86400000, got NaN'],
    [{ openBatchesMax: 10, openBatchesPerSourceMax: 11 }, 'openBatchesPerSourceMax (11) exceeds openBatchesMax (10)'],
    [{ waitingOrdersMax: 10 }, 'waitingOrdersPerSourceMax (10000) exceeds waitingOrdersMax (10)'],
    [{ openBatchMax: 3 } as Partial<BatchLimits>, 'unknown limit openBatchMax'],
  ])('refuses %j', (limits, message) => {
    expect(() => parseBatchLimits(limits)).toThrow(message);
    expect(() => new BatchTracker(env.store, limits, { prefix: 'pay' })).toThrow(message);
  });
});
