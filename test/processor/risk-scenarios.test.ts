// Issue 6's scenarios with the default rule set (data/risk.yaml), through the real processor and ledger:
// a fraud burst, a duplicate storm, stale orders and an anomalous large payment are each caught by the
// named rule and visible in the results; an operator releases or declines held orders; rules reload.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCardPans, demoMerchants } from '../../src/domain/generate.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { makeOps } from '../../src/processor/operations.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import { LedgerApi } from '../../src/ledger/api.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { localActor } from '../../src/domain/actor.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const ALICE = localActor('alice', 'cli');
const BOB = localActor('bob', 'dashboard');

const enc = new TextEncoder();
let dir: string;
let runtime: Runtime;
let source: Subject<InboundMessage>;
const results = new Map<string, OrderResult[]>();
let tokens: string[] = [];
const merchants = demoMerchants(30);

function send(order: Record<string, unknown>, atMs = Date.now()): void {
  source.next({ subject: 'pay.orders.test', data: enc.encode(JSON.stringify(order)), receivedAtMs: atMs });
}

async function resultOf(id: string, timeoutMs = 5000): Promise<OrderResult> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = results.get(id);
    if (r?.length) return r[r.length - 1]!;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no result for ${id}`);
}

const payment = (id: string, card: number, amount: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'payment',
  card: tokens[card],
  merchant: merchants[card % merchants.length],
  amount,
  currency: 'USD',
  createdAt: new Date().toISOString(),
  country: 'US',
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-risk-scenarios-'));
  const store = await LedgerStore.open(path.join(dir, 'ledger'));
  // every 20th demo card is USD in slots 0..13: use those
  await seedLedger(store, { cards: 14, merchants: 30, seed: 5, cardBalance: '100000', merchantBalance: '1000000' });
  tokens = demoCardPans(14, 5).map((pan) => store.tokenize(pan));
  await store.close();
  source = new Subject<InboundMessage>();
  runtime = await startRuntime(
    parseRuntimeConfig({
      dataDir: path.join(dir, 'ledger'),
      source: source.asObservable(),
      publisher: {
        result: (r) => results.set(r.orderId, [...(results.get(r.orderId) ?? []), r]),
        report: () => undefined,
        deadLetter: () => undefined,
      },
    }),
  );
});

afterAll(async () => {
  source.complete();
  await runtime.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the default rule set, in the pipeline', () => {
  it('catches a fraud burst: one card hammering many merchants is held by velocity-card', async () => {
    for (let i = 0; i < 14; i++) send({ ...payment(`burst-${i}`, 1, '9.99'), merchant: merchants[i] });
    const burst = await Promise.all(Array.from({ length: 14 }, (_, i) => resultOf(`burst-${i}`)));
    expect(burst.slice(0, 10).every((r) => r.status === 'approved')).toBe(true);
    const held = burst.slice(10);
    expect(held.every((r) => r.status === 'held' && r.rule === 'velocity-card')).toBe(true);
  });

  it('blocks a duplicate storm: same card, merchant and amount under new ids, by duplicate-payment', async () => {
    for (let i = 0; i < 5; i++) send(payment(`dup-${i}`, 2, '42.00'));
    const storm = await Promise.all(Array.from({ length: 5 }, (_, i) => resultOf(`dup-${i}`)));
    expect(storm[0]!.status).toBe('approved');
    for (const r of storm.slice(1)) expect(r).toMatchObject({ status: 'declined', reason: 'risk_blocked', rule: 'duplicate-payment' });
  });

  it('expires stale orders by stale-order and rejects future-dated ones by future-dated', async () => {
    send(payment('stale-1', 3, '5.00', { createdAt: new Date(Date.now() - 10 * 60_000).toISOString() }));
    send(payment('future-1', 3, '5.00', { createdAt: new Date(Date.now() + 10 * 60_000).toISOString() }));
    expect(await resultOf('stale-1')).toMatchObject({ status: 'expired', rule: 'stale-order' });
    expect(await resultOf('future-1')).toMatchObject({ status: 'rejected' });
  });

  it('holds an anomalous large payment (far above the card history) by amount-anomaly', async () => {
    for (let i = 0; i < 6; i++) {
      send(payment(`hist-${i}`, 4, '20.00', { merchant: merchants[i + 5] }));
      await resultOf(`hist-${i}`);
    }
    send(payment('anomaly-1', 4, '900.00', { merchant: merchants[20] }));
    expect(await resultOf('anomaly-1')).toMatchObject({ status: 'held', rule: 'amount-anomaly' });
  });

  it('lets the operator release one held order and decline another, each with a final result', async () => {
    const ops = makeOps({ api: new LedgerApi(runtime.store), processor: runtime.processor });
    const queue = (await ops['review.list']({}, ALICE)) as { orders: { orderId: string }[] };
    const heldIds = queue.orders.map((o) => o.orderId);
    expect(heldIds).toEqual(expect.arrayContaining(['anomaly-1', 'burst-10']));
    const before = (await runtime.store.getAccount((await runtime.store.getCard(tokens[4]!))!.accountId))!;
    expect(before.holdsMinor).toBe(90_000n);
    // decidedBy is the actor's id; a `by` in the request names no one
    await ops['review.approve']({ orderId: 'anomaly-1', by: 'ceo@bank' }, ALICE);
    await ops['review.decline']({ orderId: 'burst-10' }, BOB);
    expect(await resultOf('anomaly-1')).toMatchObject({ status: 'approved', decidedBy: 'local:alice' });
    expect(await resultOf('burst-10')).toMatchObject({ status: 'declined', reason: 'review_declined', decidedBy: 'local:bob' });
    const after = (await runtime.store.getAccount(before.id))!;
    expect(after.holdsMinor).toBe(0n);
    expect(before.balanceMinor - after.balanceMinor).toBe(90_000n);
    const again = (await ops['review.list']({}, ALICE)) as { orders: { orderId: string }[] };
    expect(again.orders.map((o) => o.orderId)).not.toContain('anomaly-1');
  });

  it('reloads the rules without a restart and keeps its state', async () => {
    const reloaded = await runtime.reloadRules();
    expect(reloaded.rules).toBeGreaterThan(5);
    send(payment('dup-after-reload', 2, '42.00'));
    expect(await resultOf('dup-after-reload')).toMatchObject({ status: 'declined', rule: 'duplicate-payment' });
  });
});
