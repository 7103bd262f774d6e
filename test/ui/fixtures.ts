// Builders of fake dashboard snapshots and fake actions for the UI tests.

import { Subject } from 'rxjs';
import { vi } from 'vitest';
import type {
  AlertsView,
  BatchProgress,
  DashboardSnapshot,
  LagView,
  LatencyView,
  ProcessorStatus,
  ThroughputView,
  TopVolumeView,
  TotalsPeriod,
} from '../../src/metrics/aggregator.ts';
import type { CardDetail, CardSummary, DashboardActions, HeldOrderView, ReviewOutcome } from '../../ui/types.ts';

export const T0 = Date.UTC(2025, 2, 14, 12, 0, 0);

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

export const aStatus = (o: Partial<ProcessorStatus> = {}): ProcessorStatus => ({
  natsUrl: 'nats://127.0.0.1:4222',
  connection: 'connected',
  stream: 'PAY',
  consumer: 'paystream',
  pendingMessages: 3,
  ledgerPath: 'data/ledger',
  startedAtMs: T0 - 3_723_000,
  state: 'running',
  ...o,
});

export const aThroughput = (o: Partial<ThroughputView> = {}): ThroughputView => ({
  ordersPerSecond: 123.4,
  perSecond: Array.from({ length: 300 }, (_, i) => (i % 8) * 10),
  peakPerSecond: 70,
  ratesPerSecond: { approved: 110.5, declined: 9.2, held: 1.1, rejected: 2.6 },
  rateWindowSeconds: 10,
  lastResultAtMs: T0 - 100,
  ...o,
});

export const aTotalsPeriod = (o: Partial<TotalsPeriod> = {}): TotalsPeriod => ({
  orders: 12_345,
  byStatus: { approved: 12_000, declined: 300, held: 45 },
  currencies: [
    {
      currency: 'EUR',
      byStatus: {
        approved: { count: 10_000, amountMinor: 123_456_789n },
        declined: { count: 300, amountMinor: 4_500_00n },
      },
    },
    { currency: 'JPY', byStatus: { approved: { count: 2000, amountMinor: 1_234_567n } } },
    { currency: 'KWD', byStatus: { held: { count: 45, amountMinor: 12_345n } } },
  ],
  ...o,
});

export const aLatency = (o: Partial<LatencyView> = {}): LatencyView => ({
  run: { count: 12_345, p50Ms: 12, p95Ms: 40, p99Ms: 85, maxMs: 1500 },
  recent: { count: 600, p50Ms: 11, p95Ms: 38, p99Ms: 80, maxMs: 120 },
  recentWindowMs: 60_000,
  perSecond: {
    p50Ms: Array.from({ length: 300 }, (_, i) => 8 + (i % 5)),
    p99Ms: Array.from({ length: 300 }, (_, i) => 40 + ((i * 7) % 80)),
  },
  ...o,
});

export const aLag = (o: Partial<LagView> = {}): LagView => ({
  pendingPerSecond: Array.from({ length: 300 }, (_, i) => (i < 200 ? 0 : (i - 200) * 40)),
  known: true,
  ...o,
});

export const aTopVolume = (o: Partial<TopVolumeView> = {}): TopVolumeView => ({
  windowMs: 60_000,
  currencies: [
    {
      currency: 'EUR',
      orders: 540,
      amountMinor: 1_250_000n,
      merchants: [
        { label: 'm-coffee-corner', count: 300, amountMinor: 450_000n },
        { label: 'm-books', count: 236, amountMinor: 400_400n },
        { label: 'm-big-electronics', count: 4, amountMinor: 399_600n },
      ],
      cards: [
        { label: '411111******1111', count: 12, amountMinor: 250_000n },
        { label: '555555******4444', count: 3, amountMinor: 120_000n },
      ],
    },
    {
      currency: 'JPY',
      orders: 60,
      amountMinor: 72_000n,
      merchants: [{ label: 'm-ramen-jpy', count: 60, amountMinor: 72_000n }],
      cards: [{ label: '353011******0000', count: 60, amountMinor: 72_000n }],
    },
  ],
  unrankedOrders: 0,
  ...o,
});

export const aBatch = (o: Partial<BatchProgress> = {}): BatchProgress => ({
  batchId: 'B-2025-0001',
  mode: 'atomic',
  currency: 'EUR',
  count: 100,
  seen: 40,
  controlSumMinor: 200_000n,
  sumSoFarMinor: 50_000n,
  state: 'open',
  ...o,
});

export const anAlerts = (o: Partial<AlertsView> = {}): AlertsView => ({
  ruleHits: [
    { ruleId: 'velocity_5m', count: 12 },
    { ruleId: 'high_amount', count: 3 },
  ],
  ruleHitsTotal: 15,
  deadLetters: [{ reason: 'not_json', count: 2 }],
  deadLettersTotal: 2,
  reviewQueueSize: 4,
  recent: [
    { seq: 2, atMs: T0 - 5000, kind: 'rule', text: 'rule hit: velocity_5m', repeat: 3 },
    { seq: 1, atMs: T0 - 60_000, kind: 'dead_letter', text: 'dead letter: not_json', repeat: 1 },
  ],
  ...o,
});

export function aSnapshot(o: DeepPartial<DashboardSnapshot> = {}): DashboardSnapshot {
  return {
    atMs: o.atMs ?? T0,
    uptimeMs: o.uptimeMs ?? 3_723_000,
    status: aStatus(o.status),
    health: (o.health as DashboardSnapshot['health'] | undefined) ?? [],
    throughput: aThroughput(o.throughput),
    totals: {
      sinceStart: aTotalsPeriod(o.totals?.sinceStart),
      today: aTotalsPeriod({ orders: 345, ...o.totals?.today }),
      todayUtc: o.totals?.todayUtc ?? '2025-03-14',
    },
    latency: aLatency(o.latency),
    lag: aLag(o.lag),
    top: aTopVolume(o.top as Partial<TopVolumeView> | undefined),
    batches: (o.batches as BatchProgress[] | undefined) ?? [aBatch()],
    alerts: anAlerts(o.alerts),
  };
}

/** A snapshot of a processor that has seen nothing yet. */
export const anEmptySnapshot = (): DashboardSnapshot =>
  aSnapshot({
    health: [{ level: 'info', code: 'no_traffic', text: 'no traffic yet' }],
    throughput: {
      ordersPerSecond: 0,
      perSecond: new Array(300).fill(0),
      peakPerSecond: 0,
      ratesPerSecond: {},
    },
    totals: {
      sinceStart: { orders: 0, byStatus: {}, currencies: [] },
      today: { orders: 0, byStatus: {}, currencies: [] },
    },
    latency: {
      run: { count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 },
      recent: { count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 },
      perSecond: { p50Ms: new Array(300).fill(0), p99Ms: new Array(300).fill(0) },
    },
    lag: { pendingPerSecond: new Array(300).fill(0), known: true },
    top: { windowMs: 60_000, currencies: [], unrankedOrders: 0 },
    batches: [],
    alerts: {
      ruleHits: [],
      ruleHitsTotal: 0,
      deadLetters: [],
      deadLettersTotal: 0,
      reviewQueueSize: 0,
      recent: [],
    },
  });

export const aCard = (o: Partial<CardSummary> = {}): CardSummary => ({
  token: 'a'.repeat(64),
  masked: '411111******1111',
  brand: 'visa',
  holder: 'Jane Doe',
  status: 'active',
  expiry: '12/27',
  ...o,
});

export const aCardDetail = (o: Partial<CardDetail> = {}): CardDetail => ({
  ...aCard(),
  accountId: 'acc-jane',
  currency: 'EUR',
  balance: '1,234.50',
  holds: '100.00',
  available: '1,134.50',
  todaySpend: '55.00',
  transfers: [
    {
      id: 't2',
      atIso: '2025-03-14T11:59:00.000Z',
      kind: 'payment',
      direction: 'out',
      amount: '12.50',
      counterparty: 'Coffee Corner',
    },
    {
      id: 't1',
      atIso: '2025-03-14T09:00:00.000Z',
      kind: 'deposit',
      direction: 'in',
      amount: '1,000.00',
      counterparty: 'funding',
    },
  ],
  ...o,
});

export const aHeldOrder = (o: Partial<HeldOrderView> = {}): HeldOrderView => ({
  orderId: 'ord-1',
  type: 'payment',
  masked: '411111******1111',
  merchant: 'Big Electronics',
  amount: '2,499.00',
  currency: 'EUR',
  rule: 'high_amount',
  heldAt: '11:58:00',
  ...o,
});

export function fakeActions(o: Partial<DashboardActions> = {}) {
  return {
    lookupCards: vi.fn(async (_q: string) => [
      aCard(),
      aCard({ token: 'b'.repeat(64), masked: '555555******1111', brand: 'mastercard', holder: 'John Roe' }),
    ]),
    cardDetail: vi.fn(async (token: string) => (token === 'a'.repeat(64) ? aCardDetail() : undefined)),
    reviewQueue: vi.fn(async () => [
      aHeldOrder(),
      aHeldOrder({ orderId: 'ord-2', amount: '9.99', rule: 'velocity_5m' }),
    ]),
    decideReview: vi.fn(
      async (_id: string, d: 'approve' | 'decline'): Promise<ReviewOutcome> =>
        d === 'approve' ? { status: 'approved' } : { status: 'declined', reason: 'review_declined' },
    ),
    quit: vi.fn(),
    ...o,
  } satisfies DashboardActions;
}

export const snapshotSubject = () => new Subject<DashboardSnapshot>();

/** Lets Ink process a keypress or a resolved promise before the next step. */
export const tick = (ms = 40) => new Promise((r) => setTimeout(r, ms));

/** Resizes an ink-testing-library stdout and tells Ink and the App about it. */
export function resize(stdout: { emit(event: string): boolean }, columns: number, rows: number): void {
  Object.defineProperty(stdout, 'columns', { configurable: true, get: () => columns });
  Object.defineProperty(stdout, 'rows', { configurable: true, get: () => rows });
  stdout.emit('resize');
}
