import { lastValueFrom, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OrderResult } from '../../src/domain/types.ts';
import { type BatchProgress, MetricsAggregator, type ProcessedEvent } from '../../src/metrics/aggregator.ts';
import { recordStage, toSnapshots } from '../../streams/metrics.ts';
import type { AppliedBuffer } from '../../streams/types.ts';

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

describe('record stage', () => {
  const approved = (orderId: string, over: Partial<OrderResult> = {}): OrderResult => ({ ...anEvent().result, orderId, ...over });
  const aBuffer = (over: Partial<AppliedBuffer>): AppliedBuffer => ({
    items: [],
    results: [],
    deadLetters: [],
    reports: [],
    lastMessage: undefined,
    committedAtMs: T0,
    written: Promise.resolve(),
    ...over,
  });

  it('counts a buffer: results with their amounts, rule hits and orders but for duplicates, dead letters, lag and batches', async () => {
    const aggregator = new MetricsAggregator({ startedAtMs: T0 });
    const counts = { orders: 0, buffers: 0, deadLetters: 0 };
    const batch: BatchProgress = { batchId: 'b1', mode: 'atomic', currency: 'USD', count: 2, seen: 1, controlSumMinor: 300n, sumSoFarMinor: 100n, state: 'open' };
    const buffer = aBuffer({
      results: [
        { result: approved('o1', { status: 'held', rule: 'big_amount' }), type: 'payment', amountMinor: 1_250n, currency: 'USD', receivedAtMs: T0 },
        { result: approved('o1', { status: 'held', rule: 'big_amount', duplicate: true }), type: 'payment', amountMinor: 1_250n, currency: 'USD', receivedAtMs: T0 },
        { result: approved('o2'), receivedAtMs: T0 },
      ],
      deadLetters: [{ reason: 'not_json', detail: 'payload is not valid JSON', subject: 'pay.orders.x', payload: new Uint8Array(0) }],
      lastMessage: { subject: 'pay.orders.x', data: new Uint8Array(0), receivedAtMs: T0, pending: 42 },
    });
    const out = await lastValueFrom(of(buffer).pipe(recordStage({ aggregator, clock: () => T0, counts, batchProgress: () => [batch] }), toArray()));
    expect(out).toEqual([buffer]);
    expect(counts).toEqual({ orders: 2, buffers: 1, deadLetters: 1 });
    const snapshot = aggregator.snapshot(T0);
    expect(snapshot.totals.sinceStart.orders).toBe(3);
    expect(snapshot.totals.sinceStart.currencies).toEqual([{ currency: 'USD', byStatus: { held: { count: 2, amountMinor: 2_500n } } }]);
    expect(snapshot.alerts.ruleHits).toEqual([{ ruleId: 'big_amount', count: 1 }]);
    expect(snapshot.alerts.deadLetters).toEqual([{ reason: 'not_json', count: 1 }]);
    expect(snapshot.status.pendingMessages).toBe(42);
    expect(snapshot.batches).toEqual([batch]);
  });
});
