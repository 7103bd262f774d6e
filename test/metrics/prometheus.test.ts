import { afterEach, describe, expect, it } from 'vitest';
import { MetricsAggregator } from '../../src/metrics/aggregator.ts';
import { majorUnits, startMetricsServer } from '../../src/metrics/prometheus.ts';

const T0 = Date.UTC(2025, 2, 14, 12, 0, 0);

describe('startMetricsServer', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('serves the aggregator figures on GET /metrics, read at scrape time', async () => {
    const agg = new MetricsAggregator();
    const server = await startMetricsServer(agg, 0, '127.0.0.1', { clock: () => T0 });
    close = server.close;
    agg.setStatus({ connection: 'reconnecting', pendingMessages: 42, state: 'running' }, T0);
    const ev = (
      status: 'approved' | 'declined',
      currency: string,
      amountMinor: bigint,
      latencyMs: number,
    ) => ({
      result: { orderId: 'o', status, processedAt: '', latencyMs },
      currency,
      amountMinor,
      receivedAtMs: T0,
    });
    agg.recordResult(ev('approved', 'EUR', 123_450n, 10), T0);
    agg.recordResult(ev('approved', 'EUR', 10n, 20), T0);
    agg.recordResult(ev('declined', 'JPY', 1234n, 30), T0);
    agg.recordDeadLetter('not_json', T0);
    agg.recordRuleHit('velocity', T0);
    agg.setReviewQueueSize(3);

    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const body = await res.text();
    expect(body).toContain('paystream_orders_total{status="approved"} 2');
    expect(body).toContain('paystream_order_amount_total{currency="EUR",status="approved"} 1234.6');
    expect(body).toContain('paystream_order_amount_total{currency="JPY",status="declined"} 1234');
    expect(body).toContain('paystream_order_amount_today{currency="EUR",status="approved"} 1234.6');
    expect(body).toContain('paystream_dead_letters_total{reason="not_json"} 1');
    expect(body).toContain('paystream_rule_hits_total{rule="velocity"} 1');
    expect(body).toContain('paystream_review_queue_size 3');
    expect(body).toContain('paystream_consumer_pending_messages 42');
    expect(body).toContain('paystream_nats_connected{connection="reconnecting"} 0');
    expect(body).toContain('paystream_processor_state{state="running"} 1');
    expect(body).toContain('paystream_order_latency_seconds{window="run",quantile="0.5"} 0.02');
    expect(body).toContain('paystream_order_latency_seconds{window="run",quantile="0.99"} 0.03');
    expect(body).toContain('paystream_process_cpu_user_seconds_total');

    // figures move between scrapes
    agg.recordResult(ev('approved', 'EUR', 1n, 1), T0);
    const again = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(again).toContain('paystream_orders_total{status="approved"} 3');
    expect(again).toContain('paystream_order_amount_total{currency="EUR",status="approved"} 1234.61');
  });

  it('answers 404 elsewhere and frees the port on close', async () => {
    const server = await startMetricsServer(new MetricsAggregator(), 0);
    const res = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(res.status).toBe(404);
    await server.close();
    await expect(fetch(`http://127.0.0.1:${server.port}/metrics`)).rejects.toThrow();
  });

  it('converts minor units to major units from the exact decimal', () => {
    expect(majorUnits(123_450n, 'USD')).toBe(1234.5);
    expect(majorUnits(1234n, 'JPY')).toBe(1234);
    expect(majorUnits(1n, 'KWD')).toBe(0.001);
    expect(majorUnits(30n, 'EUR')).toBe(0.3); // 0.1 + 0.2 would not be
    expect(majorUnits(1n, 'XXZ')).toBeUndefined();
  });
});
