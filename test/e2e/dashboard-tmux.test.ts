// The whole program in a real terminal: tmux at 80x24, real nats-server, real ledger, orders published;
// the operator's screen shows throughput and totals move, and a lookup finds a card by its last 4 digits.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCardCurrency, demoCardPans, demoMerchants, merchantAccountFor } from '../../src/domain/generate.ts';
import { tokenizePan } from '../../src/domain/cards.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { createKeyFile, newKey } from '../../src/ledger/keys.ts';
import { singleKeyRing } from '../../src/domain/keys.ts';
import { type EmbeddedNats, startNatsServer } from '../../src/nats/embedded.ts';
import { connectNats } from '../../src/nats/setup.ts';

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
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`screen never matched; last screen:\n${last}`);
}

let dir: string;
let nats: EmbeddedNats;
const CARDS = 40;
let lastFourOfFirstCard = '';
/** the ledger's key, in a key file beside (not inside) the ledger; passed by --key-file (a tmux server may not share this environment) */
const secret = newKey();

beforeAll(async () => {
  if (!hasTmux) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-tmux-'));
  nats = await startNatsServer({ storeDir: path.join(dir, 'nats') });
  const keyFile = path.join(dir, 'key.json');
  await createKeyFile(keyFile, singleKeyRing(secret));
  const store = await LedgerStore.open(path.join(dir, 'ledger'), { keyFile });
  await seedLedger(store, { cards: CARDS, merchants: 5, seed: 7, cardBalance: '5000', merchantBalance: '100000' });
  await store.close();
  lastFourOfFirstCard = demoCardPans(1, 7)[0]!.slice(-4);
  const bin = path.resolve('src/cli/bin.js');
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', `node ${bin} --key-file ${keyFile} --data ${path.join(dir, 'ledger')} --nats ${nats.url} run --no-risk 2>${path.join(dir, 'stderr.log')}`);
}, 60_000);

afterAll(async () => {
  if (!hasTmux) return;
  if (sessionAlive()) tmux('kill-session', '-t', session);
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTmux)('paystream run in a real terminal (tmux, 80x24)', () => {
  it('shows traffic, totals and a card found by its last 4 digits, and quits cleanly on q', async () => {
    const empty = await waitForScreen((s) => s.includes('paystream') && s.includes('connected'));
    expect(empty).toMatch(/no traffic yet|0 total/i);

    const pans = demoCardPans(CARDS, 7);
    const nc = await connectNats({ url: nats.url, name: 'tmux-test' });
    const merchants = demoMerchants(5);
    const enc = new TextEncoder();
    for (let i = 0; i < 300; i++) {
      const card = i % CARDS;
      const currency = demoCardCurrency(card);
      nc.publish(
        'pay.orders.tmux',
        enc.encode(
          JSON.stringify({
            id: `tmux-${i}`,
            type: 'payment',
            card: tokenizePan(pans[card]!, secret),
            merchant: merchantAccountFor(merchants[i % 5]!, currency),
            amount: currency === 'JPY' ? '120' : '1.25',
            currency,
            createdAt: new Date().toISOString(),
          }),
        ),
      );
    }
    await nc.flush();
    await nc.close();

    const busy = await waitForScreen((s) => /300 total/.test(s) && /USD\s+approved/.test(s));
    expect(busy).toMatch(/Throughput/);
    expect(busy).toMatch(/p50 \d+ ms/);
    for (const line of busy.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    tmux('send-keys', '-t', session, '/');
    await waitForScreen((s) => s.includes('Find card'));
    tmux('send-keys', '-t', session, lastFourOfFirstCard, 'Enter');
    const found = await waitForScreen((s) => s.includes(`******${lastFourOfFirstCard}`));
    expect(found).not.toMatch(/\d{12,19}/); // never a full PAN on screen
    tmux('send-keys', '-t', session, 'Enter');
    const detail = await waitForScreen((s) => /balance/.test(s) && /available/.test(s));
    expect(detail).toContain(`******${lastFourOfFirstCard}`);

    tmux('send-keys', '-t', session, 'Escape');
    await new Promise((r) => setTimeout(r, 300));
    tmux('send-keys', '-t', session, 'Escape');
    await new Promise((r) => setTimeout(r, 300));
    tmux('send-keys', '-t', session, 'Escape');
    await waitForScreen((s) => s.includes('q  quit') && !s.includes('Find card'));
    tmux('send-keys', '-t', session, 'q');
    const deadline = Date.now() + 15_000;
    while (sessionAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(sessionAlive()).toBe(false);
  }, 90_000);
});
