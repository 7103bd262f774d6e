// The apply stage on a real LevelDB: one atomic write per buffer, decisions in order within the buffer,
// duplicates answered from the ledger, nothing leaves the stage before its write is in LevelDB.

import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_APPLY_OPTIONS } from '../../src/domain/apply.ts';
import type { Order } from '../../src/domain/types.ts';
import { applyStage } from '../../streams/apply.ts';
import type { InboundMessage, Item, OrderItem } from '../../streams/types.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS } from '../domain/builders.ts';
import { withFundedStore } from './fixtures.ts';

const env = withFundedStore();

const msg: InboundMessage = { subject: 'pay.orders.t', data: new Uint8Array(), receivedAtMs: TEST_NOW_MS };
const pay = (id: string, amountMinor: bigint): Item => ({
  kind: 'order',
  msg,
  order: { id, type: 'payment', cardToken: TEST_CARD_TOKEN, merchant: 'm_coffee', amountMinor, currency: 'USD', createdAtMs: TEST_NOW_MS } satisfies Order,
});

const deps = () => ({
  store: env.store,
  options: DEFAULT_APPLY_OPTIONS,
  clock: () => TEST_NOW_MS,
  virtualTime: false,
  scrub: (p: Uint8Array) => p,
});

describe('apply stage', () => {
  it('gives each result what the record stage counts of the order it answers; a rejected one carries none', async () => {
    const early = { ...msg, receivedAtMs: TEST_NOW_MS - 40 };
    const first: Item = { kind: 'order', msg: early, order: { ...(pay('f1', 2_500n) as OrderItem).order, fingerprint: 'first payload' } };
    const conflict: Item = { kind: 'order', msg, order: { ...(pay('f1', 9_900n) as OrderItem).order, fingerprint: 'another payload' } };
    const rejected: Item = { kind: 'rejected', msg, orderId: 'f2', reason: 'amount_not_string', field: 'amount', message: 'amounts must be strings' };
    const [applied] = await lastValueFrom(from([[first, conflict, rejected, pay('f3', 100n)]]).pipe(applyStage(deps()), toArray()));
    expect(applied!.results.map(({ result, ...counted }) => ({ answers: `${result.orderId}:${result.status}`, ...counted }))).toEqual([
      { answers: 'f1:approved', type: 'payment', amountMinor: 2_500n, currency: 'USD', merchant: 'm_coffee', card: expect.objectContaining({ token: TEST_CARD_TOKEN }), createdAtMs: TEST_NOW_MS, receivedAtMs: TEST_NOW_MS - 40 },
      { answers: 'f1:rejected', receivedAtMs: TEST_NOW_MS },
      { answers: 'f2:rejected', receivedAtMs: TEST_NOW_MS },
      { answers: 'f3:approved', type: 'payment', amountMinor: 100n, currency: 'USD', merchant: 'm_coffee', card: expect.objectContaining({ token: TEST_CARD_TOKEN }), createdAtMs: TEST_NOW_MS, receivedAtMs: TEST_NOW_MS },
    ]);
  });

  it('decides a buffer in order: the payment that would overdraw after the earlier ones is declined', async () => {
    const [applied] = await lastValueFrom(from([[pay('a1', 6_000n), pay('a2', 3_000n), pay('a3', 2_000n)]]).pipe(applyStage(deps()), toArray()));
    expect(applied!.results.map(({ result: r }) => `${r.orderId}:${r.status}`)).toEqual(['a1:approved', 'a2:approved', 'a3:declined']);
    expect(applied!.results[2]!.result).toMatchObject({ reason: 'insufficient_funds', available: '10.00' });
    const account = await env.store.getAccount('acct_alice');
    expect(account?.balanceMinor).toBe(1_000n);
  });

  it('answers a duplicate from the ledger, across buffers, without moving money twice', async () => {
    const out = await lastValueFrom(from([[pay('d1', 1_000n)], [pay('d1', 1_000n), pay('d2', 500n)]]).pipe(applyStage(deps()), toArray()));
    expect(out[1]!.results[0]!.result).toMatchObject({ orderId: 'd1', status: 'approved', duplicate: true });
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(8_500n);
  });

  it('lets a buffer out only once its write is in LevelDB, and keeps the buffers in order', async () => {
    const seen: string[] = [];
    const out = await lastValueFrom(
      from([[pay('w1', 100n)], [pay('w2', 100n)], [pay('w3', 100n)]]).pipe(applyStage(deps()), toArray()),
    );
    for (const applied of out) {
      // what left the stage is readable straight from LevelDB, not only from the caches
      const id = applied.results[0]!.result.orderId;
      expect(await env.store.orders.get(id)).toBeDefined();
      seen.push(id);
    }
    expect(seen).toEqual(['w1', 'w2', 'w3']);
  });

  it('records a rejected order so a republish of its id gets the same answer, and dead-letters it once', async () => {
    const rejected: Item = { kind: 'rejected', msg, orderId: 'r1', reason: 'amount_not_string', field: 'amount', message: 'amounts must be strings' };
    const out = await lastValueFrom(from([[rejected], [rejected]]).pipe(applyStage(deps()), toArray()));
    expect(out[0]!.results[0]!.result).toMatchObject({ orderId: 'r1', status: 'rejected', field: 'amount' });
    expect(out[0]!.deadLetters).toHaveLength(1);
    expect(out[1]!.results[0]!.result).toMatchObject({ orderId: 'r1', status: 'rejected', duplicate: true });
    expect(out[1]!.deadLetters).toHaveLength(0);
  });
});
