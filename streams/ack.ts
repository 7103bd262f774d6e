// Ack stage: after the buffer's results are flushed to the broker, one AckPolicy.All ack acknowledges
// everything up to the ack floor: the highest stream sequence below which every message was applied.
// Nothing is acked before it is in LevelDB, and never past a message that has not arrived.

import { concatMap, type OperatorFunction } from 'rxjs';
import { AckWatermark } from '../src/domain/ack-watermark.ts';
import type { AppliedBuffer, Item } from './types.ts';

/** the longest wait between two lookups of a gap whose messages the stream still holds */
const GAP_WAIT_MS_MAX = 30_000;

/** What the stream says of missing sequences: its first sequence, and which of them it no longer holds. */
export type GapResolver = (seqs: number[]) => Promise<{ firstSeq: number; absent: number[] }>;

export interface FloorAckerOptions {
  /** the consumer's ack floor when delivery started */
  floorSeq: number;
  /** applied messages that may wait above a gap; the consumer's max_ack_pending bounds them @default 20000 */
  waitingMax?: number;
  /** absent: gaps close only by redelivery */
  resolveGaps?: GapResolver;
  /** a gap older than this is looked up in the stream @default 1000 */
  gapCheckMs?: number;
  /** missing sequences looked up at a time @default 100 */
  gapLookupsMax?: number;
  clock?: () => number;
  /** told when a gap is first seen: an operator should know that acks are held back */
  onGap?: (info: { floorSeq: number; missing: number[]; waiting: number }) => void;
}

/**
 * Acks with AckPolicy.All only up to the ack floor. Keeps, per applied buffer, the ack of its highest
 * sequence; when the floor moves, the highest kept ack at or below it is sent (under-acking is always safe:
 * a later ack covers the rest). A gap closes when the broker redelivers the missing message (it is unacked,
 * so it comes back after ack_wait) or when the stream no longer holds it (looked up after gapCheckMs).
 */
export class FloorAcker {
  private readonly watermark: AckWatermark;
  /** stream sequence -> ack, one per applied buffer not yet under the floor */
  private readonly acks = new Map<number, () => void>();
  private gapSinceMs: number | undefined;
  /** how old a gap must be before the next lookup: doubles while lookups find the messages still there */
  private gapWaitMs: number;
  private resolving: Promise<void> | undefined;
  private readonly clock: () => number;
  private readonly gapCheckMs: number;

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

  /** A buffer is written and its results flushed: its messages count as done. */
  applied(items: readonly Item[]): void {
    const seqs: number[] = [];
    let top: { seq: number; ack: () => void } | undefined;
    for (const item of items) {
      const { streamSeq, ack } = item.msg;
      if (streamSeq === undefined || ack === undefined) continue;
      seqs.push(streamSeq);
      if (top === undefined || streamSeq > top.seq) top = { seq: streamSeq, ack };
    }
    if (top !== undefined && top.seq > this.watermark.floorSeq) this.acks.set(top.seq, top.ack);
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
    const missing = this.watermark.gaps(this.options.gapLookupsMax ?? 100);
    this.resolving = resolve(missing)
      .then(({ firstSeq, absent }) => {
        const before = this.watermark.floorSeq;
        this.watermark.skipBelow(firstSeq);
        this.watermark.markDone(absent);
        this.ackUpTo(this.watermark.floorSeq);
        // the stream still holds them: they come with the redelivery (ack_wait); ask less and less often
        const moved = this.watermark.floorSeq > before;
        this.gapWaitMs = moved ? this.gapCheckMs : Math.min(this.gapWaitMs * 2, GAP_WAIT_MS_MAX);
        this.gapSinceMs = this.watermark.hasGap ? this.clock() : undefined;
      })
      .finally(() => {
        this.resolving = undefined;
      });
    return this.resolving;
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
    let best: { seq: number; ack: () => void } | undefined;
    for (const [seq, ack] of this.acks) {
      if (seq > floor) continue;
      if (best === undefined || seq > best.seq) best = { seq, ack };
      this.acks.delete(seq);
    }
    best?.ack();
  }
}

/** Flushes a buffer's results, then lets the acker ack what is safe. Buffers without acks (replays) pass. */
export const ackStage =
  (acker: FloorAcker, flush: (applied: AppliedBuffer) => Promise<void> = async () => undefined): OperatorFunction<AppliedBuffer, AppliedBuffer> =>
  (source) =>
    source.pipe(
      concatMap(async (applied) => {
        if (applied.lastMessage?.ack) {
          await flush(applied);
          acker.applied(applied.items);
        }
        return applied;
      }),
    );
