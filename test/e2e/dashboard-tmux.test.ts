// The whole program in a real terminal: tmux, real nats-server, real ledger, orders published. What the
// operator sees (capture-pane) at 80x24 and at 200x50: throughput and totals move, an operator action from
// the audit trail, a card found by its last 4 digits as they are typed, esc one level back at a time; wide,
// the lag and latency trends, totals once, the top merchants and cards (masked) of the last minute.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localActor } from '../../src/domain/actor.ts';
import { tokenizePan } from '../../src/domain/cards.ts';
import { demoCardCurrency, demoCardPans, demoMerchants, merchantAccountFor } from '../../src/domain/generate.ts';
import { singleKeyRing } from '../../src/domain/keys.ts';
import { LedgerApi } from '../../src/ledger/api.ts';
import { createKeyFile, newKey } from '../../src/ledger/keys.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { type EmbeddedNats, startNatsServer } from '../../src/nats/embedded.ts';
import { connectNats } from '../../src/nats/setup.ts';
import { makeOps } from '../../src/processor/operations.ts';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

const session = `paystream-e2e-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = (): string => tmux('capture-pane', '-p', '-t', session);
const keys = (...k: string[]): void => void tmux('send-keys', '-t', session, ...k);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sessionAlive = (): boolean => {
  try {
    tmux('has-session', '-t', session);
    return true;
  } catch {
    return false;
  }
};

async function waitForScreen(predicate: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = screen();
    if (predicate(last)) return last;
    await pause(200);
  }
  throw new Error(`screen never matched; last screen:\n${last}`);
}

/** Nothing wider than the terminal, no more rows than it has, and never a card number. */
function expectFits(text: string, columns: number, rows: number): void {
  const lines = text.replace(/\n+$/, '').split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows);
  for (const line of lines) expect([...line].length).toBeLessThanOrEqual(columns);
  expect(text).not.toMatch(/\d{12,19}/);
}

let dir: string;
let nats: EmbeddedNats;
const CARDS = 40;
const MERCHANTS = demoMerchants(5);
const pans = demoCardPans(CARDS, 7);
const lastFourOfFirstCard = pans[0]!.slice(-4);
/** the ledger's key, in a key file beside (not inside) the ledger; passed by --key-file (a tmux server may not share this environment) */
const secret = newKey();

/** Publishes `n` payments of 1.25 (120 JPY) spread over the cards and merchants, ids from `first`. */
async function publishPayments(first: number, n: number): Promise<void> {
  const nc = await connectNats({ url: nats.url, name: 'tmux-test' });
  const enc = new TextEncoder();
  for (let i = first; i < first + n; i++) {
    const card = i % CARDS;
    const currency = demoCardCurrency(card);
    const order = {
      id: `tmux-${i}`,
      type: 'payment',
      card: tokenizePan(pans[card]!, secret),
      merchant: merchantAccountFor(MERCHANTS[i % MERCHANTS.length]!, currency),
      amount: currency === 'JPY' ? '120' : '1.25',
      currency,
      createdAt: new Date().toISOString(),
    };
    nc.publish('pay.orders.tmux', enc.encode(JSON.stringify(order)));
  }
  await nc.flush();
  await nc.close();
}

/** A seeded ledger with one operator action in its audit trail, made before the processor starts. */
async function ledgerWithAnAction(keyFile: string): Promise<void> {
  const store = await LedgerStore.open(path.join(dir, 'ledger'), { keyFile });
  await seedLedger(store, { cards: CARDS, merchants: 5, seed: 7, cardBalance: '5000', merchantBalance: '100000' });
  const ops = makeOps({ api: new LedgerApi(store) });
  await ops['accounts.deposit']({ id: MERCHANTS[0]!, amount: '25.00' }, localActor('e2e-operator', 'cli'));
  await store.close();
}

beforeAll(async () => {
  if (!hasTmux) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-tmux-'));
  nats = await startNatsServer({ storeDir: path.join(dir, 'nats') });
  const keyFile = path.join(dir, 'key.json');
  await createKeyFile(keyFile, singleKeyRing(secret));
  await ledgerWithAnAction(keyFile);
  const bin = path.resolve('src/cli/bin.js');
  const run = `node ${bin} --key-file ${keyFile} --data ${path.join(dir, 'ledger')} --nats ${nats.url} run --no-risk`;
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', `${run} 2>${path.join(dir, 'stderr.log')}`);
}, 60_000);

afterAll(async () => {
  if (!hasTmux) return;
  if (sessionAlive()) tmux('kill-session', '-t', session);
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTmux)('paystream run in a real terminal (tmux)', () => {
  it('80x24: traffic, totals and the operator action fit; a card found as its last 4 digits are typed; esc one level at a time', async () => {
    const empty = await waitForScreen((s) => s.includes('paystream') && s.includes('connected'));
    expect(empty).toMatch(/no traffic yet|0 total/i);
    await publishPayments(0, 300);
    const busy = await waitForScreen((s) => /300 total/.test(s) && /USD\s+approved/.test(s));
    expect(busy).toMatch(/Throughput/);
    expect(busy).toMatch(/p50 \d+ ms/);
    expect(busy).toContain('local:e2e-operator accounts.deposit');
    expectFits(busy, 80, 24);

    keys('/');
    await waitForScreen((s) => s.includes('Find card'));
    keys(lastFourOfFirstCard); // no enter: the matches follow the typing
    const found = await waitForScreen((s) => s.includes(`******${lastFourOfFirstCard}`) && /\d+ match/.test(s));
    expectFits(found, 80, 24);
    keys('Enter');
    const detail = await waitForScreen((s) => /balance/.test(s) && /available/.test(s));
    expect(detail).toContain(`******${lastFourOfFirstCard}`);

    keys('Escape');
    await waitForScreen((s) => /\d+ match(es)? for "\d{4}"/.test(s) && !/balance/.test(s));
    keys('Escape');
    const back = await waitForScreen((s) => s.includes('q  quit') && !s.includes('Find card'));
    expect(back).toContain('Throughput');
  }, 90_000);

  it('200x50: the lag and latency trends, totals once, the top merchants and cards of the last minute, down to the footer; q quits', async () => {
    tmux('resize-window', '-t', session, '-x', '200', '-y', '50');
    await publishPayments(300, 200);
    const wide = await waitForScreen((s) => /500 total/.test(s) && s.includes('Top volume') && /\*{6}\d{4}/.test(s));
    expectFits(wide, 200, 50);
    expect(wide).toMatch(/[▁▂▃▄▅▆▇█ ]+ pending \d+ · max \d+/);
    expect(wide).toMatch(/last 60s +p50 \d+ ms .* │ [▁▂▃▄▅▆▇█ ]{60,} p99 · peak \d+ ms/);
    expect(wide).toMatch(/run +p50 \d+ ms .* │ [▁▂▃▄▅▆▇█ ]{60,} p50 · peak \d+ ms/);
    // a run that started today: one set of totals
    expect(wide).toContain('all today');
    expect(wide).not.toContain('TODAY AMOUNT');
    // the top volume per currency: merchant accounts and masked cards
    expect(wide).toMatch(/USD \d+ orders [\d,]+\.\d\d/);
    expect(wide).toMatch(/USD m-[a-z]+-\d{3} +[\d,]+\.\d\d +\d+ │ USD \d{6}\*{6}\d{4} +[\d,]+\.\d\d +\d+/);
    expect(wide).toMatch(/JPY m-[a-z]+-\d{3}-jpy +[\d,]+ +\d+/);
    expect(wide).toContain('operator actions');
    expect(wide).toContain('local:e2e-operator accounts.deposit');
    const lines = wide.replace(/\n+$/, '').split('\n');
    expect(lines.at(-1)).toContain('q  quit');
    expect(lines.at(-2)).toMatch(/^╰─+╯╰─+╯$/);

    keys('q');
    const deadline = Date.now() + 15_000;
    while (sessionAlive() && Date.now() < deadline) await pause(200);
    expect(sessionAlive()).toBe(false);
  }, 90_000);
});
