import { describe, expect, it } from 'vitest';
import {
  MetricsAggregator,
  type ProcessedEvent,
  VolumeMap,
  parseMetricsOptions,
  selectLargest,
} from '../../src/metrics/aggregator.ts';
import type { ResultStatus } from '../../src/domain/types.ts';

const T0 = Date.UTC(2025, 2, 14, 12, 0, 0); // 2025-03-14T12:00:00Z

function anEvent(
  o: {
    status?: ResultStatus;
    amountMinor?: bigint;
    currency?: string;
    latencyMs?: number;
    rule?: string;
    merchant?: string;
    /** a card by its last four digits (token and first six made up from them) */
    card?: string;
    duplicate?: true;
  } = {},
): ProcessedEvent {
  return {
    result: {
      orderId: `o-${Math.random()}`,
      status: o.status ?? 'approved',
      processedAt: new Date(T0).toISOString(),
      latencyMs: o.latencyMs ?? 5,
      ...(o.rule ? { rule: o.rule } : {}),
      ...(o.duplicate ? { duplicate: o.duplicate } : {}),
    },
    type: 'payment',
    receivedAtMs: T0,
    ...(o.merchant ? { merchant: o.merchant } : {}),
    ...(o.card ? { card: { token: `${o.card}`.padStart(64, 'f'), first6: '411111', last4: o.card } } : {}),
    ...(o.currency ? { currency: o.currency } : {}),
    ...(o.amountMinor !== undefined ? { amountMinor: o.amountMinor } : {}),
  };
}

describe('MetricsAggregator throughput', () => {
  it('reports orders per second over the last second and a per-second history for the sparkline', () => {
    const m = new MetricsAggregator({ historySeconds: 60 });
    for (let i = 0; i < 10; i++) m.recordResult(anEvent(), T0 + i * 50); // 10 in second 0
    for (let i = 0; i < 4; i++) m.recordResult(anEvent({ status: 'declined' }), T0 + 1000 + i * 10); // 4 in second 1
    const s = m.snapshot(T0 + 2000);
    expect(s.throughput.perSecond).toHaveLength(60);
    expect(s.throughput.perSecond.slice(-2)).toEqual([10, 4]);
    expect(s.throughput.peakPerSecond).toBe(10);
    // at exactly the start of second 2, the last second is second 1
    expect(s.throughput.ordersPerSecond).toBe(4);
    // half way through second 1: all of second 1 so far plus half of second 0
    expect(m.snapshot(T0 + 1500).throughput.ordersPerSecond).toBe(4 + 5);
  });

  it('gives per-status rates averaged over the rate window', () => {
    const m = new MetricsAggregator({ rateWindowSeconds: 10 });
    for (let i = 0; i < 30; i++) m.recordResult(anEvent({ status: 'approved' }), T0 + i * 100);
    for (let i = 0; i < 5; i++) m.recordResult(anEvent({ status: 'held' }), T0 + i * 100);
    const s = m.snapshot(T0 + 10_000);
    expect(s.throughput.ratesPerSecond.approved).toBeCloseTo(3);
    expect(s.throughput.ratesPerSecond.held).toBeCloseTo(0.5);
    expect(s.throughput.ratesPerSecond.declined).toBeUndefined();
  });

  it('forgets seconds older than the history and never lets an old event overwrite newer history', () => {
    const m = new MetricsAggregator({ historySeconds: 10 });
    m.recordResult(anEvent(), T0);
    m.recordResult(anEvent(), T0 + 20_000);
    m.recordResult(anEvent(), T0 + 500); // late: its slot now holds a newer second
    const s = m.snapshot(T0 + 21_000);
    expect(s.throughput.perSecond.reduce((a, b) => a + b, 0)).toBe(1);
    expect(s.totals.sinceStart.orders).toBe(3);
  });
});

describe('MetricsAggregator totals', () => {
  it('totals count and bigint amount per currency and status, whatever the exponent', () => {
    const m = new MetricsAggregator();
    m.recordResult(anEvent({ currency: 'EUR', amountMinor: 1250n }), T0);
    m.recordResult(anEvent({ currency: 'EUR', amountMinor: 99_999_999_999_999n }), T0);
    m.recordResult(anEvent({ currency: 'JPY', amountMinor: 1234n }), T0);
    m.recordResult(anEvent({ currency: 'KWD', amountMinor: 1n, status: 'declined' }), T0);
    m.recordResult(anEvent({ status: 'voided' }), T0); // no amount
    const t = m.snapshot(T0).totals.sinceStart;
    expect(t.orders).toBe(5);
    expect(t.byStatus).toEqual({ approved: 3, declined: 1, voided: 1 });
    expect(t.currencies.map((c) => c.currency)).toEqual(['EUR', 'JPY', 'KWD']);
    expect(t.currencies[0]!.byStatus.approved).toEqual({ count: 2, amountMinor: 100_000_000_001_249n });
    expect(t.currencies[1]!.byStatus.approved).toEqual({ count: 1, amountMinor: 1234n });
    expect(t.currencies[2]!.byStatus.declined).toEqual({ count: 1, amountMinor: 1n });
  });

  it('resets today at UTC midnight and keeps the totals since start', () => {
    const m = new MetricsAggregator();
    const beforeMidnight = Date.UTC(2025, 2, 14, 23, 59, 59, 900);
    m.recordResult(anEvent({ currency: 'USD', amountMinor: 500n }), beforeMidnight);
    expect(m.snapshot(beforeMidnight).totals.today.orders).toBe(1);
    const afterMidnight = Date.UTC(2025, 2, 15, 0, 0, 0, 100);
    const atMidnight = m.snapshot(afterMidnight).totals;
    expect(atMidnight.todayUtc).toBe('2025-03-15');
    expect(atMidnight.today.orders).toBe(0);
    expect(atMidnight.today.currencies).toEqual([]);
    m.recordResult(anEvent({ currency: 'USD', amountMinor: 700n }), afterMidnight);
    m.recordResult(anEvent({ currency: 'USD', amountMinor: 1n }), beforeMidnight); // late, yesterday's
    const t = m.snapshot(afterMidnight).totals;
    expect(t.today.currencies[0]!.byStatus.approved).toEqual({ count: 1, amountMinor: 700n });
    expect(t.sinceStart.currencies[0]!.byStatus.approved).toEqual({ count: 3, amountMinor: 1201n });
  });

  it('counts but does not total currencies beyond the bound', () => {
    const m = new MetricsAggregator({ currenciesMax: 2 });
    for (const c of ['EUR', 'USD', 'GBP']) m.recordResult(anEvent({ currency: c, amountMinor: 1n }), T0);
    const t = m.snapshot(T0).totals.sinceStart;
    expect(t.orders).toBe(3);
    expect(t.currencies.map((c) => c.currency)).toEqual(['EUR', 'USD']);
  });
});

describe('MetricsAggregator latency', () => {
  it('computes percentiles from a histogram over the run and the recent window', () => {
    const m = new MetricsAggregator({ recentSlots: 6, recentSlotMs: 10_000 });
    for (let v = 1; v <= 100; v++) m.recordResult(anEvent({ latencyMs: v }), T0);
    let l = m.snapshot(T0).latency;
    expect(l.run).toEqual({ count: 100, p50Ms: 50, p95Ms: 95, p99Ms: 99, maxMs: 100 });
    expect(l.recent.count).toBe(100);
    expect(l.recentWindowMs).toBe(60_000);
    // two minutes later the recent window only has the new, slow orders
    for (let i = 0; i < 10; i++) m.recordResult(anEvent({ latencyMs: 2000 }), T0 + 120_000);
    l = m.snapshot(T0 + 120_000).latency;
    expect(l.recent.count).toBe(10);
    expect(l.recent.p50Ms).toBeGreaterThanOrEqual(1999);
    expect(l.recent.p50Ms).toBeLessThanOrEqual(2001);
    expect(l.run.count).toBe(110);
    expect(l.run.p50Ms).toBe(55);
  });

  it('clamps absurd latencies to the histogram range instead of throwing', () => {
    const m = new MetricsAggregator({ latencyMsMax: 10_000 });
    m.recordResult(anEvent({ latencyMs: 1e12 }), T0);
    m.recordResult(anEvent({ latencyMs: -5 }), T0);
    const l = m.snapshot(T0).latency.run;
    expect(l.count).toBe(2);
    expect(l.maxMs).toBeGreaterThanOrEqual(9990);
    expect(l.maxMs).toBeLessThanOrEqual(10_010);
  });

  it('reports zeros with count 0 before any sample', () => {
    expect(new MetricsAggregator().snapshot(T0).latency.run).toEqual({
      count: 0,
      p50Ms: 0,
      p95Ms: 0,
      p99Ms: 0,
      maxMs: 0,
    });
  });
});

describe('MetricsAggregator alerts and bounds', () => {
  it('counts rule hits and dead letters, folding new keys into "other" at the bound', () => {
    const m = new MetricsAggregator({ rulesMax: 3, deadLetterReasonsMax: 2 });
    for (const r of ['velocity', 'velocity', 'amount', 'country', 'mcc']) m.recordRuleHit(r, T0);
    for (const r of ['not_json', 'too_large', 'no_id'] as const) m.recordDeadLetter(r, T0);
    const a = m.snapshot(T0).alerts;
    expect(a.ruleHits).toEqual([
      { ruleId: 'other', count: 2 },
      { ruleId: 'velocity', count: 2 },
      { ruleId: 'amount', count: 1 },
    ]);
    expect(a.ruleHitsTotal).toBe(5);
    expect(a.deadLetters).toEqual([
      { reason: 'other', count: 2 },
      { reason: 'not_json', count: 1 },
    ]);
  });

  it('keeps a capped ring of recent alerts, newest first, folding repeats', () => {
    const m = new MetricsAggregator({ alertsMax: 3 });
    m.recordRuleHit('velocity', T0);
    m.recordRuleHit('velocity', T0 + 1);
    for (const r of ['not_json', 'too_large', 'no_id'] as const) m.recordDeadLetter(r, T0 + 2);
    const recent = m.snapshot(T0 + 3).alerts.recent;
    expect(recent.map((r) => r.text)).toEqual(['dead letter: no_id', 'dead letter: too_large', 'dead letter: not_json']);
    const m2 = new MetricsAggregator();
    m2.recordRuleHit('velocity', T0);
    m2.recordRuleHit('velocity', T0 + 1);
    expect(m2.snapshot(T0).alerts.recent).toEqual([
      { seq: 1, atMs: T0 + 1, kind: 'rule', text: 'rule hit: velocity', repeat: 2 },
    ]);
  });

  it('turns connection loss, lag and silence into explicit health problems', () => {
    const m = new MetricsAggregator({ lagWarnMessages: 100, idleWarnMs: 30_000 });
    expect(m.snapshot(T0).health.map((h) => h.text)).toEqual(['no traffic yet']);
    m.setStatus({ state: 'running', connection: 'connected', startedAtMs: T0 }, T0);
    m.recordResult(anEvent(), T0);
    expect(m.snapshot(T0 + 1000).health).toEqual([]);
    m.setStatus({ connection: 'reconnecting', pendingMessages: 250 }, T0 + 2000);
    const s = m.snapshot(T0 + 40_000);
    expect(s.health.map((h) => h.text)).toEqual([
      'NATS down — reconnecting',
      'consumer lagging: 250 pending',
      'idle: no orders for 40s',
    ]);
    expect(s.alerts.recent[0]).toMatchObject({ kind: 'connection', text: 'NATS reconnecting' });
    expect(s.uptimeMs).toBe(40_000);
  });

  it('keeps at most batchesMax batches and alerts when one is rejected', () => {
    const m = new MetricsAggregator({ batchesMax: 2 });
    const b = (batchId: string, state: 'open' | 'rejected') => ({
      batchId,
      mode: 'atomic' as const,
      currency: 'EUR',
      count: 10,
      seen: 3,
      controlSumMinor: 1000n,
      sumSoFarMinor: 300n,
      state,
    });
    m.setBatches([b('B1', 'open'), b('B2', 'open'), b('B3', 'open')]);
    expect(m.snapshot(T0).batches.map((x) => x.batchId)).toEqual(['B1', 'B2']);
    m.setBatches([b('B1', 'rejected')]);
    expect(m.snapshot(T0).alerts.recent[0]?.text).toBe('batch B1 rejected');
  });

  it('clamps options to their bounds', () => {
    const o = parseMetricsOptions({ historySeconds: 1e9, rateWindowSeconds: 0 });
    expect(o.historySeconds).toBe(3600);
    expect(o.rateWindowSeconds).toBe(1);
    expect(() => parseMetricsOptions({ alertsMax: Number.NaN })).toThrow(/alertsMax/);
  });
});

describe('MetricsAggregator latency per second (the sparkline beside the percentiles)', () => {
  it('keeps the p50 and p99 of each completed second, 0 for a second without orders', () => {
    const m = new MetricsAggregator({ historySeconds: 10 });
    for (let v = 1; v <= 100; v++) m.recordResult(anEvent({ latencyMs: v }), T0 + v);
    for (let i = 0; i < 10; i++) m.recordResult(anEvent({ latencyMs: 200 }), T0 + 2000 + i);
    m.recordResult(anEvent({ latencyMs: 7 }), T0 + 3000); // the open second: not shown yet
    const { p50Ms, p99Ms } = m.snapshot(T0 + 3500).latency.perSecond;
    expect(p50Ms).toHaveLength(10);
    expect(p50Ms.slice(-3)).toEqual([50, 0, 200]);
    expect(p99Ms.slice(-3)).toEqual([99, 0, 200]);
    expect(m.snapshot(T0 + 4000).latency.perSecond.p99Ms.slice(-1)).toEqual([7]);
  });

  it('never rewrites a second once shown: a late result counts in the run, not in its closed second', () => {
    const m = new MetricsAggregator({ historySeconds: 10 });
    m.recordResult(anEvent({ latencyMs: 10 }), T0);
    expect(m.snapshot(T0 + 1000).latency.perSecond.p99Ms.at(-1)).toBe(10);
    m.recordResult(anEvent({ latencyMs: 900 }), T0 + 999);
    const l = m.snapshot(T0 + 1000).latency;
    expect(l.perSecond.p99Ms.at(-1)).toBe(10);
    expect(l.run.count).toBe(2);
  });
});

describe('MetricsAggregator consumer lag trend', () => {
  it('keeps the most pending of each second and carries the last report over quiet seconds', () => {
    const m = new MetricsAggregator({ historySeconds: 10 });
    expect(m.snapshot(T0).lag.known).toBe(false);
    m.recordPending(10, T0);
    m.recordPending(50, T0 + 1000);
    m.recordPending(30, T0 + 1500);
    m.recordPending(0, T0 + 4000);
    const lag = m.snapshot(T0 + 6000).lag;
    expect(lag.known).toBe(true);
    expect(lag.pendingPerSecond).toHaveLength(10);
    expect(lag.pendingPerSecond.slice(-6)).toEqual([10, 50, 30, 30, 0, 0]);
    expect(m.snapshot(T0 + 6000).status.pendingMessages).toBe(0);
  });

  it('carries a report over a silence longer than the history', () => {
    const m = new MetricsAggregator({ historySeconds: 10 });
    m.recordPending(7, T0);
    expect(m.snapshot(T0 + 3_600_000).lag.pendingPerSecond).toEqual(new Array(10).fill(7));
  });
});

describe('MetricsAggregator top merchants and cards in the last minute', () => {
  it('ranks by amount in each currency, counts only money moved or reserved, once, and shows cards masked', () => {
    const m = new MetricsAggregator();
    const pay = (merchant: string, card: string, amountMinor: bigint, currency = 'EUR', status: ResultStatus = 'approved') =>
      m.recordResult(anEvent({ merchant, card, amountMinor, currency, status }), T0);
    pay('m-coffee', '1111', 350n);
    pay('m-coffee', '1111', 350n);
    pay('m-tv', '2222', 99_900n);
    pay('m-books', '3333', 2_000n, 'EUR', 'held');
    pay('m-tv', '4444', 50_000n, 'EUR', 'authorized');
    pay('m-tv', '4444', 50_000n, 'EUR', 'declined'); // not volume
    pay('m-tv', '4444', 50_000n, 'EUR', 'captured'); // its authorization counted
    m.recordResult(anEvent({ merchant: 'm-tv', card: '2222', amountMinor: 99_900n, currency: 'EUR', duplicate: true }), T0);
    pay('m-ramen', '5555', 1_200n, 'JPY');
    const top = m.snapshot(T0 + 1000).top;
    expect(top.windowMs).toBe(60_000);
    expect(top.currencies.map((c) => [c.currency, c.orders, c.amountMinor])).toEqual([
      ['EUR', 5, 152_600n],
      ['JPY', 1, 1_200n],
    ]);
    const eur = top.currencies[0]!;
    expect(eur.merchants).toEqual([
      { label: 'm-tv', count: 2, amountMinor: 149_900n },
      { label: 'm-books', count: 1, amountMinor: 2_000n },
      { label: 'm-coffee', count: 2, amountMinor: 700n },
    ]);
    expect(eur.cards.map((c) => c.label)).toEqual(['411111******2222', '411111******4444', '411111******3333', '411111******1111']);
    expect(JSON.stringify(top, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toMatch(/f{20}|\d{12,}/);
  });

  it('forgets what is older than the window, slot by slot', () => {
    const m = new MetricsAggregator({ recentSlots: 6, recentSlotMs: 10_000 });
    m.recordResult(anEvent({ merchant: 'm-old', amountMinor: 100n, currency: 'EUR' }), T0);
    m.recordResult(anEvent({ merchant: 'm-new', amountMinor: 5n, currency: 'EUR' }), T0 + 30_000);
    expect(m.snapshot(T0 + 59_000).top.currencies[0]!.merchants.map((r) => r.label)).toEqual(['m-old', 'm-new']);
    expect(m.snapshot(T0 + 61_000).top.currencies[0]!.merchants.map((r) => r.label)).toEqual(['m-new']);
    expect(m.snapshot(T0 + 200_000).top.currencies).toEqual([]);
  });

  it('stays bounded: a heavy card survives 9,000 distinct ones, currencies beyond the bound are only counted', () => {
    const m = new MetricsAggregator({ topKeysMax: 16, topCurrenciesMax: 2, topShown: 3 });
    for (let i = 0; i < 9_000; i++) {
      m.recordResult(anEvent({ card: String(i).padStart(4, '0'), merchant: `m-${i}`, amountMinor: 100n, currency: 'EUR' }), T0);
      if (i % 100 === 0) m.recordResult(anEvent({ card: '9999', merchant: 'm-heavy', amountMinor: 5_000n, currency: 'EUR' }), T0);
    }
    m.recordResult(anEvent({ merchant: 'm-usd', amountMinor: 1n, currency: 'USD' }), T0);
    m.recordResult(anEvent({ merchant: 'm-gbp', amountMinor: 1n, currency: 'GBP' }), T0);
    const top = m.snapshot(T0).top;
    const eur = top.currencies[0]!;
    expect(eur.orders).toBe(9_090);
    expect(eur.cards).toHaveLength(3);
    expect(eur.cards[0]).toEqual({ label: '411111******9999', count: 90, amountMinor: 450_000n });
    expect(eur.merchants[0]!.label).toBe('m-heavy');
    expect(top.currencies.map((c) => c.currency)).toEqual(['EUR', 'USD']);
    expect(top.unrankedOrders).toBe(1);
  });
});

describe('VolumeMap and selectLargest', () => {
  it('never holds more than its bound, and keeps the largest half when it drops', () => {
    const v = new VolumeMap(8);
    for (let i = 1; i <= 100; i++) {
      v.add(`k${i}`, BigInt(i % 10));
      expect(v.entries.size).toBeLessThanOrEqual(8);
    }
    v.add('big', 1000n);
    expect(v.entries.get('big')).toMatchObject({ count: 1, amountMinor: 1000n });
  });

  it('moves the k largest to the front, whatever the input', () => {
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 200; round++) {
      const n = 1 + (next() % 60);
      const items = Array.from({ length: n }, () => BigInt(next() % 10));
      const k = next() % (n + 1);
      const sorted = [...items].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
      const copy = [...items];
      selectLargest(copy, k, (x) => x);
      const front = copy.slice(0, k).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
      expect(front).toEqual(sorted.slice(0, k));
      expect(copy.slice().sort()).toEqual(items.slice().sort());
    }
  });
});
