// The request/reply service against a real nats-server: $SRV discovery, every operation, errors as data,
// and the CLI giving the same JSON through the service as on the store directly.

import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localActor } from '../../src/domain/actor.ts';
import { LedgerApi } from '../../src/ledger/api.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { makeOps } from '../../src/processor/operations.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import { callService } from '../../src/nats/service.ts';
import { TEST_PANS } from '../domain/builders.ts';
import {
  type BrokerAndLedger,
  brokerAndLedger,
  type Collected,
  type SeededLedger,
  cli,
  collect,
  json,
  mixedTraffic,
  publishAll,
  sleep,
  text,
  waitUntil,
} from './harness.ts';
import type { NatsServer } from './nats-server.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

let env: BrokerAndLedger | undefined;
let server: NatsServer;
let ledger: SeededLedger;
let nc: NatsConnection;
let runtime: Runtime | undefined;
let c: Collected;

const call = (op: string, args: Record<string, unknown> = {}) => callService(nc, { prefix: 'pay' }, op, args) as Promise<Record<string, unknown>>;

beforeAll(async () => {
  env = await brokerAndLedger(100);
  ({ server, ledger, nc } = env);
  c = await collect(nc);
  // an account made by hand before the processor runs (on this open broker the service opens none)
  const store = await LedgerStore.open(ledger.dataDir);
  try {
    const ops = makeOps({ api: new LedgerApi(store) });
    const me = localActor('service-test', 'cli');
    await ops['accounts.open']({ owner: 'Tea House', currency: 'EUR', id: 'm-tea' }, me);
    await ops['accounts.deposit']({ id: 'm-tea', amount: '10.50' }, me);
  } finally {
    await store.close();
  }
  runtime = await startRuntime(parseRuntimeConfig({ dataDir: ledger.dataDir, natsUrl: server.url, rulesPath: false }));
  // one order, so there is something to show
  const card = ledger.usdCards[0]!;
  await publishAll(nc, [
    {
      subject: 'pay.orders.pos',
      data: json({ id: 'svc-pay-1', type: 'payment', card: card.token, merchant: ledger.merchants[0], amount: '42.00', currency: 'USD', createdAt: new Date().toISOString() }),
      via: 'js',
      msgId: 'svc-pay-1',
    },
  ]);
  await waitUntil('the payment result', () => c.byId.has('svc-pay-1'));
});

afterAll(async () => {
  c?.stop();
  await runtime?.stop();
  await env?.cleanup();
});

describe('the request/reply service: discovery, reads, and no changes on an open broker', () => {
  it('answers $SRV.PING, $SRV.INFO and $SRV.STATS, through the services client and as plain requests', async () => {
    const client = nc.services.client();
    const pings = [];
    for await (const p of await client.ping('paystream')) pings.push(p);
    expect(pings).toHaveLength(1);
    expect(pings[0]).toMatchObject({ name: 'paystream', version: '0.1.0' });
    const infos = [];
    for await (const i of await client.info('paystream')) infos.push(i);
    const subjects = infos[0]!.endpoints.map((e) => e.subject);
    expect(subjects).toEqual(expect.arrayContaining(['pay.svc.cards.register', 'pay.svc.orders.get', 'pay.svc.stats', 'pay.svc.review.list']));
    const stats = [];
    for await (const s of await client.stats('paystream')) stats.push(s);
    expect(stats[0]!.endpoints?.length).toBeGreaterThan(5);
    const plain = JSON.parse(text((await nc.request('$SRV.PING.paystream', new Uint8Array(), { timeout: 2000 })).data));
    expect(plain).toMatchObject({ name: 'paystream', type: 'io.nats.micro.v1.ping_response' });
  });

  it('answers every reading operation with JSON named like the CLI output', async () => {
    const token = ledger.usdCards[0]!.token;
    expect(await call('cards.lookup', { query: token })).toMatchObject({ cards: [{ token }] });
    expect(await call('cards.show', { query: token })).toMatchObject({ card: { token, status: 'active' } });
    expect(await call('accounts.get', { id: 'm-tea' })).toMatchObject({ account: { id: 'm-tea', balance: '10.50' }, transfers: [{ amount: '10.50' }] });
    expect(await call('orders.get', { id: 'svc-pay-1' })).toMatchObject({ order: { orderId: 'svc-pay-1', status: 'approved', amount: '42.00' } });
    expect(await call('stats')).toMatchObject({ processor: { orders: 1 } });
    expect(await call('review.list')).toEqual({ orders: [] });
  });

  it('refuses every changing operation unauthenticated on this open broker: it vouches for no one (operators: roles.test.ts)', async () => {
    const token = ledger.usdCards[0]!.token;
    const changing: [string, Record<string, unknown>][] = [
      ['cards.register', { pan: TEST_PANS.visa[0], expiry: '12/39', holder: 'Service Tester', currency: 'USD' }],
      ['cards.freeze', { token }],
      ['cards.unfreeze', { token }],
      ['cards.close', { token }],
      ['accounts.open', { owner: 'Tea House', currency: 'EUR', id: 'm-tea2' }],
      ['accounts.deposit', { id: 'm-tea', amount: '10.50' }],
      ['review.approve', { orderId: 'svc-pay-1', by: 'ceo@bank' }],
      ['review.decline', { orderId: 'svc-pay-1', by: 'ceo@bank' }],
      ['rules.reload', {}],
    ];
    for (const [op, args] of changing) await expect(call(op, args), op).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(await call('cards.show', { query: token })).toMatchObject({ card: { status: 'active' } });
    expect(await call('accounts.get', { id: 'm-tea' })).toMatchObject({ account: { balance: '10.50' } });
  });
});

describe('the request/reply service: errors as data', () => {
  it('sends errors back as { error: { code, message } } at once, never as a timeout', async () => {
    const started = Date.now();
    const reply = await nc.request('pay.svc.orders.get', json({ id: 'no-such-order' }), { timeout: 5000 });
    expect(JSON.parse(text(reply.data))).toEqual({ error: { code: 'unknown_order', message: expect.any(String) } });
    const notJson = await nc.request('pay.svc.accounts.get', new TextEncoder().encode('{nope'), { timeout: 5000 });
    expect(JSON.parse(text(notJson.data))).toMatchObject({ error: { code: 'invalid_request' } });
    const missing = await nc.request('pay.svc.cards.show', json({}), { timeout: 5000 });
    expect(JSON.parse(text(missing.data))).toMatchObject({ error: { code: 'invalid_request' } });
    await expect(call('cards.show', { query: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'unknown_card' });
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('refuses a count that is not a whole number within 1..1000 with invalid_request, service and CLI alike', async () => {
    const token = ledger.usdCards[0]!.token;
    const requests: [string, Record<string, unknown>, string][] = [
      ['cards.list', {}, 'limit'],
      ['accounts.list', {}, 'limit'],
      ['cards.lookup', { query: ledger.usdCards[0]!.last4 }, 'limit'],
      ['cards.show', { query: token }, 'transfers'],
      ['accounts.get', { id: ledger.usdCards[0]!.accountId }, 'transfers'],
    ];
    for (const [op, args, key] of requests) {
      for (const bad of [-1, 'abc', 2.5, 1e9, 0, null, '10']) {
        const reply = await nc.request(`pay.svc.${op}`, json({ ...args, [key]: bad }), { timeout: 5000 });
        expect(JSON.parse(text(reply.data)), `${op} ${key}=${JSON.stringify(bad)}`).toEqual({
          error: { code: 'invalid_request', message: `${key} must be a whole number within 1..1000` },
        });
      }
      // within the range, and absent (the default), it answers
      await expect(call(op, { ...args, [key]: 1000 })).resolves.toBeDefined();
      await expect(call(op, args)).resolves.toBeDefined();
    }
    expect(((await call('cards.list', { limit: 2 })).cards as unknown[]).length).toBe(2);
    expect(((await call('cards.list', { limit: 1000 })).cards as unknown[]).length).toBeLessThanOrEqual(1000);
    // the CLI refuses the same before it calls anything (exit 2, the reason; every value and flag: test/cli/flags.test.ts)
    const out = await cli(['--data', ledger.dataDir, 'cards', 'list', '--limit', '-1']);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain('paystream: --limit must be a whole number within 1..1000, got "-1"');
  }, 60_000);
});

describe('the request/reply service: verify under traffic, and the CLI through it', () => {
  it('verify through the service, again and again while a processor applies traffic, always finds the ledger sound', async () => {
    // traffic in waves, so it goes on for a while; verify is called over and over meanwhile
    const waves = Array.from({ length: 20 }, (_, w) => mixedTraffic(ledger, 100, `vfy${w}`));
    let publishing = true;
    const published = (async () => {
      for (const wave of waves) {
        await publishAll(nc, wave.out);
        await sleep(50);
      }
      publishing = false;
    })();
    const reports: { ok: boolean; violations: unknown[] }[] = [];
    let duringTraffic = 0;
    const done = () => !publishing && waves.every((w) => w.orders.every((o) => c.byId.has(o.id as string)));
    while (!done()) {
      const before = c.all.length;
      reports.push((await call('verify')) as { ok: boolean; violations: unknown[] });
      if (c.all.length > before) duringTraffic++;
    }
    await published;
    reports.push((await call('verify')) as { ok: boolean; violations: unknown[] });
    expect(reports.filter((r) => !r.ok).map((r) => r.violations)).toEqual([]);
    // verify ran while results were coming in, not only before or after
    expect(duringTraffic).toBeGreaterThanOrEqual(3);
  }, 90_000);

  it('the CLI prints byte-identical JSON through the service (processor running) and on the store (stopped)', async () => {
    const unique = ledger.cards.find((x) => ledger.cards.filter((y) => y.last4 === x.last4).length === 1 && x.index === ledger.usdCards[0]!.index)
      ?? ledger.cards.find((x) => ledger.cards.filter((y) => y.last4 === x.last4).length === 1)!;
    const commands = [
      ['cards', 'show', unique.last4, '--json'],
      ['accounts', 'show', ledger.usdCards[0]!.accountId, '--json'],
      ['accounts', 'show', 'm-tea', '--json'],
      ['orders', 'show', 'svc-pay-1', '--json'],
    ];
    const base = ['--data', ledger.dataDir];
    const viaService = [];
    for (const cmd of commands) {
      const out = await cli([...base, ...cmd]);
      expect(out.code, `${cmd.join(' ')}: ${out.stderr}`).toBe(0);
      viaService.push(out.stdout);
    }
    // through the service for real: the store is locked by this process
    const locked = await cli([...base, 'stats', '--json']);
    expect(locked.code, locked.stderr).toBe(0);

    await runtime!.stop();
    runtime = undefined;
    const onStore = [];
    for (const cmd of commands) {
      const out = await cli([...base, ...cmd]);
      expect(out.code, `${cmd.join(' ')}: ${out.stderr}`).toBe(0);
      onStore.push(out.stdout);
    }
    expect(onStore).toEqual(viaService);
    expect(JSON.parse(onStore[3]!)).toMatchObject({ order: { orderId: 'svc-pay-1', status: 'approved' } });
    // and `stats` says no processor runs now
    const stats = await cli([...base, 'stats', '--json']);
    expect(stats.code).toBe(1);
    expect(JSON.parse(stats.stdout)).toMatchObject({ error: { code: 'not_running' } });
    // ten CLI processes: on a loaded two-core machine each takes seconds to start
  }, 120_000);
});
