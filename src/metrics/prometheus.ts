// Exposes the dashboard's figures on /metrics for Prometheus, read from one aggregator snapshot per scrape.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DashboardSnapshot, MetricsAggregator } from './aggregator.ts';
import { formatAmount } from '../domain/money.ts';

/**
 * Major units as a float for Prometheus, built from the exact decimal string (never minor / 10**exp,
 * which would add its own rounding). Undefined for a currency money.ts does not know.
 */
export function majorUnits(amountMinor: bigint, currency: string): number | undefined {
  try {
    return Number(formatAmount(amountMinor, currency, { grouping: false }));
  } catch {
    return undefined;
  }
}

export interface MetricsRegistry {
  registry: Registry;
  /** Takes one snapshot and renders every metric from it (Prometheus text format). */
  scrape(): Promise<string>;
}

export { METRICS_PORT_BOUNDS } from './port.ts';

type Totals = DashboardSnapshot['totals']['sinceStart'];

/** Each currency's amounts by status, in major units; currencies money.ts does not know are left out. */
function eachAmount(totals: Totals, each: (labels: { currency: string; status: string }, major: number) => void): void {
  for (const c of totals.currencies) {
    for (const [status, t] of Object.entries(c.byStatus)) {
      const v = t && majorUnits(t.amountMinor, c.currency);
      if (v !== undefined) each({ currency: c.currency, status }, v);
    }
  }
}

interface MetricSpec {
  name: string;
  help: string;
  labelNames?: string[];
}
interface CounterSpec extends MetricSpec {
  kind: 'counter';
  read(counter: Counter<string>, snap: DashboardSnapshot): void;
}
interface GaugeSpec extends MetricSpec {
  kind: 'gauge';
  read(gauge: Gauge<string>, snap: DashboardSnapshot): void;
}

/** Every metric, in the order it is rendered, and how it is read from a snapshot. */
const METRICS: ReadonlyArray<CounterSpec | GaugeSpec> = [
  {
    kind: 'counter',
    name: 'paystream_orders_total',
    help: 'Orders processed since start, by result status',
    labelNames: ['status'],
    read(m, snap) {
      m.reset();
      for (const [status, n] of Object.entries(snap.totals.sinceStart.byStatus)) m.inc({ status }, n ?? 0);
    },
  },
  // Amounts only ever grow within a run, so a counter: rate()/increase() then work across restarts.
  {
    kind: 'counter',
    name: 'paystream_order_amount_total',
    help: 'Sum of order amounts since start in major units of the currency, by currency and status',
    labelNames: ['currency', 'status'],
    read(m, snap) {
      m.reset();
      eachAmount(snap.totals.sinceStart, (labels, v) => m.inc(labels, v));
    },
  },
  {
    kind: 'gauge',
    name: 'paystream_order_amount_today',
    help: 'Sum of order amounts today (UTC) in major units of the currency, by currency and status',
    labelNames: ['currency', 'status'],
    read(m, snap) {
      m.reset();
      eachAmount(snap.totals.today, (labels, v) => m.set(labels, v));
    },
  },
  {
    kind: 'gauge',
    name: 'paystream_orders_per_second',
    help: 'Orders processed in the last second',
    read: (m, snap) => m.set(snap.throughput.ordersPerSecond),
  },
  {
    kind: 'counter',
    name: 'paystream_dead_letters_total',
    help: 'Messages sent to the dead-letter subject, by reason',
    labelNames: ['reason'],
    read(m, snap) {
      m.reset();
      for (const d of snap.alerts.deadLetters) m.inc({ reason: d.reason }, d.count);
    },
  },
  {
    kind: 'counter',
    name: 'paystream_rule_hits_total',
    help: 'Risk rule hits, by rule id',
    labelNames: ['rule'],
    read(m, snap) {
      m.reset();
      for (const r of snap.alerts.ruleHits) m.inc({ rule: r.ruleId }, r.count);
    },
  },
  {
    kind: 'gauge',
    name: 'paystream_review_queue_size',
    help: 'Orders held for operator review',
    read: (m, snap) => m.set(snap.alerts.reviewQueueSize),
  },
  {
    kind: 'gauge',
    name: 'paystream_consumer_pending_messages',
    help: 'Messages the durable consumer has not yet delivered (lag); absent when unknown',
    read(m, snap) {
      m.reset();
      if (snap.status.pendingMessages !== undefined) m.set(snap.status.pendingMessages);
    },
  },
  {
    kind: 'gauge',
    name: 'paystream_nats_connected',
    help: '1 when connected to NATS (or replaying offline), 0 when reconnecting or disconnected',
    labelNames: ['connection'],
    read(m, snap) {
      m.reset();
      const c = snap.status.connection;
      m.set({ connection: c }, c === 'connected' || c === 'offline' ? 1 : 0);
    },
  },
  {
    kind: 'gauge',
    name: 'paystream_processor_state',
    help: '1 for the processor state it is in',
    labelNames: ['state'],
    read(m, snap) {
      m.reset();
      for (const s of ['starting', 'running', 'paused', 'draining', 'stopped'] as const) m.set({ state: s }, snap.status.state === s ? 1 : 0);
    },
  },
  {
    kind: 'gauge',
    name: 'paystream_batches_open',
    help: 'Batches in flight',
    read: (m, snap) => m.set(snap.batches.filter((b) => b.state === 'open').length),
  },
  {
    kind: 'gauge',
    name: 'paystream_order_latency_seconds',
    help: 'Order latency quantiles from createdAt (or arrival) to result, over the run or the recent window',
    labelNames: ['window', 'quantile'],
    read(m, snap) {
      m.reset();
      for (const [window, l] of [
        ['run', snap.latency.run],
        ['recent', snap.latency.recent],
      ] as const) {
        if (l.count === 0) continue;
        m.set({ window, quantile: '0.5' }, l.p50Ms / 1000);
        m.set({ window, quantile: '0.95' }, l.p95Ms / 1000);
        m.set({ window, quantile: '0.99' }, l.p99Ms / 1000);
        m.set({ window, quantile: '1' }, l.maxMs / 1000);
      }
    },
  },
];

/** A registry of its own (never prom-client's global one) whose metrics are read from the aggregator. */
export function buildRegistry(
  aggregator: MetricsAggregator,
  clock: () => number = Date.now,
): MetricsRegistry {
  const registry = new Registry();
  let snap: DashboardSnapshot = aggregator.snapshot(clock());
  const registers = [registry];
  for (const spec of METRICS) {
    const config = { name: spec.name, help: spec.help, labelNames: spec.labelNames ?? [], registers };
    if (spec.kind === 'counter') {
      new Counter({ ...config, collect() { spec.read(this, snap); } });
    } else {
      new Gauge({ ...config, collect() { spec.read(this, snap); } });
    }
  }
  collectDefaultMetrics({ register: registry, prefix: 'paystream_' });

  return {
    registry,
    async scrape() {
      snap = aggregator.snapshot(clock());
      return registry.metrics();
    },
  };
}

/** Serves GET /metrics; port 0 picks a free port (returned). Binds to loopback unless told otherwise. */
export async function startMetricsServer(
  aggregator: MetricsAggregator,
  port: number,
  host = '127.0.0.1',
  options: { clock?: () => number } = {},
): Promise<{ port: number; close(): Promise<void> }> {
  const { registry, scrape } = buildRegistry(aggregator, options.clock);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    scrape().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
