// Risk state is rebuilt from the ledger on restart: a stream split by a restart gets the same decisions
// as the same stream processed in one go.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoCardCurrency, demoCardPans, demoMerchants, merchantAccountFor } from '../../src/domain/generate.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { runToEnd } from './run-to-end.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const RULES = `
rules:
  - id: velocity-card
    kind: velocity
    scope: card
    outcome: block
    windowSeconds: 600
    maxCount: 3
  - id: card-daily-amount
    kind: amount_limit
    period: day
    scope: card
    outcome: review
    max: "100.00"
    currency: USD
`;

async function freshLedger(): Promise<{ dir: string; tokens: string[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-risk-'));
  dirs.push(dir);
  const store = await LedgerStore.open(path.join(dir, 'ledger'));
  await seedLedger(store, { cards: 4, merchants: 2, seed: 11, cardBalance: '5000', merchantBalance: '1000' });
  const tokens = demoCardPans(4, 11).map((pan) => store.tokenize(pan));
  await store.close();
  await writeFile(path.join(dir, 'rules.yaml'), RULES);
  return { dir, tokens };
}

function stream(tokens: string[], startMs: number): InboundMessage[] {
  const enc = new TextEncoder();
  const merchant = demoMerchants(2)[0]!;
  return Array.from({ length: 24 }, (_, i) => {
    const card = i % 4;
    const atMs = startMs + i * 1000;
    const currency = demoCardCurrency(card);
    return {
      subject: 'pay.orders.test',
      receivedAtMs: atMs,
      data: enc.encode(
        JSON.stringify({
          id: `r-${i}`,
          type: 'payment',
          card: tokens[card],
          merchant: merchantAccountFor(merchant, currency),
          amount: '30.00',
          currency,
          createdAt: new Date(atMs).toISOString(),
        }),
      ),
    };
  });
}

const decisions = (rs: OrderResult[]) => rs.map((r) => `${r.orderId}:${r.status}:${r.rule ?? ''}`);

describe('risk state across a restart', () => {
  it('decides the second half of a stream the same with or without a restart in the middle', async () => {
    const startMs = Date.now() - 60_000;
    const once = await freshLedger();
    const all = await runToEnd(once.dir, stream(once.tokens, startMs), path.join(once.dir, 'rules.yaml'));

    const split = await freshLedger();
    const messages = stream(split.tokens, startMs);
    const first = await runToEnd(split.dir, messages.slice(0, 12), path.join(split.dir, 'rules.yaml'));
    const second = await runToEnd(split.dir, messages.slice(12), path.join(split.dir, 'rules.yaml'));

    expect(decisions([...first, ...second])).toEqual(decisions(all));
    // the rules did fire after the restart, so the test shows something
    expect(second.some((r) => r.rule === 'velocity-card')).toBe(true);
  });
});
