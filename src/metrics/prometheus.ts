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

/** A registry of its own (never prom-client's global one) whose metrics are read from the aggregator. */
export function buildRegistry(
  aggregator: MetricsAggregator,
  clock: () => number = Date.now,
): MetricsRegistry {
  const registry = new Registry();
  let snap: DashboardSnapshot = aggregator.snapshot(clock());
  const registers = [registry];

  new Counter({
    name: 'paystream_orders_total',
    help: 'Orders processed since start, by result status',
    labelNames: ['status'],
    registers,
    collect() {
      this.reset();
      for (const [status, n] of Object.entries(snap.totals.sinceStart.byStatus)) this.inc({ status }, n ?? 0);
    },
  });
  // Amounts only ever grow within a run, so a counter: rate()/increase() then work across restarts.
  new Counter({
    name: 'paystream_order_amount_total',
    help: 'Sum of order amounts since start in major units of the currency, by currency and status',
    labelNames: ['currency', 'status'],
    registers,
    collect() {
      this.reset();
      for (const c of snap.totals.sinceStart.currencies) {
        for (const [status, t] of Object.entries(c.byStatus)) {
          const v = t && majorUnits(t.amountMinor, c.currency);
          if (v !== undefined) this.inc({ currency: c.currency, status }, v);
        }
      }
    },
  });
  new Gauge({
    name: 'paystream_order_amount_today',
    help: 'Sum of order amounts today (UTC) in major units of the currency, by currency and status',
    labelNames: ['currency', 'status'],
    registers,
    collect() {
      this.reset();
      for (const c of snap.totals.today.currencies) {
        for (const [status, t] of Object.entries(c.byStatus)) {
          const v = t && majorUnits(t.amountMinor, c.currency);
          if (v !== undefined) this.set({ currency: c.currency, status }, v);
        }
      }
    },
  });
  new Gauge({
    name: 'paystream_orders_per_second',
    help: 'Orders processed in the last second',
    registers,
    collect() {
      this.set(snap.throughput.ordersPerSecond);
    },
  });
  new Counter({
    name: 'paystream_dead_letters_total',
    help: 'Messages sent to the dead-letter subject, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const d of snap.alerts.deadLetters) this.inc({ reason: d.reason }, d.count);
    },
  });
  new Counter({
    name: 'paystream_rule_hits_total',
    help: 'Risk rule hits, by rule id',
    labelNames: ['rule'],
    registers,
    collect() {
      this.reset();
      for (const r of snap.alerts.ruleHits) this.inc({ rule: r.ruleId }, r.count);
    },
  });
  new Gauge({
    name: 'paystream_review_queue_size',
    help: 'Orders held for operator review',
    registers,
    collect() {
      this.set(snap.alerts.reviewQueueSize);
    },
  });
  new Gauge({
    name: 'paystream_consumer_pending_messages',
    help: 'Messages the durable consumer has not yet delivered (lag); absent when unknown',
    registers,
    collect() {
      this.reset();
      if (snap.status.pendingMessages !== undefined) this.set(snap.status.pendingMessages);
    },
  });
  new Gauge({
    name: 'paystream_nats_connected',
    help: '1 when connected to NATS (or replaying offline), 0 when reconnecting or disconnected',
    labelNames: ['connection'],
    registers,
    collect() {
      this.reset();
      const c = snap.status.connection;
      this.set({ connection: c }, c === 'connected' || c === 'offline' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'paystream_processor_state',
    help: '1 for the processor state it is in',
    labelNames: ['state'],
    registers,
    collect() {
      this.reset();
      for (const s of ['starting', 'running', 'paused', 'draining', 'stopped'] as const) {
        this.set({ state: s }, snap.status.state === s ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'paystream_batches_open',
    help: 'Batches in flight',
    registers,
    collect() {
      this.set(snap.batches.filter((b) => b.state === 'open').length);
    },
  });
  new Gauge({
    name: 'paystream_order_latency_seconds',
    help: 'Order latency quantiles from createdAt (or arrival) to result, over the run or the recent window',
    labelNames: ['window', 'quantile'],
    registers,
    collect() {
      this.reset();
      for (const [window, l] of [
        ['run', snap.latency.run],
        ['recent', snap.latency.recent],
      ] as const) {
        if (l.count === 0) continue;
        this.set({ window, quantile: '0.5' }, l.p50Ms / 1000);
        this.set({ window, quantile: '0.95' }, l.p95Ms / 1000);
        this.set({ window, quantile: '0.99' }, l.p99Ms / 1000);
        this.set({ window, quantile: '1' }, l.maxMs / 1000);
      }
    },
  });
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
