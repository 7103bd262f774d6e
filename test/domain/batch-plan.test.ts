// Batch planning, pure: a buffer's items against the book of open batches and waiting orders, no ledger.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BatchReport } from '../../src/domain/batch.ts';
import { BatchBook } from '../../src/domain/batch-book.ts';
import { type BatchLimits, parseBatchLimits } from '../../src/domain/batch-limits.ts';
import { type BatchChange, type BatchPlan, planBatches } from '../../src/domain/batch-plan.ts';
import type { Item } from '../../streams/types.ts';
import { PAY_SUBJECTS, aDeadItem, aHeader, aMember, anInvalidMember } from './batch-builders.ts';
import { TEST_NOW_MS } from './builders.ts';

const bookOf = (limits: Partial<BatchLimits> = {}) => new BatchBook(parseBatchLimits(limits));
const planOf = (book: BatchBook, items: Item[], finished: Map<string, BatchReport> = new Map()) =>
  planBatches(book, items, TEST_NOW_MS, finished, PAY_SUBJECTS);

/** The direct items: an order's id, a rejection as id:reason, anything else its kind. */
const direct = (plan: BatchPlan<Item>) =>
  plan.direct.map((i) =>
    i.kind === 'order' ? i.order.id : i.kind === 'rejected' ? `${i.orderId}:${i.reason}` : i.kind,
  );
const change = (c: BatchChange): string => {
  switch (c.kind) {
    case 'state':
      return `state ${c.state.id}${c.state.report ? ' finished' : ''}`;
    case 'pending':
      return `pending ${c.batchId} ${c.position} ${c.pending.order.id}`;
    case 'pendingCleared':
      return `pendingCleared ${c.batchId} ${c.count}`;
    case 'waiting':
      return `waiting ${c.batchId} ${c.waiting.order.id}${c.waiting.invalid ? ' invalid' : ''}`;
    case 'waitingCleared':
      return `waitingCleared ${c.batchId} ${c.orderId}`;
  }
};
const changes = (plan: BatchPlan<Item>) => plan.ops.map(change);
const messageOf = (out: { report: object }) => (out.report as { message?: unknown }).message;
const reasons = (plan: BatchPlan<Item>) =>
  plan.reports.map((r) => [r.batchId, 'reason' in r.report ? r.report.reason : 'duplicate']);

describe('planBatches: a header opens a batch, its orders complete it', () => {
  it('holds the orders of an open batch and completes it where its last order comes, between the direct items around it', () => {
    const book = bookOf();
    const plan = planOf(book, [
      aMember('erp', 'g1', undefined),
      aHeader('erp', 'B', 2),
      aMember('erp', 'b1', 'B'),
      aMember('erp', 'g2', undefined),
      aMember('erp', 'b2', 'B'),
      aMember('erp', 'g3', undefined),
    ]);
    expect(direct(plan)).toEqual(['g1', 'g2', 'g3']);
    expect(plan.complete).toHaveLength(1);
    expect(plan.complete[0]).toMatchObject({ at: 2, atMs: TEST_NOW_MS, batch: { id: 'B', source: 'erp' } });
    expect(plan.complete[0]!.items.map((i) => i.order.id)).toEqual(['b1', 'b2']);
    expect(changes(plan)).toEqual(['pending B 1 b1', 'pending B 2 b2']);
    expect(book.isOpen('B')).toBe(false);
    expect(plan.rejected).toEqual([]);
  });

  it('keeps a batch open across buffers and stores its state once per buffer that changed it', () => {
    const book = bookOf();
    expect(changes(planOf(book, [aHeader('erp', 'B', 3), aMember('erp', 'b1', 'B')]))).toEqual([
      'pending B 1 b1',
      'state B',
    ]);
    expect(changes(planOf(book, [aMember('erp', 'b2', 'B'), aMember('erp', 'b2', 'B')]))).toEqual([
      'pending B 2 b2',
      'state B',
    ]);
    expect(book.openBatches()).toEqual([
      expect.objectContaining({ id: 'B', source: 'erp', received: 2, sumMinor: 200n }),
    ]);
    const last = planOf(book, [aMember('erp', 'b3', 'B')]);
    expect(changes(last)).toEqual(['pending B 3 b3']);
    expect(last.complete.map((c) => c.batch.id)).toEqual(['B']);
  });

  it('rejects a complete batch whole when its sum or its currency does not match the header', () => {
    const sum = planOf(bookOf(), [
      aHeader('erp', 'S', 2),
      aMember('erp', 's1', 'S'),
      aMember('erp', 's2', 'S', { amountMinor: 101n }),
    ]);
    expect(sum.rejected.map((r) => [r.batch.id, r.reason, r.at])).toEqual([['S', 'control_sum_mismatch', 0]]);
    const currency = planOf(bookOf(), [
      aHeader('erp', 'C', 2),
      aMember('erp', 'c1', 'C'),
      aMember('erp', 'c2', 'C', { currency: 'EUR' }),
    ]);
    expect(currency.rejected.map((r) => [r.batch.id, r.reason])).toEqual([['C', 'currency_mismatch']]);
    expect(sum.complete).toEqual([]);
  });

  it('rejects a batch whole (invalid_member) when an invalid order names it, that order going on by itself', () => {
    const book = bookOf();
    const plan = planOf(book, [
      aHeader('erp', 'B', 3),
      aMember('erp', 'b1', 'B'),
      anInvalidMember('erp', 'bad', 'B'),
      aMember('erp', 'b2', 'B'),
    ]);
    expect(plan.rejected.map((r) => [r.batch.id, r.reason, r.at, r.batch.orders.length])).toEqual([
      ['B', 'invalid_member', 1, 1],
    ]);
    expect(direct(plan)).toEqual(['bad:invalid_amount', 'b2:batch_closed']);
    expect(changes(plan)).toEqual(['pending B 1 b1']);
  });
});

describe('planBatches: headers refused', () => {
  it('reports a malformed header rejected and dead-letters it with its stream sequence', () => {
    const header = aHeader('erp', 'B', 0);
    const plan = planOf(bookOf(), [
      header,
      aHeader('erp', 'L', 1, { raw: { id: 'M' } }),
      aHeader('erp', 'V', 1, { raw: { cvv: '123' } }),
    ]);
    expect(reasons(plan)).toEqual([
      ['B', 'invalid_batch'],
      ['M', 'invalid_batch'],
      ['V', 'cvv_forbidden'],
    ]);
    expect(plan.deadLetters.map((d) => d.detail)).toEqual([
      'count must be a positive integer',
      "header id M differs from the subject's L",
      'cvv: CVV/CVC must never be sent',
    ]);
    expect(plan.deadLetters[0]).toEqual({
      reason: 'invalid_batch',
      detail: 'count must be a positive integer',
      subject: 'pay.batches.erp.B',
      payload: header.msg.data,
      streamSeq: header.msg.streamSeq,
    });
    expect(plan.reports[0]!.report).toMatchObject({
      mode: 'unknown',
      status: 'rejected',
      count: 0,
      received: 0,
      message: 'count must be a positive integer',
    });
  });

  it('refuses a count above batchOrdersMax as batch_too_large', () => {
    const plan = planOf(bookOf({ batchOrdersMax: 10 }), [aHeader('erp', 'B', 10), aHeader('erp', 'L', 11)]);
    expect(reasons(plan)).toEqual([['L', 'batch_too_large']]);
  });

  it('refuses a header beyond the open batches of its source, or of all sources, too_many_open_batches, without a dead letter', () => {
    const book = bookOf({ openBatchesPerSourceMax: 2, openBatchesMax: 3 });
    const plan = planOf(
      book,
      ['a1', 'a2', 'a3']
        .map((id) => aHeader('a', id, 1))
        .concat(aHeader('b', 'b1', 1), aHeader('c', 'c1', 1)),
    );
    expect(reasons(plan)).toEqual([
      ['a3', 'too_many_open_batches'],
      ['c1', 'too_many_open_batches'],
    ]);
    expect(messageOf(plan.reports[0]!)).toBe('at most 2 batches of one source may be open');
    expect(messageOf(plan.reports[1]!)).toBe('at most 3 batches may be open');
    expect(plan.deadLetters).toEqual([]);
    expect(book.openBatches().map((b) => b.id)).toEqual(['a1', 'a2', 'b1']);
  });

  it('ignores a redelivered header, and dead-letters one from another source without giving it the batch', () => {
    const book = bookOf();
    planOf(book, [aHeader('erp', 'B', 2)]);
    const plan = planOf(book, [aHeader('erp', 'B', 2), aHeader('evil', 'B', 1)]);
    expect(plan.reports).toEqual([]);
    expect(plan.deadLetters.map((d) => [d.reason, d.detail])).toEqual([
      ['invalid_batch', 'batch B is already open for another source'],
    ]);
    expect(book.openBatch('B')).toMatchObject({ source: 'erp', header: { count: 2 } });
  });
});

describe('planBatches: finished batches', () => {
  const report: BatchReport = {
    batchId: 'F',
    mode: 'atomic',
    status: 'completed',
    count: 1,
    received: 1,
    perStatus: {},
    processedAt: 'then',
  };

  it('answers a finished batch header with its report marked duplicate, and rejects a new order naming it batch_closed', () => {
    const book = bookOf();
    book.remember('F', report);
    const invalid = anInvalidMember('erp', 'bad', 'F');
    const plan = planOf(book, [aHeader('erp', 'F', 1), aMember('erp', 'f2', 'F'), invalid]);
    expect(plan.reports).toEqual([{ batchId: 'F', report: { ...report, duplicate: true } }]);
    expect(direct(plan)).toEqual(['f2:batch_closed', 'bad:invalid_amount']);
    expect(plan.direct[1]).toBe(invalid);
  });

  it('knows the reports the ledger found for the buffer, and a batch closed earlier in the same buffer', () => {
    const fromLedger = planOf(bookOf(), [aHeader('erp', 'F', 1)], new Map([['F', report]]));
    expect(fromLedger.reports).toEqual([{ batchId: 'F', report: { ...report, duplicate: true } }]);
    const same = planOf(bookOf(), [
      aHeader('erp', 'B', 1),
      aMember('erp', 'b1', 'B'),
      aHeader('erp', 'B', 1),
      aMember('erp', 'b2', 'B'),
    ]);
    expect(same.reports).toEqual([{ batchId: 'B', report: { duplicate: true } }]);
    expect(direct(same)).toEqual(['b2:batch_closed']);
  });
});

describe('planBatches: sources', () => {
  it("rejects another source's order naming a named source's batch batch_unknown; it neither fills nor spoils it", () => {
    const book = bookOf();
    const plan = planOf(book, [
      aHeader('erp', 'B', 1),
      aMember('evil', 'e1', 'B'),
      anInvalidMember('evil', 'e2', 'B'),
    ]);
    expect(direct(plan)).toEqual(['e1:batch_unknown', 'e2:invalid_amount']);
    expect(plan.rejected).toEqual([]);
    expect(book.isOpen('B')).toBe(true);
  });

  it('lets a batch of the unnamed source (pay.batches.<id>) take orders from any source', () => {
    const plan = planOf(bookOf(), [
      aHeader('', 'U', 2),
      aMember('pos', 'u1', 'U'),
      aMember('erp', 'u2', 'U'),
    ]);
    expect(plan.complete.map((c) => c.items.map((i) => i.order.id))).toEqual([['u1', 'u2']]);
  });

  it('reads an order subject without the orders prefix as its own source', () => {
    const order = aMember('erp', 'o1', 'B');
    order.msg.subject = 'elsewhere';
    const book = bookOf();
    planOf(book, [order]);
    expect(book.waitingCount('elsewhere')).toBe(1);
  });

  it('passes dead items and orders of no batch through untouched, in order', () => {
    const dead = aDeadItem();
    const plain = aMember('erp', 'p', undefined);
    const plan = planOf(bookOf(), [dead, plain]);
    expect(plan.direct).toEqual([dead, plain]);
    expect(plan.ops).toEqual([]);
  });
});

describe('planBatches: orders before their header', () => {
  it('keeps them waiting, then joins them to the batch its header opens, in the order they came', () => {
    const book = bookOf();
    const early = planOf(book, [
      aMember('erp', 'w1', 'B'),
      aMember('erp', 'w2', 'B'),
      aMember('erp', 'w1', 'B'),
    ]);
    expect(direct(early)).toEqual([]);
    expect(changes(early)).toEqual(['waiting B w1', 'waiting B w2']);
    expect(book.waitingCount()).toBe(2);
    const opened = planOf(book, [
      aMember('erp', 'g', undefined),
      aHeader('erp', 'B', 3),
      aMember('erp', 'b3', 'B'),
    ]);
    expect(changes(opened)).toEqual([
      'waitingCleared B w1',
      'pending B 1 w1',
      'waitingCleared B w2',
      'pending B 2 w2',
      'pending B 3 b3',
    ]);
    expect(opened.complete.map((c) => [c.at, c.items.map((i) => i.order.id)])).toEqual([
      [1, ['w1', 'w2', 'b3']],
    ]);
    expect(book.waitingCount()).toBe(0);
  });

  it("rejects a waiting order of another source batch_unknown when a named source's header opens the batch", () => {
    const book = bookOf();
    planOf(book, [aMember('evil', 'e1', 'B'), aMember('erp', 'w1', 'B')]);
    const plan = planOf(book, [aHeader('erp', 'B', 2)]);
    expect(direct(plan)).toEqual(['e1:batch_unknown']);
    expect(plan.direct[0]).toMatchObject({
      msg: { subject: 'pay.orders.evil' },
      message: 'batch B was opened by another source',
    });
    expect(book.openBatch('B')?.orders.map((p) => p.order.id)).toEqual(['w1']);
  });

  it('rejects the waiting orders beyond the header count batch_rejected, the batch completing with the first ones', () => {
    const book = bookOf();
    planOf(
      book,
      ['w1', 'w2', 'w3'].map((id) => aMember('erp', id, 'B')),
    );
    const plan = planOf(book, [aHeader('erp', 'B', 2)]);
    expect(direct(plan)).toEqual(['w3:batch_rejected']);
    expect(plan.complete.map((c) => [c.at, c.items.map((i) => i.order.id)])).toEqual([[0, ['w1', 'w2']]]);
  });

  it('lets an invalid order wait as a marker that spoils the batch its header opens (invalid_member), without a second answer', () => {
    const book = bookOf();
    const early = planOf(book, [anInvalidMember('erp', 'bad', 'B'), aMember('erp', 'w1', 'B')]);
    expect(direct(early)).toEqual(['bad:invalid_amount']);
    expect(changes(early)).toEqual(['waiting B bad invalid', 'waiting B w1']);
    const plan = planOf(book, [aHeader('erp', 'B', 2)]);
    expect(direct(plan)).toEqual([]);
    expect(plan.rejected.map((r) => [r.reason, r.batch.orders.map((p) => p.order.id)])).toEqual([
      ['invalid_member', ['w1']],
    ]);
    expect(changes(plan)).toEqual(['waitingCleared B bad', 'waitingCleared B w1']);
    expect(book.openBatches()).toEqual([]);
  });
});

describe('planBatches: the waiting area is bounded', () => {
  it('rejects an order beyond a bound batch_unknown at once: batch ids and orders per source, orders in all', () => {
    const book = bookOf({ waitingBatchesPerSourceMax: 3, waitingOrdersPerSourceMax: 5, waitingOrdersMax: 7 });
    const a = planOf(
      book,
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
    expect(direct(a)).toEqual(['a4:batch_unknown', 'a7:batch_unknown']);
    expect(a.direct.map((i) => (i.kind === 'rejected' ? i.message : ''))).toEqual([
      "no batch b4 is open, and this source's orders already wait for 3 batch headers",
      'no batch b2 is open, and 5 orders of this source already wait for headers',
    ]);
    const b = planOf(book, [
      aMember('b', 'b-1', 'x'),
      aMember('b', 'b-2', 'x'),
      aMember('c', 'c-1', 'y'),
      anInvalidMember('c', 'c-2', 'y'),
    ]);
    expect(direct(b)).toEqual(['c-1:batch_unknown', 'c-2:invalid_amount']);
    expect((b.direct[0] as { message: string }).message).toBe(
      'no batch y is open, and 7 orders already wait for headers',
    );
    expect([
      book.waitingCount(),
      book.waitingCount('a'),
      book.waitingCount('b'),
      book.waitingCount('c'),
    ]).toEqual([7, 5, 2, 0]);
  });

  it('refuses every waiting order when a waiting bound is 0', () => {
    const plan = planOf(bookOf({ waitingOrdersPerSourceMax: 0 }), [aMember('a', 'a1', 'b1')]);
    expect(direct(plan)).toEqual(['a1:batch_unknown']);
  });
});

describe('planBatches: a batch stored before headers were needed (no header)', () => {
  it('holds up to batchOrdersMax orders, then rejects it whole count_exceeded, the extra order batch_rejected', () => {
    const book = bookOf({ batchOrdersMax: 2 });
    book.addOpen({ id: 'L', source: '', orders: [], ids: new Set(), sumMinor: 0n, openedAtMs: TEST_NOW_MS });
    const plan = planOf(book, [aMember('x', 'l1', 'L'), aMember('y', 'l2', 'L'), aMember('x', 'l3', 'L')]);
    expect(plan.rejected.map((r) => [r.reason, r.at, r.batch.orders.length])).toEqual([
      ['count_exceeded', 0, 2],
    ]);
    expect(direct(plan)).toEqual(['l3:batch_rejected']);
    expect(plan.complete).toEqual([]);
  });
});

type Spec = { k: 'h'; src: string; id: string; count: number } | { k: 'o' | 'x'; src: string; id: number };
const BATCH_IDS = ['A', 'B', 'C'];
const anySpec: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({
    k: fc.constant('h' as const),
    src: fc.constantFrom('', 's1', 's2'),
    id: fc.constantFrom(...BATCH_IDS),
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    k: fc.constantFrom('o' as const, 'x' as const),
    src: fc.constantFrom('s1', 's2'),
    id: fc.integer({ min: 0, max: 12 }),
  }),
);
/** An order id names one batch (or none) whatever the buffer: the same id with another batch is another payload. */
const itemOf = (spec: Spec): Item => {
  if (spec.k === 'h') return aHeader(spec.src, spec.id, spec.count);
  const batchId = [...BATCH_IDS, undefined][spec.id % 4];
  if (spec.k === 'x' && batchId !== undefined) return anInvalidMember(spec.src, `o${spec.id}`, batchId);
  return aMember(spec.src, `o${spec.id}`, batchId);
};
const LIMITS = {
  openBatchesPerSourceMax: 1,
  openBatchesMax: 2,
  waitingOrdersPerSourceMax: 3,
  waitingOrdersMax: 4,
  waitingBatchesPerSourceMax: 2,
};

/** Ids the book still holds: in open batches, and waiting for headers. */
function kept(book: BatchBook): { held: string[]; waiting: string[] } {
  const held = book.openBatches().flatMap((b) => book.openBatch(b.id)!.orders.map((p) => p.order.id));
  return { held, waiting: BATCH_IDS.flatMap((id) => book.waitingFor(id).map((w) => w.order.id)) };
}

describe('planBatches: properties over any sequence of buffers', () => {
  it('keeps every bound, settles a batch where it ended in the stream, and loses no order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(anySpec, { maxLength: 12 }), { maxLength: 4 }), (buffers) => {
        const book = bookOf(LIMITS);
        const seen = new Set<string>();
        const answered = new Set<string>();
        for (const specs of buffers) {
          const items = specs.map(itemOf);
          for (const i of items) if (i.kind === 'order') seen.add(i.order.id);
          const plan = planOf(book, items);
          for (const e of [...plan.complete, ...plan.rejected]) {
            expect(e.at).toBeLessThanOrEqual(plan.direct.length);
            expect(book.isOpen(e.batch.id)).toBe(false);
            for (const p of e.batch.orders) answered.add(p.order.id);
          }
          for (const i of plan.direct)
            if (i.kind === 'order' || i.kind === 'rejected')
              answered.add(i.kind === 'order' ? i.order.id : i.orderId);
          expect(book.openBatches().length).toBeLessThanOrEqual(LIMITS.openBatchesMax);
          expect(book.waitingCount()).toBeLessThanOrEqual(LIMITS.waitingOrdersMax);
          for (const b of book.openBatches()) expect(b.received).toBeLessThan(b.header!.count);
          const { held, waiting } = kept(book);
          for (const id of held) expect(waiting).not.toContain(id);
          for (const id of seen)
            expect(answered.has(id) || held.includes(id) || waiting.includes(id), id).toBe(true);
        }
      }),
    );
  });
});
