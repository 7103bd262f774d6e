// The LevelDB ledger: sublevels, caches over them, prefetch-decide-commit, queries and the lock.

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { LRUCache } from 'lru-cache';
import { checkPan, panDisplay, parseExpiry, tokenizePan } from '../domain/cards.ts';
import { type KeyRing, currentKey, olderVersions, orderFingerprintKey, resolvePanToken, tokenCandidates } from '../domain/keys.ts';
import { KeyError, type KeyBinding, bindKeys, loadKeys } from './keys.ts';
import { FUNDING_ACCOUNT_ID, type OrderRecord, WorkingSet, invariantFailed, available, keysNeeded } from '../domain/apply.ts';
import type { Account, Card, CardHolder, Order, OwnerKind, Transfer } from '../domain/types.ts';
import { SYSTEM_ACTOR } from '../domain/actor.ts';
import {
  type AuditDraft,
  type AuditEntry,
  type AuditFilter,
  type AuditStamp,
  type ChainHead,
  EMPTY_HEAD,
  chainEntry,
  decodeHead,
  encodeHead,
  entryMatches,
  shortToken,
} from '../domain/audit.ts';
import { type Posting, type PostingKind, checkDecision, decodePosting, encodePosting } from '../domain/four-eyes.ts';
import { currencyExponent, formatAmount } from '../domain/money.ts';
import { type AppliedStep, AppliedLog } from './applied.ts';
import {
  CHAIN_KEYS_FROM,
  chainKey,
  chainSeq,
  decodeAccountWithBalance,
  decodeBalance,
  decodeCard,
  decodeOrderRecord,
  decodeTransfer,
  decodeTransferWithLinks,
  encodeAccount,
  encodeBalance,
  encodeCard,
  encodeOrderRecord,
  encodeTransfer,
  newestFirstKey,
  timeKey,
} from './codec.ts';

const openSub = (db: ClassicLevel<string, string>, name: string) =>
  db.sublevel<string, string>(name, { valueEncoding: 'utf8' });
export type Sub = ReturnType<typeof openSub>;
export type LevelBatch = ReturnType<ClassicLevel<string, string>['batch']>;
export type BatchOp = { type: 'put'; sublevel: Sub; key: string; value: string } | { type: 'del'; sublevel: Sub; key: string };

/** Operations through sublevels, as puts and deletes on the root database's batch (prefixes applied here). */
function putOps(batch: LevelBatch, ops: readonly BatchOp[]): void {
  for (const op of ops) {
    if (op.type === 'put') batch.put(op.sublevel.prefix + op.key, op.value);
    else batch.del(op.sublevel.prefix + op.key);
  }
}

/** reads of one prefetch round in parallel at most (libuv's pool has 4 threads) */
const READ_PARTS_MAX = 4;
/** a round is split only into parts of at least this many keys */
const READ_PART_KEYS_MIN = 1000;

export interface StoreOptions {
  /** fsync every write (survives power loss, costs throughput) @default false */
  sync?: boolean;
  // Sized by measurement (bench, 1,000,000 cards): a 200,000-card cache hit 9 % of lookups for ~130 MB of
  // heap, the account cache 30 % (mostly merchants, few and hot); at 100,000 cards the apply stage ran as
  // fast with 50,000 entries as with 200,000. New orders always miss the order cache (their ids are new).
  /** @default 50_000 */ cardsCacheMax?: number;
  /** @default 50_000 */ accountsCacheMax?: number;
  /** @default 10_000 (recent orders: captures, refunds and duplicates mostly refer to them) */ ordersCacheMax?: number;
  /** the process that opens the store, recorded so a second one can be told who holds it */
  owner?: { command: string; natsUrl?: string; servicePrefix?: string };
  /** the tokenization keys; absent: from `keyFile`, else the environment (src/ledger/keys.ts loadKeys) */
  keys?: KeyRing;
  /** the key file (--key-file); absent: PAYSTREAM_KEY_FILE, PAYSTREAM_KEY */
  keyFile?: string;
  /** where `keys` came from, for messages @default 'the key given' */
  keysFrom?: string;
  /** how the ledger takes the keys (src/ledger/keys.ts KeyBinding) @default 'open' */
  keyBinding?: KeyBinding;
}

export class LedgerLockedError extends Error {
  override name = 'LedgerLockedError';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      holder
        ? `the ledger at ${dataDir} is in use by process ${holder.pid} (${holder.command}, since ${holder.startedAt}); ` +
            'stop it first, or talk to it through its NATS service'
        : `the ledger at ${dataDir} is in use by another process`,
    );
  }
}

export class LedgerError extends Error {
  override name = 'LedgerError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LockHolder {
  pid: number;
  command: string;
  startedAt: string;
  natsUrl?: string;
  servicePrefix?: string;
}

/** meta key of the audit chain's head: "<seq> <hash>" */
export const AUDIT_HEAD_KEY = 'audit!head';
/** a listing reads back at most this many entries */
export const AUDIT_SCAN_MAX = 100_000;
/** The key of the `seq`-th audit entry: sorts in sequence order. */
export const auditKey = (seq: number): string => `e!${seq.toString().padStart(16, '0')}`;
/** The sequence number in an audit entry's key; undefined for any other key. */
export function auditKeySeq(key: string): number | undefined {
  if (!/^e!\d{16}$/.test(key)) return undefined;
  const seq = Number(key.slice(2));
  return Number.isSafeInteger(seq) ? seq : undefined;
}
const money = (a: Account): string => formatAmount(a.balanceMinor, a.currency, { grouping: false });
const OWNER_FILE = 'owner.json';


export async function readLockHolder(dataDir: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(path.join(dataDir, OWNER_FILE), 'utf8')) as LockHolder;
    try {
      process.kill(holder.pid, 0);
      return holder;
    } catch (error) {
      // EPERM: alive, but another user's; only ESRCH means the recorded holder is gone
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? holder : undefined;
    }
  } catch {
    return undefined;
  }
}

export interface CardView {
  card: Card;
  account: Account | undefined;
}

export interface RegisterCardInput {
  pan: string;
  expiry: string;
  holder: CardHolder;
  accountId?: string;
  currency?: string;
}

export class LedgerStore {
  readonly db: ClassicLevel<string, string>;
  readonly cards: Sub;
  readonly accounts: Sub;
  /** account id -> "<balanceMinor> <holdsMinor>": the moving part of an account (see codec.ts) */
  readonly balances: Sub;
  readonly transfers: Sub;
  readonly orders: Sub;
  readonly batches: Sub;
  readonly index: Sub;
  readonly meta: Sub;
  /** open holds: order id -> { accountId, amountMinor, expiresAtMs } (authorizations and review holds) */
  readonly holds: Sub;
  /** the audit trail: `e!<seq, 16 digits>` -> entry (domain/audit.ts), append-only; its head in meta `audit!head` */
  readonly audit: Sub;
  /** manual postings waiting for a second operator: `p!<id>` -> posting, `open!<id>` while pending */
  readonly postings: Sub;
  /** the newest audit entry written (advanced only once its write is in LevelDB) */
  private auditHead: ChainHead = EMPTY_HEAD;
  /** errors whose audit entry is written already (so the operations table does not write a second one) */
  private readonly auditedErrors = new WeakSet<object>();
  private readonly auditListeners = new Set<(entry: AuditEntry) => void>();
  /** the tokenization keys (src/domain/keys.ts): new cards under the current version, older ones still found */
  readonly keys: KeyRing;
  /** the current version's key: new card tokens, tokens in dead letters and recordings */
  readonly secret: Buffer;
  /** version 1's key: the order fingerprints, the same across rotations (src/domain/fingerprint.ts) */
  readonly fingerprintKey: Buffer;
  /** the older versions' keys, newest first (olderVersions): looked up once, not for every order with a PAN */
  private readonly olderKeys: readonly Buffer[];
  /** the stream sequences applied, written with each buffer's effects, and the crash-loop guard's notes */
  applied!: AppliedLog;
  private readonly cardCache: LRUCache<string, Card>;
  private readonly accountCache: LRUCache<string, Account>;
  private readonly orderCache: LRUCache<string, OrderRecord>;
  private readonly sync: boolean;
  /** serializes every write: the pipeline's buffers and operator commands take turns */
  private writeChain: Promise<unknown> = Promise.resolve();
  /** LevelDB writes, one after the other */
  private writeQueue: Promise<void> = Promise.resolve();
  /** sequence number of the newest chained transfer staged (codec.ts, transfer chains) */
  private transferSeq = 0;
  /** set once a write to the review index has landed; see reviewQueueSize */
  private reviewIndexChanged = true;
  private reviewQueueCount: { n: number; limit: number } | undefined;
  /**
   * Records staged in a write that has not reached LevelDB yet. Reads look here first, so the next buffer
   * can be decided while the previous one is being written (an LRU eviction cannot expose a stale value).
   */
  private readonly unwritten = {
    accounts: new Map<string, Account>(),
    orders: new Map<string, OrderRecord>(),
  };

  private constructor(
    readonly dataDir: string,
    db: ClassicLevel<string, string>,
    keys: KeyRing,
    options: StoreOptions,
  ) {
    this.db = db;
    this.keys = keys;
    this.secret = currentKey(keys);
    this.fingerprintKey = orderFingerprintKey(keys);
    this.olderKeys = olderVersions(keys).map((v) => keys.keys.get(v)!);
    this.cards = openSub(db, 'cards');
    this.accounts = openSub(db, 'accounts');
    this.balances = openSub(db, 'balances');
    this.transfers = openSub(db, 'transfers');
    this.orders = openSub(db, 'orders');
    this.batches = openSub(db, 'batches');
    this.index = openSub(db, 'index');
    this.meta = openSub(db, 'meta');
    this.holds = openSub(db, 'holds');
    this.audit = openSub(db, 'audit');
    this.postings = openSub(db, 'postings');
    this.sync = options.sync ?? false;
    this.cardCache = new LRUCache({ max: options.cardsCacheMax ?? 50_000 });
    this.accountCache = new LRUCache({ max: options.accountsCacheMax ?? 50_000 });
    this.orderCache = new LRUCache({ max: options.ordersCacheMax ?? 10_000 });
  }

  static async open(dataDir: string, options: StoreOptions = {}): Promise<LedgerStore> {
    // the keys are read first, but a key problem is raised only after the lock is checked: a ledger in use
    // is talked to through its processor's service, which needs no key here
    let keys: { ring: KeyRing; from: string } | KeyError;
    try {
      keys = options.keys
        ? { ring: options.keys, from: options.keysFrom ?? 'the key given' }
        : await loadKeys(dataDir, options.keyFile === undefined ? {} : { keyFile: options.keyFile });
    } catch (error) {
      if (!(error instanceof KeyError)) throw error;
      keys = error;
    }
    // no ledger is made for a key that is refused
    if (keys instanceof KeyError && !existsSync(path.join(dataDir, 'db'))) throw keys;
    await mkdir(dataDir, { recursive: true });
    // a larger write buffer means fewer level-0 flushes and compaction stalls under sustained writes
    const db = new ClassicLevel<string, string>(path.join(dataDir, 'db'), {
      valueEncoding: 'utf8',
      writeBufferSize: 16 * 1024 * 1024,
      cacheSize: 32 * 1024 * 1024,
    });
    try {
      await db.open();
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String((cause as Error | undefined)?.message))) {
        throw new LedgerLockedError(dataDir, await readLockHolder(dataDir));
      }
      throw error;
    }
    try {
      if (keys instanceof KeyError) throw keys;
      const sub = (name: string) => db.sublevel<string, string>(name, { valueEncoding: 'utf8' });
      await bindKeys({ meta: sub('meta'), cards: sub('cards') }, keys.ring, dataDir, keys.from, options.keyBinding);
    } catch (error) {
      await db.close();
      throw error;
    }
    const holder: LockHolder = {
      pid: process.pid,
      command: options.owner?.command ?? process.argv.slice(2).join(' '),
      startedAt: new Date().toISOString(),
    };
    if (options.owner?.natsUrl) holder.natsUrl = options.owner.natsUrl;
    if (options.owner?.servicePrefix) holder.servicePrefix = options.owner.servicePrefix;
    await writeFile(path.join(dataDir, OWNER_FILE), JSON.stringify(holder));
    const store = new LedgerStore(dataDir, db, keys.ring, options);
    await store.writeSchemaVersion();
    await store.openAuditTrail();
    store.applied = await AppliedLog.load(db, store.meta.prefix);
    for await (const key of store.transfers.keys({ gte: CHAIN_KEYS_FROM, reverse: true, limit: 1 })) {
      const seq = chainSeq(key);
      if (seq === undefined) throw new LedgerError('unreadable', `transfer key ${key} is not a chained transfer's`);
      store.transferSeq = seq;
    }
    return store;
  }

  async close(): Promise<void> {
    await this.writeChain.catch(() => undefined);
    await this.writeQueue.catch(() => undefined);
    await writeFile(path.join(this.dataDir, OWNER_FILE), '{}').catch(() => undefined);
    await this.db.close();
  }

  /** After bulk writes that bypass the caches. */
  forgetCaches(): void {
    this.reviewIndexChanged = true;
    this.cardCache.clear();
    this.accountCache.clear();
    this.orderCache.clear();
  }

  /** A checked PAN's token under the current key version (a new card's). */
  tokenize(pan: string): string {
    return tokenizePan(pan, this.secret);
  }

  /** A checked PAN's tokens under the older key versions, newest first (none with one version). */
  olderTokens(pan: string): string[] {
    return this.olderKeys.map((key) => tokenizePan(pan, key));
  }

  /** The card of a checked PAN, under whichever key version it was registered: the current one tried first. */
  async findCardByPan(pan: string): Promise<Card | undefined> {
    for (const { token } of tokenCandidates(this.keys, pan)) {
      const card = await this.getCard(token);
      if (card) return card;
    }
    return undefined;
  }

  /**
   * One atomic LevelDB write; fsynced when the store was opened with `sync`. A chained batch on the root
   * database with the sublevel prefixes applied here: abstract-level's per-operation work for array batches
   * through sublevels cost about a fifth of the processor's time (profiled).
   */
  write(ops: BatchOp[]): Promise<void> {
    const batch = this.db.batch();
    putOps(batch, ops);
    return this.writeBatch(batch);
  }

  /**
   * Writes a chained batch behind every earlier one: writes reach LevelDB in the order they were staged,
   * and after a failed write none of the later ones run. The pipeline's commits fill the batch directly
   * (no operation objects in between); operator commands come through `write`.
   */
  writeBatch(batch: LevelBatch): Promise<void> {
    const run = this.writeQueue.then(() => batch.write({ sync: this.sync } as never));
    this.writeQueue = run;
    return run;
  }

  /** Runs fn after every earlier write finished; writes never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn, fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  /** Funding accounts are per currency (`funding-<CCY>`), opened by the first deposit; only the version is written here. */
  private async writeSchemaVersion(): Promise<void> {
    await this.write([{ type: 'put', sublevel: this.meta, key: 'version', value: '1' }]);
  }

  // ---- reads (cache first) ----

  async getCard(token: string): Promise<Card | undefined> {
    const cached = this.cardCache.get(token);
    if (cached) return cached;
    const text = await this.cards.get(token);
    if (text === undefined) return undefined;
    const card = decodeCard(text);
    this.cardCache.set(token, card);
    return card;
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const cached = this.unwritten.accounts.get(id) ?? this.accountCache.get(id);
    if (cached) return cached;
    const [text, balance] = await this.db.getMany([this.accounts.prefix + id, this.balances.prefix + id]);
    if (text === undefined) return undefined;
    const account = decodeAccountWithBalance(text, balance);
    this.accountCache.set(id, account);
    return account;
  }

  async getOrder(id: string): Promise<OrderRecord | undefined> {
    const cached = this.unwritten.orders.get(id) ?? this.orderCache.get(id);
    if (cached) return cached;
    const text = await this.orders.get(id);
    if (text === undefined) return undefined;
    const record = decodeOrderRecord(text);
    this.orderCache.set(id, record);
    return record;
  }

  /**
   * Keys of `keys` found neither in `into`, nor staged, nor cached; those found are put into `into`.
   * Checked synchronously right before the read that fetches the rest: a staged record leaves `unwritten`
   * only once its write is in LevelDB, so the read (whose snapshot is taken when it is issued) sees it.
   */
  private missing<T extends {}>(
    keys: Iterable<string>,
    cache: LRUCache<string, T>,
    /** records staged but not yet written (cards have none: the pipeline never changes a card) */
    unwritten: Map<string, T> | undefined,
    into: Map<string, T>,
  ): string[] {
    const missing: string[] = [];
    for (const key of keys) {
      if (into.has(key)) continue;
      const hit = unwritten?.get(key) ?? cache.get(key);
      if (hit !== undefined) into.set(key, hit);
      else missing.push(key);
    }
    return missing;
  }

  /**
   * Keys of several sublevels in one getMany on the root database: each read is a call into LevelDB that
   * takes its lock and queues work on the libuv pool from the main thread, and on two busy cores that
   * thread waited there ~150 µs a call (measured: 15,177 calls, 2.3 s, up to 38 ms once), so a buffer's
   * prefetch makes one call a round, not one a sublevel. Values come back in the order asked, by group.
   */
  private async readRound(...groups: [sub: Sub, keys: string[]][]): Promise<(string | undefined)[][]> {
    const keys: string[] = [];
    for (const [sub, subKeys] of groups) for (const key of subKeys) keys.push(sub.prefix + key);
    if (keys.length === 0) return groups.map(() => []);
    // a large round is split to be read on several libuv threads at once (a full buffer reads ~6,000
    // keys; one call for all of them made the apply stage 7 % slower than a call per sublevel)
    const parts = Math.min(READ_PARTS_MAX, Math.ceil(keys.length / READ_PART_KEYS_MIN));
    const size = Math.ceil(keys.length / parts);
    const values =
      parts === 1
        ? await this.db.getMany(keys)
        : (await Promise.all(Array.from({ length: parts }, (_, i) => this.db.getMany(keys.slice(i * size, (i + 1) * size))))).flat();
    const out: (string | undefined)[][] = [];
    let at = 0;
    for (const [, subKeys] of groups) {
      out.push(values.slice(at, at + subKeys.length));
      at += subKeys.length;
    }
    return out;
  }

  /** Decodes what a read found, caching each record and adding it to the working set's map. */
  private found<T extends {}>(
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

  /** Reads everything a buffer of orders needs: two rounds, one LevelDB read each. */
  async prefetch(orders: readonly Order[], extraOrderIds: Iterable<string> = []): Promise<WorkingSet> {
    const ws = new WorkingSet();
    const { orderIds, cardTokens } = keysNeeded(orders);
    for (const id of extraOrderIds) orderIds.add(id);
    const ordersMissing = this.missing(orderIds, this.orderCache, this.unwritten.orders, ws.orders);
    const cardsMissing = this.missing(cardTokens, this.cardCache, undefined, ws.cards);
    const [orderTexts, cardTexts] = await this.readRound([this.orders, ordersMissing], [this.cards, cardsMissing]);
    this.found(ordersMissing, orderTexts!, decodeOrderRecord, this.orderCache, ws.orders);
    this.found(cardsMissing, cardTexts!, decodeCard, this.cardCache, ws.cards);
    await this.resolvePanTokens(orders, ws);
    // then what those name: the cards' and merchants' accounts, and the cards of earlier orders
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
    const accountsMissing = this.missing(accountIds, this.accountCache, this.unwritten.accounts, ws.accounts);
    const moreCardsMissing = this.missing(moreCards, this.cardCache, undefined, ws.cards);
    const [accountTexts, balanceTexts, moreCardTexts] = await this.readRound(
      [this.accounts, accountsMissing],
      [this.balances, accountsMissing],
      [this.cards, moreCardsMissing],
    );
    this.found(accountsMissing, accountTexts!, (text, i) => decodeAccountWithBalance(text, balanceTexts![i]), this.accountCache, ws.accounts);
    this.found(moreCardsMissing, moreCardTexts!, decodeCard, this.cardCache, ws.cards);
    return ws;
  }

  /**
   * Orders sent with a PAN after a key rotation: the cards their older tokens name are read (one round,
   * only when some order has no card under its current token) and each order takes its card's token
   * (src/domain/keys.ts resolvePanToken).
   */
  private async resolvePanTokens(orders: readonly Order[], ws: WorkingSet): Promise<void> {
    const older = new Set<string>();
    for (const o of orders) {
      if (o.panTokens === undefined || o.cardToken === undefined || ws.cards.has(o.cardToken)) continue;
      for (const token of o.panTokens) older.add(token);
    }
    if (older.size === 0) return;
    const missing = this.missing(older, this.cardCache, undefined, ws.cards);
    const [texts] = await this.readRound([this.cards, missing]);
    this.found(missing, texts!, decodeCard, this.cardCache, ws.cards);
    for (const o of orders) resolvePanToken(o, (token) => ws.cards.has(token), this.fingerprintKey);
  }

  /**
   * Stages every change of a working set as one atomic LevelDB batch and returns when it is written.
   * Callers that may overlap the next decisions with the write (the pipeline) need not wait for it, but
   * must not acknowledge anything before it resolves. `applied`: the stream sequences the working set
   * decided, recorded in the same batch (see applied.ts).
   */
  commit(ws: WorkingSet, extraOps: BatchOp[] = [], applied?: AppliedStep): Promise<void> {
    try {
      return this.stage(ws, extraOps, applied);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private stage(ws: WorkingSet, extraOps: BatchOp[], applied: AppliedStep | undefined): Promise<void> {
    // puts go straight into LevelDB's batch, keys prefixed here (as `write` does for operation lists)
    const batch = this.db.batch();
    let touchesReview: boolean;
    try {
      touchesReview = this.fill(batch, ws, extraOps);
      // last: nothing after it can fail and leave the in-memory record ahead of an unwritten batch
      if (applied !== undefined && applied.seqs.length > 0) this.applied.stage(batch, applied);
    } catch (error) {
      void batch.close();
      throw error;
    }
    if (batch.length === 0) {
      void batch.close();
      return Promise.resolve();
    }
    // the new state is visible to the next reads at once; the write lands in order behind earlier ones
    const staged: [Map<string, Account | OrderRecord>, string, Account | OrderRecord][] = [];
    for (const id of ws.dirtyAccounts) {
      const a = ws.accounts.get(id)!;
      this.accountCache.set(id, a);
      this.unwritten.accounts.set(id, a);
      staged.push([this.unwritten.accounts, id, a]);
    }
    for (const id of ws.dirtyOrders) {
      const r = ws.orders.get(id)!;
      this.orderCache.set(id, r);
      this.unwritten.orders.set(id, r);
      staged.push([this.unwritten.orders, id, r]);
    }
    // cards are read-only here: prefetch cached them already
    const written = this.writeBatch(batch);
    void written.then(
      () => {
        for (const [map, key, value] of staged) if (map.get(key) === value) map.delete(key);
        // once it is in LevelDB, so a count cannot cache the state before this write
        if (touchesReview) this.reviewIndexChanged = true;
      },
      () => undefined,
    );
    return written;
  }

  /** Puts every change of the working set into the batch; true when the review index is touched. */
  private fill(batch: LevelBatch, ws: WorkingSet, extraOps: BatchOp[]): boolean {
    const accounts = this.accounts.prefix;
    const balances = this.balances.prefix;
    const orders = this.orders.prefix;
    const index = this.index.prefix;
    const holds = this.holds.prefix;
    let touchesReview = false;
    // first, so a later put of the same key (an expiry changed and changed back) wins within the batch
    for (const { orderId, atMs } of ws.staleExpiries) batch.del(`${index}exp!${timeKey(atMs)}!${orderId}`);
    // before the balance records: each transfer moves the heads of its two accounts' chains
    for (const t of ws.transfers) this.putTransfer(batch, t, ws);
    for (const id of ws.dirtyAccounts) {
      const a = ws.accounts.get(id)!;
      // the last check before the write; messages built only on failure (this runs for every dirty account)
      if (!a.overdraftAllowed && available(a) < 0n) invariantFailed(`account ${id} would be overdrawn: ${available(a)}`);
      if (a.holdsMinor < 0n) invariantFailed(`account ${id} holds negative`);
      // the static record once, when the account is opened; the balance record every time
      if (ws.createdAccounts.has(id)) batch.put(accounts + id, encodeAccount(a));
      batch.put(balances + id, encodeBalance(a));
    }
    for (const id of ws.dirtyOrders) {
      const r = ws.orders.get(id)!;
      batch.put(orders + id, encodeOrderRecord(r));
      // only an order that was held for review has a review entry to add or remove
      if (r.reviewRule !== undefined || r.result.status === 'held') {
        const reviewKey = `${index}review!${id}`;
        touchesReview = true;
        if (r.open && r.result.status === 'held') batch.put(reviewKey, '');
        else batch.del(reviewKey);
      }
      if (r.holdExpiresAtMs !== undefined) {
        const expKey = `${index}exp!${timeKey(r.holdExpiresAtMs)}!${id}`;
        if (r.open) batch.put(expKey, '');
        else batch.del(expKey);
        const holdAccount = r.holdAccountId ?? r.accountId;
        if (r.open && r.holdMinor > 0n && holdAccount !== undefined) {
          const hold = { accountId: holdAccount, amountMinor: r.holdMinor.toString(), expiresAtMs: r.holdExpiresAtMs, status: r.result.status };
          batch.put(holds + id, JSON.stringify(hold));
        } else batch.del(holds + id);
      }
    }
    for (const o of ws.riskObserved) batch.put(`${index}risk!${timeKey(o.atMs)}!${o.orderId}`, '');
    putOps(batch, extraOps);
    return touchesReview;
  }

  /**
   * A transfer under the next chain key, linked to the previous transfer of each of its accounts, and the
   * key made the head of both (their balance records are written after this, with the new heads). The
   * accounts are the working set's own copies, made by this buffer's transfers: setting the head there
   * changes nothing another reader holds.
   */
  private putTransfer(batch: LevelBatch, t: Transfer, ws: WorkingSet): void {
    const debit = ws.accounts.get(t.debit);
    const credit = ws.accounts.get(t.credit);
    if (!debit || !credit || !ws.dirtyAccounts.has(t.debit) || !ws.dirtyAccounts.has(t.credit)) {
      invariantFailed(`transfer ${t.id}: its accounts must be changed in the working set`);
    }
    const key = chainKey(++this.transferSeq);
    batch.put(this.transfers.prefix + key, encodeTransfer(t, { prevDebit: debit.historyHead, prevCredit: credit.historyHead }));
    debit.historyHead = key;
    credit.historyHead = key;
  }

  // ---- the audit trail (every operator command writes its entry in the same LevelDB write as its effect) ----

  /**
   * Loads the chain's head. A ledger without a trail starts one: its first entry, `audit.start`, records the
   * manual-posting counters reached before it, so verify can tell those older transfers from unaudited ones.
   * A head lost from meta is taken from the last entry (verify reports the mismatch).
   */
  private async openAuditTrail(): Promise<void> {
    const head = decodeHead(await this.meta.get(AUDIT_HEAD_KEY));
    if (head) {
      this.auditHead = head;
      return;
    }
    for await (const text of this.audit.values({ reverse: true, limit: 1 })) {
      const last = JSON.parse(text) as AuditEntry;
      this.auditHead = { seq: last.seq, hash: last.hash };
      return;
    }
    const [deposits, withdrawals, seeded] = await this.meta.getMany(['seq!deposit', 'seq!withdrawal', 'seq!seed']);
    await this.writeAudited([], {
      actor: SYSTEM_ACTOR,
      action: 'audit.start',
      params: {},
      atMs: Date.now(),
      outcome: 'ok',
      after: { deposits: Number(deposits ?? 0), withdrawals: Number(withdrawals ?? 0), seeded: Number(seeded ?? 0) },
    });
  }

  /** The entry's puts: the entry under its sequence key, and the new head. */
  private auditOps(entry: AuditEntry): BatchOp[] {
    return [
      { type: 'put', sublevel: this.audit, key: auditKey(entry.seq), value: JSON.stringify(entry) },
      { type: 'put', sublevel: this.meta, key: AUDIT_HEAD_KEY, value: encodeHead(entry) },
    ];
  }

  private landed(entry: AuditEntry): void {
    this.auditHead = { seq: entry.seq, hash: entry.hash };
    for (const listener of this.auditListeners) {
      try {
        listener(entry);
      } catch {
        // a listener (the dashboard's ring) must not fail the command whose write has landed
      }
    }
  }

  /** Writes `ops` and the audit entry for them in one LevelDB write. Call under `exclusive`. */
  async writeAudited(ops: BatchOp[], draft: AuditDraft): Promise<AuditEntry> {
    const entry = chainEntry(this.auditHead, draft);
    await this.write([...ops, ...this.auditOps(entry)]);
    this.landed(entry);
    return entry;
  }

  /** Commits a working set with the audit entry for it in the same LevelDB write. Call under `exclusive`. */
  async commitAudited(ws: WorkingSet, draft: AuditDraft, extraOps: BatchOp[] = []): Promise<AuditEntry> {
    return (await this.commitAuditedAll(ws, [draft], extraOps))[0]!;
  }

  /** Commits a working set with several audit entries, chained in order, in the same LevelDB write. Call under `exclusive`. */
  async commitAuditedAll(ws: WorkingSet, drafts: readonly AuditDraft[], extraOps: BatchOp[] = []): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    const ops = [...extraOps];
    let head = this.auditHead;
    for (const draft of drafts) {
      const entry = chainEntry(head, draft);
      entries.push(entry);
      ops.push(...this.auditOps(entry));
      head = { seq: entry.seq, hash: entry.hash };
    }
    await this.commit(ws, ops);
    for (const entry of entries) this.landed(entry);
    return entries;
  }

  /** A failed operation's entry, alone (once per error). Call under `exclusive`. */
  private async writeFailure(stamp: AuditStamp, nowMs: number, error: unknown): Promise<void> {
    if (typeof error === 'object' && error !== null) {
      if (this.auditedErrors.has(error)) return;
      this.auditedErrors.add(error);
    }
    const code = error instanceof LedgerError ? error.code : 'internal';
    // best effort: a ledger that cannot write this entry cannot have written the effect either
    await this.writeAudited([], { ...stamp, atMs: nowMs, outcome: 'error', error: code }).catch(() => undefined);
  }

  /** Runs an operator command under the lock; an error it throws is audited (an entry alone) on its way out. */
  private auditedCommand<T>(stamp: AuditStamp, nowMs: number, body: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      try {
        return await body();
      } catch (error) {
        await this.writeFailure(stamp, nowMs, error);
        throw error;
      }
    });
  }

  /** An operation refused before it reached the store (a missing field, an unparsable amount): its entry, alone. */
  auditFailure(stamp: AuditStamp, nowMs: number, error: unknown): Promise<void> {
    return this.exclusive(() => this.writeFailure(stamp, nowMs, error));
  }

  /** An operation whose effect lies outside the ledger (rules reload): its entry, alone. */
  auditAlone(draft: AuditDraft): Promise<AuditEntry> {
    return this.exclusive(() => this.writeAudited([], draft));
  }

  /** Whether an error's audit entry has been written already. */
  wasAudited(error: unknown): boolean {
    return typeof error === 'object' && error !== null && this.auditedErrors.has(error);
  }

  /** Calls `listener` with each entry once it is in LevelDB; returns the unsubscribe. */
  onAudit(listener: (entry: AuditEntry) => void): () => void {
    this.auditListeners.add(listener);
    return () => this.auditListeners.delete(listener);
  }

  get auditHeadNow(): ChainHead {
    return { ...this.auditHead };
  }

  /**
   * Entries newest first, at most `limit`, matching the filter; reads back at most `scanMax` entries
   * (`complete` false when it stopped there) and stops at the first entry older than `sinceMs`.
   */
  async listAudit(filter: AuditFilter, limit = 50, scanMax = AUDIT_SCAN_MAX): Promise<{ entries: AuditEntry[]; complete: boolean }> {
    const entries: AuditEntry[] = [];
    let scanned = 0;
    for await (const text of this.audit.values({ reverse: true })) {
      if (++scanned > scanMax) return { entries, complete: false };
      const entry = JSON.parse(text) as AuditEntry;
      if (filter.sinceMs !== undefined && Date.parse(entry.at) < filter.sinceMs) break;
      if (entryMatches(entry, filter)) entries.push(entry);
      if (entries.length >= limit) break;
    }
    return { entries, complete: true };
  }

  // ---- operator commands (through exclusive: they never interleave with the pipeline's writes) ----

  registerCard(input: RegisterCardInput, stamp: AuditStamp, nowMs = Date.now()): Promise<{ card: Card; created: boolean }> {
    return this.auditedCommand(stamp, nowMs, async () => {
      const pan = checkPan(input.pan);
      if (!pan.ok) throw new LedgerError('invalid_pan', pan.message);
      const expiry = parseExpiry(input.expiry);
      if (!expiry.ok) throw new LedgerError('invalid_expiry', expiry.message);
      const endOfMonth = Date.UTC(expiry.year, expiry.month, 1) - 1;
      if (endOfMonth < nowMs) throw new LedgerError('card_expired', `the card expired at the end of ${input.expiry}`);
      if (!input.holder.name.trim()) throw new LedgerError('invalid_holder', 'the holder name is empty');
      // the same PAN under any key version is the same card, never a second one
      const existing = await this.findCardByPan(pan.pan);
      const token = existing?.token ?? this.tokenize(pan.pan);
      if (existing) {
        await this.writeAudited([], { ...stamp, atMs: nowMs, outcome: 'ok', after: { card: shortToken(token), created: false } });
        return { card: existing, created: false };
      }
      const ops: BatchOp[] = [];
      let accountId = input.accountId;
      let newAccount: Account | undefined;
      if (accountId !== undefined) {
        const account = await this.getAccount(accountId);
        if (!account) throw new LedgerError('unknown_account', `no account ${accountId}`);
        if (account.owner.kind !== 'cardholder') throw new LedgerError('invalid_account', `${accountId} is not a cardholder account`);
      } else {
        const currency = (input.currency ?? 'USD').toUpperCase();
        if (currencyExponent(currency) === undefined) throw new LedgerError('unknown_currency', `unknown currency ${currency}`);
        accountId = `acct_${token.slice(0, 16)}`;
        newAccount = {
          id: accountId,
          currency,
          balanceMinor: 0n,
          holdsMinor: 0n,
          owner: { kind: 'cardholder', name: input.holder.name.trim() },
          overdraftAllowed: false,
          createdAt: new Date(nowMs).toISOString(),
        };
        ops.push({ type: 'put', sublevel: this.accounts, key: accountId, value: encodeAccount(newAccount) });
      }
      const holder: CardHolder = { name: input.holder.name.trim() };
      if (input.holder.email) holder.email = input.holder.email;
      if (input.holder.phone) holder.phone = input.holder.phone;
      const card: Card = {
        token,
        first6: pan.pan.slice(0, 6),
        last4: pan.pan.slice(-4),
        brand: pan.brand,
        expiry: `${String(expiry.month).padStart(2, '0')}/${String(expiry.year % 100).padStart(2, '0')}`,
        status: 'active',
        holder,
        accountId,
        createdAt: new Date(nowMs).toISOString(),
        keyVersion: this.keys.current,
      };
      ops.push({ type: 'put', sublevel: this.cards, key: token, value: encodeCard(card) });
      ops.push({ type: 'put', sublevel: this.index, key: `last4!${card.last4}!${token}`, value: '' });
      ops.push({ type: 'put', sublevel: this.index, key: `name!${card.holder.name.toLowerCase()}!${token}`, value: '' });
      await this.writeAudited(ops, {
        ...stamp,
        atMs: nowMs,
        outcome: 'ok',
        after: { card: shortToken(token), masked: panDisplay(card.first6, card.last4), status: card.status, account: accountId, created: true },
      });
      if (newAccount) this.accountCache.set(accountId, newAccount);
      this.cardCache.set(token, card);
      return { card, created: true };
    });
  }

  setCardStatus(token: string, status: Card['status'], stamp: AuditStamp, nowMs = Date.now()): Promise<Card> {
    return this.auditedCommand(stamp, nowMs, async () => {
      const card = await this.getCard(token);
      if (!card) throw new LedgerError('unknown_card', `no card with token ${token}`);
      if (card.status === 'closed' && status !== 'closed') {
        throw new LedgerError('card_closed', 'a closed card cannot be reopened');
      }
      const updated: Card = { ...card, status };
      await this.writeAudited([{ type: 'put', sublevel: this.cards, key: token, value: encodeCard(updated) }], {
        ...stamp,
        atMs: nowMs,
        outcome: 'ok',
        before: { card: shortToken(token), status: card.status },
        after: { card: shortToken(token), status },
      });
      this.cardCache.set(token, updated);
      return updated;
    });
  }

  openAccount(input: { id?: string; owner: string; kind?: OwnerKind; currency: string }, stamp: AuditStamp, nowMs = Date.now()): Promise<Account> {
    return this.auditedCommand(stamp, nowMs, async () => {
      const currency = input.currency.toUpperCase();
      if (currencyExponent(currency) === undefined) throw new LedgerError('unknown_currency', `unknown currency ${input.currency}`);
      if (!input.owner.trim()) throw new LedgerError('invalid_owner', 'the owner is empty');
      const id = input.id ?? `acct_${await this.nextSeq('account')}`;
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new LedgerError('invalid_account', `account id ${id} is not 1-64 of [A-Za-z0-9_-]`);
      if (id.startsWith(FUNDING_ACCOUNT_ID)) throw new LedgerError('invalid_account', 'funding accounts are the system\'s');
      if (await this.getAccount(id)) throw new LedgerError('account_exists', `account ${id} exists`);
      const account: Account = {
        id,
        currency,
        balanceMinor: 0n,
        holdsMinor: 0n,
        owner: { kind: input.kind ?? 'merchant', name: input.owner.trim() },
        overdraftAllowed: false,
        createdAt: new Date(nowMs).toISOString(),
      };
      await this.writeAudited([{ type: 'put', sublevel: this.accounts, key: id, value: encodeAccount(account) }], {
        ...stamp,
        atMs: nowMs,
        outcome: 'ok',
        after: { account: id, currency, kind: account.owner.kind, balance: money(account) },
      });
      this.accountCache.set(id, account);
      return account;
    });
  }

  private async nextSeq(name: string): Promise<string> {
    const current = Number((await this.meta.get(`seq!${name}`)) ?? '0') + 1;
    await this.meta.put(`seq!${name}`, String(current));
    return String(current).padStart(6, '0');
  }

  /** Money in from outside: the per-currency funding account is the counterparty, so balances sum to zero. */
  deposit(accountId: string, amountMinor: bigint, stamp: AuditStamp, nowMs = Date.now()): Promise<{ account: Account; transfer: Transfer }> {
    return this.post('deposit', accountId, amountMinor, stamp, nowMs);
  }

  /** Money out to outside (the funding account): never below what is available. */
  withdraw(accountId: string, amountMinor: bigint, stamp: AuditStamp, nowMs = Date.now()): Promise<{ account: Account; transfer: Transfer }> {
    return this.post('withdrawal', accountId, amountMinor, stamp, nowMs);
  }

  private post(kind: PostingKind, accountId: string, amountMinor: bigint, stamp: AuditStamp, nowMs: number): Promise<{ account: Account; transfer: Transfer }> {
    return this.auditedCommand(stamp, nowMs, async () => {
      const { ws, transfer, before } = await this.stageMove(kind, accountId, amountMinor, nowMs);
      const after = ws.accounts.get(accountId)!;
      await this.commitAudited(ws, {
        ...stamp,
        atMs: nowMs,
        outcome: 'ok',
        before: { account: accountId, balance: money(before) },
        after: { account: accountId, balance: money(after), transferId: transfer.id },
      });
      return { account: after, transfer };
    });
  }

  /** A manual posting's transfer, staged in a working set (not written). Call under `exclusive`. */
  private async stageMove(kind: PostingKind, accountId: string, amountMinor: bigint, nowMs: number): Promise<{ ws: WorkingSet; transfer: Transfer; before: Account }> {
    const account = await this.postingAccount(kind, accountId, amountMinor);
    const fundingId = `${FUNDING_ACCOUNT_ID}-${account.currency}`;
    const ws = new WorkingSet();
    ws.accounts.set(account.id, account);
    const funding = await this.getAccount(fundingId);
    if (funding) ws.accounts.set(fundingId, funding);
    else {
      // opened with its first deposit: putAccount marks it created, so its record is written
      ws.putAccount({
        id: fundingId,
        currency: account.currency,
        balanceMinor: 0n,
        holdsMinor: 0n,
        owner: { kind: 'system', name: 'funding' },
        overdraftAllowed: true,
        createdAt: new Date(nowMs).toISOString(),
      });
    }
    const seq = await this.nextSeq(kind);
    const transfer: Transfer = {
      id: `${kind === 'deposit' ? 'dep' : 'wd'}_${seq}`,
      debit: kind === 'deposit' ? fundingId : account.id,
      credit: kind === 'deposit' ? account.id : fundingId,
      amountMinor,
      currency: account.currency,
      kind,
      orderId: '',
      atMs: nowMs,
    };
    ws.transfer(transfer);
    return { ws, transfer, before: account };
  }

  /** The account a manual posting moves money on, once the posting is one it may take: a positive amount, no more than is available for a withdrawal. */
  private async postingAccount(kind: PostingKind, accountId: string, amountMinor: bigint): Promise<Account> {
    if (amountMinor <= 0n) throw new LedgerError('invalid_amount', 'the amount must be positive');
    const account = await this.getAccount(accountId);
    if (!account) throw new LedgerError('unknown_account', `no account ${accountId}`);
    if (account.id.startsWith(FUNDING_ACCOUNT_ID)) throw new LedgerError('invalid_account', 'cannot post to a funding account');
    if (kind === 'withdrawal' && available(account) < amountMinor) {
      throw new LedgerError('insufficient_funds', `available ${available(account)} < ${amountMinor} (minor units)`);
    }
    return account;
  }

  /**
   * A manual deposit or withdrawal above the four-eyes threshold: recorded as pending (with the maker's
   * audit entry), no money moves until a different operator approves it (decidePosting).
   */
  createPosting(kind: PostingKind, accountId: string, amountMinor: bigint, lapseMs: number, stamp: AuditStamp, nowMs = Date.now()): Promise<Posting> {
    return this.auditedCommand(stamp, nowMs, async () => {
      const account = await this.postingAccount(kind, accountId, amountMinor);
      const posting: Posting = {
        id: `mp_${await this.nextSeq('posting')}`,
        kind,
        accountId,
        amountMinor,
        currency: account.currency,
        madeBy: stamp.actor.id,
        createdAtMs: nowMs,
        expiresAtMs: nowMs + lapseMs,
        status: 'pending',
      };
      await this.writeAudited(this.postingOps(posting), {
        ...stamp,
        atMs: nowMs,
        outcome: 'ok',
        before: { account: accountId, balance: money(account) },
        after: { account: accountId, balance: money(account), posting: posting.id, status: 'pending', expiresAt: new Date(posting.expiresAtMs).toISOString() },
      });
      return posting;
    });
  }

  private postingOps(p: Posting): BatchOp[] {
    return [
      { type: 'put', sublevel: this.postings, key: `p!${p.id}`, value: encodePosting(p) },
      p.status === 'pending' ? { type: 'put', sublevel: this.postings, key: `open!${p.id}`, value: '' } : { type: 'del', sublevel: this.postings, key: `open!${p.id}` },
    ];
  }

  /**
   * A checker's decision on a pending posting. Approval moves the money in the same write as the posting's
   * new state and the checker's entry; the maker approving is refused (same_operator), as is a posting past
   * its time (posting_lapsed: it is marked lapsed, and that written with the refused approval's entry).
   * The maker may reject (withdraw) their own posting.
   */
  decidePosting(id: string, decision: 'approve' | 'reject', stamp: AuditStamp, nowMs = Date.now()): Promise<{ posting: Posting; account?: Account; transfer?: Transfer }> {
    return this.auditedCommand(stamp, nowMs, async () => {
      const text = await this.postings.get(`p!${id}`);
      if (text === undefined) throw new LedgerError('unknown_posting', `no pending posting ${id}`);
      const posting = decodePosting(text);
      const what = { posting: id, kind: posting.kind, account: posting.accountId, amount: formatAmount(posting.amountMinor, posting.currency, { grouping: false }), madeBy: posting.madeBy };
      const refusal = checkDecision(posting, stamp.actor.id, nowMs);
      if (refusal === 'posting_lapsed') {
        const lapsed: Posting = { ...posting, status: 'lapsed', decidedAtMs: nowMs };
        await this.writeAudited(this.postingOps(lapsed), { ...stamp, atMs: nowMs, outcome: 'error', error: 'posting_lapsed', before: { ...what, status: 'pending' }, after: { ...what, status: 'lapsed' } });
        const error = new LedgerError('posting_lapsed', `posting ${id} lapsed at ${new Date(posting.expiresAtMs).toISOString()}; make it again`);
        this.auditedErrors.add(error);
        throw error;
      }
      if (refusal === 'not_pending') throw new LedgerError('not_pending', `posting ${id} is ${posting.status}, not pending`);
      if (refusal === 'same_operator' && decision === 'approve') {
        throw new LedgerError('same_operator', `posting ${id} was made by ${posting.madeBy}: a different operator must approve it`);
      }
      if (decision === 'reject') {
        const rejected: Posting = { ...posting, status: 'rejected', decidedBy: stamp.actor.id, decidedAtMs: nowMs };
        await this.writeAudited(this.postingOps(rejected), { ...stamp, atMs: nowMs, outcome: 'ok', before: { ...what, status: 'pending' }, after: { ...what, status: 'rejected' } });
        return { posting: rejected };
      }
      const { ws, transfer, before } = await this.stageMove(posting.kind, posting.accountId, posting.amountMinor, nowMs);
      const approved: Posting = { ...posting, status: 'approved', decidedBy: stamp.actor.id, decidedAtMs: nowMs, transferId: transfer.id };
      const after = ws.accounts.get(posting.accountId)!;
      await this.commitAudited(
        ws,
        {
          ...stamp,
          atMs: nowMs,
          outcome: 'ok',
          before: { ...what, status: 'pending', balance: money(before) },
          after: { ...what, status: 'approved', balance: money(after), transferId: transfer.id },
        },
        this.postingOps(approved),
      );
      return { posting: approved, account: after, transfer };
    });
  }

  async getPosting(id: string): Promise<Posting | undefined> {
    const text = await this.postings.get(`p!${id}`);
    return text === undefined ? undefined : decodePosting(text);
  }

  /** Pending postings, oldest first (those past their time included: they lapse when someone decides them). */
  async pendingPostings(limit = 500): Promise<Posting[]> {
    const ids: string[] = [];
    for await (const key of this.postings.keys({ gte: 'open!', lt: 'open!~', limit })) ids.push(key.slice(5));
    const texts = await this.postings.getMany(ids.map((i) => `p!${i}`));
    return texts.filter((t): t is string => t !== undefined).map(decodePosting);
  }

  // ---- queries ----

  /**
   * An account's transfers, newest first: its chain from the head in its balance record (as written to
   * LevelDB, so every link is there), merged with the index entries of transfers written before the chains.
   */
  async transfersOf(accountId: string, options: { limit?: number; sinceMs?: number } = {}): Promise<Transfer[]> {
    const limit = Math.min(options.limit ?? 20, 1000);
    const sinceMs = options.sinceMs ?? Number.NEGATIVE_INFINITY;
    const chained: Transfer[] = [];
    const balance = await this.balances.get(accountId);
    let key = balance === undefined ? undefined : decodeBalance(balance).historyHead;
    while (key !== undefined && chained.length < limit) {
      const text = await this.transfers.get(key);
      if (text === undefined) throw new LedgerError('unreadable', `account ${accountId}: its transfer chain names ${key}, which is not in the ledger`);
      const { transfer, links } = decodeTransferWithLinks(text);
      if (transfer.atMs < sinceMs) break;
      chained.push(transfer);
      key = transfer.debit === accountId ? links.prevDebit : links.prevCredit;
    }
    const ids: string[] = [];
    const prefix = `acct!${accountId}!`;
    const lt = options.sinceMs === undefined ? `${prefix}~` : `${prefix}${newestFirstKey(options.sinceMs)}~`;
    for await (const k of this.index.keys({ gte: prefix, lt, limit })) ids.push(k.slice(k.lastIndexOf('!') + 1));
    if (ids.length === 0) return chained;
    const indexed = (await this.transfers.getMany(ids)).filter((t): t is string => t !== undefined).map(decodeTransfer);
    // both lists are newest first; a stable sort keeps each one's order among equal times
    return [...chained, ...indexed].sort((a, b) => b.atMs - a.atMs).slice(0, limit);
  }

  /** Cards by token (or token prefix of 6+ hex), last 4 digits, or holder name prefix (case-insensitive). */
  async findCards(query: string, limit = 20): Promise<Card[]> {
    const q = query.trim();
    const tokens = new Set<string>();
    if (/^[0-9a-f]{64}$/i.test(q)) tokens.add(q.toLowerCase());
    else if (/^\d{4}$/.test(q)) {
      for await (const key of this.index.keys({ gte: `last4!${q}!`, lt: `last4!${q}!~`, limit })) {
        tokens.add(key.slice(key.lastIndexOf('!') + 1));
      }
    } else if (q.length > 0) {
      if (/^[0-9a-f]{6,63}$/i.test(q)) {
        for await (const key of this.cards.keys({ gte: q.toLowerCase(), lt: `${q.toLowerCase()}~`, limit })) tokens.add(key);
      }
      const name = q.toLowerCase();
      // the upper bound must sort after any character a name may hold ('~' would cut off 'zoë' for 'zo')
      for await (const key of this.index.keys({ gte: `name!${name}`, lt: `name!${name}\u{10FFFF}`, limit })) {
        if (tokens.size >= limit) break;
        tokens.add(key.slice(key.lastIndexOf('!') + 1));
      }
    }
    const cards: Card[] = [];
    for (const token of tokens) {
      const card = await this.getCard(token);
      if (card) cards.push(card);
    }
    return cards;
  }

  async listCards(options: { limit?: number; after?: string } = {}): Promise<Card[]> {
    const limit = Math.min(options.limit ?? 50, 10_000);
    const range = options.after === undefined ? { limit } : { gt: options.after, limit };
    const cards: Card[] = [];
    for await (const value of this.cards.values(range)) cards.push(decodeCard(value));
    return cards;
  }

  async listAccounts(options: { limit?: number } = {}): Promise<Account[]> {
    const ids: string[] = [];
    const texts: string[] = [];
    for await (const [id, text] of this.accounts.iterator({ limit: Math.min(options.limit ?? 50, 10_000) })) {
      ids.push(id);
      texts.push(text);
    }
    const balances = await this.balances.getMany(ids);
    return texts.map((text, i) => decodeAccountWithBalance(text, balances[i]));
  }

  /** Open holds whose time has come, oldest first. */
  async dueHolds(nowMs: number, limit = 1000): Promise<string[]> {
    const ids: string[] = [];
    for await (const key of this.index.keys({ gte: 'exp!', lte: `exp!${timeKey(nowMs)}~`, limit })) {
      ids.push(key.slice(key.lastIndexOf('!') + 1));
    }
    return ids;
  }

  /**
   * What the risk engine observed since `sinceMs` (newest `limit`, returned oldest first), to rebuild its
   * state after a restart so its decisions do not change.
   */
  async riskHistory(sinceMs: number, limit = 200_000): Promise<{ record: OrderRecord; atMs: number }[]> {
    const keys: string[] = [];
    for await (const key of this.index.keys({ gte: `risk!${timeKey(sinceMs)}`, lt: 'risk!~', reverse: true, limit })) keys.push(key);
    keys.reverse();
    const out: { record: OrderRecord; atMs: number }[] = [];
    for (let i = 0; i < keys.length; i += 5000) {
      const slice = keys.slice(i, i + 5000);
      const texts = await this.orders.getMany(slice.map((k) => k.slice(k.lastIndexOf('!') + 1)));
      slice.forEach((key, j) => {
        const text = texts[j];
        if (text !== undefined) out.push({ record: decodeOrderRecord(text), atMs: Number(key.slice(5, 20)) });
      });
    }
    return out;
  }

  /** Drops risk history older than `beforeMs` (a bounded number at a time). */
  async pruneRiskHistory(beforeMs: number, limit = 10_000): Promise<number> {
    const ops: BatchOp[] = [];
    for await (const key of this.index.keys({ gte: 'risk!', lt: `risk!${timeKey(beforeMs)}`, limit })) {
      ops.push({ type: 'del', sublevel: this.index, key });
    }
    if (ops.length > 0) await this.exclusive(() => this.write(ops));
    return ops.length;
  }

  /**
   * Orders held for review (counted up to `limit`). Recounted only after a write touched the review
   * index: the processor asks every second, and counting the 46,000 held orders of a 1,000,000-order run
   * takes ~200 ms of CPU (measured), which kept an idle processor a fifth busy.
   */
  async reviewQueueSize(limit = 100_000): Promise<number> {
    if (!this.reviewIndexChanged && this.reviewQueueCount?.limit === limit) return this.reviewQueueCount.n;
    // cleared before counting: a write during the count marks it changed again
    this.reviewIndexChanged = false;
    let n = 0;
    for await (const _ of this.index.keys({ gte: 'review!', lt: 'review!~', limit })) n++;
    this.reviewQueueCount = { n, limit };
    return n;
  }

  async reviewQueue(limit = 500): Promise<OrderRecord[]> {
    const ids: string[] = [];
    for await (const key of this.index.keys({ gte: 'review!', lt: 'review!~', limit })) ids.push(key.slice(7));
    const records: OrderRecord[] = [];
    for (const id of ids) {
      const r = await this.getOrder(id);
      if (r) records.push(r);
    }
    return records;
  }

  async *allOrders(): AsyncGenerator<OrderRecord> {
    for await (const value of this.orders.values()) yield decodeOrderRecord(value);
  }
}
