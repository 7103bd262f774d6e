// Apply stage: per buffer, prefetch from the ledger, run risk and the pure decisions in order, commit once.

import { concatMap, type OperatorFunction } from 'rxjs';
import { type ApplyContext, type ApplyOptions, WorkingSet, applyOrder, applyRejection, invariant, isIdConflict } from '../src/domain/apply.ts';
import { REJECT_REASONS } from '../src/domain/reasons.ts';
import type { Order, OrderResult } from '../src/domain/types.ts';
import { type CrashCount, planAttempts } from '../src/domain/applied.ts';
import type { LedgerStore } from '../src/ledger/store.ts';
import type { ProcessedEvent } from '../src/metrics/aggregator.ts';
import type { BatchPlan as PlanOf } from '../src/domain/batch-plan.ts';
import type { BatchTracker } from '../src/ledger/batches.ts';
import { type BufferOptions, bufferWhileBusy } from './buffer.ts';
import { type FaultHook, deadLetterOf, reportInternalError } from './guard.ts';
import type { AppliedBuffer, DeadLetter, InboundMessage, Item, OrderItem } from './types.ts';
import { ALLOW, type RiskDecision, type RiskEvaluator } from '../src/domain/risk/decision.ts';

/** A buffer's batch plan: its direct items are the buffer's own. */
type BatchPlan = PlanOf<Item>;

export interface ApplyDeps {
  store: LedgerStore;
  options: ApplyOptions;
  clock: () => number;
  /** replaying a recording: each order's "now" is its recorded arrival, so replays decide identically */
  virtualTime: boolean;
  risk?: RiskEvaluator;
  /** turns a raw payload into one fit to keep (PANs replaced by tokens) */
  scrub: (payload: Uint8Array, kind?: 'order' | 'batch') => Uint8Array;
  /** batch handling; absent, a batch header is dead-lettered batches_disabled */
  batches?: BatchTracker;
  /** test seam: makes a stage throw on purpose for the orders it names (streams/guard.ts) */
  faults?: FaultHook;
  /** a test seam: called with an attempt's items once its note is written, right before they are decided */
  beforeDecide?: (items: readonly Item[]) => void;
}

function contextFor(deps: ApplyDeps, item: Item, bufferNowMs: number): ApplyContext {
  const nowMs = deps.virtualTime ? item.msg.receivedAtMs : bufferNowMs;
  return { nowMs, receivedAtMs: item.msg.receivedAtMs, options: deps.options };
}

function riskVerdictFor(deps: ApplyDeps, ws: WorkingSet, item: OrderItem, nowMs: number): RiskDecision {
  if (!deps.risk || ws.order(item.order.id)) return ALLOW;
  const order = item.order;
  let card = order.cardToken === undefined ? undefined : ws.card(order.cardToken);
  if (!card && order.ref !== undefined) {
    const ref = ws.order(order.ref);
    if (ref?.order.cardToken !== undefined) card = ws.card(ref.order.cardToken);
  }
  const account = card ? ws.account(card.accountId) : undefined;
  // one literal (risk reads an absent and an undefined card or account alike): no property added afterwards
  return deps.risk.evaluate({ order, card, account, nowMs });
}

/** The dead letter of a message not applied because a different payload holds its id (never stored: it goes each time). */
function idConflictLetter(deps: ApplyDeps, msg: InboundMessage, orderId: string): DeadLetter {
  return deadLetterOf(deps.scrub, msg, 'id_conflict', `id: ${REJECT_REASONS.id_conflict}`, orderId, deps.faults);
}

/**
 * The results a buffer's decisions publish, in order, each with what the record stage counts of the order it
 * answers (the order as the working set holds it), taken right after the decision that published it.
 */
class CountedResults {
  readonly results: ProcessedEvent[] = [];

  constructor(private readonly ws: WorkingSet) {}

  /** Takes the results published since the last call: the answers to what arrived at `receivedAtMs`. */
  take(receivedAtMs: number): void {
    const published = this.ws.published;
    invariant(published.length >= this.results.length, 'a decision took back results already counted');
    for (let i = this.results.length; i < published.length; i++) this.results.push(counted(this.ws, published[i]!, receivedAtMs));
  }
}

/** One literal an event (the record stage reads absent and undefined fields alike): no property added afterwards. */
function counted(ws: WorkingSet, result: OrderResult, receivedAtMs: number): ProcessedEvent {
  // a rejected order was not applied: its record is a stub of the id, or (an id conflict) another order
  const order = result.status === 'rejected' ? undefined : ws.order(result.orderId)?.order;
  if (order === undefined) return { result, receivedAtMs };
  return {
    result,
    receivedAtMs,
    type: order.type,
    createdAtMs: order.createdAtMs,
    amountMinor: order.amountMinor,
    currency: order.currency,
    merchant: order.merchant,
    card: order.cardToken === undefined ? undefined : ws.card(order.cardToken),
  };
}

/**
 * Decides the items of a buffer from `from` to before `to` against the working set, in order, and adds their dead
 * letters to `deadLetters`. Synchronous: no awaits between decisions. Each item under the per-message guard:
 * one that throws is taken back (WorkingSet.undo) and becomes its own internal_error outcome, and the items
 * after it are decided as if it had not been there.
 */
function decideBuffer(
  deps: ApplyDeps,
  ws: WorkingSet,
  items: readonly Item[],
  bufferNowMs: number,
  counts: CountedResults,
  from = 0,
  to = items.length,
  deadLetters: DeadLetter[] = [],
): DeadLetter[] {
  // one context for the buffer, its times set for each item: the decisions read it and keep none of it
  const ctx: ApplyContext = { nowMs: bufferNowMs, receivedAtMs: 0, options: deps.options };
  for (let i = from; i < to; i++) {
    const item = items[i]!;
    ctx.nowMs = deps.virtualTime ? item.msg.receivedAtMs : bufferNowMs;
    ctx.receivedAtMs = item.msg.receivedAtMs;
    const mark = ws.mark();
    const lettersBefore = deadLetters.length;
    try {
      decideItem(deps, ws, item, ctx, deadLetters);
    } catch (error) {
      ws.undo(mark);
      deadLetters.length = lettersBefore;
      deadLetters.push(failedItem(deps, ws, item, ctx, error));
    }
    counts.take(item.msg.receivedAtMs);
  }
  return deadLetters;
}

function decideItem(deps: ApplyDeps, ws: WorkingSet, item: Item, ctx: ApplyContext, deadLetters: DeadLetter[]): void {
  switch (item.kind) {
    case 'order': {
      const isDuplicate = ws.order(item.order.id) !== undefined;
      const verdict = riskVerdictFor(deps, ws, item, ctx.nowMs);
      const result = applyOrder(ws, item.order, verdict, ctx);
      deps.faults?.('apply', item.order.id);
      if (isIdConflict(result)) deadLetters.push(idConflictLetter(deps, item.msg, item.order.id));
      if (!isDuplicate && deps.risk) {
        deps.risk.observe(item.order, result, ctx.nowMs);
        ws.riskObserved.push({ orderId: item.order.id, atMs: ctx.nowMs });
      }
      return;
    }
    case 'rejected': {
      const stub: { id: string; batchId?: string; fingerprint?: string } = { id: item.orderId };
      if (item.batchId !== undefined) stub.batchId = item.batchId;
      if (item.fingerprint !== undefined) stub.fingerprint = item.fingerprint;
      // validation that threw (streams/validate.ts) names no field; its message is the guard's detail
      const failed = item.reason === 'internal_error';
      const result = applyRejection(ws, stub, item.reason, failed ? undefined : item.field, ctx);
      deps.faults?.('apply', item.orderId);
      if (isIdConflict(result)) {
        deadLetters.push(idConflictLetter(deps, item.msg, item.orderId));
        return;
      }
      // a redelivery may follow a crash between the ledger write and the dead letter: send it again
      // (at least once); a client's republish of a rejected order is only answered, not dead-lettered twice
      if (!result.duplicate || item.msg.redelivered) {
        const detail = failed ? item.message : `${item.field}: ${item.message}`;
        deadLetters.push(deadLetterOf(deps.scrub, item.msg, item.reason, detail, item.orderId, deps.faults));
      }
      return;
    }
    case 'dead':
      deadLetters.push(deadLetterOf(deps.scrub, item.msg, item.reason, item.detail, undefined, deps.faults));
      return;
    case 'batch':
      // reaches here only when no batch stage runs: a header nobody can honour is a dead letter
      deadLetters.push(deadLetterOf((payload) => deps.scrub(payload, 'batch'), item.msg, 'batches_disabled', 'batch headers are not accepted by this processor', undefined, deps.faults));
      return;
  }
}

/** A rejected batch header's dead letter (the batch planner leaves its payload raw): header fields only. */
function headerLetter(deps: ApplyDeps, letter: DeadLetter): DeadLetter {
  let payload: Uint8Array;
  try {
    payload = deps.scrub(letter.payload, 'batch');
  } catch {
    payload = new Uint8Array(0);
  }
  return { ...letter, payload };
}

/** The order id an item carries: an order's or a rejected order's; none for a dead letter or a batch header. */
const itemOrderId = (item: Item): string | undefined =>
  item.kind === 'order' ? item.order.id : item.kind === 'rejected' ? item.orderId : undefined;

/**
 * The outcome of an item whose decision threw (its changes already taken back): an internal_error dead letter
 * with its stream sequence and a scrubbed prefix of its payload. An order with an id also gets a `rejected`
 * `internal_error` result, stored like any rejection, so its sender is answered and a redelivery gets the same
 * answer (duplicate) rather than a second decision: still one result per id.
 */
function failedItem(deps: ApplyDeps, ws: WorkingSet, item: Item, ctx: ApplyContext, error: unknown): DeadLetter {
  const orderId = itemOrderId(item);
  const detail = reportInternalError('apply', error, item.msg, orderId);
  if (orderId !== undefined) {
    const batchId = item.kind === 'order' ? item.order.batchId : item.kind === 'rejected' ? item.batchId : undefined;
    const mark = ws.mark();
    try {
      applyRejection(ws, batchId === undefined ? { id: orderId } : { id: orderId, batchId }, 'internal_error', undefined, ctx);
    } catch (again) {
      // not even a rejection could be recorded: the dead letter alone says what happened
      ws.undo(mark);
      reportInternalError('apply', again, item.msg, orderId);
    }
  }
  return deadLetterOf(deps.scrub, item.msg, 'internal_error', detail, orderId, deps.faults);
}

/**
 * Tells risk the results a batch settled since `from` (its orders were all evaluated before any was applied,
 * so until now risk knew none of them) and indexes them for its rebuild, as decideItem does for single orders.
 * A rejected order never reached risk, and a duplicate or an id conflict answers another order's id.
 */
function observeSettled(deps: ApplyDeps, ws: WorkingSet, from: number, nowMs: number): void {
  if (!deps.risk) return;
  for (let i = from; i < ws.published.length; i++) {
    const result = ws.published[i]!;
    if (result.duplicate || result.status === 'rejected') continue;
    const order = ws.order(result.orderId)?.order;
    if (order === undefined) continue;
    deps.risk.observe(order, result, nowMs);
    ws.riskObserved.push({ orderId: order.id, atMs: nowMs });
  }
}

/**
 * Settles the batches that complete at `cut` (in the order BatchTracker.settle would), one batch at a time
 * under the per-message guard: a batch whose settling throws is taken back (working set, reports, ledger ops)
 * and rejected whole with reason internal_error, so each of its orders still gets a result, plus one
 * internal_error dead letter. Should even that throw, the batch's orders stay pending in the ledger, where the
 * next start finds them.
 */
function settleGuarded(
  deps: ApplyDeps,
  tracker: BatchTracker,
  plan: BatchPlan,
  ws: WorkingSet,
  bufferNowMs: number,
  cut: number,
  counts: CountedResults,
): DeadLetter[] {
  const settle = (part: BatchPlan) =>
    tracker.settle(
      part,
      ws,
      (item) => contextFor(deps, item, bufferNowMs),
      (item) => {
        deps.faults?.('settle', item.order.id);
        return riskVerdictFor(deps, ws, item, contextFor(deps, item, bufferNowMs).nowMs);
      },
      (atMs) => (deps.virtualTime ? atMs : bufferNowMs),
      cut,
    );
  // a part shares the plan's reports and ops, so what it settles lands in the plan
  const attempt = (part: BatchPlan, atMs: number): { error: unknown } | undefined => {
    const mark = ws.mark();
    const reports = plan.reports.length;
    const ops = plan.ops.length;
    const published = ws.published.length;
    try {
      settle(part);
      observeSettled(deps, ws, published, deps.virtualTime ? atMs : bufferNowMs);
      return undefined;
    } catch (error) {
      ws.undo(mark);
      plan.reports.length = reports;
      plan.ops.length = ops;
      return { error };
    }
  };
  const letters: DeadLetter[] = [];
  const parts = [
    ...plan.complete.filter((e) => e.at === cut).map((e) => ({ batch: e.batch, atMs: e.atMs, part: { ...plan, complete: [e], rejected: [] } })),
    ...plan.rejected.filter((e) => e.at === cut).map((e) => ({ batch: e.batch, atMs: e.atMs, part: { ...plan, complete: [], rejected: [e] } })),
  ];
  for (const { batch, atMs, part } of parts) {
    const failed = attempt(part, atMs);
    if (!failed) {
      counts.take(atMs);
      continue;
    }
    const msg = { subject: '', data: new Uint8Array(0), receivedAtMs: atMs };
    let detail = `batch ${batch.id}: ${reportInternalError('settle', failed.error, msg)}`;
    const fallback = attempt({ ...plan, complete: [], rejected: [{ batch, reason: 'internal_error', at: cut, atMs }] }, atMs);
    if (fallback) {
      reportInternalError('settle', fallback.error, msg);
      detail += '; rejecting it failed too: its orders stay pending in the ledger until the next start';
    } else detail += '; the batch is rejected whole, internal_error';
    counts.take(atMs);
    letters.push({ reason: 'internal_error', detail, subject: '', payload: new Uint8Array(0) });
  }
  return letters;
}

/**
 * Decides a buffer and stages its commit. Messages the crash-loop guard suspects (src/domain/applied.ts,
 * planAttempts) are decided alone, each in its own commit, and a message proven to crash the process is
 * dead-lettered `poison` without being decided; the rest go as one attempt.
 */
export async function applyBuffer(deps: ApplyDeps, items: Item[]): Promise<AppliedBuffer> {
  const steps = planAttempts(
    items.map((item) => item.msg.streamSeq),
    deps.store.applied.crashCounts,
  );
  if (steps.length === 1 && steps[0]!.kind === 'together') return applyAttempt(deps, items, false);
  const parts: AppliedBuffer[] = [];
  for (const step of steps) {
    if (step.kind === 'together') parts.push(await applyAttempt(deps, step.at.map((at) => items[at]!), false));
    else if (step.kind === 'alone') parts.push(await applyAttempt(deps, [items[step.at]!], true));
    else parts.push(poisoned(deps, items[step.at]!, step.count));
  }
  const written = Promise.all(parts.map((p) => p.written)).then(() => undefined);
  return {
    written,
    items,
    results: parts.flatMap((p) => p.results),
    deadLetters: parts.flatMap((p) => p.deadLetters),
    reports: parts.flatMap((p) => p.reports),
    lastMessage: items[items.length - 1]?.msg,
    committedAtMs: deps.clock(),
  };
}

/**
 * A message that crashed the process CRASHED_ATTEMPTS_MAX times alone: dead-lettered undecided and recorded
 * as applied, so processing goes on past it. The dead letter carries no payload (the
 * stream still holds it, at the sequence the detail names): reading it again is what crashed.
 */
function poisoned(deps: ApplyDeps, item: Item, count: CrashCount): AppliedBuffer {
  const seq = item.msg.streamSeq!;
  const letter: DeadLetter = {
    reason: 'poison',
    detail: `stream sequence ${seq} was in ${count.crashes} attempts that crashed the processor (${count.alone} alone): not decided`,
    subject: item.msg.subject,
    payload: new Uint8Array(0),
  };
  const orderId = itemOrderId(item);
  if (orderId !== undefined) letter.orderId = orderId;
  return {
    written: deps.store.commit(new WorkingSet(), [], { seqs: [seq] }),
    items: [item],
    results: [],
    deadLetters: [letter],
    reports: [],
    lastMessage: item.msg,
    committedAtMs: deps.clock(),
  };
}

/**
 * One attempt: its stream sequences are noted in the ledger before anything is decided (a crash from there
 * on is counted at the next start), then prefetch, decide, and one commit that records them as applied.
 */
async function applyAttempt(deps: ApplyDeps, items: Item[], alone: boolean): Promise<AppliedBuffer> {
  const seqs: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const seq = items[i]!.msg.streamSeq;
    if (seq !== undefined) seqs.push(seq);
  }
  // written while the buffer is prefetched: it costs no wait of its own
  const noting = seqs.length > 0 ? deps.store.applied.noteAttempt(seqs, alone) : undefined;
  noting?.catch(() => undefined);
  const bufferNowMs = deps.clock();
  const tracker = deps.batches;
  const plan = tracker
    ? tracker.plan(items, bufferNowMs, await tracker.reportsFromLedger(tracker.unknownBatchIds(items)))
    : undefined;
  const ws = await prefetchFor(deps.store, plan ? plan.direct : items, plan);
  const attemptKey = await noting;
  deps.beforeDecide?.(items);
  const counts = new CountedResults(ws);
  const deadLetters =
    plan && tracker ? decideWithBatches(deps, tracker, plan, ws, bufferNowMs, counts) : decideBuffer(deps, ws, items, bufferNowMs, counts);
  invariant(counts.results.length === ws.published.length, 'every published result is counted');
  const written = deps.store.commit(ws, plan && tracker ? tracker.ops(plan) : [], attemptKey === undefined ? undefined : { seqs, attemptKey });
  return {
    written,
    items,
    results: counts.results,
    deadLetters,
    reports: plan?.reports ?? [],
    lastMessage: items[items.length - 1]?.msg,
    committedAtMs: deps.clock(),
  };
}

/** The working set an attempt decides on: the orders it applies, and the ids its rejections answer. */
function prefetchFor(store: LedgerStore, direct: Item[], plan: BatchPlan | undefined): Promise<WorkingSet> {
  const orders: Order[] = [];
  const extraIds: string[] = [];
  // indexed: a for...of makes an iterator result an item in code V8 has not optimized (a loop run once a buffer)
  for (let i = 0; i < direct.length; i++) {
    const item = direct[i]!;
    if (item.kind === 'order') orders.push(item.order);
    else if (item.kind === 'rejected') extraIds.push(item.orderId);
  }
  if (plan) {
    for (const c of plan.complete) for (const i of c.items) orders.push(i.order);
    for (const r of plan.rejected) for (const p of r.batch.orders) extraIds.push(p.order.id);
  }
  return store.prefetch(orders, extraIds);
}

/** Batches settle where they completed in the stream, between the direct items around them. */
function decideWithBatches(
  deps: ApplyDeps,
  tracker: BatchTracker,
  plan: BatchPlan,
  ws: WorkingSet,
  bufferNowMs: number,
  counts: CountedResults,
): DeadLetter[] {
  const cuts = [...new Set([...plan.complete, ...plan.rejected].map((e) => e.at))].sort((a, b) => a - b);
  const deadLetters: DeadLetter[] = [];
  let from = 0;
  for (const cut of cuts) {
    decideBuffer(deps, ws, plan.direct, bufferNowMs, counts, from, cut, deadLetters);
    deadLetters.push(...settleGuarded(deps, tracker, plan, ws, bufferNowMs, cut, counts));
    from = cut;
  }
  decideBuffer(deps, ws, plan.direct, bufferNowMs, counts, from, plan.direct.length, deadLetters);
  deadLetters.push(...plan.deadLetters.map((l) => headerLetter(deps, l)));
  return deadLetters;
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
 * Buffer and apply stages together, as the pipeline runs them: the next buffer is formed from what
 * arrived while the previous one was being decided (smart batching, streams/buffer.ts), so light load sees
 * small buffers and low latency, heavy load large buffers and high throughput.
 */
export const bufferAndApply =
  (deps: ApplyDeps, buffer: BufferOptions): OperatorFunction<Item, AppliedBuffer> =>
  (source) =>
    source.pipe(bufferWhileBusy(buffer, decideUnderLock(deps)), whenWritten());
