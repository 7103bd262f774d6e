// The ledger's sublevels (what each room of the database holds), and operations on them written as one batch.

import type { ChainedBatchWriteOptions, ClassicLevel } from 'classic-level';

const openSub = (db: ClassicLevel<string, string>, name: string) => db.sublevel<string, string>(name, { valueEncoding: 'utf8' });
export type Sub = ReturnType<typeof openSub>;
type ChainedBatch = ReturnType<ClassicLevel<string, string>['batch']>;

/** What the ledger's writes use of a LevelDB chained batch: abstract-level's, or the direct one below. */
export interface LevelBatch {
  /** the operations added */
  readonly length: number;
  put(key: string, value: string): unknown;
  del(key: string): unknown;
  /** writes the operations atomically; with none, closes the batch and writes nothing */
  write(options?: ChainedBatchWriteOptions): Promise<void>;
  close(): Promise<void>;
}
export type BatchOp = { type: 'put'; sublevel: Sub; key: string; value: string } | { type: 'del'; sublevel: Sub; key: string };

export interface Sublevels {
  /** token -> card (codec.ts) */
  readonly cards: Sub;
  /** account id -> the account's static record: owner, currency, opening */
  readonly accounts: Sub;
  /** account id -> "<balanceMinor> <holdsMinor>": the moving part of an account (see codec.ts) */
  readonly balances: Sub;
  /** chained transfers (codec.ts chainKey), and transfers by id written before the chains */
  readonly transfers: Sub;
  /** order id -> order record */
  readonly orders: Sub;
  /** batch states, their pending orders and the orders waiting for a header */
  readonly batches: Sub;
  /** secondary keys: last4!, name!, acct!, exp!, review!, risk! */
  readonly index: Sub;
  /** counters (seq!), the schema version, the key fingerprints, the applied record, the audit head */
  readonly meta: Sub;
  /** open holds: order id -> { accountId, amountMinor, expiresAtMs } (authorizations and review holds) */
  readonly holds: Sub;
  /** the audit trail: `e!<seq, 16 digits>` -> entry (domain/audit.ts), append-only; its head in meta `audit!head` */
  readonly audit: Sub;
  /** manual postings waiting for a second operator: `p!<id>` -> posting, `open!<id>` while pending */
  readonly postings: Sub;
}

export function openSublevels(db: ClassicLevel<string, string>): Sublevels {
  return {
    cards: openSub(db, 'cards'),
    accounts: openSub(db, 'accounts'),
    balances: openSub(db, 'balances'),
    transfers: openSub(db, 'transfers'),
    orders: openSub(db, 'orders'),
    batches: openSub(db, 'batches'),
    index: openSub(db, 'index'),
    meta: openSub(db, 'meta'),
    holds: openSub(db, 'holds'),
    audit: openSub(db, 'audit'),
    postings: openSub(db, 'postings'),
  };
}

/** Operations through sublevels, as puts and deletes on the root database's batch (prefixes applied here). */
export function putOps(batch: LevelBatch, ops: readonly BatchOp[]): void {
  for (const op of ops) {
    if (op.type === 'put') batch.put(op.sublevel.prefix + op.key, op.value);
    else batch.del(op.sublevel.prefix + op.key);
  }
}

/**
 * abstract-level's private API of a chained batch, documented for implementations and implemented by
 * classic-level: an operation's key and value, encoded, with the encodings' formats as its options.
 */
interface EncodedOperations {
  _put(key: string, value: string | Uint8Array, options: typeof UTF8_PUT | typeof UTF8_VIEW_PUT): void;
  _del(key: string, options: typeof UTF8_DEL): void;
}
const UTF8_PUT = Object.freeze({ keyEncoding: 'utf8', valueEncoding: 'utf8' });
/** a value already UTF-8 bytes: classic-level's own 'view' format */
const UTF8_VIEW_PUT = Object.freeze({ keyEncoding: 'utf8', valueEncoding: 'view' });
const UTF8_DEL = Object.freeze({ keyEncoding: 'utf8' });
const utf8 = new TextDecoder();

/**
 * A chained batch of the root database whose operations skip abstract-level's per-operation work (an
 * operation object spread from the options, the encodings looked up, the asserts): on the root database
 * with utf8 keys and values that work hands the key and value on unchanged, so the direct call adds
 * the same bytes. The first operation goes the public way, because the chained batch writes only when its
 * own count is not zero; `length` counts them all. Once written or closed, operations go the public way
 * again, which refuses them.
 */
export class DirectBatch implements LevelBatch {
  private count = 0;
  private open = true;

  constructor(private readonly batch: ChainedBatch & EncodedOperations) {}

  get length(): number {
    return this.count;
  }

  put(key: string, value: string): void {
    if (this.count === 0 || !this.open) this.batch.put(key, value);
    else this.batch._put(key, value, UTF8_PUT);
    this.count++;
  }

  /** a value given as its UTF-8 bytes, which LevelDB's binding copies before this returns */
  putBytes(key: string, value: Uint8Array): void {
    if (this.count === 0 || !this.open) this.batch.put(key, utf8.decode(value));
    else this.batch._put(key, value, UTF8_VIEW_PUT);
    this.count++;
  }

  del(key: string): void {
    if (this.count === 0 || !this.open) this.batch.del(key);
    else this.batch._del(key, UTF8_DEL);
    this.count++;
  }

  write(options?: ChainedBatchWriteOptions): Promise<void> {
    this.open = false;
    return options === undefined ? this.batch.write() : this.batch.write(options);
  }

  close(): Promise<void> {
    this.open = false;
    return this.batch.close();
  }
}

/**
 * A chained batch on the root database, direct when nothing would see the difference: the keys and values
 * are utf8; classic-level implements the private operations and leaves the public ones to abstract-level
 * (nothing, not even a wrapper around one batch, replaced them); and no prewrite hook or 'write' listener
 * is there to be given the operation objects the direct way does not make. Otherwise abstract-level's own.
 */
export function levelBatch(db: ClassicLevel<string, string>): LevelBatch {
  const batch = db.batch();
  const own = Object.getPrototypeOf(batch) as Partial<EncodedOperations & LevelBatch>;
  const base = Object.getPrototypeOf(own) as Partial<LevelBatch>;
  const direct =
    (db.hooks.prewrite as { noop?: boolean }).noop === true &&
    db.listenerCount('write') === 0 &&
    db.keyEncoding().name === 'utf8' &&
    db.valueEncoding().name === 'utf8' &&
    Object.hasOwn(own, '_put') &&
    Object.hasOwn(own, '_del') &&
    Object.hasOwn(base, 'put') &&
    Object.hasOwn(base, 'del') &&
    batch.put === base.put &&
    batch.del === base.del;
  return direct ? new DirectBatch(batch as ChainedBatch & EncodedOperations) : batch;
}

/**
 * A put whose value may be UTF-8 bytes only lent (a reused buffer's, codec.ts TextWriter.value): the direct
 * batch hands them to LevelDB's binding, which copies them at once; any other batch gets them as a string.
 */
export function putValue(batch: LevelBatch, key: string, value: Uint8Array | string): void {
  if (typeof value === 'string') batch.put(key, value);
  else if (batch instanceof DirectBatch) batch.putBytes(key, value);
  else batch.put(key, utf8.decode(value));
}
