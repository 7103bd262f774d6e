// Shared arrangements for the end-to-end tests: seeded ledgers, processors (in-process or child), traffic
// with known expected outcomes, result collection, and an independent model of the money each order moves.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ConsumerInfo,
  type JsMsg,
  type Msg,
  type NatsConnection,
  type Subscription,
  connect,
} from 'nats';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { tokenizePan } from '../../src/domain/cards.ts';
import { DEMO_SEED, demoCardCurrency, demoCardPans, demoMerchants } from '../../src/domain/generate.ts';
import { parseAmount } from '../../src/domain/money.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { type VerifyReport, verifyLedger } from '../../src/ledger/verify.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '../..');
export const BIN = path.join(REPO_ROOT, 'src/cli/bin.js');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true; throws with `what` (and the last detail) after timeoutMs. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  detail: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${detail()}`);
}

// ---- ledgers ----

export interface SeededCard {
  index: number;
  pan: string;
  token: string;
  accountId: string;
  currency: string;
  last4: string;
}

export interface SeededLedger {
  dataDir: string;
  cards: SeededCard[];
  usdCards: SeededCard[];
  merchants: string[];
  /** every account's balance before any order */
  initial: Map<string, bigint>;
  cleanup(): Promise<void>;
}

/** A fresh data dir with `cards` funded test cards (5000.00 each) and 20 USD merchants (1,000,000.00 each). */
export async function seededLedger(cards = 200): Promise<SeededLedger> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'paystream-e2e-'));
  const store = await LedgerStore.open(dataDir);
  try {
    await seedLedger(store, { cards, merchants: 20, seed: DEMO_SEED, cardBalance: '5000', merchantBalance: '1000000' });
    const seeded = demoCardPans(cards, DEMO_SEED).map((pan, index): SeededCard => {
      const token = tokenizePan(pan, store.secret);
      return { index, pan, token, accountId: `acct_${token.slice(0, 16)}`, currency: demoCardCurrency(index), last4: pan.slice(-4) };
    });
    const initial = await balances(store);
    return {
      dataDir,
      cards: seeded,
      usdCards: seeded.filter((c) => c.currency === 'USD'),
      merchants: demoMerchants(20),
      initial: new Map([...initial].map(([id, a]) => [id, a.balance])),
      cleanup: () => rm(dataDir, { recursive: true, force: true }),
    };
  } finally {
    await store.close();
  }
}

export async function balances(store: LedgerStore): Promise<Map<string, { balance: bigint; holds: bigint; currency: string }>> {
  const out = new Map<string, { balance: bigint; holds: bigint; currency: string }>();
  for (const a of await store.listAccounts({ limit: 10_000 })) out.set(a.id, { balance: a.balanceMinor, holds: a.holdsMinor, currency: a.currency });
  return out;
}

export interface LedgerSnapshot {
  balances: Map<string, { balance: bigint; holds: bigint; currency: string }>;
  verify: VerifyReport;
  orders: Map<string, OrderResult>;
}

/** Opens the store (the processor must have stopped), reads balances, every stored result, and verifies. */
export async function snapshotLedger(dataDir: string): Promise<LedgerSnapshot> {
  const store = await LedgerStore.open(dataDir);
  try {
    const orders = new Map<string, OrderResult>();
    for await (const r of store.allOrders()) orders.set(r.order.id, r.result);
    return { balances: await balances(store), verify: await verifyLedger(store), orders };
  } finally {
    await store.close();
  }
}

/** Every file under dir (recursively) that contains `needle` as bytes. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const bytes = Buffer.from(needle, 'utf8');
  // the server may remove a block or a stream's folder while this walks: what is gone holds nothing
  const gone = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch((e: unknown) => (gone(e) ? [] : Promise.reject(e)));
    for (const entry of entries) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (await fileHolds(p, bytes).catch((e: unknown) => (gone(e) ? false : Promise.reject(e)))) hits.push(p);
    }
  };
  await walk(dir);
  return hits;
}

async function fileHolds(file: string, bytes: Buffer): Promise<boolean> {
  return (await stat(file)).isFile() && (await readFile(file)).includes(bytes);
}

// ---- processes ----

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `paystream <args>` to completion. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PAYSTREAM_SECRET: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ChildProcessor {
  proc: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
  /** SIGTERM: drains and exits; resolves with the exit code */
  stop(): Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** `paystream run --headless --no-risk` as a child; resolves once it says it runs. */
export async function startChildProcessor(dataDir: string, natsUrl: string, extra: string[] = []): Promise<ChildProcessor> {
  const proc = spawn(process.execPath, [BIN, '--data', dataDir, '--nats', natsUrl, 'run', '--headless', '--no-risk', ...extra], {
    cwd: REPO_ROOT,
    env: { ...process.env, PAYSTREAM_SECRET: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => {
    if (err.length < 256 * 1024) err += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitUntil('the child processor to start', () => gone || /paystream running/.test(err), 30_000);
  if (gone) throw new Error(`the processor exited at start: ${err}`);
  return {
    proc,
    stderr: () => err,
    exited,
    async stop() {
      if (!gone) proc.kill('SIGTERM');
      return exited;
    },
    async kill(signal) {
      if (!gone) proc.kill(signal);
      await exited;
    },
  };
}

// ---- NATS ----

export async function connectTest(url: string): Promise<NatsConnection> {
  return connect({ servers: url, name: 'paystream-e2e', maxReconnectAttempts: -1, reconnectTimeWait: 200 });
}

/** A test's own broker (free port, temporary store), a seeded ledger, and a connection to the broker. */
export interface BrokerAndLedger {
  server: NatsServer;
  ledger: SeededLedger;
  nc: NatsConnection;
  /** closes the connection, stops the broker and removes both directories */
  cleanup(): Promise<void>;
}

/**
 * Registers hooks that give the file (`all`) or each test (`each`) its own broker and seeded ledger. The
 * object returned is filled in by the time a test runs (and replaced for each test with `each`).
 */
export function withBrokerAndLedger(cards: number, scope: 'all' | 'each'): BrokerAndLedger {
  const env = {} as BrokerAndLedger;
  const [before, after] = scope === 'all' ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    Object.assign(env, await brokerAndLedger(cards));
  });
  after(async () => {
    await env.cleanup?.();
  });
  return env;
}

export async function brokerAndLedger(cards: number): Promise<BrokerAndLedger> {
  const server = await startNatsServer();
  let ledger: SeededLedger | undefined;
  try {
    ledger = await seededLedger(cards);
    const nc = await connectTest(server.url);
    const seeded = ledger;
    return {
      server,
      ledger: seeded,
      nc,
      cleanup: async () => {
        await nc.close().catch(() => undefined);
        await server.cleanup();
        await seeded.cleanup();
      },
    };
  } catch (error) {
    await server.cleanup();
    await ledger?.cleanup();
    throw error;
  }
}

export interface Collected {
  /** every result received, in arrival order */
  all: OrderResult[];
  byId: Map<string, OrderResult[]>;
  dlq: { subject: string; reason: string | undefined; orderId: string | undefined; payload: string }[];
  reports: Map<string, Record<string, unknown>[]>;
  stop(): void;
}

/** Core subscriptions on results, reports and dlq (subscribed and flushed before it resolves). */
export async function collect(nc: NatsConnection, prefix = 'pay'): Promise<Collected> {
  const c: Collected = { all: [], byId: new Map(), dlq: [], reports: new Map(), stop: () => undefined };
  const subs: Subscription[] = [];
  subs.push(
    nc.subscribe(`${prefix}.results.>`, {
      callback: (_e, m) => {
        const r = JSON.parse(decoder.decode(m.data)) as OrderResult;
        c.all.push(r);
        const list = c.byId.get(r.orderId) ?? [];
        list.push(r);
        c.byId.set(r.orderId, list);
      },
    }),
  );
  subs.push(
    nc.subscribe(`${prefix}.dlq.>`, {
      callback: (_e, m: Msg) => {
        c.dlq.push({
          subject: m.subject,
          reason: m.headers?.get('Paystream-Reason') || undefined,
          orderId: m.headers?.get('Paystream-Order-Id') || undefined,
          payload: decoder.decode(m.data),
        });
      },
    }),
  );
  subs.push(
    nc.subscribe(`${prefix}.reports.>`, {
      callback: (_e, m) => {
        const id = m.subject.slice(`${prefix}.reports.`.length);
        const list = c.reports.get(id) ?? [];
        list.push(JSON.parse(decoder.decode(m.data)) as Record<string, unknown>);
        c.reports.set(id, list);
      },
    }),
  );
  c.stop = () => {
    for (const s of subs) s.unsubscribe();
  };
  await nc.flush();
  return c;
}

/** Every message of a stream, in order, through an ordered consumer. */
export async function readStream(nc: NatsConnection, stream: string): Promise<JsMsg[]> {
  const jsm = await nc.jetstreamManager();
  const total = (await jsm.streams.info(stream)).state.messages;
  const out: JsMsg[] = [];
  if (total === 0) return out;
  const consumer = await nc.jetstream().consumers.get(stream);
  while (out.length < total) {
    const batch = await consumer.fetch({ max_messages: Math.min(5000, total - out.length), expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      out.push(m);
      got++;
    }
    if (got === 0) break;
  }
  return out;
}

export async function consumerInfo(nc: NatsConnection, stream = 'PAY_ORDERS', durable = 'paystream'): Promise<ConsumerInfo | undefined> {
  const jsm = await nc.jetstreamManager();
  return jsm.consumers.info(stream, durable).catch(() => undefined);
}

/** The durable consumer has every stored message delivered and acknowledged (so written to the ledger). */
export async function consumerCaughtUp(nc: NatsConnection): Promise<boolean> {
  const info = await consumerInfo(nc);
  return info !== undefined && info.num_pending === 0 && info.num_ack_pending === 0;
}

// ---- traffic ----

export interface Outgoing {
  subject: string;
  data: Uint8Array;
  /** 'js' publishes through JetStream with Nats-Msg-Id = msgId; 'core' is a plain publish */
  via: 'js' | 'core';
  msgId?: string;
}

export interface Expected {
  status: string;
  reason?: string;
}

export interface Traffic {
  out: Outgoing[];
  /** the wire orders with ids, in first-publication order (the order the ledger applies them) */
  orders: Record<string, unknown>[];
  expected: Map<string, Expected>;
  /** extra results marked duplicate each id should get (republished through core publish) */
  duplicates: Map<string, number>;
  /** JetStream republishes with the same Nats-Msg-Id: the broker drops them */
  brokerDuplicates: number;
  /** dead letters expected, by reason (dlq.<reason>) */
  dlq: Map<string, number>;
  /** PANs that were sent inline */
  inlinePans: Set<string>;
}

const iso = () => new Date().toISOString();

export function newTraffic(): Traffic {
  return { out: [], orders: [], expected: new Map(), duplicates: new Map(), brokerDuplicates: 0, dlq: new Map(), inlinePans: new Set() };
}

function push(t: Traffic, wire: Record<string, unknown>, expected: Expected, source = 'e2e'): void {
  t.orders.push(wire);
  t.expected.set(wire.id as string, expected);
  t.out.push({ subject: `pay.orders.${source}`, data: encoder.encode(JSON.stringify(wire)), via: 'js', msgId: wire.id as string });
}

/**
 * `groups` scenario groups over USD cards: every order type, with expected outcomes that hold as long as
 * each card sees few groups (5000.00 each is plenty). `tag` keeps ids distinct between calls.
 */
export function mixedTraffic(ledger: SeededLedger, groups: number, tag: string, opts: { duplicates?: boolean; bad?: boolean } = {}): Traffic {
  const t = newTraffic();
  const eur = ledger.cards.find((c) => c.currency === 'EUR')!;
  for (let g = 0; g < groups; g++) {
    const card = ledger.usdCards[g % ledger.usdCards.length]!;
    const merchant = ledger.merchants[g % ledger.merchants.length]!;
    const id = (s: string) => `${tag}-${g}-${s}`;
    const base = { card: card.token, merchant, currency: 'USD', createdAt: iso() };
    switch (g % 11) {
      case 0:
        push(t, { id: id('pay'), type: 'payment', ...base, amount: '12.34' }, { status: 'approved' });
        break;
      case 1:
        push(t, { id: id('auth'), type: 'authorize', ...base, amount: '50.00' }, { status: 'authorized' });
        push(t, { id: id('cap'), type: 'capture', ref: id('auth'), createdAt: iso() }, { status: 'captured' });
        push(t, { id: id('cap2'), type: 'capture', ref: id('auth'), createdAt: iso() }, { status: 'declined', reason: 'already_captured' });
        break;
      case 2:
        push(t, { id: id('auth'), type: 'authorize', ...base, amount: '80.00' }, { status: 'authorized' });
        push(t, { id: id('cap'), type: 'capture', ref: id('auth'), amount: '30.00', currency: 'USD', createdAt: iso() }, { status: 'captured' });
        push(t, { id: id('void'), type: 'void', ref: id('auth'), createdAt: iso() }, { status: 'declined', reason: 'already_captured' });
        break;
      case 3:
        push(t, { id: id('auth'), type: 'authorize', ...base, amount: '20.00' }, { status: 'authorized' });
        push(t, { id: id('void'), type: 'void', ref: id('auth'), createdAt: iso() }, { status: 'voided' });
        push(t, { id: id('cap'), type: 'capture', ref: id('auth'), createdAt: iso() }, { status: 'declined', reason: 'authorization_closed' });
        break;
      case 4:
        push(t, { id: id('pay'), type: 'payment', ...base, amount: '40.00' }, { status: 'approved' });
        push(t, { id: id('ref1'), type: 'refund', ref: id('pay'), amount: '15.00', currency: 'USD', createdAt: iso() }, { status: 'refunded' });
        push(t, { id: id('ref2'), type: 'refund', ref: id('pay'), amount: '30.00', currency: 'USD', createdAt: iso() }, { status: 'declined', reason: 'amount_exceeds_refundable' });
        push(t, { id: id('ref3'), type: 'refund', ref: id('pay'), createdAt: iso() }, { status: 'refunded' });
        break;
      case 5:
        push(t, { id: id('payout'), type: 'payout', ...base, amount: '10.00' }, { status: 'approved' });
        break;
      case 6:
        push(t, { id: id('auth'), type: 'authorize', ...base, amount: '30.00' }, { status: 'authorized' });
        push(t, { id: id('mod'), type: 'modify', ref: id('auth'), amount: '45.00', currency: 'USD', createdAt: iso() }, { status: 'modified' });
        push(t, { id: id('cap'), type: 'capture', ref: id('auth'), createdAt: iso() }, { status: 'captured' });
        push(t, { id: id('ref'), type: 'refund', ref: id('cap'), amount: '5.00', currency: 'USD', createdAt: iso() }, { status: 'refunded' });
        break;
      case 7:
        push(t, { id: id('auth'), type: 'authorize', ...base, amount: '25.00' }, { status: 'authorized' });
        push(t, { id: id('cancel'), type: 'cancel', ref: id('auth'), createdAt: iso() }, { status: 'canceled' });
        push(t, { id: id('mod'), type: 'modify', ref: id('auth'), amount: '5.00', currency: 'USD', createdAt: iso() }, { status: 'declined', reason: 'not_modifiable' });
        break;
      case 8: {
        // the PAN inline, tokenized on arrival
        const { card: _card, ...noCard } = base;
        t.inlinePans.add(card.pan);
        push(t, { id: id('pan'), type: 'payment', ...noCard, pan: card.pan, amount: '5.00' }, { status: 'approved' });
        break;
      }
      case 9:
        push(t, { id: id('big'), type: 'payment', ...base, amount: '999999.00' }, { status: 'declined', reason: 'insufficient_funds' });
        push(t, { id: id('eur'), type: 'payment', ...base, card: eur.token, amount: '1.00' }, { status: 'declined', reason: 'currency_mismatch' });
        push(t, { id: id('nocard'), type: 'payment', ...base, card: 'ab'.repeat(32), amount: '1.00' }, { status: 'declined', reason: 'unknown_card' });
        push(t, { id: id('noref'), type: 'refund', ref: id('nothing'), createdAt: iso() }, { status: 'declined', reason: 'unknown_ref' });
        break;
      case 10:
        push(t, { id: id('auth'), type: 'authorize', ...base, amount: '60.00' }, { status: 'authorized' });
        push(t, { id: id('over'), type: 'capture', ref: id('auth'), amount: '60.01', currency: 'USD', createdAt: iso() }, { status: 'declined', reason: 'amount_exceeds_authorization' });
        push(t, { id: id('void'), type: 'void', ref: id('auth'), createdAt: iso() }, { status: 'voided' });
        break;
    }
    if (opts.bad && g % 5 === 0) addBad(t, ledger, tag, g);
  }
  if (opts.duplicates) addDuplicates(t);
  return t;
}

function dead(t: Traffic, reason: string, data: Uint8Array, via: 'js' | 'core' = 'core'): void {
  t.out.push({ subject: 'pay.orders.e2e', data, via });
  t.dlq.set(reason, (t.dlq.get(reason) ?? 0) + 1);
}

function rejected(t: Traffic, wire: Record<string, unknown>, reason: string): void {
  t.orders.push(wire);
  t.expected.set(wire.id as string, { status: 'rejected', reason });
  t.out.push({ subject: 'pay.orders.e2e', data: encoder.encode(JSON.stringify(wire)), via: 'js', msgId: wire.id as string });
  t.dlq.set(reason, (t.dlq.get(reason) ?? 0) + 1);
}

/** Input that cannot become an order (dlq only) and orders that are invalid (rejected result and dlq). */
function addBad(t: Traffic, ledger: SeededLedger, tag: string, g: number): void {
  const card = ledger.usdCards[(g * 7) % ledger.usdCards.length]!;
  const base = { type: 'payment', merchant: ledger.merchants[0]!, currency: 'USD', createdAt: iso() };
  const id = (s: string) => `${tag}-${g}-bad-${s}`;
  switch ((g / 5) % 7) {
    case 0:
      dead(t, 'not_json', encoder.encode(`{"id":"${id('nj')}", "type": paym`));
      break;
    case 1:
      dead(t, 'too_large', encoder.encode(JSON.stringify({ id: id('big'), ...base, card: card.token, amount: '1.00', memo: 'x'.repeat(9000) })), 'js');
      break;
    case 2:
      dead(t, 'no_id', encoder.encode(JSON.stringify({ ...base, card: card.token, amount: '1.00' })));
      break;
    case 3:
      rejected(t, { id: id('num'), ...base, card: card.token, amount: 12.5 }, 'amount_not_string');
      break;
    case 4:
      // a CVV and an inline PAN: rejected, and the dead letter must not carry the PAN
      t.inlinePans.add(card.pan);
      rejected(t, { id: id('cvv'), ...base, pan: card.pan, cvv: '123', amount: '1.00' }, 'cvv_forbidden');
      break;
    case 5:
      rejected(t, { id: id('ccy'), ...base, card: card.token, currency: 'ZZZ', amount: '1.00' }, 'unknown_currency');
      break;
    case 6:
      // an inline PAN with a JSON number amount
      t.inlinePans.add(card.pan);
      rejected(t, { id: id('panum'), ...base, pan: card.pan, amount: 3 }, 'amount_not_string');
      break;
  }
}

/**
 * Every 6th order again through core publish (the processor must answer duplicate), and every 9th again
 * through JetStream with the same Nats-Msg-Id (the broker drops it).
 */
function addDuplicates(t: Traffic): void {
  const again: Outgoing[] = [];
  t.orders.forEach((wire, i) => {
    const id = wire.id as string;
    const data = encoder.encode(JSON.stringify(wire));
    if (i % 6 === 0) {
      again.push({ subject: 'pay.orders.retry', data, via: 'core' });
      t.duplicates.set(id, (t.duplicates.get(id) ?? 0) + 1);
    }
    if (i % 9 === 0) {
      again.push({ subject: 'pay.orders.retry', data, via: 'js', msgId: id });
      t.brokerDuplicates++;
    }
  });
  // interleave: the republishes go out among later traffic, not all at the end
  const merged: Outgoing[] = [];
  const step = Math.max(1, Math.floor(t.out.length / Math.max(1, again.length)));
  let j = 0;
  t.out.forEach((o, i) => {
    merged.push(o);
    if (i % step === step - 1 && j < again.length && i > t.out.length / 4) merged.push(again[j++]!);
  });
  while (j < again.length) merged.push(again[j++]!);
  t.out = merged;
}

/** Publishes in order (JetStream publishes pipelined, a window at a time); returns broker-side duplicates seen. */
export async function publishAll(nc: NatsConnection, out: Outgoing[], windowSize = 500): Promise<number> {
  const js = nc.jetstream();
  let duplicates = 0;
  let pending: Promise<void>[] = [];
  for (const o of out) {
    if (o.via === 'core') nc.publish(o.subject, o.data);
    else {
      pending.push(
        js.publish(o.subject, o.data, o.msgId ? { msgID: o.msgId } : {}).then((ack) => {
          if (ack.duplicate) duplicates++;
        }),
      );
    }
    if (pending.length >= windowSize) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await nc.flush();
  return duplicates;
}

// ---- the independent money model ----

const minor = (amount: unknown): bigint => {
  const parsed = parseAmount(amount, 'USD');
  if (!parsed.ok) throw new Error(`model: bad amount ${String(amount)}`);
  return parsed.amountMinor;
};

/**
 * Balances after the orders, computed from the orders sent (in the order the ledger applies them) and the
 * status each got: only approved/captured/refunded move money, by the amounts the wire orders say.
 */
export function modelBalances(
  ledger: Pick<SeededLedger, 'initial' | 'cards'>,
  orders: Record<string, unknown>[],
  statusOf: (id: string) => string | undefined,
): Map<string, bigint> {
  const bal = new Map(ledger.initial);
  const accountOfToken = new Map(ledger.cards.map((c) => [c.token, c.accountId]));
  const accountOfPan = new Map(ledger.cards.map((c) => [c.pan, c.accountId]));
  const byId = new Map(orders.map((o) => [o.id as string, o]));
  const authAmount = new Map<string, bigint>();
  const paid = new Map<string, { amount: bigint; card: string; merchant: string }>();
  const refunded = new Map<string, bigint>();
  const move = (from: string, to: string, amount: bigint) => {
    bal.set(from, (bal.get(from) ?? 0n) - amount);
    bal.set(to, (bal.get(to) ?? 0n) + amount);
  };
  const cardAccount = (o: Record<string, unknown>) =>
    (typeof o.card === 'string' ? accountOfToken.get(o.card) : accountOfPan.get(o.pan as string))!;
  for (const o of orders) {
    const id = o.id as string;
    const status = statusOf(id);
    if (status === undefined) throw new Error(`model: no result for ${id}`);
    switch (o.type) {
      case 'payment':
        if (status === 'approved') {
          move(cardAccount(o), o.merchant as string, minor(o.amount));
          paid.set(id, { amount: minor(o.amount), card: cardAccount(o), merchant: o.merchant as string });
        }
        break;
      case 'authorize':
        if (status === 'authorized') authAmount.set(id, minor(o.amount));
        break;
      case 'modify':
        if (status === 'modified') authAmount.set(o.ref as string, minor(o.amount));
        break;
      case 'capture':
        if (status === 'captured') {
          const auth = byId.get(o.ref as string)!;
          const amount = o.amount === undefined ? authAmount.get(auth.id as string)! : minor(o.amount);
          move(cardAccount(auth), auth.merchant as string, amount);
          paid.set(id, { amount, card: cardAccount(auth), merchant: auth.merchant as string });
        }
        break;
      case 'refund':
        if (status === 'refunded') {
          const p = paid.get(o.ref as string)!;
          const done = refunded.get(o.ref as string) ?? 0n;
          const amount = o.amount === undefined ? p.amount - done : minor(o.amount);
          refunded.set(o.ref as string, done + amount);
          move(p.merchant, p.card, amount);
        }
        break;
      case 'payout':
        if (status === 'approved') move(o.merchant as string, cardAccount(o), minor(o.amount));
        break;
    }
  }
  return bal;
}

/** Accounts whose ledger balance differs from the model, as readable lines (empty when all agree). */
export function balanceDiffs(model: Map<string, bigint>, ledger: Map<string, { balance: bigint }>): string[] {
  const diffs: string[] = [];
  for (const [id, expected] of model) {
    if (id.startsWith('funding')) continue;
    const actual = ledger.get(id)?.balance;
    if (actual !== expected) diffs.push(`${id}: ledger ${actual} model ${expected}`);
  }
  for (const id of ledger.keys()) if (!model.has(id) && !id.startsWith('funding')) diffs.push(`${id}: not in the model`);
  return diffs;
}

export const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
export const text = (data: Uint8Array): string => decoder.decode(data);

// ---- upstreams that retry ----

/** What the retrying publishers did. */
export interface RetryStats {
  /** messages acknowledged by the broker (each exactly once here) */
  acked: number;
  /** acks that said the broker had the message already (a retry after a lost ack) */
  brokerDuplicates: number;
  /** publish attempts that failed (timeouts, no responders, the connection down) and were tried again */
  retries: number;
}

/**
 * Publishes `o` as a real upstream does: through JetStream with Nats-Msg-Id = its msgId (the order id), tried
 * again, the same id each time, until the broker acknowledges it: through timeouts, a broker crash and its
 * restart. `stopped` ends the loop (the test is giving up).
 */
export async function publishUntilAcked(
  nc: NatsConnection,
  o: Outgoing,
  stats: RetryStats,
  stopped: () => boolean,
  timeoutMs = 2000,
): Promise<void> {
  const js = nc.jetstream();
  for (let attempt = 1; ; attempt++) {
    if (stopped()) throw new Error(`gave up publishing ${o.msgId}`);
    try {
      const ack = await js.publish(o.subject, o.data, { msgID: o.msgId!, timeout: timeoutMs });
      stats.acked++;
      if (ack.duplicate) stats.brokerDuplicates++;
      return;
    } catch {
      stats.retries++;
      await sleep(Math.min(1000, 50 * attempt));
    }
  }
}

/**
 * `publishers` upstreams, each on its own connection, sharing `chains`: a chain (orders that refer to each
 * other, such as an authorization and its capture) is published in order by one upstream, each order only once
 * the previous one is acknowledged. `gate(n)` resolves when the n-th order overall (from 0) may go: the test's
 * pace, so the traffic spans what it does meanwhile.
 */
export async function retryingPublishers(
  url: string,
  chains: Outgoing[][],
  opts: { publishers: number; gate: (n: number) => Promise<void>; stopped: () => boolean },
): Promise<RetryStats> {
  const stats: RetryStats = { acked: 0, brokerDuplicates: 0, retries: 0 };
  let next = 0;
  let started = 0;
  const upstream = async (): Promise<void> => {
    const nc = await connectTest(url);
    try {
      for (let c = next++; c < chains.length; c = next++) {
        for (const o of chains[c]!) {
          await opts.gate(started++);
          await publishUntilAcked(nc, o, stats, opts.stopped);
        }
      }
    } finally {
      await nc.close().catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: opts.publishers }, upstream));
  return stats;
}

/** The traffic's JetStream messages grouped into chains by scenario group (ids `${tag}-${group}-...`), in order. */
export function chainsOf(t: Traffic): Outgoing[][] {
  const chains = new Map<string, Outgoing[]>();
  for (const o of t.out) {
    if (o.via !== 'js' || o.msgId === undefined) throw new Error('chainsOf: only JetStream messages with a Nats-Msg-Id');
    const group = o.msgId.split('-').slice(0, 2).join('-');
    chains.set(group, [...(chains.get(group) ?? []), o]);
  }
  return [...chains.values()];
}
