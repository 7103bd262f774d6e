// Pure aggregation of processed orders into the figures the dashboard and Prometheus show.
// No I/O and no clock: every call that depends on time takes `nowMs`. Every map and ring is bounded.

import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { DlqReason } from '../domain/reasons.ts';
import { RESULT_STATUSES, type OrderResult, type OrderType, type ResultStatus } from '../domain/types.ts';

export interface ProcessedEvent {
  result: OrderResult;
  type?: OrderType;
  amountMinor?: bigint;
  currency?: string;
  createdAtMs?: number;
  receivedAtMs: number;
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
  private readonly rules: BoundedCounts<string>;
  private readonly deadLetters: BoundedCounts<DlqReason>;
  private readonly alerts: AlertEntry[] = [];
  private batches: BatchProgress[] = [];
  private reviewQueueSize = 0;
  private firstSeenMs: number | undefined;
  private latestMs = 0;
  private changes = 0;
  private alertSeq = 0;

  constructor(options: MetricsOptions = {}) {
    this.options = parseMetricsOptions(options);
    const o = this.options;
    this.status = { ...DEFAULT_STATUS, startedAtMs: o.startedAtMs ?? 0 };
    this.ring = new SecondRing(o.historySeconds + 1);
    this.sinceStart = new PeriodTotals(o.currenciesMax);
    this.today = new PeriodTotals(o.currenciesMax);
    const histogram = () =>
      hdr.build({
        useWebAssembly: false,
        autoResize: false,
        lowestDiscernibleValue: 1,
        highestTrackableValue: o.latencyMsMax,
        numberOfSignificantValueDigits: 3,
      });
    this.latencyRun = histogram();
    this.recent = Array.from({ length: o.recentSlots }, () => ({ slot: -1, h: histogram() }));
    this.recentMerged = histogram();
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
    const v = Math.min(this.options.latencyMsMax, Math.max(0, Math.round(latencyMs)));
    this.latencyRun.recordValue(v);
    const slot = Math.floor(nowMs / this.options.recentSlotMs);
    const r = this.recent[slot % this.recent.length]!;
    if (r.slot !== slot) {
      if (r.slot > slot) return; // too old for the recent window
      r.slot = slot;
      r.h.reset();
    }
    r.h.recordValue(v);
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

  snapshot(nowMs: number): DashboardSnapshot {
    const o = this.options;
    if (Math.floor(nowMs / DAY_MS) > this.todayDay) {
      this.todayDay = Math.floor(nowMs / DAY_MS);
      this.today = new PeriodTotals(o.currenciesMax);
    }
    const startedAtMs = this.status.startedAtMs || this.firstSeenMs || nowMs;
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

    const curSlot = Math.floor(nowMs / o.recentSlotMs);
    this.recentMerged.reset();
    for (const r of this.recent) {
      if (r.slot > curSlot - o.recentSlots && r.slot <= curSlot) this.recentMerged.add(r.h);
    }

    const status = { ...this.status, startedAtMs };
    const throughput: ThroughputView = {
      ordersPerSecond,
      perSecond,
      peakPerSecond: perSecond.reduce((a, b) => Math.max(a, b), 0),
      ratesPerSecond,
      rateWindowSeconds: o.rateWindowSeconds,
      lastResultAtMs: this.lastResultAtMs,
    };
    return {
      atMs: nowMs,
      uptimeMs: Math.max(0, nowMs - startedAtMs),
      status,
      health: this.health(status, nowMs),
      throughput,
      totals: { sinceStart: this.sinceStart.view(), today: this.today.view(), todayUtc: utcDay(nowMs) },
      latency: {
        run: statsOf(this.latencyRun),
        recent: statsOf(this.recentMerged),
        recentWindowMs: o.recentSlots * o.recentSlotMs,
      },
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
