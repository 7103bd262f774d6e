// `paystream seed`: test cards (valid Luhn test PANs only) with funded accounts, and funded merchants.

import os from 'node:os';
import type { Command } from 'commander';
import { localActor } from '../domain/actor.ts';
import { DEMO_SEED } from '../domain/generate.ts';
import { amountInArg, integerArg, seedArg } from './args.ts';
import type { Globals } from './global-options.ts';
import { print } from './output.ts';
import { QUIET_FLAG_HELP, withProgress } from './progress.ts';

/** cards one seed run may create */
const SEED_CARDS_BOUNDS = { min: 0, max: 10_000_000 };
/** merchants one seed run may create */
const SEED_MERCHANTS_BOUNDS = { min: 0, max: 100_000 };
/** the card balances go into USD, EUR and CNY accounts as given (JPY ones get a hundredfold): USD's decimals bound them all */
const seedBalanceArg = amountInArg('USD');
/** each seeded merchant's opening balance */
const MERCHANT_OPENING_BALANCE = '1000000';

export function registerSeed(program: Command, globals: Globals): void {
  program
    .command('seed')
    .description('create N test cards (valid Luhn test PANs only) with funded accounts, and funded merchants')
    .option('--cards <n>', 'how many cards', integerArg(SEED_CARDS_BOUNDS), 500)
    .option('--merchants <n>', 'how many merchants', integerArg(SEED_MERCHANTS_BOUNDS), 60)
    .option('--seed <n>', 'seed of the deterministic card list', seedArg, DEMO_SEED)
    .option('--balance <amount>', 'opening balance of each card account', seedBalanceArg, '5000')
    .option('--json', 'print JSON')
    .option('--quiet', QUIET_FLAG_HELP)
    .action(async (o: { cards: number; merchants: number; seed: number; balance: string; quiet?: boolean }) => {
      const g = globals();
      const [{ seedLedger }, { LedgerStore }] = await Promise.all([import('../ledger/seed.ts'), import('../ledger/store.ts')]);
      const store = await LedgerStore.open(g.data, { owner: { command: 'paystream seed' } });
      try {
        const started = Date.now();
        const actor = localActor(os.userInfo().username, 'cli');
        const report = await withProgress({ label: 'seed', unit: 'card', verb: 'seeded', total: o.cards, quiet: o.quiet }, async (progress) => {
          const { cards, merchants, seed, balance: cardBalance } = o;
          const onProgress = (cardsDone: number) => progress.update(cardsDone);
          const seeded = await seedLedger(store, { cards, merchants, seed, cardBalance, merchantBalance: MERCHANT_OPENING_BALANCE, actor, onProgress });
          progress.finish();
          return seeded;
        });
        print(g, report, (r: typeof report) => `seeded ${r.cardsCreated} cards (${r.cardsExisting} existed), ${r.merchantsCreated} merchants in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } finally {
        await store.close();
      }
    });
}
