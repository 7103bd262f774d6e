// Batch payments (pain.001 in spirit): header checks, control sums, atomic/independent application, reports.

import { type ApplyContext, type WorkingSet, answerKnownId, applyOrder, finish, newRecord, resultOf } from './apply.ts';
import { containsPan, findSensitiveAuthData, sadRefusal } from './cards.ts';
import { formatAmount, parseAmount } from './money.ts';
import type { BatchReason, RejectReason } from './reasons.ts';
import type { Order, OrderResult } from './types.ts';
import type { RiskDecision } from './risk/decision.ts';

export const BATCH_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A header's subject after `<prefix>.batches.`: `<batchId>` (the unnamed source) or `<source>.<batchId>`.
 * The source is a subject token, so broker permissions can pin a publisher to its own; undefined when the
 * subject has more tokens (the header is then refused: its id cannot match).
 */
export function batchSubjectParts(rest: string): { source: string; id: string } | undefined {
  const dot = rest.indexOf('.');
  if (dot < 0) return { source: '', id: rest };
  const source = rest.slice(0, dot);
  const id = rest.slice(dot + 1);
  return source === '' || id.includes('.') ? undefined : { source, id };
}

export interface BatchHeader {
  id: string;
  count: number;
  controlSumMinor: bigint;
  currency: string;
  mode: 'independent' | 'atomic';
}

/** Why a header is refused (its report is rejected with this reason, and it is dead-lettered under it). */
export type HeaderRefusal = Extract<BatchReason, 'invalid_batch' | 'batch_too_large' | 'cvv_forbidden' | 'sad_forbidden'>;

export type HeaderCheck = { ok: true; header: BatchHeader } | { ok: false; reason: HeaderRefusal; message: string; id?: string };

/** Checks a header as it came (`raw`) against its subject's batch id and the most orders a batch may hold. */
export function checkBatchHeader(raw: Record<string, unknown>, subjectId: string, countMax: number): HeaderCheck {
  const id = raw.id;
  if (typeof id !== 'string' || !BATCH_ID_RE.test(id)) return { ok: false, reason: 'invalid_batch', message: 'id must be 1-64 of [A-Za-z0-9_-]' };
  if (containsPan(id) || containsPan(subjectId)) return { ok: false, reason: 'invalid_batch', message: 'id must not contain a card number' };
  if (typeof raw.controlSum === 'string' && containsPan(raw.controlSum)) return { ok: false, reason: 'invalid_batch', message: 'controlSum must not contain a card number', id };
  // sensitive authentication data is refused on every path, a header's included (it would sit in the stream)
  const sad = findSensitiveAuthData(raw);
  if (sad !== undefined) return { ok: false, ...sadRefusal(sad), id };
  const fail = (reason: HeaderRefusal, message: string): HeaderCheck => ({ ok: false, reason, message, id });
  if (id !== subjectId) return fail('invalid_batch', `header id ${id} differs from the subject's ${subjectId}`);
  const count = raw.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) return fail('invalid_batch', 'count must be a positive integer');
  if (count > countMax) return fail('batch_too_large', `count ${count} exceeds the limit of ${countMax} orders`);
  const currency = raw.currency;
  if (typeof currency !== 'string') return fail('invalid_batch', 'currency is missing');
  const sum = parseAmount(raw.controlSum, currency);
  if (!sum.ok) return fail('invalid_batch', `controlSum: ${sum.reason}`);
  const mode = raw.mode ?? 'independent';
  if (mode !== 'independent' && mode !== 'atomic') return fail('invalid_batch', 'mode must be "independent" or "atomic"');
  return { ok: true, header: { id, count, controlSumMinor: sum.amountMinor, currency, mode } };
}

/** Why a batch is rejected whole, before anything of it moves. */
export type BatchRejection = Extract<
  BatchReason,
  'count_exceeded' | 'invalid_member' | 'control_sum_mismatch' | 'currency_mismatch' | 'batch_incomplete' | 'internal_error'
>;

/**
 * The reason each order of a batch rejected whole gets: the batch's, except that the orders of a batch spoiled
 * by an invalid member get batch_rejected (the invalid one has its own rejection already).
 */
export function memberRejection(reason: BatchRejection): RejectReason {
  return reason === 'invalid_member' ? 'batch_rejected' : reason;
}

/**
 * The money check of a batch whose count is reached: its orders must add up to the header's control sum and
 * be in the header's currency; else the batch is rejected whole.
 */
export function completionMismatch(
  header: Pick<BatchHeader, 'controlSumMinor' | 'currency'>,
  orders: readonly Pick<Order, 'amountMinor' | 'currency'>[],
): 'control_sum_mismatch' | 'currency_mismatch' | undefined {
  const sumMinor = orders.reduce((sum, o) => sum + (o.amountMinor ?? 0n), 0n);
  if (sumMinor !== header.controlSumMinor) return 'control_sum_mismatch';
  if (orders.some((o) => o.currency !== header.currency)) return 'currency_mismatch';
  return undefined;
}

export interface StatusTotal {
  count: number;
  amount: string;
}

/** The batch report published on pay.reports.<batchId> (pain.002 in spirit). */
export interface BatchReport {
  batchId: string;
  mode: BatchHeader['mode'] | 'unknown';
  status: 'completed' | 'declined' | 'rejected';
  reason?: BatchReason;
  /** atomic batches declined whole: the first order that failed, and why */
  firstFailure?: BatchFailure;
  count: number;
  received: number;
  controlSum?: string;
  receivedSum?: string;
  currency?: string;
  perStatus: Record<string, StatusTotal>;
  processedAt: string;
  duplicate?: true;
}

/** The first order of an atomic batch that was not applied. */
export interface BatchFailure {
  orderId: string;
  status: OrderResult['status'];
  reason?: OrderResult['reason'];
}

/** Results that fail an atomic batch (with a duplicate: an id used before). */
const FAILED: ReadonlySet<OrderResult['status']> = new Set<OrderResult['status']>(['declined', 'rejected', 'expired', 'held']);

function perStatusOf(results: { result: OrderResult; amountMinor: bigint }[], currency: string): Record<string, StatusTotal> {
  const totals = new Map<string, { count: number; amountMinor: bigint }>();
  for (const { result, amountMinor } of results) {
    const t = totals.get(result.status) ?? { count: 0, amountMinor: 0n };
    t.count++;
    t.amountMinor += amountMinor;
    totals.set(result.status, t);
  }
  const out: Record<string, StatusTotal> = {};
  for (const [status, t] of [...totals].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out[status] = { count: t.count, amount: formatAmount(t.amountMinor, currency, { grouping: false }) };
  }
  return out;
}

export interface BatchMember {
  order: Order;
  risk: RiskDecision;
  ctx: ApplyContext;
}

/**
 * Applies a complete, matching batch. Atomic: all or none (rolled back on the first failure, every order
 * declined `batch_declined`, the failing one with its own reason). Independent: each order on its own.
 */
export function applyBatch(ws: WorkingSet, header: BatchHeader, members: BatchMember[], nowMs: number): BatchReport {
  const sumMinor = members.reduce((s, m) => s + (m.order.amountMinor ?? 0n), 0n);
  const base = {
    batchId: header.id,
    mode: header.mode,
    count: header.count,
    received: members.length,
    controlSum: formatAmount(header.controlSumMinor, header.currency, { grouping: false }),
    receivedSum: formatAmount(sumMinor, header.currency, { grouping: false }),
    currency: header.currency,
    processedAt: new Date(nowMs).toISOString(),
  };
  const checkpoint = header.mode === 'atomic' ? ws.checkpoint() : undefined;
  const outcomes: { result: OrderResult; amountMinor: bigint }[] = [];
  for (const m of members) {
    const result = applyOrder(ws, m.order, m.risk, m.ctx);
    outcomes.push({ result, amountMinor: m.order.amountMinor ?? 0n });
    if (checkpoint && (FAILED.has(result.status) || result.duplicate)) {
      ws.rollback(checkpoint);
      const failure: BatchFailure = { orderId: m.order.id, status: result.status };
      if (result.reason !== undefined) failure.reason = result.reason;
      const declined = members.map((x) => {
        // an id the ledger already knows (from before the batch, or earlier in it) keeps its first result
        // (its duplicate when the payload is the same, else id_conflict: never another order's result)
        const prior = ws.order(x.order.id);
        if (prior) return { result: answerKnownId(ws, prior, x.order, x.ctx), amountMinor: x.order.amountMinor ?? 0n };
        const own = x === m;
        const reason = own && result.reason !== undefined && !result.duplicate ? result.reason : 'batch_declined';
        const r = finish(ws, newRecord(x.order, resultOf(x.order, 'declined', x.ctx, { reason })));
        return { result: r, amountMinor: x.order.amountMinor ?? 0n };
      });
      return { ...base, status: 'declined', reason: 'atomic_batch_failed', firstFailure: failure, perStatus: perStatusOf(declined, header.currency) };
    }
  }
  return { ...base, status: 'completed', perStatus: perStatusOf(outcomes, header.currency) };
}

/**
 * A batch that cannot be applied (count/sum/currency mismatch, timeout, invalid member, a failure settling it):
 * every member rejected (memberRejection), the report carrying the batch's reason.
 */
export function rejectBatch(
  ws: WorkingSet,
  header: Pick<BatchHeader, 'id' | 'count' | 'currency'> & Partial<BatchHeader>,
  members: { order: Pick<Order, 'id' | 'batchId'> & Partial<Order>; ctx: ApplyContext }[],
  batchReason: BatchRejection,
  nowMs: number,
): BatchReport {
  const reason = memberRejection(batchReason);
  const outcomes = members.map((m) => {
    const prior = ws.order(m.order.id);
    const stub: Order = { type: 'payment', createdAtMs: m.ctx.receivedAtMs, ...m.order };
    let result: OrderResult;
    if (prior) {
      // a known id gets its original result again, published like any duplicate (id_conflict when the payload differs)
      result = answerKnownId(ws, prior, m.order, m.ctx);
    } else result = finish(ws, newRecord(stub, resultOf(stub, 'rejected', m.ctx, { reason, field: 'batchId' })));
    return { result, amountMinor: m.order.amountMinor ?? 0n };
  });
  const sumMinor = members.reduce((s, m) => s + (m.order.amountMinor ?? 0n), 0n);
  const report: BatchReport = {
    batchId: header.id,
    mode: header.mode ?? 'unknown',
    status: 'rejected',
    reason: batchReason,
    count: header.count,
    received: members.length,
    currency: header.currency,
    receivedSum: formatAmount(sumMinor, header.currency, { grouping: false }),
    perStatus: perStatusOf(outcomes, header.currency),
    processedAt: new Date(nowMs).toISOString(),
  };
  if (header.controlSumMinor !== undefined) report.controlSum = formatAmount(header.controlSumMinor, header.currency, { grouping: false });
  return report;
}
