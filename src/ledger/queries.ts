// Reads of the ledger beyond one record: an account's transfers, cards by what an operator knows of them,
// listings, due holds, the risk history, the review queue and pending postings.

import type { OrderRecord } from '../domain/apply.ts';
import { type Posting, decodePosting } from '../domain/four-eyes.ts';
import type { Account, Card, Transfer } from '../domain/types.ts';
import { decodeAccountWithBalance, decodeBalance, decodeCard, decodeOrderRecord, decodeTransfer, decodeTransferWithLinks, newestFirstKey, timeKey } from './codec.ts';
import { LedgerError } from './errors.ts';
import type { Sub, Sublevels } from './sublevels.ts';

/** transfers of one account listed at most */
const TRANSFERS_LISTED_MAX = 1000;
/** cards or accounts listed at most */
const RECORDS_LISTED_MAX = 10_000;
/** risk history orders read with one getMany */
const RISK_READ_KEYS_MAX = 5000;

/**
 * An account's transfers, newest first: its chain from the head in its balance record (as written to
 * LevelDB, so every link is there), merged with the index entries of transfers written before the chains.
 */
export async function transfersOf(
  rooms: Pick<Sublevels, 'balances' | 'transfers' | 'index'>,
  accountId: string,
  options: { limit?: number; sinceMs?: number },
): Promise<Transfer[]> {
  const limit = Math.min(options.limit ?? 20, TRANSFERS_LISTED_MAX);
  const chained = await chainedTransfers(rooms, accountId, limit, options.sinceMs ?? Number.NEGATIVE_INFINITY);
  const ids: string[] = [];
  const prefix = `acct!${accountId}!`;
  const lt = options.sinceMs === undefined ? `${prefix}~` : `${prefix}${newestFirstKey(options.sinceMs)}~`;
  for await (const k of rooms.index.keys({ gte: prefix, lt, limit })) ids.push(k.slice(k.lastIndexOf('!') + 1));
  if (ids.length === 0) return chained;
  const indexed = (await rooms.transfers.getMany(ids)).filter((t): t is string => t !== undefined).map(decodeTransfer);
  // both lists are newest first; a stable sort keeps each one's order among equal times
  return [...chained, ...indexed].sort((a, b) => b.atMs - a.atMs).slice(0, limit);
}

/** An account's transfer chain from its head, newest first, at most `limit`, none before `sinceMs`. */
async function chainedTransfers(rooms: Pick<Sublevels, 'balances' | 'transfers'>, accountId: string, limit: number, sinceMs: number): Promise<Transfer[]> {
  const chained: Transfer[] = [];
  const balance = await rooms.balances.get(accountId);
  let key = balance === undefined ? undefined : decodeBalance(balance).historyHead;
  while (key !== undefined && chained.length < limit) {
    const text = await rooms.transfers.get(key);
    if (text === undefined) throw new LedgerError('unreadable', `account ${accountId}: its transfer chain names ${key}, which is not in the ledger`);
    const { transfer, links } = decodeTransferWithLinks(text);
    if (transfer.atMs < sinceMs) break;
    chained.push(transfer);
    key = transfer.debit === accountId ? links.prevDebit : links.prevCredit;
  }
  return chained;
}

/** Tokens of cards by token (or token prefix of 6+ hex), last 4 digits, or holder name prefix (case-insensitive). */
export async function findCardTokens(rooms: Pick<Sublevels, 'cards' | 'index'>, query: string, limit: number): Promise<Set<string>> {
  const q = query.trim();
  const tokens = new Set<string>();
  if (/^[0-9a-f]{64}$/i.test(q)) tokens.add(q.toLowerCase());
  else if (/^\d{4}$/.test(q)) {
    for await (const key of rooms.index.keys({ gte: `last4!${q}!`, lt: `last4!${q}!~`, limit })) tokens.add(lastPart(key));
  } else if (q.length > 0) {
    if (/^[0-9a-f]{6,63}$/i.test(q)) {
      for await (const key of rooms.cards.keys({ gte: q.toLowerCase(), lt: `${q.toLowerCase()}~`, limit })) tokens.add(key);
    }
    const name = q.toLowerCase();
    // the upper bound must sort after any character a name may hold ('~' would cut off 'zoë' for 'zo')
    for await (const key of rooms.index.keys({ gte: `name!${name}`, lt: `name!${name}\u{10FFFF}`, limit })) {
      if (tokens.size >= limit) break;
      tokens.add(lastPart(key));
    }
  }
  return tokens;
}

const lastPart = (key: string): string => key.slice(key.lastIndexOf('!') + 1);

export async function listCards(cards: Sub, options: { limit?: number; after?: string }): Promise<Card[]> {
  const limit = Math.min(options.limit ?? 50, RECORDS_LISTED_MAX);
  const range = options.after === undefined ? { limit } : { gt: options.after, limit };
  const out: Card[] = [];
  for await (const value of cards.values(range)) out.push(decodeCard(value));
  return out;
}

export async function listAccounts(rooms: Pick<Sublevels, 'accounts' | 'balances'>, options: { limit?: number }): Promise<Account[]> {
  const ids: string[] = [];
  const texts: string[] = [];
  for await (const [id, text] of rooms.accounts.iterator({ limit: Math.min(options.limit ?? 50, RECORDS_LISTED_MAX) })) {
    ids.push(id);
    texts.push(text);
  }
  const balances = await rooms.balances.getMany(ids);
  return texts.map((text, i) => decodeAccountWithBalance(text, balances[i]));
}

/** Open holds whose time has come, oldest first. */
export async function dueHolds(index: Sub, nowMs: number, limit: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const key of index.keys({ gte: 'exp!', lte: `exp!${timeKey(nowMs)}~`, limit })) ids.push(lastPart(key));
  return ids;
}

/**
 * What the risk engine observed since `sinceMs` (newest `limit`, returned oldest first), to rebuild its
 * state after a restart so its decisions do not change.
 */
export async function riskHistory(rooms: Pick<Sublevels, 'index' | 'orders'>, sinceMs: number, limit: number): Promise<{ record: OrderRecord; atMs: number }[]> {
  const keys: string[] = [];
  for await (const key of rooms.index.keys({ gte: `risk!${timeKey(sinceMs)}`, lt: 'risk!~', reverse: true, limit })) keys.push(key);
  keys.reverse();
  const out: { record: OrderRecord; atMs: number }[] = [];
  for (let i = 0; i < keys.length; i += RISK_READ_KEYS_MAX) {
    const slice = keys.slice(i, i + RISK_READ_KEYS_MAX);
    const texts = await rooms.orders.getMany(slice.map(lastPart));
    slice.forEach((key, j) => {
      const text = texts[j];
      if (text !== undefined) out.push({ record: decodeOrderRecord(text), atMs: Number(key.slice(5, 20)) });
    });
  }
  return out;
}

/** Keys of the risk history older than `beforeMs`, at most `limit`. */
export async function riskHistoryBefore(index: Sub, beforeMs: number, limit: number): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of index.keys({ gte: 'risk!', lt: `risk!${timeKey(beforeMs)}`, limit })) keys.push(key);
  return keys;
}

/** Ids of the orders held for review, at most `limit`. */
export async function reviewIds(index: Sub, limit: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const key of index.keys({ gte: 'review!', lt: 'review!~', limit })) ids.push(key.slice(7));
  return ids;
}

/**
 * The number of orders held for review (counted up to `limit`), counted again only after a write touched
 * the review index: the processor asks every second, and counting a large queue takes long enough to keep
 * an idle processor busy.
 */
export class ReviewQueueCount {
  private changed = true;
  private counted: { n: number; limit: number } | undefined;

  /** A write that touched the review index has landed (or the caches were dropped). */
  markChanged(): void {
    this.changed = true;
  }

  async size(index: Sub, limit: number): Promise<number> {
    if (!this.changed && this.counted?.limit === limit) return this.counted.n;
    // cleared before counting: a write during the count marks it changed again
    this.changed = false;
    let n = 0;
    for await (const _ of index.keys({ gte: 'review!', lt: 'review!~', limit })) n++;
    this.counted = { n, limit };
    return n;
  }
}

export async function getPosting(postings: Sub, id: string): Promise<Posting | undefined> {
  const text = await postings.get(`p!${id}`);
  return text === undefined ? undefined : decodePosting(text);
}

/** Pending postings, oldest first (those past their time included: they lapse when someone decides them). */
export async function pendingPostings(postings: Sub, limit: number): Promise<Posting[]> {
  const ids: string[] = [];
  for await (const key of postings.keys({ gte: 'open!', lt: 'open!~', limit })) ids.push(key.slice(5));
  const texts = await postings.getMany(ids.map((i) => `p!${i}`));
  return texts.filter((t): t is string => t !== undefined).map(decodePosting);
}
