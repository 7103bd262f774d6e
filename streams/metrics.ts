// RxJS glue between the pipeline and the metrics aggregator: record results, sample snapshots at a bounded rate.

import { type MonoTypeOperatorFunction, type Observable, defer, filter, map, tap, timer } from 'rxjs';
import type { DashboardSnapshot, MetricsAggregator, ProcessedEvent } from '../src/metrics/aggregator.ts';

/** Frame period bounds: 60 frames/s at most, one frame every 10 s at least. */
export const FRAME_MS_MIN = 16;
export const FRAME_MS_MAX = 10_000;

/**
 * The dashboard's frame period: 2 frames/s. A full 120x40 frame costs Ink 19-26 ms of the processor's own
 * thread on the project's VM (React production build), so 4 frames/s cost 8-10 % of a core and, measured,
 * 19 % of the throughput (10 frames/s: 13-18 % on a faster VM); operators read figures, not animations
 * (htop redraws every 1.5 s, btop every 2 s). Keys are answered at once, not at the frame rate.
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

/** Records each processed order into the aggregator and passes it on unchanged. */
export const recordInto =
  (aggregator: MetricsAggregator, clock: () => number): MonoTypeOperatorFunction<ProcessedEvent> =>
  (source) =>
    source.pipe(tap((ev) => aggregator.recordResult(ev, clock())));
