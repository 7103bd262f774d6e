// Stored forms of ledger records: plain JSON, bigints as decimal strings of minor units.

import type { OrderRecord } from '../domain/apply.ts';
import { decimalLength, writeDigits } from '../domain/digits.ts';
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

// ---- the JSON text of the records every order writes ----

/** longer text goes the general way: the writer's buffer never grows */
const TEXT_BYTES_MAX = 16 * 1024;

/**
 * Writes JSON into one reused buffer and reads it out as one flat string. JSON.stringify builds its text in
 * parts, which LevelDB's binding copies into one string again before it reads the bytes; here the text
 * itself is the only allocation, and no stored-form object is made first. It writes only what it writes
 * exactly as JSON.stringify does: strings of characters up to U+00FF that JSON leaves as they are, finite
 * numbers, booleans. Anything else makes `text()` answer undefined, and the caller writes that record with
 * JSON.stringify. One at a time: begin, write, text, with nothing in between.
 */
class TextWriter {
  private readonly bytes = Buffer.allocUnsafe(TEXT_BYTES_MAX);
  private at = 0;
  /** false once something was met that this writer would not write as the general way does */
  private exact = true;
  /** the object being written has no member yet */
  private first = true;
  /** a character beyond ASCII was written: the bytes are latin1, not the UTF-8 LevelDB stores */
  private wide = false;

  begin(): this {
    this.at = 0;
    this.exact = true;
    this.first = true;
    this.wide = false;
    return this;
  }

  /** the text written, or undefined when only the general way writes it exactly */
  text(): string | undefined {
    return this.exact ? this.bytes.toString('latin1', 0, this.at) : undefined;
  }

  /** the text as UTF-8 in the writer's own buffer (valid until the next begin); else the text, as `text()` */
  value(): Uint8Array | string | undefined {
    if (this.exact && !this.wide) return new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.at);
    return this.text();
  }

  open(): this {
    this.byte(0x7b); // {
    this.first = true;
    return this;
  }

  close(): this {
    this.byte(0x7d); // }
    this.first = false;
    return this;
  }

  /** `"name":` in the object being written */
  key(name: string): this {
    if (!this.first) this.byte(0x2c); // ,
    this.first = false;
    this.quoted(name);
    this.byte(0x3a); // :
    return this;
  }

  /** a member as JSON.stringify writes it: left out when undefined */
  member(name: string, value: unknown): this {
    if (value === undefined) return this;
    this.key(name);
    if (typeof value === 'string') this.quoted(value);
    else if (typeof value === 'number') this.number(value);
    else if (typeof value === 'boolean') this.chars(value ? 'true' : 'false');
    else this.exact = false;
    return this;
  }

  /** an amount in minor units, as a decimal string (bigint's toString) */
  amount(name: string, value: bigint): this {
    this.key(name);
    this.byte(0x22);
    if (typeof value !== 'bigint') this.exact = false;
    else {
      // exact when safe: a bigint beyond 2^53 - 1 converts to a number at or beyond 2^53
      const safe = Number(value);
      if (Number.isSafeInteger(safe)) this.digits(safe);
      else this.chars(value.toString());
    }
    this.byte(0x22);
    return this;
  }

  private number(n: number): void {
    if (Number.isSafeInteger(n)) this.digits(n);
    // JSON.stringify writes any other finite number as String does; not a finite one
    else if (Number.isFinite(n)) this.chars(String(n));
    else this.exact = false;
  }

  private quoted(s: string): void {
    this.byte(0x22);
    this.chars(s);
    this.byte(0x22);
  }

  /** stops at what JSON.stringify escapes (controls, quote, backslash) and at what one byte cannot hold */
  private chars(s: string): void {
    const length = s.length;
    if (!this.exact || this.at + length > TEXT_BYTES_MAX) {
      this.exact = false;
      return;
    }
    const bytes = this.bytes;
    let at = this.at;
    for (let i = 0; i < length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff || c < 0x20 || c === 0x22 || c === 0x5c) {
        this.exact = false;
        return;
      }
      if (c > 0x7f) this.wide = true;
      bytes[at++] = c;
    }
    this.at = at;
  }

  /** a safe integer's digits */
  private digits(n: number): void {
    const magnitude = n < 0 ? -n : n;
    if (this.at + decimalLength(magnitude) + 1 > TEXT_BYTES_MAX) {
      this.exact = false;
      return;
    }
    if (n < 0) this.bytes[this.at++] = 0x2d; // -
    this.at = writeDigits(this.bytes, this.at, magnitude);
  }

  private byte(b: number): void {
    if (this.at < TEXT_BYTES_MAX) this.bytes[this.at++] = b;
    else this.exact = false;
  }
}

const text = new TextWriter();

// The general way, for what the writer leaves: each stored form as one explicit literal, one hidden class
// per record kind. JSON.stringify leaves out fields that are undefined, so the stored text is what a spread
// would give, with the keys in the order written here (and in the writer's).

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
  writeTransfer(t, links);
  return text.text() ?? transferText(t, links);
}
/** encodeTransfer's text for a LevelDB batch: as UTF-8 bytes valid until the next encode (see TextWriter.value) */
export function transferValue(t: Transfer, links: TransferLinks): Uint8Array | string {
  writeTransfer(t, links);
  return text.value() ?? transferText(t, links);
}
function writeTransfer(t: Transfer, links: TransferLinks): void {
  text.begin().open().member('id', t.id).member('debit', t.debit).member('credit', t.credit).amount('amountMinor', t.amountMinor);
  text.member('currency', t.currency).member('kind', t.kind).member('orderId', t.orderId).member('atMs', t.atMs);
  text.member('prevDebit', links.prevDebit).member('prevCredit', links.prevCredit).close();
}
function transferText(t: Transfer, links: TransferLinks): string {
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
  writeOrderRecord(r);
  return text.text() ?? orderRecordText(r);
}
/** encodeOrderRecord's text for a LevelDB batch: as UTF-8 bytes valid until the next encode (see TextWriter.value) */
export function orderRecordValue(r: OrderRecord): Uint8Array | string {
  writeOrderRecord(r);
  return text.value() ?? orderRecordText(r);
}
function writeOrderRecord(r: OrderRecord): void {
  text.begin().open().key('order');
  writeOrder(r.order);
  text.key('result').open();
  writeResult(r.result, r.order.id);
  text.close().member('accountId', r.accountId).member('holdAccountId', r.holdAccountId);
  if (r.holdMinor !== 0n) text.amount('holdMinor', r.holdMinor);
  if (r.open) text.member('open', true);
  text.member('closedBy', r.closedBy);
  if (r.paidMinor !== 0n) text.amount('paidMinor', r.paidMinor);
  if (r.refundedMinor !== 0n) text.amount('refundedMinor', r.refundedMinor);
  if (r.capturedMinor !== 0n) text.amount('capturedMinor', r.capturedMinor);
  text.member('holdExpiresAtMs', r.holdExpiresAtMs).member('reviewRule', r.reviewRule).close();
}

/** storeOrder's members, in its order */
function writeOrder(o: Order): void {
  text.open().member('id', o.id).member('type', o.type).member('cardToken', o.cardToken).member('merchant', o.merchant);
  if (o.amountMinor !== undefined && o.amountMinor !== null) text.amount('amountMinor', o.amountMinor);
  text.member('currency', o.currency).member('ref', o.ref).member('batchId', o.batchId).member('createdAtMs', o.createdAtMs);
  text.member('mcc', o.mcc).member('country', o.country).member('fingerprint', o.fingerprint).close();
}

/** storeResult's members: the result's own, in their order, without the orderId that is the order's */
function writeResult(result: OrderResult, orderId: string): void {
  for (const name in result) {
    if (name === 'orderId' && result.orderId === orderId) continue;
    if (Object.hasOwn(result, name)) text.member(name, result[name as keyof OrderResult]);
  }
}

function orderRecordText(r: OrderRecord): string {
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

/** An open hold's record (authorizations and orders held for review). */
export function encodeHold(accountId: string, amountMinor: bigint, expiresAtMs: number, status: string): string {
  text.begin().open().member('accountId', accountId).amount('amountMinor', amountMinor);
  text.member('expiresAtMs', expiresAtMs).member('status', status).close();
  return text.text() ?? JSON.stringify({ accountId, amountMinor: amountMinor.toString(), expiresAtMs, status });
}

/** Sorts newest first under a plain forward iteration. */
export const newestFirstKey = (atMs: number): string => (9_999_999_999_999 - atMs).toString().padStart(13, '0');
/** 15 digits, zeros in front; a time in ms from 2001 to 2286 has 13 (padStart makes a filler and a copy to add two) */
export const timeKey = (atMs: number): string =>
  Number.isInteger(atMs) && atMs >= 1e12 && atMs < 1e13 ? `00${atMs}` : atMs.toString().padStart(15, '0');
