// Order id conflicts through a real broker and processor: someone else's order under a victim's id never
// answers the victim's order, which is rejected id_conflict, dead-lettered and counted on the dashboard.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderResult } from '../../src/domain/types.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import { type Collected, collect, json, waitUntil, withBrokerAndLedger } from './harness.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const env = withBrokerAndLedger(20, 'all');
let runtime: Runtime;
let c: Collected;

beforeAll(async () => {
  c = await collect(env.nc);
  runtime = await startRuntime(parseRuntimeConfig({ dataDir: env.ledger.dataDir, natsUrl: env.server.url, rulesPath: false }));
});

afterAll(async () => {
  c?.stop();
  await runtime?.stop();
});

const iso = () => new Date().toISOString();
const results = (id: string): OrderResult[] => c.byId.get(id) ?? [];
const nth = (id: string, n: number) => () => results(id).length >= n;
const letters = (id: string, reason: string) => c.dlq.filter((d) => d.orderId === id && d.reason === reason);

function payment(id: string, amount = '25.00') {
  const card = env.ledger.usdCards[0]!;
  return { id, type: 'payment', card: card.token, merchant: env.ledger.merchants[0]!, amount, currency: 'USD', createdAt: iso() };
}

const balance = async () => (await runtime.store.getAccount(env.ledger.usdCards[0]!.accountId))!.balanceMinor;

describe('order id conflicts', () => {
  it('victim-1: an attacker void published first under the id makes the real payment id_conflict, not "declined unknown_ref, duplicate"', async () => {
    const before = balance();
    // the attacker: a plain publish, no Nats-Msg-Id
    const attack = json({ id: 'victim-1', type: 'void', ref: 'victim-0', createdAt: iso() });
    env.nc.publish('pay.orders.attacker', attack);
    await waitUntil('the void answered', nth('victim-1', 1), 20_000);
    expect(results('victim-1')[0]).toMatchObject({ status: 'declined', reason: 'unknown_ref' });
    // the victim: a JetStream publish with its order id as Nats-Msg-Id, as the README asks
    const ack = await env.nc.jetstream().publish('pay.orders.shop', json(payment('victim-1')), { msgID: 'victim-1' });
    expect(ack.duplicate).toBe(false);
    await waitUntil('the payment answered', nth('victim-1', 2), 20_000);
    const answer = results('victim-1')[1]!;
    expect(answer).toMatchObject({ orderId: 'victim-1', status: 'rejected', reason: 'id_conflict', field: 'id' });
    expect(answer.duplicate).toBeUndefined();
    expect(answer.transferId).toBeUndefined();
    await waitUntil('its dead letter', () => letters('victim-1', 'id_conflict').length === 1, 10_000);
    expect(letters('victim-1', 'id_conflict')[0]!.subject).toBe('pay.dlq.id_conflict');
    // not applied: no money moved, and the ledger's record of the id is still the void
    expect(await balance()).toBe(await before);
    expect((await runtime.store.getOrder('victim-1'))?.order.type).toBe('void');
    // the attacker's void again, byte for byte: its own duplicate, still not the payment's
    env.nc.publish('pay.orders.attacker', attack);
    await waitUntil('the republished void answered', nth('victim-1', 3), 20_000);
    expect(results('victim-1')[2]).toMatchObject({ status: 'declined', reason: 'unknown_ref', duplicate: true });
  });

  it('victim-2: a rejected payload published first under the id makes the real payment id_conflict, not "rejected invalid_amount, duplicate"', async () => {
    env.nc.publish('pay.orders.attacker', json({ ...payment('victim-2'), amount: 'bad' }));
    await waitUntil('the junk answered', nth('victim-2', 1), 20_000);
    expect(results('victim-2')[0]).toMatchObject({ status: 'rejected', reason: 'invalid_amount' });
    env.nc.publish('pay.orders.shop', json(payment('victim-2')));
    await waitUntil('the payment answered', nth('victim-2', 2), 20_000);
    expect(results('victim-2')[1]).toMatchObject({ status: 'rejected', reason: 'id_conflict' });
    expect(results('victim-2')[1]!.duplicate).toBeUndefined();
  });

  it('a true republish (same payload, the PAN or its token) is a duplicate; a changed amount under the id is id_conflict', async () => {
    const before = await balance();
    const order = payment('p-1', '10.00');
    env.nc.publish('pay.orders.shop', json(order));
    await waitUntil('p-1 answered', nth('p-1', 1), 20_000);
    expect(results('p-1')[0]).toMatchObject({ status: 'approved' });
    // the same order again, keys in another order and the card as its PAN: the same fingerprint
    const { card: _token, ...rest } = order;
    env.nc.publish('pay.orders.shop', json(Object.fromEntries(Object.entries({ ...rest, pan: env.ledger.usdCards[0]!.pan }).reverse())));
    await waitUntil('the republish answered', nth('p-1', 2), 20_000);
    expect(results('p-1')[1]).toEqual({ ...results('p-1')[0], duplicate: true });
    env.nc.publish('pay.orders.shop', json({ ...order, amount: '99.00' }));
    await waitUntil('the changed order answered', nth('p-1', 3), 20_000);
    expect(results('p-1')[2]).toMatchObject({ status: 'rejected', reason: 'id_conflict' });
    // money moved once, for the first
    expect(await balance()).toBe(before - 1000n);
  });

  it('counts id conflicts on the dashboard: dead letters by reason, results by status', async () => {
    await waitUntil('the dead letters counted', () => {
      const dead = runtime.processor.metrics.snapshot(Date.now()).alerts.deadLetters;
      return (dead.find((d) => d.reason === 'id_conflict')?.count ?? 0) >= 3;
    }, 10_000);
    const snapshot = runtime.processor.metrics.snapshot(Date.now());
    expect(snapshot.alerts.deadLetters).toContainEqual({ reason: 'id_conflict', count: 3 });
    expect(snapshot.totals.sinceStart.byStatus.rejected).toBeGreaterThanOrEqual(4);
  });

  it('the broker drops a publish whose Nats-Msg-Id is already taken within its window: the publisher is told at once (PubAck duplicate)', async () => {
    const js = env.nc.jetstream();
    await js.publish('pay.orders.attacker', json({ id: 'victim-3', type: 'void', ref: 'x', createdAt: iso() }), { msgID: 'victim-3' });
    const ack = await js.publish('pay.orders.shop', json(payment('victim-3')), { msgID: 'victim-3' });
    expect(ack.duplicate).toBe(true);
  });
});
