// Writes a working set's changes as one atomic LevelDB batch: accounts, balances, orders, their index
// entries and holds, the transfers chained into their accounts' histories, and whatever the caller adds.

import type { ClassicLevel } from 'classic-level';
import { type WorkingSet, available, invariantFailed } from '../domain/apply.ts';
import type { Transfer } from '../domain/types.ts';
import type { AppliedLog, AppliedStep } from './applied.ts';
import type { RecordCache } from './cache.ts';
import {
  CHAIN_KEYS_FROM,
  chainKey,
  chainSeq,
  encodeAccount,
  encodeBalance,
  encodeHold,
  orderRecordValue,
  timeKey,
  transferValue,
} from './codec.ts';
import { LedgerError } from './errors.ts';
import { type BatchOp, type LevelBatch, type Sub, type Sublevels, levelBatch, putOps, putValue } from './sublevels.ts';

/** The sequence number of the newest chained transfer staged (codec.ts, transfer chains). */
export class TransferChain {
  constructor(private seq: number) {}

  /** Continues after the newest chained transfer in the ledger. */
  static async load(transfers: Sub): Promise<TransferChain> {
    for await (const key of transfers.keys({ gte: CHAIN_KEYS_FROM, reverse: true, limit: 1 })) {
      const seq = chainSeq(key);
      if (seq === undefined) throw new LedgerError('unreadable', `transfer key ${key} is not a chained transfer's`);
      return new TransferChain(seq);
    }
    return new TransferChain(0);
  }

  nextKey(): string {
    return chainKey(++this.seq);
  }
}

export interface CommitDeps {
  db: ClassicLevel<string, string>;
  rooms: Sublevels;
  cache: RecordCache;
  chain: TransferChain;
  applied: AppliedLog;
  /** the store's write, behind every earlier one */
  writeBatch: (batch: LevelBatch) => Promise<void>;
  /** called once a write that touched the review index is in LevelDB */
  reviewIndexWritten: () => void;
}

/**
 * Stages every change of a working set as one atomic LevelDB batch and returns when it is written. The new
 * state is visible to the next reads at once (RecordCache.stage); the write lands behind earlier ones.
 * `applied`: the stream sequences the working set decided, recorded in the same batch (see applied.ts).
 */
export function stageCommit(deps: CommitDeps, ws: WorkingSet, extraOps: BatchOp[], applied: AppliedStep | undefined): Promise<void> {
  // puts go straight into LevelDB's batch, keys prefixed here
  const batch = levelBatch(deps.db);
  let touchesReview: boolean;
  try {
    touchesReview = fillBatch(batch, ws, extraOps, deps.rooms, deps.chain);
    // last: nothing after it can fail and leave the in-memory record ahead of an unwritten batch
    if (applied !== undefined && applied.seqs.length > 0) deps.applied.stage(batch, applied);
  } catch (error) {
    void batch.close();
    throw error;
  }
  if (batch.length === 0) {
    void batch.close();
    return Promise.resolve();
  }
  // cards are read-only here: prefetch cached them already
  const release = deps.cache.stage(ws);
  const written = deps.writeBatch(batch);
  void written.then(
    () => {
      release();
      // once it is in LevelDB, so a count cannot cache the state before this write
      if (touchesReview) deps.reviewIndexWritten();
    },
    () => undefined,
  );
  return written;
}

/** Puts every change of the working set into the batch; true when the review index is touched. */
function fillBatch(batch: LevelBatch, ws: WorkingSet, extraOps: BatchOp[], rooms: Sublevels, chain: TransferChain): boolean {
  const index = rooms.index.prefix;
  // first, so a later put of the same key (an expiry changed and changed back) wins within the batch
  for (const { orderId, atMs } of ws.staleExpiries) batch.del(`${index}exp!${timeKey(atMs)}!${orderId}`);
  // before the balance records: each transfer moves the heads of its two accounts' chains
  for (const t of ws.transfers) putTransfer(batch, t, ws, rooms.transfers, chain);
  putAccounts(batch, ws, rooms);
  const touchesReview = putOrders(batch, ws, rooms);
  for (const o of ws.riskObserved) batch.put(`${index}risk!${timeKey(o.atMs)}!${o.orderId}`, '');
  putOps(batch, extraOps);
  return touchesReview;
}

/** The changed accounts' balance records (and the static record of a new one), each checked first. */
function putAccounts(batch: LevelBatch, ws: WorkingSet, rooms: Sublevels): void {
  const accounts = rooms.accounts.prefix;
  const balances = rooms.balances.prefix;
  for (const id of ws.dirtyAccounts) {
    const a = ws.accounts.get(id)!;
    // the last check before the write; messages built only on failure (this runs for every dirty account)
    if (!a.overdraftAllowed && available(a) < 0n) invariantFailed(`account ${id} would be overdrawn: ${available(a)}`);
    if (a.holdsMinor < 0n) invariantFailed(`account ${id} holds negative`);
    if (ws.createdAccounts.has(id)) batch.put(accounts + id, encodeAccount(a));
    batch.put(balances + id, encodeBalance(a));
  }
}

/** The changed order records, with their review and expiry index entries and holds; true when the review index is touched. */
function putOrders(batch: LevelBatch, ws: WorkingSet, rooms: Sublevels): boolean {
  const orders = rooms.orders.prefix;
  const index = rooms.index.prefix;
  const holds = rooms.holds.prefix;
  let touchesReview = false;
  for (const id of ws.dirtyOrders) {
    const r = ws.orders.get(id)!;
    putValue(batch, orders + id, orderRecordValue(r));
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
        batch.put(holds + id, encodeHold(holdAccount, r.holdMinor, r.holdExpiresAtMs, r.result.status));
      } else batch.del(holds + id);
    }
  }
  return touchesReview;
}

/**
 * A transfer under the next chain key, linked to the previous transfer of each of its accounts, and the key
 * made the head of both (their balance records are written after this, with the new heads). The accounts
 * are the working set's own copies, made by this buffer's transfers: setting the head there changes nothing
 * another reader holds.
 */
function putTransfer(batch: LevelBatch, t: Transfer, ws: WorkingSet, transfers: Sub, chain: TransferChain): void {
  const debit = ws.accounts.get(t.debit);
  const credit = ws.accounts.get(t.credit);
  if (!debit || !credit || !ws.dirtyAccounts.has(t.debit) || !ws.dirtyAccounts.has(t.credit)) {
    invariantFailed(`transfer ${t.id}: its accounts must be changed in the working set`);
  }
  const key = chain.nextKey();
  putValue(batch, transfers.prefix + key, transferValue(t, { prevDebit: debit.historyHead, prevCredit: credit.historyHead }));
  debit.historyHead = key;
  credit.historyHead = key;
}
