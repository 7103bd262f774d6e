// A retry is not a duplicate: the payments of an atomic batch declined whole, sent again as an independent
// batch, are approved by the default rules (data/risk.yaml); sent a third time, once they are charged, they
// are blocked by duplicate-payment. Through the real processor and ledger, with and without a restart between
// the declined batch and its retry (risk state rebuilt from the ledger's risk history). Likewise a payment an
// operator declined on review may be sent again, one approved may not.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Subject } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { localActor } from '../../src/domain/actor.ts';
import { demoCardPans, demoMerchants } from '../../src/domain/generate.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { LedgerApi } from '../../src/ledger/api.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { parseRuntimeConfig, type Runtime, startRuntime } from '../../src/processor/launch.ts';
import { makeOps } from '../../src/processor/operations.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { runToEnd } from './run-to-end.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Three USD cards with 1,000.00 each (demo cards 0..13 are USD). */
async function freshLedger(): Promise<{ dir: string; tokens: string[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-risk-retry-'));
  dirs.push(dir);
  const store = await LedgerStore.open(path.join(dir, 'ledger'));
  await seedLedger(store, { cards: 3, merchants: 3, seed: 7, cardBalance: '1000', merchantBalance: '1' });
  const tokens = demoCardPans(3, 7).map((pan) => store.tokenize(pan));
  await store.close();
  return { dir, tokens };
}

interface Payment {
  card: number;
  amount: string;
}
/** Rent and power from two cards, and a third payment its card cannot cover: it declines the atomic batch. */
const PAYMENTS: Payment[] = [
  { card: 0, amount: '300.00' },
  { card: 1, amount: '250.00' },
  { card: 2, amount: '1500.00' },
];
/** The two payments the card holders can cover, sent again once the batch was declined. */
const COVERED = PAYMENTS.slice(0, 2);

/** A batch's header and orders as the processor receives them, `atMs` apart by a second each. */
function batchMessages(
  tokens: string[],
  id: string,
  mode: 'atomic' | 'independent',
  payments: Payment[],
  atMs: number,
): InboundMessage[] {
  const enc = new TextEncoder();
  const merchants = demoMerchants(3);
  const sum = payments.reduce((s, p) => s + Number(p.amount), 0).toFixed(2);
  const header = { id, count: payments.length, controlSum: sum, currency: 'USD', mode };
  const orders = payments.map((p, i) => ({
    id: `${id}-${i}`,
    type: 'payment',
    card: tokens[p.card],
    merchant: merchants[p.card],
    amount: p.amount,
    currency: 'USD',
    batchId: id,
    createdAt: new Date(atMs).toISOString(),
  }));
  return [
    { subject: `pay.batches.test.${id}`, data: enc.encode(JSON.stringify(header)), receivedAtMs: atMs },
    ...orders.map((o, i) => ({
      subject: 'pay.orders.test',
      data: enc.encode(JSON.stringify(o)),
      receivedAtMs: atMs + i + 1,
    })),
  ];
}

const outcomes = (rs: OrderResult[]) =>
  rs.map((r) => `${r.orderId} ${r.status} ${r.reason ?? ''} ${r.rule ?? ''}`.trim());

/** The declined batch, its retry 10 s later and a third sending 10 s after that, within the rule's 30 s. */
function sendings(tokens: string[], startMs: number) {
  return {
    declined: batchMessages(tokens, 'rent-1', 'atomic', PAYMENTS, startMs),
    retry: batchMessages(tokens, 'rent-2', 'independent', COVERED, startMs + 10_000),
    third: batchMessages(tokens, 'rent-3', 'independent', COVERED, startMs + 20_000),
  };
}

const EXPECTED = [
  'rent-1-0 declined batch_declined',
  'rent-1-1 declined batch_declined',
  'rent-1-2 declined insufficient_funds',
  'rent-2-0 approved',
  'rent-2-1 approved',
  'rent-3-0 declined risk_blocked duplicate-payment',
  'rent-3-1 declined risk_blocked duplicate-payment',
];

describe('a retry of a declined atomic batch, through the processor', () => {
  it('approves the payments sent again as an independent batch, and blocks them sent a third time', async () => {
    const { dir, tokens } = await freshLedger();
    const { declined, retry, third } = sendings(tokens, Date.now() - 60_000);
    const results = await runToEnd(dir, [...declined, ...retry, ...third]);
    expect(outcomes(results).sort()).toEqual(EXPECTED);
  });

  it('decides the same with a restart between the declined batch and its retry', async () => {
    const { dir, tokens } = await freshLedger();
    const { declined, retry, third } = sendings(tokens, Date.now() - 60_000);
    const first = await runToEnd(dir, declined);
    const afterRestart = await runToEnd(dir, [...retry, ...third]);
    expect(outcomes([...first, ...afterRestart]).sort()).toEqual(EXPECTED);
  });
});

/** A processor fed by hand, its results by order id, and the operator's review decisions. */
async function liveProcessor(dir: string) {
  const source = new Subject<InboundMessage>();
  const results = new Map<string, OrderResult>();
  const runtime: Runtime = await startRuntime(
    parseRuntimeConfig({
      dataDir: path.join(dir, 'ledger'),
      source: source.asObservable(),
      publisher: {
        result: (r) => results.set(r.orderId, r),
        report: () => undefined,
        deadLetter: () => undefined,
      },
    }),
  );
  const ops = makeOps({ api: new LedgerApi(runtime.store), processor: runtime.processor });
  const operator = localActor('alice', 'cli');
  const resultOf = async (id: string): Promise<OrderResult> => {
    for (let waitedMs = 0; waitedMs < 5000; waitedMs += 20) {
      const r = results.get(id);
      if (r !== undefined) return r;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no result for ${id}`);
  };
  return {
    /** sends a 50.00 payment at a money-transfer merchant (MCC 4829: held by mcc-review) and waits for its result */
    pay: (id: string, token: string): Promise<OrderResult> => {
      const order = {
        id,
        type: 'payment',
        card: token,
        merchant: demoMerchants(1)[0],
        amount: '50.00',
        currency: 'USD',
        mcc: '4829',
        createdAt: new Date().toISOString(),
      };
      source.next({
        subject: 'pay.orders.test',
        data: new TextEncoder().encode(JSON.stringify(order)),
        receivedAtMs: Date.now(),
      });
      return resultOf(id);
    },
    decide: (orderId: string, decision: 'approve' | 'decline') =>
      ops[`review.${decision}`]({ orderId }, operator),
    stop: async () => {
      source.complete();
      await runtime.stop();
    },
  };
}

describe('a retry of a payment declined on review, through the processor', () => {
  it('holds the payment sent again after a review declined it, and blocks it again once a review approved it', async () => {
    const { dir, tokens } = await freshLedger();
    const live = await liveProcessor(dir);
    try {
      expect(await live.pay('transfer-1', tokens[0]!)).toMatchObject({ status: 'held', rule: 'mcc-review' });
      await live.decide('transfer-1', 'decline');
      // not a second charge: the first holds no money any more
      expect(await live.pay('transfer-2', tokens[0]!)).toMatchObject({ status: 'held', rule: 'mcc-review' });
      await live.decide('transfer-2', 'approve');
      expect(await live.pay('transfer-3', tokens[0]!)).toMatchObject({
        status: 'declined',
        reason: 'risk_blocked',
        rule: 'duplicate-payment',
      });
    } finally {
      await live.stop();
    }
  });
});
