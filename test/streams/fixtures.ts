// The ledger the stage tests run on: a real LevelDB in a temporary folder, fresh for each test.

import { afterEach, beforeEach } from 'vitest';
import { WorkingSet } from '../../src/domain/apply.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { aCard, aFundingAccount, aMerchant, anAccount, aTempStore, removeDataDir } from '../ledger/builders.ts';

export interface FundedStore {
  /** the open store (a new one after `reopen`) */
  store: LedgerStore;
  dataDir: string;
  /** closes the store and opens its folder again, as a restart does */
  reopen(): Promise<void>;
}

/**
 * For each test of the file: a store holding Alice's card with 100.00 USD, the merchant m_coffee and the funding
 * balancing them; after the test the store is closed and its folder removed. Read it through the object
 * returned (filled in before each test).
 */
export function withFundedStore(): FundedStore {
  const env = {
    reopen: async () => {
      await env.store.close();
      env.store = await LedgerStore.open(env.dataDir);
    },
  } as FundedStore;
  beforeEach(async () => {
    Object.assign(env, await aTempStore());
    const ws = new WorkingSet();
    for (const a of [anAccount({ balanceMinor: 10_000n }), aMerchant(), aFundingAccount('USD', -10_000n)]) ws.putAccount(a);
    await env.store.commit(ws);
    const card = aCard();
    await env.store.write([{ type: 'put', sublevel: env.store.cards, key: card.token, value: JSON.stringify(card) }]);
    env.store.forgetCaches();
  });
  afterEach(async () => {
    await env.store.close();
    await removeDataDir(env.dataDir);
  });
  return env;
}
