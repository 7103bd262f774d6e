// Batch stage: holds orders of open batches (persisted in the same LevelDB write as the buffer, so acks
// never outrun them) until their header's count is reached, then applies them atomically or independently.

import { type BatchHeader, type BatchReport, applyBatch, checkBatchHeader, rejectBatch } from '../src/domain/batch.ts';
import type { ApplyContext, ApplyOptions, RiskVerdict, WorkingSet } from '../src/domain/ledger.ts';
import { parseAmount } from '../src/domain/money.ts';
import type { Order } from '../src/domain/types.ts';
import { loadOrder, storeOrder, type StoredOrder } from '../src/ledger/codec.ts';
import type { LedgerStore } from '../src/ledger/store.ts';
import type { BatchProgress } from '../src/domain/metrics.ts';
import { type Topology, subjects } from '../src/nats/setup.ts';
import type { AppliedBuffer, DeadLetter, InboundMessage, Item, OrderItem } from './types.ts';

export interface BatchLimits {
  /** most orders in one batch @default 10_000 */
  batchOrdersMax: number;
  /** most batches open at once (header or orders seen, not complete) @default 100 */
  openBatchesMax: number;
  /** an open batch not complete after this is rejected whole @default 300_000 */
  batchTimeoutMs: number;
  /** finished batches remembered in memory for the dashboard @default 50 */
  finishedShownMax: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  batchOrdersMax: 10_000,
  openBatchesMax: 100,
  batchTimeoutMs: 300_000,
  finishedShownMax: 50,
};

interface PendingOrder {
  order: Order;
  receivedAtMs: number;
}

interface OpenBatch {
  id: string;
  header?: BatchHeader;
  orders: PendingOrder[];
  ids: Set<string>;
  sumMinor: bigint;
  openedAtMs: number;
}

interface StoredBatchState {
  id: string;
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

export class BatchTracker {
  private readonly open = new Map<string, OpenBatch>();
  /** finished batches, newest last, bounded: their reports, for duplicates and the dashboard */
  private readonly finished = new Map<string, BatchReport>();
  private readonly batchSubjectPrefix: string;

  constructor(
    private readonly store: LedgerStore,
    readonly limits: BatchLimits,
    topology: Pick<Topology, 'prefix'>,
  ) {
    this.batchSubjectPrefix = `${subjects(topology).batches}.`;
  }

  /** Rebuilds open batches from the ledger after a restart. */
  async load(): Promise<void> {
    for await (const [key, value] of this.store.batches.iterator({ gte: 'batch!', lt: 'batch!~' })) {
      const s = JSON.parse(value) as StoredBatchState;
      if (s.report) {
        this.remember(s.id, s.report);
        continue;
      }
      const batch: OpenBatch = { id: s.id, orders: [], ids: new Set(), sumMinor: 0n, openedAtMs: s.openedAtMs };
      if (s.header) batch.header = { ...s.header, controlSumMinor: BigInt(s.header.controlSumMinor) };
      this.open.set(key.slice(6), batch);
    }
    for (const batch of this.open.values()) {
      for await (const value of this.store.batches.values({ gte: `pending!${batch.id}!`, lt: `pending!${batch.id}!~` })) {
        const p = JSON.parse(value) as { order: StoredOrder; receivedAtMs: number };
        this.addPending(batch, { order: loadOrder(p.order), receivedAtMs: p.receivedAtMs });
      }
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

  /** Sorts a buffer's items: ordinary ones, batch orders to hold back, batches now complete. */
  plan(items: Item[], nowMs: number, finishedInLedger: Map<string, BatchReport>): BatchPlan {
    const plan: BatchPlan = { direct: [], complete: [], rejected: [], reports: [], deadLetters: [], ops: [] };
    const touched = new Set<OpenBatch>();
    // a batch completes where its last piece arrives, so replays settle it at the same point in the stream
    const settleIfComplete = (batch: OpenBatch, msg: InboundMessage): void => {
      const h = batch.header;
      if (!h || batch.orders.length !== h.count || !this.open.has(batch.id)) return;
      this.open.delete(batch.id);
      closing.add(batch.id);
      touched.delete(batch);
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
    const openBatch = (id: string, msg: InboundMessage): OpenBatch | string => {
      const existing = this.open.get(id);
      if (existing) return existing;
      if (this.open.size >= this.limits.openBatchesMax) return 'too_many_open_batches';
      const batch: OpenBatch = { id, orders: [], ids: new Set(), sumMinor: 0n, openedAtMs: msg.receivedAtMs };
      this.open.set(id, batch);
      return batch;
    };
    const closing = new Set<string>();
    const finishedReport = (id: string) =>
      this.finished.get(id) ?? finishedInLedger.get(id) ?? (closing.has(id) ? ({} as BatchReport) : undefined);

    for (const item of items) {
      if (item.kind === 'batch') {
        const subjectId = item.msg.subject.slice(this.batchSubjectPrefix.length);
        const check = checkBatchHeader(item.raw, subjectId, this.limits.batchOrdersMax);
        const id = check.ok ? check.header.id : (check.id ?? subjectId);
        const done = finishedReport(id);
        if (done) {
          plan.reports.push({ batchId: id, report: { ...done, duplicate: true } });
          continue;
        }
        if (!check.ok) {
          plan.reports.push({ batchId: id, report: headerRejection(id, check.reason, check.message, nowMs) });
          plan.deadLetters.push({ reason: check.reason, detail: check.message, subject: item.msg.subject, payload: item.msg.data });
          continue;
        }
        const batch = openBatch(id, item.msg);
        if (typeof batch === 'string') {
          plan.reports.push({ batchId: id, report: headerRejection(id, batch, `at most ${this.limits.openBatchesMax} batches may be open`, nowMs) });
          continue;
        }
        if (batch.header) continue; // a redelivered header
        batch.header = check.header;
        touched.add(batch);
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
      const batch = openBatch(batchId, item.msg);
      if (typeof batch === 'string') {
        plan.direct.push({ kind: 'rejected', msg: item.msg, orderId: item.kind === 'order' ? item.order.id : item.orderId, reason: batch, field: 'batchId', message: 'too many open batches' });
        continue;
      }
      if (item.kind === 'rejected') {
        // an invalid member makes the batch unusable: it is rejected whole, this order with it
        plan.direct.push(item);
        plan.rejected.push({ batch, reason: 'invalid_member', at: plan.direct.length, atMs: item.msg.receivedAtMs });
        this.open.delete(batch.id);
        closing.add(batch.id);
        continue;
      }
      if (batch.ids.has(item.order.id)) continue; // redelivered: already held
      const cap = batch.header?.count ?? this.limits.batchOrdersMax;
      if (batch.orders.length >= cap) {
        plan.rejected.push({ batch, reason: 'count_exceeded', at: plan.direct.length, atMs: item.msg.receivedAtMs });
        plan.direct.push({ kind: 'rejected', msg: item.msg, orderId: item.order.id, reason: 'batch_rejected', field: 'batchId', message: 'more orders than the batch count', batchId });
        this.open.delete(batch.id);
        closing.add(batch.id);
        continue;
      }
      this.addPending(batch, { order: item.order, receivedAtMs: item.msg.receivedAtMs });
      plan.ops.push({
        type: 'put',
        key: `pending!${batch.id}!${pad(batch.orders.length)}`,
        value: JSON.stringify({ order: storeOrder(item.order), receivedAtMs: item.msg.receivedAtMs }),
      });
      touched.add(batch);
      settleIfComplete(batch, item.msg);
    }

    for (const batch of touched) if (this.open.has(batch.id)) this.stateOps(batch, plan);
    return plan;
  }

  /** Applies the completed batches and rejections that sit at position `at` (all when undefined). */
  settle(
    plan: BatchPlan,
    ws: WorkingSet,
    contextFor: (item: OrderItem) => ApplyContext,
    riskFor: (item: OrderItem) => RiskVerdict,
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

  /** Rejects batches open too long, whole, through the store's write lock. */
  async sweep(nowMs: number, options: ApplyOptions): Promise<{ batchId: string; report: unknown }[]> {
    if (this.overdue(nowMs).length === 0) return [];
    return this.store.exclusive(async () => {
      const plan: BatchPlan = { direct: [], complete: [], rejected: [], reports: [], deadLetters: [], ops: [] };
      for (const id of this.overdue(nowMs)) {
        const batch = this.open.get(id)!;
        this.open.delete(id);
        plan.rejected.push({ batch, reason: 'batch_incomplete', at: 0, atMs: nowMs });
      }
      const ws = await this.store.prefetch(plan.rejected.flatMap(({ batch }) => batch.orders.map((p) => p.order)));
      this.settle(plan, ws, (item) => ({ nowMs, receivedAtMs: item.msg.receivedAtMs, options }), () => ({ outcome: 'allow' }), () => nowMs);
      await this.store.commit(ws, this.ops(plan));
      return plan.reports;
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

  openBatches(): { id: string; header?: BatchHeader; received: number; sumMinor: bigint; openedAtMs: number }[] {
    return [...this.open.values()].map((b) => {
      const view: { id: string; header?: BatchHeader; received: number; sumMinor: bigint; openedAtMs: number } = {
        id: b.id,
        received: b.orders.length,
        sumMinor: b.sumMinor,
        openedAtMs: b.openedAtMs,
      };
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
