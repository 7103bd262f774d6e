// Walks the whole ledger and checks its invariants; the report is deterministic (no timings, sorted).

import { RESULT_STATUSES } from '../domain/types.ts';
import { chainSeq, decodeAccount, decodeBalance, decodeCard, decodeOrderRecord, decodeTransferWithLinks } from './codec.ts';
import { type AuditEntry, ChainChecker, decodeHead } from '../domain/audit.ts';
import { AUDIT_HEAD_KEY, type LedgerStore, auditKeySeq } from './store.ts';

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
    | 'audit_chain'
    | 'unaudited_transfer'
    | 'unreadable';
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  cards: number;
  accounts: number;
  transfers: number;
  orders: number;
  /** the audit trail: entries walked, the head, and the first broken entry when the chain is broken */
  audit: { entries: number; headSeq: number; firstBrokenSeq?: number };
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

  const trail = await walkAuditTrail(store, at, add);

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
      if ((t.kind === 'deposit' || t.kind === 'withdrawal') && t.orderId === '' && !trail.covers(t.id)) {
        add({ code: 'unaudited_transfer', message: `${t.kind} ${t.id} (${key}) has no audit entry: money was moved by hand outside the operator commands` });
      }
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

  const audit: VerifyReport['audit'] = { entries: trail.entries, headSeq: trail.headSeq };
  if (trail.firstBrokenSeq !== undefined) audit.firstBrokenSeq = trail.firstBrokenSeq;
  return { ok: violations.length === 0, cards, accounts, transfers, orders, audit, sumByCurrency, violations };
}

/** Manual transfer ids: dep_<n>, wd_<n>, seed_<n>. */
const MANUAL_ID = /^(dep|wd|seed)_(\d{1,15})$/;

/**
 * Walks the audit trail: the hash chain (the first broken entry named), and which manual transfers it
 * accounts for: those named by an entry that moved money (a deposit, a withdrawal, an approved posting),
 * those of a seed run (a range of seed_<n>), and those made before the trail began (audit.start's counters).
 */
async function walkAuditTrail(store: LedgerStore, at: { snapshot: ReturnType<LedgerStore['db']['snapshot']> }, add: (v: Violation) => void) {
  const checker = new ChainChecker();
  const named = new Set<string>();
  const before = { dep: 0, wd: 0, seed: 0 };
  const seedRanges: [number, number][] = [];
  for await (const [key, text] of store.audit.iterator(at)) {
    const seq = auditKeySeq(key);
    if (seq === undefined) {
      add({ code: 'audit_chain', message: `audit key ${key} is not an entry's` });
      continue;
    }
    const entry: AuditEntry | undefined = checker.next(seq, text);
    if (entry?.outcome !== 'ok' || !entry.after) continue;
    const after = entry.after;
    if (typeof after.transferId === 'string') named.add(after.transferId);
    if (entry.action === 'ledger.seed' && typeof after.seedFrom === 'number' && typeof after.seedTo === 'number') {
      seedRanges.push([after.seedFrom, after.seedTo]);
    }
    if (entry.action === 'audit.start') {
      before.dep = Number(after.deposits ?? 0);
      before.wd = Number(after.withdrawals ?? 0);
      before.seed = Number(after.seeded ?? 0);
    }
  }
  const head = decodeHead(await store.meta.get(AUDIT_HEAD_KEY, at));
  const broken = checker.end(head);
  if (broken) add({ code: 'audit_chain', message: `the audit trail is broken at entry ${broken.seq}: ${broken.message}` });
  return {
    entries: checker.entries,
    headSeq: head?.seq ?? 0,
    firstBrokenSeq: broken?.seq,
    covers(id: string): boolean {
      if (named.has(id)) return true;
      const m = MANUAL_ID.exec(id);
      if (!m) return false;
      const n = Number(m[2]);
      const family = m[1] as 'dep' | 'wd' | 'seed';
      if (n <= before[family]) return true;
      return family === 'seed' && seedRanges.some(([from, to]) => n >= from && n <= to);
    },
  };
}
