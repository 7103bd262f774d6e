// Least privilege and attested identity against a real nats-server running data/nats/roles.conf as shipped:
// TLS with certificates generated here, the four role accounts, and a real processor connected as the
// processor role. The attacks of issue 15's first paragraph, each tried again: each fails now.

import { type NatsConnection, headers } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callService } from '../../src/nats/service.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import { TEST_PANS } from '../domain/builders.ts';
import { type SeededLedger, cli, json, seededLedger, text, waitUntil } from './harness.ts';
import { startNatsServer } from './nats-server.ts';
import { ROLE_USERS, type RolesBroker, startProcessorOn, startRolesBroker } from './roles-broker.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const TOPOLOGY = { prefix: 'pay' };
/** a refused request fails fast: no responders, a permission error, or at worst this timeout */
const REFUSED_WITHIN_MS = 1500;

let broker: RolesBroker;
let ledger: SeededLedger;
let runtime: Runtime | undefined;
let publisher: NatsConnection;
let operator: NatsConnection;
let viewer: NatsConnection;

const call = (nc: NatsConnection, op: string, args: Record<string, unknown> = {}) =>
  callService(nc, TOPOLOGY, op, args, REFUSED_WITHIN_MS * 2) as Promise<Record<string, unknown>>;

/** A request that must not get through: it rejects (not a reply), and nothing answered it. */
async function refused(nc: NatsConnection, op: string, args: Record<string, unknown>): Promise<string> {
  const outcome = await nc
    .request(`pay.svc.${op}`, json(args), { timeout: REFUSED_WITHIN_MS })
    .then((reply) => `answered: ${text(reply.data)}`, (error: Error & { code?: string }) => `refused: ${error.code ?? ''} ${error.message}`);
  expect(outcome, `${op} ${JSON.stringify(args)}`).toMatch(/^refused: /);
  return outcome;
}

const balanceOf = async (id: string): Promise<string> => ((await call(operator, 'accounts.get', { id })).account as { balance: string }).balance;
const cardStatus = async (token: string): Promise<string> => ((await call(operator, 'cards.show', { query: token })).card as { status: string }).status;

beforeAll(async () => {
  broker = await startRolesBroker();
  ledger = await seededLedger(12);
  runtime = await startProcessorOn(broker, ledger.dataDir);
  [publisher, operator, viewer] = await Promise.all([broker.connectAs('publisher'), broker.connectAs('operator'), broker.connectAs('viewer')]);
}, 60_000);

afterAll(async () => {
  for (const nc of [publisher, operator, viewer]) await nc?.close().catch(() => undefined);
  await runtime?.stop();
  await broker?.cleanup();
  await ledger?.cleanup();
});

describe('roles.conf: who can reach the bus', () => {
  it('refuses a client without a certificate, with one the CA did not sign, with an unlisted one, and in plain text', async () => {
    const attempts = {
      'no certificate': () => broker.connectWith({ ca: broker.caFile }),
      'a forged certificate for alice (another CA)': () => broker.connectWith({ ...broker.forgedCert, ca: broker.caFile }),
      'a certificate of this CA for an unlisted user': () => broker.connectWith(broker.strangerCert),
      'no TLS at all': () => broker.connectWith({}, { tls: undefined }),
    };
    for (const [what, attempt] of Object.entries(attempts)) {
      const outcome = await attempt().then(
        async (nc) => {
          await nc.close();
          return 'connected';
        },
        (error: Error) => `refused: ${error.message}`,
      );
      expect(outcome, what).toMatch(/^refused/);
    }
    // the server said why: no certificate, an unknown CA, no user for the certificate
    expect(broker.server.log()).toMatch(/TLS handshake error/);
    expect(broker.server.log()).toMatch(/authentication error|Authorization Violation|no user|not found/i);
  }, 30_000);
});

describe('roles.conf: what a publisher and a viewer may do', () => {
  it('a publisher sends an order of its own source, gets its publish ack and its result, and nothing else', async () => {
    const card = ledger.usdCards[0]!;
    const order = { id: 'roles-pay-1', type: 'payment', card: card.token, merchant: ledger.merchants[0], amount: '12.00', currency: 'USD', createdAt: new Date().toISOString() };
    const results: Record<string, unknown>[] = [];
    const sub = publisher.subscribe('pay.results.>', { callback: (_e, m) => results.push(JSON.parse(text(m.data)) as Record<string, unknown>) });
    await publisher.flush();
    const ack = await publisher.jetstream().publish('pay.orders.pos', json(order), { msgID: order.id });
    expect(ack).toMatchObject({ stream: 'PAY_ORDERS', duplicate: false });
    await waitUntil('the publisher to get its result', () => results.some((r) => r.orderId === order.id), 20_000);
    expect(results.find((r) => r.orderId === order.id)).toMatchObject({ status: 'approved' });
    sub.unsubscribe();

    // another source's subjects, the JetStream API and the service are out of its reach
    const otherSource = await publisher
      .jetstream()
      .publish('pay.orders.web', json({ ...order, id: 'roles-pay-web' }), { timeout: REFUSED_WITHIN_MS })
      .then(() => 'acked', (error: Error) => `refused: ${error.message}`);
    expect(otherSource).toMatch(/^refused/);
    const purge = await publisher
      .request('$JS.API.STREAM.PURGE.PAY_ORDERS', json({}), { timeout: REFUSED_WITHIN_MS })
      .then((reply) => `answered: ${text(reply.data)}`, (error: Error) => `refused: ${error.message}`);
    expect(purge).toMatch(/^refused/);
  }, 40_000);

  it('a publisher and a viewer cannot open, deposit, freeze, approve, register or reload (the issue attacks)', async () => {
    const card = ledger.usdCards[1]!;
    const before = { balance: await balanceOf(card.accountId), status: await cardStatus(card.token) };
    const attacks: [string, Record<string, unknown>][] = [
      ['accounts.open', { owner: 'Mallory', currency: 'USD', id: 'm-mallory' }],
      ['accounts.deposit', { id: card.accountId, amount: '10000000000000.00' }],
      ['cards.freeze', { token: card.token }],
      ['cards.close', { token: card.token }],
      ['review.approve', { orderId: 'roles-pay-1', by: 'ceo@bank' }],
      ['review.decline', { orderId: 'roles-pay-1', by: 'ceo@bank' }],
      ['cards.register', { pan: TEST_PANS.visa[1], expiry: '12/39', holder: 'Mallory' }],
      ['rules.reload', {}],
    ];
    for (const nc of [publisher, viewer]) for (const [op, args] of attacks) await refused(nc, op, args);
    // the publisher is stopped by its permissions, the viewer finds nothing to call (the op is not imported)
    expect(broker.server.log()).toMatch(/Publish Violation - User \\?"pos@upstream\.example\\?", Subject \\?"pay\.svc\.accounts\.deposit/);
    expect(await refused(viewer, 'accounts.deposit', { id: card.accountId, amount: '1.00' })).toMatch(/503|no responders/i);
    // and nothing moved
    expect(await balanceOf(card.accountId)).toBe(before.balance);
    expect(await cardStatus(card.token)).toBe(before.status);
    await expect(call(operator, 'accounts.get', { id: 'm-mallory' })).rejects.toMatchObject({ code: 'unknown_account' });
  }, 60_000);

  it('a viewer looks cards and accounts up, lists them, reads the review queue and the stats', async () => {
    const card = ledger.usdCards[0]!;
    expect(await call(viewer, 'cards.lookup', { query: card.token })).toMatchObject({ cards: [{ token: card.token }] });
    expect(((await call(viewer, 'cards.list', { limit: 5 })).cards as unknown[]).length).toBe(5);
    expect(await call(viewer, 'accounts.get', { id: card.accountId })).toMatchObject({ account: { id: card.accountId } });
    expect(((await call(viewer, 'accounts.list', { limit: 3 })).accounts as unknown[]).length).toBe(3);
    expect(await call(viewer, 'orders.get', { id: 'roles-pay-1' })).toMatchObject({ order: { orderId: 'roles-pay-1' } });
    expect(await call(viewer, 'review.list')).toHaveProperty('orders');
    expect(await call(viewer, 'stats')).toHaveProperty('processor');
  }, 30_000);
});

describe('roles.conf: what an operator may do, as the identity the server attests', () => {
  it('an operator deposits, freezes, approves a held payment: each acts for the identity the server attests, not a claimed one', async () => {
    const card = ledger.usdCards[2]!;
    // deposit, with a `by` and a forged Nats-Request-Info header claiming someone else: the server overwrites the header
    const forged = headers();
    forged.set('Nats-Request-Info', JSON.stringify({ acc: 'OPERATORS', user: 'ceo@bank' }));
    const depositReply = await operator.request('pay.svc.accounts.deposit', json({ id: card.accountId, amount: '10000.00', by: 'ceo@bank' }), { timeout: 5000, headers: forged });
    expect(JSON.parse(text(depositReply.data))).toMatchObject({ account: { balance: '15000.00' }, transfer: { amount: '10000.00', kind: 'deposit' } });
    expect(await call(operator, 'cards.freeze', { token: card.token, by: 'ceo@bank' })).toMatchObject({ card: { status: 'frozen' } });
    expect(await call(operator, 'cards.unfreeze', { token: card.token })).toMatchObject({ card: { status: 'active' } });

    // a 12,000.00 USD payment is held for review (data/risk.yaml: over 10,000.00) ...
    const results: Record<string, unknown>[] = [];
    const sub = publisher.subscribe('pay.results.>', { callback: (_e, m) => results.push(JSON.parse(text(m.data)) as Record<string, unknown>) });
    await publisher.flush();
    const held = { id: 'roles-held-1', type: 'payment', card: card.token, merchant: ledger.merchants[1], amount: '12000.00', currency: 'USD', createdAt: new Date().toISOString() };
    await publisher.jetstream().publish('pay.orders.pos', json(held), { msgID: held.id });
    await waitUntil('the held result', () => results.some((r) => r.orderId === held.id), 20_000);
    expect(results.find((r) => r.orderId === held.id)).toMatchObject({ status: 'held' });
    // ... the viewer sees it in the queue, cannot decide it; the operator approves, claiming to be the CEO
    expect(((await call(viewer, 'review.list')).orders as { orderId: string }[]).map((o) => o.orderId)).toContain(held.id);
    await refused(viewer, 'review.approve', { orderId: held.id, by: 'ceo@bank' });
    const approved = await call(operator, 'review.approve', { orderId: held.id, by: 'ceo@bank' });
    expect(approved).toMatchObject({ result: { orderId: held.id, status: 'approved', decidedBy: expect.stringContaining(ROLE_USERS.operator) } });
    // the stored result names the operator the server attested, and nothing names the claimed one
    const stored = (await call(viewer, 'orders.get', { id: held.id })).order as { result: { decidedBy?: string } };
    expect(stored.result.decidedBy).toContain(ROLE_USERS.operator);
    expect(JSON.stringify(stored)).not.toContain('ceo@bank');
    await waitUntil('the approval published', () => results.some((r) => r.orderId === held.id && r.status === 'approved'), 10_000);
    sub.unsubscribe();
  }, 60_000);

  it('an operator registers a card and opens an account (JSON as the CLI prints it); bad input is refused as data', async () => {
    const reg = await call(operator, 'cards.register', { pan: TEST_PANS.visa[0], expiry: '12/39', holder: 'Service Tester', currency: 'USD' });
    expect(reg).toMatchObject({ created: true, card: { masked: expect.stringContaining('1111'), brand: 'visa' }, account: { balance: '0.00' } });
    expect(await call(operator, 'accounts.open', { owner: 'Tea House', currency: 'EUR', id: 'm-tea' })).toMatchObject({ account: { id: 'm-tea', currency: 'EUR', balance: '0.00' } });
    expect(await call(operator, 'accounts.deposit', { id: 'm-tea', amount: '10.50' })).toMatchObject({ account: { balance: '10.50' }, transfer: { amount: '10.50', kind: 'deposit' } });
    await expect(call(operator, 'cards.freeze', { token: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'unknown_card' });
    await expect(call(operator, 'cards.register', { pan: '4111111111111112', expiry: '12/39', holder: 'X' })).rejects.toMatchObject({ code: expect.not.stringMatching(/^unauthenticated$/) });
    // card data where none belongs: the CVV never reaches the ledger, from an operator either
    await expect(call(operator, 'cards.register', { pan: TEST_PANS.mastercard[1], expiry: '12/30', holder: 'Ada', cvv: '123' })).rejects.toMatchObject({ code: 'cvv_forbidden' });
  });
});

describe('roles.conf: four eyes and the audit trail', () => {
  it('four eyes over NATS: maker and checker are the users the server attests; one operator cannot be both, whatever it claims', async () => {
    const card = ledger.usdCards[4]!;
    const bob = await broker.connectAs('operator2');
    try {
      // above the default four-eyes amount (10,000.00 USD): the deposit waits, made by alice whatever `by` says
      const made = (await call(operator, 'accounts.deposit', { id: card.accountId, amount: '20000.00', by: ROLE_USERS.operator2 })) as { pending: { id: string; madeBy: string; status: string } };
      expect(made.pending).toMatchObject({ status: 'pending', madeBy: expect.stringContaining(ROLE_USERS.operator) });
      expect(made.pending.madeBy).not.toContain(ROLE_USERS.operator2);
      // alice cannot check her own posting, not even claiming to be bob; viewers and publishers cannot at all
      await expect(call(operator, 'accounts.approve-posting', { id: made.pending.id, by: ROLE_USERS.operator2 })).rejects.toMatchObject({ code: 'same_operator' });
      expect(((await call(viewer, 'accounts.pending')).postings as { id: string }[]).map((p) => p.id)).toContain(made.pending.id);
      await refused(viewer, 'accounts.approve-posting', { id: made.pending.id });
      await refused(publisher, 'accounts.approve-posting', { id: made.pending.id });
      expect(await balanceOf(card.accountId)).toBe('5000.00');
      // bob, attested by his own certificate, approves: the money moves once
      const checked = await call(bob, 'accounts.approve-posting', { id: made.pending.id });
      expect(checked).toMatchObject({ posting: { status: 'approved', decidedBy: expect.stringContaining(ROLE_USERS.operator2) }, transfer: { amount: '20000.00' } });
      expect(await balanceOf(card.accountId)).toBe('25000.00');
    } finally {
      await bob.close();
    }
  }, 30_000);

  it('the audit trail names the attested operators, never a claimed identity; a viewer reads it, a publisher cannot', async () => {
    const listed = JSON.stringify(await call(viewer, 'audit.list', { limit: 1000 }));
    for (const who of [ROLE_USERS.operator, ROLE_USERS.operator2]) expect(listed).toContain(who);
    // every request above claimed ceo@bank (or bob, from alice) in `by`: no entry took it
    expect(listed).not.toContain('ceo@bank');
    await refused(publisher, 'audit.list', {});
  });
});

describe('roles.conf: the CLI with nothing but its certificate', () => {
  it('the CLI run as an operator needs nothing but its certificate (with the ledger locked, or --service without one); as a viewer it is refused', async () => {
    const card = ledger.usdCards[3]!;
    const tlsEnv = (role: 'operator' | 'viewer') => {
      const files = broker.certOf(role);
      return { NATS_TLS_CA: files.ca, NATS_TLS_CERT: files.cert, NATS_TLS_KEY: files.key };
    };
    // the ledger is locked by the running processor: the CLI goes through the service, as the operator
    const deposit = await cli(['--data', ledger.dataDir, '--json', 'accounts', 'deposit', card.accountId, '25.00'], tlsEnv('operator'));
    expect(deposit.code, deposit.stderr).toBe(0);
    expect(JSON.parse(deposit.stdout)).toMatchObject({ transfer: { amount: '25.00', kind: 'deposit' } });
    const asViewer = await cli(['--data', ledger.dataDir, '--json', 'accounts', 'deposit', card.accountId, '25.00'], tlsEnv('viewer'));
    expect(asViewer.code).toBe(1);
    const show = await cli(['--data', ledger.dataDir, '--json', 'accounts', 'show', card.accountId], tlsEnv('viewer'));
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ account: { balance: '5025.00' } });

    // on a machine without the ledger (--service: no data directory, nothing but the URL and the certificate)
    const remote = (role: 'operator' | 'viewer', args: string[]) =>
      cli(['--service', '--nats', broker.server.url, '--data', '/nonexistent/paystream-ledger', '--json', ...args], tlsEnv(role));
    const freeze = await remote('operator', ['cards', 'freeze', card.token]);
    expect(freeze.code, freeze.stderr).toBe(0);
    expect(JSON.parse(freeze.stdout)).toMatchObject({ card: { token: card.token, status: 'frozen' } });
    const unfreeze = await remote('viewer', ['cards', 'unfreeze', card.token]);
    expect(unfreeze.code).toBe(1);
    expect(unfreeze.stdout + unfreeze.stderr).toMatch(/may not call cards\.unfreeze/);
    const seen = await remote('viewer', ['cards', 'show', card.token]);
    expect(seen.code, seen.stderr).toBe(0);
    expect(JSON.parse(seen.stdout)).toMatchObject({ card: { status: 'frozen' } });
  }, 120_000);
});

describe('roles.conf: the processor role is enough for the processor', () => {
  it('the processor purges the orders it applied and met no permission violation in all of the above', async () => {
    const jsm = await runtime!.nc!.jetstreamManager();
    await waitUntil('applied orders purged from PAY_ORDERS', async () => (await jsm.streams.info('PAY_ORDERS')).state.messages === 0, 20_000);
    expect(broker.server.log()).not.toMatch(/Violation - User \\?"processor@paystream\.example/);
  });
});

describe('a broker that lets anyone in attests no one', () => {
  it('changing operations are refused unauthenticated, even with a Nats-Request-Info header the caller wrote; reads still answer', async () => {
    const open = await startNatsServer();
    const openLedger = await seededLedger(2);
    let openRuntime: Runtime | undefined;
    const { connect } = await import('nats');
    const nc = await connect({ servers: open.url });
    try {
      openRuntime = await startRuntime(parseRuntimeConfig({ dataDir: openLedger.dataDir, natsUrl: open.url, rulesPath: false }));
      const card = openLedger.cards[0]!;
      const forged = headers();
      forged.set('Nats-Request-Info', JSON.stringify({ acc: 'OPERATORS', user: 'ceo@bank' }));
      for (const [op, args] of [
        ['accounts.open', { owner: 'Mallory', currency: 'USD' }],
        ['accounts.deposit', { id: card.accountId, amount: '10000000000000.00' }],
        ['cards.freeze', { token: card.token }],
        ['review.approve', { orderId: 'x', by: 'ceo@bank' }],
      ] as const) {
        await expect(callService(nc, TOPOLOGY, op, args)).rejects.toMatchObject({ code: 'unauthenticated' });
        const reply = await nc.request(`pay.svc.${op}`, json(args), { timeout: 5000, headers: forged });
        expect(JSON.parse(text(reply.data))).toMatchObject({ error: { code: 'unauthenticated', message: expect.stringContaining('vouches for no one') } });
      }
      expect(await callService(nc, TOPOLOGY, 'accounts.get', { id: card.accountId })).toMatchObject({ account: { balance: '5000.00' } });
      const status = await callService(nc, TOPOLOGY, 'cards.show', { query: card.token });
      expect(status).toMatchObject({ card: { status: 'active' } });
    } finally {
      await nc.close();
      await openRuntime?.stop();
      await open.cleanup();
      await openLedger.cleanup();
    }
  }, 60_000);
});
