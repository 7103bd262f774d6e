// PANs at rest in the broker: what the orders stream keeps, what its files hold, and the encrypted sample
// configuration (data/nats/encrypted.conf), each through a real nats-server and a real processor.

import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { AckPolicy, type JsMsg, type NatsConnection, nanos } from 'nats';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY, ORDERS_MAX_AGE_MS, type OrdersRetention } from '../../src/nats/setup.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import {
  type BrokerAndLedger,
  type Collected,
  type Outgoing,
  REPO_ROOT,
  type SeededLedger,
  brokerAndLedger,
  collect,
  connectTest,
  filesContaining,
  json,
  publishAll,
  seededLedger,
  waitUntil,
} from './harness.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const ENCRYPTED_CONF = path.join(REPO_ROOT, 'data/nats/encrypted.conf');
const STREAM = 'PAY_ORDERS';

/** The sample configuration with its store_dir pointed at a test's own directory. */
function encryptedConfig(storeDir: string): string {
  const sample = readFileSync(ENCRYPTED_CONF, 'utf8');
  const config = sample.replace(/^(\s*store_dir:\s*)"[^"]*"/m, `$1"${storeDir}"`);
  if (config === sample) throw new Error('the sample configuration has no store_dir line to point at the test store');
  return config;
}

/** `n` payments with the PAN inline (never the token), one card each. */
function panPayments(ledger: SeededLedger, n: number, tag: string): { out: Outgoing[]; ids: string[]; pans: string[] } {
  const out: Outgoing[] = [];
  const ids: string[] = [];
  const pans: string[] = [];
  for (let i = 0; i < n; i++) {
    const card = ledger.usdCards[i % ledger.usdCards.length]!;
    const id = `${tag}-${i}`;
    const wire = { id, type: 'payment', pan: card.pan, merchant: ledger.merchants[i % ledger.merchants.length]!, amount: '1.00', currency: 'USD', createdAt: new Date().toISOString() };
    out.push({ subject: 'pay.orders.e2e', data: json(wire), via: 'js', msgId: id });
    ids.push(id);
    if (!pans.includes(card.pan)) pans.push(card.pan);
  }
  return { out, ids, pans };
}

/** Files under the store dir holding a PAN, or its digits after the first six (what a mask would hide). */
async function filesWithPans(storeDir: string, pans: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const pan of pans) {
    for (const needle of [pan, pan.slice(6)]) for (const file of await filesContaining(storeDir, needle)) hits.push(`${file}: ${needle}`);
  }
  return hits;
}

async function streamState(nc: NatsConnection) {
  return (await (await nc.jetstreamManager()).streams.info(STREAM)).state;
}

let env: BrokerAndLedger | undefined;
let runtime: Runtime | undefined;
let c: Collected | undefined;
let extra: (() => Promise<void>)[] = [];

afterEach(async () => {
  c?.stop();
  await runtime?.stop().catch(() => undefined);
  await env?.cleanup();
  for (const cleanup of extra) await cleanup().catch(() => undefined);
  env = undefined;
  runtime = undefined;
  c = undefined;
  extra = [];
});

const start = (e: BrokerAndLedger | { server: NatsServer; ledger: SeededLedger }, ordersRetention: OrdersRetention = 'applied') =>
  startRuntime(
    parseRuntimeConfig({ dataDir: e.ledger.dataDir, natsUrl: e.server.url, rulesPath: false, topology: { ...DEFAULT_TOPOLOGY, ordersRetention } }),
  );

const answered = (col: Collected, ids: string[]) => () => ids.every((id) => col.byId.has(id));

describe('PAY_ORDERS retention (default: orders leave once applied)', () => {
  it('purges every applied order, and once all are applied no PAN is left in any file of the store dir', async () => {
    env = await brokerAndLedger(40);
    c = await collect(env.nc);
    runtime = await start(env);
    const t = panPayments(env.ledger, 60, 'pan');
    await publishAll(env.nc, t.out);
    await waitUntil('every PAN order answered', answered(c, t.ids), 30_000);
    expect(t.ids.map((id) => c!.byId.get(id)![0]!.status)).toEqual(t.ids.map(() => 'approved'));
    const { last_seq: lastSeq } = await streamState(env.nc);
    expect(lastSeq).toBeGreaterThanOrEqual(t.ids.length);
    // within a few sweeps (one a second) of being applied and acked, the stream holds none of them
    await waitUntil('the applied orders purged', async () => {
      const state = await streamState(env!.nc);
      return state.messages === 0 && state.first_seq === lastSeq + 1;
    }, 10_000);
    const info = await (await env.nc.jetstreamManager()).streams.info(STREAM);
    expect(info.config.max_age).toBe(nanos(ORDERS_MAX_AGE_MS.applied));
    expect(info.config.retention).toBe('limits');
    // the stream emptied: nats-server dropped the blocks that held them
    expect(await filesWithPans(env.server.storeDir, t.pans)).toEqual([]);
    // results, dead letters and consumer state never held them
    const consumer = await (await env.nc.jetstreamManager()).consumers.info(STREAM, 'paystream');
    expect(consumer.num_pending).toBe(0);
  });

  it('keeps orders (7 days) with ordersRetention limits (run --keep-orders), and switching back purges them', async () => {
    env = await brokerAndLedger(20);
    c = await collect(env.nc);
    runtime = await start(env, 'limits');
    const t = panPayments(env.ledger, 10, 'keep');
    await publishAll(env.nc, t.out);
    await waitUntil('the kept orders answered', answered(c, t.ids), 30_000);
    // stopping drains and would purge what was applied (as every sweep would): kept, nothing goes
    await runtime.stop();
    expect((await streamState(env.nc)).messages).toBe(t.ids.length);
    const jsm = await env.nc.jetstreamManager();
    expect((await jsm.streams.info(STREAM)).config.max_age).toBe(nanos(ORDERS_MAX_AGE_MS.limits));
    expect(await filesWithPans(env.server.storeDir, t.pans)).not.toEqual([]);
    runtime = await start(env, 'applied');
    await waitUntil('the kept orders purged at the next start', async () => (await streamState(env!.nc)).messages === 0, 10_000);
    expect((await jsm.streams.info(STREAM)).config.max_age).toBe(nanos(ORDERS_MAX_AGE_MS.applied));
    // already applied: no new results, the ledger knew them
    expect(t.ids.every((id) => c!.byId.get(id)!.length === 1)).toBe(true);
  });
});

describe('what a purge leaves behind: bytes in the file store, ids in the duplicate window', () => {
  it('nats-server 2.9 file store: a purge of less than half a block leaves the purged bytes in its file (why the README recommends encryption at rest)', async () => {
    const server = await startNatsServer();
    extra.push(() => server.cleanup());
    const nc = await connectTest(server.url);
    extra.push(() => nc.close());
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'LINGER', subjects: ['linger.>'] });
    const pans = ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117'];
    const js = nc.jetstream();
    for (const pan of pans) await js.publish('linger.x', json({ pan }));
    for (let i = 0; i < 12; i++) await js.publish('linger.x', json({ card: 'ab'.repeat(32), i }));
    const purged = await jsm.streams.purge('LINGER', { seq: pans.length + 1 });
    expect(purged.purged).toBe(pans.length);
    expect((await jsm.streams.info('LINGER')).state.first_seq).toBe(pans.length + 1);
    // removed from the stream, still bytes in the block file: the file store reclaims a block's head only
    // once more than half of it is purged, or drops the block when the stream empties
    expect((await filesWithPans(server.storeDir, [pans[0]!])).length).toBeGreaterThan(0);
    await jsm.streams.purge('LINGER', { seq: (await jsm.streams.info('LINGER')).state.last_seq + 1 });
    // the emptied stream's blocks are removed as the purge completes, not necessarily before it answers
    await waitUntil('no file holding a PAN', async () => (await filesWithPans(server.storeDir, pans)).length === 0, 5_000);
  });

  it('Nats-Msg-Id de-duplication after a purge: the broker drops a republish while it runs; after a broker restart the ledger answers it as a duplicate', async () => {
    env = await brokerAndLedger(20);
    c = await collect(env.nc);
    runtime = await start(env);
    const card = env.ledger.usdCards[0]!;
    const order = json({ id: 'dd-1', type: 'payment', card: card.token, merchant: env.ledger.merchants[0]!, amount: '7.00', currency: 'USD', createdAt: new Date().toISOString() });
    const js = env.nc.jetstream();
    const first = await js.publish('pay.orders.e2e', order, { msgID: 'dd-1' });
    await waitUntil('dd-1 answered', () => c!.byId.has('dd-1'), 20_000);
    expect(c.byId.get('dd-1')![0]).toMatchObject({ status: 'approved' });
    await waitUntil('dd-1 purged', async () => (await streamState(env!.nc)).messages === 0, 10_000);
    // while the broker runs, its duplicate window is in memory: the purged message's id is still known
    const again = await js.publish('pay.orders.e2e', order, { msgID: 'dd-1' });
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    expect((await streamState(env.nc)).last_seq).toBe(first.seq);
    // a restarted broker rebuilds the window from the messages it holds: none. The republish is stored,
    // and the ledger answers it as the duplicate it is (same fingerprint), moving no money
    const balanceBefore = (await runtime.store.getAccount(card.accountId))!.balanceMinor;
    await env.server.restart();
    // as an upstream would: publish until the broker, back and with JetStream ready, acknowledges
    let afterRestart: Awaited<ReturnType<typeof js.publish>> | undefined;
    await waitUntil('the republish acknowledged', async () => {
      afterRestart = await js.publish('pay.orders.e2e', order, { msgID: 'dd-1', timeout: 1_000 }).catch(() => undefined);
      return afterRestart !== undefined;
    }, 20_000);
    expect(afterRestart?.duplicate).toBe(false);
    // (the processor may also resend its recent results after the reconnect: identical copies, not duplicates)
    await waitUntil('the republish answered', () => c!.byId.get('dd-1')!.some((r) => r.duplicate), 30_000);
    expect(c.byId.get('dd-1')!.filter((r) => r.duplicate)).toMatchObject([{ status: 'approved', duplicate: true }]);
    expect(new Set(c.byId.get('dd-1')!.map((r) => r.status))).toEqual(new Set(['approved']));
    expect((await runtime.store.getAccount(card.accountId))!.balanceMinor).toBe(balanceBefore);
  });
});

describe('why purges pause after a broker disconnect', () => {
  it('nats-server 2.9: a purge forgets every message an AckPolicy.All consumer has pending, above the purge point too, and never redelivers it', async () => {
    const server = await startNatsServer();
    extra.push(() => server.cleanup());
    const nc = await connectTest(server.url);
    extra.push(() => nc.close());
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'PENDING', subjects: ['pending.>'] });
    for (let i = 0; i < 10; i++) await nc.jetstream().publish('pending.x', json({ i }));
    await jsm.consumers.add('PENDING', { durable_name: 'd', ack_policy: AckPolicy.All, ack_wait: nanos(1_000) });
    const consumer = await nc.jetstream().consumers.get('PENDING', 'd');
    const delivered: JsMsg[] = [];
    for await (const m of await consumer.fetch({ max_messages: 10, expires: 2_000 })) delivered.push(m);
    expect(delivered).toHaveLength(10);
    delivered[3]!.ack(); // 1..4 acked, 5..10 delivered and "lost"
    await nc.flush();
    await waitUntil('the ack counted', async () => (await jsm.consumers.info('PENDING', 'd')).ack_floor.stream_seq === 4, 5_000);
    expect((await jsm.consumers.info('PENDING', 'd')).num_ack_pending).toBe(6);
    await jsm.streams.purge('PENDING', { seq: 5 });
    expect((await jsm.consumers.info('PENDING', 'd')).num_ack_pending).toBe(0);
    // well past ack_wait: 5..10 are still in the stream, and never come again
    await new Promise((r) => setTimeout(r, 2_500));
    const again: number[] = [];
    for await (const m of await consumer.fetch({ max_messages: 10, expires: 1_500 })) again.push(m.seq);
    expect(again).toEqual([]);
    expect((await jsm.streams.info('PENDING')).state.messages).toBe(6);
  });

  it('the processor purges no applied order for two ack waits after a reconnect, then does', async () => {
    env = await brokerAndLedger(20);
    c = await collect(env.nc);
    const ackWaitMs = 3_000;
    runtime = await startRuntime(
      parseRuntimeConfig({ dataDir: env.ledger.dataDir, natsUrl: env.server.url, rulesPath: false, topology: { ...DEFAULT_TOPOLOGY, ackWaitMs } }),
    );
    const order = (id: string) => json({ id, type: 'payment', pan: env!.ledger.usdCards[0]!.pan, merchant: env!.ledger.merchants[0]!, amount: '1.00', currency: 'USD', createdAt: new Date().toISOString() });
    await env.nc.jetstream().publish('pay.orders.e2e', order('r-1'), { msgID: 'r-1' });
    await waitUntil('r-1 purged', async () => (await streamState(env!.nc)).messages === 0 && c!.byId.has('r-1'), 10_000);
    await env.server.restart();
    const restartedAtMs = Date.now();
    await waitUntil('r-2 stored', async () => {
      const ack = await env!.nc.jetstream().publish('pay.orders.e2e', order('r-2'), { msgID: 'r-2', timeout: 1_000 }).catch(() => undefined);
      return ack !== undefined;
    }, 20_000);
    await waitUntil('r-2 answered', () => c!.byId.has('r-2'), 20_000);
    const answeredAtMs = Date.now();
    const held = (await streamState(env.nc)).messages;
    await waitUntil('r-2 purged after the pause', async () => (await streamState(env!.nc)).messages === 0, 20_000);
    const purgedAtMs = Date.now();
    // still there when answered (if that came within the pause), gone no sooner than two ack waits after the restart
    if (answeredAtMs - restartedAtMs < 2 * ackWaitMs - 500) expect(held).toBe(1);
    expect(purgedAtMs - restartedAtMs).toBeGreaterThanOrEqual(2 * ackWaitMs - 1_000);
  });
});

describe('data/nats/encrypted.conf: JetStream encryption at rest', () => {
  it('starts with the key from the environment, keeps and serves the orders, and no PAN is in any file under the store dir', async () => {
    // as the sample says: a letter first, or a key like 1e50ab... would parse as a number
    const key = `k${randomBytes(32).toString('hex')}`;
    const server = await startNatsServer({ config: encryptedConfig, env: { PAYSTREAM_JS_KEY: key } });
    extra.push(() => server.cleanup());
    expect(server.log()).toMatch(/Encryption:\s+ChaCha20-Poly1305/);
    const ledger = await seededLedger(20);
    extra.push(() => ledger.cleanup());
    const nc = await connectTest(server.url);
    extra.push(() => nc.close());
    c = await collect(nc);
    // orders kept (--keep-orders): the PANs stay in the stream, the hardest case for the files
    runtime = await start({ server, ledger }, 'limits');
    const t = panPayments(ledger, 30, 'enc');
    await publishAll(nc, t.out);
    await waitUntil('every order answered', answered(c, t.ids), 30_000);
    expect(t.ids.map((id) => c!.byId.get(id)![0]!.status)).toEqual(t.ids.map(() => 'approved'));
    await runtime.stop();
    runtime = undefined;
    // the broker holds them (the API decrypts), the files do not show them
    const jsm = await nc.jetstreamManager();
    expect((await jsm.streams.info(STREAM)).state.messages).toBe(t.ids.length);
    const stored = new TextDecoder().decode((await jsm.streams.getMessage(STREAM, { seq: 1 })).data);
    expect(stored).toContain(t.pans[0]);
    expect(await filesWithPans(server.storeDir, t.pans)).toEqual([]);
    // the same key at the next start reads them back
    await server.restart();
    await waitUntil('the stream back after the restart', async () => (await jsm.streams.info(STREAM).catch(() => undefined))?.state.messages === t.ids.length, 10_000);
    expect(await filesWithPans(server.storeDir, t.pans)).toEqual([]);
  });

  it('refuses to start without PAYSTREAM_JS_KEY in the environment, or with a key that reads as a number', async () => {
    const { PAYSTREAM_JS_KEY: _unset, ...rest } = process.env;
    const run = (env: NodeJS.ProcessEnv) => promisify(execFile)('nats-server', ['-c', ENCRYPTED_CONF, '-p', '-1'], { env, timeout: 10_000 });
    await expect(run(rest)).rejects.toMatchObject({ stderr: expect.stringMatching(/PAYSTREAM_JS_KEY.*can not be found/) });
    await expect(run({ ...rest, PAYSTREAM_JS_KEY: `1e50${'ab'.repeat(30)}` })).rejects.toMatchObject({
      stderr: expect.stringMatching(/PAYSTREAM_JS_KEY.*could not be parsed/),
    });
  });
});
