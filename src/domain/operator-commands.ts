// What an operator command decides before anything is written: whether a card may be registered, a card's
// status changed, an account opened, money posted by hand, a pending posting approved or rejected. Pure: the
// ledger reads the views these take and writes what they return, with its audit values, in one batch.

import { FUNDING_ACCOUNT_ID, WorkingSet, available } from './apply.ts';
import { type AuditValues, shortToken } from './audit.ts';
import { checkPan, panDisplay, parseExpiry } from './cards.ts';
import { type Posting, type PostingKind, checkDecision } from './four-eyes.ts';
import { currencyExponent, formatAmount } from './money.ts';
import type { ServiceErrorCode } from './reasons.ts';
import type { Account, Card, CardBrand, CardHolder, CardStatus, OwnerKind, Transfer } from './types.ts';

/** A command refused: nothing of it is written but its audit entry. */
export interface Refusal {
  ok: false;
  code: ServiceErrorCode;
  message: string;
}
/** A refusal that changes something all the same: the posting's new state is written with the refused entry. */
export interface RecordedRefusal extends Refusal {
  posting: Posting;
  audit: AuditChange;
}
export type Decided<T> = ({ ok: true } & T) | Refusal;
/** What the audit entry of a command says changed. */
export interface AuditChange {
  before?: AuditValues;
  after: AuditValues;
}

const refuse = (code: ServiceErrorCode, message: string): Refusal => ({ ok: false, code, message });
const balanceText = (a: Account): string => formatAmount(a.balanceMinor, a.currency, { grouping: false });
const isoTime = (ms: number): string => new Date(ms).toISOString();

function emptyAccount(id: string, currency: string, owner: Account['owner'], nowMs: number, overdraftAllowed = false): Account {
  return { id, currency, balanceMinor: 0n, holdsMinor: 0n, owner, overdraftAllowed, createdAt: isoTime(nowMs) };
}

// ---- cards ----

/** a card registered without an account or a currency gets an account in this one */
export const DEFAULT_CARD_CURRENCY = 'USD';

/** The cardholder account opened with a card: named after its token, so the same card always names the same account. */
export const cardholderAccountId = (token: string): string => `acct_${token.slice(0, 16)}`;

export interface CardRequest {
  pan: string;
  expiry: string;
  holder: CardHolder;
  /** an existing cardholder account to link; absent: a new one is opened */
  accountId?: string;
  /** the new account's currency @default DEFAULT_CARD_CURRENCY */
  currency?: string;
}

/** A card request that passed the checks needing nothing from the ledger: the PAN checked, the expiry as MM/YY. */
export interface CheckedCardRequest {
  pan: string;
  brand: CardBrand;
  expiry: string;
  holder: CardHolder;
  accountId?: string;
  /** upper case; checked only when a new account is opened */
  currency: string;
}

/** The checks of a card registration that come before any read: the PAN, the expiry (not over at `nowMs`), the holder. */
export function checkCardRequest(input: CardRequest, nowMs: number): Decided<{ request: CheckedCardRequest }> {
  const pan = checkPan(input.pan);
  if (!pan.ok) return refuse('invalid_pan', pan.message);
  const expiry = parseExpiry(input.expiry);
  if (!expiry.ok) return refuse('invalid_expiry', expiry.message);
  const lastMsOfMonth = Date.UTC(expiry.year, expiry.month, 1) - 1;
  if (lastMsOfMonth < nowMs) return refuse('card_expired', `the card expired at the end of ${input.expiry}`);
  const name = input.holder.name.trim();
  if (!name) return refuse('invalid_holder', 'the holder name is empty');
  const holder: CardHolder = { name };
  if (input.holder.email) holder.email = input.holder.email;
  if (input.holder.phone) holder.phone = input.holder.phone;
  const request: CheckedCardRequest = {
    pan: pan.pan,
    brand: pan.brand,
    expiry: `${String(expiry.month).padStart(2, '0')}/${String(expiry.year % 100).padStart(2, '0')}`,
    holder,
    currency: (input.currency ?? DEFAULT_CARD_CURRENCY).toUpperCase(),
  };
  if (input.accountId !== undefined) request.accountId = input.accountId;
  return { ok: true, request };
}

/** What the ledger holds that a card registration depends on. */
export interface CardRegistrationView {
  /** the card registered under this PAN already, under any key version */
  existing: Card | undefined;
  /** the token a new card gets (the current key version's) */
  token: string;
  /** the current key version */
  keyVersion: number;
  /** the account the request names, when it names one */
  account: Account | undefined;
}

export type CardRegistration =
  | { ok: true; created: false; card: Card; audit: AuditChange }
  | { ok: true; created: true; card: Card; newAccount: Account | undefined; audit: AuditChange }
  | Refusal;

/** The same PAN is the same card, never a second one; a new card gets the account it names, or a new one. */
export function decideCardRegistration(request: CheckedCardRequest, view: CardRegistrationView, nowMs: number): CardRegistration {
  if (view.existing) {
    return { ok: true, created: false, card: view.existing, audit: { after: { card: shortToken(view.existing.token), created: false } } };
  }
  const account = accountForCard(request, view, nowMs);
  if (!account.ok) return account;
  const card: Card = {
    token: view.token,
    first6: request.pan.slice(0, 6),
    last4: request.pan.slice(-4),
    brand: request.brand,
    expiry: request.expiry,
    status: 'active',
    holder: request.holder,
    accountId: account.accountId,
    createdAt: isoTime(nowMs),
    keyVersion: view.keyVersion,
  };
  const after = { card: shortToken(card.token), masked: panDisplay(card.first6, card.last4), status: card.status, account: card.accountId, created: true };
  return { ok: true, created: true, card, newAccount: account.newAccount, audit: { after } };
}

/** A card's account: the named one, which must be a cardholder's, or a new one in the currency asked for. */
function accountForCard(request: CheckedCardRequest, view: CardRegistrationView, nowMs: number): Decided<{ accountId: string; newAccount: Account | undefined }> {
  if (request.accountId !== undefined) {
    if (!view.account) return refuse('unknown_account', `no account ${request.accountId}`);
    if (view.account.owner.kind !== 'cardholder') return refuse('invalid_account', `${request.accountId} is not a cardholder account`);
    return { ok: true, accountId: request.accountId, newAccount: undefined };
  }
  if (currencyExponent(request.currency) === undefined) return refuse('unknown_currency', `unknown currency ${request.currency}`);
  const accountId = cardholderAccountId(view.token);
  return { ok: true, accountId, newAccount: emptyAccount(accountId, request.currency, { kind: 'cardholder', name: request.holder.name }, nowMs) };
}

/** A card frozen, unfrozen or closed; a closed card stays closed. */
export function decideCardStatus(card: Card | undefined, token: string, status: CardStatus): Decided<{ card: Card; audit: AuditChange }> {
  if (!card) return refuse('unknown_card', `no card with token ${token}`);
  if (card.status === 'closed' && status !== 'closed') return refuse('card_closed', 'a closed card cannot be reopened');
  const shown = shortToken(token);
  return { ok: true, card: { ...card, status }, audit: { before: { card: shown, status: card.status }, after: { card: shown, status } } };
}

// ---- accounts ----

/** what an account id may be: it is a key and part of subjects and file names */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface AccountRequest {
  /** absent: the next generated id */
  id?: string;
  owner: string;
  /** @default 'merchant' */
  kind?: OwnerKind;
  currency: string;
}

export interface CheckedAccountRequest {
  id?: string;
  owner: string;
  kind: OwnerKind;
  /** upper case, known */
  currency: string;
}

/** The checks of an account opening that come before any read: the currency, the owner, a given id's form. */
export function checkAccountRequest(input: AccountRequest): Decided<{ request: CheckedAccountRequest }> {
  const currency = input.currency.toUpperCase();
  if (currencyExponent(currency) === undefined) return refuse('unknown_currency', `unknown currency ${input.currency}`);
  const owner = input.owner.trim();
  if (!owner) return refuse('invalid_owner', 'the owner is empty');
  const request: CheckedAccountRequest = { owner, kind: input.kind ?? 'merchant', currency };
  if (input.id !== undefined) {
    if (!ACCOUNT_ID_PATTERN.test(input.id)) return refuse('invalid_account', `account id ${input.id} is not 1-64 of [A-Za-z0-9_-]`);
    if (input.id.startsWith(FUNDING_ACCOUNT_ID)) return refuse('invalid_account', "funding accounts are the system's");
    request.id = input.id;
  }
  return { ok: true, request };
}

/** The account under `id` (the request's, or the generated one), unless one exists there already. */
export function decideAccountOpening(
  request: CheckedAccountRequest,
  id: string,
  existing: Account | undefined,
  nowMs: number,
): Decided<{ account: Account; audit: AuditChange }> {
  if (existing) return refuse('account_exists', `account ${id} exists`);
  const account = emptyAccount(id, request.currency, { kind: request.kind, name: request.owner }, nowMs);
  return { ok: true, account, audit: { after: { account: id, currency: account.currency, kind: account.owner.kind, balance: balanceText(account) } } };
}

// ---- money posted by hand ----

/** The system counterparty of manual postings in `currency`: balances then sum to zero. */
export const fundingAccountId = (currency: string): string => `${FUNDING_ACCOUNT_ID}-${currency}`;

/** A currency's funding account, opened by its first posting; the only account that may go below zero. */
export const newFundingAccount = (currency: string, nowMs: number): Account =>
  emptyAccount(fundingAccountId(currency), currency, { kind: 'system', name: 'funding' }, nowMs, true);

/** Whether a manual posting may move money on `account` (undefined: none under `accountId`): a positive amount, not a funding account, a withdrawal no larger than what is available. */
export function checkManualPosting(kind: PostingKind, accountId: string, amountMinor: bigint, account: Account | undefined): Decided<{ account: Account }> {
  if (amountMinor <= 0n) return refuse('invalid_amount', 'the amount must be positive');
  if (!account) return refuse('unknown_account', `no account ${accountId}`);
  if (account.id.startsWith(FUNDING_ACCOUNT_ID)) return refuse('invalid_account', 'cannot post to a funding account');
  if (kind === 'withdrawal' && available(account) < amountMinor) {
    return refuse('insufficient_funds', `available ${available(account)} < ${amountMinor} (minor units)`);
  }
  return { ok: true, account };
}

/** A manual posting's transfer, staged in a working set with the two accounts it moves. */
export interface ManualTransfer {
  ws: WorkingSet;
  transfer: Transfer;
  before: Account;
  after: Account;
}

/**
 * The transfer of a checked manual posting: a deposit from the currency's funding account (`funding`, or a
 * new one when undefined), a withdrawal to it. `seq` numbers it among the postings of its kind.
 */
export function stageManualTransfer(kind: PostingKind, account: Account, funding: Account | undefined, seq: string, amountMinor: bigint, nowMs: number): ManualTransfer {
  const fundingId = fundingAccountId(account.currency);
  const ws = new WorkingSet();
  ws.accounts.set(account.id, account);
  // a new funding account goes through putAccount, which marks it created, so its record is written
  if (funding) ws.accounts.set(fundingId, funding);
  else ws.putAccount(newFundingAccount(account.currency, nowMs));
  const deposit = kind === 'deposit';
  const transfer: Transfer = {
    id: `${deposit ? 'dep' : 'wd'}_${seq}`,
    debit: deposit ? fundingId : account.id,
    credit: deposit ? account.id : fundingId,
    amountMinor,
    currency: account.currency,
    kind,
    orderId: '',
    atMs: nowMs,
  };
  ws.transfer(transfer);
  return { ws, transfer, before: account, after: ws.accounts.get(account.id)! };
}

/** A posting that moved money at once: the balance before and after, and the transfer. */
export function manualPostingAudit(moved: ManualTransfer): AuditChange {
  const account = moved.before.id;
  return {
    before: { account, balance: balanceText(moved.before) },
    after: { account, balance: balanceText(moved.after), transferId: moved.transfer.id },
  };
}

// ---- four eyes: postings that wait for a second operator ----

/** A checked posting above the four-eyes threshold, waiting for a different operator until `lapseMs` from now. */
export function newPosting(
  kind: PostingKind,
  account: Account,
  amountMinor: bigint,
  seq: string,
  madeBy: string,
  nowMs: number,
  lapseMs: number,
): { posting: Posting; audit: AuditChange } {
  const posting: Posting = {
    id: `mp_${seq}`,
    kind,
    accountId: account.id,
    amountMinor,
    currency: account.currency,
    madeBy,
    createdAtMs: nowMs,
    expiresAtMs: nowMs + lapseMs,
    status: 'pending',
  };
  const balance = balanceText(account);
  const after = { account: account.id, balance, posting: posting.id, status: 'pending', expiresAt: isoTime(posting.expiresAtMs) };
  return { posting, audit: { before: { account: account.id, balance }, after } };
}

export type PostingDecision =
  | Refusal
  | RecordedRefusal
  | { ok: true; decision: 'reject'; posting: Posting; audit: AuditChange }
  /** approval may go ahead: the money moves (approvePosting) if the account still takes it */
  | { ok: true; decision: 'approve'; posting: Posting };

const postingValues = (p: Posting): AuditValues => ({
  posting: p.id,
  kind: p.kind,
  account: p.accountId,
  amount: formatAmount(p.amountMinor, p.currency, { grouping: false }),
  madeBy: p.madeBy,
});

/**
 * A checker's decision on a pending posting (undefined: none under `id`). The maker approving is refused
 * (same_operator), as is a posting past its time (posting_lapsed: it is marked lapsed, and that recorded);
 * the maker may reject (withdraw) their own posting.
 */
export function decidePendingPosting(
  posting: Posting | undefined,
  id: string,
  decision: 'approve' | 'reject',
  checkerId: string,
  nowMs: number,
): PostingDecision {
  if (!posting) return refuse('unknown_posting', `no pending posting ${id}`);
  const what = postingValues(posting);
  const refusal = checkDecision(posting, checkerId, nowMs);
  if (refusal === 'posting_lapsed') {
    return {
      ...refuse('posting_lapsed', `posting ${id} lapsed at ${isoTime(posting.expiresAtMs)}; make it again`),
      posting: { ...posting, status: 'lapsed', decidedAtMs: nowMs },
      audit: { before: { ...what, status: 'pending' }, after: { ...what, status: 'lapsed' } },
    };
  }
  if (refusal === 'not_pending') return refuse('not_pending', `posting ${id} is ${posting.status}, not pending`);
  if (refusal === 'same_operator' && decision === 'approve') {
    return refuse('same_operator', `posting ${id} was made by ${posting.madeBy}: a different operator must approve it`);
  }
  if (decision === 'approve') return { ok: true, decision, posting };
  const rejected: Posting = { ...posting, status: 'rejected', decidedBy: checkerId, decidedAtMs: nowMs };
  return { ok: true, decision, posting: rejected, audit: { before: { ...what, status: 'pending' }, after: { ...what, status: 'rejected' } } };
}

/** An approved posting, once its money has moved (`moved`), and the audit values of both. */
export function approvePosting(posting: Posting, checkerId: string, nowMs: number, moved: ManualTransfer): { posting: Posting; audit: AuditChange } {
  const what = postingValues(posting);
  const approved: Posting = { ...posting, status: 'approved', decidedBy: checkerId, decidedAtMs: nowMs, transferId: moved.transfer.id };
  return {
    posting: approved,
    audit: {
      before: { ...what, status: 'pending', balance: balanceText(moved.before) },
      after: { ...what, status: 'approved', balance: balanceText(moved.after), transferId: moved.transfer.id },
    },
  };
}
