// Batch stage: holds orders of open batches (persisted in the same LevelDB write as the buffer, so acks
// never outrun them) until their header's count is reached, then applies them atomically or independently.
//
// Only a header opens a batch. Orders naming a batch no header has opened wait in a bounded area (per
// source, and in all) for unknownBatchWaitMs, then are rejected batch_unknown: junk batch ids in orders
// open nothing. Open batches are bounded per source, so one publisher's junk headers cannot use up the
// batches of another. A source is a subject token, the one thing broker permissions can pin a publisher to:
// an order's is the token after `<prefix>.orders.`, a header's the token between `<prefix>.batches.` and the
// batch id (`pay.batches.<source>.<batchId>`). A header without one (`pay.batches.<batchId>`) opens a batch
// of the unnamed source, shared by every such publisher, which takes orders from any source; a batch of a
// named source takes orders from that source only, so another publisher cannot fill or spoil it either.

import { type BatchHeader, type BatchReport, applyBatch, batchSubjectParts, checkBatchHeader, rejectBatch } from '../src/domain/batch.ts';
import { type ApplyContext, type ApplyOptions, type WorkingSet, applyRejection } from '../src/domain/apply.ts';
import { orderToWire } from '../src/domain/order.ts';
import { parseAmount } from '../src/domain/money.ts';
import type { Order, OrderResult } from '../src/domain/types.ts';
import { loadOrder, storeOrder, type StoredOrder } from '../src/ledger/codec.ts';
import type { LedgerStore } from '../src/ledger/store.ts';
import type { BatchProgress } from '../src/metrics/aggregator.ts';
import { type Topology, subjects } from '../src/nats/setup.ts';
import type { AppliedBuffer, DeadLetter, InboundMessage, Item, OrderItem } from './types.ts';
import type { RiskDecision } from '../src/domain/risk/decision.ts';

export interface BatchLimits {
  /** most orders in one batch @default 10_000 */
  batchOrdersMax: number;
  /** most batches open at once, all sources together (a header opens one; complete or rejected closes it) @default 1000 */
  openBatchesMax: number;
  /** most batches one source may have open at once; a header beyond it is rejected too_many_open_batches @default 100 */
  openBatchesPerSourceMax: number;
  /** an open batch not complete after this is rejected whole @default 300_000 */
  batchTimeoutMs: number;
  /** finished batches remembered in memory for the dashboard @default 50 */
  finishedShownMax: number;
  /** how long an order naming a batch no header has opened waits for it, then it is rejected batch_unknown @default 30_000 */
  unknownBatchWaitMs: number;
  /** most orders of one source waiting for headers (a whole batch may come before its header) @default 10_000 */
  waitingOrdersPerSourceMax: number;
  /** most distinct batch ids one source's waiting orders may name @default 100 */
  waitingBatchesPerSourceMax: number;
  /** most orders waiting for headers, all sources together; beyond any bound an order is rejected batch_unknown at once @default 50_000 */
  waitingOrdersMax: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  batchOrdersMax: 10_000,
  openBatchesMax: 1000,
  openBatchesPerSourceMax: 100,
  batchTimeoutMs: 300_000,
  finishedShownMax: 50,
  unknownBatchWaitMs: 30_000,
  waitingOrdersPerSourceMax: 10_000,
  waitingBatchesPerSourceMax: 100,
  waitingOrdersMax: 50_000,
};

/** Each limit's bounds: whole numbers only. */
const LIMIT_BOUNDS: Record<keyof BatchLimits, [min: number, max: number]> = {
  batchOrdersMax: [1, 100_000],
  openBatchesMax: [1, 100_000],
  openBatchesPerSourceMax: [1, 100_000],
  batchTimeoutMs: [1_000, 24 * 3_600_000],
  finishedShownMax: [0, 10_000],
  unknownBatchWaitMs: [0, 3_600_000],
  waitingOrdersPerSourceMax: [0, 1_000_000],
  waitingBatchesPerSourceMax: [0, 100_000],
  waitingOrdersMax: [0, 1_000_000],
};

/**
 * The batch limits, parsed: documented defaults for what is missing; each a whole number within its bounds;
 * a per-source bound above its total is a contradiction. Throws with the offending name and value.
 */
export function parseBatchLimits(partial: Partial<BatchLimits> = {}): BatchLimits {
  const limits: BatchLimits = { ...DEFAULT_BATCH_LIMITS };
  for (const [key, value] of Object.entries(partial) as [keyof BatchLimits, unknown][]) {
    if (value === undefined) continue;
    const bounds = LIMIT_BOUNDS[key];
    if (!bounds) throw new Error(`batch limits: unknown limit ${String(key)}`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds[0] || value > bounds[1]) {
      throw new Error(`batch limits: ${key} must be a whole number within ${bounds[0]}..${bounds[1]}, got ${String(value)}`);
    }
    limits[key] = value;
  }
  if (limits.openBatchesPerSourceMax > limits.openBatchesMax) {
    throw new Error(`batch limits: openBatchesPerSourceMax (${limits.openBatchesPerSourceMax}) exceeds openBatchesMax (${limits.openBatchesMax})`);
  }
  if (limits.waitingOrdersPerSourceMax > limits.waitingOrdersMax) {
    throw new Error(`batch limits: waitingOrdersPerSourceMax (${limits.waitingOrdersPerSourceMax}) exceeds waitingOrdersMax (${limits.waitingOrdersMax})`);
  }
  return limits;
}

interface PendingOrder {
  order: Order;
  receivedAtMs: number;
}

interface OpenBatch {
  id: string;
  /** the header's subject token ('' for pay.batches.<batchId>: takes orders from any source) */
  source: string;
  header?: BatchHeader;
  orders: PendingOrder[];
  ids: Set<string>;
  sumMinor: bigint;
  openedAtMs: number;
}

interface StoredBatchState {
  id: string;
  /** absent in batches stored before sources: the unnamed source */
  source?: string;
  header?: Omit<BatchHeader, 'controlSumMinor'> & { controlSumMinor: string };
  openedAtMs: number;
  report?: BatchReport;
}

export interface BatchPlan {
  /** items applied as usual, in order */
  direct: Item[];
  /** batches complete in this buffer; `at` = how many direct items come before it, `atMs` = when it completed */
  complete: { batch: OpenBatch; items: OrderItem[]; at: number; atMs: number }[];
  /** batches to reject whole */
  rejected: { batch: OpenBatch; reason: string; at: number; atMs: number }[];
  /** headers that could not be accepted, and duplicates of finished batches */
  reports: AppliedBuffer['reports'];
  deadLetters: DeadLetter[];
  ops: { type: 'put' | 'del'; key: string; value?: string }[];
}

const pad = (n: number): string => n.toString().padStart(6, '0');

/** An order naming a batch no header has opened yet; stored under `wait!<batchId>!<orderId>`. */
interface WaitingOrder {
  order: Order;
  source: string;
  receivedAtMs: number;
  /** an invalid order naming the batch (already rejected on its own): it spoils the batch its header opens */
  invalid?: true;
}

/** The orders waiting for one batch id's header, and what each source has waiting. */
interface Waiting {
  byBatch: Map<string, Map<string, WaitingOrder>>;
  bySource: Map<string, { orders: number; batches: Map<string, number> }>;
  orders: number;
}

const waitKey = (batchId: string, orderId: string): string => `wait!${batchId}!${orderId}`;
/** What is kept of an invalid order waiting for its batch: its id (no amount: it is never applied). */
const invalidStub = (id: string, batchId: string, atMs: number): Order => ({ id, type: 'payment', batchId, createdAtMs: atMs });
/** most waiting orders one sweep rejects (the rest go in the next, a second later) */
const WAITING_SWEEP_MAX = 5000;
const encoder = new TextEncoder();

export class BatchTracker {
  private readonly open = new Map<string, OpenBatch>();
  /** open batches by source, counted for the per-source bound */
  private readonly openBySource = new Map<string, number>();
  /** orders waiting for their batch's header (bounded: BatchLimits.waiting*) */
  private readonly waiting: Waiting = { byBatch: new Map(), bySource: new Map(), orders: 0 };
  /** finished batches, newest last, bounded: their reports, for duplicates and the dashboard */
  private readonly finished = new Map<string, BatchReport>();
  private readonly batchSubjectPrefix: string;
  private readonly orderSubjectPrefix: string;
  readonly limits: BatchLimits;

  constructor(
    private readonly store: LedgerStore,
    limits: Partial<BatchLimits>,
    topology: Pick<Topology, 'prefix'>,
  ) {
    this.limits = parseBatchLimits(limits);
    this.batchSubjectPrefix = `${subjects(topology).batches}.`;
    this.orderSubjectPrefix = `${subjects(topology).orders}.`;
  }

  /** An order's source: the subject token after `<prefix>.orders.` (the whole subject if it has none). */
  private orderSource(subject: string): string {
    if (!subject.startsWith(this.orderSubjectPrefix)) return subject;
    const rest = subject.slice(this.orderSubjectPrefix.length);
    const dot = rest.indexOf('.');
    return dot < 0 ? rest : rest.slice(0, dot);
  }

  private addOpen(batch: OpenBatch): void {
    this.open.set(batch.id, batch);
    this.openBySource.set(batch.source, (this.openBySource.get(batch.source) ?? 0) + 1);
  }

  private closeOpen(id: string): void {
    const batch = this.open.get(id);
    if (!batch) return;
    this.open.delete(id);
    const n = (this.openBySource.get(batch.source) ?? 1) - 1;
    if (n > 0) this.openBySource.set(batch.source, n);
    else this.openBySource.delete(batch.source);
  }

  /** Why an order of `source` naming `batchId` cannot wait, or undefined when it can. */
  private waitRefusal(source: string, batchId: string): string | undefined {
    const mine = this.waiting.bySource.get(source);
    const l = this.limits;
    if (this.waiting.orders >= l.waitingOrdersMax) return `no batch ${batchId} is open, and ${l.waitingOrdersMax} orders already wait for headers`;
    if ((mine?.orders ?? 0) >= l.waitingOrdersPerSourceMax) {
      return `no batch ${batchId} is open, and ${l.waitingOrdersPerSourceMax} orders of this source already wait for headers`;
    }
    if (!mine?.batches.has(batchId) && (mine?.batches.size ?? 0) >= l.waitingBatchesPerSourceMax) {
      return `no batch ${batchId} is open, and this source's orders already wait for ${l.waitingBatchesPerSourceMax} batch headers`;
    }
    return undefined;
  }

  private addWaiting(batchId: string, w: WaitingOrder): void {
    const forBatch = this.waiting.byBatch.get(batchId) ?? new Map<string, WaitingOrder>();
    this.waiting.byBatch.set(batchId, forBatch);
    forBatch.set(w.order.id, w);
    const mine = this.waiting.bySource.get(w.source) ?? { orders: 0, batches: new Map<string, number>() };
    this.waiting.bySource.set(w.source, mine);
    mine.orders++;
    mine.batches.set(batchId, (mine.batches.get(batchId) ?? 0) + 1);
    this.waiting.orders++;
  }

  private removeWaiting(batchId: string, orderId: string): void {
    const forBatch = this.waiting.byBatch.get(batchId);
    const w = forBatch?.get(orderId);
    if (!forBatch || !w) return;
    forBatch.delete(orderId);
    if (forBatch.size === 0) this.waiting.byBatch.delete(batchId);
    const mine = this.waiting.bySource.get(w.source)!;
    mine.orders--;
    const n = (mine.batches.get(batchId) ?? 1) - 1;
    if (n > 0) mine.batches.set(batchId, n);
    else mine.batches.delete(batchId);
    if (mine.orders === 0) this.waiting.bySource.delete(w.source);
    this.waiting.orders--;
  }

  /** How many orders wait for headers (all sources, or one). */
  waitingCount(source?: string): number {
    return source === undefined ? this.waiting.orders : (this.waiting.bySource.get(source)?.orders ?? 0);
  }

  /** Rebuilds open batches from the ledger after a restart. */
  async load(): Promise<void> {
    for await (const value of this.store.batches.values({ gte: 'batch!', lt: 'batch!~' })) {
      const s = JSON.parse(value) as StoredBatchState;
      if (s.report) {
        this.remember(s.id, s.report);
        continue;
      }
      const batch: OpenBatch = { id: s.id, source: s.source ?? '', orders: [], ids: new Set(), sumMinor: 0n, openedAtMs: s.openedAtMs };
      if (s.header) batch.header = { ...s.header, controlSumMinor: BigInt(s.header.controlSumMinor) };
      this.addOpen(batch);
    }
    for (const batch of this.open.values()) {
      for await (const value of this.store.batches.values({ gte: `pending!${batch.id}!`, lt: `pending!${batch.id}!~` })) {
        const p = JSON.parse(value) as { order: StoredOrder; receivedAtMs: number };
        this.addPending(batch, { order: loadOrder(p.order), receivedAtMs: p.receivedAtMs });
      }
    }
    // orders that were waiting for their header: stored with the buffer that took them, like pending ones
    for await (const [key, value] of this.store.batches.iterator({ gte: 'wait!', lt: 'wait!~' })) {
      const w = JSON.parse(value) as { order?: StoredOrder; orderId?: string; source: string; receivedAtMs: number; invalid?: true };
      const batchId = key.slice(5, key.lastIndexOf('!'));
      if (w.invalid) this.addWaiting(batchId, { order: invalidStub(w.orderId!, batchId, w.receivedAtMs), source: w.source, receivedAtMs: w.receivedAtMs, invalid: true });
      else this.addWaiting(batchId, { order: loadOrder(w.order!), source: w.source, receivedAtMs: w.receivedAtMs });
    }
  }

  private remember(id: string, report: BatchReport): void {
    this.finished.delete(id);
    this.finished.set(id, report);
    // finished reports stay in LevelDB; memory keeps the newest for the dashboard and fast duplicate answers
    while (this.finished.size > Math.max(this.limits.finishedShownMax, 1000)) {
      this.finished.delete(this.finished.keys().next().value!);
    }
  }

  private addPending(batch: OpenBatch, p: PendingOrder): void {
    batch.orders.push(p);
    batch.ids.add(p.order.id);
    batch.sumMinor += p.order.amountMinor ?? 0n;
  }

  private stateOps(batch: OpenBatch, plan: BatchPlan, report?: BatchReport): void {
    const state: StoredBatchState = { id: batch.id, openedAtMs: batch.openedAtMs };
    if (batch.source !== '') state.source = batch.source;
    if (batch.header) state.header = { ...batch.header, controlSumMinor: batch.header.controlSumMinor.toString() };
    if (report) state.report = report;
    plan.ops.push({ type: 'put', key: `batch!${batch.id}`, value: JSON.stringify(state) });
  }

  async findReport(batchId: string): Promise<BatchReport | undefined> {
    const cached = this.finished.get(batchId);
    if (cached) return cached;
    const text = await this.store.batches.get(`batch!${batchId}`);
    return text === undefined ? undefined : (JSON.parse(text) as StoredBatchState).report;
  }

  /** Sorts a buffer's items: ordinary ones, batch orders to hold back or to wait for headers, batches now complete. */
  plan(items: Item[], nowMs: number, finishedInLedger: Map<string, BatchReport>): BatchPlan {
    const plan: BatchPlan = { direct: [], complete: [], rejected: [], reports: [], deadLetters: [], ops: [] };
    const touched = new Set<OpenBatch>();
    const closing = new Set<string>();
    const close = (batch: OpenBatch): void => {
      this.closeOpen(batch.id);
      closing.add(batch.id);
      touched.delete(batch);
    };
    // a batch completes where its last piece arrives, so replays settle it at the same point in the stream
    const settleIfComplete = (batch: OpenBatch, msg: InboundMessage): void => {
      const h = batch.header;
      if (!h || batch.orders.length !== h.count || !this.open.has(batch.id)) return;
      close(batch);
      const where = { at: plan.direct.length, atMs: msg.receivedAtMs };
      const mismatch =
        batch.sumMinor !== h.controlSumMinor
          ? 'control_sum_mismatch'
          : batch.orders.some((p) => p.order.currency !== h.currency)
            ? 'currency_mismatch'
            : undefined;
      if (mismatch) plan.rejected.push({ batch, reason: mismatch, ...where });
      else
        plan.complete.push({
          batch,
          items: batch.orders.map((p) => ({ kind: 'order', msg: { subject: '', data: new Uint8Array(), receivedAtMs: p.receivedAtMs }, order: p.order })),
          ...where,
        });
    };
    /** Holds an order in its open batch; one beyond its count rejects the batch whole. */
    const hold = (batch: OpenBatch, order: Order, msg: InboundMessage, receivedAtMs: number): void => {
      if (batch.ids.has(order.id)) return; // redelivered: already held
      const cap = batch.header?.count ?? this.limits.batchOrdersMax;
      if (batch.orders.length >= cap) {
        plan.rejected.push({ batch, reason: 'count_exceeded', at: plan.direct.length, atMs: msg.receivedAtMs });
        plan.direct.push(overCount(msg, order.id, batch.id));
        close(batch);
        return;
      }
      this.addPending(batch, { order, receivedAtMs });
      plan.ops.push({
        type: 'put',
        key: `pending!${batch.id}!${pad(batch.orders.length)}`,
        value: JSON.stringify({ order: storeOrder(order), receivedAtMs }),
      });
      touched.add(batch);
      settleIfComplete(batch, msg);
    };
    const unknown = (msg: InboundMessage, orderId: string, batchId: string, message: string): Item => ({
      kind: 'rejected',
      msg,
      orderId,
      reason: 'batch_unknown',
      field: 'batchId',
      message,
      batchId,
    });
    const finishedReport = (id: string) =>
      this.finished.get(id) ?? finishedInLedger.get(id) ?? (closing.has(id) ? ({} as BatchReport) : undefined);

    for (const item of items) {
      if (item.kind === 'batch') {
        const rest = item.msg.subject.slice(this.batchSubjectPrefix.length);
        const { source, id: subjectId } = batchSubjectParts(rest) ?? { source: '', id: rest };
        const check = checkBatchHeader(item.raw, subjectId, this.limits.batchOrdersMax);
        const id = check.ok ? check.header.id : (check.id ?? subjectId);
        const done = finishedReport(id);
        if (done) {
          plan.reports.push({ batchId: id, report: { ...done, duplicate: true } });
          continue;
        }
        if (!check.ok) {
          plan.reports.push({ batchId: id, report: headerRejection(id, check.reason, check.message, nowMs) });
          plan.deadLetters.push(headerDeadLetter(item.msg, check.reason, check.message));
          continue;
        }
        const existing = this.open.get(id);
        if (existing?.header) {
          // a redelivered header; one from another source cannot take the batch over
          if (existing.source !== source) {
            plan.deadLetters.push(headerDeadLetter(item.msg, 'invalid_batch', `batch ${id} is already open for another source`));
          }
          continue;
        }
        let batch = existing;
        if (!batch) {
          const l = this.limits;
          const refusal =
            (this.openBySource.get(source) ?? 0) >= l.openBatchesPerSourceMax
              ? `at most ${l.openBatchesPerSourceMax} batches of one source may be open`
              : this.open.size >= l.openBatchesMax
                ? `at most ${l.openBatchesMax} batches may be open`
                : undefined;
          if (refusal) {
            plan.reports.push({ batchId: id, report: headerRejection(id, 'too_many_open_batches', refusal, nowMs) });
            continue;
          }
          batch = { id, source, orders: [], ids: new Set(), sumMinor: 0n, openedAtMs: item.msg.receivedAtMs };
          this.addOpen(batch);
        }
        batch.header = check.header;
        touched.add(batch);
        // the orders that came before their header join it now, in the order they came; an invalid one
        // among them makes the batch unusable, as it would have had it come after the header
        const waited = [...(this.waiting.byBatch.get(id)?.values() ?? [])];
        const opened = batch;
        const joins = (w: WaitingOrder) => opened.source === '' || w.source === opened.source;
        const spoiled = waited.some((w) => w.invalid && joins(w));
        for (const w of waited) {
          this.removeWaiting(id, w.order.id);
          plan.ops.push({ type: 'del', key: waitKey(id, w.order.id) });
          if (w.invalid) continue; // rejected on its own when it came
          const msg: InboundMessage = { subject: `${this.orderSubjectPrefix}${w.source}`, data: encoder.encode(JSON.stringify(orderToWire(w.order))), receivedAtMs: w.receivedAtMs };
          if (!joins(w)) {
            plan.direct.push(unknown(msg, w.order.id, id, `batch ${id} was opened by another source`));
          } else if (spoiled) {
            if (!batch.ids.has(w.order.id)) this.addPending(batch, { order: w.order, receivedAtMs: w.receivedAtMs });
          } else if (this.open.has(id)) {
            hold(batch, w.order, msg, w.receivedAtMs);
          } else {
            // the batch closed (over its count) while its waiting orders joined: the rest go with it
            plan.direct.push(overCount(msg, w.order.id, id));
          }
        }
        if (spoiled) {
          plan.rejected.push({ batch, reason: 'invalid_member', at: plan.direct.length, atMs: item.msg.receivedAtMs });
          close(batch);
          continue;
        }
        settleIfComplete(batch, item.msg);
        continue;
      }
      const batchId = item.kind === 'order' ? item.order.batchId : item.kind === 'rejected' ? item.batchId : undefined;
      if (batchId === undefined || item.kind === 'dead') {
        plan.direct.push(item);
        continue;
      }
      if (finishedReport(batchId)) {
        // an order of a finished batch: its original result if it was part of it, else rejected
        plan.direct.push(
          item.kind === 'order'
            ? { kind: 'rejected', msg: item.msg, orderId: item.order.id, reason: 'batch_closed', field: 'batchId', message: 'the batch is finished', batchId }
            : item,
        );
        continue;
      }
      const source = this.orderSource(item.msg.subject);
      const batch = this.open.get(batchId);
      if (batch && batch.source !== '' && batch.source !== source) {
        // a batch of a named source takes its own source's orders only: nobody else can fill or spoil it
        plan.direct.push(item.kind === 'order' ? unknown(item.msg, item.order.id, batchId, `batch ${batchId} is not open for this source`) : item);
        continue;
      }
      if (!batch) {
        if (item.kind === 'rejected') {
          // rejected on its own now; it waits too (bounded like any), to spoil the batch if its header comes
          plan.direct.push(item);
          if (this.waiting.byBatch.get(batchId)?.has(item.orderId) || this.waitRefusal(source, batchId)) continue;
          this.addWaiting(batchId, { order: invalidStub(item.orderId, batchId, item.msg.receivedAtMs), source, receivedAtMs: item.msg.receivedAtMs, invalid: true });
          plan.ops.push({
            type: 'put',
            key: waitKey(batchId, item.orderId),
            value: JSON.stringify({ orderId: item.orderId, source, receivedAtMs: item.msg.receivedAtMs, invalid: true }),
          });
          continue;
        }
        if (this.waiting.byBatch.get(batchId)?.has(item.order.id)) continue; // redelivered: already waiting
        const refusal = this.waitRefusal(source, batchId);
        if (refusal) {
          plan.direct.push(unknown(item.msg, item.order.id, batchId, refusal));
          continue;
        }
        this.addWaiting(batchId, { order: item.order, source, receivedAtMs: item.msg.receivedAtMs });
        plan.ops.push({
          type: 'put',
          key: waitKey(batchId, item.order.id),
          value: JSON.stringify({ order: storeOrder(item.order), source, receivedAtMs: item.msg.receivedAtMs }),
        });
        continue;
      }
      if (item.kind === 'rejected') {
        // an invalid member makes the batch unusable: it is rejected whole, this order with it
        plan.direct.push(item);
        plan.rejected.push({ batch, reason: 'invalid_member', at: plan.direct.length, atMs: item.msg.receivedAtMs });
        close(batch);
        continue;
      }
      hold(batch, item.order, item.msg, item.msg.receivedAtMs);
    }

    for (const batch of touched) if (this.open.has(batch.id)) this.stateOps(batch, plan);
    return plan;
  }

  /** Applies the completed batches and rejections that sit at position `at` (all when undefined). */
  settle(
    plan: BatchPlan,
    ws: WorkingSet,
    contextFor: (item: OrderItem) => ApplyContext,
    riskFor: (item: OrderItem) => RiskDecision,
    nowFor: (atMs: number) => number,
    at?: number,
  ): void {
    const finish = (batch: OpenBatch, report: BatchReport): void => {
      plan.reports.push({ batchId: batch.id, report });
      this.stateOps(batch, plan, report);
      for (let i = 1; i <= batch.orders.length; i++) plan.ops.push({ type: 'del', key: `pending!${batch.id}!${pad(i)}` });
      this.remember(batch.id, report);
    };
    for (const entry of plan.complete) {
      if (at !== undefined && entry.at !== at) continue;
      // a batch's orders are applied when the batch is complete: their latency counts from that moment,
      // not from each order's arrival (they waited for the batch by design)
      const members = entry.items.map((item) => {
        const atCompletion: OrderItem = { ...item, msg: { ...item.msg, receivedAtMs: entry.atMs } };
        return { order: item.order, ctx: contextFor(atCompletion), risk: riskFor(atCompletion) };
      });
      finish(entry.batch, applyBatch(ws, entry.batch.header!, members, nowFor(entry.atMs)));
    }
    for (const { batch, reason, at: where, atMs } of plan.rejected) {
      if (at !== undefined && where !== at) continue;
      const header = batch.header ?? { id: batch.id, count: batch.orders.length, currency: batch.orders[0]?.order.currency ?? 'USD' };
      const members = batch.orders.map((p) => ({
        order: p.order,
        ctx: contextFor({ kind: 'order', msg: { subject: '', data: new Uint8Array(), receivedAtMs: p.receivedAtMs }, order: p.order }),
      }));
      const report = rejectBatch(ws, header, members, reason === 'invalid_member' ? 'batch_rejected' : reason, nowFor(atMs));
      report.reason = reason;
      finish(batch, report);
    }
  }

  /** Ids of batches whose time is up. */
  overdue(nowMs: number): string[] {
    return [...this.open.values()].filter((b) => nowMs - b.openedAtMs > this.limits.batchTimeoutMs).map((b) => b.id);
  }

  /** Waiting orders whose header did not come in time, oldest first, at most WAITING_SWEEP_MAX. */
  expiredWaiting(nowMs: number): { batchId: string; w: WaitingOrder }[] {
    const out: { batchId: string; w: WaitingOrder }[] = [];
    for (const [batchId, forBatch] of this.waiting.byBatch) {
      for (const w of forBatch.values()) {
        if (nowMs - w.receivedAtMs > this.limits.unknownBatchWaitMs) out.push({ batchId, w });
      }
    }
    return out.sort((a, b) => a.w.receivedAtMs - b.w.receivedAtMs).slice(0, WAITING_SWEEP_MAX);
  }

  /** Whether a sweep has anything to do: a batch open too long, or an order that waited too long (first found). */
  private sweepDue(nowMs: number): boolean {
    for (const b of this.open.values()) if (nowMs - b.openedAtMs > this.limits.batchTimeoutMs) return true;
    for (const forBatch of this.waiting.byBatch.values()) {
      for (const w of forBatch.values()) if (nowMs - w.receivedAtMs > this.limits.unknownBatchWaitMs) return true;
    }
    return false;
  }

  /**
   * Through the store's write lock: rejects batches open too long, whole (batch_incomplete), and orders that
   * waited for a header in vain (batch_unknown). Returns the reports and the orders' results to publish.
   */
  async sweep(nowMs: number, options: ApplyOptions): Promise<{ reports: AppliedBuffer['reports']; results: OrderResult[] }> {
    if (!this.sweepDue(nowMs)) return { reports: [], results: [] };
    return this.store.exclusive(async () => {
      const plan: BatchPlan = { direct: [], complete: [], rejected: [], reports: [], deadLetters: [], ops: [] };
      for (const id of this.overdue(nowMs)) {
        const batch = this.open.get(id)!;
        this.closeOpen(id);
        plan.rejected.push({ batch, reason: 'batch_incomplete', at: 0, atMs: nowMs });
      }
      const expired = this.expiredWaiting(nowMs);
      const ws = await this.store.prefetch(
        plan.rejected.flatMap(({ batch }) => batch.orders.map((p) => p.order)),
        expired.map(({ w }) => w.order.id),
      );
      this.settle(plan, ws, (item) => ({ nowMs, receivedAtMs: item.msg.receivedAtMs, options }), () => ({ outcome: 'allow' }), () => nowMs);
      for (const { batchId, w } of expired) {
        this.removeWaiting(batchId, w.order.id);
        plan.ops.push({ type: 'del', key: waitKey(batchId, w.order.id) });
        // an invalid one has its own rejection already
        if (!w.invalid) applyRejection(ws, { id: w.order.id, batchId }, 'batch_unknown', 'batchId', { nowMs, receivedAtMs: w.receivedAtMs, options });
      }
      await this.store.commit(ws, this.ops(plan));
      return { reports: plan.reports, results: ws.published };
    });
  }

  ops(plan: BatchPlan): Parameters<LedgerStore['commit']>[1] {
    return plan.ops.map((op) =>
      op.type === 'put'
        ? { type: 'put' as const, sublevel: this.store.batches, key: op.key, value: op.value! }
        : { type: 'del' as const, sublevel: this.store.batches, key: op.key },
    );
  }

  /** Batch ids a buffer mentions that are not open here: their finished reports may be in the ledger. */
  unknownBatchIds(items: Item[]): string[] {
    const ids = new Set<string>();
    for (const item of items) {
      const id =
        item.kind === 'order'
          ? item.order.batchId
          : item.kind === 'rejected'
            ? item.batchId
            : item.kind === 'batch' && typeof item.raw.id === 'string'
              ? item.raw.id
              : undefined;
      if (id !== undefined && !this.open.has(id) && !this.finished.has(id)) ids.add(id);
    }
    return [...ids];
  }

  async reportsFromLedger(ids: string[]): Promise<Map<string, BatchReport>> {
    const found = new Map<string, BatchReport>();
    if (ids.length === 0) return found;
    const texts = await this.store.batches.getMany(ids.map((id) => `batch!${id}`));
    ids.forEach((id, i) => {
      const text = texts[i];
      const report = text === undefined ? undefined : (JSON.parse(text) as StoredBatchState).report;
      if (report) found.set(id, report);
    });
    return found;
  }

  progress(): BatchProgress[] {
    const open: BatchProgress[] = [...this.open.values()].map((b) => ({
      batchId: b.id,
      mode: b.header?.mode ?? 'independent',
      currency: b.header?.currency ?? b.orders[0]?.order.currency ?? '',
      count: b.header?.count ?? 0,
      seen: b.orders.length,
      controlSumMinor: b.header?.controlSumMinor ?? 0n,
      sumSoFarMinor: b.sumMinor,
      state: 'open',
    }));
    const done = [...this.finished.values()].slice(-this.limits.finishedShownMax).reverse();
    return [
      ...open,
      ...done.slice(0, 10).map((r): BatchProgress => ({
        batchId: r.batchId,
        mode: r.mode === 'atomic' ? 'atomic' : 'independent',
        currency: r.currency ?? '',
        count: r.count,
        seen: r.received,
        controlSumMinor: minorOf(r.controlSum, r.currency),
        sumSoFarMinor: minorOf(r.receivedSum, r.currency),
        state: r.status === 'completed' ? 'done' : r.status === 'declined' ? 'declined' : 'rejected',
      })),
    ];
  }

  openBatches(): { id: string; source?: string; header?: BatchHeader; received: number; sumMinor: bigint; openedAtMs: number }[] {
    return [...this.open.values()].map((b) => {
      const view: { id: string; source?: string; header?: BatchHeader; received: number; sumMinor: bigint; openedAtMs: number } = {
        id: b.id,
        received: b.orders.length,
        sumMinor: b.sumMinor,
        openedAtMs: b.openedAtMs,
      };
      if (b.source !== '') view.source = b.source;
      if (b.header) view.header = b.header;
      return view;
    });
  }
}

function minorOf(amount: string | undefined, currency: string | undefined): bigint {
  if (amount === undefined || currency === undefined) return 0n;
  const parsed = parseAmount(amount, currency);
  return parsed.ok ? parsed.amountMinor : 0n;
}

function headerRejection(batchId: string, reason: string, message: string, nowMs: number): BatchReport & { message: string } {
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

/** An order beyond its batch's count: rejected with the batch (which is rejected whole, count_exceeded). */
function overCount(msg: InboundMessage, orderId: string, batchId: string): Item {
  return { kind: 'rejected', msg, orderId, reason: 'batch_rejected', field: 'batchId', message: 'more orders than the batch count', batchId };
}

/** A refused header's dead letter, traceable to its message by stream sequence; its payload is scrubbed in the apply stage. */
function headerDeadLetter(msg: InboundMessage, reason: string, detail: string): DeadLetter {
  const letter: DeadLetter = { reason, detail, subject: msg.subject, payload: msg.data };
  if (msg.streamSeq !== undefined) letter.streamSeq = msg.streamSeq;
  return letter;
}
