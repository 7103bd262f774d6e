// Operator commands' decisions, without a ledger: each refusal with its code and message, in the order the
// checks run, and what a command that goes ahead writes and says in the audit trail.
import { describe, expect, it } from 'vitest';
import type { Posting } from '../../src/domain/four-eyes.ts';
import {
  type CardRegistrationView,
  type CheckedCardRequest,
  approvePosting,
  cardholderAccountId,
  checkAccountRequest,
  checkCardRequest,
  checkManualPosting,
  decideAccountOpening,
  decideCardRegistration,
  decideCardStatus,
  decidePendingPosting,
  manualPostingAudit,
  newFundingAccount,
  newPosting,
  stageManualTransfer,
} from '../../src/domain/operator-commands.ts';
import type { Account, Card } from '../../src/domain/types.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS, TEST_PANS } from './builders.ts';

const NOW_ISO = new Date(TEST_NOW_MS).toISOString();
const VISA = TEST_PANS.visa[0];

const account = (overrides: Partial<Account> = {}): Account => ({
  id: 'acct_alice',
  currency: 'USD',
  balanceMinor: 0n,
  holdsMinor: 0n,
  owner: { kind: 'cardholder', name: 'Alice' },
  overdraftAllowed: false,
  createdAt: NOW_ISO,
  ...overrides,
});

const card = (overrides: Partial<Card> = {}): Card => ({
  token: TEST_CARD_TOKEN,
  first6: '411111',
  last4: '1111',
  brand: 'visa',
  expiry: '12/30',
  status: 'active',
  holder: { name: 'Alice' },
  accountId: 'acct_alice',
  createdAt: NOW_ISO,
  ...overrides,
});

const checkedCard = (overrides: Partial<Parameters<typeof checkCardRequest>[0]> = {}): CheckedCardRequest => {
  const checked = checkCardRequest({ pan: VISA, expiry: '12/30', holder: { name: 'Alice' }, ...overrides }, TEST_NOW_MS);
  if (!checked.ok) throw new Error(checked.message);
  return checked.request;
};

const view = (overrides: Partial<CardRegistrationView> = {}): CardRegistrationView => ({
  existing: undefined,
  token: TEST_CARD_TOKEN,
  keyVersion: 2,
  account: undefined,
  ...overrides,
});

describe('checking a card registration before any read', () => {
  it('refuses, in this order: a bad PAN, a malformed expiry, an expiry that is over, an empty holder', () => {
    const request = { pan: '4111 1111 1111 1112', expiry: '13/30', holder: { name: ' ' } };
    expect(checkCardRequest(request, TEST_NOW_MS)).toMatchObject({ ok: false, code: 'invalid_pan', message: 'the PAN fails the Luhn check' });
    expect(checkCardRequest({ ...request, pan: VISA }, TEST_NOW_MS)).toMatchObject({ ok: false, code: 'invalid_expiry' });
    expect(checkCardRequest({ ...request, pan: VISA, expiry: '10/26' }, TEST_NOW_MS)).toEqual({
      ok: false,
      code: 'card_expired',
      message: 'the card expired at the end of 10/26',
    });
    expect(checkCardRequest({ ...request, pan: VISA, expiry: '12/30' }, TEST_NOW_MS)).toEqual({ ok: false, code: 'invalid_holder', message: 'the holder name is empty' });
  });

  it('takes a card in its expiry month up to its last millisecond, not one after', () => {
    const endOfNovember = Date.UTC(2026, 11, 1) - 1;
    expect(checkCardRequest({ pan: VISA, expiry: '11/26', holder: { name: 'A' } }, endOfNovember).ok).toBe(true);
    expect(checkCardRequest({ pan: VISA, expiry: '11/26', holder: { name: 'A' } }, endOfNovember + 1)).toMatchObject({ code: 'card_expired' });
  });

  it('normalizes what it passes on: the PAN digits, MM/YY, the trimmed holder with email and phone, the currency in upper case (USD by default)', () => {
    const checked = checkCardRequest({ pan: '4111-1111 1111-1111', expiry: '03/2031', holder: { name: ' Ada ', email: 'a@x', phone: '' }, currency: 'eur', accountId: 'acct_a' }, TEST_NOW_MS);
    expect(checked).toEqual({
      ok: true,
      request: { pan: VISA, brand: 'visa', expiry: '03/31', holder: { name: 'Ada', email: 'a@x' }, currency: 'EUR', accountId: 'acct_a' },
    });
    expect(checkedCard().currency).toBe('USD');
    expect(checkedCard()).not.toHaveProperty('accountId');
  });
});

describe('deciding a card registration', () => {
  it('answers the card registered under the PAN already, whatever else the request says, and creates nothing', () => {
    const existing = card({ token: 'f'.repeat(64) });
    const outcome = decideCardRegistration(checkedCard({ currency: 'XXX', accountId: 'acct_nobody' }), view({ existing }), TEST_NOW_MS);
    expect(outcome).toEqual({ ok: true, created: false, card: existing, audit: { after: { card: `${'f'.repeat(12)}…`, created: false } } });
  });

  it('opens a cardholder account named after the token, in the currency asked for, for a new card', () => {
    const outcome = decideCardRegistration(checkedCard({ currency: 'eur' }), view(), TEST_NOW_MS);
    if (!outcome.ok || !outcome.created) throw new Error('expected a new card');
    const accountId = cardholderAccountId(TEST_CARD_TOKEN);
    expect(accountId).toBe(`acct_${TEST_CARD_TOKEN.slice(0, 16)}`);
    expect(outcome.newAccount).toEqual(account({ id: accountId, currency: 'EUR' }));
    expect(outcome.card).toEqual(card({ accountId, expiry: '12/30', keyVersion: 2 }));
    expect(outcome.audit).toEqual({
      after: { card: `${TEST_CARD_TOKEN.slice(0, 12)}…`, masked: '411111******1111', status: 'active', account: accountId, created: true },
    });
  });

  it('links a new card to the cardholder account it names, and opens none', () => {
    const outcome = decideCardRegistration(checkedCard({ accountId: 'acct_alice' }), view({ account: account() }), TEST_NOW_MS);
    expect(outcome).toMatchObject({ ok: true, created: true, newAccount: undefined, card: { accountId: 'acct_alice' } });
  });

  it('refuses an account it names that does not exist or is no cardholder\'s, and a currency it does not know', () => {
    expect(decideCardRegistration(checkedCard({ accountId: 'acct_x' }), view(), TEST_NOW_MS)).toEqual({ ok: false, code: 'unknown_account', message: 'no account acct_x' });
    const merchant = account({ id: 'm_shop', owner: { kind: 'merchant', name: 'shop' } });
    expect(decideCardRegistration(checkedCard({ accountId: 'm_shop' }), view({ account: merchant }), TEST_NOW_MS)).toEqual({
      ok: false,
      code: 'invalid_account',
      message: 'm_shop is not a cardholder account',
    });
    expect(decideCardRegistration(checkedCard({ currency: 'xyz' }), view(), TEST_NOW_MS)).toEqual({ ok: false, code: 'unknown_currency', message: 'unknown currency XYZ' });
  });
});

describe('changing a card\'s status', () => {
  it('freezes, unfreezes and closes, with the status before and after', () => {
    for (const [from, to] of [['active', 'frozen'], ['frozen', 'active'], ['active', 'closed'], ['closed', 'closed']] as const) {
      const outcome = decideCardStatus(card({ status: from }), TEST_CARD_TOKEN, to);
      const shown = `${TEST_CARD_TOKEN.slice(0, 12)}…`;
      expect(outcome).toEqual({ ok: true, card: card({ status: to }), audit: { before: { card: shown, status: from }, after: { card: shown, status: to } } });
    }
  });

  it('refuses an unknown card, and reopening a closed one', () => {
    expect(decideCardStatus(undefined, 'abc', 'frozen')).toEqual({ ok: false, code: 'unknown_card', message: 'no card with token abc' });
    for (const status of ['active', 'frozen'] as const) {
      expect(decideCardStatus(card({ status: 'closed' }), TEST_CARD_TOKEN, status)).toEqual({ ok: false, code: 'card_closed', message: 'a closed card cannot be reopened' });
    }
  });
});

describe('opening an account', () => {
  it('refuses, in this order: an unknown currency, an empty owner, a malformed id, a funding account id', () => {
    expect(checkAccountRequest({ owner: '', currency: 'abc', id: '!' })).toEqual({ ok: false, code: 'unknown_currency', message: 'unknown currency abc' });
    expect(checkAccountRequest({ owner: '  ', currency: 'usd', id: '!' })).toEqual({ ok: false, code: 'invalid_owner', message: 'the owner is empty' });
    expect(checkAccountRequest({ owner: 'Shop', currency: 'usd', id: 'a b' })).toEqual({ ok: false, code: 'invalid_account', message: 'account id a b is not 1-64 of [A-Za-z0-9_-]' });
    expect(checkAccountRequest({ owner: 'Shop', currency: 'usd', id: 'x'.repeat(65) })).toMatchObject({ code: 'invalid_account' });
    expect(checkAccountRequest({ owner: 'Shop', currency: 'usd', id: 'funding-USD' })).toEqual({ ok: false, code: 'invalid_account', message: "funding accounts are the system's" });
  });

  it('passes on the currency in upper case, the trimmed owner, a merchant unless told otherwise, and the id only when given', () => {
    expect(checkAccountRequest({ owner: ' Shop ', currency: 'jpy' })).toEqual({ ok: true, request: { owner: 'Shop', kind: 'merchant', currency: 'JPY' } });
    expect(checkAccountRequest({ owner: 'Ann', currency: 'EUR', kind: 'cardholder', id: 'acct_ann' })).toEqual({
      ok: true,
      request: { owner: 'Ann', kind: 'cardholder', currency: 'EUR', id: 'acct_ann' },
    });
  });

  it('opens an empty account under the id, unless one exists there', () => {
    const request = { owner: 'Shop', kind: 'merchant' as const, currency: 'JPY' };
    expect(decideAccountOpening(request, 'm_shop', account({ id: 'm_shop' }), TEST_NOW_MS)).toEqual({ ok: false, code: 'account_exists', message: 'account m_shop exists' });
    expect(decideAccountOpening(request, 'm_shop', undefined, TEST_NOW_MS)).toEqual({
      ok: true,
      account: account({ id: 'm_shop', currency: 'JPY', owner: { kind: 'merchant', name: 'Shop' } }),
      audit: { after: { account: 'm_shop', currency: 'JPY', kind: 'merchant', balance: '0' } },
    });
  });
});

describe('posting money by hand', () => {
  it('refuses, in this order: an amount not above zero, an unknown account, a funding account, a withdrawal beyond what is available', () => {
    expect(checkManualPosting('deposit', 'acct_x', 0n, undefined)).toEqual({ ok: false, code: 'invalid_amount', message: 'the amount must be positive' });
    expect(checkManualPosting('deposit', 'acct_x', -5n, account())).toMatchObject({ code: 'invalid_amount' });
    expect(checkManualPosting('deposit', 'acct_x', 5n, undefined)).toEqual({ ok: false, code: 'unknown_account', message: 'no account acct_x' });
    expect(checkManualPosting('deposit', 'funding-USD', 5n, newFundingAccount('USD', TEST_NOW_MS))).toEqual({
      ok: false,
      code: 'invalid_account',
      message: 'cannot post to a funding account',
    });
    const held = account({ balanceMinor: 1_000n, holdsMinor: 300n });
    expect(checkManualPosting('withdrawal', 'acct_alice', 701n, held)).toEqual({ ok: false, code: 'insufficient_funds', message: 'available 700 < 701 (minor units)' });
    expect(checkManualPosting('withdrawal', 'acct_alice', 700n, held)).toEqual({ ok: true, account: held });
    expect(checkManualPosting('deposit', 'acct_alice', 10n ** 12n, held)).toEqual({ ok: true, account: held });
  });

  it('deposits from the currency\'s funding account, opening it with the first deposit; balances sum to zero', () => {
    const moved = stageManualTransfer('deposit', account(), undefined, '000001', 2_500n, TEST_NOW_MS);
    expect(moved.transfer).toEqual({ id: 'dep_000001', debit: 'funding-USD', credit: 'acct_alice', amountMinor: 2_500n, currency: 'USD', kind: 'deposit', orderId: '', atMs: TEST_NOW_MS });
    expect([...moved.ws.createdAccounts]).toEqual(['funding-USD']);
    expect(moved.ws.accounts.get('funding-USD')).toMatchObject({ balanceMinor: -2_500n, overdraftAllowed: true, owner: { kind: 'system', name: 'funding' } });
    expect(moved.after.balanceMinor).toBe(2_500n);
    expect(manualPostingAudit(moved)).toEqual({
      before: { account: 'acct_alice', balance: '0.00' },
      after: { account: 'acct_alice', balance: '25.00', transferId: 'dep_000001' },
    });
  });

  it('withdraws to an existing funding account, which is not opened again', () => {
    const funding = { ...newFundingAccount('USD', TEST_NOW_MS), balanceMinor: -1_000n };
    const moved = stageManualTransfer('withdrawal', account({ balanceMinor: 1_000n }), funding, '000007', 400n, TEST_NOW_MS);
    expect(moved.transfer).toMatchObject({ id: 'wd_000007', debit: 'acct_alice', credit: 'funding-USD', kind: 'withdrawal' });
    expect(moved.ws.createdAccounts.size).toBe(0);
    expect(moved.ws.accounts.get('funding-USD')?.balanceMinor).toBe(-600n);
    expect(moved.after.balanceMinor).toBe(600n);
  });
});

describe('four eyes', () => {
  const pending = (overrides: Partial<Posting> = {}): Posting => ({
    id: 'mp_000001',
    kind: 'deposit',
    accountId: 'acct_alice',
    amountMinor: 2_000_000n,
    currency: 'USD',
    madeBy: 'alice',
    createdAtMs: TEST_NOW_MS,
    expiresAtMs: TEST_NOW_MS + 60_000,
    status: 'pending',
    ...overrides,
  });
  const what = { posting: 'mp_000001', kind: 'deposit', account: 'acct_alice', amount: '20000.00', madeBy: 'alice' };

  it('makes a pending posting that lapses after its time, the maker named', () => {
    expect(newPosting('deposit', account({ balanceMinor: 100n }), 2_000_000n, '000001', 'alice', TEST_NOW_MS, 60_000)).toEqual({
      posting: pending(),
      audit: {
        before: { account: 'acct_alice', balance: '1.00' },
        after: { account: 'acct_alice', balance: '1.00', posting: 'mp_000001', status: 'pending', expiresAt: new Date(TEST_NOW_MS + 60_000).toISOString() },
      },
    });
  });

  it('refuses an unknown posting, one decided already, and the maker as checker', () => {
    expect(decidePendingPosting(undefined, 'mp_9', 'approve', 'bob', TEST_NOW_MS)).toEqual({ ok: false, code: 'unknown_posting', message: 'no pending posting mp_9' });
    expect(decidePendingPosting(pending({ status: 'approved' }), 'mp_000001', 'reject', 'bob', TEST_NOW_MS)).toEqual({
      ok: false,
      code: 'not_pending',
      message: 'posting mp_000001 is approved, not pending',
    });
    expect(decidePendingPosting(pending(), 'mp_000001', 'approve', 'alice', TEST_NOW_MS)).toEqual({
      ok: false,
      code: 'same_operator',
      message: 'posting mp_000001 was made by alice: a different operator must approve it',
    });
  });

  it('lapses a posting past its time whoever decides it, and says what to record', () => {
    for (const decision of ['approve', 'reject'] as const) {
      const outcome = decidePendingPosting(pending(), 'mp_000001', decision, 'bob', TEST_NOW_MS + 60_001);
      expect(outcome).toEqual({
        ok: false,
        code: 'posting_lapsed',
        message: `posting mp_000001 lapsed at ${new Date(TEST_NOW_MS + 60_000).toISOString()}; make it again`,
        posting: pending({ status: 'lapsed', decidedAtMs: TEST_NOW_MS + 60_001 }),
        audit: { before: { ...what, status: 'pending' }, after: { ...what, status: 'lapsed' } },
      });
    }
    expect(decidePendingPosting(pending(), 'mp_000001', 'approve', 'bob', TEST_NOW_MS + 60_000)).toMatchObject({ ok: true, decision: 'approve' });
  });

  it('lets the maker or another operator reject, and another approve', () => {
    for (const checker of ['alice', 'bob']) {
      expect(decidePendingPosting(pending(), 'mp_000001', 'reject', checker, TEST_NOW_MS)).toEqual({
        ok: true,
        decision: 'reject',
        posting: pending({ status: 'rejected', decidedBy: checker, decidedAtMs: TEST_NOW_MS }),
        audit: { before: { ...what, status: 'pending' }, after: { ...what, status: 'rejected' } },
      });
    }
    expect(decidePendingPosting(pending(), 'mp_000001', 'approve', 'bob', TEST_NOW_MS)).toEqual({ ok: true, decision: 'approve', posting: pending() });
  });

  it('records an approval with its transfer and the balance it moved', () => {
    const moved = stageManualTransfer('deposit', account(), undefined, '000003', 2_000_000n, TEST_NOW_MS);
    expect(approvePosting(pending(), 'bob', TEST_NOW_MS, moved)).toEqual({
      posting: pending({ status: 'approved', decidedBy: 'bob', decidedAtMs: TEST_NOW_MS, transferId: 'dep_000003' }),
      audit: {
        before: { ...what, status: 'pending', balance: '0.00' },
        after: { ...what, status: 'approved', balance: '20000.00', transferId: 'dep_000003' },
      },
    });
  });
});
