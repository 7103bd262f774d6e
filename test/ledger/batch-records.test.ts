// The batches sublevel's key scheme and stored values, pinned: a ledger written before must open after.
import { describe, expect, it } from 'vitest';
import { BatchBook } from '../../src/domain/batch-book.ts';
import { DEFAULT_BATCH_LIMITS } from '../../src/domain/batch-limits.ts';
import type { BatchChange } from '../../src/domain/batch-plan.ts';
import { BatchTracker, batchRecordsOf, storedOpenView } from '../../src/ledger/batches.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS, anOrder } from '../domain/builders.ts';
import { withFundedStore } from '../streams/fixtures.ts';

const env = withFundedStore();
const T = TEST_NOW_MS;
const storedOrder = (id: string, batchId: string) =>
  `{"id":"${id}","type":"payment","cardToken":"${TEST_CARD_TOKEN}","merchant":"m_coffee","amountMinor":"100","currency":"USD","batchId":"${batchId}","createdAtMs":${T}}`;
const header = { id: 'B', count: 2, controlSumMinor: 200n, currency: 'USD', mode: 'atomic' as const };
const report = {
  batchId: 'F',
  mode: 'atomic' as const,
  status: 'completed' as const,
  count: 1,
  received: 1,
  perStatus: {},
  processedAt: 'then',
};
const order = (id: string, batchId: string) => anOrder({ id, amountMinor: 100n, batchId, createdAtMs: T });

/** Values as the batch stage has written them since sources were added, and one stored before (no source, no header). */
const LEDGER: [string, string][] = [
  [
    'batch!B',
    `{"id":"B","openedAtMs":${T},"source":"erp","header":{"id":"B","count":2,"controlSumMinor":"200","currency":"USD","mode":"atomic"}}`,
  ],
  ['batch!F', `{"id":"F","openedAtMs":${T},"report":${JSON.stringify(report)}}`],
  ['batch!OLD', `{"id":"OLD","openedAtMs":${T - 5}}`],
  ['pending!B!000001', `{"order":${storedOrder('b1', 'B')},"receivedAtMs":${T + 1}}`],
  ['wait!X!bad', `{"orderId":"bad","source":"pos","receivedAtMs":${T + 3},"invalid":true}`],
  ['wait!X!w1', `{"order":${storedOrder('w1', 'X')},"source":"erp","receivedAtMs":${T + 2}}`],
];

describe('batch records: the key scheme', () => {
  it('writes each change under its key, with the values a ledger has always held', () => {
    const changes: BatchChange[] = [
      { kind: 'state', state: { id: 'B', source: 'erp', header, openedAtMs: T } },
      { kind: 'state', state: { id: 'F', source: '', openedAtMs: T, report } },
      {
        kind: 'pending',
        batchId: 'B',
        position: 1,
        pending: { order: order('b1', 'B'), receivedAtMs: T + 1 },
      },
      {
        kind: 'waiting',
        batchId: 'X',
        waiting: { order: order('w1', 'X'), source: 'erp', receivedAtMs: T + 2 },
      },
      {
        kind: 'waiting',
        batchId: 'X',
        waiting: {
          order: { id: 'bad', type: 'payment', batchId: 'X', createdAtMs: T + 3 },
          source: 'pos',
          receivedAtMs: T + 3,
          invalid: true,
        },
      },
      { kind: 'pendingCleared', batchId: 'B', count: 2 },
      { kind: 'waitingCleared', batchId: 'X', orderId: 'w1' },
    ];
    const ops = batchRecordsOf(env.store).ops(changes);
    expect(ops.every((op) => op.sublevel === env.store.batches)).toBe(true);
    expect(ops.map((op) => (op.type === 'put' ? [op.key, op.value] : [op.key]))).toEqual([
      LEDGER[0],
      LEDGER[1],
      LEDGER[3],
      LEDGER[5],
      LEDGER[4],
      ['pending!B!000001'],
      ['pending!B!000002'],
      ['wait!X!w1'],
    ]);
  });

  it('reads a stored batch, lists them in id order, and finds finished reports by id', async () => {
    for (const [key, value] of LEDGER) await env.store.batches.put(key, value);
    const records = batchRecordsOf(env.store);
    expect(await records.read('B')).toEqual({
      id: 'B',
      openedAtMs: T,
      source: 'erp',
      header: { ...header, controlSumMinor: '200' },
    });
    expect(await records.read('nope')).toBeUndefined();
    expect((await records.list(1000)).map((s) => s.id)).toEqual(['B', 'F', 'OLD']);
    expect((await records.list(2)).map((s) => s.id)).toEqual(['B', 'F']);
    expect(await records.reports(['F', 'B', 'nope'])).toEqual(new Map([['F', report]]));
    expect(await records.reports([])).toEqual(new Map());
  });

  it('shows a stored open batch as the service lists one no processor tracks: its header, no orders counted', async () => {
    for (const [key, value] of LEDGER) await env.store.batches.put(key, value);
    const records = batchRecordsOf(env.store);
    expect(storedOpenView((await records.read('B'))!)).toEqual({ id: 'B', received: 0, sumMinor: 0n, openedAtMs: T, header });
    expect(storedOpenView((await records.read('OLD'))!)).toEqual({ id: 'OLD', received: 0, sumMinor: 0n, openedAtMs: T - 5 });
  });
});

describe('batch records: loading', () => {
  it('opens a ledger written before: open batches with their held orders, waiting orders, finished reports', async () => {
    for (const [key, value] of LEDGER) await env.store.batches.put(key, value);
    const book = new BatchBook(DEFAULT_BATCH_LIMITS);
    await batchRecordsOf(env.store).loadInto(book);
    expect(book.openBatches()).toEqual([
      { id: 'B', source: 'erp', header, received: 1, sumMinor: 100n, openedAtMs: T },
      { id: 'OLD', received: 0, sumMinor: 0n, openedAtMs: T - 5 },
    ]);
    expect(book.openBatch('B')?.orders).toEqual([{ order: order('b1', 'B'), receivedAtMs: T + 1 }]);
    expect(book.waitingFor('X')).toEqual([
      {
        order: { id: 'bad', type: 'payment', batchId: 'X', createdAtMs: T + 3 },
        source: 'pos',
        receivedAtMs: T + 3,
        invalid: true,
      },
      { order: order('w1', 'X'), source: 'erp', receivedAtMs: T + 2 },
    ]);
    expect([book.waitingCount('pos'), book.waitingCount('erp')]).toEqual([1, 1]);
    expect(book.finishedReport('F')).toEqual(report);
  });

  it('shows the loaded batches through the tracker, the finished one on the dashboard too', async () => {
    for (const [key, value] of LEDGER) await env.store.batches.put(key, value);
    const tracker = new BatchTracker(env.store, {}, { prefix: 'pay' });
    await tracker.load();
    expect(tracker.progress().map((p) => [p.batchId, p.state, p.seen])).toEqual([
      ['B', 'open', 1],
      ['OLD', 'open', 0],
      ['F', 'done', 1],
    ]);
    expect(await tracker.findReport('F')).toEqual(report);
  });
});
