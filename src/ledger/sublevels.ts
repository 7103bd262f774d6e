// The ledger's sublevels (what each room of the database holds), and operations on them written as one batch.

import type { ClassicLevel } from 'classic-level';

const openSub = (db: ClassicLevel<string, string>, name: string) => db.sublevel<string, string>(name, { valueEncoding: 'utf8' });
export type Sub = ReturnType<typeof openSub>;
export type LevelBatch = ReturnType<ClassicLevel<string, string>['batch']>;
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
