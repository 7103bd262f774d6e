// The LevelDB ledger on a real database in a temp dir: cards, accounts, deposits, lookups, commits, secrets.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_APPLY_OPTIONS, applyOrder, decideReview } from '../../src/domain/apply.ts';
import type { Order } from '../../src/domain/types.ts';
import { chainKey, decodeTransfer, encodeTransfer, newestFirstKey } from '../../src/ledger/codec.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { LedgerStore, type RegisterCardInput } from '../../src/ledger/store.ts';
import type { BatchOp } from '../../src/ledger/sublevels.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { demoCardPans } from '../../src/domain/generate.ts';
import { TEST_NOW_MS, TEST_PANS, anOrder } from '../domain/builders.ts';
import { aContext, aDataDir, removeDataDir } from './builders.ts';
import { OPERATOR as OP } from './builders.ts';
import { ALLOW } from '../../src/domain/risk/decision.ts';

const ALICE: RegisterCardInput = {
  pan: TEST_PANS.visa[0],
  expiry: '12/30',
  holder: { name: 'Alice Example', email: 'alice@example.com' },
};
const BOB: RegisterCardInput = {
  pan: TEST_PANS.mastercard[0],
  expiry: '12/30',
  holder: { name: 'Bob Builder' },
};

let dataDir: string;
let store: LedgerStore;
let extraDirs: string[] = [];

beforeEach(async () => {
  dataDir = await aDataDir();
  store = await LedgerStore.open(dataDir);
});

afterEach(async () => {
  await store.close().catch(() => undefined);
  await removeDataDir(dataDir);
  for (const dir of extraDirs) await removeDataDir(dir);
  extraDirs = [];
});

const amounts = (ts: { amountMinor: bigint }[]) => ts.map((t) => t.amountMinor);
/** Whether transfers are in time order, newest first (as an account's history lists them). */
const isNewestFirst = (ts: { atMs: number }[]) => ts.every((t, i) => i === 0 || ts[i - 1]!.atMs >= t.atMs);

/** Every file under `dir`, recursively, as bytes. */
async function filesUnder(dir: string): Promise<{ file: string; bytes: Buffer }[]> {
  const out: { file: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push({ file: full, bytes: await readFile(full) });
  }
  return out;
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  return (await filesUnder(dir))
    .filter(({ bytes }) => bytes.includes(needle))
    .map(({ file }) => path.relative(dir, file));
}

async function registerError(input: Partial<RegisterCardInput>): Promise<string> {
  try {
    await store.registerCard({ ...ALICE, ...input }, OP, TEST_NOW_MS);
  } catch (error) {
    expect(error).toBeInstanceOf(LedgerError);
    return (error as LedgerError).code;
  }
  throw new Error('registerCard did not refuse');
}

describe('registering cards', () => {
  it('keeps a token, the first 6 and last 4 digits, and opens a cardholder account', async () => {
    const { card, created } = await store.registerCard(ALICE, OP, TEST_NOW_MS);
    expect(created).toBe(true);
    expect(card).toMatchObject({
      first6: '411111',
      last4: '1111',
      brand: 'visa',
      expiry: '12/30',
      status: 'active',
      holder: { name: 'Alice Example', email: 'alice@example.com' },
    });
    expect(card.token).toMatch(/^[0-9a-f]{64}$/);
    expect(card.token).toBe(store.tokenize(ALICE.pan));
    expect(await store.getAccount(card.accountId)).toMatchObject({
      currency: 'USD',
      balanceMinor: 0n,
      owner: { kind: 'cardholder', name: 'Alice Example' },
    });
    const stored = JSON.parse((await store.cards.get(card.token))!) as Record<string, unknown>;
    expect(Object.keys(stored).sort()).toEqual(
      ['accountId', 'brand', 'createdAt', 'expiry', 'first6', 'holder', 'keyVersion', 'last4', 'status', 'token'].sort(),
    );
    expect(JSON.stringify(stored)).not.toContain(ALICE.pan);
  });

  it('finds the existing card when the same PAN is registered again, however it is typed', async () => {
    const first = await store.registerCard(ALICE, OP, TEST_NOW_MS);
    const again = await store.registerCard(
      { ...ALICE, pan: '4111 1111-1111 1111', holder: { name: 'Someone Else' } }, OP,
      TEST_NOW_MS);
    expect(again).toEqual({ card: first.card, created: false });
    expect(await store.listCards()).toHaveLength(1);
    expect(await store.listAccounts()).toHaveLength(1);
  });

  it('opens the account in the currency asked for, or links an existing cardholder account', async () => {
    const { card } = await store.registerCard({ ...ALICE, currency: 'cny' }, OP, TEST_NOW_MS);
    expect((await store.getAccount(card.accountId))?.currency).toBe('CNY');
    const shared = await store.openAccount({
      id: 'acct_family',
      owner: 'The Builders',
      kind: 'cardholder',
      currency: 'EUR',
    }, OP);
    const bob = await store.registerCard({ ...BOB, accountId: shared.id }, OP, TEST_NOW_MS);
    expect(bob.card.accountId).toBe('acct_family');
  });

  it.each([
    ['invalid_pan', { pan: '4111111111111112' }],
    ['invalid_pan', { pan: '4111' }],
    ['invalid_pan', { pan: '4111-abcd-1111-1111' }],
    ['card_expired', { expiry: '10/26' }],
    ['invalid_expiry', { expiry: '13/30' }],
    ['invalid_expiry', { expiry: '1230' }],
    ['invalid_holder', { holder: { name: '   ' } }],
    ['unknown_currency', { currency: 'XXX' }],
    ['unknown_account', { accountId: 'acct_nobody' }],
  ])('refuses with %s: %j', async (code, input) => {
    expect(await registerError(input)).toBe(code);
    expect(await store.listCards()).toEqual([]);
  });

});

describe('registering cards: what is refused, and what never reaches the disk', () => {
  it('accepts a card in its expiry month, and refuses one whose month is over', async () => {
    expect((await store.registerCard({ ...ALICE, expiry: '11/26' }, OP, TEST_NOW_MS)).created).toBe(true);
    expect(await registerError({ pan: BOB.pan, expiry: '10/26' })).toBe('card_expired');
  });

  it('refuses to link a card to a merchant account', async () => {
    await store.openAccount({ id: 'm_shop', owner: 'Shop', currency: 'USD' }, OP);
    expect(await registerError({ accountId: 'm_shop' })).toBe('invalid_account');
  });

  it('never writes the PAN digits (nor a CVV) to any file of the data dir', async () => {
    const smuggled = {
      ...ALICE,
      holder: { name: 'Alice Example', cvv: '739' },
    } as unknown as RegisterCardInput;
    const alice = await store.registerCard(smuggled, OP, TEST_NOW_MS);
    const bob = await store.registerCard(BOB, OP, TEST_NOW_MS);
    await store.registerCard(
      { pan: TEST_PANS.amex[0], expiry: '01/29', holder: { name: 'Carol' } }, OP,
      TEST_NOW_MS);
    await store.deposit(alice.card.accountId, 10_000n, OP, TEST_NOW_MS);
    await store.deposit(bob.card.accountId, 5_000n, OP, TEST_NOW_MS);
    await store.close();
    // the search works: what is stored in the clear is found
    expect(await filesContaining(dataDir, 'Bob Builder')).not.toEqual([]);
    for (const pan of [ALICE.pan, BOB.pan, TEST_PANS.amex[0]]) {
      expect(await filesContaining(dataDir, pan)).toEqual([]);
      // nor the hidden middle digits next to a displayed end (no 'first 12' or 'last 12' leaks)
      expect(await filesContaining(dataDir, pan.slice(0, 12))).toEqual([]);
      expect(await filesContaining(dataDir, pan.slice(-12))).toEqual([]);
    }
    expect(await filesContaining(dataDir, 'cvv')).toEqual([]);
    expect(await filesContaining(dataDir, '"739"')).toEqual([]);
    store = await LedgerStore.open(dataDir);
  });
});

// the tokenization key (where it comes from, what is refused, rotation): test/ledger/keys.test.ts

describe('finding cards', () => {
  beforeEach(async () => {
    await store.registerCard(ALICE, OP, TEST_NOW_MS);
    await store.registerCard(BOB, OP, TEST_NOW_MS);
    await store.registerCard(
      { pan: TEST_PANS.visa[1]!, expiry: '12/30', holder: { name: 'Zoë Ångström' } }, OP,
      TEST_NOW_MS);
    await store.registerCard(
      { pan: TEST_PANS.amex[0], expiry: '12/30', holder: { name: 'Alicia Keys' } }, OP,
      TEST_NOW_MS);
  });
  const names = (cards: { holder: { name: string } }[]) => cards.map((c) => c.holder.name).sort();

  it('by token, in any case', async () => {
    const token = store.tokenize(BOB.pan);
    expect(names(await store.findCards(token))).toEqual(['Bob Builder']);
    expect(names(await store.findCards(token.toUpperCase()))).toEqual(['Bob Builder']);
  });

  it('by token prefix', async () => {
    expect(names(await store.findCards(store.tokenize(BOB.pan).slice(0, 10)))).toEqual(['Bob Builder']);
  });

  it('by last 4 digits', async () => {
    expect(names(await store.findCards('4444'))).toEqual(['Bob Builder']);
    expect(names(await store.findCards('1111'))).toEqual(['Alice Example']);
    expect(await store.findCards('9999')).toEqual([]);
  });

  it('by holder name prefix, case-insensitive, accents included', async () => {
    expect(names(await store.findCards('ali'))).toEqual(['Alice Example', 'Alicia Keys']);
    expect(names(await store.findCards('ALICE'))).toEqual(['Alice Example']);
    expect(names(await store.findCards('zo'))).toEqual(['Zoë Ångström']);
    expect(names(await store.findCards('ZOË Å'))).toEqual(['Zoë Ångström']);
    expect(await store.findCards('nobody')).toEqual([]);
  });

  it('at most `limit` of them', async () => {
    expect(await store.findCards('a', 1)).toHaveLength(1);
  });
});

describe('card status', () => {
  it('freezes, unfreezes and closes a card; a closed card stays closed', async () => {
    const { card } = await store.registerCard(ALICE, OP, TEST_NOW_MS);
    expect((await store.setCardStatus(card.token, 'frozen', OP)).status).toBe('frozen');
    expect((await store.setCardStatus(card.token, 'active', OP)).status).toBe('active');
    await store.setCardStatus(card.token, 'closed', OP);
    await expect(store.setCardStatus(card.token, 'active', OP)).rejects.toMatchObject({ code: 'card_closed' });
    await expect(store.setCardStatus('0'.repeat(64), 'frozen', OP)).rejects.toMatchObject({
      code: 'unknown_card',
    });
    await store.close();
    store = await LedgerStore.open(dataDir);
    expect((await store.getCard(card.token))?.status).toBe('closed');
  });
});

describe('accounts and deposits', () => {
  it('opens accounts with generated or given ids, and refuses bad ones', async () => {
    const a = await store.openAccount({ owner: 'Shop', currency: 'usd' }, OP, TEST_NOW_MS);
    expect(a).toMatchObject({
      id: 'acct_000001',
      currency: 'USD',
      owner: { kind: 'merchant', name: 'Shop' },
      balanceMinor: 0n,
    });
    await expect(store.openAccount({ id: a.id, owner: 'Shop', currency: 'USD' }, OP)).rejects.toMatchObject({
      code: 'account_exists',
    });
    await expect(store.openAccount({ owner: 'Shop', currency: 'XXX' }, OP)).rejects.toMatchObject({
      code: 'unknown_currency',
    });
    await expect(store.openAccount({ owner: ' ', currency: 'USD' }, OP)).rejects.toMatchObject({
      code: 'invalid_owner',
    });
    await expect(store.openAccount({ id: 'bad id', owner: 'x', currency: 'USD' }, OP)).rejects.toMatchObject({
      code: 'invalid_account',
    });
    await expect(store.openAccount({ id: 'funding-USD', owner: 'x', currency: 'USD' }, OP)).rejects.toMatchObject(
      {
        code: 'invalid_account',
      },
    );
  });

  it("moves a deposit from the currency's funding account, so balances sum to zero", async () => {
    const usd = await store.openAccount({ id: 'acct_usd', owner: 'A', kind: 'cardholder', currency: 'USD' }, OP);
    const eur = await store.openAccount({ id: 'acct_eur', owner: 'B', kind: 'cardholder', currency: 'EUR' }, OP);
    const { account, transfer } = await store.deposit(usd.id, 12_345n, OP, TEST_NOW_MS);
    await store.deposit(eur.id, 500n, OP, TEST_NOW_MS);
    expect(account.balanceMinor).toBe(12_345n);
    expect(transfer).toMatchObject({
      debit: 'funding-USD',
      credit: 'acct_usd',
      amountMinor: 12_345n,
      kind: 'deposit',
      currency: 'USD',
    });
    expect(await store.getAccount('funding-USD')).toMatchObject({
      balanceMinor: -12_345n,
      overdraftAllowed: true,
      owner: { kind: 'system' },
    });
    expect((await store.getAccount('funding-EUR'))?.balanceMinor).toBe(-500n);
    const sums = new Map<string, bigint>();
    for (const a of await store.listAccounts())
      sums.set(a.currency, (sums.get(a.currency) ?? 0n) + a.balanceMinor);
    expect(Object.fromEntries(sums)).toEqual({ USD: 0n, EUR: 0n });
  });

  it('refuses deposits into unknown or funding accounts, and withdrawals beyond the available balance', async () => {
    await store.openAccount({ id: 'acct_usd', owner: 'A', kind: 'cardholder', currency: 'USD' }, OP);
    await store.deposit('acct_usd', 1_000n, OP, TEST_NOW_MS);
    await expect(store.deposit('acct_nobody', 1n, OP)).rejects.toMatchObject({ code: 'unknown_account' });
    await expect(store.deposit('funding-USD', 1n, OP)).rejects.toMatchObject({ code: 'invalid_account' });
    await expect(store.withdraw('acct_usd', 1_001n, OP, TEST_NOW_MS)).rejects.toMatchObject({
      code: 'insufficient_funds',
    });
    const { account } = await store.withdraw('acct_usd', 400n, OP, TEST_NOW_MS);
    expect(account.balanceMinor).toBe(600n);
    expect((await store.getAccount('funding-USD'))?.balanceMinor).toBe(-600n);
  });

});

describe('an account\'s history', () => {
  it('lists the transfers of an account newest first, at most `limit`, and from `sinceMs`', async () => {
    await store.openAccount({ id: 'acct_usd', owner: 'A', kind: 'cardholder', currency: 'USD' }, OP);
    for (let i = 1; i <= 5; i++) await store.deposit('acct_usd', BigInt(i * 100), OP, TEST_NOW_MS + i * 1_000);
    expect(amounts(await store.transfersOf('acct_usd'))).toEqual([500n, 400n, 300n, 200n, 100n]);
    expect(amounts(await store.transfersOf('acct_usd', { limit: 2 }))).toEqual([500n, 400n]);
    expect(amounts(await store.transfersOf('acct_usd', { sinceMs: TEST_NOW_MS + 4_000 }))).toEqual([
      500n,
      400n,
    ]);
    expect(amounts(await store.transfersOf('funding-USD', { limit: 1 }))).toEqual([500n]);
    expect(await store.transfersOf('acct_nobody')).toEqual([]);
  });

  it('keeps each account\'s history as a chain of transfers under keys in write order, continued after a reopen', async () => {
    for (const id of ['acct_a', 'acct_b', 'acct_c']) await store.openAccount({ id, owner: id, kind: 'cardholder', currency: 'USD' }, OP);
    await store.deposit('acct_a', 100n, OP, TEST_NOW_MS + 1_000);
    await store.deposit('acct_b', 200n, OP, TEST_NOW_MS + 2_000);
    await store.close();
    store = await LedgerStore.open(dataDir);
    await store.deposit('acct_a', 300n, OP, TEST_NOW_MS + 3_000);
    await store.deposit('acct_c', 400n, OP, TEST_NOW_MS + 4_000);
    await store.withdraw('acct_a', 50n, OP, TEST_NOW_MS + 5_000);
    const keys: string[] = [];
    for await (const key of store.transfers.keys()) keys.push(key);
    expect(keys).toEqual([1, 2, 3, 4, 5].map(chainKey));
    expect(amounts(await store.transfersOf('acct_a'))).toEqual([50n, 300n, 100n]);
    expect(amounts(await store.transfersOf('acct_b'))).toEqual([200n]);
    expect(amounts(await store.transfersOf('funding-USD'))).toEqual([50n, 400n, 300n, 200n, 100n]);
    expect(amounts(await store.transfersOf('funding-USD', { limit: 2 }))).toEqual([50n, 400n]);
    expect(amounts(await store.transfersOf('funding-USD', { sinceMs: TEST_NOW_MS + 3_000 }))).toEqual([50n, 400n, 300n]);
    expect(await store.balances.get('acct_a')).toBe(`350 0 ${chainKey(5)}`);
    expect((await verifyLedger(store)).ok).toBe(true);
  });

  it('merges transfers indexed before the chains (older ledgers, the seed) into the history by time', async () => {
    await store.openAccount({ id: 'acct_a', owner: 'A', kind: 'cardholder', currency: 'USD' }, OP);
    await store.deposit('acct_a', 300n, OP, TEST_NOW_MS + 3_000);
    // as written before the chains: keyed by id, one index entry per account
    const legacy = (amountMinor: bigint, atMs: number, id: string): BatchOp[] => {
      const t = { id, debit: 'funding-USD', credit: 'acct_a', amountMinor, currency: 'USD', kind: 'deposit' as const, orderId: '', atMs };
      return [
        { type: 'put', sublevel: store.transfers, key: id, value: encodeTransfer(t) },
        ...[t.debit, t.credit].map((acct): BatchOp => ({ type: 'put', sublevel: store.index, key: `acct!${acct}!${newestFirstKey(atMs)}!${id}`, value: '' })),
      ];
    };
    await store.write([...legacy(100n, TEST_NOW_MS + 1_000, 'dep_old1'), ...legacy(500n, TEST_NOW_MS + 5_000, 'seed_1')]);
    expect(amounts(await store.transfersOf('acct_a'))).toEqual([500n, 300n, 100n]);
    expect(amounts(await store.transfersOf('funding-USD', { limit: 2 }))).toEqual([500n, 300n]);
    expect(amounts(await store.transfersOf('acct_a', { sinceMs: TEST_NOW_MS + 2_000 }))).toEqual([500n, 300n]);
  });

  it('says which link is missing when an account\'s chain is broken', async () => {
    await store.openAccount({ id: 'acct_a', owner: 'A', kind: 'cardholder', currency: 'USD' }, OP);
    await store.deposit('acct_a', 100n, OP, TEST_NOW_MS);
    await store.deposit('acct_a', 200n, OP, TEST_NOW_MS + 1);
    await store.transfers.del(chainKey(1));
    await expect(store.transfersOf('acct_a')).rejects.toThrow(`acct_a: its transfer chain names ${chainKey(1)}, which is not in the ledger`);
  });
});

async function fundedAlice(): Promise<{ token: string; accountId: string }> {
  const { card } = await store.registerCard(ALICE, OP, TEST_NOW_MS);
  await store.deposit(card.accountId, 10_000n, OP, TEST_NOW_MS - 60_000);
  return { token: card.token, accountId: card.accountId };
}

async function applyBuffer(orders: Order[], nowMs = TEST_NOW_MS) {
  const ws = await store.prefetch(orders);
  const results = orders.map((o) =>
    applyOrder(
      ws,
      o,
      o.id.endsWith('_review') ? { outcome: 'review', ruleId: 'r1', reason: 'velocity_count' } : ALLOW,
      aContext({ nowMs }),
    ),
  );
  await store.commit(ws);
  return results;
}

describe('seeding and prefetching', () => {
  it('seeds more cards into a ledger whose funding account has moved since: the books still balance', async () => {
    await seedLedger(store, { cards: 3, merchants: 1, seed: 9, cardBalance: '100', merchantBalance: '1000' }, TEST_NOW_MS);
    const [card] = await store.listCards({ limit: 1 });
    await store.deposit(card!.accountId, 2_500n, OP, TEST_NOW_MS + 1_000);
    await store.withdraw(card!.accountId, 500n, OP, TEST_NOW_MS + 2_000);
    const report = await seedLedger(store, { cards: 6, merchants: 1, seed: 9, cardBalance: '100', merchantBalance: '1000' }, TEST_NOW_MS + 3_000);
    expect(report.cardsCreated).toBe(3);
    expect(await verifyLedger(store)).toMatchObject({ ok: true, violations: [] });
    // the funding account's history: the deposits on its chain, the seed's own from the index, newest first
    const history = await store.transfersOf('funding-USD', { limit: 1000 });
    expect(isNewestFirst(history)).toBe(true);
    expect(history.filter((t) => t.kind === 'withdrawal')).toHaveLength(1);
  });

  it('prefetches a buffer whose reads are split across several LevelDB calls, missing ones and all', async () => {
    // 2,400 cards: with their accounts, orders and merchants the rounds read more than READ_PART_KEYS_MIN keys
    await seedLedger(store, { cards: 2_400, merchants: 3, seed: 7, cardBalance: '100', merchantBalance: '1000' }, TEST_NOW_MS);
    const pans = demoCardPans(2_400, 7);
    const orders = pans.map((pan, i) => anOrder({ id: `split_${i}`, cardToken: store.tokenize(pan), merchant: 'nobody_yet' }));
    const ws = await store.prefetch([...orders, anOrder({ id: 'split_unknown_card', cardToken: 'f'.repeat(64) })]);
    expect(ws.cards.size).toBe(2_400);
    expect(ws.orders.size).toBe(0);
    for (const card of ws.cards.values()) {
      expect(ws.accounts.get(card.accountId)).toMatchObject({ id: card.accountId, balanceMinor: expect.any(BigInt) });
    }
    expect(ws.accounts.size).toBe(2_400);
  });

});

describe('prefetch, decide, commit', () => {
  it('chains every transfer into both accounts\' histories exactly once, with buffers decided while earlier ones are written', async () => {
    const pans = [TEST_PANS.visa[0], TEST_PANS.mastercard[0], TEST_PANS.amex[0], TEST_PANS.discover[0]];
    const tokens: string[] = [];
    for (const [i, pan] of pans.entries()) {
      const { card } = await store.registerCard({ pan, expiry: '12/30', holder: { name: `Holder ${i}` } }, OP, TEST_NOW_MS);
      await store.deposit(card.accountId, 1_000_000n, OP, TEST_NOW_MS - 60_000);
      tokens.push(card.token);
    }
    const merchants = ['m_a', 'm_b', 'm_c'];
    const writes: Promise<void>[] = [];
    for (let b = 0; b < 12; b++) {
      const orders = Array.from({ length: 1 + (b % 5) * 7 }, (_, i) =>
        anOrder({ id: `chain_${b}_${i}`, cardToken: tokens[(b + i) % tokens.length], merchant: merchants[(b * 7 + i) % merchants.length], amountMinor: BigInt(100 + b * 10 + i) }),
      );
      // as the pipeline does: the next buffer is prefetched and decided before this one's write lands
      const ws = await store.prefetch(orders);
      for (const o of orders) applyOrder(ws, o, ALLOW, aContext({ nowMs: TEST_NOW_MS + b * 1_000 + 1 }));
      writes.push(store.commit(ws));
    }
    await Promise.all(writes);
    const byAccount = new Map<string, string[]>();
    for await (const [key, value] of store.transfers.iterator()) {
      const t = decodeTransfer(value);
      for (const account of [t.debit, t.credit]) byAccount.set(account, [...(byAccount.get(account) ?? []), `${key}:${t.id}`]);
    }
    for (const [account, expected] of byAccount) {
      const history = await store.transfersOf(account, { limit: 1000 });
      expect(history.map((t) => t.id).sort(), account).toEqual(expected.map((k) => k.slice(k.indexOf(':') + 1)).sort());
      expect(isNewestFirst(history)).toBe(true);
    }
    expect(byAccount.get('m_b')?.length).toBeGreaterThan(10);
    expect((await verifyLedger(store)).ok).toBe(true);
  });

});

describe('prefetch, decide, commit across a reopen', () => {
  it('survives a close and reopen: balances, holds and order results', async () => {
    const { token, accountId } = await fundedAlice();
    const payment = anOrder({ cardToken: token, amountMinor: 1_250n });
    const auth = anOrder({ cardToken: token, type: 'authorize', amountMinor: 2_000n });
    const held = anOrder({ id: 'ord_held_review', cardToken: token, amountMinor: 500n });
    const results = await applyBuffer([payment, auth, held]);
    expect(results.map((r) => r.status)).toEqual(['approved', 'authorized', 'held']);

    await store.close();
    store = await LedgerStore.open(dataDir);
    expect(await store.getAccount(accountId)).toMatchObject({ balanceMinor: 8_750n, holdsMinor: 2_500n });
    expect(await store.getAccount('m_coffee')).toMatchObject({
      balanceMinor: 1_250n,
      owner: { kind: 'merchant' },
    });
    expect((await store.getOrder(payment.id))?.result).toEqual(results[0]);
    expect(await store.getOrder(auth.id)).toMatchObject({
      open: true,
      holdMinor: 2_000n,
      result: results[1],
    });
    expect((await store.transfersOf(accountId)).map((t) => t.id)).toEqual([`tx_${payment.id}`, 'dep_000001']);
    expect((await store.reviewQueue()).map((r) => r.order.id)).toEqual([held.id]);

    // the republished payment is answered from the ledger, and moves nothing
    const again = await applyBuffer([payment]);
    expect(again[0]).toEqual({ ...results[0], duplicate: true });
    expect((await store.getAccount(accountId))?.balanceMinor).toBe(8_750n);
  });

  it('lets a later buffer act on an earlier one: capture and refund after a reopen', async () => {
    const { token, accountId } = await fundedAlice();
    const auth = anOrder({ cardToken: token, type: 'authorize', amountMinor: 2_000n });
    await applyBuffer([auth]);
    await store.close();
    store = await LedgerStore.open(dataDir);
    const capture = anOrder({
      type: 'capture',
      ref: auth.id,
      cardToken: undefined,
      merchant: undefined,
      amountMinor: 1_500n,
    });
    expect((await applyBuffer([capture]))[0]?.status).toBe('captured');
    await store.close();
    store = await LedgerStore.open(dataDir);
    const refund = anOrder({
      type: 'refund',
      ref: capture.id,
      cardToken: undefined,
      merchant: undefined,
      amountMinor: undefined,
    });
    expect((await applyBuffer([refund]))[0]).toMatchObject({ status: 'refunded', available: '100.00' });
    expect(await store.getAccount(accountId)).toMatchObject({ balanceMinor: 10_000n, holdsMinor: 0n });
  });

});

describe('commit: the review queue, expiries and holds', () => {
  it('counts the review queue again only after a write touched it (an idle processor asks every second)', async () => {
    const { token } = await fundedAlice();
    await applyBuffer([anOrder({ id: 'ord_q_review', cardToken: token, amountMinor: 100n })]);
    expect(await store.reviewQueueSize()).toBe(1);
    const keys = vi.spyOn(store.index, 'keys');
    expect(await store.reviewQueueSize()).toBe(1);
    await applyBuffer([anOrder({ id: 'ord_q_plain', cardToken: token, amountMinor: 100n })]);
    expect(await store.reviewQueueSize()).toBe(1);
    expect(keys).not.toHaveBeenCalled();
    await applyBuffer([anOrder({ id: 'ord_q2_review', cardToken: token, amountMinor: 100n })]);
    expect(await store.reviewQueueSize()).toBe(2);
    expect(keys).toHaveBeenCalledTimes(1);
    keys.mockRestore();
  });

  it('indexes open holds by expiry, and forgets an expiry the order no longer has', async () => {
    const { token } = await fundedAlice();
    expect(await store.reviewQueueSize()).toBe(0);
    const auth = anOrder({ id: 'ord_auth_review', cardToken: token, type: 'authorize', amountMinor: 2_000n });
    await applyBuffer([auth]);
    expect(await store.reviewQueueSize()).toBe(1);
    const reviewDue = TEST_NOW_MS + DEFAULT_APPLY_OPTIONS.reviewTimeoutMs;
    expect(await store.dueHolds(reviewDue - 1)).toEqual([]);
    expect(await store.dueHolds(reviewDue)).toEqual([auth.id]);

    // approved in review: an authorization now, due when the authorization hold ends
    const decidedAt = TEST_NOW_MS + 60_000;
    const ws = await store.prefetch([], [auth.id]);
    expect(decideReview(ws, auth.id, 'approve', 'ops', aContext({ nowMs: decidedAt }))).toMatchObject({
      status: 'authorized',
    });
    await store.commit(ws);
    expect(await store.reviewQueue()).toEqual([]);
    expect(await store.reviewQueueSize()).toBe(0);
    expect(await store.dueHolds(reviewDue)).toEqual([]);
    expect(await store.dueHolds(decidedAt + DEFAULT_APPLY_OPTIONS.authorizationHoldMs)).toEqual([auth.id]);
  });

  it('keeps a payout held for review on the merchant account across a reopen, and pays it when approved', async () => {
    const { token, accountId } = await fundedAlice();
    const merchant = await store.openAccount({ id: 'm_payroll', owner: 'Payroll Inc', currency: 'USD' }, OP);
    await store.deposit(merchant.id, 3_000n, OP, TEST_NOW_MS - 60_000);
    const payout = anOrder({
      id: 'ord_payout_review',
      type: 'payout',
      cardToken: token,
      merchant: merchant.id,
      amountMinor: 2_000n,
    });
    expect((await applyBuffer([payout]))[0]?.status).toBe('held');
    await store.close();
    store = await LedgerStore.open(dataDir);
    expect(await store.getAccount(merchant.id)).toMatchObject({ balanceMinor: 3_000n, holdsMinor: 2_000n });
    const ws = await store.prefetch([], [payout.id]);
    expect(decideReview(ws, payout.id, 'approve', 'ops', aContext())).toMatchObject({ status: 'approved' });
    await store.commit(ws);
    expect(await store.getAccount(merchant.id)).toMatchObject({ balanceMinor: 1_000n, holdsMinor: 0n });
    expect((await store.getAccount(accountId))?.balanceMinor).toBe(12_000n);
  });

  it('refuses to commit a working set that would overdraw an account', async () => {
    const { accountId } = await fundedAlice();
    const ws = await store.prefetch([]);
    ws.accounts.set(accountId, (await store.getAccount(accountId))!);
    ws.putAccount({ ...ws.account(accountId)!, balanceMinor: -1n });
    await expect(store.commit(ws)).rejects.toThrow(/overdrawn/);
    expect((await store.getAccount(accountId))?.balanceMinor).toBe(10_000n);
  });
});
