// Walks the whole ledger and checks its invariants; the report is deterministic (no timings, sorted).

import { type AuditEntry, ChainChecker, decodeHead } from '../domain/audit.ts';
import type { ViolationCode } from '../domain/reasons.ts';
import { RESULT_STATUSES } from '../domain/types.ts';
import { AUDIT_HEAD_KEY, auditKeySeq } from './audit-trail.ts';
import { chainSeq, decodeAccount, decodeBalance, decodeCard, decodeOrderRecord, decodeTransferWithLinks } from './codec.ts';
import type { LedgerStore } from './store.ts';
import type { Sub } from './sublevels.ts';

export interface Violation {
  code: ViolationCode;
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

/** a report lists at most this many violations */
const VIOLATIONS_MAX = 1000;
/** records checked between two progress reports (each with a fresh estimate of how far the walk is) */
const PROGRESS_EVERY_RECORDS = 4096;
/** no estimate of the whole before this share of the ledger's bytes has been walked: too early to tell */
const ESTIMATE_SHARE_MIN = 0.01;

export interface VerifyOptions {
  /** told as the walk goes: records checked, and how many there are in all once that can be estimated @default none */
  onProgress?: (recordsChecked: number, recordsEstimate?: number) => void;
}

type Snapshot = ReturnType<LedgerStore['db']['snapshot']>;

/** What each check reads through (one snapshot), where it reports, and what counts the records it reads. */
interface Walk {
  store: LedgerStore;
  at: { snapshot: Snapshot };
  add: (v: Violation) => void;
  meter: WalkMeter;
}

/** An account as verify keeps it: its balance and holds as recorded, and the head of its history. */
interface AccountState {
  currency: string;
  balance: bigint;
  holds: bigint;
  overdraft: boolean;
  head?: string;
}

const byKey = <T>([x]: [string, T], [y]: [string, T]): number => (x < y ? -1 : 1);
const problem = (error: unknown): string => (error as Error).message;

/**
 * Verifies the ledger as of one moment: every read goes through one LevelDB snapshot taken when it starts,
 * so buffers written while it walks (a running processor) are either wholly in what it reads or wholly
 * not, and never make a true ledger look broken.
 */
export async function verifyLedger(store: LedgerStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  const snapshot = store.db.snapshot();
  try {
    const meter = options.onProgress ? await WalkMeter.start(store, options.onProgress) : new WalkMeter();
    const report = await verifySnapshot(store, snapshot, meter);
    await meter.end();
    return report;
  } finally {
    await snapshot.close();
  }
}

async function verifySnapshot(store: LedgerStore, snapshot: Snapshot, meter: WalkMeter): Promise<VerifyReport> {
  const violations: Violation[] = [];
  const walk: Walk = {
    store,
    at: { snapshot },
    add: (v) => {
      if (violations.length < VIOLATIONS_MAX) violations.push(v);
    },
    meter,
  };
  const { accounts, states } = await readAccounts(walk);
  const trail = await walkAuditTrail(walk);
  const transfers = await walkTransfers(walk, states, trail.covers);
  const orders = await walkOrders(walk);
  checkHoldsList(await readHoldsList(walk), orders.holds, walk.add);
  const sumByCurrency = checkBalances(states, transfers.sums, orders.holds, walk.add);
  const cards = await walkCards(walk, states);
  const audit: VerifyReport['audit'] = { entries: trail.entries, headSeq: trail.headSeq };
  if (trail.firstBrokenSeq !== undefined) audit.firstBrokenSeq = trail.firstBrokenSeq;
  return { ok: violations.length === 0, cards, accounts, transfers: transfers.count, orders: orders.count, audit, sumByCurrency, violations };
}

/** Every account, with its balance record where it has one (that one holds the current balance). */
async function readAccounts({ store, at, add, meter }: Walk): Promise<{ accounts: number; states: Map<string, AccountState> }> {
  const states = new Map<string, AccountState>();
  let accounts = 0;
  meter.enter(store.accounts);
  for await (const [key, value] of store.accounts.iterator(at)) {
    meter.tick(key);
    accounts++;
    try {
      const a = decodeAccount(value);
      if (a.id !== key) add({ code: 'unreadable', message: `account key ${key} holds account ${a.id}` });
      states.set(key, { currency: a.currency, balance: a.balanceMinor, holds: a.holdsMinor, overdraft: a.overdraftAllowed });
    } catch (error) {
      add({ code: 'unreadable', message: `account ${key}: ${problem(error)}` });
    }
  }
  meter.enter(store.balances);
  for await (const [key, value] of store.balances.iterator(at)) {
    meter.tick(key);
    const account = states.get(key);
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
      add({ code: 'unreadable', message: `balance of account ${key}: ${problem(error)}` });
    }
  }
  return { accounts, states };
}

/** Every transfer: its links, accounts, currency and amount checked, its audit entry found; what it moved summed by account. */
async function walkTransfers({ store, at, add, meter }: Walk, states: Map<string, AccountState>, audited: (id: string) => boolean) {
  const sums = new Map<string, bigint>();
  let count = 0;
  let lastChainSeq = 0;
  meter.enter(store.transfers);
  for await (const [key, value] of store.transfers.iterator(at)) {
    meter.tick(key);
    count++;
    try {
      const { transfer: t, links } = decodeTransferWithLinks(value);
      const seq = chainSeq(key);
      if (seq !== undefined) lastChainSeq = Math.max(lastChainSeq, seq);
      checkLinks(key, seq, [links.prevDebit, links.prevCredit], add);
      const debit = states.get(t.debit);
      const credit = states.get(t.credit);
      if (!debit || !credit) {
        add({ code: 'orphan_transfer', message: `transfer ${key} names an unknown account` });
        continue;
      }
      if (debit.currency !== t.currency || credit.currency !== t.currency) {
        add({ code: 'transfer_currency', message: `transfer ${key} in ${t.currency} between ${debit.currency} and ${credit.currency}` });
      }
      if (t.amountMinor <= 0n) add({ code: 'unreadable', message: `transfer ${key} has a non-positive amount` });
      if ((t.kind === 'deposit' || t.kind === 'withdrawal') && t.orderId === '' && !audited(t.id)) {
        add({ code: 'unaudited_transfer', message: `${t.kind} ${t.id} (${key}) has no audit entry: money was moved by hand outside the operator commands` });
      }
      sums.set(t.debit, (sums.get(t.debit) ?? 0n) - t.amountMinor);
      sums.set(t.credit, (sums.get(t.credit) ?? 0n) + t.amountMinor);
    } catch (error) {
      add({ code: 'unreadable', message: `transfer ${key}: ${problem(error)}` });
    }
  }
  for (const [id, { head }] of states) {
    if (head !== undefined && (chainSeq(head) ?? Number.POSITIVE_INFINITY) > lastChainSeq) {
      add({ code: 'broken_chain', message: `account ${id}: its history starts at ${head}, after the last chained transfer` });
    }
  }
  return { count, sums };
}

/** A chained transfer links only to earlier ones: the chains end, and have no loops. */
function checkLinks(key: string, seq: number | undefined, links: (string | undefined)[], add: Walk['add']): void {
  for (const link of links) {
    if (link === undefined) continue;
    const linked = chainSeq(link);
    if (seq === undefined || linked === undefined || linked >= seq) {
      add({ code: 'broken_chain', message: `transfer ${key} links to ${link}, which is not an earlier chained transfer` });
    }
  }
}

/** Every order: its result consistent, a closed one holding nothing; the open holds summed by account. */
async function walkOrders({ store, at, add, meter }: Walk): Promise<{ count: number; holds: Map<string, bigint> }> {
  const holds = new Map<string, bigint>();
  let count = 0;
  const statuses = new Set<string>(RESULT_STATUSES);
  meter.enter(store.orders);
  for await (const [key, value] of store.orders.iterator(at)) {
    meter.tick(key);
    count++;
    try {
      const r = decodeOrderRecord(value);
      if (r.result.orderId !== key || r.order.id !== key || !statuses.has(r.result.status) || r.result.duplicate) {
        add({ code: 'bad_result', message: `order ${key} has an inconsistent result` });
      }
      const holder = r.holdAccountId ?? r.accountId;
      if (r.open && r.holdMinor > 0n && holder !== undefined) holds.set(holder, (holds.get(holder) ?? 0n) + r.holdMinor);
      if (!r.open && r.holdMinor !== 0n) add({ code: 'holds_mismatch', message: `closed order ${key} still holds ${r.holdMinor}` });
    } catch (error) {
      add({ code: 'unreadable', message: `order ${key}: ${problem(error)}` });
    }
  }
  return { count, holds };
}

/** The holds sublevel, summed by account. */
async function readHoldsList({ store, at, add, meter }: Walk): Promise<Map<string, bigint>> {
  const listed = new Map<string, bigint>();
  meter.enter(store.holds);
  for await (const [key, value] of store.holds.iterator(at)) {
    meter.tick(key);
    try {
      const h = JSON.parse(value) as { accountId: string; amountMinor: string };
      listed.set(h.accountId, (listed.get(h.accountId) ?? 0n) + BigInt(h.amountMinor));
    } catch (error) {
      add({ code: 'unreadable', message: `hold ${key}: ${problem(error)}` });
    }
  }
  return listed;
}

/** The holds sublevel must list exactly the open holds of the orders. */
function checkHoldsList(listed: Map<string, bigint>, fromOrders: Map<string, bigint>, add: Walk['add']): void {
  for (const id of new Set([...listed.keys(), ...fromOrders.keys()])) {
    if ((listed.get(id) ?? 0n) !== (fromOrders.get(id) ?? 0n)) {
      add({ code: 'holds_mismatch', message: `account ${id}: the holds list sums to ${listed.get(id) ?? 0n}, its open orders hold ${fromOrders.get(id) ?? 0n}` });
    }
  }
}

/** Each account's balance against its transfers, its holds against its open orders, none overdrawn; each currency sums to zero. */
function checkBalances(states: Map<string, AccountState>, fromTransfers: Map<string, bigint>, holdsFromOrders: Map<string, bigint>, add: Walk['add']): Record<string, string> {
  const sums = new Map<string, bigint>();
  for (const [id, a] of [...states].sort(byKey)) {
    sums.set(a.currency, (sums.get(a.currency) ?? 0n) + a.balance);
    const expected = fromTransfers.get(id) ?? 0n;
    if (expected !== a.balance) add({ code: 'balance_mismatch', message: `account ${id}: balance ${a.balance} but its transfers sum to ${expected}` });
    const holds = holdsFromOrders.get(id) ?? 0n;
    if (holds !== a.holds) add({ code: 'holds_mismatch', message: `account ${id}: holds ${a.holds} but open orders hold ${holds}` });
    if (!a.overdraft && a.balance - a.holds < 0n) add({ code: 'overdrawn', message: `account ${id}: available ${a.balance - a.holds} below zero` });
  }
  const sumByCurrency: Record<string, string> = {};
  for (const [currency, sum] of [...sums].sort(byKey)) {
    sumByCurrency[currency] = sum.toString();
    if (sum !== 0n) add({ code: 'sum_not_zero', message: `balances in ${currency} sum to ${sum}, not 0` });
  }
  return sumByCurrency;
}

/** Every card, under its own token, on an account the ledger has. */
async function walkCards({ store, at, add, meter }: Walk, states: Map<string, AccountState>): Promise<number> {
  let cards = 0;
  meter.enter(store.cards);
  for await (const [key, value] of store.cards.iterator(at)) {
    meter.tick(key);
    cards++;
    try {
      const c = decodeCard(value);
      if (c.token !== key || !states.has(c.accountId)) add({ code: 'orphan_card', message: `card ${key} has no account` });
    } catch (error) {
      add({ code: 'unreadable', message: `card ${key}: ${problem(error)}` });
    }
  }
  return cards;
}

/** Manual transfer ids: dep_<n>, wd_<n>, seed_<n>. */
const MANUAL_ID = /^(dep|wd|seed)_(\d{1,15})$/;

/**
 * Walks the audit trail: the hash chain (the first broken entry named), and which manual transfers it
 * accounts for: those named by an entry that moved money (a deposit, a withdrawal, an approved posting),
 * those of a seed run (a range of seed_<n>), and those made before the trail began (audit.start's counters).
 */
async function walkAuditTrail({ store, at, add, meter }: Walk) {
  const checker = new ChainChecker();
  const named = new Set<string>();
  const before = { dep: 0, wd: 0, seed: 0 };
  const seedRanges: [number, number][] = [];
  meter.enter(store.audit);
  for await (const [key, text] of store.audit.iterator(at)) {
    meter.tick(key);
    const seq = auditKeySeq(key);
    if (seq === undefined) {
      add({ code: 'audit_chain', message: `audit key ${key} is not an entry's` });
      continue;
    }
    const entry: AuditEntry | undefined = checker.next(seq, text);
    if (entry?.outcome !== 'ok' || !entry.after) continue;
    const after = entry.after;
    if (typeof after.transferId === 'string') named.add(after.transferId);
    if (entry.action === 'ledger.seed' && typeof after.seedFrom === 'number' && typeof after.seedTo === 'number') seedRanges.push([after.seedFrom, after.seedTo]);
    if (entry.action === 'audit.start') {
      before.dep = Number(after.deposits ?? 0);
      before.wd = Number(after.withdrawals ?? 0);
      before.seed = Number(after.seeded ?? 0);
    }
  }
  const head = decodeHead(await store.meta.get(AUDIT_HEAD_KEY, at));
  const broken = checker.end(head);
  if (broken) add({ code: 'audit_chain', message: `the audit trail is broken at entry ${broken.seq}: ${broken.message}` });
  const covers = (id: string): boolean => {
    if (named.has(id)) return true;
    const m = MANUAL_ID.exec(id);
    if (!m) return false;
    const n = Number(m[2]);
    const family = m[1] as 'dep' | 'wd' | 'seed';
    if (n <= before[family]) return true;
    return family === 'seed' && seedRanges.some(([from, to]) => n >= from && n <= to);
  };
  return { entries: checker.entries, headSeq: head?.seq ?? 0, firstBrokenSeq: broken?.seq, covers };
}

/** The first key after every key that starts with `prefix`. */
const afterPrefix = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

/**
 * Counts the records verify reads and, when progress is asked for, reports every PROGRESS_EVERY_RECORDS
 * how far the walk has come: the share of the walked sublevels' bytes on disk (LevelDB's approximate
 * sizes) that lies behind the current key, turned into an estimate of the records in all.
 */
class WalkMeter {
  private records = 0;
  private current: Sub | undefined;
  /** the bytes of the sublevels walked before the current one */
  private passedBytes = 0;
  /** the one size asked for at a time, awaited before the walk ends */
  private measuring: Promise<void> | undefined;

  constructor(
    private readonly store?: LedgerStore,
    private readonly onProgress?: VerifyOptions['onProgress'],
    private readonly bytesByPrefix: ReadonlyMap<string, number> = new Map(),
    private readonly totalBytes = 0,
  ) {}

  /** A meter that reports to `onProgress`, with the on-disk size of each sublevel verify walks. */
  static async start(store: LedgerStore, onProgress: NonNullable<VerifyOptions['onProgress']>): Promise<WalkMeter> {
    const bytesByPrefix = new Map<string, number>();
    for (const sub of [store.accounts, store.balances, store.audit, store.transfers, store.orders, store.holds, store.cards]) {
      bytesByPrefix.set(sub.prefix, await store.db.approximateSize(sub.prefix, afterPrefix(sub.prefix)));
    }
    const totalBytes = [...bytesByPrefix.values()].reduce((a, b) => a + b, 0);
    onProgress(0);
    return new WalkMeter(store, onProgress, bytesByPrefix, totalBytes);
  }

  /** The walk moves on to `sub`: the one before is wholly behind it. */
  enter(sub: Sub): void {
    if (this.current) this.passedBytes += this.bytesByPrefix.get(this.current.prefix) ?? 0;
    this.current = sub;
  }

  /** One more record read, `key` in the current sublevel. */
  tick(key: string): void {
    if (++this.records % PROGRESS_EVERY_RECORDS !== 0 || !this.onProgress) return;
    if (this.measuring || this.totalBytes <= 0 || !this.store || !this.current) {
      this.onProgress(this.records);
      return;
    }
    const { prefix } = this.current;
    const [passed, records, report] = [this.passedBytes, this.records, this.onProgress];
    this.measuring = this.store.db.approximateSize(prefix, prefix + key).then(
      (bytes) => {
        const share = Math.min(1, (passed + bytes) / this.totalBytes);
        report(this.records, share >= ESTIMATE_SHARE_MIN ? Math.max(this.records, Math.round(records / share)) : undefined);
        this.measuring = undefined;
      },
      () => {
        this.measuring = undefined;
      },
    );
  }

  /** The walk is over: every record counted, the estimate now exact. */
  async end(): Promise<void> {
    await this.measuring;
    this.onProgress?.(this.records, this.records);
  }
}
