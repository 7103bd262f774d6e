import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MetricsAggregator, type ProcessedEvent } from '../../src/metrics/aggregator.ts';
import { recordInto, toSnapshots } from '../../streams/metrics.ts';

const T0 = Date.UTC(2025, 2, 14, 12, 0, 0);
const anEvent = (): ProcessedEvent => ({
  result: { orderId: 'o1', status: 'approved', processedAt: '2025-03-14T12:00:00.000Z', latencyMs: 3 },
  receivedAtMs: T0,
});

describe('toSnapshots', () => {
  afterEach(() => vi.useRealTimers());

  it('emits at most one snapshot per frame however many orders arrive', () => {
    vi.useFakeTimers({ now: T0 });
    const agg = new MetricsAggregator();
    const seen: number[] = [];
    const sub = toSnapshots(agg, () => Date.now(), 100).subscribe((s) => seen.push(s.atMs));
    for (let ms = 0; ms < 1000; ms++) {
      for (let i = 0; i < 20; i++) agg.recordResult(anEvent(), Date.now());
      vi.advanceTimersByTime(1);
    }
    sub.unsubscribe();
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.length).toBeLessThanOrEqual(11);
  });

  it('skips frames while nothing changes, but still moves once a second', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ expectObservable }) => {
      const agg = new MetricsAggregator();
      const frames = toSnapshots(agg, () => T0 + scheduler.now(), 100);
      // idle for 2.5 s: a frame at 0, then one when each new second starts
      expectObservable(frames, '^ 2500ms !').toBe('a 999ms b 999ms c', {
        a: expect.objectContaining({ atMs: T0 }),
        b: expect.objectContaining({ atMs: T0 + 1000 }),
        c: expect.objectContaining({ atMs: T0 + 2000 }),
      });
    });
  });

  it('clamps the frame period to at least 16 ms', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ expectObservable }) => {
      const agg = new MetricsAggregator();
      let n = 0;
      // a change before every frame so none is skipped
      const frames = toSnapshots(
        agg,
        () => {
          agg.setReviewQueueSize(n++);
          return T0 + scheduler.now();
        },
        0,
      );
      expectObservable(frames, '^ 40ms !').toBe('a 15ms b 15ms c', {
        a: expect.anything(),
        b: expect.anything(),
        c: expect.anything(),
      });
    });
  });
});

describe('recordInto', () => {
  it('records each event and passes it on', () => {
    const agg = new MetricsAggregator();
    const out: ProcessedEvent[] = [];
    of(anEvent(), anEvent())
      .pipe(recordInto(agg, () => T0))
      .subscribe((e) => out.push(e));
    expect(out).toHaveLength(2);
    expect(agg.snapshot(T0).totals.sinceStart.orders).toBe(2);
  });
});
