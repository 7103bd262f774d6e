// How the records operator commands and the seed write are stored: the puts (and deletes) of a card with its
// index entries, a new account, a posting with its open marker, and the counters that number them.

import type { Posting, PostingKind } from '../domain/four-eyes.ts';
import { encodePosting } from '../domain/four-eyes.ts';
import type { Account, Card } from '../domain/types.ts';
import { encodeAccount, encodeCard } from './codec.ts';
import type { BatchOp, Sublevels } from './sublevels.ts';

/** The counters in meta (`seq!<name>`) that number generated ids and manual transfers. */
export type CounterName = 'account' | 'posting' | PostingKind;

/** A card's record; a new card's also its index entries (by last four digits, by holder name). */
export function cardOps(rooms: Pick<Sublevels, 'cards' | 'index'>, card: Card, indexed: boolean): BatchOp[] {
  const ops: BatchOp[] = [{ type: 'put', sublevel: rooms.cards, key: card.token, value: encodeCard(card) }];
  if (indexed) {
    ops.push(
      { type: 'put', sublevel: rooms.index, key: `last4!${card.last4}!${card.token}`, value: '' },
      { type: 'put', sublevel: rooms.index, key: `name!${card.holder.name.toLowerCase()}!${card.token}`, value: '' },
    );
  }
  return ops;
}

/** An account's static record (its balance, until a balance record is written, is read from it). */
export const accountOps = (rooms: Pick<Sublevels, 'accounts'>, account: Account): BatchOp[] => [
  { type: 'put', sublevel: rooms.accounts, key: account.id, value: encodeAccount(account) },
];

/** A posting, and its `open!` marker while it is pending (pendingPostings lists those). */
export const postingOps = (rooms: Pick<Sublevels, 'postings'>, p: Posting): BatchOp[] => [
  { type: 'put', sublevel: rooms.postings, key: `p!${p.id}`, value: encodePosting(p) },
  p.status === 'pending' ? { type: 'put', sublevel: rooms.postings, key: `open!${p.id}`, value: '' } : { type: 'del', sublevel: rooms.postings, key: `open!${p.id}` },
];

/**
 * The next number of a counter, six digits or more, written at once (outside the command's batch: a
 * command that then fails leaves a gap in the numbers, never a number used twice).
 */
export async function nextCount(rooms: Pick<Sublevels, 'meta'>, name: CounterName): Promise<string> {
  const current = Number((await rooms.meta.get(`seq!${name}`)) ?? '0') + 1;
  await rooms.meta.put(`seq!${name}`, String(current));
  return String(current).padStart(6, '0');
}
