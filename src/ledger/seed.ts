// Fixture loader: deterministic test cards (valid Luhn test PANs only) with funded accounts, and funded
// merchants, written in large atomic batches so a benchmark ledger of 1,000,000 cards loads in minutes.

import { type Actor, SYSTEM_ACTOR } from '../domain/actor.ts';
import { checkPan } from '../domain/cards.ts';
import { demoCardCurrency, demoCardPans, demoMerchants, merchantAccountFor } from '../domain/generate.ts';
import { parseAmount } from '../domain/money.ts';
import { cardholderAccountId, fundingAccountId, newFundingAccount } from '../domain/operator-commands.ts';
import type { Account, Card, Transfer } from '../domain/types.ts';
import { encodeAccount, encodeBalance, encodeTransfer, newestFirstKey } from './codec.ts';
import { accountOps, cardOps } from './records.ts';
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
  /** told after each batch how many of the cards are done (made or found) @default none */
  onProgress?: (cardsDone: number, cardsTotal: number) => void;
}

/** a seed makes at most this many cards */
export const SEED_CARDS_MAX = 10_000_000;
const DEFAULT_CHUNK_CARDS = 2000;

const HOLDERS = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra', 'Barbara Liskov', 'Ken Thompson', 'Margaret Hamilton', 'Donald Knuth', 'Frances Allen', 'John Backus', 'Radia Perlman', 'Leslie Lamport'];

/** every demo merchant settles in each currency the demo cards use */
const MERCHANT_CURRENCIES = ['USD', 'EUR', 'CNY', 'JPY'] as const;

export interface SeedReport {
  cardsCreated: number;
  cardsExisting: number;
  merchantsCreated: number;
}

export async function seedLedger(store: LedgerStore, options: SeedOptions, nowMs = Date.now()): Promise<SeedReport> {
  if (!Number.isInteger(options.cards) || options.cards < 0 || options.cards > SEED_CARDS_MAX) {
    throw new Error(`--cards must be an integer within 0..${SEED_CARDS_MAX}`);
  }
  const run = new SeedRun(store, options, nowMs, Number((await store.meta.get('seq!seed')) ?? '0'));
  await store.exclusive(() => run.merchants());
  const pans = demoCardPans(options.cards, options.seed);
  const chunk = options.chunk ?? DEFAULT_CHUNK_CARDS;
  for (let start = 0; start < pans.length; start += chunk) {
    await store.exclusive(() => run.cards(pans.slice(start, start + chunk), start));
    options.onProgress?.(Math.min(start + chunk, pans.length), pans.length);
  }
  store.forgetCaches();
  return run.report;
}

/** One seed run: the funding accounts as they move, the seed_<n> numbering, and what was made. */
class SeedRun {
  readonly report: SeedReport = { cardsCreated: 0, cardsExisting: 0, merchantsCreated: 0 };
  private readonly funding = new Map<string, Account>();
  private readonly at: string;
  /** good through the current month four years on */
  private readonly expiry: string;
  /** the newest seed_<n> written */
  private flushedSeq: number;

  constructor(
    private readonly store: LedgerStore,
    private readonly options: SeedOptions,
    private readonly nowMs: number,
    /** the newest seed_<n> staged */
    private seq: number,
  ) {
    this.flushedSeq = seq;
    this.at = new Date(nowMs).toISOString();
    const d = new Date(nowMs);
    this.expiry = `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String((d.getUTCFullYear() + 4) % 100).padStart(2, '0')}`;
  }

  /** Every demo merchant's account in each currency, funded, unless it exists. */
  async merchants(): Promise<void> {
    const ops: BatchOp[] = [];
    for (const base of demoMerchants(this.options.merchants)) {
      for (const currency of MERCHANT_CURRENCIES) {
        const id = merchantAccountFor(base, currency);
        if (await this.store.getAccount(id)) continue;
        const account: Account = { id, currency, balanceMinor: 0n, holdsMinor: 0n, owner: { kind: 'merchant', name: id }, overdraftAllowed: false, createdAt: this.at };
        const balance = currency === 'JPY' ? `${this.options.merchantBalance}00` : this.options.merchantBalance;
        ops.push(...accountOps(this.store, await this.fund(ops, account, balance)));
        this.report.merchantsCreated++;
      }
    }
    await this.flush(ops);
  }

  /** The cards of `pans` (the `start`-th card first) that are not in the ledger yet, each on a funded account of its own. */
  async cards(pans: string[], start: number): Promise<void> {
    const tokens = pans.map((pan) => this.store.tokenize(pan));
    const held = await this.heldAlready(pans, tokens);
    const ops: BatchOp[] = [];
    for (let i = 0; i < pans.length; i++) {
      if (held[i]) {
        this.report.cardsExisting++;
        continue;
      }
      const pan = checkPan(pans[i]!);
      if (!pan.ok) throw new Error('the seed produced an invalid test PAN');
      const index = start + i;
      const token = tokens[i]!;
      const currency = demoCardCurrency(index);
      const holder = `${HOLDERS[index % HOLDERS.length]} ${index + 1}`;
      const accountId = cardholderAccountId(token);
      const account: Account = { id: accountId, currency, balanceMinor: 0n, holdsMinor: 0n, owner: { kind: 'cardholder', name: holder }, overdraftAllowed: false, createdAt: this.at };
      const card: Card = { token, first6: pan.pan.slice(0, 6), last4: pan.pan.slice(-4), brand: pan.brand, expiry: this.expiry, status: 'active', holder: { name: holder }, accountId, createdAt: this.at, keyVersion: this.store.keys.current };
      const balance = currency === 'JPY' ? String(Number.parseInt(this.options.cardBalance, 10) * 100) : this.options.cardBalance;
      ops.push(...accountOps(this.store, await this.fund(ops, account, balance)), ...cardOps(this.store, card, true));
      this.report.cardsCreated++;
    }
    await this.flush(ops);
  }

  /** Which PANs have a card already: under the current token, or (seeded before a key rotation) an older one. */
  private async heldAlready(pans: string[], tokens: string[]): Promise<boolean[]> {
    const held = (await this.store.cards.getMany(tokens)).map((text) => text !== undefined);
    const older = pans.map((pan) => this.store.olderTokens(pan));
    const olderTokens = [...new Set(older.flat())];
    if (olderTokens.length === 0) return held;
    const texts = await this.store.cards.getMany(olderTokens);
    const found = new Set(olderTokens.filter((_, i) => texts[i] !== undefined));
    return held.map((h, i) => h || older[i]!.some((t) => found.has(t)));
  }

  /** The account with its opening balance, deposited from its currency's funding account (seed_<n>, indexed by account). */
  private async fund(ops: BatchOp[], account: Account, amount: string): Promise<Account> {
    const parsed = parseAmount(amount, account.currency);
    if (!parsed.ok) throw new Error(`opening balance ${amount}: ${parsed.reason}`);
    const f = await this.fundingOf(account.currency);
    this.seq++;
    const t: Transfer = { id: `seed_${this.seq}`, debit: f.id, credit: account.id, amountMinor: parsed.amountMinor, currency: account.currency, kind: 'deposit', orderId: '', atMs: this.nowMs };
    this.funding.set(f.id, { ...f, balanceMinor: f.balanceMinor - t.amountMinor });
    ops.push({ type: 'put', sublevel: this.store.transfers, key: t.id, value: encodeTransfer(t) });
    const when = newestFirstKey(t.atMs);
    ops.push({ type: 'put', sublevel: this.store.index, key: `acct!${t.debit}!${when}!${t.id}`, value: '' });
    ops.push({ type: 'put', sublevel: this.store.index, key: `acct!${t.credit}!${when}!${t.id}`, value: '' });
    return { ...account, balanceMinor: account.balanceMinor + t.amountMinor };
  }

  private async fundingOf(currency: string): Promise<Account> {
    const id = fundingAccountId(currency);
    const account = this.funding.get(id) ?? (await this.store.getAccount(id)) ?? newFundingAccount(currency, this.nowMs);
    this.funding.set(id, account);
    return account;
  }

  /** Writes `ops` with the funding accounts and the counter; a batch that made deposits with its audit entry. */
  private async flush(ops: BatchOp[]): Promise<void> {
    // a funding account read back from the ledger may have a balance record, which reads take over the
    // account record's balance: both are written (the head of its transfer chain kept as it was)
    for (const f of this.funding.values()) {
      ops.push({ type: 'put', sublevel: this.store.accounts, key: f.id, value: encodeAccount(f) });
      ops.push({ type: 'put', sublevel: this.store.balances, key: f.id, value: encodeBalance(f) });
    }
    ops.push({ type: 'put', sublevel: this.store.meta, key: 'seq!seed', value: String(this.seq) });
    if (this.seq === this.flushedSeq) {
      await this.store.write(ops);
      return;
    }
    const { cards, merchants, seed, cardBalance } = this.options;
    await this.store.writeAudited(ops, {
      actor: this.options.actor ?? SYSTEM_ACTOR,
      action: 'ledger.seed',
      params: { cards, merchants, seed, balance: cardBalance },
      atMs: this.nowMs,
      outcome: 'ok',
      after: { seedFrom: this.flushedSeq + 1, seedTo: this.seq, cardsCreated: this.report.cardsCreated, merchantsCreated: this.report.merchantsCreated },
    });
    this.flushedSeq = this.seq;
  }
}
