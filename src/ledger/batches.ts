// Batch persistence and the batch stage's state: the batches sublevel's keys (a batch's state, the orders its
// open batch holds, the orders waiting for its header), read and written only here, and the BatchTracker the
// pipeline uses, which keeps the domain's BatchBook in step with the ledger. Held and waiting orders are
// written with the buffer that took them, so acks never outrun them.
//
// Keys: `batch!<batchId>` -> StoredBatchState; `pending!<batchId>!<position, 6 digits>` -> StoredPending;
// `wait!<batchId>!<orderId>` -> StoredWaiting.

import type { ApplyContext, ApplyOptions, WorkingSet } from '../domain/apply.ts';
import type { BatchHeader, BatchReport } from '../domain/batch.ts';
import {
  BatchBook,
  type BatchState,
  type OpenBatch,
  type OpenBatchView,
  type WaitingOrder,
  invalidStub,
} from '../domain/batch-book.ts';
import { type BatchLimits, parseBatchLimits } from '../domain/batch-limits.ts';
import {
  type BatchChange,
  type BatchInputItem,
  type BatchOrderItem,
  type BatchPlan,
  type BatchSubjects,
  planBatches,
} from '../domain/batch-plan.ts';
import { type SettledPlan, planSweep, rejectExpiredWaiting, settleBatches } from '../domain/batch-settle.ts';
import { ALLOW, type RiskDecision } from '../domain/risk/decision.ts';
import type { OrderResult } from '../domain/types.ts';
import type { BatchProgress } from '../metrics/aggregator.ts';
import { type Topology, subjects } from '../nats/topology.ts';
import { type StoredOrder, loadOrder, storeOrder } from './codec.ts';
import type { LedgerStore } from './store.ts';
import type { BatchOp, Sub } from './sublevels.ts';

/**
 * A batch as stored: `source` absent for the unnamed source (and in batches stored before sources), the
 * header's control sum a decimal string of minor units, `report` once the batch is finished.
 */
export interface StoredBatchState {
  id: string;
  source?: string;
  header?: Omit<BatchHeader, 'controlSumMinor'> & { controlSumMinor: string };
  openedAtMs: number;
  report?: BatchReport;
}

/** An order an open batch holds. */
interface StoredPending {
  order: StoredOrder;
  receivedAtMs: number;
}

/** An order waiting for its batch's header; of an invalid one (rejected on its own) only its id is kept. */
type StoredWaiting =
  | { order: StoredOrder; source: string; receivedAtMs: number; invalid?: undefined }
  | { orderId: string; source: string; receivedAtMs: number; invalid: true };

const BATCH_PREFIX = 'batch!';
const WAIT_PREFIX = 'wait!';
/** Closes a key range: '~' sorts after every character of a batch or order id ([A-Za-z0-9_-]) and of '!'. */
const RANGE_END = '~';
const batchKey = (batchId: string): string => `${BATCH_PREFIX}${batchId}`;
const pendingPrefix = (batchId: string): string => `pending!${batchId}!`;
const pendingKey = (batchId: string, position: number): string =>
  `${pendingPrefix(batchId)}${position.toString().padStart(6, '0')}`;
const waitKey = (batchId: string, orderId: string): string => `${WAIT_PREFIX}${batchId}!${orderId}`;

function encodeState(s: BatchState): string {
  const stored: StoredBatchState = { id: s.id, openedAtMs: s.openedAtMs };
  if (s.source !== '') stored.source = s.source;
  if (s.header) stored.header = { ...s.header, controlSumMinor: s.header.controlSumMinor.toString() };
  if (s.report) stored.report = s.report;
  return JSON.stringify(stored);
}

function decodeState(stored: StoredBatchState): BatchState {
  const state: BatchState = { id: stored.id, source: stored.source ?? '', openedAtMs: stored.openedAtMs };
  if (stored.header)
    state.header = { ...stored.header, controlSumMinor: BigInt(stored.header.controlSumMinor) };
  if (stored.report) state.report = stored.report;
  return state;
}

function encodeWaiting(w: WaitingOrder): string {
  const stored: StoredWaiting = w.invalid
    ? { orderId: w.order.id, source: w.source, receivedAtMs: w.receivedAtMs, invalid: true }
    : { order: storeOrder(w.order), source: w.source, receivedAtMs: w.receivedAtMs };
  return JSON.stringify(stored);
}

function decodeWaiting(batchId: string, stored: StoredWaiting): WaitingOrder {
  const { source, receivedAtMs } = stored;
  if (stored.invalid)
    return { order: invalidStub(stored.orderId, batchId, receivedAtMs), source, receivedAtMs, invalid: true };
  return { order: loadOrder(stored.order), source, receivedAtMs };
}

/** The batches sublevel: every read and write of batch keys goes through here. */
export class BatchRecords {
  constructor(private readonly sublevel: Sub) {}

  /** A batch's stored state, open or finished. */
  async read(batchId: string): Promise<StoredBatchState | undefined> {
    const text = await this.sublevel.get(batchKey(batchId));
    return text === undefined ? undefined : (JSON.parse(text) as StoredBatchState);
  }

  /** Stored batch states in id order, at most `batchesMax`. */
  async list(batchesMax: number): Promise<StoredBatchState[]> {
    const states: StoredBatchState[] = [];
    for await (const stored of this.states(batchesMax)) states.push(stored);
    return states;
  }

  private async *states(batchesMax?: number): AsyncGenerator<StoredBatchState> {
    const range = {
      gte: BATCH_PREFIX,
      lt: BATCH_PREFIX + RANGE_END,
      ...(batchesMax === undefined ? {} : { limit: batchesMax }),
    };
    for await (const text of this.sublevel.values(range)) yield JSON.parse(text) as StoredBatchState;
  }

  /** The finished reports of the batches named, by id (ids with none are left out). */
  async reports(batchIds: readonly string[]): Promise<Map<string, BatchReport>> {
    const found = new Map<string, BatchReport>();
    if (batchIds.length === 0) return found;
    const texts = await this.sublevel.getMany(batchIds.map(batchKey));
    batchIds.forEach((id, i) => {
      const text = texts[i];
      const report = text === undefined ? undefined : (JSON.parse(text) as StoredBatchState).report;
      if (report) found.set(id, report);
    });
    return found;
  }

  /** Fills a fresh book from the ledger: finished reports, open batches with the orders they hold, waiting orders. */
  async loadInto(book: BatchBook): Promise<void> {
    const open: OpenBatch[] = [];
    for await (const stored of this.states()) {
      const state = decodeState(stored);
      if (state.report) {
        book.remember(state.id, state.report);
        continue;
      }
      const batch: OpenBatch = {
        id: state.id,
        source: state.source,
        orders: [],
        ids: new Set(),
        sumMinor: 0n,
        openedAtMs: state.openedAtMs,
      };
      if (state.header) batch.header = state.header;
      book.addOpen(batch);
      open.push(batch);
    }
    for (const batch of open) {
      for await (const text of this.sublevel.values({
        gte: pendingPrefix(batch.id),
        lt: pendingPrefix(batch.id) + RANGE_END,
      })) {
        const stored = JSON.parse(text) as StoredPending;
        book.addPending(batch, { order: loadOrder(stored.order), receivedAtMs: stored.receivedAtMs });
      }
    }
    for await (const [key, text] of this.sublevel.iterator({
      gte: WAIT_PREFIX,
      lt: WAIT_PREFIX + RANGE_END,
    })) {
      const batchId = key.slice(WAIT_PREFIX.length, key.lastIndexOf('!'));
      book.addWaiting(batchId, decodeWaiting(batchId, JSON.parse(text) as StoredWaiting));
    }
  }

  /** The writes of a plan's changes, in their order, for the buffer's commit. */
  ops(changes: readonly BatchChange[]): BatchOp[] {
    return changes.flatMap((change) => this.opsOf(change));
  }

  private opsOf(change: BatchChange): BatchOp[] {
    const sublevel = this.sublevel;
    switch (change.kind) {
      case 'state':
        return [{ type: 'put', sublevel, key: batchKey(change.state.id), value: encodeState(change.state) }];
      case 'pending': {
        const stored: StoredPending = {
          order: storeOrder(change.pending.order),
          receivedAtMs: change.pending.receivedAtMs,
        };
        return [
          {
            type: 'put',
            sublevel,
            key: pendingKey(change.batchId, change.position),
            value: JSON.stringify(stored),
          },
        ];
      }
      case 'pendingCleared':
        return Array.from({ length: change.count }, (_, i) => ({
          type: 'del',
          sublevel,
          key: pendingKey(change.batchId, i + 1),
        }));
      case 'waiting':
        return [
          {
            type: 'put',
            sublevel,
            key: waitKey(change.batchId, change.waiting.order.id),
            value: encodeWaiting(change.waiting),
          },
        ];
      case 'waitingCleared':
        return [{ type: 'del', sublevel, key: waitKey(change.batchId, change.orderId) }];
    }
  }
}

/** The batch records of a store: what the service and the CLI read batches through. */
export const batchRecordsOf = (store: Pick<LedgerStore, 'batches'>): BatchRecords =>
  new BatchRecords(store.batches);

/**
 * An open batch as the ledger holds it, shown as the service lists a tracked one when no processor tracks it:
 * its held orders are not read, so none are counted.
 */
export function storedOpenView(stored: StoredBatchState): OpenBatchView {
  const state = decodeState(stored);
  const view: OpenBatchView = { id: state.id, received: 0, sumMinor: 0n, openedAtMs: state.openedAtMs };
  if (state.header) view.header = state.header;
  return view;
}

/**
 * The batch stage's state for the pipeline: the domain's book (open batches, waiting orders, finished reports)
 * kept in step with the ledger. plan and settle decide (src/domain/batch-plan.ts, batch-settle.ts); ops turns
 * what they decided into the buffer's writes; sweep is its own commit.
 */
export class BatchTracker {
  readonly limits: BatchLimits;
  private readonly book: BatchBook;
  private readonly records: BatchRecords;
  private readonly subjects: BatchSubjects;

  constructor(
    private readonly store: LedgerStore,
    limits: Partial<BatchLimits>,
    topology: Pick<Topology, 'prefix'>,
  ) {
    this.limits = parseBatchLimits(limits);
    this.book = new BatchBook(this.limits);
    this.records = batchRecordsOf(store);
    const names = subjects(topology);
    this.subjects = { ordersPrefix: `${names.orders}.`, batchesPrefix: `${names.batches}.` };
  }

  /** Rebuilds open batches, waiting orders and recent reports from the ledger after a restart. */
  load(): Promise<void> {
    return this.records.loadInto(this.book);
  }

  /** Sorts a buffer's items: ordinary ones, batch orders to hold back or to wait for headers, batches now complete. */
  plan<I extends BatchInputItem>(
    items: readonly I[],
    nowMs: number,
    finishedInLedger: ReadonlyMap<string, BatchReport>,
  ): BatchPlan<I> {
    return planBatches(this.book, items, nowMs, finishedInLedger, this.subjects);
  }

  /** Applies the completed batches and rejections that sit at position `at` (all when undefined). */
  settle(
    plan: SettledPlan,
    ws: WorkingSet,
    contextFor: (item: BatchOrderItem) => ApplyContext,
    riskFor: (item: BatchOrderItem) => RiskDecision,
    nowFor: (atMs: number) => number,
    at?: number,
  ): void {
    settleBatches(this.book, plan, ws, { contextFor, riskFor, nowFor }, at);
  }

  /** The ledger writes of what a plan (and its settling) decided. */
  ops(plan: Pick<BatchPlan<unknown>, 'ops'>): BatchOp[] {
    return this.records.ops(plan.ops);
  }

  /**
   * Through the store's write lock: rejects batches open too long, whole (batch_incomplete), and orders that
   * waited for a header in vain (batch_unknown). Returns the reports and the orders' results to publish.
   */
  async sweep(
    nowMs: number,
    options: ApplyOptions,
  ): Promise<{ reports: BatchPlan['reports']; results: OrderResult[] }> {
    if (!this.book.sweepDue(nowMs)) return { reports: [], results: [] };
    return this.store.exclusive(async () => {
      const sweep = planSweep(this.book, nowMs);
      const ws = await this.store.prefetch(
        sweep.plan.rejected.flatMap(({ batch }) => batch.orders.map((p) => p.order)),
        sweep.expired.map(({ waiting }) => waiting.order.id),
      );
      const contextAt = (receivedAtMs: number): ApplyContext => ({ nowMs, receivedAtMs, options });
      this.settle(
        sweep.plan,
        ws,
        (item) => contextAt(item.msg.receivedAtMs),
        () => ALLOW,
        () => nowMs,
      );
      rejectExpiredWaiting(this.book, sweep, ws, (waiting) => contextAt(waiting.receivedAtMs));
      await this.store.commit(ws, this.ops(sweep.plan));
      return { reports: sweep.plan.reports, results: ws.published };
    });
  }

  /** Batch ids a buffer mentions that are not open here: their finished reports may be in the ledger. */
  unknownBatchIds(items: readonly BatchInputItem[]): string[] {
    return this.book.unknownBatchIds(items);
  }

  reportsFromLedger(batchIds: string[]): Promise<Map<string, BatchReport>> {
    return this.records.reports(batchIds);
  }

  async findReport(batchId: string): Promise<BatchReport | undefined> {
    return this.book.finishedReport(batchId) ?? (await this.records.read(batchId))?.report;
  }

  /** How many orders wait for headers (all sources, or one). */
  waitingCount(source?: string): number {
    return this.book.waitingCount(source);
  }

  progress(): BatchProgress[] {
    return this.book.progress();
  }

  openBatches(): OpenBatchView[] {
    return this.book.openBatches();
  }
}
