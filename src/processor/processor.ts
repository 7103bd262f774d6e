// The running processor: wires the source, the pipeline stages, the ledger, the publisher and the metrics.

import type { NatsConnection } from 'nats';
import { merge, Subject, takeUntil, tap } from 'rxjs';
import { MetricsAggregator, type ProcessedEvent } from '../metrics/aggregator.ts';
import type { OrderResult } from '../domain/types.ts';
import type { ProcessorOptions } from './options.ts';
import { log } from '../log.ts';
import { ensureTopology, lookUpSequences, purgeAppliedOrders, streamNames, subjects } from '../nats/setup.ts';
import { deadLetterScrubber } from '../recording/scrub.ts';
import { ackStage, FloorAcker } from '../../streams/ack.ts';
import { type ApplyDeps, bufferAndApply } from '../../streams/apply.ts';
import { sweepExpiredHolds } from './held-orders.ts';
import { decode } from '../../streams/decode.ts';
import { type Publisher, natsPublisher, publishApplied } from '../../streams/publish.ts';
import { jetStreamSource, storedToInbound } from '../../streams/source.ts';
import type { AppliedBuffer, InboundMessage, Item } from '../../streams/types.ts';
import { validate } from '../../streams/validate.ts';
import { BatchTracker, } from '../../streams/batches.ts';

/** after a broker disconnect or reconnect, applied orders are purged again only this many ack waits later */
const PURGE_PAUSE_ACK_WAITS = 2;
/** under steady traffic (the pipeline never empty at a sweep), applied orders are purged at least this often */
const PURGE_EVERY_MS_MAX = 10_000;

/** results published in the last this-many ms are sent again after a broker reconnect */
const RESEND_WINDOW_MS = 5_000;
/** ...but never more than this many (memory bound) */
const RESEND_RESULTS_MAX = 50_000;

export interface ProcessorStats {
  orders: number;
  buffers: number;
  deadLetters: number;
  startedAtMs: number;
  endedAtMs?: number;
}

export class Processor {
  readonly metrics: MetricsAggregator;
  readonly stats: ProcessorStats;
  readonly results$ = new Subject<OrderResult>();
  readonly batches: BatchTracker;
  private readonly stop$ = new Subject<void>();
  /** messages read from the stream to fill a gap below applied ones, into the pipeline with the live ones */
  private readonly refill$ = new Subject<InboundMessage>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeps = 0;
  /** performance.now() from which the review queue may be counted again */
  private reviewCountDueAtMs = 0;
  private sweeping: Promise<void> | undefined;
  /** the orders stream holds nothing below this sequence that this processor knows of (its last purge) */
  private purgedBelowSeq = 0;
  /** clock time of the last broker disconnect or reconnect: purges wait PURGE_PAUSE_ACK_WAITS ack waits after one */
  private connectionChangedAtMs = Number.NEGATIVE_INFINITY;
  /** the highest stream sequence the pipeline has received, and when the last purge went out */
  private receivedUpToSeq = 0;
  private purgedAtMs: number | undefined;
  private publisher: Publisher | undefined;
  /** acks up to the ack floor only; replaced at start by one from the consumer's floor */
  private acker = new FloorAcker({ floorSeq: 0 });
  /** broker disconnects so far, and their count when each buffer's results went out: a change means resend */
  private disconnects = 0;
  private readonly recentlyPublished: { atMs: number; results: OrderResult[]; reports: AppliedBuffer['reports'] }[] = [];
  private recentlyPublishedCount = 0;
  private readonly publishedAtDisconnects = new WeakMap<AppliedBuffer, number>();
  private finished!: Promise<void>;
  private resolveFinished!: () => void;
  private rejectFinished!: (error: unknown) => void;

  constructor(readonly options: ProcessorOptions) {
    const now = options.clock();
    this.metrics = options.metrics ?? new MetricsAggregator({ startedAtMs: now });
    this.stats = { orders: 0, buffers: 0, deadLetters: 0, startedAtMs: now };
    this.batches = new BatchTracker(options.store, options.batches, options.topology);
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
  }

  get done(): Promise<void> {
    return this.finished;
  }

  async start(): Promise<this> {
    const o = this.options;
    const names = streamNames(o.topology);
    const subj = subjects(o.topology);
    this.metrics.setStatus({
      natsUrl: o.nc ? o.natsUrl : 'offline',
      connection: o.nc ? 'connected' : 'offline',
      stream: names.orders,
      consumer: o.topology.durable,
      pendingMessages: undefined,
      ledgerPath: o.store.dataDir,
      startedAtMs: this.stats.startedAtMs,
      state: 'starting',
    });
    await this.batches.load();
    // the ledger, not the broker, says what was applied: delivery restarts right after its floor
    const ledger = o.store.applied;
    const isApplied = (seq: number): boolean => ledger.isApplied(seq);
    if (o.nc) {
      const { plan, streamCreated } = await ensureTopology(o.nc, o.topology, { record: ledger.streamRecord });
      if (plan.resetLedger) {
        log().warn({ why: plan.why }, 'the orders stream is not the one the ledger recorded: delivering all of it (orders applied before are answered as duplicates)');
        this.metrics.alert(o.clock(), 'connection', 'the orders stream was recreated: delivering all of it');
      } else if (plan.startSeq !== undefined) {
        log().info({ why: plan.why, startSeq: plan.startSeq }, 'durable consumer (re)created to deliver after the ledger\'s applied floor');
      }
      await ledger.startFrom(plan.floorSeq, streamCreated, plan.resetLedger);
    }
    // attempts a crash cut short: their messages count towards the crash-loop bound
    const crashed = await ledger.recoverAttempts();
    if (crashed.length > 0) {
      const seqs = crashed.flatMap((note) => note.seqs);
      log().warn({ attempts: crashed.length, firstSeq: Math.min(...seqs), lastSeq: Math.max(...seqs) }, 'a previous run died deciding these stream messages');
    }
    if (o.nc) {
      const nc = o.nc;
      this.acker = new FloorAcker({
        floorSeq: ledger.answeredSeq,
        waitingMax: o.topology.maxAckPending,
        resolveGaps: async (seqs) => {
          const { firstSeq, absent, found } = await lookUpSequences(nc, names.orders, seqs);
          return { firstSeq, absent, found: found.map((m) => storedToInbound(m, isApplied)) };
        },
        onAbsent: (firstSeq, absent) => ledger.markAbsent(firstSeq, absent),
        onFloor: (floorSeq) => ledger.markAnswered(floorSeq),
        // unless a test supplies the source, what the stream still holds goes back in: the gap closes now
        ...(o.source ? {} : { refill: (messages: InboundMessage[]) => { for (const m of messages) this.refill$.next(m); } }),
        clock: o.clock,
        onGap: ({ floorSeq, missing, waiting }) => {
          log().warn({ floorSeq, missing, waiting }, 'messages missing below applied ones: acks held at the floor until they arrive');
          this.metrics.alert(o.clock(), 'connection', `acks held at stream sequence ${floorSeq}: ${missing.length} message(s) not yet delivered`);
        },
      });
      this.watchConnection(o.nc);
    }
    this.publisher = o.publisher ?? (o.nc ? natsPublisher(o.nc, subj) : undefined);
    const source =
      o.source ??
      merge(jetStreamSource(o.nc!, { stream: names.orders, durable: o.topology.durable, pullBatch: o.pullBatch, isApplied }), this.refill$);
    const deps: ApplyDeps = {
      store: o.store,
      options: o.apply,
      clock: o.clock,
      virtualTime: o.virtualTime,
      scrub: deadLetterScrubber((pan) => o.store.tokenize(pan)),
      batches: this.batches,
    };
    if (o.risk) deps.risk = o.risk;
    if (o.faults) deps.faults = o.faults;
    const crashOnOrder = process.env.PAYSTREAM_TEST_CRASH_ON_ORDER;
    if (crashOnOrder) deps.beforeDecide = crashOn(crashOnOrder);
    const nc = o.nc;
    source
      .pipe(
        takeUntil(this.stop$),
        tap((m: InboundMessage) => {
          if (m.streamSeq !== undefined && m.streamSeq > this.receivedUpToSeq) this.receivedUpToSeq = m.streamSeq;
        }),
        decode({ payloadBytesMax: o.payloadBytesMax }, `${subj.batches}.`, o.faults),
        validate({
          tokenizePan: (pan) => o.store.tokenize(pan),
          olderTokens: (pan) => o.store.olderTokens(pan),
          clock: o.clock,
          futureSkewMs: o.futureSkewMs,
          virtualTime: o.virtualTime,
          // version 1's key: an order's fingerprint does not change when the key is rotated
          fingerprintKey: o.store.fingerprintKey,
          ...(o.faults ? { faults: o.faults } : {}),
        }),
        bufferAndApply(deps, o.buffer),
        tap((applied) => {
          if (this.publisher) publishApplied(this.publisher, applied);
          this.publishedAtDisconnects.set(applied, this.disconnects);
          if (nc) this.rememberPublished(applied);
        }),
        ackStage(
          this.acker,
          nc
            ? (applied) =>
                flushThroughReconnects(
                  nc,
                  () => this.publishedAtDisconnects.get(applied) !== this.disconnects,
                  () => {
                    if (this.publisher) publishApplied(this.publisher, applied);
                    this.publishedAtDisconnects.set(applied, this.disconnects);
                  },
                )
            : undefined,
        ),
      )
      .subscribe({
        next: (applied) => this.onApplied(applied),
        error: (error: unknown) => {
          log().error({ err: error }, 'processor stopped on an error');
          this.metrics.setStatus({ state: 'stopped', lastError: String(error) });
          this.cleanup();
          this.rejectFinished(error);
        },
        complete: () => {
          this.stats.endedAtMs = o.clock();
          this.metrics.setStatus({ state: 'stopped' });
          this.cleanup();
          this.resolveFinished();
        },
      });
    if (!o.virtualTime) {
      this.sweepTimer = setInterval(() => void this.sweep(), o.sweepIntervalMs);
      this.sweepTimer.unref();
    }
    this.metrics.setStatus({ state: 'running' });
    return this;
  }

  /** Publishes a buffer's outcome before it is acked (the ack stage runs after), and feeds the metrics. */
  private onApplied(applied: AppliedBuffer): void {
    this.stats.buffers++;
    const now = this.options.clock();
    const byId = new Map<string, Item>();
    for (const item of applied.items) if (item.kind === 'order') byId.set(item.order.id, item);
    const pending = applied.lastMessage?.pending;
    if (pending !== undefined) this.metrics.setStatus({ pendingMessages: pending });
    for (const result of applied.results) {
      const item = byId.get(result.orderId);
      const event: ProcessedEvent = { result, receivedAtMs: item?.msg.receivedAtMs ?? now };
      if (item?.kind === 'order') {
        event.type = item.order.type;
        if (item.order.amountMinor !== undefined) event.amountMinor = item.order.amountMinor;
        if (item.order.currency !== undefined) event.currency = item.order.currency;
        event.createdAtMs = item.order.createdAtMs;
      }
      this.metrics.recordResult(event, now);
      if (result.rule !== undefined && !result.duplicate) this.metrics.recordRuleHit(result.rule, now);
      this.results$.next(result);
      if (!result.duplicate) this.stats.orders++;
    }
    for (const letter of applied.deadLetters) {
      this.metrics.recordDeadLetter(letter.reason, now);
      this.stats.deadLetters++;
    }
    this.metrics.setBatches(this.batches.progress());
  }

  private watchConnection(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        const now = this.options.clock();
        if (s.type === 'disconnect' || s.type === 'reconnect') this.connectionChangedAtMs = now;
        if (s.type === 'disconnect') {
          this.metrics.setStatus({ connection: 'disconnected' });
          this.metrics.alert(now, 'connection', 'NATS connection lost');
          log().warn({ server: String(s.data) }, 'NATS connection lost');
        } else if (s.type === 'reconnecting') {
          this.metrics.setStatus({ connection: 'reconnecting' });
        } else if (s.type === 'reconnect') {
          this.metrics.setStatus({ connection: 'connected' });
          this.metrics.alert(now, 'connection', 'NATS reconnected');
          const resent = this.resendRecent(now);
          log().info({ server: String(s.data), resentResults: resent }, 'NATS reconnected');
        }
      }
    })().catch(() => undefined);
  }

  /**
   * A broker that dies may lose what it had accepted but not yet stored. The results of the last
   * seconds are kept (bounded) and sent again after a reconnect: subscribers may see an identical copy,
   * never a missing result.
   */
  private rememberPublished(applied: AppliedBuffer): void {
    if (applied.results.length === 0 && applied.reports.length === 0) return;
    this.recentlyPublished.push({ atMs: this.options.clock(), results: applied.results, reports: applied.reports });
    this.recentlyPublishedCount += applied.results.length;
    const horizon = this.options.clock() - RESEND_WINDOW_MS;
    while (
      this.recentlyPublished.length > 1 &&
      (this.recentlyPublished[0]!.atMs < horizon || this.recentlyPublishedCount > RESEND_RESULTS_MAX)
    ) {
      this.recentlyPublishedCount -= this.recentlyPublished.shift()!.results.length;
    }
  }

  private resendRecent(nowMs: number): number {
    if (!this.publisher) return 0;
    let n = 0;
    for (const entry of this.recentlyPublished) {
      if (entry.atMs < nowMs - RESEND_WINDOW_MS) continue;
      for (const result of entry.results) this.publisher.result(result);
      for (const { batchId, report } of entry.reports) this.publisher.report(batchId, report);
      n += entry.results.length;
    }
    return n;
  }

  /** Publishes results (and dlq) for work done outside the pipeline: sweeps, reviews. */
  publishResults(results: OrderResult[]): void {
    const now = this.options.clock();
    for (const result of results) {
      this.publisher?.result(result);
      this.metrics.recordResult({ result, receivedAtMs: now }, now);
      this.results$.next(result);
    }
  }

  private sweep(): Promise<void> {
    // one at a time, and drain() waits for the one in flight before the store closes
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    await this.purgeApplied();
    try {
      const results = await sweepExpiredHolds(this.options.store, this.options.apply, this.options.clock());
      this.publishResults(results);
      const timedOut = await this.batches.sweep(this.options.clock(), this.options.apply);
      // a gap below applied messages that no buffer has closed: ask the stream whether its messages still exist
      // (a lookup that fails, with the broker away, must not cost the rest of the sweep: it is tried again)
      await this.acker.checkGaps().catch((error: unknown) => {
        log().warn({ err: error }, 'could not look the missing messages up in the stream; trying again later');
      });
      for (const { batchId, report } of timedOut.reports) this.publisher?.report(batchId, report);
      this.publishResults(timedOut.results);
      if (performance.now() >= this.reviewCountDueAtMs) {
        const started = performance.now();
        this.metrics.setReviewQueueSize(await this.options.store.reviewQueueSize());
        // counting 46,000 held orders takes ~200 ms of CPU: a large queue is counted less often, so the
        // count never costs more than ~2 % of the time (the store skips it while nothing changed)
        this.reviewCountDueAtMs = performance.now() + 50 * (performance.now() - started);
      }
      if (++this.sweeps % 60 === 0) await this.options.store.pruneRiskHistory(this.options.clock() - 24 * 3600_000);
    } catch (error) {
      log().error({ err: error }, 'hold sweep failed');
      this.metrics.alert(this.options.clock(), 'error', `hold sweep failed: ${(error as Error).message}`);
    }
  }

  /**
   * ordersRetention 'applied': the orders in the ledger and acked (the acker's floor: every sequence up to it
   * is written to LevelDB) leave the orders stream, PANs with them. One purge a sweep (every sweepIntervalMs),
   * only when the floor has moved; a failure (the broker away) is logged and the next sweep tries again.
   *
   * A purge makes nats-server 2.9.10 ignore later acks of messages delivered before it (the consumer's ack
   * floor stays at the purge point until the next purge), so purges go when the pipeline has applied all
   * it received, or PURGE_EVERY_MS_MAX after the last one under steady traffic; never while acks are held
   * at a gap (the broker's redelivery of a missing message must not be forgotten, see below).
   *
   * nats-server 2.9.10 forgets every message an AckPolicy.All consumer has pending (delivered, not acked) when
   * its stream is purged, above the purge point too, and never redelivers them. Over a live connection that
   * costs nothing: what was delivered arrives and is applied. Deliveries lost with a broken connection are
   * redelivered after ack_wait, unless a purge comes first: so purges pause for PURGE_PAUSE_ACK_WAITS ack
   * waits after a disconnect or reconnect (what is still missing then, the gap lookups and the ledger's floor
   * at the next start bring back: the stream keeps every order above the applied floor).
   */
  private async purgeApplied(force = false): Promise<void> {
    const o = this.options;
    if (!o.nc || o.nc.isClosed() || o.source || o.topology.ordersRetention !== 'applied') return;
    const now = o.clock();
    if (now - this.connectionChangedAtMs < PURGE_PAUSE_ACK_WAITS * o.topology.ackWaitMs) return;
    const belowSeq = this.acker.floorSeq + 1;
    if (belowSeq <= this.purgedBelowSeq || this.acker.waiting > 0) return;
    this.purgedAtMs ??= now;
    const idle = this.acker.floorSeq >= this.receivedUpToSeq;
    if (!idle && !force && now - this.purgedAtMs < PURGE_EVERY_MS_MAX) return;
    try {
      await purgeAppliedOrders(o.nc, o.topology, belowSeq);
      this.purgedBelowSeq = belowSeq;
      this.purgedAtMs = now;
    } catch (error) {
      log().warn({ err: error, belowSeq }, 'could not purge applied orders from the orders stream; trying again at the next sweep');
    }
  }

  /** Stops taking messages, finishes the buffers in flight (they are committed and acked), then resolves. */
  async drain(): Promise<void> {
    this.metrics.setStatus({ state: 'draining' });
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.stop$.next();
    await this.finished.catch(() => undefined);
    await this.sweeping;
    // what the last buffers answered, so the next start need not answer them again
    await this.options.store.applied.saveAnswered().catch((error: unknown) => log().warn({ err: error }, 'could not record the answered floor'));
    // what the last buffers applied leaves the stream now, not at the next start
    await this.purgeApplied(true);
  }

  private cleanup(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.refill$.complete();
    this.results$.complete();
  }

  ordersPerSecond(): number {
    const end = this.stats.endedAtMs ?? this.options.clock();
    const seconds = Math.max(0.001, (end - this.stats.startedAtMs) / 1000);
    return this.stats.orders / seconds;
  }
}

/**
 * Flushes the results before the ack, waiting out a broker restart: a disconnect rejects the pending flush,
 * and ending the pipeline for it would stop the processor. What was written to the old socket may be lost
 * with it, so when a flush failed or the connection dropped since the results went out, they are sent again
 * once connected (at least once: a subscriber may see an identical copy). Only a closed connection is final.
 */
async function flushThroughReconnects(nc: NatsConnection, droppedSince: () => boolean, resend: () => void, retryMs = 100): Promise<void> {
  let failed = false;
  for (;;) {
    try {
      await nc.flush();
      if (!failed && !droppedSince()) return;
      resend();
      failed = false;
    } catch (error) {
      if (nc.isClosed()) throw error;
      failed = true;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
}

/**
 * A test seam (PAYSTREAM_TEST_CRASH_ON_ORDER=<order id>): the process dies as a crash would (SIGKILL, no
 * cleanup) when that order is about to be decided, after its attempt was noted in the ledger.
 */
function crashOn(orderId: string): (items: readonly Item[]) => void {
  return (items) => {
    if (items.some((item) => item.kind === 'order' && item.order.id === orderId)) process.kill(process.pid, 'SIGKILL');
  };
}

/** A dead letter's payload: the allow-listed fields of the order or batch header (recording/scrub.ts). */

