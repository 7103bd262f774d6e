// Settling planned batches on the working set (complete ones applied, the others rejected whole) and the
// sweep's decisions (batches open too long, orders that waited for a header in vain). Pure: no I/O, no clock.

import { type ApplyContext, type WorkingSet, applyRejection } from './apply.ts';
import { type BatchMember, type BatchReport, applyBatch, rejectBatch } from './batch.ts';
import type { BatchBook, OpenBatch, WaitingOrder } from './batch-book.ts';
import {
  type BatchOrderItem,
  type BatchPlan,
  type CompleteBatch,
  type RejectedBatch,
  emptyPlan,
  memberItemOf,
  stateChange,
} from './batch-plan.ts';
import type { RiskDecision } from './risk/decision.ts';

/** What settling asks of the apply stage for each order of a batch. */
export interface SettleHooks {
  contextFor: (item: BatchOrderItem) => ApplyContext;
  riskFor: (item: BatchOrderItem) => RiskDecision;
  /** the decision time of a batch that completed at `atMs` */
  nowFor: (atMs: number) => number;
}

/** The parts of a plan settling reads and extends, whatever its items. */
export type SettledPlan = Pick<BatchPlan<unknown>, 'complete' | 'rejected' | 'reports' | 'ops'>;

/**
 * Applies the completed batches and rejects the rejected ones that sit at position `at` (all when undefined),
 * adding their reports and ledger changes to the plan and remembering them as finished.
 */
export function settleBatches(
  book: BatchBook,
  plan: SettledPlan,
  ws: WorkingSet,
  hooks: SettleHooks,
  at?: number,
): void {
  for (const entry of plan.complete)
    if (at === undefined || entry.at === at) settleComplete(book, plan, ws, hooks, entry);
  for (const entry of plan.rejected)
    if (at === undefined || entry.at === at) settleRejected(book, plan, ws, hooks, entry);
}

function settleComplete(
  book: BatchBook,
  plan: SettledPlan,
  ws: WorkingSet,
  hooks: SettleHooks,
  entry: CompleteBatch,
): void {
  // a batch's orders are applied when the batch is complete: their latency counts from that moment, not from
  // each order's arrival (they waited for the batch by design)
  const members = entry.items.map((item): BatchMember => {
    const atCompletion: BatchOrderItem = { ...item, msg: { ...item.msg, receivedAtMs: entry.atMs } };
    return { order: item.order, ctx: hooks.contextFor(atCompletion), risk: hooks.riskFor(atCompletion) };
  });
  finishBatch(
    book,
    plan,
    entry.batch,
    applyBatch(ws, entry.batch.header!, members, hooks.nowFor(entry.atMs)),
  );
}

function settleRejected(
  book: BatchBook,
  plan: SettledPlan,
  ws: WorkingSet,
  hooks: SettleHooks,
  entry: RejectedBatch,
): void {
  const { batch } = entry;
  // only a batch stored before a header was needed to open one has none
  const header = batch.header ?? {
    id: batch.id,
    count: batch.orders.length,
    currency: batch.orders[0]?.order.currency ?? 'USD',
  };
  const members = batch.orders.map((p) => ({ order: p.order, ctx: hooks.contextFor(memberItemOf(p)) }));
  finishBatch(book, plan, batch, rejectBatch(ws, header, members, entry.reason, hooks.nowFor(entry.atMs)));
}

function finishBatch(book: BatchBook, plan: SettledPlan, batch: OpenBatch, report: BatchReport): void {
  plan.reports.push({ batchId: batch.id, report });
  plan.ops.push(stateChange(batch, report), {
    kind: 'pendingCleared',
    batchId: batch.id,
    count: batch.orders.length,
  });
  book.remember(batch.id, report);
}

/** What a sweep found due: batches open too long (closed in the book, to reject whole) and orders that waited too long. */
export interface SweepPlan {
  plan: BatchPlan<never>;
  expired: { batchId: string; waiting: WaitingOrder }[];
}

/** Closes the batches open longer than batchTimeoutMs (rejected whole, batch_incomplete) and finds the expired waiting orders. */
export function planSweep(book: BatchBook, nowMs: number): SweepPlan {
  const plan = emptyPlan<never>();
  for (const id of book.overdue(nowMs)) {
    const batch = book.openBatch(id)!;
    book.closeOpen(id);
    plan.rejected.push({ batch, reason: 'batch_incomplete', at: 0, atMs: nowMs });
  }
  return { plan, expired: book.expiredWaiting(nowMs) };
}

/** Takes the expired waiting orders out of the book and rejects each batch_unknown (an invalid one has its own rejection already). */
export function rejectExpiredWaiting(
  book: BatchBook,
  { plan, expired }: SweepPlan,
  ws: WorkingSet,
  contextFor: (waiting: WaitingOrder) => ApplyContext,
): void {
  for (const { batchId, waiting } of expired) {
    book.removeWaiting(batchId, waiting.order.id);
    plan.ops.push({ kind: 'waitingCleared', batchId, orderId: waiting.order.id });
    if (!waiting.invalid)
      applyRejection(ws, { id: waiting.order.id, batchId }, 'batch_unknown', 'batchId', contextFor(waiting));
  }
}
