// The batches a processor holds in memory: open batches with their orders, orders waiting for a header, and
// the newest finished reports; plain bookkeeping within the bounds of BatchLimits, no I/O.

import { parseAmount } from './money.ts';
import type { BatchHeader, BatchReport } from './batch.ts';
import type { BatchLimits } from './batch-limits.ts';
import type { Order } from './types.ts';
import type { BatchProgress } from '../metrics/aggregator.ts';

/** An order held in its open batch until the batch is complete. */
export interface PendingOrder {
  order: Order;
  receivedAtMs: number;
}

export interface OpenBatch {
  id: string;
  /** the header's subject token ('' for pay.batches.<batchId>: takes orders from any source) */
  source: string;
  /** absent only in batches stored before a header was needed to open one */
  header?: BatchHeader;
  /** in the order they came; position i (1-based) is the order's place in the ledger */
  orders: PendingOrder[];
  ids: Set<string>;
  sumMinor: bigint;
  openedAtMs: number;
}

/** An order naming a batch no header has opened yet. */
export interface WaitingOrder {
  order: Order;
  source: string;
  receivedAtMs: number;
  /** an invalid order naming the batch (already rejected on its own): it spoils the batch its header opens */
  invalid?: true;
}

/** What is kept of a batch, open or finished, under its id. */
export interface BatchState {
  id: string;
  source: string;
  header?: BatchHeader;
  openedAtMs: number;
  report?: BatchReport;
}

/** An open batch as the service and the CLI list it. */
export interface OpenBatchView {
  id: string;
  source?: string;
  header?: BatchHeader;
  received: number;
  sumMinor: bigint;
  openedAtMs: number;
}

/** An item of a buffer, as far as the book reads it (streams/types.ts Item is one). */
export type BatchIdCarrier =
  | { kind: 'order'; order: Pick<Order, 'batchId'> }
  | { kind: 'rejected'; batchId?: string }
  | { kind: 'dead' }
  | { kind: 'batch'; raw: Record<string, unknown> };

/** What is kept of an invalid order waiting for its batch: its id (no amount: it is never applied). */
export const invalidStub = (id: string, batchId: string, atMs: number): Order => ({
  id,
  type: 'payment',
  batchId,
  createdAtMs: atMs,
});

/**
 * Finished reports memory keeps at least (more when finishedShownMax is larger), so duplicates of recent
 * batches are answered without a ledger read; every report stays in the ledger.
 */
export const FINISHED_REMEMBERED_MIN = 1000;
/** Finished batches the dashboard's progress shows, newest first. */
export const FINISHED_PROGRESS_MAX = 10;
/** Most waiting orders one sweep rejects (the rest go in the next sweep). */
export const WAITING_SWEEP_ORDERS_MAX = 5000;

export class BatchBook {
  private readonly open = new Map<string, OpenBatch>();
  /** open batches by source, counted for the per-source bound */
  private readonly openBySource = new Map<string, number>();
  private readonly waitingByBatch = new Map<string, Map<string, WaitingOrder>>();
  private readonly waitingBySource = new Map<string, { orders: number; batches: Map<string, number> }>();
  private waitingOrders = 0;
  /** finished batches, newest last, bounded: their reports, for duplicates and the dashboard */
  private readonly finished = new Map<string, BatchReport>();

  constructor(readonly limits: BatchLimits) {}

  openBatch(id: string): OpenBatch | undefined {
    return this.open.get(id);
  }

  isOpen(id: string): boolean {
    return this.open.has(id);
  }

  addOpen(batch: OpenBatch): void {
    this.open.set(batch.id, batch);
    this.openBySource.set(batch.source, (this.openBySource.get(batch.source) ?? 0) + 1);
  }

  closeOpen(id: string): void {
    const batch = this.open.get(id);
    if (!batch) return;
    this.open.delete(id);
    const n = (this.openBySource.get(batch.source) ?? 1) - 1;
    if (n > 0) this.openBySource.set(batch.source, n);
    else this.openBySource.delete(batch.source);
  }

  /** Why `source` cannot open another batch (too_many_open_batches), or undefined when it can. */
  openRefusal(source: string): string | undefined {
    const l = this.limits;
    if ((this.openBySource.get(source) ?? 0) >= l.openBatchesPerSourceMax)
      return `at most ${l.openBatchesPerSourceMax} batches of one source may be open`;
    if (this.open.size >= l.openBatchesMax) return `at most ${l.openBatchesMax} batches may be open`;
    return undefined;
  }

  addPending(batch: OpenBatch, pending: PendingOrder): void {
    batch.orders.push(pending);
    batch.ids.add(pending.order.id);
    batch.sumMinor += pending.order.amountMinor ?? 0n;
  }

  /** The orders waiting for `batchId`'s header, in the order they came. */
  waitingFor(batchId: string): WaitingOrder[] {
    return [...(this.waitingByBatch.get(batchId)?.values() ?? [])];
  }

  isWaiting(batchId: string, orderId: string): boolean {
    return this.waitingByBatch.get(batchId)?.has(orderId) ?? false;
  }

  /** Why an order of `source` naming `batchId` cannot wait (batch_unknown at once), or undefined when it can. */
  waitRefusal(source: string, batchId: string): string | undefined {
    const mine = this.waitingBySource.get(source);
    const l = this.limits;
    if (this.waitingOrders >= l.waitingOrdersMax)
      return `no batch ${batchId} is open, and ${l.waitingOrdersMax} orders already wait for headers`;
    if ((mine?.orders ?? 0) >= l.waitingOrdersPerSourceMax) {
      return `no batch ${batchId} is open, and ${l.waitingOrdersPerSourceMax} orders of this source already wait for headers`;
    }
    if (!mine?.batches.has(batchId) && (mine?.batches.size ?? 0) >= l.waitingBatchesPerSourceMax) {
      return `no batch ${batchId} is open, and this source's orders already wait for ${l.waitingBatchesPerSourceMax} batch headers`;
    }
    return undefined;
  }

  addWaiting(batchId: string, waiting: WaitingOrder): void {
    const forBatch = this.waitingByBatch.get(batchId) ?? new Map<string, WaitingOrder>();
    this.waitingByBatch.set(batchId, forBatch);
    forBatch.set(waiting.order.id, waiting);
    const mine = this.waitingBySource.get(waiting.source) ?? {
      orders: 0,
      batches: new Map<string, number>(),
    };
    this.waitingBySource.set(waiting.source, mine);
    mine.orders++;
    mine.batches.set(batchId, (mine.batches.get(batchId) ?? 0) + 1);
    this.waitingOrders++;
  }

  removeWaiting(batchId: string, orderId: string): void {
    const forBatch = this.waitingByBatch.get(batchId);
    const waiting = forBatch?.get(orderId);
    if (!forBatch || !waiting) return;
    forBatch.delete(orderId);
    if (forBatch.size === 0) this.waitingByBatch.delete(batchId);
    const mine = this.waitingBySource.get(waiting.source)!;
    mine.orders--;
    const n = (mine.batches.get(batchId) ?? 1) - 1;
    if (n > 0) mine.batches.set(batchId, n);
    else mine.batches.delete(batchId);
    if (mine.orders === 0) this.waitingBySource.delete(waiting.source);
    this.waitingOrders--;
  }

  /** How many orders wait for headers (all sources, or one). */
  waitingCount(source?: string): number {
    return source === undefined ? this.waitingOrders : (this.waitingBySource.get(source)?.orders ?? 0);
  }

  remember(id: string, report: BatchReport): void {
    this.finished.delete(id);
    this.finished.set(id, report);
    while (this.finished.size > Math.max(this.limits.finishedShownMax, FINISHED_REMEMBERED_MIN)) {
      this.finished.delete(this.finished.keys().next().value!);
    }
  }

  finishedReport(id: string): BatchReport | undefined {
    return this.finished.get(id);
  }

  /** Ids of batches whose time is up (batchTimeoutMs), in the order they were opened. */
  overdue(nowMs: number): string[] {
    return [...this.open.values()]
      .filter((b) => nowMs - b.openedAtMs > this.limits.batchTimeoutMs)
      .map((b) => b.id);
  }

  /** Waiting orders whose header did not come in time (unknownBatchWaitMs), oldest first, at most WAITING_SWEEP_ORDERS_MAX. */
  expiredWaiting(nowMs: number): { batchId: string; waiting: WaitingOrder }[] {
    const out: { batchId: string; waiting: WaitingOrder }[] = [];
    for (const [batchId, forBatch] of this.waitingByBatch) {
      for (const waiting of forBatch.values()) {
        if (nowMs - waiting.receivedAtMs > this.limits.unknownBatchWaitMs) out.push({ batchId, waiting });
      }
    }
    return out
      .sort((a, b) => a.waiting.receivedAtMs - b.waiting.receivedAtMs)
      .slice(0, WAITING_SWEEP_ORDERS_MAX);
  }

  /** Whether a sweep has anything to do: a batch open too long, or an order that waited too long (stops at the first). */
  sweepDue(nowMs: number): boolean {
    for (const b of this.open.values()) if (nowMs - b.openedAtMs > this.limits.batchTimeoutMs) return true;
    for (const forBatch of this.waitingByBatch.values()) {
      for (const w of forBatch.values())
        if (nowMs - w.receivedAtMs > this.limits.unknownBatchWaitMs) return true;
    }
    return false;
  }

  /** Batch ids a buffer mentions that are neither open nor remembered: their finished reports may be in the ledger. */
  unknownBatchIds(items: readonly BatchIdCarrier[]): string[] {
    const ids = new Set<string>();
    for (const item of items) {
      const id = batchIdOf(item);
      if (id !== undefined && !this.open.has(id) && !this.finished.has(id)) ids.add(id);
    }
    return [...ids];
  }

  /** The dashboard's view: open batches, then the newest finished ones. */
  progress(): BatchProgress[] {
    const open = [...this.open.values()].map(openProgress);
    const done = [...this.finished.values()].slice(-this.limits.finishedShownMax).reverse();
    return [...open, ...done.slice(0, FINISHED_PROGRESS_MAX).map(finishedProgress)];
  }

  openBatches(): OpenBatchView[] {
    return [...this.open.values()].map((b) => {
      const view: OpenBatchView = {
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

/** The batch id an item names: an order's or a rejected order's batchId, a header's id; none for a dead letter. */
function batchIdOf(item: BatchIdCarrier): string | undefined {
  if (item.kind === 'order') return item.order.batchId;
  if (item.kind === 'rejected') return item.batchId;
  if (item.kind === 'batch' && typeof item.raw.id === 'string') return item.raw.id;
  return undefined;
}

function openProgress(b: OpenBatch): BatchProgress {
  return {
    batchId: b.id,
    mode: b.header?.mode ?? 'independent',
    currency: b.header?.currency ?? b.orders[0]?.order.currency ?? '',
    count: b.header?.count ?? 0,
    seen: b.orders.length,
    controlSumMinor: b.header?.controlSumMinor ?? 0n,
    sumSoFarMinor: b.sumMinor,
    state: 'open',
  };
}

function finishedProgress(r: BatchReport): BatchProgress {
  return {
    batchId: r.batchId,
    mode: r.mode === 'atomic' ? 'atomic' : 'independent',
    currency: r.currency ?? '',
    count: r.count,
    seen: r.received,
    controlSumMinor: minorOf(r.controlSum, r.currency),
    sumSoFarMinor: minorOf(r.receivedSum, r.currency),
    state: r.status === 'completed' ? 'done' : r.status === 'declined' ? 'declined' : 'rejected',
  };
}

function minorOf(amount: string | undefined, currency: string | undefined): bigint {
  if (amount === undefined || currency === undefined) return 0n;
  const parsed = parseAmount(amount, currency);
  return parsed.ok ? parsed.amountMinor : 0n;
}
