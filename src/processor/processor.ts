// The running processor: opens the ledger's view of the stream, builds what the pipeline needs
// (streams/pipeline.ts) and runs it, sweeps held orders and batches, purges applied orders from the stream.

import type { NatsConnection } from 'nats';
import { merge, type Observable, Subject, takeUntil, tap } from 'rxjs';
import { MetricsAggregator } from '../metrics/aggregator.ts';
import { ORDER_AGE_MAX_MS } from '../domain/order.ts';
import type { OrderResult } from '../domain/types.ts';
import type { ProcessorOptions } from './options.ts';
import { log } from '../log.ts';
import { BatchTracker } from '../ledger/batches.ts';
import { NatsResultPublisher } from '../nats/results.ts';
import { ensureTopology, lookUpSequences, purgeAppliedOrders, streamNames, subjects } from '../nats/setup.ts';
import { deadLetterScrubber } from '../recording/scrub.ts';
import { sweepExpiredHolds } from './held-orders.ts';
import { FloorAcker } from '../../streams/ack.ts';
import type { ApplyDeps } from '../../streams/apply.ts';
import { type PipelineDeps, orderPipeline } from '../../streams/pipeline.ts';
import { type BufferPublisher, sinkPublisher } from '../../streams/publish.ts';
import { jetStreamSource, storedToInbound } from '../../streams/source.ts';
import type { InboundMessage, Item } from '../../streams/types.ts';

/** after a broker disconnect or reconnect, applied orders are purged again only this many ack waits later */
const PURGE_PAUSE_ACK_WAITS = 2;
/** under steady traffic (the pipeline never empty at a sweep), applied orders are purged at least this often */
const PURGE_EVERY_MS_MAX = 10_000;
/** the review queue is counted again only after this many times as long as its last count took */
const REVIEW_COUNT_PAUSE_FACTOR = 50;
/** risk history older than any order still accepted (ORDER_AGE_MAX_MS) is pruned once in this many sweeps */
const PRUNE_EVERY_SWEEPS = 60;

/** Where results go without a broker or a sink of the caller's: nowhere. */
const DISCARD = sinkPublisher({ result: () => undefined, report: () => undefined, deadLetter: () => undefined });

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
  /** results, reports and dead letters: the broker's publisher, the caller's sink, or none */
  private readonly publisher: BufferPublisher;
  /** acks up to the ack floor only; replaced at start by one from the consumer's floor */
  private acker = new FloorAcker({ floorSeq: 0 });
  private finished!: Promise<void>;
  private resolveFinished!: () => void;
  private rejectFinished!: (error: unknown) => void;

  constructor(readonly options: ProcessorOptions) {
    const now = options.clock();
    this.metrics = options.metrics ?? new MetricsAggregator({ startedAtMs: now });
    this.stats = { orders: 0, buffers: 0, deadLetters: 0, startedAtMs: now };
    this.batches = new BatchTracker(options.store, options.batches, options.topology);
    this.publisher = options.publisher
      ? sinkPublisher(options.publisher)
      : options.nc
        ? new NatsResultPublisher(options.nc, subjects(options.topology), options.clock)
        : DISCARD;
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
  }

  get done(): Promise<void> {
    return this.finished;
  }

  /** Opens the ledger's view of the stream, then runs the pipeline on the durable consumer (or the offline source). */
  async start(): Promise<this> {
    const o = this.options;
    this.metrics.setStatus({
      natsUrl: o.nc ? o.natsUrl : 'offline',
      connection: o.nc ? 'connected' : 'offline',
      stream: streamNames(o.topology).orders,
      consumer: o.topology.durable,
      pendingMessages: undefined,
      ledgerPath: o.store.dataDir,
      startedAtMs: this.stats.startedAtMs,
      state: 'starting',
    });
    await this.batches.load();
    if (o.nc) await this.deliverAfterLedgerFloor(o.nc);
    await this.recoverAttempts();
    if (o.nc) {
      this.acker = this.floorAcker(o.nc);
      this.watchConnection(o.nc);
    }
    this.run(o.source ?? this.liveSource(o.nc!));
    if (!o.virtualTime) {
      this.sweepTimer = setInterval(() => void this.sweep(), o.sweepIntervalMs);
      this.sweepTimer.unref();
    }
    this.metrics.setStatus({ state: 'running' });
    return this;
  }

  /** The ledger, not the broker, says what was applied: the durable consumer delivers right after its floor. */
  private async deliverAfterLedgerFloor(nc: NatsConnection): Promise<void> {
    const o = this.options;
    const ledger = o.store.applied;
    const { plan, streamCreated } = await ensureTopology(nc, o.topology, { record: ledger.streamRecord });
    if (plan.resetLedger) {
      log().warn({ why: plan.why }, 'the orders stream is not the one the ledger recorded: delivering all of it (orders applied before are answered as duplicates)');
      this.metrics.alert(o.clock(), 'connection', 'the orders stream was recreated: delivering all of it');
    } else if (plan.startSeq !== undefined) {
      log().info({ why: plan.why, startSeq: plan.startSeq }, 'durable consumer (re)created to deliver after the ledger\'s applied floor');
    }
    await ledger.startFrom(plan.floorSeq, streamCreated, plan.resetLedger);
  }

  /** Attempts a crash cut short: their messages count towards the crash-loop bound. */
  private async recoverAttempts(): Promise<void> {
    const crashed = await this.options.store.applied.recoverAttempts();
    if (crashed.length === 0) return;
    const seqs = crashed.flatMap((note) => note.seqs);
    log().warn({ attempts: crashed.length, firstSeq: Math.min(...seqs), lastSeq: Math.max(...seqs) }, 'a previous run died deciding these stream messages');
  }

  private isApplied = (seq: number): boolean => this.options.store.applied.isApplied(seq);

  /** Acks from the ledger's answered floor; gaps below applied messages are looked up in the stream and refilled. */
  private floorAcker(nc: NatsConnection): FloorAcker {
    const o = this.options;
    const ledger = o.store.applied;
    return new FloorAcker({
      floorSeq: ledger.answeredSeq,
      waitingMax: o.topology.maxAckPending,
      resolveGaps: async (seqs) => {
        const { firstSeq, absent, found } = await lookUpSequences(nc, streamNames(o.topology).orders, seqs);
        return { firstSeq, absent, found: found.map((m) => storedToInbound(m, this.isApplied)) };
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
  }

  /** The durable consumer, and the messages read from the stream to fill gaps. */
  private liveSource(nc: NatsConnection): Observable<InboundMessage> {
    const o = this.options;
    const consumer = { stream: streamNames(o.topology).orders, durable: o.topology.durable, pullBatch: o.pullBatch, isApplied: this.isApplied };
    return merge(jetStreamSource(nc, consumer), this.refill$);
  }

  /** What each stage of the pipeline needs, from the processor's options. */
  private pipelineDeps(): PipelineDeps {
    const o = this.options;
    const faults = o.faults ? { faults: o.faults } : {};
    const apply: ApplyDeps = {
      store: o.store,
      options: o.apply,
      clock: o.clock,
      virtualTime: o.virtualTime,
      scrub: deadLetterScrubber((pan) => o.store.tokenize(pan)),
      batches: this.batches,
      ...faults,
    };
    if (o.risk) apply.risk = o.risk;
    const crashOnOrder = process.env.PAYSTREAM_TEST_CRASH_ON_ORDER;
    if (crashOnOrder) apply.beforeDecide = crashOn(crashOnOrder);
    return {
      decode: { limits: { payloadBytesMax: o.payloadBytesMax }, batchSubjectPrefix: `${subjects(o.topology).batches}.`, ...faults },
      validate: {
        tokenizePan: (pan) => o.store.tokenize(pan),
        olderTokens: (pan) => o.store.olderTokens(pan),
        clock: o.clock,
        futureSkewMs: o.futureSkewMs,
        virtualTime: o.virtualTime,
        // version 1's key: an order's fingerprint does not change when the key is rotated
        fingerprintKey: o.store.fingerprintKey,
        ...faults,
      },
      buffer: o.buffer,
      apply,
      publisher: this.publisher,
      acker: this.acker,
      record: { aggregator: this.metrics, clock: o.clock, counts: this.stats, batchProgress: () => this.batches.progress() },
    };
  }

  /** Runs the pipeline on `source` until drain(); each result also goes to results$. */
  private run(source: Observable<InboundMessage>): void {
    source
      .pipe(
        takeUntil(this.stop$),
        tap((m: InboundMessage) => {
          if (m.streamSeq !== undefined && m.streamSeq > this.receivedUpToSeq) this.receivedUpToSeq = m.streamSeq;
        }),
        orderPipeline(this.pipelineDeps()),
      )
      .subscribe({
        next: (applied) => {
          for (const { result } of applied.results) this.results$.next(result);
        },
        error: (error: unknown) => {
          log().error({ err: error }, 'processor stopped on an error');
          this.metrics.setStatus({ state: 'stopped', lastError: String(error) });
          this.cleanup();
          this.rejectFinished(error);
        },
        complete: () => {
          this.stats.endedAtMs = this.options.clock();
          this.metrics.setStatus({ state: 'stopped' });
          this.cleanup();
          this.resolveFinished();
        },
      });
  }

  /** Shows the connection's state and pauses purges around a disconnect (NatsResultPublisher resends results). */
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
          log().info({ server: String(s.data) }, 'NATS reconnected');
        }
      }
    })().catch(() => undefined);
  }

  /** Publishes results (and dlq) for work done outside the pipeline: sweeps, reviews. */
  publishResults(results: OrderResult[]): void {
    const now = this.options.clock();
    for (const result of results) {
      this.publisher.result(result);
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
    const o = this.options;
    await this.purgeApplied();
    try {
      this.publishResults(await sweepExpiredHolds(o.store, o.apply, o.clock(), o.risk));
      const timedOut = await this.batches.sweep(o.clock(), o.apply);
      // a gap below applied messages that no buffer has closed: ask the stream whether its messages still exist
      // (a lookup that fails, with the broker away, must not cost the rest of the sweep: it is tried again)
      await this.acker.checkGaps().catch((error: unknown) => {
        log().warn({ err: error }, 'could not look the missing messages up in the stream; trying again later');
      });
      for (const { batchId, report } of timedOut.reports) this.publisher.report(batchId, report);
      this.publishResults(timedOut.results);
      await this.countReviewQueue();
      if (++this.sweeps % PRUNE_EVERY_SWEEPS === 0) await o.store.pruneRiskHistory(o.clock() - ORDER_AGE_MAX_MS);
    } catch (error) {
      log().error({ err: error }, 'hold sweep failed');
      this.metrics.alert(o.clock(), 'error', `hold sweep failed: ${(error as Error).message}`);
    }
  }

  /**
   * Counting a large review queue takes CPU of its own: the queue is counted again only after
   * REVIEW_COUNT_PAUSE_FACTOR times as long as the last count took, so counting never costs more than ~2 % of
   * the time (the store skips it while nothing changed).
   */
  private async countReviewQueue(): Promise<void> {
    if (performance.now() < this.reviewCountDueAtMs) return;
    const started = performance.now();
    this.metrics.setReviewQueueSize(await this.options.store.reviewQueueSize());
    this.reviewCountDueAtMs = performance.now() + REVIEW_COUNT_PAUSE_FACTOR * (performance.now() - started);
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
 * A test seam (PAYSTREAM_TEST_CRASH_ON_ORDER=<order id>): the process dies as a crash would (SIGKILL, no
 * cleanup) when that order is about to be decided, after its attempt was noted in the ledger.
 */
function crashOn(orderId: string): (items: readonly Item[]) => void {
  return (items) => {
    if (items.some((item) => item.kind === 'order' && item.order.id === orderId)) process.kill(process.pid, 'SIGKILL');
  };
}
