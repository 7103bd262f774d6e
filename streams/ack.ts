// Ack stage: after the buffer's results are flushed to the broker, one AckPolicy.All ack acknowledges
// everything up to the ack floor: the highest stream sequence below which every message was applied.
// Nothing is acked before it is in LevelDB, and never past a message that has not arrived.

import { concatMap, type OperatorFunction } from 'rxjs';
import { AckWatermark } from '../src/domain/ack-watermark.ts';
import type { AppliedBuffer, InboundMessage, Item } from './types.ts';

/** the longest wait between two lookups of a gap whose messages the stream still holds */
const GAP_WAIT_MS_MAX = 30_000;
/** a message read from the stream to fill a gap and not applied within this time is read again */
const REFILL_TIMEOUT_MS = 30_000;

/**
 * What the stream says of missing sequences: its first sequence, which of them it no longer holds, and
 * the messages it still has (as inbound messages without an ack: an ack of a later one covers them).
 */
export type GapResolver = (seqs: number[]) => Promise<{ firstSeq: number; absent: number[]; found: InboundMessage[] }>;

export interface FloorAckerOptions {
  /** the ledger's applied floor when delivery started (the consumer delivers from the next one) */
  floorSeq: number;
  /** applied messages that may wait above a gap; the consumer's max_ack_pending bounds them @default 20000 */
  waitingMax?: number;
  /** absent: gaps close only by redelivery */
  resolveGaps?: GapResolver;
  /**
   * takes the missing messages the stream still holds back into the pipeline, so a gap closes within
   * gapCheckMs instead of ack_wait; absent: they come with the broker's redelivery
   */
  refill?: (messages: InboundMessage[]) => void;
  /** a gap older than this is looked up in the stream @default 1000 */
  gapCheckMs?: number;
  /** missing sequences looked up at a time @default 1000 */
  gapLookupsMax?: number;
  clock?: () => number;
  /** told when the floor moves: results up to it went out (the ledger records it as answered) */
  onFloor?: (floorSeq: number) => void;
  /** told what a lookup found gone from the stream (so the ledger's applied record stops waiting for it too) */
  onAbsent?: (firstSeq: number, absent: number[]) => void;
  /** told when a gap is first seen: an operator should know that acks are held back */
  onGap?: (info: { floorSeq: number; missing: number[]; waiting: number }) => void;
}

/**
 * Acks with AckPolicy.All only up to the ack floor. Keeps, per applied buffer, the ack of its highest
 * sequence; when the floor moves, the highest kept ack at or below it is sent (under-acking is always safe:
 * a later ack covers the rest). A gap older than gapCheckMs is looked up in the stream: messages it no
 * longer holds are not waited for, the ones it holds are read and refilled into the pipeline (or, without
 * `refill`, come with the broker's redelivery after ack_wait: they are unacked).
 */
export class FloorAcker {
  private readonly watermark: AckWatermark;
  /** stream sequence -> the message to ack, one per applied buffer not yet under the floor */
  private readonly acks = new Map<number, InboundMessage>();
  private gapSinceMs: number | undefined;
  /** how old a gap must be before the next lookup: doubles while lookups find the messages still there */
  private gapWaitMs: number;
  private resolving: Promise<void> | undefined;
  private readonly clock: () => number;
  private readonly gapCheckMs: number;
  /** sequences read from the stream and refilled, not yet applied -> when they were read */
  private readonly refilling = new Map<number, number>();

  constructor(private readonly options: FloorAckerOptions) {
    this.watermark = new AckWatermark(options.floorSeq, options.waitingMax ?? 20_000);
    this.clock = options.clock ?? Date.now;
    this.gapCheckMs = options.gapCheckMs ?? 1000;
    this.gapWaitMs = this.gapCheckMs;
  }

  get floorSeq(): number {
    return this.watermark.floorSeq;
  }

  get waiting(): number {
    return this.watermark.waiting;
  }

  /** Refilled messages read from the stream, not yet applied. */
  get refillingCount(): number {
    return this.refilling.size;
  }

  /**
   * A buffer is written and its results flushed: its messages count as done. Refilled messages (a stream
   * sequence, no ack) count too; the ack of a later message covers them.
   */
  applied(items: readonly Item[]): void {
    const seqs: number[] = [];
    let top: InboundMessage | undefined;
    for (const item of items) {
      const msg = item.msg;
      const streamSeq = msg.streamSeq;
      if (streamSeq === undefined) continue;
      seqs.push(streamSeq);
      if (this.refilling.size > 0) this.refilling.delete(streamSeq);
      if (msg.ack !== undefined && (top === undefined || streamSeq > top.streamSeq!)) top = msg;
    }
    if (top !== undefined && top.streamSeq! > this.watermark.floorSeq) this.acks.set(top.streamSeq!, top);
    const floor = this.watermark.markDone(seqs);
    if (floor !== undefined) this.ackUpTo(floor);
    this.noteGap();
  }

  /** Looks the oldest missing sequences up in the stream once a gap is old enough (also on a timer). */
  checkGaps(): Promise<void> {
    const resolve = this.options.resolveGaps;
    if (!resolve || !this.watermark.hasGap || this.resolving) return this.resolving ?? Promise.resolve();
    const now = this.clock();
    if (this.gapSinceMs === undefined || now - this.gapSinceMs < this.gapWaitMs) return Promise.resolve();
    for (const [seq, readAtMs] of this.refilling) {
      if (seq <= this.watermark.floorSeq || now - readAtMs >= REFILL_TIMEOUT_MS) this.refilling.delete(seq);
    }
    const missing = this.watermark.gaps(this.options.gapLookupsMax ?? 1000, this.refilling);
    if (missing.length === 0) return Promise.resolve();
    this.resolving = resolve(missing)
      .then(({ firstSeq, absent, found }) => {
        const before = this.watermark.floorSeq;
        this.watermark.skipBelow(firstSeq);
        this.watermark.markDone(absent);
        this.options.onAbsent?.(firstSeq, absent);
        this.ackUpTo(this.watermark.floorSeq);
        const refill = this.options.refill;
        const refilled = refill ? found.filter((m) => m.streamSeq !== undefined && m.streamSeq > this.watermark.floorSeq) : [];
        const readAtMs = this.clock();
        for (const m of refilled) this.refilling.set(m.streamSeq!, readAtMs);
        if (refill && refilled.length > 0) refill(refilled);
        // progress: look again soon; else they come with the redelivery (ack_wait): ask less and less often
        const progressed = this.watermark.floorSeq > before || refilled.length > 0;
        if (progressed) this.gapWaitMs = this.gapCheckMs;
        else this.backOff();
        this.gapSinceMs = this.watermark.hasGap ? this.clock() : undefined;
      })
      .catch((error: unknown) => {
        // the stream could not be read (a broker restart): ask again later, less and less often
        this.backOff();
        this.gapSinceMs = this.clock();
        throw error;
      })
      .finally(() => {
        this.resolving = undefined;
      });
    return this.resolving;
  }

  /** The next lookup waits twice as long, up to GAP_WAIT_MS_MAX. */
  private backOff(): void {
    this.gapWaitMs = Math.min(this.gapWaitMs * 2, GAP_WAIT_MS_MAX);
  }

  private noteGap(): void {
    if (!this.watermark.hasGap) {
      this.gapSinceMs = undefined;
      this.gapWaitMs = this.gapCheckMs;
      return;
    }
    if (this.gapSinceMs !== undefined) return;
    this.gapSinceMs = this.clock();
    this.options.onGap?.({ floorSeq: this.watermark.floorSeq, missing: this.watermark.gaps(10), waiting: this.watermark.waiting });
  }

  private ackUpTo(floor: number): void {
    this.options.onFloor?.(floor);
    let best: InboundMessage | undefined;
    for (const [seq, msg] of this.acks) {
      if (seq > floor) continue;
      if (best === undefined || seq > best.streamSeq!) best = msg;
      this.acks.delete(seq);
    }
    best?.ack?.();
  }
}

const fromStream = (item: Item): boolean => item.msg.streamSeq !== undefined;

/**
 * Waits until a buffer's results are delivered (BufferPublisher.delivered), then lets the acker ack what is
 * safe. Buffers of messages that are not from the stream (replays, recordings) pass.
 */
export const ackStage =
  (acker: FloorAcker, delivered: (applied: AppliedBuffer) => Promise<void>): OperatorFunction<AppliedBuffer, AppliedBuffer> =>
  (source) =>
    source.pipe(
      concatMap(async (applied) => {
        if (applied.items.some(fromStream)) {
          await delivered(applied);
          acker.applied(applied.items);
        }
        return applied;
      }),
    );
