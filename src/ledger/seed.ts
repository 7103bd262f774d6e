// Fixture loader: deterministic test cards (valid Luhn test PANs only) with funded accounts, and funded
// merchants, written in large atomic batches so a benchmark ledger of 1,000,000 cards loads in minutes.

import { type Actor, SYSTEM_ACTOR } from '../domain/actor.ts';
import { checkPan } from '../domain/cards.ts';
import { demoCardCurrency, demoCardPans, demoMerchants, merchantAccountFor } from '../domain/generate.ts';
import { FUNDING_ACCOUNT_ID } from '../domain/apply.ts';
import { parseAmount } from '../domain/money.ts';
import type { Account, Card, Transfer } from '../domain/types.ts';
import { encodeAccount, encodeBalance, encodeCard, encodeTransfer, newestFirstKey } from './codec.ts';
import type { LedgerStore } from './store.ts';
import type { BatchOp } from './sublevels.ts';

export interface SeedOptions {
  cards: number;
  merchants: number;
  seed: number;
  /** opening balance of each card account, in its currency's major units @default '5000' */
  cardBalance: string;
  /** opening balance of each merchant (payouts and refunds draw on it) @default '100000' */
  merchantBalance: string;
  /** cards per LevelDB batch @default 2000 */
  chunk?: number;
  /** who seeds: each batch's audit entry names it (the trail accounts for every seed_<n> deposit) @default SYSTEM_ACTOR */
  actor?: Actor;
}

const HOLDERS = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra', 'Barbara Liskov', 'Ken Thompson', 'Margaret Hamilton', 'Donald Knuth', 'Frances Allen', 'John Backus', 'Radia Perlman', 'Leslie Lamport'];

/** every demo merchant settles in each currency the demo cards use */
const MERCHANT_CURRENCIES = ['USD', 'EUR', 'CNY', 'JPY'] as const;

export interface SeedReport {
  cardsCreated: number;
  cardsExisting: number;
  merchantsCreated: number;
}

export async function seedLedger(store: LedgerStore, options: SeedOptions, nowMs = Date.now()): Promise<SeedReport> {
  if (!Number.isInteger(options.cards) || options.cards < 0 || options.cards > 10_000_000) {
    throw new Error('--cards must be an integer within 0..10000000');
  }
  const chunk = options.chunk ?? 2000;
  const pans = demoCardPans(options.cards, options.seed);
  const merchants = demoMerchants(options.merchants);
  const at = new Date(nowMs).toISOString();
  const expiry = (() => {
    const d = new Date(nowMs);
    return `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String((d.getUTCFullYear() + 4) % 100).padStart(2, '0')}`;
  })();
  const funding = new Map<string, Account>();
  const fundingOf = async (currency: string): Promise<Account> => {
    const id = `${FUNDING_ACCOUNT_ID}-${currency}`;
    let account = funding.get(id) ?? (await store.getAccount(id));
    account ??= { id, currency, balanceMinor: 0n, holdsMinor: 0n, owner: { kind: 'system', name: 'funding' }, overdraftAllowed: true, createdAt: at };
    funding.set(id, account);
    return account;
  };
  let seq = Number((await store.meta.get('seq!seed')) ?? '0');
  let flushedSeq = seq;
  const report: SeedReport = { cardsCreated: 0, cardsExisting: 0, merchantsCreated: 0 };
  const fund = async (ops: BatchOp[], account: Account, amount: string): Promise<Account> => {
    const parsed = parseAmount(amount, account.currency);
    if (!parsed.ok) throw new Error(`opening balance ${amount}: ${parsed.reason}`);
    const f = await fundingOf(account.currency);
    seq++;
    const t: Transfer = { id: `seed_${seq}`, debit: f.id, credit: account.id, amountMinor: parsed.amountMinor, currency: account.currency, kind: 'deposit', orderId: '', atMs: nowMs };
    funding.set(f.id, { ...f, balanceMinor: f.balanceMinor - t.amountMinor });
    ops.push({ type: 'put', sublevel: store.transfers, key: t.id, value: encodeTransfer(t) });
    const when = newestFirstKey(t.atMs);
    ops.push({ type: 'put', sublevel: store.index, key: `acct!${t.debit}!${when}!${t.id}`, value: '' });
    ops.push({ type: 'put', sublevel: store.index, key: `acct!${t.credit}!${when}!${t.id}`, value: '' });
    return { ...account, balanceMinor: account.balanceMinor + t.amountMinor };
  };
  const flush = async (ops: BatchOp[]): Promise<void> => {
    // a funding account read back from the ledger may have a balance record, which reads take over the
    // account record's balance: both are written (the head of its transfer chain kept as it was)
    for (const f of funding.values()) {
      ops.push({ type: 'put', sublevel: store.accounts, key: f.id, value: encodeAccount(f) });
      ops.push({ type: 'put', sublevel: store.balances, key: f.id, value: encodeBalance(f) });
    }
    ops.push({ type: 'put', sublevel: store.meta, key: 'seq!seed', value: String(seq) });
    if (seq === flushedSeq) {
      await store.write(ops);
      return;
    }
    // the seed's deposits (seed_<from>..seed_<to>) are audited in the same write that makes them
    await store.writeAudited(ops, {
      actor: options.actor ?? SYSTEM_ACTOR,
      action: 'ledger.seed',
      params: { cards: options.cards, merchants: options.merchants, seed: options.seed, balance: options.cardBalance },
      atMs: nowMs,
      outcome: 'ok',
      after: { seedFrom: flushedSeq + 1, seedTo: seq, cardsCreated: report.cardsCreated, merchantsCreated: report.merchantsCreated },
    });
    flushedSeq = seq;
  };

  await store.exclusive(async () => {
    const ops: BatchOp[] = [];
    for (const [base, currency] of merchants.flatMap((m) => MERCHANT_CURRENCIES.map((c) => [m, c] as const))) {
      const id = merchantAccountFor(base, currency);
      if (await store.getAccount(id)) continue;
      const account: Account = { id, currency, balanceMinor: 0n, holdsMinor: 0n, owner: { kind: 'merchant', name: id }, overdraftAllowed: false, createdAt: at };
      const balance = currency === 'JPY' ? `${options.merchantBalance}00` : options.merchantBalance;
      ops.push({ type: 'put', sublevel: store.accounts, key: id, value: encodeAccount(await fund(ops, account, balance)) });
      report.merchantsCreated++;
    }
    await flush(ops);
  });

  for (let start = 0; start < pans.length; start += chunk) {
    await store.exclusive(async () => {
      const slice = pans.slice(start, start + chunk);
      const tokens = slice.map((pan) => store.tokenize(pan));
      const existing = await store.cards.getMany(tokens);
      // after a key rotation, a demo card seeded before may hold its PAN's token under an older version
      const older = slice.map((pan) => store.olderTokens(pan));
      const olderTokens = [...new Set(older.flat())];
      if (olderTokens.length > 0) {
        const texts = await store.cards.getMany(olderTokens);
        const held = new Set(olderTokens.filter((_, i) => texts[i] !== undefined));
        for (let i = 0; i < slice.length; i++) if (older[i]!.some((t) => held.has(t))) existing[i] ??= 'held under an older key version';
      }
      const ops: BatchOp[] = [];
      for (let i = 0; i < slice.length; i++) {
        if (existing[i] !== undefined) {
          report.cardsExisting++;
          continue;
        }
        const pan = checkPan(slice[i]!);
        if (!pan.ok) throw new Error('the seed produced an invalid test PAN');
        const index = start + i;
        const token = tokens[i]!;
        const currency = demoCardCurrency(index);
        const holder = `${HOLDERS[index % HOLDERS.length]} ${index + 1}`;
        const accountId = `acct_${token.slice(0, 16)}`;
        const account: Account = { id: accountId, currency, balanceMinor: 0n, holdsMinor: 0n, owner: { kind: 'cardholder', name: holder }, overdraftAllowed: false, createdAt: at };
        const card: Card = { token, first6: pan.pan.slice(0, 6), last4: pan.pan.slice(-4), brand: pan.brand, expiry, status: 'active', holder: { name: holder }, accountId, createdAt: at, keyVersion: store.keys.current };
        const balance = currency === 'JPY' ? String(Number.parseInt(options.cardBalance, 10) * 100) : options.cardBalance;
        ops.push({ type: 'put', sublevel: store.accounts, key: accountId, value: encodeAccount(await fund(ops, account, balance)) });
        ops.push({ type: 'put', sublevel: store.cards, key: token, value: encodeCard(card) });
        ops.push({ type: 'put', sublevel: store.index, key: `last4!${card.last4}!${token}`, value: '' });
        ops.push({ type: 'put', sublevel: store.index, key: `name!${holder.toLowerCase()}!${token}`, value: '' });
        report.cardsCreated++;
      }
      await flush(ops);
    });
  }
  store.forgetCaches();
  return report;
}
