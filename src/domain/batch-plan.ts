// Batch planning for one buffer: which items go on as usual, which orders an open batch holds or a header
// waits for, which batches complete or are rejected whole, and what of it the ledger must keep. Pure: it reads
// and updates the in-memory BatchBook and returns the plan; the ledger store writes the plan's changes.
//
// Only a header opens a batch. Orders naming a batch no header has opened wait in a bounded area (per
// source, and in all) for unknownBatchWaitMs, then are rejected batch_unknown: junk batch ids in orders
// open nothing. Open batches are bounded per source, so one publisher's junk headers cannot use up the
// batches of another. A source is a subject token, the one thing broker permissions can pin a publisher to:
// an order's is the token after `<prefix>.orders.`, a header's the token between `<prefix>.batches.` and the
// batch id (`pay.batches.<source>.<batchId>`). A header without one (`pay.batches.<batchId>`) opens a batch
// of the unnamed source, shared by every such publisher, which takes orders from any source; a batch of a
// named source takes orders from that source only, so another publisher cannot fill or spoil it either.

import {
  type BatchHeader,
  type BatchRejection,
  type BatchReport,
  type HeaderRefusal,
  batchSubjectParts,
  checkBatchHeader,
  completionMismatch,
} from './batch.ts';
import {
  type BatchBook,
  type BatchState,
  type OpenBatch,
  type PendingOrder,
  type WaitingOrder,
  invalidStub,
} from './batch-book.ts';
import { orderToWire } from './order-wire.ts';
import type { RejectReason } from './reasons.ts';
import type { Order } from './types.ts';

/** The message fields batch planning reads and writes (streams/types.ts InboundMessage has them). */
export interface BatchMessage {
  subject: string;
  data: Uint8Array;
  receivedAtMs: number;
  streamSeq?: number;
}

/** An item of a buffer, as far as batch planning reads it (streams/types.ts Item is one). */
export type BatchInputItem =
  | { kind: 'order'; msg: BatchMessage; order: Order }
  | { kind: 'rejected'; msg: BatchMessage; orderId: string; batchId?: string }
  | { kind: 'dead'; msg: BatchMessage }
  | { kind: 'batch'; msg: BatchMessage; raw: Record<string, unknown> };

/** An order of a batch, applied when the batch settles. */
export interface BatchOrderItem {
  kind: 'order';
  msg: BatchMessage;
  order: Order;
}

/** An order the batch stage rejects on its own (its batch unknown, finished, or over its count). */
export interface BatchRejectedItem {
  kind: 'rejected';
  msg: BatchMessage;
  orderId: string;
  reason: Extract<RejectReason, 'batch_unknown' | 'batch_closed' | 'batch_rejected'>;
  field: 'batchId';
  message: string;
  batchId: string;
}

/** A refused header's dead letter, traceable to its message by stream sequence; the apply stage scrubs its payload. */
export interface HeaderDeadLetter {
  reason: HeaderRefusal;
  detail: string;
  subject: string;
  payload: Uint8Array;
  streamSeq?: number;
}

/**
 * A batch report to publish. A header repeated in the buffer where its batch closed gets `{ duplicate: true }`
 * alone: the batch's report is made only when it settles, after planning.
 */
export interface BatchReportOut {
  batchId: string;
  report: BatchReport | { duplicate: true };
}

/** What the ledger must keep of a plan, in order: the ledger store turns each into its writes. */
export type BatchChange =
  /** a batch opened, changed or finished (with its report) */
  | { kind: 'state'; state: BatchState }
  /** an order held in its open batch, at `position` (1-based) */
  | { kind: 'pending'; batchId: string; position: number; pending: PendingOrder }
  /** a finished batch's held orders, positions 1..count, are gone */
  | { kind: 'pendingCleared'; batchId: string; count: number }
  | { kind: 'waiting'; batchId: string; waiting: WaitingOrder }
  | { kind: 'waitingCleared'; batchId: string; orderId: string };

export interface CompleteBatch {
  batch: OpenBatch;
  items: BatchOrderItem[];
  /** how many direct items come before the batch settles */
  at: number;
  /** when it completed: when its last piece arrived */
  atMs: number;
}

export interface RejectedBatch {
  batch: OpenBatch;
  reason: BatchRejection;
  at: number;
  atMs: number;
}

export interface BatchPlan<I = BatchInputItem> {
  /** items applied as usual, in order */
  direct: (I | BatchOrderItem | BatchRejectedItem)[];
  /** batches complete in this buffer */
  complete: CompleteBatch[];
  /** batches to reject whole */
  rejected: RejectedBatch[];
  /** reports of refused headers, duplicates of finished batches, then (when settled) of finished batches */
  reports: BatchReportOut[];
  deadLetters: HeaderDeadLetter[];
  ops: BatchChange[];
}

/** The subject prefixes (each ending with '.') a source is read from. */
export interface BatchSubjects {
  ordersPrefix: string;
  batchesPrefix: string;
}

export const emptyPlan = <I>(): BatchPlan<I> => ({
  direct: [],
  complete: [],
  rejected: [],
  reports: [],
  deadLetters: [],
  ops: [],
});

/** Plans a buffer's items against the book (which it updates): see the module comment for the rules. */
export function planBatches<I extends BatchInputItem>(
  book: BatchBook,
  items: readonly I[],
  nowMs: number,
  finishedInLedger: ReadonlyMap<string, BatchReport>,
  subjects: BatchSubjects,
): BatchPlan<I> {
  return new BufferPlanner<I>(book, nowMs, finishedInLedger, subjects).run(items);
}

/** The stored state of a batch, with its report once finished. */
export function stateChange(batch: OpenBatch, report?: BatchReport): BatchChange {
  const state: BatchState = { id: batch.id, source: batch.source, openedAtMs: batch.openedAtMs };
  if (batch.header) state.header = batch.header;
  if (report) state.report = report;
  return { kind: 'state', state };
}

type HeaderItem = Extract<BatchInputItem, { kind: 'batch' }>;
type MemberItem = Extract<BatchInputItem, { kind: 'order' | 'rejected' }>;
const isMember = <T extends BatchInputItem>(item: T): item is T & MemberItem =>
  item.kind === 'order' || item.kind === 'rejected';
const memberBatchId = (item: MemberItem): string | undefined =>
  item.kind === 'order' ? item.order.batchId : item.batchId;
/** A batch closed earlier in this buffer: finished, though its report is made when it settles. */
const CLOSING = 'closing';

class BufferPlanner<I extends BatchInputItem> {
  private readonly plan: BatchPlan<I> = emptyPlan<I>();
  /** open batches whose stored state changed in this buffer */
  private readonly touched = new Set<OpenBatch>();
  private readonly closing = new Set<string>();

  constructor(
    private readonly book: BatchBook,
    private readonly nowMs: number,
    private readonly finishedInLedger: ReadonlyMap<string, BatchReport>,
    private readonly subjects: BatchSubjects,
  ) {}

  run(items: readonly I[]): BatchPlan<I> {
    for (const item of items) this.take(item);
    for (const batch of this.touched) if (this.book.isOpen(batch.id)) this.plan.ops.push(stateChange(batch));
    return this.plan;
  }

  private take(item: I): void {
    const batchId = isMember(item) ? memberBatchId(item) : undefined;
    if (item.kind === 'batch') this.header(item);
    else if (batchId === undefined || !isMember(item)) this.plan.direct.push(item);
    else this.member(item, batchId);
  }

  private finished(id: string): BatchReport | typeof CLOSING | undefined {
    return (
      this.book.finishedReport(id) ??
      this.finishedInLedger.get(id) ??
      (this.closing.has(id) ? CLOSING : undefined)
    );
  }

  /** An order's source: the subject token after `<prefix>.orders.` (the whole subject if it has none). */
  private orderSource(subject: string): string {
    if (!subject.startsWith(this.subjects.ordersPrefix)) return subject;
    const rest = subject.slice(this.subjects.ordersPrefix.length);
    const dot = rest.indexOf('.');
    return dot < 0 ? rest : rest.slice(0, dot);
  }

  private header(item: HeaderItem): void {
    const rest = item.msg.subject.slice(this.subjects.batchesPrefix.length);
    const { source, id: subjectId } = batchSubjectParts(rest) ?? { source: '', id: rest };
    const check = checkBatchHeader(item.raw, subjectId, this.book.limits.batchOrdersMax);
    const id = check.ok ? check.header.id : (check.id ?? subjectId);
    const done = this.finished(id);
    if (done) {
      this.plan.reports.push({
        batchId: id,
        report: done === CLOSING ? { duplicate: true } : { ...done, duplicate: true },
      });
      return;
    }
    if (!check.ok) {
      this.plan.reports.push({
        batchId: id,
        report: headerRejection(id, check.reason, check.message, this.nowMs),
      });
      this.plan.deadLetters.push(headerDeadLetter(item.msg, check.reason, check.message));
      return;
    }
    const existing = this.book.openBatch(id);
    if (existing?.header) {
      // a redelivered header; one from another source cannot take the batch over
      if (existing.source !== source) {
        this.plan.deadLetters.push(
          headerDeadLetter(item.msg, 'invalid_batch', `batch ${id} is already open for another source`),
        );
      }
      return;
    }
    const batch = existing ?? this.openNew(id, source, item.msg.receivedAtMs);
    if (!batch) return;
    this.accept(batch, check.header, item.msg);
  }

  /** Opens a batch for a header, or reports it too_many_open_batches. */
  private openNew(id: string, source: string, openedAtMs: number): OpenBatch | undefined {
    const refusal = this.book.openRefusal(source);
    if (refusal) {
      this.plan.reports.push({
        batchId: id,
        report: headerRejection(id, 'too_many_open_batches', refusal, this.nowMs),
      });
      return undefined;
    }
    const batch: OpenBatch = { id, source, orders: [], ids: new Set(), sumMinor: 0n, openedAtMs };
    this.book.addOpen(batch);
    return batch;
  }

  /**
   * The header of an open batch: the orders that came before it join now, in the order they came; an invalid
   * one among them makes the batch unusable, as it would have had it come after the header.
   */
  private accept(batch: OpenBatch, header: BatchHeader, msg: BatchMessage): void {
    batch.header = header;
    this.touched.add(batch);
    const waited = this.book.waitingFor(batch.id);
    const joins = (w: WaitingOrder) => batch.source === '' || w.source === batch.source;
    const spoiled = waited.some((w) => w.invalid && joins(w));
    for (const w of waited) this.join(batch, w, joins(w), spoiled);
    if (spoiled) this.rejectWhole(batch, 'invalid_member', msg.receivedAtMs);
    else this.settleIfComplete(batch, msg);
  }

  /** One waiting order meets its batch's header. */
  private join(batch: OpenBatch, w: WaitingOrder, joins: boolean, spoiled: boolean): void {
    this.book.removeWaiting(batch.id, w.order.id);
    this.plan.ops.push({ kind: 'waitingCleared', batchId: batch.id, orderId: w.order.id });
    if (w.invalid) return; // rejected on its own when it came
    const msg: BatchMessage = {
      subject: `${this.subjects.ordersPrefix}${w.source}`,
      data: encoder.encode(JSON.stringify(orderToWire(w.order))),
      receivedAtMs: w.receivedAtMs,
    };
    if (!joins) {
      this.plan.direct.push(
        rejectedItem(
          msg,
          w.order.id,
          batch.id,
          'batch_unknown',
          `batch ${batch.id} was opened by another source`,
        ),
      );
    } else if (spoiled) {
      // rejected with the batch: held only to be answered with it
      if (!batch.ids.has(w.order.id))
        this.book.addPending(batch, { order: w.order, receivedAtMs: w.receivedAtMs });
    } else if (this.book.isOpen(batch.id)) {
      this.hold(batch, w.order, msg);
    } else {
      // the batch closed (its count reached) while its waiting orders joined: the rest are over its count
      this.plan.direct.push(overCount(msg, w.order.id, batch.id));
    }
  }

  /** An order, valid or not, naming a batch. */
  private member(item: I & MemberItem, batchId: string): void {
    if (this.finished(batchId)) {
      // an order of a finished batch: its original result if it was part of it, else rejected
      this.plan.direct.push(
        item.kind === 'order'
          ? rejectedItem(item.msg, item.order.id, batchId, 'batch_closed', 'the batch is finished')
          : item,
      );
      return;
    }
    const source = this.orderSource(item.msg.subject);
    const batch = this.book.openBatch(batchId);
    if (batch && batch.source !== '' && batch.source !== source) {
      // a batch of a named source takes its own source's orders only: nobody else can fill or spoil it
      const message = `batch ${batchId} is not open for this source`;
      this.plan.direct.push(
        item.kind === 'order'
          ? rejectedItem(item.msg, item.order.id, batchId, 'batch_unknown', message)
          : item,
      );
      return;
    }
    if (!batch) {
      if (item.kind === 'order') this.wait(item, batchId, source);
      else this.waitInvalid(item, batchId, source);
      return;
    }
    if (item.kind === 'rejected') {
      // an invalid member makes the batch unusable: it is rejected whole, this order with it
      this.plan.direct.push(item);
      this.rejectWhole(batch, 'invalid_member', item.msg.receivedAtMs);
      return;
    }
    this.hold(batch, item.order, item.msg);
  }

  /** A valid order whose batch no header has opened: it waits, or is rejected batch_unknown when it cannot. */
  private wait(item: Extract<MemberItem, { kind: 'order' }>, batchId: string, source: string): void {
    if (this.book.isWaiting(batchId, item.order.id)) return; // redelivered: already waiting
    const refusal = this.book.waitRefusal(source, batchId);
    if (refusal) {
      this.plan.direct.push(rejectedItem(item.msg, item.order.id, batchId, 'batch_unknown', refusal));
      return;
    }
    const waiting: WaitingOrder = { order: item.order, source, receivedAtMs: item.msg.receivedAtMs };
    this.book.addWaiting(batchId, waiting);
    this.plan.ops.push({ kind: 'waiting', batchId, waiting });
  }

  /** An invalid order whose batch no header has opened: rejected on its own now, it waits too (bounded like any) to spoil the batch. */
  private waitInvalid(
    item: I & Extract<MemberItem, { kind: 'rejected' }>,
    batchId: string,
    source: string,
  ): void {
    this.plan.direct.push(item);
    if (this.book.isWaiting(batchId, item.orderId) || this.book.waitRefusal(source, batchId)) return;
    const receivedAtMs = item.msg.receivedAtMs;
    const waiting: WaitingOrder = {
      order: invalidStub(item.orderId, batchId, receivedAtMs),
      source,
      receivedAtMs,
      invalid: true,
    };
    this.book.addWaiting(batchId, waiting);
    this.plan.ops.push({ kind: 'waiting', batchId, waiting });
  }

  /** Holds an order in its open batch; one beyond what the batch may hold rejects the batch whole. */
  private hold(batch: OpenBatch, order: Order, msg: BatchMessage): void {
    if (batch.ids.has(order.id)) return; // redelivered: already held
    const ordersMax = batch.header?.count ?? this.book.limits.batchOrdersMax;
    if (batch.orders.length >= ordersMax) {
      this.rejectWhole(batch, 'count_exceeded', msg.receivedAtMs);
      this.plan.direct.push(overCount(msg, order.id, batch.id));
      return;
    }
    const pending: PendingOrder = { order, receivedAtMs: msg.receivedAtMs };
    this.book.addPending(batch, pending);
    this.plan.ops.push({ kind: 'pending', batchId: batch.id, position: batch.orders.length, pending });
    this.touched.add(batch);
    this.settleIfComplete(batch, msg);
  }

  /** A batch completes where its last piece arrives, so replays settle it at the same point in the stream. */
  private settleIfComplete(batch: OpenBatch, msg: BatchMessage): void {
    const header = batch.header;
    if (!header || batch.orders.length !== header.count || !this.book.isOpen(batch.id)) return;
    this.close(batch);
    const where = { at: this.plan.direct.length, atMs: msg.receivedAtMs };
    const mismatch = completionMismatch(
      header,
      batch.orders.map((p) => p.order),
    );
    if (mismatch) this.plan.rejected.push({ batch, reason: mismatch, ...where });
    else this.plan.complete.push({ batch, items: batch.orders.map(memberItemOf), ...where });
  }

  private rejectWhole(batch: OpenBatch, reason: BatchRejection, atMs: number): void {
    this.plan.rejected.push({ batch, reason, at: this.plan.direct.length, atMs });
    this.close(batch);
  }

  private close(batch: OpenBatch): void {
    this.book.closeOpen(batch.id);
    this.closing.add(batch.id);
    this.touched.delete(batch);
  }
}

const encoder = new TextEncoder();

/** A held order as the apply stage settles it: its message is only its arrival time. */
export function memberItemOf(p: PendingOrder): BatchOrderItem {
  return {
    kind: 'order',
    msg: { subject: '', data: new Uint8Array(), receivedAtMs: p.receivedAtMs },
    order: p.order,
  };
}

function rejectedItem(
  msg: BatchMessage,
  orderId: string,
  batchId: string,
  reason: BatchRejectedItem['reason'],
  message: string,
): BatchRejectedItem {
  return { kind: 'rejected', msg, orderId, reason, field: 'batchId', message, batchId };
}

/** An order beyond its batch's count: rejected batch_rejected (the batch itself completes or is rejected count_exceeded). */
function overCount(msg: BatchMessage, orderId: string, batchId: string): BatchRejectedItem {
  return rejectedItem(msg, orderId, batchId, 'batch_rejected', 'more orders than the batch count');
}

function headerRejection(
  batchId: string,
  reason: HeaderRefusal | 'too_many_open_batches',
  message: string,
  nowMs: number,
): BatchReport & { message: string } {
  return {
    batchId,
    mode: 'unknown',
    status: 'rejected',
    reason,
    message,
    count: 0,
    received: 0,
    perStatus: {},
    processedAt: new Date(nowMs).toISOString(),
  };
}

function headerDeadLetter(msg: BatchMessage, reason: HeaderRefusal, detail: string): HeaderDeadLetter {
  const letter: HeaderDeadLetter = { reason, detail, subject: msg.subject, payload: msg.data };
  if (msg.streamSeq !== undefined) letter.streamSeq = msg.streamSeq;
  return letter;
}
