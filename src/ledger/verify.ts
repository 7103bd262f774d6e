// Walks the whole ledger and checks its invariants; the report is deterministic (no timings, sorted).

import { RESULT_STATUSES } from '../domain/types.ts';
import { chainSeq, decodeAccount, decodeBalance, decodeCard, decodeOrderRecord, decodeTransferWithLinks } from './codec.ts';
import type { LedgerStore } from './store.ts';

export interface Violation {
  code:
    | 'sum_not_zero'
    | 'balance_mismatch'
    | 'overdrawn'
    | 'holds_mismatch'
    | 'bad_result'
    | 'orphan_transfer'
    | 'orphan_card'
    | 'transfer_currency'
    | 'broken_chain'
    | 'unreadable';
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  cards: number;
  accounts: number;
  transfers: number;
  orders: number;
  /** sum of balances per currency, in minor units: all must be "0" */
  sumByCurrency: Record<string, string>;
  violations: Violation[];
}

const VIOLATIONS_MAX = 1000;

/**
 * Verifies the ledger as of one moment: every read goes through one LevelDB snapshot taken when it starts,
 * so buffers written while it walks (a running processor) are either wholly in what it reads or wholly
 * not, and never make a true ledger look broken (each sublevel read through its own iterator saw a
 * different moment, and verify through the service once reported a false violation under traffic).
 */
export async function verifyLedger(store: LedgerStore): Promise<VerifyReport> {
  const snapshot = store.db.snapshot();
  try {
    return await verifySnapshot(store, snapshot);
  } finally {
    await snapshot.close();
  }
}

async function verifySnapshot(store: LedgerStore, snapshot: ReturnType<LedgerStore['db']['snapshot']>): Promise<VerifyReport> {
  const at = { snapshot };
  const violations: Violation[] = [];
  const add = (v: Violation): void => {
    if (violations.length < VIOLATIONS_MAX) violations.push(v);
  };
  const balances = new Map<string, { currency: string; balance: bigint; holds: bigint; overdraft: boolean; head?: string }>();
  let accounts = 0;
  for await (const [key, value] of store.accounts.iterator(at)) {
    accounts++;
    try {
      const a = decodeAccount(value);
      if (a.id !== key) add({ code: 'unreadable', message: `account key ${key} holds account ${a.id}` });
      balances.set(key, { currency: a.currency, balance: a.balanceMinor, holds: a.holdsMinor, overdraft: a.overdraftAllowed });
    } catch (error) {
      add({ code: 'unreadable', message: `account ${key}: ${(error as Error).message}` });
    }
  }
  // the balance records, where there are any, are the current balances
  for await (const [key, value] of store.balances.iterator(at)) {
    const account = balances.get(key);
    if (!account) {
      add({ code: 'unreadable', message: `balance record ${key} belongs to no account` });
      continue;
    }
    try {
      const { balanceMinor, holdsMinor, historyHead } = decodeBalance(value);
      account.balance = balanceMinor;
      account.holds = holdsMinor;
      if (historyHead !== undefined) account.head = historyHead;
    } catch (error) {
      add({ code: 'unreadable', message: `balance of account ${key}: ${(error as Error).message}` });
    }
  }

  const fromTransfers = new Map<string, bigint>();
  let transfers = 0;
  let lastChainSeq = 0;
  for await (const [key, value] of store.transfers.iterator(at)) {
    transfers++;
    try {
      const { transfer: t, links } = decodeTransferWithLinks(value);
      // a chained transfer links only to earlier ones: the chains end, and have no loops
      const seq = chainSeq(key);
      if (seq !== undefined) lastChainSeq = Math.max(lastChainSeq, seq);
      for (const link of [links.prevDebit, links.prevCredit]) {
        if (link === undefined) continue;
        const linked = chainSeq(link);
        if (seq === undefined || linked === undefined || linked >= seq) {
          add({ code: 'broken_chain', message: `transfer ${key} links to ${link}, which is not an earlier chained transfer` });
        }
      }
      const debit = balances.get(t.debit);
      const credit = balances.get(t.credit);
      if (!debit || !credit) {
        add({ code: 'orphan_transfer', message: `transfer ${key} names an unknown account` });
        continue;
      }
      if (debit.currency !== t.currency || credit.currency !== t.currency) {
        add({ code: 'transfer_currency', message: `transfer ${key} in ${t.currency} between ${debit.currency} and ${credit.currency}` });
      }
      if (t.amountMinor <= 0n) add({ code: 'unreadable', message: `transfer ${key} has a non-positive amount` });
      fromTransfers.set(t.debit, (fromTransfers.get(t.debit) ?? 0n) - t.amountMinor);
      fromTransfers.set(t.credit, (fromTransfers.get(t.credit) ?? 0n) + t.amountMinor);
    } catch (error) {
      add({ code: 'unreadable', message: `transfer ${key}: ${(error as Error).message}` });
    }
  }

  for (const [id, { head }] of balances) {
    if (head !== undefined && (chainSeq(head) ?? Number.POSITIVE_INFINITY) > lastChainSeq) {
      add({ code: 'broken_chain', message: `account ${id}: its history starts at ${head}, after the last chained transfer` });
    }
  }

  const holdsFromOrders = new Map<string, bigint>();
  let orders = 0;
  const statuses = new Set<string>(RESULT_STATUSES);
  for await (const [key, value] of store.orders.iterator(at)) {
    orders++;
    try {
      const r = decodeOrderRecord(value);
      if (r.result.orderId !== key || r.order.id !== key || !statuses.has(r.result.status) || r.result.duplicate) {
        add({ code: 'bad_result', message: `order ${key} has an inconsistent result` });
      }
      const holder = r.holdAccountId ?? r.accountId;
      if (r.open && r.holdMinor > 0n && holder !== undefined) {
        holdsFromOrders.set(holder, (holdsFromOrders.get(holder) ?? 0n) + r.holdMinor);
      }
      if (!r.open && r.holdMinor !== 0n) add({ code: 'holds_mismatch', message: `closed order ${key} still holds ${r.holdMinor}` });
    } catch (error) {
      add({ code: 'unreadable', message: `order ${key}: ${(error as Error).message}` });
    }
  }

  // the holds sublevel must list exactly the open holds of the orders
  const holdsListed = new Map<string, bigint>();
  for await (const [key, value] of store.holds.iterator(at)) {
    try {
      const h = JSON.parse(value) as { accountId: string; amountMinor: string };
      holdsListed.set(h.accountId, (holdsListed.get(h.accountId) ?? 0n) + BigInt(h.amountMinor));
    } catch (error) {
      add({ code: 'unreadable', message: `hold ${key}: ${(error as Error).message}` });
    }
  }
  for (const id of new Set([...holdsListed.keys(), ...holdsFromOrders.keys()])) {
    if ((holdsListed.get(id) ?? 0n) !== (holdsFromOrders.get(id) ?? 0n)) {
      add({ code: 'holds_mismatch', message: `account ${id}: the holds list sums to ${holdsListed.get(id) ?? 0n}, its open orders hold ${holdsFromOrders.get(id) ?? 0n}` });
    }
  }

  const sums = new Map<string, bigint>();
  for (const [id, a] of [...balances].sort(([x], [y]) => (x < y ? -1 : 1))) {
    sums.set(a.currency, (sums.get(a.currency) ?? 0n) + a.balance);
    const expected = fromTransfers.get(id) ?? 0n;
    if (expected !== a.balance) {
      add({ code: 'balance_mismatch', message: `account ${id}: balance ${a.balance} but its transfers sum to ${expected}` });
    }
    const holds = holdsFromOrders.get(id) ?? 0n;
    if (holds !== a.holds) add({ code: 'holds_mismatch', message: `account ${id}: holds ${a.holds} but open orders hold ${holds}` });
    if (!a.overdraft && a.balance - a.holds < 0n) {
      add({ code: 'overdrawn', message: `account ${id}: available ${a.balance - a.holds} below zero` });
    }
  }
  const sumByCurrency: Record<string, string> = {};
  for (const [currency, sum] of [...sums].sort(([x], [y]) => (x < y ? -1 : 1))) {
    sumByCurrency[currency] = sum.toString();
    if (sum !== 0n) add({ code: 'sum_not_zero', message: `balances in ${currency} sum to ${sum}, not 0` });
  }

  let cards = 0;
  for await (const [key, value] of store.cards.iterator(at)) {
    cards++;
    try {
      const c = decodeCard(value);
      if (c.token !== key || !balances.has(c.accountId)) add({ code: 'orphan_card', message: `card ${key} has no account` });
    } catch (error) {
      add({ code: 'unreadable', message: `card ${key}: ${(error as Error).message}` });
    }
  }

  return { ok: violations.length === 0, cards, accounts, transfers, orders, sumByCurrency, violations };
}
