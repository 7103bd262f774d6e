// An order older than the longest window any state keeps (ORDER_AGE_MAX_MS, 24 h) is rejected `too_old` by
// validation, with risk rules or without them (`run --no-risk`): nothing about it can be judged any more.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { from } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { demoCardCurrency, demoCardPans, demoMerchants, merchantAccountFor } from '../../src/domain/generate.ts';
import { ORDER_AGE_MAX_MS } from '../../src/domain/order.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { DEFAULT_RULES_PATH, startRuntime } from '../../src/processor/launch.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function run(rulesPath: string | false, createdAt: (nowMs: number) => string[]): Promise<OrderResult[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-too-old-'));
  dirs.push(dir);
  const store = await LedgerStore.open(dir);
  await seedLedger(store, { cards: 1, merchants: 1, seed: 5, cardBalance: '5000', merchantBalance: '1000' });
  const token = store.tokenize(demoCardPans(1, 5)[0]!);
  await store.close();
  const nowMs = Date.now();
  const currency = demoCardCurrency(0);
  const enc = new TextEncoder();
  const messages: InboundMessage[] = createdAt(nowMs).map((at, i) => ({
    subject: 'pay.orders.test',
    receivedAtMs: nowMs,
    data: enc.encode(
      JSON.stringify({ id: `o-${i}`, type: 'payment', card: token, merchant: merchantAccountFor(demoMerchants(1)[0]!, currency), amount: '1.00', currency, createdAt: at }),
    ),
  }));
  const results: OrderResult[] = [];
  const runtime = await startRuntime(
    parseRuntimeConfig({ dataDir: dir, rulesPath, source: from(messages), publisher: { result: (r) => results.push(r), report: () => undefined, deadLetter: () => undefined } }),
  );
  await runtime.processor.done;
  await runtime.stop();
  return results.sort((a, b) => (a.orderId < b.orderId ? -1 : 1));
}

const outcomes = (rs: OrderResult[]) => rs.map((r) => [r.orderId, r.status, r.reason ?? '', r.field ?? '']);

describe('orders older than the longest state window', () => {
  for (const [name, rules] of [['without risk rules (--no-risk)', false], ['with the default rules', DEFAULT_RULES_PATH]] as const) {
    it(`rejects an order dated year 0001 and one 24 h + 1 s old as too_old, ${name}; a fresh one is approved`, async () => {
      const results = await run(rules, (now) => [
        '0001-01-01T00:00:00.000Z',
        new Date(now - ORDER_AGE_MAX_MS - 1_000).toISOString(),
        new Date(now - 60_000).toISOString(),
      ]);
      expect(outcomes(results)).toEqual([
        ['o-0', 'rejected', 'too_old', 'createdAt'],
        ['o-1', 'rejected', 'too_old', 'createdAt'],
        ['o-2', 'approved', '', ''],
      ]);
    });
  }
});
