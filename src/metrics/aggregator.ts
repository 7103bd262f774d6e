// Pure aggregation of processed orders into the figures the dashboard and Prometheus show.
// No I/O and no clock: every call that depends on time takes `nowMs`. Every map and ring is bounded.

import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { DlqReason } from '../domain/reasons.ts';
import { panDisplay } from '../domain/cards.ts';
import { type Card, RESULT_STATUSES, type OrderResult, type OrderType, type ResultStatus } from '../domain/types.ts';

export interface ProcessedEvent {
  result: OrderResult;
  type?: OrderType;
  amountMinor?: bigint;
  currency?: string;
  createdAtMs?: number;
  receivedAtMs: number;
  /** the merchant account the order names: ranked in the top-volume window */
  merchant?: string;
  /** the card the order names: ranked by its token, shown masked (first six and last four digits) */
  card?: Pick<Card, 'token' | 'first6' | 'last4'>;
}

export interface ProcessorStatus {
  natsUrl: string;
  /** `offline` = replaying a file with no broker */
  connection: 'connected' | 'reconnecting' | 'disconnected' | 'offline';
  stream: string;
  consumer: string;
  /** consumer lag as reported by JetStream; undefined when unknown */
  pendingMessages: number | undefined;
  ledgerPath: string;
  startedAtMs: number;
  state: 'starting' | 'running' | 'paused' | 'draining' | 'stopped';
  lastError?: string;
}

export interface BatchProgress {
  batchId: string;
  mode: 'atomic' | 'independent';
  currency: string;
  count: number;
  seen: number;
  controlSumMinor: bigint;
  sumSoFarMinor: bigint;
  /** declined: an atomic batch that could not apply all its orders; rejected: rejected whole before anything moved */
  state: 'open' | 'done' | 'declined' | 'rejected';
  report?: { perStatus: Record<string, { count: number; amountMinor: bigint }> };
}

export interface AmountTotal {
  count: number;
  amountMinor: bigint;
}

/** One currency's totals; `byStatus` only lists statuses seen. */
export interface CurrencyTotals {
  currency: string;
  byStatus: Partial<Record<ResultStatus, AmountTotal>>;
}

export interface TotalsPeriod {
  /** all results, including those without an amount (void, cancel, most rejections) */
  orders: number;
  byStatus: Partial<Record<ResultStatus, number>>;
  /** sorted by currency code */
  currencies: CurrencyTotals[];
}

export interface ThroughputView {
  /** orders in the last second (sliding estimate over the current and previous 1 s buckets) */
  ordersPerSecond: number;
  /** completed seconds, oldest first, newest last; length = historySeconds */
  perSecond: number[];
  /** highest value in `perSecond` */
  peakPerSecond: number;
  /** mean per-status rate over the last `rateWindowSeconds` completed seconds */
  ratesPerSecond: Partial<Record<ResultStatus, number>>;
  rateWindowSeconds: number;
  /** when the last result was recorded; undefined before the first */
  lastResultAtMs: number | undefined;
}

export interface LatencyStats {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LatencyView {
  run: LatencyStats;
  recent: LatencyStats;
  recentWindowMs: number;
  /**
   * p50 and p99 of each completed second (to two significant digits), oldest first (length historySeconds);
   * 0: no order that second
   */
  perSecond: { p50Ms: number[]; p99Ms: number[] };
}

/** Consumer lag over time, for its trend. */
export interface LagView {
  /**
   * the most pending messages reported in each completed second, oldest first (length historySeconds); a
   * second without a report repeats the last one reported; 0 before the first
   */
  pendingPerSecond: number[];
  /** false until the source first reports its lag (an offline replay never does) */
  known: boolean;
}

/** One merchant or card in the top-volume window. */
export interface VolumeRow {
  /** the merchant account id, or the card masked (never a PAN) */
  label: string;
  count: number;
  amountMinor: bigint;
}

/** One currency's volume in the top-volume window and its top merchants and cards, by amount. */
export interface CurrencyVolume {
  currency: string;
  orders: number;
  amountMinor: bigint;
  /** highest amount first, at most topShown */
  merchants: VolumeRow[];
  /** highest amount first, at most topShown */
  cards: VolumeRow[];
}

/**
 * Volume in the recent window (the latency's: recentSlots x recentSlotMs): orders that moved or reserved money
 * (VOLUME_STATUSES), ranked in their own currency (amounts of two currencies are never added or compared).
 */
export interface TopVolumeView {
  windowMs: number;
  /** most orders first */
  currencies: CurrencyVolume[];
  /** orders in a currency beyond topCurrenciesMax in their slot: counted here, not ranked */
  unrankedOrders: number;
}

export type AlertKind = 'rule' | 'dead_letter' | 'connection' | 'error' | 'batch';

export interface AlertEntry {
  /** increases by one per new alert: a stable key */
  seq: number;
  atMs: number;
  kind: AlertKind;
  text: string;
  /** how many identical alerts in a row were folded into this one (>= 1) */
  repeat: number;
}

export interface AlertsView {
  /** sorted by count, highest first */
  ruleHits: { ruleId: string; count: number }[];
  ruleHitsTotal: number;
  /** sorted by count, highest first; reasons beyond `deadLetterReasonsMax` are counted under `other` */
  deadLetters: { reason: DlqReason | typeof OTHER_KEY; count: number }[];
  deadLettersTotal: number;
  reviewQueueSize: number;
  /** newest first */
  recent: AlertEntry[];
}

/** What is wrong right now, worst first; empty when all is well. */
export interface HealthProblem {
  level: 'error' | 'warn' | 'info';
  code: 'nats_down' | 'nats_disconnected' | 'consumer_lagging' | 'no_traffic' | 'idle' | 'last_error';
  text: string;
}

export interface DashboardSnapshot {
  atMs: number;
  uptimeMs: number;
  status: ProcessorStatus;
  health: HealthProblem[];
  throughput: ThroughputView;
  totals: { sinceStart: TotalsPeriod; today: TotalsPeriod /** YYYY-MM-DD (UTC) */; todayUtc: string };
  latency: LatencyView;
  lag: LagView;
  top: TopVolumeView;
  batches: BatchProgress[];
  alerts: AlertsView;
}

export interface MetricsOptions {
  /** seconds of per-second history kept for the sparkline. @default 300 (bounds 10..3600) */
  historySeconds?: number;
  /** window for per-status rates. @default 10 (bounds 1..historySeconds) */
  rateWindowSeconds?: number;
  /** recent latency window, as `recentSlots` rotating histograms of `recentSlotMs`. @default 6 x 10_000 ms */
  recentSlots?: number;
  recentSlotMs?: number;
  /** latencies above this are recorded as this value (the histogram's range). @default 3_600_000 */
  latencyMsMax?: number;
  /** distinct currencies tracked; beyond it an order's amount is not totalled (still counted). @default 256 */
  currenciesMax?: number;
  /** distinct rule ids counted; beyond, hits are folded into `other`. @default 256 */
  rulesMax?: number;
  /** distinct dead-letter reasons counted; beyond, letters are folded into `other`. @default 64 */
  deadLetterReasonsMax?: number;
  /** recent alerts ring; the oldest is dropped at the bound. @default 200 */
  alertsMax?: number;
  /** batches shown; the caller's order is kept and the rest dropped. @default 50 */
  batchesMax?: number;
  /** pending messages at which the consumer counts as lagging. @default 1000 */
  lagWarnMessages?: number;
  /** no result for this long while running = idle warning. @default 30_000 */
  idleWarnMs?: number;
  /**
   * merchants (and, apart, cards) one currency keeps in one slot of the top-volume window; at the bound the
   * lower half by amount is dropped (a key dropped counts again from its return). @default 256 (bounds 8..100_000)
   */
  topKeysMax?: number;
  /** currencies one slot of the top-volume window ranks; orders in others are only counted. @default 8 (1..256) */
  topCurrenciesMax?: number;
  /** merchants and cards per currency in a snapshot's top volume. @default 10 (1..100) */
  topShown?: number;
  /** start of the run when status.startedAtMs is not set; defaults to the first nowMs seen */
  startedAtMs?: number;
}

export type ParsedMetricsOptions = Required<Omit<MetricsOptions, 'startedAtMs'>> & { startedAtMs?: number };

const DAY_MS = 86_400_000;
/** The key hits are counted under once a bounded counter has as many distinct keys as it may hold. */
export const OTHER_KEY = 'other';

function clampInt(name: string, value: number | undefined, def: number, min: number, max: number): number {
  const v = value ?? def;
  if (!Number.isFinite(v)) throw new RangeError(`metrics option ${name} must be a finite number, got ${v}`);
  return Math.min(max, Math.max(min, Math.floor(v)));
}

export function parseMetricsOptions(o: MetricsOptions = {}): ParsedMetricsOptions {
  const historySeconds = clampInt('historySeconds', o.historySeconds, 300, 10, 3600);
  return {
    historySeconds,
    rateWindowSeconds: clampInt('rateWindowSeconds', o.rateWindowSeconds, 10, 1, historySeconds),
    recentSlots: clampInt('recentSlots', o.recentSlots, 6, 1, 60),
    recentSlotMs: clampInt('recentSlotMs', o.recentSlotMs, 10_000, 100, 3_600_000),
    latencyMsMax: clampInt('latencyMsMax', o.latencyMsMax, 3_600_000, 1000, 86_400_000),
    currenciesMax: clampInt('currenciesMax', o.currenciesMax, 256, 1, 10_000),
    rulesMax: clampInt('rulesMax', o.rulesMax, 256, 1, 10_000),
    deadLetterReasonsMax: clampInt('deadLetterReasonsMax', o.deadLetterReasonsMax, 64, 1, 10_000),
    alertsMax: clampInt('alertsMax', o.alertsMax, 200, 1, 10_000),
    batchesMax: clampInt('batchesMax', o.batchesMax, 50, 1, 10_000),
    lagWarnMessages: clampInt('lagWarnMessages', o.lagWarnMessages, 1000, 1, Number.MAX_SAFE_INTEGER),
    idleWarnMs: clampInt('idleWarnMs', o.idleWarnMs, 30_000, 1000, DAY_MS),
    topKeysMax: clampInt('topKeysMax', o.topKeysMax, 256, 8, 100_000),
    topCurrenciesMax: clampInt('topCurrenciesMax', o.topCurrenciesMax, 8, 1, 256),
    topShown: clampInt('topShown', o.topShown, 10, 1, 100),
    ...(o.startedAtMs === undefined ? {} : { startedAtMs: o.startedAtMs }),
  };
}

export function utcDay(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/** Totals of one period (since start, or today). Currencies are bounded by `currenciesMax`. */
class PeriodTotals {
  orders = 0;
  byStatus = new Map<ResultStatus, number>();
  currencies = new Map<string, Map<ResultStatus, AmountTotal>>();
  /** orders whose currency did not fit under the bound: counted, not totalled */
  untrackedCurrencyOrders = 0;

  constructor(private readonly currenciesMax: number) {}

  add(status: ResultStatus, currency: string | undefined, amountMinor: bigint | undefined): void {
    this.orders++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    if (currency === undefined || amountMinor === undefined) return;
    let perStatus = this.currencies.get(currency);
    if (!perStatus) {
      if (this.currencies.size >= this.currenciesMax) {
        this.untrackedCurrencyOrders++;
        return;
      }
      perStatus = new Map();
      this.currencies.set(currency, perStatus);
    }
    const t = perStatus.get(status);
    if (t) {
      t.count++;
      t.amountMinor += amountMinor;
    } else perStatus.set(status, { count: 1, amountMinor });
  }

  view(): TotalsPeriod {
    const currencies = [...this.currencies.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([currency, m]) => {
        const byStatus: Partial<Record<ResultStatus, AmountTotal>> = {};
        for (const s of RESULT_STATUSES) {
          const t = m.get(s);
          if (t) byStatus[s] = { ...t };
        }
        return { currency, byStatus };
      });
    return { orders: this.orders, byStatus: Object.fromEntries(this.byStatus), currencies };
  }
}

interface SecondBucket {
  epochSec: number;
  total: number;
  byStatus: Map<ResultStatus, number>;
}

/** Counts per whole second in a ring of `size` seconds; a bucket is reused when its second has passed. */
class SecondRing {
  private readonly buckets: SecondBucket[];
  constructor(readonly size: number) {
    this.buckets = Array.from({ length: size }, () => ({ epochSec: -1, total: 0, byStatus: new Map() }));
  }

  private at(epochSec: number): SecondBucket | undefined {
    const b = this.buckets[((epochSec % this.size) + this.size) % this.size]!;
    return b.epochSec === epochSec ? b : undefined;
  }

  add(nowMs: number, status: ResultStatus, newestSec: number): void {
    const sec = Math.floor(nowMs / 1000);
    if (sec <= newestSec - this.size) return; // older than the ring: too late to show
    let b = this.at(sec);
    if (!b) {
      b = this.buckets[((sec % this.size) + this.size) % this.size]!;
      if (b.epochSec > sec) return; // slot holds a newer second: never overwrite newer history
      b.epochSec = sec;
      b.total = 0;
      b.byStatus.clear();
    }
    b.total++;
    b.byStatus.set(status, (b.byStatus.get(status) ?? 0) + 1);
  }

  total(epochSec: number): number {
    return this.at(epochSec)?.total ?? 0;
  }

  status(epochSec: number, s: ResultStatus): number {
    return this.at(epochSec)?.byStatus.get(s) ?? 0;
  }
}

const emptyStats = (): LatencyStats => ({ count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 });

function statsOf(h: Histogram): LatencyStats {
  if (h.totalCount === 0) return emptyStats();
  return {
    count: h.totalCount,
    p50Ms: h.getValueAtPercentile(50),
    p95Ms: h.getValueAtPercentile(95),
    p99Ms: h.getValueAtPercentile(99),
    maxMs: h.maxValue,
  };
}

/** Bounded counter map: at `max` distinct keys, new keys are counted under `other`. */
class BoundedCounts<K extends string> {
  readonly counts = new Map<K | typeof OTHER_KEY, number>();
  total = 0;
  constructor(private readonly max: number) {}
  inc(key: K): K | typeof OTHER_KEY {
    const k = this.counts.has(key) || this.counts.size < this.max - 1 ? key : OTHER_KEY;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.total++;
    return k;
  }
  sorted(): [K | typeof OTHER_KEY, number][] {
    return [...this.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  }
}

/** One number per whole second in a ring of `size` seconds; a slot is reused when its second has passed. */
class SecondSamples {
  private readonly secs: Float64Array;
  private readonly values: Float64Array;
  constructor(readonly size: number) {
    this.secs = new Float64Array(size).fill(-1);
    this.values = new Float64Array(size);
  }

  private slot(sec: number): number {
    return ((sec % this.size) + this.size) % this.size;
  }

  get(sec: number): number | undefined {
    const i = this.slot(sec);
    return this.secs[i] === sec ? this.values[i] : undefined;
  }

  set(sec: number, value: number): void {
    const i = this.slot(sec);
    this.secs[i] = sec;
    this.values[i] = value;
  }

  /** The seconds `fromSec` (included) to `toSec` (excluded), oldest first; 0 where none was set. */
  series(fromSec: number, toSec: number): number[] {
    const out: number[] = [];
    for (let s = fromSec; s < toSec; s++) out.push(this.get(s) ?? 0);
    return out;
  }
}

/** Latency percentiles of each second: one small histogram for the open second, closed into two rings. */
class LatencySeconds {
  readonly p50: SecondSamples;
  readonly p99: SecondSamples;
  private sec = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    size: number,
    private readonly open: Histogram,
  ) {
    this.p50 = new SecondSamples(size);
    this.p99 = new SecondSamples(size);
  }

  /** A value for a second already closed (or older than the open one) only counts in the other histograms. */
  record(latencyMs: number, sec: number, count: number): void {
    if (sec < this.sec || (sec === this.sec && this.closed)) return;
    if (sec > this.sec) {
      this.close();
      this.sec = sec;
      this.closed = false;
    }
    this.open.recordValueWithCount(latencyMs, count);
  }

  /** Closes the open second once `curSec` has passed it: its percentiles go into the rings. */
  closeBefore(curSec: number): void {
    if (this.sec < curSec) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.open.totalCount === 0) return;
    this.p50.set(this.sec, this.open.getValueAtPercentile(50));
    this.p99.set(this.sec, this.open.getValueAtPercentile(99));
    this.open.reset();
  }
}

/** Pending messages per second: the most reported in a second, and the last one carried over quiet seconds. */
class LagSeconds {
  private readonly samples: SecondSamples;
  private lastSec = Number.NEGATIVE_INFINITY;
  private lastPending = 0;

  constructor(size: number) {
    this.samples = new SecondSamples(size);
  }

  get known(): boolean {
    return this.lastSec > Number.NEGATIVE_INFINITY;
  }

  /** A report older than the newest is dropped: the trend only moves forward. */
  record(pending: number, sec: number): void {
    if (sec < this.lastSec) return;
    if (sec === this.lastSec) this.samples.set(sec, Math.max(this.samples.get(sec) ?? 0, pending));
    else {
      this.carryTo(sec - 1);
      this.samples.set(sec, pending);
      this.lastSec = sec;
    }
    this.lastPending = pending;
  }

  /** The seconds `fromSec` (included) to `toSec` (excluded), quiet ones carrying the last report. */
  series(fromSec: number, toSec: number): number[] {
    if (this.known) this.carryTo(toSec - 1);
    return this.samples.series(fromSec, toSec);
  }

  /** Fills the quiet seconds after the newest report up to `sec` (at most a ring's worth: O(1) amortized). */
  private carryTo(sec: number): void {
    if (!this.known || sec <= this.lastSec) return;
    for (let s = Math.max(this.lastSec + 1, sec - this.samples.size + 1); s <= sec; s++) {
      this.samples.set(s, this.lastPending);
    }
    this.lastSec = sec;
  }
}

/** Results that moved or reserved money: a capture is not counted again (its authorization was). */
export const VOLUME_STATUSES: ReadonlySet<ResultStatus> = new Set<ResultStatus>(['approved', 'authorized', 'held']);

interface VolumeEntry {
  key: string;
  count: number;
  amountMinor: bigint;
  /** a card's digits shown (its label, masked at snapshot time): copied, so no card record is kept */
  first6?: string;
  last4?: string;
}

/**
 * Amount and count per key (a merchant or a card token) of one currency in one slot, bounded by `max` keys:
 * at the bound the lower half by amount is dropped in one O(max) pass, once per max/2 new keys, so adding
 * stays O(1) amortized and the heavy keys stay.
 */
export class VolumeMap {
  readonly entries = new Map<string, VolumeEntry>();
  /** the same entries in an array, for the drop (no allocation there) */
  private readonly list: VolumeEntry[] = [];
  constructor(private readonly max: number) {}

  add(key: string, amountMinor: bigint, card?: Pick<Card, 'first6' | 'last4'>): void {
    const e = this.entries.get(key);
    if (e) {
      e.count++;
      e.amountMinor += amountMinor;
      return;
    }
    if (this.list.length >= this.max) this.dropLowerHalf();
    const entry: VolumeEntry = card
      ? { key, count: 1, amountMinor, first6: card.first6, last4: card.last4 }
      : { key, count: 1, amountMinor };
    this.entries.set(key, entry);
    this.list.push(entry);
  }

  private dropLowerHalf(): void {
    const keep = Math.floor(this.max / 2);
    selectLargest(this.list, keep, (e) => e.amountMinor);
    for (let i = keep; i < this.list.length; i++) this.entries.delete(this.list[i]!.key);
    this.list.length = keep;
  }
}

/** Moves the `k` items with the largest `value` to the front of `items` (in no order): quickselect, O(n) expected. */
export function selectLargest<T>(items: T[], k: number, value: (item: T) => bigint): void {
  let lo = 0;
  let hi = items.length - 1;
  while (lo < hi && k > lo && k <= hi) {
    const pivot = value(items[lo + Math.floor((hi - lo) / 2)]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (value(items[i]!) > pivot) i++;
      while (value(items[j]!) < pivot) j--;
      if (i <= j) {
        [items[i], items[j]] = [items[j]!, items[i]!];
        i++;
        j--;
      }
    }
    // [lo, j] >= pivot >= [i, hi]; the k-th boundary lies in one side (or between them: done)
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

interface SlotVolume {
  orders: number;
  amountMinor: bigint;
  merchants: VolumeMap;
  cards: VolumeMap;
}

/** Volume per currency in rotating slots (the recent window), each with bounded merchant and card maps. */
class TopVolume {
  private readonly slots: { slot: number; currencies: Map<string, SlotVolume>; unranked: number }[];

  constructor(private readonly o: ParsedMetricsOptions) {
    this.slots = Array.from({ length: o.recentSlots }, () => ({ slot: -1, currencies: new Map(), unranked: 0 }));
  }

  /** O(1) amortized: two map updates; nothing sorted. A duplicate's answer moved nothing again: not counted. */
  add(ev: ProcessedEvent, nowMs: number): void {
    if (!VOLUME_STATUSES.has(ev.result.status) || ev.result.duplicate) return;
    if (ev.currency === undefined || ev.amountMinor === undefined) return;
    const slot = Math.floor(nowMs / this.o.recentSlotMs);
    const s = this.slots[slot % this.slots.length]!;
    if (s.slot !== slot) {
      if (s.slot > slot) return; // older than the window
      s.slot = slot;
      s.currencies.clear();
      s.unranked = 0;
    }
    let c = s.currencies.get(ev.currency);
    if (!c) {
      if (s.currencies.size >= this.o.topCurrenciesMax) {
        s.unranked++;
        return;
      }
      c = { orders: 0, amountMinor: 0n, merchants: new VolumeMap(this.o.topKeysMax), cards: new VolumeMap(this.o.topKeysMax) };
      s.currencies.set(ev.currency, c);
    }
    c.orders++;
    c.amountMinor += ev.amountMinor;
    if (ev.merchant !== undefined) c.merchants.add(ev.merchant, ev.amountMinor);
    if (ev.card !== undefined) c.cards.add(ev.card.token, ev.amountMinor, ev.card);
  }

  /** The slots in the window merged, per currency, and the top `topShown` of each kind: sorted here, not per order. */
  view(nowMs: number): TopVolumeView {
    const curSlot = Math.floor(nowMs / this.o.recentSlotMs);
    const merged = new Map<string, { orders: number; amountMinor: bigint; merchants: Map<string, VolumeEntry>; cards: Map<string, VolumeEntry> }>();
    let unrankedOrders = 0;
    for (const s of this.slots) {
      if (s.slot <= curSlot - this.slots.length || s.slot > curSlot) continue;
      unrankedOrders += s.unranked;
      for (const [currency, c] of s.currencies) {
        let m = merged.get(currency);
        if (!m) {
          m = { orders: 0, amountMinor: 0n, merchants: new Map(), cards: new Map() };
          merged.set(currency, m);
        }
        m.orders += c.orders;
        m.amountMinor += c.amountMinor;
        mergeEntries(m.merchants, c.merchants.entries);
        mergeEntries(m.cards, c.cards.entries);
      }
    }
    const currencies = [...merged].map(([currency, m]) => ({
      currency,
      orders: m.orders,
      amountMinor: m.amountMinor,
      merchants: topRows(m.merchants, this.o.topShown),
      cards: topRows(m.cards, this.o.topShown),
    }));
    currencies.sort((a, b) => b.orders - a.orders || (a.currency < b.currency ? -1 : 1));
    return { windowMs: this.o.recentSlots * this.o.recentSlotMs, currencies, unrankedOrders };
  }
}

function mergeEntries(into: Map<string, VolumeEntry>, from: Map<string, VolumeEntry>): void {
  for (const [key, e] of from) {
    const m = into.get(key);
    if (m) {
      m.count += e.count;
      m.amountMinor += e.amountMinor;
    } else into.set(key, { ...e });
  }
}

function topRows(entries: Map<string, VolumeEntry>, n: number): VolumeRow[] {
  return [...entries.values()]
    .sort((a, b) => (a.amountMinor === b.amountMinor ? (a.key < b.key ? -1 : 1) : a.amountMinor > b.amountMinor ? -1 : 1))
    .slice(0, n)
    .map((e) => ({
      label: e.first6 !== undefined && e.last4 !== undefined ? panDisplay(e.first6, e.last4) : e.key,
      count: e.count,
      amountMinor: e.amountMinor,
    }));
}

const DEFAULT_STATUS: ProcessorStatus = {
  natsUrl: '',
  connection: 'disconnected',
  stream: '',
  consumer: '',
  pendingMessages: undefined,
  ledgerPath: '',
  startedAtMs: 0,
  state: 'starting',
};

export class MetricsAggregator {
  readonly options: ParsedMetricsOptions;
  private status: ProcessorStatus;
  private readonly ring: SecondRing;
  private newestSec = Number.NEGATIVE_INFINITY;
  private lastResultAtMs: number | undefined;
  private readonly sinceStart: PeriodTotals;
  private today: PeriodTotals;
  private todayDay = Number.NEGATIVE_INFINITY;
  private readonly latencyRun: Histogram;
  private readonly recent: { slot: number; h: Histogram }[];
  private readonly recentMerged: Histogram;
  private readonly latencySeconds: LatencySeconds;
  private readonly lag: LagSeconds;
  private readonly top: TopVolume;
  private readonly rules: BoundedCounts<string>;
  private readonly deadLetters: BoundedCounts<DlqReason>;
  private readonly alerts: AlertEntry[] = [];
  private batches: BatchProgress[] = [];
  private reviewQueueSize = 0;
  private firstSeenMs: number | undefined;
  private latestMs = 0;
  private changes = 0;
  private alertSeq = 0;
  /** recordResults' count of each latency below its length (ms) in the buffer at hand, and which it saw */
  private readonly latencyTally = { counts: new Uint32Array(10_000), values: [] as number[] };

  constructor(options: MetricsOptions = {}) {
    this.options = parseMetricsOptions(options);
    const o = this.options;
    this.status = { ...DEFAULT_STATUS, startedAtMs: o.startedAtMs ?? 0 };
    this.ring = new SecondRing(o.historySeconds + 1);
    this.sinceStart = new PeriodTotals(o.currenciesMax);
    this.today = new PeriodTotals(o.currenciesMax);
    // the per-second one only feeds a sparkline: two significant digits keep its close cheap
    const histogram = (digits: 2 | 3 = 3) =>
      hdr.build({
        useWebAssembly: false,
        autoResize: false,
        lowestDiscernibleValue: 1,
        highestTrackableValue: o.latencyMsMax,
        numberOfSignificantValueDigits: digits,
      });
    this.latencyRun = histogram();
    this.recent = Array.from({ length: o.recentSlots }, () => ({ slot: -1, h: histogram() }));
    this.recentMerged = histogram();
    this.latencySeconds = new LatencySeconds(o.historySeconds + 1, histogram(2));
    this.lag = new LagSeconds(o.historySeconds + 1);
    this.top = new TopVolume(o);
    this.rules = new BoundedCounts(o.rulesMax);
    this.deadLetters = new BoundedCounts(o.deadLetterReasonsMax);
  }

  /** Increases on every change; lets a renderer skip frames when nothing moved. */
  get version(): number {
    return this.changes;
  }

  private touch(nowMs: number): void {
    this.changes++;
    if (this.firstSeenMs === undefined) this.firstSeenMs = nowMs;
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    const day = Math.floor(nowMs / DAY_MS);
    if (day > this.todayDay) {
      this.todayDay = day;
      this.today = new PeriodTotals(this.options.currenciesMax);
    }
  }

  recordResult(ev: ProcessedEvent, nowMs: number): void {
    this.recordLatency(this.countResult(ev, nowMs), 1, nowMs);
  }

  /**
   * Records results that arrived at one time (a buffer's), as recordResult does for each in turn, but each
   * distinct latency once with its count: a histogram's record costs as much for one order as for a thousand.
   */
  recordResults(events: readonly ProcessedEvent[], nowMs: number): void {
    const tally = this.latencyTally;
    for (const ev of events) {
      const v = this.countResult(ev, nowMs);
      if (!(v < tally.counts.length)) {
        this.recordLatency(v, 1, nowMs);
        continue;
      }
      const seen = tally.counts[v]!;
      tally.counts[v] = seen + 1;
      if (seen === 0) tally.values.push(v);
    }
    for (const v of tally.values) {
      this.recordLatency(v, tally.counts[v]!, nowMs);
      tally.counts[v] = 0;
    }
    tally.values.length = 0;
  }

  /** Counts a result in the totals, throughput and top volume; returns its latency as the histograms take it. */
  private countResult(ev: ProcessedEvent, nowMs: number): number {
    this.touch(nowMs);
    const status = ev.result.status;
    const sec = Math.floor(nowMs / 1000);
    if (sec > this.newestSec) this.newestSec = sec;
    this.ring.add(nowMs, status, this.newestSec);
    if (this.lastResultAtMs === undefined || nowMs > this.lastResultAtMs) this.lastResultAtMs = nowMs;

    this.sinceStart.add(status, ev.currency, ev.amountMinor);
    // A late event from a previous UTC day still counts since start, not today.
    if (Math.floor(nowMs / DAY_MS) === this.todayDay) this.today.add(status, ev.currency, ev.amountMinor);

    let latencyMs = ev.result.latencyMs;
    if (!Number.isFinite(latencyMs)) latencyMs = nowMs - (ev.createdAtMs ?? ev.receivedAtMs);
    this.top.add(ev, nowMs);
    return Math.min(this.options.latencyMsMax, Math.max(0, Math.round(latencyMs)));
  }

  /** `count` results of latency `v` into the run's, the second's and the recent window's histograms. */
  private recordLatency(v: number, count: number, nowMs: number): void {
    this.latencyRun.recordValueWithCount(v, count);
    this.latencySeconds.record(v, Math.floor(nowMs / 1000), count);
    const slot = Math.floor(nowMs / this.options.recentSlotMs);
    const r = this.recent[slot % this.recent.length]!;
    if (r.slot !== slot) {
      if (r.slot > slot) return; // too old for the recent window
      r.slot = slot;
      r.h.reset();
    }
    r.h.recordValueWithCount(v, count);
  }

  recordDeadLetter(reason: DlqReason, nowMs: number): void {
    this.touch(nowMs);
    const k = this.deadLetters.inc(reason);
    this.alert(nowMs, 'dead_letter', `dead letter: ${k}`);
  }

  /**
   * Counts a rule a published result names: held and review-flagged orders, `risk_blocked` declines, expired
   * and future-dated orders, and the decline of a held order (it names the rule that held it). A monitor-only
   * (`allow`) rule changes no result and names none, so its hits never reach the dashboard: only the risk
   * engine's own hit counts include them.
   */
  recordRuleHit(ruleId: string, nowMs: number): void {
    this.touch(nowMs);
    const k = this.rules.inc(ruleId);
    this.alert(nowMs, 'rule', `rule hit: ${k}`);
  }

  /** Adds an alert to the recent ring; an alert equal to the newest one is folded into it. */
  alert(nowMs: number, kind: AlertKind, text: string): void {
    this.changes++;
    const last = this.alerts[this.alerts.length - 1];
    if (last && last.kind === kind && last.text === text) {
      last.repeat++;
      last.atMs = nowMs;
      return;
    }
    this.alerts.push({ seq: ++this.alertSeq, atMs: nowMs, kind, text, repeat: 1 });
    if (this.alerts.length > this.options.alertsMax) this.alerts.shift();
  }

  /** Merges into the current status; connection changes and new errors become alerts (at nowMs if given). */
  setStatus(status: Partial<ProcessorStatus>, nowMs?: number): void {
    const prev = this.status;
    this.status = { ...prev, ...status };
    this.changes++;
    const at = nowMs ?? this.latestMs;
    const c = status.connection;
    // The first connect while starting is not news; every later change (and recovery) is.
    const initial = prev.state === 'starting' && (c === 'connected' || c === 'offline');
    if (c && c !== prev.connection && !initial) this.alert(at, 'connection', `NATS ${c}`);
    if (status.lastError && status.lastError !== prev.lastError) this.alert(at, 'error', status.lastError);
  }

  setBatches(batches: BatchProgress[]): void {
    const before = new Map(this.batches.map((b) => [b.batchId, b.state]));
    this.batches = batches.slice(0, this.options.batchesMax);
    this.changes++;
    for (const b of this.batches) {
      if ((b.state === 'rejected' || b.state === 'declined') && before.get(b.batchId) !== b.state) {
        this.alert(this.latestMs, 'batch', `batch ${b.batchId} ${b.state}`);
      }
    }
  }

  setReviewQueueSize(n: number): void {
    this.reviewQueueSize = Math.max(0, Math.floor(n));
    this.changes++;
  }

  /** The consumer's lag as the source reports it (with each buffer): the header's figure and the trend's sample. */
  recordPending(pending: number, nowMs: number): void {
    this.setStatus({ pendingMessages: pending }, nowMs);
    this.lag.record(pending, Math.floor(nowMs / 1000));
  }

  snapshot(nowMs: number): DashboardSnapshot {
    const o = this.options;
    if (Math.floor(nowMs / DAY_MS) > this.todayDay) {
      this.todayDay = Math.floor(nowMs / DAY_MS);
      this.today = new PeriodTotals(o.currenciesMax);
    }
    const startedAtMs = this.status.startedAtMs || this.firstSeenMs || nowMs;
    const status = { ...this.status, startedAtMs };
    const curSec = Math.floor(nowMs / 1000);
    return {
      atMs: nowMs,
      uptimeMs: Math.max(0, nowMs - startedAtMs),
      status,
      health: this.health(status, nowMs),
      throughput: this.throughputView(nowMs),
      totals: { sinceStart: this.sinceStart.view(), today: this.today.view(), todayUtc: utcDay(nowMs) },
      latency: this.latencyView(nowMs),
      lag: { pendingPerSecond: this.lag.series(curSec - o.historySeconds, curSec), known: this.lag.known },
      top: this.top.view(nowMs),
      batches: this.batches.map((b) => ({ ...b })),
      alerts: {
        ruleHits: this.rules.sorted().map(([ruleId, count]) => ({ ruleId, count })),
        ruleHitsTotal: this.rules.total,
        deadLetters: this.deadLetters.sorted().map(([reason, count]) => ({ reason, count })),
        deadLettersTotal: this.deadLetters.total,
        reviewQueueSize: this.reviewQueueSize,
        recent: this.alerts.map((a) => ({ ...a })).reverse(),
      },
    };
  }

  private throughputView(nowMs: number): ThroughputView {
    const o = this.options;
    const curSec = Math.floor(nowMs / 1000);
    const perSecond: number[] = [];
    for (let s = curSec - o.historySeconds; s < curSec; s++) perSecond.push(this.ring.total(s));
    const fraction = (nowMs - curSec * 1000) / 1000;
    const ordersPerSecond = this.ring.total(curSec) + this.ring.total(curSec - 1) * (1 - fraction);
    const ratesPerSecond: Partial<Record<ResultStatus, number>> = {};
    for (const st of RESULT_STATUSES) {
      let n = 0;
      for (let s = curSec - o.rateWindowSeconds; s < curSec; s++) n += this.ring.status(s, st);
      if (n > 0) ratesPerSecond[st] = n / o.rateWindowSeconds;
    }
    return {
      ordersPerSecond,
      perSecond,
      peakPerSecond: perSecond.reduce((a, b) => Math.max(a, b), 0),
      ratesPerSecond,
      rateWindowSeconds: o.rateWindowSeconds,
      lastResultAtMs: this.lastResultAtMs,
    };
  }

  private latencyView(nowMs: number): LatencyView {
    const o = this.options;
    const curSlot = Math.floor(nowMs / o.recentSlotMs);
    this.recentMerged.reset();
    for (const r of this.recent) {
      if (r.slot > curSlot - o.recentSlots && r.slot <= curSlot) this.recentMerged.add(r.h);
    }
    const curSec = Math.floor(nowMs / 1000);
    this.latencySeconds.closeBefore(curSec);
    const from = curSec - o.historySeconds;
    return {
      run: statsOf(this.latencyRun),
      recent: statsOf(this.recentMerged),
      recentWindowMs: o.recentSlots * o.recentSlotMs,
      perSecond: {
        p50Ms: this.latencySeconds.p50.series(from, curSec),
        p99Ms: this.latencySeconds.p99.series(from, curSec),
      },
    };
  }

  private health(status: ProcessorStatus, nowMs: number): HealthProblem[] {
    const out: HealthProblem[] = [];
    if (status.connection === 'reconnecting') {
      out.push({ level: 'error', code: 'nats_down', text: 'NATS down — reconnecting' });
    } else if (status.connection === 'disconnected' && status.state !== 'starting') {
      out.push({ level: 'error', code: 'nats_disconnected', text: 'NATS disconnected' });
    }
    const pending = status.pendingMessages;
    if (pending !== undefined && pending >= this.options.lagWarnMessages) {
      out.push({ level: 'warn', code: 'consumer_lagging', text: `consumer lagging: ${pending} pending` });
    }
    if (status.lastError)
      out.push({ level: 'warn', code: 'last_error', text: `last error: ${status.lastError}` });
    if (this.lastResultAtMs === undefined) {
      out.push({ level: 'info', code: 'no_traffic', text: 'no traffic yet' });
    } else if (status.state === 'running' && nowMs - this.lastResultAtMs >= this.options.idleWarnMs) {
      const s = Math.floor((nowMs - this.lastResultAtMs) / 1000);
      out.push({ level: 'info', code: 'idle', text: `idle: no orders for ${s}s` });
    }
    return out;
  }
}
