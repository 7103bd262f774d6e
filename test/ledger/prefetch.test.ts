// Prefetch (src/ledger/prefetch.ts) of a buffer that names the same records more than once: each key read from
// LevelDB or taken from the caches lands once in the working set, in the order the buffer first names it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyOrder } from '../../src/domain/apply.ts';
import { ALLOW } from '../../src/domain/risk/decision.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { TEST_NOW_MS, TEST_PANS, anOrder } from '../domain/builders.ts';
import { OPERATOR as OP, aContext, aDataDir, removeDataDir } from './builders.ts';

let dataDir: string;
let store: LedgerStore;

beforeEach(async () => {
  dataDir = await aDataDir();
  store = await LedgerStore.open(dataDir);
});
afterEach(async () => {
  await store.close();
  await removeDataDir(dataDir);
});

/** A card with funds, a payment and an authorization on it in the ledger, and the store reopened (caches cold). */
async function aLedgerWithOrders(): Promise<{ token: string; accountId: string }> {
  const { card } = await store.registerCard({ pan: TEST_PANS.visa[0], expiry: '12/30', holder: { name: 'Alice' } }, OP, TEST_NOW_MS);
  await store.deposit(card.accountId, 10_000n, OP, TEST_NOW_MS - 60_000);
  const orders = [
    anOrder({ id: 'pay_1', cardToken: card.token, merchant: 'm_one', amountMinor: 500n }),
    anOrder({ id: 'auth_1', type: 'authorize', cardToken: card.token, merchant: 'm_two', amountMinor: 700n }),
  ];
  const ws = await store.prefetch(orders);
  for (const o of orders) applyOrder(ws, o, ALLOW, aContext());
  await store.commit(ws);
  await store.close();
  store = await LedgerStore.open(dataDir);
  return { token: card.token, accountId: card.accountId };
}

describe('prefetch of a buffer naming records twice', () => {
  it('holds each record once, as stored, in the order the buffer first names it, with caches cold or warm', async () => {
    const { token, accountId } = await aLedgerWithOrders();
    const buffer = [
      anOrder({ id: 'refund_a', type: 'refund', ref: 'pay_1', amountMinor: 100n, cardToken: undefined, merchant: undefined }),
      anOrder({ id: 'capture_a', type: 'capture', ref: 'auth_1', cardToken: undefined, merchant: undefined }),
      anOrder({ id: 'refund_b', type: 'refund', ref: 'pay_1', amountMinor: 100n, cardToken: undefined, merchant: undefined }),
      anOrder({ id: 'pay_2', cardToken: token, merchant: 'm_one' }),
      anOrder({ id: 'pay_3', cardToken: token, merchant: 'm_one' }),
    ];
    const alone = async (id: string) => (await store.prefetch([], [id])).order(id);
    for (const caches of ['cold', 'warm']) {
      const ws = await store.prefetch(buffer, ['auth_1', 'pay_1', 'refund_a']);
      expect([...ws.orders.keys()], caches).toEqual(['pay_1', 'auth_1']);
      expect([...ws.cards.keys()], caches).toEqual([token]);
      expect([...ws.accounts.keys()].sort(), caches).toEqual([accountId, 'm_one', 'm_two'].sort());
      expect(ws.order('pay_1')).toEqual(await alone('pay_1'));
      expect(ws.order('auth_1')).toEqual(await alone('auth_1'));
      expect(ws.order('auth_1')?.holdMinor).toBe(700n);
      expect(ws.account(accountId)?.balanceMinor).toBe(9_500n);
    }
  });
});
