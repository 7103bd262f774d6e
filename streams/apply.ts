// Apply stage: per buffer, prefetch from the ledger, run risk and the pure decisions in order, commit once.

import { concatMap, type OperatorFunction, type SchedulerLike } from 'rxjs';
import {
  ALLOW,
  type ApplyContext,
  type ApplyOptions,
  type RiskVerdict,
  type WorkingSet,
  applyOrder,
  applyRejection,
  decideReview,
  expireHold,
  isIdConflict,
} from '../src/domain/ledger.ts';
import { type Account, type Card, type Order, type OrderResult, REJECT_REASONS } from '../src/domain/types.ts';
import type { LedgerStore } from '../src/ledger/store.ts';
import type { BatchTracker } from './batches.ts';
import { type BufferOptions, bufferWhileBusy } from './buffer.ts';
import type { AppliedBuffer, DeadLetter, InboundMessage, Item, OrderItem } from './types.ts';

/** The risk stage's interface: a pure, synchronous verdict per order, and what happened to it afterwards. */
export interface RiskEvaluator {
  evaluate(input: { order: Order; card?: Card; account?: Account; nowMs: number }): RiskVerdict;
  observe(order: Order, result: OrderResult, nowMs: number): void;
}

export interface ApplyDeps {
  store: LedgerStore;
  options: ApplyOptions;
  clock: () => number;
  /** replaying a recording: each order's "now" is its recorded arrival, so replays decide identically */
  virtualTime: boolean;
  risk?: RiskEvaluator;
  /** turns a raw payload into one fit to keep (PANs replaced by tokens) */
  scrub: (payload: Uint8Array) => Uint8Array;
  /** batch handling (the batches stage), when enabled */
  batches?: BatchTracker;
}

export function contextFor(deps: ApplyDeps, item: Item, bufferNowMs: number): ApplyContext {
  const nowMs = deps.virtualTime ? item.msg.receivedAtMs : bufferNowMs;
  return { nowMs, receivedAtMs: item.msg.receivedAtMs, options: deps.options };
}

export function riskVerdictFor(deps: ApplyDeps, ws: WorkingSet, item: OrderItem, nowMs: number): RiskVerdict {
  if (item.risk) return item.risk;
  if (!deps.risk || ws.order(item.order.id)) return ALLOW;
  const order = item.order;
  let card = order.cardToken === undefined ? undefined : ws.card(order.cardToken);
  if (!card && order.ref !== undefined) {
    const ref = ws.order(order.ref);
    if (ref?.order.cardToken !== undefined) card = ws.card(ref.order.cardToken);
  }
  const account = card ? ws.account(card.accountId) : undefined;
  const input: { order: Order; card?: Card; account?: Account; nowMs: number } = { order, nowMs };
  if (card) input.card = card;
  if (account) input.account = account;
  return deps.risk.evaluate(input);
}

/** The dead letter of a message not applied because a different payload holds its id (never stored: it goes each time). */
function idConflictLetter(deps: ApplyDeps, msg: InboundMessage, orderId: string): DeadLetter {
  return { reason: 'id_conflict', detail: `id: ${REJECT_REASONS.id_conflict}`, subject: msg.subject, payload: deps.scrub(msg.data), orderId };
}

/** Decides every item of a buffer against the working set, in order. Synchronous: no awaits between decisions. */
export function decideBuffer(deps: ApplyDeps, ws: WorkingSet, items: Item[], bufferNowMs: number): DeadLetter[] {
  const deadLetters: DeadLetter[] = [];
  for (const item of items) {
    const ctx = contextFor(deps, item, bufferNowMs);
    switch (item.kind) {
      case 'order': {
        const isDuplicate = ws.order(item.order.id) !== undefined;
        const verdict = riskVerdictFor(deps, ws, item, ctx.nowMs);
        const result = applyOrder(ws, item.order, verdict, ctx);
        if (isIdConflict(result)) deadLetters.push(idConflictLetter(deps, item.msg, item.order.id));
        if (!isDuplicate && deps.risk) {
          deps.risk.observe(item.order, result, ctx.nowMs);
          ws.riskObserved.push({ orderId: item.order.id, atMs: ctx.nowMs });
        }
        break;
      }
      case 'rejected': {
        const stub: { id: string; batchId?: string; fingerprint?: string } = { id: item.orderId };
        if (item.batchId !== undefined) stub.batchId = item.batchId;
        if (item.fingerprint !== undefined) stub.fingerprint = item.fingerprint;
        const result = applyRejection(ws, stub, item.reason, item.field, ctx);
        if (isIdConflict(result)) {
          deadLetters.push(idConflictLetter(deps, item.msg, item.orderId));
          break;
        }
        // a redelivery may follow a crash between the ledger write and the dead letter: send it again
        // (at least once); a client's republish of a rejected order is only answered, not dead-lettered twice
        if (!result.duplicate || item.msg.redelivered) {
          deadLetters.push({
            reason: item.reason,
            detail: `${item.field}: ${item.message}`,
            subject: item.msg.subject,
            payload: deps.scrub(item.msg.data),
            orderId: item.orderId,
          });
        }
        break;
      }
      case 'dead':
        deadLetters.push({ reason: item.reason, detail: item.detail, subject: item.msg.subject, payload: deps.scrub(item.msg.data) });
        break;
      case 'batch':
        // reaches here only when no batch stage runs: a header nobody can honour is a dead letter
        deadLetters.push({
          reason: 'batches_disabled',
          detail: 'batch headers are not accepted by this processor',
          subject: item.msg.subject,
          payload: deps.scrub(item.msg.data),
        });
        break;
    }
  }
  return deadLetters;
}

export async function applyBuffer(deps: ApplyDeps, items: Item[]): Promise<AppliedBuffer> {
  const bufferNowMs = deps.clock();
  const tracker = deps.batches;
  const plan = tracker
    ? tracker.plan(items, bufferNowMs, await tracker.reportsFromLedger(tracker.unknownBatchIds(items)))
    : undefined;
  const direct = plan ? plan.direct : items;
  const orders: Order[] = [];
  const extraIds: string[] = [];
  for (const item of direct) {
    if (item.kind === 'order') orders.push(item.order);
    else if (item.kind === 'rejected') extraIds.push(item.orderId);
  }
  if (plan) {
    for (const c of plan.complete) for (const i of c.items) orders.push(i.order);
    for (const r of plan.rejected) for (const p of r.batch.orders) extraIds.push(p.order.id);
  }
  const ws = await deps.store.prefetch(orders, extraIds);
  let deadLetters: DeadLetter[];
  if (plan && tracker) {
    // batches settle where they completed in the stream, between the direct items around them
    const settleAt = (at: number) =>
      tracker.settle(
        plan,
        ws,
        (item) => contextFor(deps, item, bufferNowMs),
        (item) => riskVerdictFor(deps, ws, item, contextFor(deps, item, bufferNowMs).nowMs),
        (atMs) => (deps.virtualTime ? atMs : bufferNowMs),
        at,
      );
    const cuts = [...new Set([...plan.complete, ...plan.rejected].map((e) => e.at))].sort((a, b) => a - b);
    deadLetters = [];
    let from = 0;
    for (const cut of cuts) {
      deadLetters.push(...decideBuffer(deps, ws, direct.slice(from, cut), bufferNowMs));
      settleAt(cut);
      from = cut;
    }
    deadLetters.push(...decideBuffer(deps, ws, direct.slice(from), bufferNowMs), ...plan.deadLetters);
  } else {
    deadLetters = decideBuffer(deps, ws, direct, bufferNowMs);
  }
  const written = deps.store.commit(ws, plan && tracker ? tracker.ops(plan) : []);
  return {
    written,
    items,
    results: ws.published,
    deadLetters,
    reports: plan?.reports ?? [],
    lastMessage: items[items.length - 1]?.msg,
    committedAtMs: deps.clock(),
  };
}

const decideUnderLock = (deps: ApplyDeps) => (items: Item[]) => deps.store.exclusive(() => applyBuffer(deps, items));

/** A buffer leaves the stage only once its write is in LevelDB, in order. */
const whenWritten = (): OperatorFunction<AppliedBuffer, AppliedBuffer> =>
  concatMap(async (applied) => {
    await applied.written;
    return applied;
  });

/**
 * The stage on buffers already formed: one buffer at a time is decided, under the store's lock (operator
 * commands take turns with it); its LevelDB write then runs while the next buffer is prefetched and decided.
 */
export const applyStage =
  (deps: ApplyDeps): OperatorFunction<Item[], AppliedBuffer> =>
  (source) =>
    source.pipe(concatMap(decideUnderLock(deps)), whenWritten());

/**
 * Buffer and apply stages together, as the processor runs them: the next buffer is formed from what
 * arrived while the previous one was being decided (smart batching, streams/buffer.ts), so light load sees
 * small buffers and low latency, heavy load large buffers and high throughput.
 */
export const bufferAndApply =
  (deps: ApplyDeps, buffer: BufferOptions, scheduler?: SchedulerLike): OperatorFunction<Item, AppliedBuffer> =>
  (source) =>
    source.pipe(bufferWhileBusy(buffer, decideUnderLock(deps), scheduler), whenWritten());

/** Releases holds whose time has come and times out reviews; returns the results to publish. */
export async function sweepExpiredHolds(store: LedgerStore, options: ApplyOptions, nowMs: number): Promise<OrderResult[]> {
  return store.exclusive(async () => {
    const due = await store.dueHolds(nowMs);
    if (due.length === 0) return [];
    const ws = await store.prefetch([], due);
    const ctx: ApplyContext = { nowMs, receivedAtMs: nowMs, options };
    for (const id of due) expireHold(ws, id, ctx);
    await store.commit(ws);
    return ws.published;
  });
}

/** An operator's decision on a held order. */
export async function reviewDecision(
  store: LedgerStore,
  options: ApplyOptions,
  orderId: string,
  decision: 'approve' | 'decline',
  decidedBy: string,
  nowMs: number,
): Promise<OrderResult | { error: 'not_found' | 'not_held' }> {
  return store.exclusive(async () => {
    const ws = await store.prefetch([], [orderId]);
    const outcome = decideReview(ws, orderId, decision, decidedBy, { nowMs, receivedAtMs: nowMs, options });
    if ('error' in outcome) return outcome;
    await store.commit(ws);
    return outcome;
  });
}
