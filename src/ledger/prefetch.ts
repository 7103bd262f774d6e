// Reads everything a buffer of orders needs, from the caches or from LevelDB in as few calls as possible,
// into the working set its decisions run on.

import type { ClassicLevel } from 'classic-level';
import type { LRUCache } from 'lru-cache';
import { WorkingSet, keysNeeded } from '../domain/apply.ts';
import { resolvePanToken } from '../domain/keys.ts';
import type { Order } from '../domain/types.ts';
import type { RecordCache } from './cache.ts';
import { decodeAccountWithBalance, decodeCard, decodeOrderRecord } from './codec.ts';
import type { Sub, Sublevels } from './sublevels.ts';

/** reads of one round in parallel at most (libuv's pool has 4 threads) */
const READ_PARTS_MAX = 4;
/** a round is split only into parts of at least this many keys */
const READ_PART_KEYS_MIN = 1000;

export interface PrefetchSource {
  db: ClassicLevel<string, string>;
  rooms: Pick<Sublevels, 'cards' | 'accounts' | 'balances' | 'orders'>;
  cache: RecordCache;
  /** the order fingerprints' key: an order whose card is found under an older token is fingerprinted again */
  fingerprintKey: Buffer;
}

/**
 * Keys of `keys` found neither in `into`, nor staged, nor cached; those found are put into `into`.
 * Checked synchronously right before the read that fetches the rest: a staged record leaves `unwritten`
 * only once its write is in LevelDB, so the read (whose snapshot is taken when it is issued) sees it.
 */
function missing<T extends {}>(keys: Iterable<string>, cache: LRUCache<string, T>, unwritten: Map<string, T> | undefined, into: Map<string, T>): string[] {
  const out: string[] = [];
  for (const key of keys) {
    if (into.has(key)) continue;
    const hit = unwritten?.get(key) ?? cache.get(key);
    if (hit !== undefined) into.set(key, hit);
    else out.push(key);
  }
  return out;
}

/** Decodes what a read found, caching each record and adding it to the working set's map. */
function found<T extends {}>(
  keys: string[],
  texts: (string | undefined)[],
  decode: (text: string, i: number) => T,
  cache: LRUCache<string, T>,
  into: Map<string, T>,
): void {
  for (let i = 0; i < keys.length; i++) {
    const text = texts[i];
    if (text === undefined) continue;
    const value = decode(text, i);
    cache.set(keys[i]!, value);
    into.set(keys[i]!, value);
  }
}

/**
 * Keys of several sublevels in one getMany on the root database: each read is a call into LevelDB that takes
 * its lock and queues work on the libuv pool from the main thread, which waits there on a busy machine, so a
 * buffer's prefetch makes one call a round, not one a sublevel. A large round is split to be read on several
 * libuv threads at once. Values come back in the order asked, by group.
 */
async function readRound(db: ClassicLevel<string, string>, ...groups: [sub: Sub, keys: string[]][]): Promise<(string | undefined)[][]> {
  const keys: string[] = [];
  for (const [sub, subKeys] of groups) for (const key of subKeys) keys.push(sub.prefix + key);
  if (keys.length === 0) return groups.map(() => []);
  const parts = Math.min(READ_PARTS_MAX, Math.ceil(keys.length / READ_PART_KEYS_MIN));
  const size = Math.ceil(keys.length / parts);
  const values =
    parts === 1
      ? await db.getMany(keys)
      : (await Promise.all(Array.from({ length: parts }, (_, i) => db.getMany(keys.slice(i * size, (i + 1) * size))))).flat();
  const out: (string | undefined)[][] = [];
  let at = 0;
  for (const [, subKeys] of groups) {
    out.push(values.slice(at, at + subKeys.length));
    at += subKeys.length;
  }
  return out;
}

/** Reads everything a buffer of orders needs: two rounds, one LevelDB read each. */
export async function prefetch(source: PrefetchSource, orders: readonly Order[], extraOrderIds: Iterable<string>): Promise<WorkingSet> {
  const { db, rooms, cache } = source;
  const ws = new WorkingSet();
  const { orderIds, cardTokens } = keysNeeded(orders);
  for (const id of extraOrderIds) orderIds.add(id);
  const ordersMissing = missing(orderIds, cache.orders, cache.unwritten.orders, ws.orders);
  const cardsMissing = missing(cardTokens, cache.cards, undefined, ws.cards);
  const [orderTexts, cardTexts] = await readRound(db, [rooms.orders, ordersMissing], [rooms.cards, cardsMissing]);
  found(ordersMissing, orderTexts!, decodeOrderRecord, cache.orders, ws.orders);
  found(cardsMissing, cardTexts!, decodeCard, cache.cards, ws.cards);
  await resolvePanTokens(source, orders, ws);
  await readNamedRecords(source, orders, ws);
  return ws;
}

/** The second round: what the first one's records name (the cards' and merchants' accounts, the cards of earlier orders). */
async function readNamedRecords({ db, rooms, cache }: PrefetchSource, orders: readonly Order[], ws: WorkingSet): Promise<void> {
  const accountIds = new Set<string>();
  const moreCards = new Set<string>();
  for (const card of ws.cards.values()) accountIds.add(card.accountId);
  for (const o of orders) if (o.merchant !== undefined) accountIds.add(o.merchant);
  for (const r of ws.orders.values()) {
    if (r.accountId !== undefined) accountIds.add(r.accountId);
    if (r.holdAccountId !== undefined) accountIds.add(r.holdAccountId);
    if (r.order.merchant !== undefined) accountIds.add(r.order.merchant);
    if (r.order.cardToken !== undefined && !ws.cards.has(r.order.cardToken)) moreCards.add(r.order.cardToken);
  }
  const accountsMissing = missing(accountIds, cache.accounts, cache.unwritten.accounts, ws.accounts);
  const moreCardsMissing = missing(moreCards, cache.cards, undefined, ws.cards);
  const [accountTexts, balanceTexts, moreCardTexts] = await readRound(
    db,
    [rooms.accounts, accountsMissing],
    [rooms.balances, accountsMissing],
    [rooms.cards, moreCardsMissing],
  );
  found(accountsMissing, accountTexts!, (text, i) => decodeAccountWithBalance(text, balanceTexts![i]), cache.accounts, ws.accounts);
  found(moreCardsMissing, moreCardTexts!, decodeCard, cache.cards, ws.cards);
}

/**
 * Orders sent with a PAN after a key rotation: the cards their older tokens name are read (one round, only
 * when some order has no card under its current token) and each order takes its card's token
 * (src/domain/keys.ts resolvePanToken).
 */
async function resolvePanTokens({ db, rooms, cache, fingerprintKey }: PrefetchSource, orders: readonly Order[], ws: WorkingSet): Promise<void> {
  const older = new Set<string>();
  for (const o of orders) {
    if (o.panTokens === undefined || o.cardToken === undefined || ws.cards.has(o.cardToken)) continue;
    for (const token of o.panTokens) older.add(token);
  }
  if (older.size === 0) return;
  const keys = missing(older, cache.cards, undefined, ws.cards);
  const [texts] = await readRound(db, [rooms.cards, keys]);
  found(keys, texts!, decodeCard, cache.cards, ws.cards);
  for (const o of orders) resolvePanToken(o, (token) => ws.cards.has(token), fingerprintKey);
}
