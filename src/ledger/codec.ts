// Stored forms of ledger records: plain JSON, bigints as decimal strings of minor units.

import type { OrderRecord } from '../domain/apply.ts';
import type { Account, Card, Order, OrderResult, Transfer } from '../domain/types.ts';
import { invariant } from '../domain/apply.ts';

export interface StoredAccount extends Omit<Account, 'balanceMinor' | 'holdsMinor'> {
  balanceMinor: string;
  holdsMinor: string;
}
export interface StoredTransfer extends Omit<Transfer, 'amountMinor'> {
  amountMinor: string;
}
/** panTokens are the validate stage's, resolved before deciding: never stored */
export interface StoredOrder extends Omit<Order, 'amountMinor' | 'panTokens'> {
  amountMinor?: string;
}
/**
 * An order record as stored. Written once per order and kept (rewritten by compaction at every level), so
 * it leaves out what it can say by omission: the result's orderId when it is the order's id, amounts
 * that are zero, `open` when false. Records written before that have them all; both read the same.
 */
export interface StoredOrderRecord {
  order: StoredOrder;
  result: Omit<OrderResult, 'orderId'> & { orderId?: string };
  accountId?: string;
  holdAccountId?: string;
  holdMinor?: string;
  open?: boolean;
  closedBy?: OrderRecord['closedBy'];
  paidMinor?: string;
  refundedMinor?: string;
  capturedMinor?: string;
  holdExpiresAtMs?: number;
  reviewRule?: string;
}

/** Every field of T present (possibly undefined): a literal of this type cannot forget a field added to T. */
type AllKeys<T> = { [K in keyof Required<T>]: T[K] | undefined };

const bigintOf = (text: string, what: string): bigint => {
  invariant(/^-?\d+$/.test(text), `stored ${what} is not an integer: ${text}`);
  return BigInt(text);
};

// The encoders build each stored form as one explicit literal rather than spreading the record: one hidden
// class per record kind and no intermediate copies, on a path every order takes.
// JSON.stringify leaves out fields that are undefined, so the stored text is what a spread would give,
// with the keys in the order written here.

export function encodeAccount(a: Account): string {
  const stored: AllKeys<StoredAccount> = {
    id: a.id,
    currency: a.currency,
    balanceMinor: a.balanceMinor.toString(),
    holdsMinor: a.holdsMinor.toString(),
    owner: a.owner,
    overdraftAllowed: a.overdraftAllowed,
    createdAt: a.createdAt,
    // moves with every transfer: kept in the balance record, never in this one
    historyHead: undefined,
  };
  return JSON.stringify(stored);
}
/** Built as one literal with every field (as the ledger's copies are): accounts read and accounts changed share one shape. */
export function decodeAccount(text: string): Account {
  const s = JSON.parse(text) as StoredAccount;
  return {
    id: s.id,
    currency: s.currency,
    balanceMinor: bigintOf(s.balanceMinor, 'balance'),
    holdsMinor: bigintOf(s.holdsMinor, 'holds'),
    owner: s.owner,
    overdraftAllowed: s.overdraftAllowed,
    createdAt: s.createdAt,
    historyHead: undefined,
  };
}

// An account's balance and holds are kept apart from its record: they change with nearly every order, the
// rest (owner, currency, overdraft, creation time) never does. `balances!<id>` holds
// "<balance> <holds> <head>" in minor units, head being the key of the newest transfer that moved the
// account (see "transfer chains" below; absent until one did); the account record is written once, when the
// account is opened. The balance record, when there is one, is the newer of the two (ledgers written before
// it existed have account records only).

/** The part of an account that moves: "<balanceMinor> <holdsMinor>[ <historyHead>]". */
export const encodeBalance = (a: Pick<Account, 'balanceMinor' | 'holdsMinor' | 'historyHead'>): string =>
  a.historyHead === undefined ? `${a.balanceMinor} ${a.holdsMinor}` : `${a.balanceMinor} ${a.holdsMinor} ${a.historyHead}`;

export function decodeBalance(text: string): Pick<Account, 'balanceMinor' | 'holdsMinor' | 'historyHead'> {
  const parts = text.split(' ');
  invariant(
    parts.length === 2 || (parts.length === 3 && chainSeq(parts[2]!) !== undefined),
    `stored balance is not "<balance> <holds>[ <head>]": ${text}`,
  );
  const balance = { balanceMinor: bigintOf(parts[0]!, 'balance'), holdsMinor: bigintOf(parts[1]!, 'holds') };
  return parts.length === 3 ? { ...balance, historyHead: parts[2]! } : balance;
}

/** An account from its record and its balance record (absent: the record's own balance is current). */
export function decodeAccountWithBalance(accountText: string, balanceText: string | undefined): Account {
  const account = decodeAccount(accountText);
  if (balanceText === undefined) return account;
  const { balanceMinor, holdsMinor, historyHead } = decodeBalance(balanceText);
  account.balanceMinor = balanceMinor;
  account.holdsMinor = holdsMinor;
  if (historyHead !== undefined) account.historyHead = historyHead;
  return account;
}

// Transfer chains. A transfer is stored under a key that grows with each write (`chainKey`), so LevelDB
// appends them instead of merging them into the whole key space at every compaction, and each one names the
// previous transfer of its debit and of its credit account. An account's history is then its chain, walked
// from the head in its balance record, newest first: no index entry per account and transfer, which would
// be two keys an order landing all over the key space. Transfers written before the chains, and the seed's,
// have such entries (`acct!<account>!<time>!<transfer>`); transfersOf reads both.

const CHAIN_KEY_PREFIX = '~';
const CHAIN_SEQ_DIGITS = 16;

/** The key of the `seq`-th chained transfer: after every transfer id, in write order. */
export const chainKey = (seq: number): string => `${CHAIN_KEY_PREFIX}${seq.toString().padStart(CHAIN_SEQ_DIGITS, '0')}`;

/** The sequence number of a chained transfer's key; undefined for any other key. */
export function chainSeq(key: string): number | undefined {
  if (key.length !== CHAIN_SEQ_DIGITS + 1 || !key.startsWith(CHAIN_KEY_PREFIX)) return undefined;
  const seq = Number(key.slice(1));
  return Number.isSafeInteger(seq) ? seq : undefined;
}

/** The lowest chained transfer key (for ranges over them). */
export const CHAIN_KEYS_FROM = CHAIN_KEY_PREFIX;

export interface TransferLinks {
  /** the debit account's transfer before this one */
  prevDebit?: string;
  /** the credit account's transfer before this one */
  prevCredit?: string;
}

export function encodeTransfer(t: Transfer, links: TransferLinks = {}): string {
  const stored: AllKeys<StoredTransfer & TransferLinks> = {
    id: t.id,
    debit: t.debit,
    credit: t.credit,
    amountMinor: t.amountMinor.toString(),
    currency: t.currency,
    kind: t.kind,
    orderId: t.orderId,
    atMs: t.atMs,
    prevDebit: links.prevDebit,
    prevCredit: links.prevCredit,
  };
  return JSON.stringify(stored);
}

/** A stored transfer and its links (none for a transfer stored before the chains). */
export function decodeTransferWithLinks(text: string): { transfer: Transfer; links: TransferLinks } {
  const s = JSON.parse(text) as StoredTransfer & TransferLinks;
  const transfer: Transfer = {
    id: s.id,
    debit: s.debit,
    credit: s.credit,
    amountMinor: bigintOf(s.amountMinor, 'transfer amount'),
    currency: s.currency,
    kind: s.kind,
    orderId: s.orderId,
    atMs: s.atMs,
  };
  const links: TransferLinks = {};
  if (s.prevDebit !== undefined) links.prevDebit = s.prevDebit;
  if (s.prevCredit !== undefined) links.prevCredit = s.prevCredit;
  return { transfer, links };
}

export const decodeTransfer = (text: string): Transfer => decodeTransferWithLinks(text).transfer;

export function storeOrder(o: Order): StoredOrder {
  const stored: AllKeys<StoredOrder> = {
    id: o.id,
    type: o.type,
    cardToken: o.cardToken,
    merchant: o.merchant,
    amountMinor: o.amountMinor?.toString(),
    currency: o.currency,
    ref: o.ref,
    batchId: o.batchId,
    createdAtMs: o.createdAtMs,
    mcc: o.mcc,
    country: o.country,
    // absent in records written before fingerprints: such an order's id answers duplicate, as it did
    fingerprint: o.fingerprint,
  };
  return stored as StoredOrder;
}
export function loadOrder(s: StoredOrder): Order {
  const { amountMinor, ...rest } = s;
  return amountMinor === undefined ? rest : { ...rest, amountMinor: bigintOf(amountMinor, 'order amount') };
}

const nonZero = (minor: bigint): string | undefined => (minor === 0n ? undefined : minor.toString());
const minorOr0 = (text: string | undefined, what: string): bigint => (text === undefined ? 0n : bigintOf(text, what));

/** The result as stored: without its orderId when that is the order's (it is the first key either way). */
function storeResult(result: OrderResult, orderId: string): StoredOrderRecord['result'] {
  if (result.orderId !== orderId) return result;
  const { orderId: _same, ...rest } = result;
  return rest;
}

export function encodeOrderRecord(r: OrderRecord): string {
  const stored: AllKeys<StoredOrderRecord> = {
    order: storeOrder(r.order),
    result: storeResult(r.result, r.order.id),
    accountId: r.accountId,
    holdAccountId: r.holdAccountId,
    holdMinor: nonZero(r.holdMinor),
    open: r.open ? true : undefined,
    closedBy: r.closedBy,
    paidMinor: nonZero(r.paidMinor),
    refundedMinor: nonZero(r.refundedMinor),
    capturedMinor: nonZero(r.capturedMinor),
    holdExpiresAtMs: r.holdExpiresAtMs,
    reviewRule: r.reviewRule,
  };
  return JSON.stringify(stored);
}
export function decodeOrderRecord(text: string): OrderRecord {
  const s = JSON.parse(text) as StoredOrderRecord;
  const record: OrderRecord = {
    ...s,
    order: loadOrder(s.order),
    result: { orderId: s.result.orderId ?? s.order.id, ...s.result },
    open: s.open === true,
    holdMinor: minorOr0(s.holdMinor, 'hold'),
    paidMinor: minorOr0(s.paidMinor, 'paid'),
    refundedMinor: minorOr0(s.refundedMinor, 'refunded'),
    capturedMinor: minorOr0(s.capturedMinor, 'captured'),
  };
  return record;
}

export const encodeCard = (c: Card): string => JSON.stringify(c);
export const decodeCard = (text: string): Card => JSON.parse(text) as Card;

/** Sorts newest first under a plain forward iteration. */
export const newestFirstKey = (atMs: number): string => (9_999_999_999_999 - atMs).toString().padStart(13, '0');
export const timeKey = (atMs: number): string => atMs.toString().padStart(15, '0');
