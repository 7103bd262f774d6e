// The LevelDB ledger, as every caller uses it: opens it under its lock with its keys, and puts together the
// parts that each hold one concern (caches, prefetch, commit, the audit trail, operator commands, queries).

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ClassicLevel } from 'classic-level';
import type { OrderRecord, WorkingSet } from '../domain/apply.ts';
import type { AuditDraft, AuditEntry, AuditFilter, AuditStamp, ChainHead } from '../domain/audit.ts';
import { tokenizePan } from '../domain/cards.ts';
import type { Posting, PostingKind } from '../domain/four-eyes.ts';
import { type KeyRing, currentKey, olderVersions, orderFingerprintKey, tokenCandidates } from '../domain/keys.ts';
import type { AccountRequest, CardRequest } from '../domain/operator-commands.ts';
import type { Account, Card, CardStatus, Order, Transfer } from '../domain/types.ts';
import { type AppliedStep, AppliedLog } from './applied.ts';
import { AUDIT_SCAN_MAX, AuditTrail } from './audit-trail.ts';
import { type CacheLimits, RecordCache } from './cache.ts';
import * as commands from './commands.ts';
import { type CommitDeps, TransferChain, stageCommit } from './commit.ts';
import { decodeOrderRecord } from './codec.ts';
import { LedgerError } from './errors.ts';
import { KeyError, type KeyBinding, bindKeys, loadKeys } from './keys.ts';
import { type LockOwner, clearLockHolder, openLockedDatabase, recordLockHolder } from './lock.ts';
import { prefetch } from './prefetch.ts';
import * as queries from './queries.ts';
import { type CounterName, nextCount } from './records.ts';
import { type BatchOp, type LevelBatch, type Sublevels, openSublevels, putOps } from './sublevels.ts';
import { WriteQueue } from './write-queue.ts';


export interface StoreOptions extends CacheLimits {
  /** fsync every write (survives power loss, costs throughput) @default false */
  sync?: boolean;
  /** the process that opens the store, recorded so a second one can be told who holds it */
  owner?: LockOwner;
  /** the tokenization keys; absent: from `keyFile`, else the environment (src/ledger/keys.ts loadKeys) */
  keys?: KeyRing;
  /** the key file (--key-file); absent: PAYSTREAM_KEY_FILE, PAYSTREAM_KEY */
  keyFile?: string;
  /** where `keys` came from, for messages @default 'the key given' */
  keysFrom?: string;
  /** how the ledger takes the keys (src/ledger/keys.ts KeyBinding) @default 'open' */
  keyBinding?: KeyBinding;
}

/** A card to register (src/domain/operator-commands.ts CardRequest). */
export type RegisterCardInput = CardRequest;

/** Records written by an operator command, kept in the caches once the write has landed. */
export interface WrittenRecords {
  cards?: readonly Card[];
  accounts?: readonly Account[];
}

/** The ring from the options, else loaded; a refused key is returned, not thrown (see open). */
async function keysFor(dataDir: string, options: StoreOptions): Promise<{ ring: KeyRing; from: string } | KeyError> {
  try {
    return options.keys
      ? { ring: options.keys, from: options.keysFrom ?? 'the key given' }
      : await loadKeys(dataDir, options.keyFile === undefined ? {} : { keyFile: options.keyFile });
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    return error;
  }
}

// The store's rooms (cards, accounts, ...) are its Sublevels, all assigned at once in the constructor.
export interface LedgerStore extends Sublevels {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: every Sublevels member is assigned by Object.assign in the constructor
export class LedgerStore {
  /** the tokenization keys (src/domain/keys.ts): new cards under the current version, older ones still found */
  readonly keys: KeyRing;
  /** the current version's key: new card tokens, tokens in dead letters and recordings */
  readonly secret: Buffer;
  /** version 1's key: the order fingerprints, the same across rotations (src/domain/fingerprint.ts) */
  readonly fingerprintKey: Buffer;
  /** the older versions' keys, newest first (olderVersions): looked up once, not for every order with a PAN */
  private readonly olderKeys: readonly Buffer[];
  /** the stream sequences applied, written with each buffer's effects, and the crash-loop guard's notes */
  readonly applied: AppliedLog;
  private readonly cache: RecordCache;
  private readonly queue: WriteQueue;
  private readonly trail: AuditTrail;
  private readonly reviewCount = new queries.ReviewQueueCount();
  private readonly commitDeps: CommitDeps;

  private constructor(
    readonly dataDir: string,
    readonly db: ClassicLevel<string, string>,
    keys: KeyRing,
    parts: { applied: AppliedLog; chain: TransferChain },
    options: StoreOptions,
  ) {
    const rooms = openSublevels(db);
    Object.assign(this, rooms);
    this.keys = keys;
    this.secret = currentKey(keys);
    this.fingerprintKey = orderFingerprintKey(keys);
    this.olderKeys = olderVersions(keys).map((v) => keys.keys.get(v)!);
    this.applied = parts.applied;
    this.cache = new RecordCache(db, rooms, options);
    this.queue = new WriteQueue(options.sync ?? false);
    this.trail = new AuditTrail(rooms);
    this.commitDeps = {
      db,
      rooms,
      cache: this.cache,
      chain: parts.chain,
      applied: parts.applied,
      // through the method, so a write is always the store's own (tests put a failing disk there)
      writeBatch: (batch) => this.writeBatch(batch),
      reviewIndexWritten: () => this.reviewCount.markChanged(),
    };
  }

  static async open(dataDir: string, options: StoreOptions = {}): Promise<LedgerStore> {
    // the keys are read first, but a key problem is raised only after the lock is checked: a ledger in use
    // is talked to through its processor's service, which needs no key here
    const keys = await keysFor(dataDir, options);
    // no ledger is made for a key that is refused
    if (keys instanceof KeyError && !existsSync(path.join(dataDir, 'db'))) throw keys;
    await mkdir(dataDir, { recursive: true });
    const db = await openLockedDatabase(dataDir);
    let parts: { applied: AppliedLog; chain: TransferChain };
    try {
      if (keys instanceof KeyError) throw keys;
      const rooms = openSublevels(db);
      await bindKeys(rooms, keys.ring, dataDir, keys.from, options.keyBinding);
      parts = { applied: await AppliedLog.load(db, rooms.meta.prefix), chain: await TransferChain.load(rooms.transfers) };
    } catch (error) {
      await db.close();
      throw error;
    }
    await recordLockHolder(dataDir, options.owner);
    const store = new LedgerStore(dataDir, db, keys.ring, parts, options);
    // funding accounts are per currency (`funding-<CCY>`), opened by their first posting: only the version here
    await store.write([{ type: 'put', sublevel: store.meta, key: 'version', value: '1' }]);
    const start = await store.trail.load(Date.now());
    if (start) await store.writeAudited([], start);
    return store;
  }

  async close(): Promise<void> {
    await this.queue.drain();
    await clearLockHolder(this.dataDir);
    await this.db.close();
  }

  /** After bulk writes that bypass the caches. */
  forgetCaches(): void {
    this.reviewCount.markChanged();
    this.cache.clear();
  }

  // ---- keys ----

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

  // ---- writes ----

  /**
   * One atomic LevelDB write; fsynced when the store was opened with `sync`. A chained batch on the root
   * database with the sublevel prefixes applied here: abstract-level's per-operation work for array batches
   * through sublevels is a large share of the processor's time.
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
    return this.queue.write(batch);
  }

  /** Runs fn after every earlier write finished; writes never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.exclusive(fn);
  }

  /** The next number of a counter (records.ts nextCount). Call under `exclusive`. */
  nextCount(name: CounterName): Promise<string> {
    return nextCount(this, name);
  }

  // ---- reads (cache first) ----

  getCard(token: string): Promise<Card | undefined> {
    return this.cache.getCard(token);
  }

  getAccount(id: string): Promise<Account | undefined> {
    return this.cache.getAccount(id);
  }

  getOrder(id: string): Promise<OrderRecord | undefined> {
    return this.cache.getOrder(id);
  }

  // ---- prefetch, decide, commit ----

  /** Reads everything a buffer of orders needs: two rounds, one LevelDB read each (prefetch.ts). */
  prefetch(orders: readonly Order[], extraOrderIds: Iterable<string> = []): Promise<WorkingSet> {
    return prefetch({ db: this.db, rooms: this, cache: this.cache, fingerprintKey: this.fingerprintKey }, orders, extraOrderIds);
  }

  /**
   * Stages every change of a working set as one atomic LevelDB batch and returns when it is written.
   * Callers that may overlap the next decisions with the write (the pipeline) need not wait for it, but
   * must not acknowledge anything before it resolves. `applied`: the stream sequences the working set
   * decided, recorded in the same batch (see applied.ts).
   */
  commit(ws: WorkingSet, extraOps: BatchOp[] = [], applied?: AppliedStep): Promise<void> {
    try {
      return stageCommit(this.commitDeps, ws, extraOps, applied);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // ---- the audit trail (every operator command writes its entry in the same LevelDB write as its effect) ----

  /** Writes `ops` and the audit entry for them in one LevelDB write; `written` is cached once it lands. Call under `exclusive`. */
  async writeAudited(ops: BatchOp[], draft: AuditDraft, written: WrittenRecords = {}): Promise<AuditEntry> {
    const chained = this.trail.chain([draft]);
    await this.write([...ops, ...chained.ops]);
    this.trail.landed(chained.entries);
    this.cache.remember(written);
    return chained.entries[0]!;
  }

  /** Commits a working set with the audit entry for it in the same LevelDB write. Call under `exclusive`. */
  async commitAudited(ws: WorkingSet, draft: AuditDraft, extraOps: BatchOp[] = []): Promise<AuditEntry> {
    return (await this.commitAuditedAll(ws, [draft], extraOps))[0]!;
  }

  /** Commits a working set with several audit entries, chained in order, in the same LevelDB write. Call under `exclusive`. */
  async commitAuditedAll(ws: WorkingSet, drafts: readonly AuditDraft[], extraOps: BatchOp[] = []): Promise<AuditEntry[]> {
    const chained = this.trail.chain(drafts);
    await this.commit(ws, [...extraOps, ...chained.ops]);
    this.trail.landed(chained.entries);
    return chained.entries;
  }

  /** A failed operation's entry, alone (once per error). Call under `exclusive`. */
  private async writeFailure(stamp: AuditStamp, nowMs: number, error: unknown): Promise<void> {
    if (this.trail.wasAudited(error)) return;
    this.trail.markAudited(error);
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

  /** Records that an error's audit entry has been written (with the effect it refused). */
  markAudited(error: unknown): void {
    this.trail.markAudited(error);
  }

  /** Whether an error's audit entry has been written already. */
  wasAudited(error: unknown): boolean {
    return this.trail.wasAudited(error);
  }

  /** Calls `listener` with each entry once it is in LevelDB; returns the unsubscribe. */
  onAudit(listener: (entry: AuditEntry) => void): () => void {
    return this.trail.onAudit(listener);
  }

  get auditHeadNow(): ChainHead {
    return this.trail.headNow;
  }

  /**
   * Entries newest first, at most `limit`, matching the filter; reads back at most `scanMax` entries
   * (`complete` false when it stopped there) and stops at the first entry older than `sinceMs`.
   */
  listAudit(filter: AuditFilter, limit = 50, scanMax = AUDIT_SCAN_MAX): Promise<{ entries: AuditEntry[]; complete: boolean }> {
    return this.trail.list(filter, limit, scanMax);
  }

  // ---- operator commands (commands.ts decides through the domain; each runs under exclusive, audited) ----

  registerCard(input: RegisterCardInput, stamp: AuditStamp, nowMs = Date.now()): Promise<{ card: Card; created: boolean }> {
    return this.auditedCommand(stamp, nowMs, () => commands.registerCard(this, input, stamp, nowMs));
  }

  setCardStatus(token: string, status: CardStatus, stamp: AuditStamp, nowMs = Date.now()): Promise<Card> {
    return this.auditedCommand(stamp, nowMs, () => commands.setCardStatus(this, token, status, stamp, nowMs));
  }

  openAccount(input: AccountRequest, stamp: AuditStamp, nowMs = Date.now()): Promise<Account> {
    return this.auditedCommand(stamp, nowMs, () => commands.openAccount(this, input, stamp, nowMs));
  }

  /** Money in from outside: the per-currency funding account is the counterparty, so balances sum to zero. */
  deposit(accountId: string, amountMinor: bigint, stamp: AuditStamp, nowMs = Date.now()): Promise<{ account: Account; transfer: Transfer }> {
    return this.auditedCommand(stamp, nowMs, () => commands.postNow(this, 'deposit', accountId, amountMinor, stamp, nowMs));
  }

  /** Money out to outside (the funding account): never below what is available. */
  withdraw(accountId: string, amountMinor: bigint, stamp: AuditStamp, nowMs = Date.now()): Promise<{ account: Account; transfer: Transfer }> {
    return this.auditedCommand(stamp, nowMs, () => commands.postNow(this, 'withdrawal', accountId, amountMinor, stamp, nowMs));
  }

  /**
   * A manual deposit or withdrawal above the four-eyes threshold: recorded as pending (with the maker's
   * audit entry), no money moves until a different operator approves it (decidePosting).
   */
  createPosting(kind: PostingKind, accountId: string, amountMinor: bigint, lapseMs: number, stamp: AuditStamp, nowMs = Date.now()): Promise<Posting> {
    return this.auditedCommand(stamp, nowMs, () => commands.createPosting(this, kind, accountId, amountMinor, lapseMs, stamp, nowMs));
  }

  /**
   * A checker's decision on a pending posting. Approval moves the money in the same write as the posting's
   * new state and the checker's entry; the maker approving is refused (same_operator), as is a posting past
   * its time (posting_lapsed: it is marked lapsed, and that written with the refused approval's entry).
   * The maker may reject (withdraw) their own posting.
   */
  decidePosting(id: string, decision: 'approve' | 'reject', stamp: AuditStamp, nowMs = Date.now()): Promise<{ posting: Posting; account?: Account; transfer?: Transfer }> {
    return this.auditedCommand(stamp, nowMs, () => commands.decidePosting(this, id, decision, stamp, nowMs));
  }

  // ---- queries (queries.ts) ----

  getPosting(id: string): Promise<Posting | undefined> {
    return queries.getPosting(this.postings, id);
  }

  /** Pending postings, oldest first (those past their time included: they lapse when someone decides them). */
  pendingPostings(limit = 500): Promise<Posting[]> {
    return queries.pendingPostings(this.postings, limit);
  }

  /** An account's transfers, newest first, at most `limit` (at most 1,000), none before `sinceMs`. */
  transfersOf(accountId: string, options: { limit?: number; sinceMs?: number } = {}): Promise<Transfer[]> {
    return queries.transfersOf(this, accountId, options);
  }

  /** Cards by token (or token prefix of 6+ hex), last 4 digits, or holder name prefix (case-insensitive). */
  async findCards(query: string, limit = 20): Promise<Card[]> {
    const cards: Card[] = [];
    for (const token of await queries.findCardTokens(this, query, limit)) {
      const card = await this.getCard(token);
      if (card) cards.push(card);
    }
    return cards;
  }

  listCards(options: { limit?: number; after?: string } = {}): Promise<Card[]> {
    return queries.listCards(this.cards, options);
  }

  listAccounts(options: { limit?: number } = {}): Promise<Account[]> {
    return queries.listAccounts(this, options);
  }

  /** Open holds whose time has come, oldest first. */
  dueHolds(nowMs: number, limit = 1000): Promise<string[]> {
    return queries.dueHolds(this.index, nowMs, limit);
  }

  /** What the risk engine observed since `sinceMs` (newest `limit`, oldest first), to rebuild its state after a restart. */
  riskHistory(sinceMs: number, limit = 200_000): Promise<{ record: OrderRecord; atMs: number }[]> {
    return queries.riskHistory(this, sinceMs, limit);
  }

  /** Drops risk history older than `beforeMs` (a bounded number at a time). */
  async pruneRiskHistory(beforeMs: number, limit = 10_000): Promise<number> {
    const keys = await queries.riskHistoryBefore(this.index, beforeMs, limit);
    if (keys.length > 0) await this.exclusive(() => this.write(keys.map((key): BatchOp => ({ type: 'del', sublevel: this.index, key }))));
    return keys.length;
  }

  /** Orders held for review (counted up to `limit`), counted again only after a write touched the review index. */
  reviewQueueSize(limit = 100_000): Promise<number> {
    return this.reviewCount.size(this.index, limit);
  }

  async reviewQueue(limit = 500): Promise<OrderRecord[]> {
    const records: OrderRecord[] = [];
    for (const id of await queries.reviewIds(this.index, limit)) {
      const r = await this.getOrder(id);
      if (r) records.push(r);
    }
    return records;
  }

  async *allOrders(): AsyncGenerator<OrderRecord> {
    for await (const value of this.orders.values()) yield decodeOrderRecord(value);
  }
}
