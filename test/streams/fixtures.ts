// The ledger the stage tests run on: a real LevelDB in a temporary folder, fresh for each test.

import { afterEach, beforeEach } from 'vitest';
import { WorkingSet } from '../../src/domain/ledger.ts';
import type { LedgerStore } from '../../src/ledger/store.ts';
import { aCard, aFundingAccount, aMerchant, anAccount, aTempStore, removeDataDir } from '../ledger/builders.ts';

/**
 * For each test of the file: a store holding Alice's card with 100.00 USD, the merchant m_coffee and the funding
 * balancing them, handed to `opened` before the test; after it, the store `current` returns (a test may reopen
 * the folder) is closed and the folder removed.
 */
export function withFundedStore(opened: (store: LedgerStore, dataDir: string) => void, current: () => LedgerStore): void {
  let dataDir: string;
  beforeEach(async () => {
    const temp = await aTempStore();
    dataDir = temp.dataDir;
    opened(temp.store, temp.dataDir);
    const ws = new WorkingSet();
    for (const a of [anAccount({ balanceMinor: 10_000n }), aMerchant(), aFundingAccount('USD', -10_000n)]) ws.putAccount(a);
    await temp.store.commit(ws);
    const card = aCard();
    await temp.store.write([{ type: 'put', sublevel: temp.store.cards, key: card.token, value: JSON.stringify(card) }]);
    temp.store.forgetCaches();
  });
  afterEach(async () => {
    await current().close();
    await removeDataDir(dataDir);
  });
}
