// Batch payments against a real nats-server: atomic all-or-none, independent, control sums, interleaving,
// duplicates of finished batches, limits, and a processor killed in the middle of an atomic batch.

import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderResult } from '../../src/domain/types.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import {
  type BrokerAndLedger,
  brokerAndLedger,
  type Collected,
  type Outgoing,
  type SeededLedger,
  balanceDiffs,
  balances,
  collect,
  consumerCaughtUp,
  json,
  modelBalances,
  publishAll,
  snapshotLedger,
  startChildProcessor,
  waitUntil,
} from './harness.ts';
import type { NatsServer } from './nats-server.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';
import { DEFAULT_BATCH_LIMITS } from '../../src/domain/batch-limits.ts';

type Wire = Record<string, unknown>;

function batchOf(ledger: SeededLedger, batchId: string, n: number, opts: { overdraftAt?: number; amount?: string } = {}): Wire[] {
  return Array.from({ length: n }, (_, i) => {
    const card = ledger.usdCards[i % ledger.usdCards.length]!;
    return {
      id: `${batchId}-${i}`,
      type: 'payment',
      card: card.token,
      merchant: ledger.merchants[i % ledger.merchants.length],
      amount: i === opts.overdraftAt ? '999999.00' : (opts.amount ?? '1.00'),
      currency: 'USD',
      batchId,
      createdAt: new Date().toISOString(),
    };
  });
}

const sumOf = (orders: Wire[]): string => {
  const cents = orders.reduce((s, o) => s + BigInt(String(o.amount).replace('.', '')), 0n);
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
};

const header = (id: string, orders: Wire[], mode: 'atomic' | 'independent', controlSum = sumOf(orders)): Wire => ({
  id,
  count: orders.length,
  controlSum,
  currency: 'USD',
  mode,
});

const headerOut = (h: Wire): Outgoing => ({ subject: `pay.batches.${h.id}`, data: json(h), via: 'js' });
const orderOut = (o: Wire): Outgoing => ({ subject: 'pay.orders.erp', data: json(o), via: 'js', msgId: o.id as string });

async function reportFor(c: Collected, batchId: string, n = 1): Promise<Record<string, unknown>> {
  await waitUntil(`the report of ${batchId}`, () => (c.reports.get(batchId)?.length ?? 0) >= n, 30_000);
  return c.reports.get(batchId)![n - 1]!;
}

async function resultsFor(c: Collected, orders: Wire[]): Promise<OrderResult[]> {
  await waitUntil('a result for every order', () => orders.every((o) => c.byId.has(o.id as string)), 30_000);
  return orders.map((o) => c.byId.get(o.id as string)![0]!);
}

/** One broker, seeded ledger and processor shared by a describe block's tests, with everything they publish. */
interface RunningProcessor {
  server: NatsServer;
  ledger: SeededLedger;
  nc: NatsConnection;
  runtime: Runtime;
  c: Collected;
}

/** Registers the hooks that start a RunningProcessor before the block's tests and stop it after them. */
function withRunningProcessor(cards: number): RunningProcessor {
  const p = {} as RunningProcessor;
  let env: BrokerAndLedger | undefined;
  beforeAll(async () => {
    env = await brokerAndLedger(cards);
    const { server, ledger, nc } = env;
    const c = await collect(nc);
    Object.assign(p, { server, ledger, nc, c });
    p.runtime = await startRuntime(parseRuntimeConfig({ dataDir: ledger.dataDir, natsUrl: server.url, rulesPath: false }));
  });
  afterAll(async () => {
    p.c?.stop();
    await p.runtime?.stop();
    await env?.cleanup();
  });
  return p;
}

const balancesNow = async (p: RunningProcessor) => new Map([...(await balances(p.runtime.store))].map(([id, a]) => [id, a.balance]));

/** Accounts whose balance differs from what the model makes of `before` and the orders' results. */
async function ledgerAgainstModel(p: RunningProcessor, before: Map<string, bigint>, orders: Wire[]): Promise<string[]> {
  const model = modelBalances({ initial: before, cards: p.ledger.cards }, orders, (id) => p.c.byId.get(id)?.[0]?.status);
  return balanceDiffs(model, await balances(p.runtime.store));
}

/** Publishes a batch's header, then its orders, and waits for its report. */
async function sendBatch(p: RunningProcessor, h: Wire, orders: Wire[]): Promise<Record<string, unknown>> {
  await publishAll(p.nc, [headerOut(h), ...orders.map(orderOut)]);
  return reportFor(p.c, h.id as string);
}

/** Two batches' orders and ordinary orders one after another; `b`'s header among them, after its 150th order. */
function interleaved(hA: Wire, a: Wire[], hB: Wire, b: Wire[], plain: Wire[]): Outgoing[] {
  const out: Outgoing[] = [headerOut(hA)];
  for (let i = 0; i < plain.length; i++) {
    if (i < a.length) out.push(orderOut(a[i]!));
    if (i < b.length) out.push(orderOut(b[i]!));
    if (i === 150) out.push(headerOut(hB));
    out.push(orderOut(plain[i]!));
  }
  return out;
}

describe('batches through a running processor', () => {
  const p = withRunningProcessor(500);

  it('declines a 1,000-order atomic batch with one overdraft whole, names the failing order, and leaves the ledger untouched', async () => {
    const before = await balancesNow(p);
    const orders = batchOf(p.ledger, 'atomic-over', 1000, { overdraftAt: 617 });
    const report = await sendBatch(p, header('atomic-over', orders, 'atomic'), orders);
    expect(report).toMatchObject({
      batchId: 'atomic-over',
      mode: 'atomic',
      status: 'declined',
      count: 1000,
      received: 1000,
      firstFailure: { orderId: 'atomic-over-617', status: 'declined', reason: 'insufficient_funds' },
    });
    const results = await resultsFor(p.c, orders);
    expect(results.every((r) => r.status === 'declined' && r.batchId === 'atomic-over')).toBe(true);
    expect(results.filter((r) => r.reason !== 'batch_declined').map((r) => [r.orderId, r.reason])).toEqual([['atomic-over-617', 'insufficient_funds']]);
    expect(await balancesNow(p)).toEqual(before);
  });

  it('applies the same batch as independent except the overdraft, and reports each status', async () => {
    const before = await balancesNow(p);
    const orders = batchOf(p.ledger, 'indep-over', 1000, { overdraftAt: 617 });
    const report = await sendBatch(p, header('indep-over', orders, 'independent'), orders);
    expect(report).toMatchObject({
      status: 'completed',
      mode: 'independent',
      perStatus: { approved: { count: 999, amount: '999.00' }, declined: { count: 1, amount: '999999.00' } },
    });
    const results = await resultsFor(p.c, orders);
    expect(results.filter((r) => r.status !== 'approved').map((r) => [r.orderId, r.reason])).toEqual([['indep-over-617', 'insufficient_funds']]);
    expect(await ledgerAgainstModel(p, before, orders)).toEqual([]);
  });

  it('rejects a batch whose control sum is off by one cent before anything moves', async () => {
    const before = await balancesNow(p);
    const orders = batchOf(p.ledger, 'sum-off', 200, { amount: '2.50' });
    expect(sumOf(orders)).toBe('500.00');
    const report = await sendBatch(p, header('sum-off', orders, 'independent', '500.01'), orders);
    expect(report).toMatchObject({ status: 'rejected', reason: 'control_sum_mismatch', controlSum: '500.01', receivedSum: '500.00' });
    const results = await resultsFor(p.c, orders);
    expect(new Set(results.map((r) => r.status))).toEqual(new Set(['rejected']));
    expect(await balancesNow(p)).toEqual(before);
  });

  it('handles batches interleaved with each other and with ordinary traffic, headers before or after their orders', async () => {
    const before = await balancesNow(p);
    const a = batchOf(p.ledger, 'mix-a', 300, { amount: '3.00' });
    const b = batchOf(p.ledger, 'mix-b', 200, { amount: '4.00' });
    const plain = batchOf(p.ledger, 'plain', 400, { amount: '0.50' }).map(({ batchId: _drop, ...o }) => o);
    await publishAll(p.nc, interleaved(header('mix-a', a, 'atomic'), a, header('mix-b', b, 'independent'), b, plain));
    expect(await reportFor(p.c, 'mix-a')).toMatchObject({ status: 'completed', perStatus: { approved: { count: 300, amount: '900.00' } } });
    expect(await reportFor(p.c, 'mix-b')).toMatchObject({ status: 'completed', perStatus: { approved: { count: 200, amount: '800.00' } } });
    const results = await resultsFor(p.c, [...a, ...b, ...plain]);
    expect(results.filter((r) => r.status !== 'approved')).toEqual([]);
    expect(await ledgerAgainstModel(p, before, [...a, ...b, ...plain])).toEqual([]);
  });

  it('answers a republished finished batch header with its report marked duplicate, and moves nothing', async () => {
    const before = await balancesNow(p);
    const orders = batchOf(p.ledger, 'atomic-over', 1000, { overdraftAt: 617 });
    await publishAll(p.nc, [{ ...headerOut(header('atomic-over', orders, 'atomic')), msgId: 'republished-header' }]);
    const { duplicate, ...rest } = await reportFor(p.c, 'atomic-over', 2);
    expect(duplicate).toBe(true);
    expect(rest).toEqual(p.c.reports.get('atomic-over')![0]);
    expect(await balancesNow(p)).toEqual(before);
  });

  it('rejects a header beyond the limits with a reason, and dead-letters it', async () => {
    const h = { id: 'too-big', count: 10_001, controlSum: '10001.00', currency: 'USD', mode: 'atomic' };
    await publishAll(p.nc, [headerOut(h)]);
    expect(await reportFor(p.c, 'too-big')).toMatchObject({ batchId: 'too-big', status: 'rejected', reason: 'batch_too_large' });
    await waitUntil('the dead letter', () => p.c.dlq.some((d) => d.subject === 'pay.dlq.batch_too_large'));
    expect(p.c.dlq.find((d) => d.subject === 'pay.dlq.batch_too_large')!.reason).toBe('batch_too_large');
  });
});

describe("one publisher's junk against another's batch", () => {
  it("junk batch ids in orders and a source's junk headers do not block another source's batch; the junk orders are rejected batch_unknown after the wait", async () => {
    const env = await brokerAndLedger(500);
    const { server, ledger, nc } = env;
    let runtime: Runtime | undefined;
    try {
      const c = await collect(nc);
      runtime = await startRuntime(parseRuntimeConfig({ dataDir: ledger.dataDir, natsUrl: server.url, rulesPath: false, batches: { ...DEFAULT_BATCH_LIMITS, unknownBatchWaitMs: 1_000 } }));
      const junk = batchOf(ledger, 'unused', 100).map((o, i) => ({ ...o, id: `junk-${i}`, batchId: `junk-batch-${i}` }));
      const junkHeaders = Array.from({ length: 101 }, (_, i) => ({ id: `jh-${i}`, count: 10, controlSum: '10.00', currency: 'USD', mode: 'atomic' }));
      const real = batchOf(ledger, 'real-payroll', 50);
      await publishAll(nc, [
        ...junk.map((o): Outgoing => ({ subject: 'pay.orders.junk', data: json(o), via: 'js', msgId: o.id as string })),
        ...junkHeaders.map((h): Outgoing => ({ subject: `pay.batches.junk.${h.id}`, data: json(h), via: 'js' })),
        { subject: 'pay.batches.erp.real-payroll', data: json(header('real-payroll', real, 'atomic')), via: 'js' },
        ...real.map(orderOut),
      ]);
      expect(await reportFor(c, 'real-payroll')).toMatchObject({ status: 'completed', perStatus: { approved: { count: 50, amount: '50.00' } } });
      expect(await reportFor(c, 'jh-100')).toMatchObject({ status: 'rejected', reason: 'too_many_open_batches' });
      const results = await resultsFor(c, junk);
      expect(new Set(results.map((r) => `${r.status}:${r.reason}`))).toEqual(new Set(['rejected:batch_unknown']));
      expect(runtime.processor.batches.waitingCount()).toBe(0);
    } finally {
      await runtime?.stop();
      await env.cleanup();
    }
  }, 60_000);
});

describe('an atomic batch across a crash', () => {
  it('a processor SIGKILLed in the middle of an atomic batch applies it all or none after restart', async () => {
    const env = await brokerAndLedger(500);
    const { server, ledger, nc } = env;
    try {
      const c = await collect(nc);
      const orders = batchOf(ledger, 'payroll', 4000, { amount: '1.25' });
      const ordinary = batchOf(ledger, 'walkin', 3000, { amount: '0.75' }).map(({ batchId: _drop, ...o }) => o);
      let child = await startChildProcessor(ledger.dataDir, server.url);
      try {
        // header, the first half of the batch and ordinary traffic (whose results show progress)
        const first: Outgoing[] = [headerOut(header('payroll', orders, 'atomic'))];
        for (let i = 0; i < 2000; i++) first.push(orderOut(orders[i]!), orderOut(ordinary[i]!));
        const published = publishAll(nc, first);
        await waitUntil('part of the batch consumed', () => c.all.length >= 500, 30_000);
        await child.kill('SIGKILL');
        await published;
        const rest: Outgoing[] = [];
        for (let i = 2000; i < 4000; i++) {
          rest.push(orderOut(orders[i]!));
          if (i < 3000) rest.push(orderOut(ordinary[i]!));
        }
        await publishAll(nc, rest);
        child = await startChildProcessor(ledger.dataDir, server.url);
        await waitUntil('the batch report', () => c.reports.has('payroll'), 40_000);
        await waitUntil('everything acknowledged', () => consumerCaughtUp(nc), 30_000);
        expect(await child.stop()).toBe(0);
      } finally {
        await child.kill('SIGKILL');
      }
      c.stop();
      expect(c.reports.get('payroll')![0]).toMatchObject({ status: 'completed', perStatus: { approved: { count: 4000, amount: '5000.00' } } });
      const snap = await snapshotLedger(ledger.dataDir);
      expect(snap.verify.violations).toEqual([]);
      const statuses = new Set(orders.map((o) => snap.orders.get(o.id as string)?.status));
      expect(statuses).toEqual(new Set(['approved']));
      const model = modelBalances(ledger, [...orders, ...ordinary], (id) => snap.orders.get(id)?.status);
      expect(balanceDiffs(model, snap.balances)).toEqual([]);
    } finally {
      await env.cleanup();
    }
  }, 90_000);
});
