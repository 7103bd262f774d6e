// Stored forms of ledger records: plain JSON, bigints as decimal strings of minor units.

import type { OrderRecord } from '../domain/ledger.ts';
import type { Account, Card, Order, OrderResult, Transfer } from '../domain/types.ts';
import { invariant } from '../domain/ledger.ts';

export interface StoredAccount extends Omit<Account, 'balanceMinor' | 'holdsMinor'> {
  balanceMinor: string;
  holdsMinor: string;
}
export interface StoredTransfer extends Omit<Transfer, 'amountMinor'> {
  amountMinor: string;
}
export interface StoredOrder extends Omit<Order, 'amountMinor'> {
  amountMinor?: string;
}
export interface StoredOrderRecord {
  order: StoredOrder;
  result: OrderResult;
  accountId?: string;
  holdAccountId?: string;
  holdMinor: string;
  open: boolean;
  closedBy?: OrderRecord['closedBy'];
  paidMinor: string;
  refundedMinor: string;
  capturedMinor: string;
  holdExpiresAtMs?: number;
  reviewRule?: string;
}

const bigintOf = (text: string, what: string): bigint => {
  invariant(/^-?\d+$/.test(text), `stored ${what} is not an integer: ${text}`);
  return BigInt(text);
};

export function encodeAccount(a: Account): string {
  const stored: StoredAccount = { ...a, balanceMinor: a.balanceMinor.toString(), holdsMinor: a.holdsMinor.toString() };
  return JSON.stringify(stored);
}
export function decodeAccount(text: string): Account {
  const s = JSON.parse(text) as StoredAccount;
  return { ...s, balanceMinor: bigintOf(s.balanceMinor, 'balance'), holdsMinor: bigintOf(s.holdsMinor, 'holds') };
}

export function encodeTransfer(t: Transfer): string {
  return JSON.stringify({ ...t, amountMinor: t.amountMinor.toString() } satisfies StoredTransfer);
}
export function decodeTransfer(text: string): Transfer {
  const s = JSON.parse(text) as StoredTransfer;
  return { ...s, amountMinor: bigintOf(s.amountMinor, 'transfer amount') };
}

export function storeOrder(o: Order): StoredOrder {
  const { amountMinor, ...rest } = o;
  return amountMinor === undefined ? rest : { ...rest, amountMinor: amountMinor.toString() };
}
export function loadOrder(s: StoredOrder): Order {
  const { amountMinor, ...rest } = s;
  return amountMinor === undefined ? rest : { ...rest, amountMinor: bigintOf(amountMinor, 'order amount') };
}

export function encodeOrderRecord(r: OrderRecord): string {
  const stored: StoredOrderRecord = {
    ...r,
    order: storeOrder(r.order),
    holdMinor: r.holdMinor.toString(),
    paidMinor: r.paidMinor.toString(),
    refundedMinor: r.refundedMinor.toString(),
    capturedMinor: r.capturedMinor.toString(),
  };
  return JSON.stringify(stored);
}
export function decodeOrderRecord(text: string): OrderRecord {
  const s = JSON.parse(text) as StoredOrderRecord;
  return {
    ...s,
    order: loadOrder(s.order),
    holdMinor: bigintOf(s.holdMinor, 'hold'),
    paidMinor: bigintOf(s.paidMinor, 'paid'),
    refundedMinor: bigintOf(s.refundedMinor, 'refunded'),
    capturedMinor: bigintOf(s.capturedMinor, 'captured'),
  };
}

export const encodeCard = (c: Card): string => JSON.stringify(c);
export const decodeCard = (text: string): Card => JSON.parse(text) as Card;

/** Sorts newest first under a plain forward iteration. */
export const newestFirstKey = (atMs: number): string => (9_999_999_999_999 - atMs).toString().padStart(13, '0');
export const timeKey = (atMs: number): string => atMs.toString().padStart(15, '0');
