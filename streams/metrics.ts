// RxJS glue between the pipeline and the metrics aggregator: the record stage, and snapshots at a bounded rate.

import { type MonoTypeOperatorFunction, type Observable, defer, filter, map, tap, timer } from 'rxjs';
import type { BatchProgress, DashboardSnapshot, MetricsAggregator } from '../src/metrics/aggregator.ts';
import type { AppliedBuffer } from './types.ts';

/** Frame period bounds: 60 frames/s at most, one frame every 10 s at least. */
export const FRAME_MS_MIN = 16;
export const FRAME_MS_MAX = 10_000;

/**
 * The dashboard's frame period: 2 frames/s. Ink renders a frame on the processor's own thread, so every frame
 * costs throughput, and operators read figures, not animations (htop redraws every 1.5 s, btop every 2 s). Keys
 * are answered at once, not at the frame rate.
 */
export const DASHBOARD_FRAME_MS = 500;

/**
 * Snapshots of `aggregator`, one per `frameMs` at most, however fast orders arrive. A frame is skipped
 * when nothing changed and the clock is still in the same second (so an idle dashboard does not redraw
 * ten times a second, yet uptime and the sparkline still move once a second).
 */
export function toSnapshots(
  aggregator: MetricsAggregator,
  clock: () => number,
  frameMs = 100,
): Observable<DashboardSnapshot> {
  const period = Math.min(FRAME_MS_MAX, Math.max(FRAME_MS_MIN, Math.floor(frameMs)));
  return defer(() => {
    // per subscriber, so two subscribers do not starve each other of frames
    let lastVersion = -1;
    let lastSecond = Number.NaN;
    return timer(0, period).pipe(
      map(() => clock()),
      filter((nowMs) => {
        const second = Math.floor(nowMs / 1000);
        if (aggregator.version === lastVersion && second === lastSecond) return false;
        lastVersion = aggregator.version;
        lastSecond = second;
        return true;
      }),
      map((nowMs) => aggregator.snapshot(nowMs)),
    );
  });
}

/** The running totals the record stage keeps beside the aggregator (the processor's stats). */
export interface RecordCounts {
  /** orders answered, duplicates not counted */
  orders: number;
  buffers: number;
  deadLetters: number;
}

export interface RecordTarget {
  aggregator: MetricsAggregator;
  clock: () => number;
  counts: RecordCounts;
  /** the batches the dashboard shows, read after each buffer; absent: no batch handling */
  batchProgress?: () => BatchProgress[];
}

/** Counts one committed buffer: its results and rule hits, dead letters, the consumer's lag and the batches. */
function recordApplied(target: RecordTarget, applied: AppliedBuffer): void {
  const { aggregator, counts } = target;
  const nowMs = target.clock();
  counts.buffers++;
  const pending = applied.lastMessage?.pending;
  if (pending !== undefined) aggregator.recordPending(pending, nowMs);
  aggregator.recordResults(applied.results, nowMs);
  for (const event of applied.results) {
    const { rule, duplicate } = event.result;
    if (duplicate) continue;
    if (rule !== undefined) aggregator.recordRuleHit(rule, nowMs);
    counts.orders++;
  }
  for (const letter of applied.deadLetters) {
    aggregator.recordDeadLetter(letter.reason, nowMs);
    counts.deadLetters++;
  }
  if (target.batchProgress) aggregator.setBatches(target.batchProgress());
}

/** Record stage, the pipeline's last: counts each buffer (recordApplied) and passes it on unchanged. */
export const recordStage =
  (target: RecordTarget): MonoTypeOperatorFunction<AppliedBuffer> =>
  (source) =>
    source.pipe(tap((applied) => recordApplied(target, applied)));
