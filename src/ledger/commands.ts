// Operator commands at the edge: each reads the views its decision needs (src/domain/operator-commands.ts),
// asks the decision, and writes the outcome with its audit entry in one LevelDB write. Run under the store's
// auditedCommand, so they never interleave with other writes and a refusal is audited on its way out.

import type { AuditDraft, AuditStamp } from '../domain/audit.ts';
import type { Posting, PostingKind } from '../domain/four-eyes.ts';
import {
  type AccountRequest,
  type AuditChange,
  type CardRequest,
  type ManualTransfer,
  approvePosting,
  checkAccountRequest,
  checkCardRequest,
  checkManualPosting,
  decideAccountOpening,
  decideCardRegistration,
  decideCardStatus,
  decidePendingPosting,
  fundingAccountId,
  manualPostingAudit,
  newPosting,
  stageManualTransfer,
} from '../domain/operator-commands.ts';
import type { Account, Card, CardStatus, Transfer } from '../domain/types.ts';
import { refusalError } from './errors.ts';
import { accountOps, cardOps, postingOps } from './records.ts';
import type { LedgerStore } from './store.ts';

const done = (stamp: AuditStamp, nowMs: number, audit: AuditChange): AuditDraft => ({ ...stamp, atMs: nowMs, outcome: 'ok', ...audit });

export async function registerCard(store: LedgerStore, input: CardRequest, stamp: AuditStamp, nowMs: number): Promise<{ card: Card; created: boolean }> {
  const checked = checkCardRequest(input, nowMs);
  if (!checked.ok) throw refusalError(checked);
  const { request } = checked;
  const existing = await store.findCardByPan(request.pan);
  const view = {
    existing,
    token: existing?.token ?? store.tokenize(request.pan),
    keyVersion: store.keys.current,
    account: existing || request.accountId === undefined ? undefined : await store.getAccount(request.accountId),
  };
  const outcome = decideCardRegistration(request, view, nowMs);
  if (!outcome.ok) throw refusalError(outcome);
  if (!outcome.created) {
    await store.writeAudited([], done(stamp, nowMs, outcome.audit));
    return { card: outcome.card, created: false };
  }
  const { card, newAccount } = outcome;
  const ops = [...(newAccount ? accountOps(store, newAccount) : []), ...cardOps(store, card, true)];
  await store.writeAudited(ops, done(stamp, nowMs, outcome.audit), { cards: [card], accounts: newAccount ? [newAccount] : [] });
  return { card, created: true };
}

export async function setCardStatus(store: LedgerStore, token: string, status: CardStatus, stamp: AuditStamp, nowMs: number): Promise<Card> {
  const outcome = decideCardStatus(await store.getCard(token), token, status);
  if (!outcome.ok) throw refusalError(outcome);
  await store.writeAudited(cardOps(store, outcome.card, false), done(stamp, nowMs, outcome.audit), { cards: [outcome.card] });
  return outcome.card;
}

export async function openAccount(store: LedgerStore, input: AccountRequest, stamp: AuditStamp, nowMs: number): Promise<Account> {
  const checked = checkAccountRequest(input);
  if (!checked.ok) throw refusalError(checked);
  const id = checked.request.id ?? `acct_${await store.nextCount('account')}`;
  const outcome = decideAccountOpening(checked.request, id, await store.getAccount(id), nowMs);
  if (!outcome.ok) throw refusalError(outcome);
  await store.writeAudited(accountOps(store, outcome.account), done(stamp, nowMs, outcome.audit), { accounts: [outcome.account] });
  return outcome.account;
}

/** The account a manual posting moves money on, when the posting may go ahead (else its refusal is thrown). */
async function postingAccount(store: LedgerStore, kind: PostingKind, accountId: string, amountMinor: bigint): Promise<Account> {
  const checked = checkManualPosting(kind, accountId, amountMinor, amountMinor <= 0n ? undefined : await store.getAccount(accountId));
  if (!checked.ok) throw refusalError(checked);
  return checked.account;
}

/** A manual posting's transfer, staged in a working set (not written). */
async function stageMove(store: LedgerStore, kind: PostingKind, accountId: string, amountMinor: bigint, nowMs: number): Promise<ManualTransfer> {
  const account = await postingAccount(store, kind, accountId, amountMinor);
  const funding = await store.getAccount(fundingAccountId(account.currency));
  return stageManualTransfer(kind, account, funding, await store.nextCount(kind), amountMinor, nowMs);
}

/** A deposit or withdrawal that moves money at once. */
export async function postNow(
  store: LedgerStore,
  kind: PostingKind,
  accountId: string,
  amountMinor: bigint,
  stamp: AuditStamp,
  nowMs: number,
): Promise<{ account: Account; transfer: Transfer }> {
  const moved = await stageMove(store, kind, accountId, amountMinor, nowMs);
  await store.commitAudited(moved.ws, done(stamp, nowMs, manualPostingAudit(moved)));
  return { account: moved.after, transfer: moved.transfer };
}

/** A deposit or withdrawal above the four-eyes threshold: recorded as pending, with the maker's entry. */
export async function createPosting(
  store: LedgerStore,
  kind: PostingKind,
  accountId: string,
  amountMinor: bigint,
  lapseMs: number,
  stamp: AuditStamp,
  nowMs: number,
): Promise<Posting> {
  const account = await postingAccount(store, kind, accountId, amountMinor);
  const { posting, audit } = newPosting(kind, account, amountMinor, await store.nextCount('posting'), stamp.actor.id, nowMs, lapseMs);
  await store.writeAudited(postingOps(store, posting), done(stamp, nowMs, audit));
  return posting;
}

/**
 * A checker's decision on a pending posting: approval moves the money in the same write as the posting's
 * new state and the checker's entry; a lapsed posting is marked so, written with the refused entry.
 */
export async function decidePosting(
  store: LedgerStore,
  id: string,
  decision: 'approve' | 'reject',
  stamp: AuditStamp,
  nowMs: number,
): Promise<{ posting: Posting; account?: Account; transfer?: Transfer }> {
  const outcome = decidePendingPosting(await store.getPosting(id), id, decision, stamp.actor.id, nowMs);
  if (!outcome.ok) {
    const error = refusalError(outcome);
    if ('posting' in outcome) {
      await store.writeAudited(postingOps(store, outcome.posting), { ...stamp, atMs: nowMs, outcome: 'error', error: outcome.code, ...outcome.audit });
      store.markAudited(error);
    }
    throw error;
  }
  if (outcome.decision === 'reject') {
    await store.writeAudited(postingOps(store, outcome.posting), done(stamp, nowMs, outcome.audit));
    return { posting: outcome.posting };
  }
  const { posting } = outcome;
  const moved = await stageMove(store, posting.kind, posting.accountId, posting.amountMinor, nowMs);
  const approved = approvePosting(posting, stamp.actor.id, nowMs, moved);
  await store.commitAudited(moved.ws, done(stamp, nowMs, approved.audit), postingOps(store, approved.posting));
  return { posting: approved.posting, account: moved.after, transfer: moved.transfer };
}
