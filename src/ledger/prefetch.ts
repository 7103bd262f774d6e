// Reads everything a buffer of orders needs, from the caches or from LevelDB in as few calls as possible,
// into the working set its decisions run on.

import type { ClassicLevel } from 'classic-level';
import type { LRUCache } from 'lru-cache';
import { WorkingSet, visitKeysNeeded } from '../domain/apply.ts';
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
 * The keys of one sublevel a round reads: each key asked for is looked up in the working set, then among the
 * records staged for writing, then in the cache; one found is put into the working set, the rest are read.
 * Asked synchronously right before the read that fetches the rest: a staged record leaves `unwritten` only
 * once its write is in LevelDB, so the read (whose snapshot is taken when it is issued) sees it. A key missing
 * twice is read twice (a capture and its authorization in one buffer): cheaper than a set of every key asked.
 */
/**
 * lru-cache's get() makes an options object when given none, and writes its `status` into whichever it has:
 * one shared object, its status cleared before each call, spares an allocation a lookup and behaves the same.
 */
const GET_OPTIONS: LRUCache.GetOptions<string, object, unknown> = {};

class Wanted<T extends {}> {
  readonly missing: string[] = [];

  constructor(
    private readonly cache: LRUCache<string, T>,
    private readonly unwritten: Map<string, T> | undefined,
    readonly into: Map<string, T>,
  ) {}

  want(key: string): void {
    if (this.into.has(key)) return;
    GET_OPTIONS.status = undefined;
    const hit = this.unwritten?.get(key) ?? this.cache.get(key, GET_OPTIONS as LRUCache.GetOptions<string, T, unknown>);
    if (hit !== undefined) this.into.set(key, hit);
    else this.missing.push(key);
  }

  /** Decodes what a read found for the missing keys (from `at` in `texts`), caching each record. */
  found(texts: (string | undefined)[], at: number, decode: (text: string, i: number) => T): void {
    const keys = this.missing;
    for (let i = 0; i < keys.length; i++) {
      const text = texts[at + i];
      if (text === undefined) continue;
      const value = decode(text, i);
      this.cache.set(keys[i]!, value);
      this.into.set(keys[i]!, value);
    }
  }
}

/**
 * Keys of several sublevels in one getMany on the root database: each read is a call into LevelDB that takes
 * its lock and queues work on the libuv pool from the main thread, which waits there on a busy machine, so a
 * buffer's prefetch makes one call a round, not one a sublevel. A large round is split to be read on several
 * libuv threads at once. Values come back in the order asked, group after group.
 */
async function readRound(db: ClassicLevel<string, string>, ...groups: [sub: Sub, keys: string[]][]): Promise<(string | undefined)[]> {
  let count = 0;
  for (let g = 0; g < groups.length; g++) count += groups[g]![1].length;
  if (count === 0) return [];
  const size = Math.ceil(count / Math.min(READ_PARTS_MAX, Math.ceil(count / READ_PART_KEYS_MIN)));
  // the keys go straight into their parts: no array of them all to slice
  const parts: string[][] = [];
  let part: string[] = [];
  for (let g = 0; g < groups.length; g++) {
    const [sub, subKeys] = groups[g]!;
    for (let i = 0; i < subKeys.length; i++) {
      part.push(sub.prefix + subKeys[i]!);
      if (part.length === size) {
        parts.push(part);
        part = [];
      }
    }
  }
  if (part.length > 0) parts.push(part);
  if (parts.length === 1) return db.getMany(parts[0]!);
  const read = await Promise.all(parts.map((keys) => db.getMany(keys)));
  const values = new Array<string | undefined>(count);
  let at = 0;
  for (let p = 0; p < read.length; p++) {
    const partValues = read[p]!;
    for (let i = 0; i < partValues.length; i++) values[at++] = partValues[i];
  }
  return values;
}

/** Reads everything a buffer of orders needs: two rounds, one LevelDB read each. */
export async function prefetch(source: PrefetchSource, orders: readonly Order[], extraOrderIds: Iterable<string>): Promise<WorkingSet> {
  const { db, rooms, cache } = source;
  const ws = new WorkingSet();
  const orderRecords = new Wanted(cache.orders, cache.unwritten.orders, ws.orders);
  const cards = new Wanted(cache.cards, undefined, ws.cards);
  visitKeysNeeded(
    orders,
    (id) => orderRecords.want(id),
    (token) => cards.want(token),
  );
  if (Array.isArray(extraOrderIds)) for (let i = 0; i < extraOrderIds.length; i++) orderRecords.want(extraOrderIds[i]);
  else for (const id of extraOrderIds) orderRecords.want(id);
  const texts = await readRound(db, [rooms.orders, orderRecords.missing], [rooms.cards, cards.missing]);
  orderRecords.found(texts, 0, decodeOrderRecord);
  cards.found(texts, orderRecords.missing.length, decodeCard);
  await resolvePanTokens(source, orders, ws);
  await readNamedRecords(source, orders, ws);
  return ws;
}

/** The second round: what the first one's records name (the cards' and merchants' accounts, the cards of earlier orders). */
async function readNamedRecords({ db, rooms, cache }: PrefetchSource, orders: readonly Order[], ws: WorkingSet): Promise<void> {
  const accounts = new Wanted(cache.accounts, cache.unwritten.accounts, ws.accounts);
  // forEach, not for...of: no iterator result a record in code V8 has not optimized (a loop run once a buffer)
  ws.cards.forEach((card) => {
    accounts.want(card.accountId);
  });
  for (let i = 0; i < orders.length; i++) {
    const merchant = orders[i]!.merchant;
    if (merchant !== undefined) accounts.want(merchant);
  }
  // the cards of earlier orders are put into ws.cards only after the loop above: their accounts are not read
  const moreCards = new Wanted(cache.cards, undefined, ws.cards);
  ws.orders.forEach((r) => {
    if (r.accountId !== undefined) accounts.want(r.accountId);
    if (r.holdAccountId !== undefined) accounts.want(r.holdAccountId);
    if (r.order.merchant !== undefined) accounts.want(r.order.merchant);
    if (r.order.cardToken !== undefined) moreCards.want(r.order.cardToken);
  });
  const ids = accounts.missing;
  const texts = await readRound(db, [rooms.accounts, ids], [rooms.balances, ids], [rooms.cards, moreCards.missing]);
  accounts.found(texts, 0, (text, i) => decodeAccountWithBalance(text, texts[ids.length + i]));
  moreCards.found(texts, 2 * ids.length, decodeCard);
}

/**
 * Orders sent with a PAN after a key rotation: the cards their older tokens name are read (one round, only
 * when some order has no card under its current token) and each order takes its card's token
 * (src/domain/keys.ts resolvePanToken).
 */
async function resolvePanTokens({ db, rooms, cache, fingerprintKey }: PrefetchSource, orders: readonly Order[], ws: WorkingSet): Promise<void> {
  const older = new Set<string>();
  for (let i = 0; i < orders.length; i++) {
    const o = orders[i]!;
    if (o.panTokens === undefined || o.cardToken === undefined || ws.cards.has(o.cardToken)) continue;
    for (const token of o.panTokens) older.add(token);
  }
  if (older.size === 0) return;
  const cards = new Wanted(cache.cards, undefined, ws.cards);
  for (const token of older) cards.want(token);
  cards.found(await readRound(db, [rooms.cards, cards.missing]), 0, decodeCard);
  for (const o of orders) resolvePanToken(o, (token) => ws.cards.has(token), fingerprintKey);
}
