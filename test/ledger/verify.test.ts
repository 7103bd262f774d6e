// verifyLedger walks a real ledger: quiet on a healthy one, loud on one corrupted by hand.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyOrder } from '../../src/domain/apply.ts';
import type { Order } from '../../src/domain/types.ts';
import {
  decodeAccount,
  decodeAccountWithBalance,
  chainKey,
  decodeOrderRecord,
  decodeTransfer,
  decodeTransferWithLinks,
  encodeAccount,
  encodeBalance,
  encodeCard,
  encodeTransfer,
  encodeOrderRecord,
} from '../../src/ledger/codec.ts';
import type { LedgerStore } from '../../src/ledger/store.ts';
import { type Violation, verifyLedger } from '../../src/ledger/verify.ts';
import { TEST_NOW_MS, TEST_PANS, anOrder } from '../domain/builders.ts';
import { aCard, aContext, aTempStore, removeDataDir } from './builders.ts';
import { OPERATOR as OP } from './builders.ts';
import { ALLOW, type RiskDecision } from '../../src/domain/risk/decision.ts';

let store: LedgerStore;
let dataDir: string;
let aliceAccount: string;
let authId: string;
let paymentId: string;

const review: RiskDecision = { outcome: 'review', ruleId: 'r1', reason: 'velocity_count' };

/** A small but busy ledger: two cards, deposits, a payment, a capture, a refund, an open authorization, a held order. */
beforeEach(async () => {
  ({ store, dataDir } = await aTempStore());
  const alice = await store.registerCard(
    { pan: TEST_PANS.visa[0], expiry: '12/30', holder: { name: 'Alice' } }, OP,
    TEST_NOW_MS);
  const bob = await store.registerCard(
    { pan: TEST_PANS.jcb[0], expiry: '12/30', holder: { name: 'Bob' }, currency: 'JPY' }, OP,
    TEST_NOW_MS);
  aliceAccount = alice.card.accountId;
  await store.deposit(aliceAccount, 50_000n, OP, TEST_NOW_MS - 1_000);
  await store.deposit(bob.card.accountId, 9_000n, OP, TEST_NOW_MS - 1_000);
  const token = alice.card.token;
  const payment = anOrder({ cardToken: token, amountMinor: 5_000n });
  const auth = anOrder({ cardToken: token, type: 'authorize', amountMinor: 3_000n });
  const openAuth = anOrder({ cardToken: token, type: 'authorize', amountMinor: 1_000n });
  const held = anOrder({ cardToken: token, amountMinor: 700n });
  const yen = anOrder({
    cardToken: bob.card.token,
    currency: 'JPY',
    merchant: 'm_tokyo',
    amountMinor: 1_500n,
  });
  paymentId = payment.id;
  authId = openAuth.id;
  await buffer([payment, auth, openAuth, yen]);
  await buffer([held], review);
  await buffer([
    anOrder({
      type: 'capture',
      ref: auth.id,
      cardToken: undefined,
      merchant: undefined,
      amountMinor: 2_000n,
    }),
    anOrder({
      type: 'refund',
      ref: payment.id,
      cardToken: undefined,
      merchant: undefined,
      amountMinor: 1_000n,
    }),
  ]);
});

afterEach(async () => {
  await store.close();
  await removeDataDir(dataDir);
});

async function buffer(orders: Order[], risk: RiskDecision = ALLOW): Promise<void> {
  const ws = await store.prefetch(orders);
  for (const o of orders) applyOrder(ws, o, risk, aContext());
  await store.commit(ws);
}

const codes = (violations: Violation[]) => [...new Set(violations.map((v) => v.code))].sort();
/** An account as the ledger holds it now: its record and, where there is one, its balance record. */
const storedAccount = async (id: string) => decodeAccountWithBalance((await store.accounts.get(id))!, await store.balances.get(id));
/** Edits an account's balance by hand, where the current balance lives: its balance record. */
/** The ledger key a transfer is stored under (chained transfers are keyed by write order, not by id). */
async function transferKeyOf(id: string): Promise<string> {
  for await (const [key, value] of store.transfers.iterator()) if (decodeTransfer(value).id === id) return key;
  throw new Error(`no transfer ${id}`);
}
const editBalance = (id: string, b: { balanceMinor: bigint; holdsMinor: bigint; historyHead?: string }) => store.balances.put(id, encodeBalance(b));

describe('verifyLedger', () => {
  it('passes a healthy ledger and counts what it walked', async () => {
    const report = await verifyLedger(store);
    expect(report).toEqual({
      ok: true,
      cards: 2,
      accounts: 6, // two cardholders, funding-USD, funding-JPY, m_coffee, m_tokyo
      transfers: 6, // two deposits, two payments, a capture, a refund
      orders: 7,
      audit: { entries: 5, headSeq: 5 }, // audit.start, two card registrations, two deposits
      sumByCurrency: { JPY: '0', USD: '0' },
      violations: [],
    });
  });

  it('reads one snapshot: a deposit written between its walk over the balances and its walk over the transfers is not half seen', async () => {
    // the seam: the write lands right when verify starts reading the transfers (after accounts and balances)
    const transfers = store.transfers;
    const iterator = transfers.iterator.bind(transfers);
    let written: Promise<unknown> | undefined;
    (transfers as { iterator: unknown }).iterator = (options: Parameters<typeof iterator>[0]) => {
      written ??= store.deposit(aliceAccount, 1_234n, OP, TEST_NOW_MS);
      const inner = { it: undefined as ReturnType<typeof iterator> | undefined };
      return {
        async *[Symbol.asyncIterator]() {
          await written;
          inner.it = iterator(options);
          yield* inner.it;
        },
      };
    };
    let report: Awaited<ReturnType<typeof verifyLedger>>;
    try {
      report = await verifyLedger(store);
    } finally {
      (transfers as { iterator: unknown }).iterator = iterator;
    }
    expect(written).toBeDefined();
    expect(report.violations).toEqual([]);
    // the deposit is there, and the next verify sees all of it
    const after = await verifyLedger(store);
    expect(after.violations).toEqual([]);
    expect(after.transfers).toBe(report.transfers + 1);
  });

  it('gives the same report twice: nothing in it depends on when it ran', async () => {
    expect(await verifyLedger(store)).toEqual(await verifyLedger(store));
    await editBalance(aliceAccount, { ...(await storedAccount(aliceAccount)), balanceMinor: 1n });
    expect(await verifyLedger(store)).toEqual(await verifyLedger(store));
  });

});

describe('verifyLedger catches what was changed by hand', () => {
  it('catches a balance edited by hand: the balance no longer matches its transfers, and the sum is not zero', async () => {
    const account = await storedAccount(aliceAccount);
    await editBalance(aliceAccount, { ...account, balanceMinor: account.balanceMinor + 100n });
    const report = await verifyLedger(store);
    expect(report.ok).toBe(false);
    expect(codes(report.violations)).toEqual(['balance_mismatch', 'sum_not_zero']);
    expect(report.sumByCurrency.USD).toBe('100');
    expect(report.violations.find((v) => v.code === 'balance_mismatch')?.message).toContain(aliceAccount);
  });

  it('catches a deleted transfer: both of its accounts no longer add up', async () => {
    await store.transfers.del(await transferKeyOf(`tx_${paymentId}`));
    const report = await verifyLedger(store);
    expect(codes(report.violations)).toEqual(['balance_mismatch']);
    expect(report.violations.map((v) => v.message).join('\n')).toMatch(
      new RegExp(`${aliceAccount}[^]*m_coffee|m_coffee[^]*${aliceAccount}`),
    );
  });

  it('catches a broken transfer chain: a head past the last transfer, a link forward', async () => {
    const account = await storedAccount(aliceAccount);
    await editBalance(aliceAccount, { ...account, historyHead: chainKey(10_000) });
    expect(codes((await verifyLedger(store)).violations)).toEqual(['broken_chain']);
    await editBalance(aliceAccount, account);
    const key = await transferKeyOf(`tx_${paymentId}`);
    const { transfer } = decodeTransferWithLinks((await store.transfers.get(key))!);
    await store.transfers.put(key, encodeTransfer(transfer, { prevDebit: key }));
    expect(codes((await verifyLedger(store)).violations)).toEqual(['broken_chain']);
  });

  it("catches holds that disagree with the open orders: an account's holds edited", async () => {
    const account = await storedAccount(aliceAccount);
    expect(account.holdsMinor).toBe(1_700n);
    await editBalance(aliceAccount, { ...account, holdsMinor: 1_000n });
    expect(codes((await verifyLedger(store)).violations)).toEqual(['holds_mismatch']);
  });

  it('catches an order closed while still holding money', async () => {
    const record = decodeOrderRecord((await store.orders.get(authId))!);
    await store.orders.put(authId, encodeOrderRecord({ ...record, open: false }));
    const report = await verifyLedger(store);
    expect(codes(report.violations)).toEqual(['holds_mismatch']);
    // the closed order itself, its account's total, and the holds list that still names it
    expect(report.violations).toHaveLength(3);
  });

  it('catches a hold missing from the holds list', async () => {
    await store.holds.del(authId);
    const report = await verifyLedger(store);
    expect(codes(report.violations)).toEqual(['holds_mismatch']);
  });

  it('catches an overdrawn account', async () => {
    const account = await storedAccount(aliceAccount);
    await editBalance(aliceAccount, { ...account, holdsMinor: account.balanceMinor + 1n });
    expect(codes((await verifyLedger(store)).violations)).toContain('overdrawn');
  });

});

describe('verifyLedger and the records it reads', () => {
  it('keeps balances in balance records: the account record stays as opened, the balance record moves', async () => {
    const record = decodeAccount((await store.accounts.get(aliceAccount))!);
    const now = await storedAccount(aliceAccount);
    expect(now.balanceMinor).not.toBe(record.balanceMinor);
    expect(await store.balances.get(aliceAccount)).toBe(`${now.balanceMinor} ${now.holdsMinor} ${now.historyHead}`);
    expect((await store.getAccount(aliceAccount))?.balanceMinor).toBe(now.balanceMinor);
  });

  it('reads a ledger written before balance records (account records only) as it was', async () => {
    const before = await verifyLedger(store);
    const current = await storedAccount(aliceAccount);
    // the old layout: the balance in the account record, no balance record
    await store.accounts.put(aliceAccount, encodeAccount(current));
    await store.balances.del(aliceAccount);
    expect(await verifyLedger(store)).toEqual(before);
    const reopened = (await store.listAccounts({ limit: 100 })).find((a) => a.id === aliceAccount);
    // an old ledger has no transfer chains: the head lived in the balance record
    const { historyHead: _head, ...asWritten } = current;
    expect(reopened).toEqual(asWritten);
  });

  it('catches a balance record of no account, and an unreadable one', async () => {
    await store.balances.put('acct_nobody', '100 0');
    await store.balances.put(aliceAccount, '12.5 0');
    const report = await verifyLedger(store);
    // (the unreadable balance leaves the account at its record's balance, which then mismatches too)
    expect(codes(report.violations)).toContain('unreadable');
    expect(report.violations.map((v) => v.message)).toContain('balance record acct_nobody belongs to no account');
    expect(report.violations.map((v) => v.message).join('\n')).toContain(`balance of account ${aliceAccount}`);
  });

  it('catches a card without its account, an unreadable record and a result filed under another id', async () => {
    await store.cards.put(
      'f'.repeat(64),
      encodeCard(aCard({ token: 'f'.repeat(64), accountId: 'acct_gone' })),
    );
    await store.accounts.put('acct_garbage', '{"id":"acct_garbage","balanceMinor":"12.5"}');
    await store.orders.put('ord_elsewhere', (await store.orders.get(paymentId))!);
    const report = await verifyLedger(store);
    expect(codes(report.violations)).toEqual(['bad_result', 'orphan_card', 'unreadable']);
  });
});
