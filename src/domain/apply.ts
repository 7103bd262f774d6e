// Ledger arithmetic: the pure decisions that turn orders into transfers, holds and results.
// Everything works on a WorkingSet (plain maps prefetched by the store); no I/O, no clock.

import type { Account, Card, Order, OrderResult, ResultStatus, Transfer, TransferKind } from './types.ts';
import { parseExpiry } from './cards.ts';
import { samePayload } from './fingerprint.ts';
import { formatAmount } from './money.ts';
import type { DeclineReason, RejectReason } from './reasons.ts';
import type { RiskDecision } from './risk/decision.ts';

export const FUNDING_ACCOUNT_ID = 'funding';

/** `funding` and the per-currency `funding-<CCY>`: system accounts no order may name as its merchant. */
export const isFundingAccountId = (id: string): boolean =>
  id === FUNDING_ACCOUNT_ID || id.startsWith(`${FUNDING_ACCOUNT_ID}-`);

/** What paystream remembers of an order: the order, its result and the state later orders act on. */
export interface OrderRecord {
  order: Order;
  result: OrderResult;
  /** the card's account (payer for payment/authorize, payee for payout/refund) */
  accountId?: string;
  /** the account the hold sits on when it is not accountId: a payout held for review holds the merchant's */
  holdAccountId?: string;
  /** open hold on holdAccountId ?? accountId (authorization or order held for review); 0n when none */
  holdMinor: bigint;
  /** true while an authorization or a held order is not final */
  open: boolean;
  /** why an open order was closed without being completed */
  closedBy?: 'void' | 'cancel' | 'expired' | 'review_declined' | 'review_timeout';
  /** money that moved to the merchant under this order (payment, capture): refunds are bounded by it */
  paidMinor: bigint;
  refundedMinor: bigint;
  /** for authorizations: captured already (capture happens once) */
  capturedMinor: bigint;
  /** epoch ms after which the hold lapses */
  holdExpiresAtMs?: number;
  /** risk rule that held the order for review */
  reviewRule?: string;
}

export interface ApplyOptions {
  /** open merchant accounts on first use (in the order's currency) @default true */
  autoOpenMerchants: boolean;
  /** how long an authorization hold lasts @default 7 days */
  authorizationHoldMs: number;
  /** how long an order may wait in review @default 15 min */
  reviewTimeoutMs: number;
  /** what a review timeout does @default 'decline' */
  reviewTimeoutAction: 'approve' | 'decline';
}

export const DEFAULT_APPLY_OPTIONS: ApplyOptions = {
  autoOpenMerchants: true,
  authorizationHoldMs: 7 * 24 * 3600_000,
  reviewTimeoutMs: 15 * 60_000,
  reviewTimeoutAction: 'decline',
};


/**
 * The prefetched slice of the ledger one buffer needs, plus every change decided so far.
 * Lookups read the changes first, so each decision sees the ones before it.
 */
export class WorkingSet {
  readonly accounts = new Map<string, Account>();
  readonly cards = new Map<string, Card>();
  readonly orders = new Map<string, OrderRecord>();
  readonly dirtyAccounts = new Set<string>();
  /** accounts opened in this working set (not in the ledger yet): their static record is written too */
  readonly createdAccounts = new Set<string>();
  readonly dirtyOrders = new Set<string>();
  readonly transfers: Transfer[] = [];
  /** results to publish, in order (includes duplicates, which are not stored again) */
  readonly published: OrderResult[] = [];
  /** hold expiry times an order no longer has (its index entry must go): order id and the old time */
  readonly staleExpiries: { orderId: string; atMs: number }[] = [];
  /** orders the risk engine observed, and when: indexed so its state can be rebuilt after a restart */
  readonly riskObserved: { orderId: string; atMs: number }[] = [];
  /**
   * What each change since the last mark() replaced, to undo them: JOURNAL_SLOTS slots a change (the key, the
   * value before, JournalFlags), overwritten from one mark to the next, so that keeping it allocates nothing
   * once warm. Absent until the first mark or checkpoint.
   */
  private journal: unknown[] | undefined;
  /** slots of `journal` in use */
  private journalLength = 0;
  /** counts marks: a checkpoint is only rolled back within the mark it was taken in */
  private marks = 0;
  /** the one mark, updated by each mark(): marks do not nest */
  private readonly lastMark: WorkingSetMark = { transfers: 0, published: 0, staleExpiries: 0, riskObserved: 0 };

  account(id: string): Account | undefined {
    return this.accounts.get(id);
  }
  card(token: string): Card | undefined {
    return this.cards.get(token);
  }
  order(id: string): OrderRecord | undefined {
    return this.orders.get(id);
  }

  /** Stores a changed account; one not in the working set yet is a new account. */
  putAccount(account: Account): void {
    const id = account.id;
    const before = this.accounts.get(id);
    const dirty = this.dirtyAccounts.has(id);
    const created = this.createdAccounts.has(id);
    if (this.journal) this.journalPush(id, before, (dirty ? JournalFlags.dirty : 0) | (created ? JournalFlags.created : 0));
    if (before === undefined) {
      if (!created) this.createdAccounts.add(id);
    }
    this.accounts.set(id, account);
    if (!dirty) this.dirtyAccounts.add(id);
  }
  putOrder(record: OrderRecord): void {
    const id = record.order.id;
    const prior = this.orders.get(id);
    const dirty = this.dirtyOrders.has(id);
    if (this.journal) this.journalPush(id, prior, JournalFlags.order | (dirty ? JournalFlags.dirty : 0));
    const before = prior?.holdExpiresAtMs;
    if (before !== undefined && before !== record.holdExpiresAtMs) {
      this.staleExpiries.push({ orderId: id, atMs: before });
    }
    this.orders.set(id, record);
    if (!dirty) this.dirtyOrders.add(id);
  }

  private journalPush(id: string, before: Account | OrderRecord | undefined, flags: number): void {
    const journal = this.journal!;
    const at = this.journalLength;
    journal[at] = id;
    journal[at + 1] = before;
    journal[at + 2] = flags;
    this.journalLength = at + JOURNAL_SLOTS;
  }

  /** Puts back, newest first, every change journaled from slot `from` on, and forgets them. */
  private journalUndo(from: number): void {
    const journal = this.journal;
    if (!journal) return;
    for (let at = this.journalLength - JOURNAL_SLOTS; at >= from; at -= JOURNAL_SLOTS) {
      const id = journal[at] as string;
      const flags = journal[at + 2] as number;
      if (flags & JournalFlags.order) {
        restoreEntry(this.orders, id, journal[at + 1] as OrderRecord | undefined);
        restoreMember(this.dirtyOrders, id, (flags & JournalFlags.dirty) !== 0);
      } else {
        restoreEntry(this.accounts, id, journal[at + 1] as Account | undefined);
        restoreMember(this.dirtyAccounts, id, (flags & JournalFlags.dirty) !== 0);
        restoreMember(this.createdAccounts, id, (flags & JournalFlags.created) !== 0);
      }
    }
    this.journalLength = from;
  }

  /** Moves money: the only way balances change. */
  transfer(t: Transfer): void {
    const from = this.accounts.get(t.debit);
    const to = this.accounts.get(t.credit);
    // each message is built only when its check fails (eager template strings cost every transfer)
    if (!from || !to) invariantFailed(`transfer ${t.id}: both accounts must be in the working set`);
    if (t.amountMinor <= 0n) invariantFailed(`transfer ${t.id}: amount must be positive`);
    if (from.currency !== t.currency || to.currency !== t.currency) invariantFailed(`transfer ${t.id}: currency`);
    if (from.id === to.id) invariantFailed(`transfer ${t.id}: debit and credit are the same account`);
    const balanceMinor = from.balanceMinor - t.amountMinor;
    // available (balance - holds) below zero, compared without computing it
    if (!from.overdraftAllowed && balanceMinor < from.holdsMinor) invariantFailed(`transfer ${t.id}: would overdraw ${t.debit}`);
    this.putAccount(withBalance(from, balanceMinor));
    this.putAccount(withBalance(to, to.balanceMinor + t.amountMinor));
    this.transfers.push(t);
  }

  /**
   * A point to roll back to (atomic batches): a place in the journal, which it starts if no mark has. Records are
   * immutable, so what a change replaced is all a rollback needs; copying every map cost each atomic batch a
   * pass over the whole working set.
   */
  checkpoint(): WorkingSetCheckpoint {
    this.journal ??= [];
    return {
      journalAt: this.journalLength,
      marks: this.marks,
      transfers: this.transfers.length,
      published: this.published.length,
      staleExpiries: this.staleExpiries.length,
    };
  }

  /** Back to `cp`: it must have been taken since the latest mark() (a mark forgets the journal before it). */
  rollback(cp: WorkingSetCheckpoint): void {
    if (cp.marks !== this.marks || cp.journalAt > this.journalLength) invariantFailed('rollback to a checkpoint taken before the latest mark');
    this.journalUndo(cp.journalAt);
    this.transfers.length = cp.transfers;
    this.published.length = cp.published;
    this.staleExpiries.length = cp.staleExpiries;
  }

  /**
   * Starts a journal of the changes that follow, so the per-message guard (streams/guard.ts) can undo what a
   * message that failed half-way had changed: a few entries a message. Marks do not nest: each one starts a new
   * journal, and the mark it returns is the working set's one mark, valid until the next mark(). Checkpoints and
   * their rollbacks may happen in between.
   */
  mark(): WorkingSetMark {
    this.journal ??= [];
    this.journalLength = 0;
    this.marks++;
    const mark = this.lastMark;
    mark.transfers = this.transfers.length;
    mark.published = this.published.length;
    mark.staleExpiries = this.staleExpiries.length;
    mark.riskObserved = this.riskObserved.length;
    return mark;
  }

  /** Puts back every account and order as it was at `mark` (newest change first), and drops what was added since. */
  undo(mark: WorkingSetMark): void {
    this.journalUndo(0);
    this.transfers.length = Math.min(this.transfers.length, mark.transfers);
    this.published.length = Math.min(this.published.length, mark.published);
    this.staleExpiries.length = Math.min(this.staleExpiries.length, mark.staleExpiries);
    this.riskObserved.length = Math.min(this.riskObserved.length, mark.riskObserved);
  }

  adjustHold(accountId: string, deltaMinor: bigint): void {
    const account = this.accounts.get(accountId);
    if (!account) invariantFailed(`hold on unknown account ${accountId}`);
    const holdsMinor = account.holdsMinor + deltaMinor;
    if (holdsMinor < 0n) invariantFailed(`holds on ${accountId} would go negative`);
    this.putAccount(withHolds(account, holdsMinor));
  }
}

export interface WorkingSetCheckpoint {
  /** the journal's length when it was taken */
  journalAt: number;
  /** WorkingSet.marks then */
  marks: number;
  transfers: number;
  published: number;
  staleExpiries: number;
}

/** Where the per-message guard's undo returns to: the lengths of the append-only lists at mark(). */
export interface WorkingSetMark {
  transfers: number;
  published: number;
  staleExpiries: number;
  riskObserved: number;
}

/** A journaled change: its key, the value it replaced (undefined: none) and these flags. */
const JOURNAL_SLOTS = 3;
const JournalFlags = {
  /** an order record (else an account) */
  order: 1,
  /** the key was dirty before the change */
  dirty: 2,
  /** the account was one opened in this working set before the change */
  created: 4,
} as const;

function restoreEntry<V>(map: Map<string, V>, key: string, before: V | undefined): void {
  if (before === undefined) map.delete(key);
  else map.set(key, before);
}

function restoreMember(set: Set<string>, key: string, member: boolean): void {
  if (member) set.add(key);
  else set.delete(key);
}

export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** For checks on the hot path: `if (!ok) invariantFailed(\`...\`)` builds the message only on failure. */
export function invariantFailed(message: string): never {
  throw new InvariantError(message);
}

export const available = (a: Account): bigint => a.balanceMinor - a.holdsMinor;

// Accounts are immutable values: a change is a copy. An explicit literal keeps one hidden class for every
// account and is cheaper than a spread.
const copyAccount = (a: Account, balanceMinor: bigint, holdsMinor: bigint): Account => ({
  id: a.id,
  currency: a.currency,
  balanceMinor,
  holdsMinor,
  owner: a.owner,
  overdraftAllowed: a.overdraftAllowed,
  createdAt: a.createdAt,
  historyHead: a.historyHead,
});
const withBalance = (a: Account, balanceMinor: bigint): Account => copyAccount(a, balanceMinor, a.holdsMinor);
const withHolds = (a: Account, holdsMinor: bigint): Account => copyAccount(a, a.balanceMinor, holdsMinor);

export interface ApplyContext {
  nowMs: number;
  /** when the order reached paystream (JetStream timestamp, or arrival): latency is measured from it */
  receivedAtMs: number;
  options: ApplyOptions;
}

// A buffer's orders share one clock reading: its ISO form is made once, not once per result.
let isoOfMs = Number.NaN;
let isoText = '';
function isoTime(ms: number): string {
  if (ms !== isoOfMs) {
    isoText = new Date(ms).toISOString();
    isoOfMs = ms;
  }
  return isoText;
}

export function resultOf(
  order: Pick<Order, 'id' | 'batchId'>,
  status: ResultStatus,
  ctx: ApplyContext,
  extra: Partial<OrderResult> = {},
): OrderResult {
  const result: OrderResult = {
    orderId: order.id,
    status,
    ...extra,
    processedAt: isoTime(ctx.nowMs),
    latencyMs: Math.max(0, ctx.nowMs - ctx.receivedAtMs),
  };
  if (order.batchId !== undefined) result.batchId = order.batchId;
  return result;
}

/**
 * resultOf(order, status, ctx, { transferId, available }) (either left out when undefined), as one literal:
 * the results of the orders that move or hold money, without an `extra` object to spread.
 */
function resultWith(order: Pick<Order, 'id' | 'batchId'>, status: ResultStatus, ctx: ApplyContext, transferId: string | undefined, available: string): OrderResult {
  const processedAt = isoTime(ctx.nowMs);
  const latencyMs = Math.max(0, ctx.nowMs - ctx.receivedAtMs);
  const result: OrderResult =
    transferId === undefined
      ? { orderId: order.id, status, available, processedAt, latencyMs }
      : { orderId: order.id, status, transferId, available, processedAt, latencyMs };
  if (order.batchId !== undefined) result.batchId = order.batchId;
  return result;
}

export function newRecord(order: Order, result: OrderResult, accountId?: string): OrderRecord {
  // one literal either way (a property added afterwards costs the record a second allocation)
  if (accountId === undefined) return { order, result, holdMinor: 0n, open: false, paidMinor: 0n, refundedMinor: 0n, capturedMinor: 0n };
  return { order, result, holdMinor: 0n, open: false, paidMinor: 0n, refundedMinor: 0n, capturedMinor: 0n, accountId };
}

export function finish(ws: WorkingSet, record: OrderRecord): OrderResult {
  ws.putOrder(record);
  ws.published.push(record.result);
  return record.result;
}

const NO_GROUPING = { grouping: false } as const;

function availableString(account: Account): string {
  return formatAmount(available(account), account.currency, NO_GROUPING);
}

/**
 * Records an order rejected before the ledger decided it (validation, batch admission, a failure while handling
 * it), so a republish of the same id gets the same answer.
 */
export function applyRejection(
  ws: WorkingSet,
  order: Pick<Order, 'id' | 'batchId'> & Partial<Order>,
  reason: RejectReason,
  field: string | undefined,
  ctx: ApplyContext,
): OrderResult {
  const prior = ws.order(order.id);
  if (prior) return answerKnownId(ws, prior, order, ctx);
  const stub: Order = { type: 'payment', createdAtMs: ctx.receivedAtMs, ...order };
  const extra: Partial<OrderResult> = { reason };
  if (field !== undefined) extra.field = field;
  return finish(ws, newRecord(stub, resultOf(stub, 'rejected', ctx, extra)));
}

function duplicateOf(ws: WorkingSet, prior: OrderRecord): OrderResult {
  const result: OrderResult = { ...prior.result, duplicate: true };
  ws.published.push(result);
  return result;
}

/**
 * A message under an id the ledger already holds. The same payload (a redelivery, an identical republish:
 * equal fingerprints) gets the first result again, marked duplicate. A different payload is someone else's
 * order under a taken id: `rejected` `id_conflict`, published but not stored (the id's record stays the
 * first order's) and never answered with the first order's result. Either side without a fingerprint
 * (records from before fingerprints) is answered as a duplicate, as it always was.
 */
export function answerKnownId(
  ws: WorkingSet,
  prior: OrderRecord,
  incoming: Pick<Order, 'id' | 'batchId' | 'fingerprint'>,
  ctx: ApplyContext,
): OrderResult {
  if (samePayload(prior.order.fingerprint, incoming.fingerprint) !== 'different') return duplicateOf(ws, prior);
  const result = resultOf(incoming, 'rejected', ctx, { reason: 'id_conflict', field: 'id' });
  ws.published.push(result);
  return result;
}

/** True when a result is an id conflict (the caller dead-letters it: it was not applied). */
export const isIdConflict = (result: OrderResult): boolean =>
  result.status === 'rejected' && result.reason === 'id_conflict' && result.duplicate === undefined;

/** Most expiry texts whose first expired instant is remembered; at the bound the memory starts over. */
const EXPIRY_TEXTS_MAX = 4096;
/** expiry text -> the first instant the card is expired at, NaN when the text does not parse */
const expiredFromMs = new Map<string, number>();

/**
 * cards.ts isExpired, without parsing the text again on every order (a RegExp match and two objects each time):
 * a ledger holds a few hundred distinct expiries, each parsed once here.
 */
export function isCardExpired(expiry: string, nowMs: number): boolean {
  let fromMs = expiredFromMs.get(expiry);
  if (fromMs === undefined) {
    const parsed = parseExpiry(expiry);
    // Date.UTC months are 0-based, so `month` (1-based) is the first instant of the following month
    fromMs = parsed.ok ? Date.UTC(parsed.year, parsed.month, 1) : Number.NaN;
    if (expiredFromMs.size >= EXPIRY_TEXTS_MAX) expiredFromMs.clear();
    expiredFromMs.set(expiry, fromMs);
  }
  // an expiry that does not parse counts as expired (fail closed)
  return Number.isNaN(fromMs) || nowMs >= fromMs;
}

/** The order's card, usable and in its currency, or why not; its account is then in the working set. */
function checkCard(ws: WorkingSet, order: Order, ctx: ApplyContext): Card | DeclineReason {
  const card = order.cardToken === undefined ? undefined : ws.card(order.cardToken);
  if (!card) return 'unknown_card';
  if (card.status === 'frozen') return 'card_frozen';
  if (card.status === 'closed') return 'card_closed';
  if (isCardExpired(card.expiry, ctx.nowMs)) return 'card_expired';
  const account = ws.account(card.accountId);
  if (!account) return 'unknown_account';
  if (order.currency !== undefined && account.currency !== order.currency) return 'currency_mismatch';
  return card;
}

function merchantAccount(
  ws: WorkingSet,
  merchant: string,
  currency: string,
  ctx: ApplyContext,
): Account | { reason: DeclineReason } {
  if (isFundingAccountId(merchant)) return { reason: 'merchant_unknown' };
  const existing = ws.account(merchant);
  if (existing) {
    if (existing.owner.kind !== 'merchant') return { reason: 'merchant_unknown' };
    if (existing.currency !== currency) return { reason: 'currency_mismatch' };
    return existing;
  }
  if (!ctx.options.autoOpenMerchants) return { reason: 'merchant_unknown' };
  const opened: Account = {
    id: merchant,
    currency,
    balanceMinor: 0n,
    holdsMinor: 0n,
    owner: { kind: 'merchant', name: merchant },
    overdraftAllowed: false,
    createdAt: new Date(ctx.nowMs).toISOString(),
  };
  ws.putAccount(opened);
  return opened;
}

const transferId = (order: Order): string => `tx_${order.id}`;

function makeTransfer(order: Order, kind: TransferKind, debit: string, credit: string, amountMinor: bigint, ctx: ApplyContext): Transfer {
  return {
    id: transferId(order),
    debit,
    credit,
    amountMinor,
    currency: order.currency!,
    kind,
    orderId: order.id,
    atMs: ctx.nowMs,
  };
}

function decline(ws: WorkingSet, order: Order, reason: DeclineReason, ctx: ApplyContext, extra: Partial<OrderResult> = {}, accountId?: string): OrderResult {
  return finish(ws, newRecord(order, resultOf(order, 'declined', ctx, { reason, ...extra }), accountId));
}

/**
 * Applies one validated order to the working set and returns its result.
 * Idempotent: an order id seen before with the same payload returns the original result marked duplicate;
 * with a different payload, `rejected` `id_conflict` (answerKnownId).
 */
export function applyOrder(ws: WorkingSet, order: Order, risk: RiskDecision, ctx: ApplyContext): OrderResult {
  const prior = ws.order(order.id);
  if (prior) return answerKnownId(ws, prior, order, ctx);

  if (risk.outcome === 'expire') {
    return finish(ws, newRecord(order, resultOf(order, 'expired', ctx, { reason: risk.reason, rule: risk.ruleId })));
  }
  if (risk.outcome === 'reject') {
    return finish(ws, newRecord(order, resultOf(order, 'rejected', ctx, { reason: risk.reason, rule: risk.ruleId, field: 'createdAt' })));
  }

  switch (order.type) {
    case 'payment':
    case 'authorize':
      return applyDebit(ws, order, risk, ctx);
    case 'payout':
      return applyPayout(ws, order, risk, ctx);
    case 'capture':
      return applyCapture(ws, order, ctx);
    case 'void':
    case 'cancel':
      return applyRelease(ws, order, ctx);
    case 'refund':
      return applyRefund(ws, order, ctx);
    case 'modify':
      return applyModify(ws, order, risk, ctx);
  }
}

function applyDebit(ws: WorkingSet, order: Order, risk: RiskDecision, ctx: ApplyContext): OrderResult {
  const amount = order.amountMinor!;
  const card = checkCard(ws, order, ctx);
  if (typeof card === 'string') return decline(ws, order, card, ctx);
  const accountId = ws.account(card.accountId)!.id;
  if (risk.outcome === 'block') {
    return decline(ws, order, 'risk_blocked', ctx, { rule: risk.ruleId }, accountId);
  }
  const merchant = merchantAccount(ws, order.merchant!, order.currency!, ctx);
  if ('reason' in merchant) return decline(ws, order, merchant.reason, ctx, {}, accountId);
  const account = ws.account(accountId)!;
  if (available(account) < amount) {
    return decline(ws, order, 'insufficient_funds', ctx, { available: availableString(account) }, account.id);
  }
  if (risk.outcome === 'review' || order.type === 'authorize') return holdDebit(ws, order, risk, account.id, amount, ctx);
  const t = makeTransfer(order, 'payment', account.id, order.merchant!, amount, ctx);
  ws.transfer(t);
  const result = resultWith(order, 'approved', ctx, t.id, availableString(ws.account(account.id)!));
  const record = newRecord(order, result, account.id);
  record.paidMinor = amount;
  return finish(ws, record);
}

/** A payment held for review, or an authorization: the amount held on the card's account. */
function holdDebit(ws: WorkingSet, order: Order, risk: RiskDecision, accountId: string, amount: bigint, ctx: ApplyContext): OrderResult {
  ws.adjustHold(accountId, amount);
  const available = availableString(ws.account(accountId)!);
  if (risk.outcome !== 'review') {
    const result = resultWith(order, 'authorized', ctx, undefined, available);
    return finish(ws, heldRecord(order, result, accountId, amount, ctx.nowMs + ctx.options.authorizationHoldMs));
  }
  const result = resultOf(order, 'held', ctx, { available, rule: risk.ruleId, reason: risk.reason });
  const record = heldRecord(order, result, accountId, amount, ctx.nowMs + ctx.options.reviewTimeoutMs);
  record.reviewRule = risk.ruleId;
  return finish(ws, record);
}

/** newRecord's record of an open hold, its fields in the same order, as one literal. */
function heldRecord(order: Order, result: OrderResult, accountId: string, holdMinor: bigint, holdExpiresAtMs: number): OrderRecord {
  return { order, result, holdMinor, open: true, paidMinor: 0n, refundedMinor: 0n, capturedMinor: 0n, accountId, holdExpiresAtMs };
}

function applyPayout(ws: WorkingSet, order: Order, risk: RiskDecision, ctx: ApplyContext): OrderResult {
  const amount = order.amountMinor!;
  const card = checkCard(ws, order, ctx);
  if (typeof card === 'string') return decline(ws, order, card, ctx);
  const accountId = ws.account(card.accountId)!.id;
  if (risk.outcome === 'block') return decline(ws, order, 'risk_blocked', ctx, { rule: risk.ruleId }, accountId);
  // only a merchant pays out: a system account (funding) would mint money for whoever names it
  const merchant = ws.account(order.merchant!);
  if (merchant?.owner.kind !== 'merchant') return decline(ws, order, 'merchant_unknown', ctx);
  if (merchant.currency !== order.currency) return decline(ws, order, 'currency_mismatch', ctx);
  if (available(merchant) < amount) return decline(ws, order, 'insufficient_funds', ctx);
  if (risk.outcome === 'review') {
    // held like a payment under review, the hold on the paying merchant's account
    ws.adjustHold(merchant.id, amount);
    const record = newRecord(
      order,
      resultOf(order, 'held', ctx, {
        rule: risk.ruleId,
        reason: risk.reason,
        available: availableString(ws.account(accountId)!),
      }),
      accountId,
    );
    record.holdAccountId = merchant.id;
    record.holdMinor = amount;
    record.open = true;
    record.holdExpiresAtMs = ctx.nowMs + ctx.options.reviewTimeoutMs;
    record.reviewRule = risk.ruleId;
    return finish(ws, record);
  }
  const t = makeTransfer(order, 'payout', merchant.id, accountId, amount, ctx);
  ws.transfer(t);
  return finish(ws, newRecord(order, resultWith(order, 'approved', ctx, t.id, availableString(ws.account(accountId)!)), accountId));
}

/** Looks up the order a capture/void/refund/cancel/modify acts on. */
function referenced(ws: WorkingSet, order: Order): OrderRecord | { reason: DeclineReason } {
  const ref = order.ref === undefined ? undefined : ws.order(order.ref);
  if (!ref) return { reason: 'unknown_ref' };
  if (order.currency !== undefined && ref.order.currency !== order.currency) return { reason: 'currency_mismatch' };
  return ref;
}

/** Closes an open hold on the referenced order. */
function releaseHold(ws: WorkingSet, ref: OrderRecord): OrderRecord {
  const holder = ref.holdAccountId ?? ref.accountId;
  if (ref.holdMinor > 0n && holder !== undefined) ws.adjustHold(holder, -ref.holdMinor);
  return { ...ref, holdMinor: 0n, open: false };
}

/**
 * An open order whose time is up but that the sweep has not reached: lapse it now (as the sweep would),
 * so a capture, void, cancel or modify gets the same answer whenever the sweep runs.
 */
function lapseIfDue(ws: WorkingSet, ref: OrderRecord, ctx: ApplyContext): OrderRecord {
  if (!ref.open || ref.holdExpiresAtMs === undefined || ref.holdExpiresAtMs > ctx.nowMs) return ref;
  expireHold(ws, ref.order.id, ctx);
  return ws.order(ref.order.id)!;
}

function applyCapture(ws: WorkingSet, order: Order, ctx: ApplyContext): OrderResult {
  const found = referenced(ws, order);
  if ('reason' in found) return decline(ws, order, found.reason, ctx);
  if (found.order.type !== 'authorize' || found.result.status !== 'authorized') return decline(ws, order, 'invalid_ref', ctx);
  if (found.capturedMinor > 0n) return decline(ws, order, 'already_captured', ctx);
  const ref = lapseIfDue(ws, found, ctx);
  if (!ref.open) return decline(ws, order, 'authorization_closed', ctx);
  const amount = order.amountMinor ?? ref.holdMinor;
  if (amount > ref.holdMinor) return decline(ws, order, 'amount_exceeds_authorization', ctx);
  const merchantId = ref.order.merchant!;
  const currency = ref.order.currency!;
  const merchant = merchantAccount(ws, merchantId, currency, ctx);
  if ('reason' in merchant) return decline(ws, order, merchant.reason, ctx);
  const closed = releaseHold(ws, ref);
  // the stored capture names the merchant, so a refund of it knows whom to debit (capture orders carry none)
  const captureOrder: Order = { ...order, merchant: merchantId, currency, amountMinor: amount };
  const t = makeTransfer(captureOrder, 'capture', ref.accountId!, merchantId, amount, ctx);
  ws.transfer(t);
  ws.putOrder({ ...closed, capturedMinor: amount });
  const record = newRecord(
    captureOrder,
    resultWith(order, 'captured', ctx, t.id, availableString(ws.account(ref.accountId!)!)),
    ref.accountId,
  );
  record.paidMinor = amount;
  return finish(ws, record);
}

/** void (authorizations) and cancel (authorizations and held orders). */
function applyRelease(ws: WorkingSet, order: Order, ctx: ApplyContext): OrderResult {
  const found = referenced(ws, order);
  if ('reason' in found) return decline(ws, order, found.reason, ctx);
  const ref = lapseIfDue(ws, found, ctx);
  const isAuth = ref.order.type === 'authorize' && ref.result.status === 'authorized';
  const isHeld = ref.result.status === 'held';
  if (order.type === 'void' && !isAuth) return decline(ws, order, 'invalid_ref', ctx);
  if (!isAuth && !isHeld) return decline(ws, order, 'not_modifiable', ctx);
  if (!ref.open) return decline(ws, order, ref.capturedMinor > 0n ? 'already_captured' : 'authorization_closed', ctx);
  const closed: OrderRecord = { ...releaseHold(ws, ref), closedBy: order.type === 'void' ? 'void' : 'cancel' };
  if (isHeld) {
    // the held order gets its final result now
    closed.result = resultOf(ref.order, 'canceled', ctx, { reason: `canceled by ${order.id}` });
    ws.published.push(closed.result);
  }
  ws.putOrder(closed);
  const status: ResultStatus = order.type === 'void' ? 'voided' : 'canceled';
  const account = ref.accountId === undefined ? undefined : ws.account(ref.accountId);
  const extra: Partial<OrderResult> = account ? { available: availableString(account) } : {};
  return finish(ws, newRecord(order, resultOf(order, status, ctx, extra), ref.accountId));
}

function applyRefund(ws: WorkingSet, order: Order, ctx: ApplyContext): OrderResult {
  const ref = referenced(ws, order);
  if ('reason' in ref) return decline(ws, order, ref.reason, ctx);
  if (ref.paidMinor === 0n) return decline(ws, order, 'invalid_ref', ctx);
  const remaining = ref.paidMinor - ref.refundedMinor;
  const amount = order.amountMinor ?? remaining;
  if (amount <= 0n || amount > remaining) return decline(ws, order, 'amount_exceeds_refundable', ctx);
  const merchantId = ref.order.merchant!;
  const merchant = ws.account(merchantId);
  if (!merchant) return decline(ws, order, 'merchant_unknown', ctx);
  if (available(merchant) < amount) return decline(ws, order, 'insufficient_funds', ctx);
  const refundOrder: Order = { ...order, currency: ref.order.currency!, amountMinor: amount };
  const t = makeTransfer(refundOrder, 'refund', merchantId, ref.accountId!, amount, ctx);
  ws.transfer(t);
  ws.putOrder({ ...ref, refundedMinor: ref.refundedMinor + amount });
  return finish(
    ws,
    newRecord(
      refundOrder,
      resultWith(order, 'refunded', ctx, t.id, availableString(ws.account(ref.accountId!)!)),
      ref.accountId,
    ),
  );
}

function applyModify(ws: WorkingSet, order: Order, risk: RiskDecision, ctx: ApplyContext): OrderResult {
  const found = referenced(ws, order);
  if ('reason' in found) return decline(ws, order, found.reason, ctx);
  const ref = lapseIfDue(ws, found, ctx);
  const isAuth = ref.order.type === 'authorize' && ref.result.status === 'authorized';
  const isHeld = ref.result.status === 'held';
  if (!(isAuth || isHeld) || !ref.open) return decline(ws, order, 'not_modifiable', ctx);
  if (risk.outcome === 'block') return decline(ws, order, 'risk_blocked', ctx, { rule: risk.ruleId });
  // re-run the card checks with the new amount
  const checked = checkCard(ws, { ...ref.order }, ctx);
  if (typeof checked === 'string') return decline(ws, order, checked, ctx);
  const newAmount = order.amountMinor!;
  // the payer's account: the card's, or the merchant's for a held payout
  const payer = ws.account(ref.holdAccountId ?? ref.accountId!)!;
  if (available(payer) + ref.holdMinor < newAmount) {
    return decline(ws, order, 'insufficient_funds', ctx, { available: availableString(payer) });
  }
  ws.adjustHold(payer.id, newAmount - ref.holdMinor);
  const account = ws.account(ref.accountId!)!;
  const updated: OrderRecord = {
    ...ref,
    order: { ...ref.order, amountMinor: newAmount },
    holdMinor: newAmount,
  };
  ws.putOrder(updated);
  const after = ws.account(account.id)!;
  const extra: Partial<OrderResult> = { available: availableString(after) };
  if (risk.outcome === 'review') {
    extra.rule = risk.ruleId;
    extra.reason = risk.reason;
  }
  return finish(ws, newRecord({ ...order, currency: ref.order.currency! }, resultOf(order, 'modified', ctx, extra), account.id));
}

/** An operator's (or a timeout's) decision on a held order: its final result. */
export function decideReview(
  ws: WorkingSet,
  orderId: string,
  decision: 'approve' | 'decline',
  decidedBy: string,
  ctx: ApplyContext,
  timeout = false,
): OrderResult | { error: 'not_found' | 'not_held' } {
  const ref = ws.order(orderId);
  if (!ref) return { error: 'not_found' };
  if (ref.result.status !== 'held' || !ref.open) return { error: 'not_held' };
  const closed = releaseHold(ws, ref);
  const order = ref.order;
  const accountId = ref.accountId!;
  if (decision === 'decline') {
    closed.closedBy = timeout ? 'review_timeout' : 'review_declined';
    closed.result = resultOf(order, 'declined', ctx, {
      reason: timeout ? 'review_timeout' : 'review_declined',
      rule: ref.reviewRule,
      available: availableString(ws.account(accountId)!),
      decidedBy,
    });
    return finish(ws, closed);
  }
  const amount = ref.holdMinor;
  if (order.type === 'authorize') {
    // an approved authorization keeps its hold, now as an authorization
    ws.adjustHold(accountId, amount);
    const approved: OrderRecord = {
      ...closed,
      holdMinor: amount,
      open: true,
      holdExpiresAtMs: ctx.nowMs + ctx.options.authorizationHoldMs,
      result: resultOf(order, 'authorized', ctx, {
        available: availableString(ws.account(accountId)!),
        decidedBy,
      }),
    };
    return finish(ws, approved);
  }
  if (order.type === 'payout') {
    const t = makeTransfer(order, 'payout', ref.holdAccountId!, accountId, amount, ctx);
    ws.transfer(t);
    const approved: OrderRecord = {
      ...closed,
      result: resultOf(order, 'approved', ctx, {
        transferId: t.id,
        available: availableString(ws.account(accountId)!),
        decidedBy,
      }),
    };
    return finish(ws, approved);
  }
  const merchant = merchantAccount(ws, order.merchant!, order.currency!, ctx);
  if ('reason' in merchant) {
    closed.result = resultOf(order, 'declined', ctx, { reason: merchant.reason });
    return finish(ws, closed);
  }
  const t = makeTransfer(order, 'payment', accountId, order.merchant!, amount, ctx);
  ws.transfer(t);
  const approved: OrderRecord = {
    ...closed,
    paidMinor: amount,
    result: resultOf(order, 'approved', ctx, {
      transferId: t.id,
      available: availableString(ws.account(accountId)!),
      decidedBy,
    }),
  };
  return finish(ws, approved);
}

/**
 * An open order past its time. A held order gets the review timeout's decision, its final result; an
 * authorization's hold is released and the authorization closed, with no new result.
 */
export function expireHold(ws: WorkingSet, orderId: string, ctx: ApplyContext): OrderResult | undefined {
  const ref = ws.order(orderId);
  // not due (a stale index entry, e.g. an authorization approved from review got a new expiry): leave it
  if (!ref?.open || ref.holdExpiresAtMs === undefined || ref.holdExpiresAtMs > ctx.nowMs) return undefined;
  if (ref.result.status === 'held') {
    const outcome = decideReview(ws, orderId, ctx.options.reviewTimeoutAction, 'timeout', ctx, true);
    return 'error' in outcome ? undefined : outcome;
  }
  ws.putOrder({ ...releaseHold(ws, ref), closedBy: 'expired' });
  return undefined;
}

/**
 * What a buffer needs prefetched, first round: the orders (idempotency, refs) and cards, each key given to
 * `orderId` or `cardToken` in the buffer's order, a key as often as the buffer names it.
 */
export function visitKeysNeeded(orders: readonly Order[], orderId: (id: string) => void, cardToken: (token: string) => void): void {
  for (let i = 0; i < orders.length; i++) {
    const o = orders[i]!;
    orderId(o.id);
    if (o.ref !== undefined) orderId(o.ref);
    if (o.cardToken !== undefined) cardToken(o.cardToken);
  }
}

