// Decisions on held orders outside the pipeline: the sweep's hold expiries and review timeouts, and an
// operator's review decision; each committed with its audit entry in one write, under the store's lock.

import { SYSTEM_ACTOR } from '../domain/actor.ts';
import { type ApplyContext, type ApplyOptions, decideReview, expireHold } from '../domain/apply.ts';
import type { AuditDraft, AuditStamp, AuditValues } from '../domain/audit.ts';
import type { RiskEvaluator } from '../domain/risk/decision.ts';
import type { Order, OrderResult } from '../domain/types.ts';
import type { LedgerStore } from '../ledger/store.ts';

/**
 * Releases holds whose time has come and times out reviews; returns the results to publish. A review that
 * times out is a decision on a held order: paystream itself (SYSTEM_ACTOR) makes it, and its audit entry is
 * written in the same write.
 */
export async function sweepExpiredHolds(store: LedgerStore, options: ApplyOptions, nowMs: number, risk?: RiskEvaluator): Promise<OrderResult[]> {
  return store.exclusive(async () => {
    const due = await store.dueHolds(nowMs);
    if (due.length === 0) return [];
    const ws = await store.prefetch([], due);
    const ctx: ApplyContext = { nowMs, receivedAtMs: nowMs, options };
    const timeouts: AuditDraft[] = [];
    for (const id of due) {
      const result = expireHold(ws, id, ctx);
      if (result === undefined) continue;
      timeouts.push({ actor: SYSTEM_ACTOR, action: 'review.timeout', params: { orderId: id }, atMs: nowMs, outcome: 'ok', before: { order: id, status: 'held' }, after: resultValues(id, result) });
    }
    if (timeouts.length > 0) await store.commitAuditedAll(ws, timeouts);
    else await store.commit(ws);
    for (const result of ws.published) tellRisk(risk, ws.order(result.orderId)?.order, result, nowMs);
    return ws.published;
  });
}

/**
 * An operator's decision on a held order, decided by the stamp's actor (its id is the result's decidedBy),
 * committed with its audit entry in one write.
 */
export async function reviewDecision(
  store: LedgerStore,
  options: ApplyOptions,
  orderId: string,
  decision: 'approve' | 'decline',
  stamp: AuditStamp,
  nowMs: number,
  risk?: RiskEvaluator,
): Promise<OrderResult | { error: 'not_found' | 'not_held' }> {
  return store.exclusive(async () => {
    const ws = await store.prefetch([], [orderId]);
    const before = ws.orders.get(orderId)?.result.status;
    const outcome = decideReview(ws, orderId, decision, stamp.actor.id, { nowMs, receivedAtMs: nowMs, options });
    if ('error' in outcome) return outcome;
    await store.commitAudited(ws, { ...stamp, atMs: nowMs, outcome: 'ok', before: { order: orderId, status: before ?? null }, after: resultValues(orderId, outcome) });
    tellRisk(risk, ws.order(orderId)?.order, outcome, nowMs);
    return outcome;
  });
}

/**
 * A held order's final result, for the risk engine once it is written: a decline releases what the order held
 * in its state (the day's spend, the charge the duplicate rule counts), as a rebuild from the ledger would.
 */
function tellRisk(risk: RiskEvaluator | undefined, order: Order | undefined, result: OrderResult, nowMs: number): void {
  if (risk !== undefined && order !== undefined) risk.observe(order, result, nowMs);
}

/** What the audit trail records of a decided held order's result (a review decision's, or its timeout's). */
function resultValues(orderId: string, result: OrderResult): AuditValues {
  const values: AuditValues = { order: orderId, status: result.status };
  if (result.reason !== undefined) values.reason = result.reason;
  if (result.transferId !== undefined) values.transferId = result.transferId;
  return values;
}
