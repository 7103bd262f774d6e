// The operations operators and tools run on the ledger, with JSON views: the CLI (on the store directly)
// and the NATS service (while the processor holds the store) both call these, so their output is the same.

import { checkPan, containsPan, maskCard, redactPans } from '../domain/cards.ts';
import { available } from '../domain/apply.ts';
import { amountRuleText, formatAmount, parseAmount } from '../domain/money.ts';
import type { Account, Card, OrderResult, Transfer } from '../domain/types.ts';
import type { OrderRecord } from '../domain/apply.ts';
import type { AuditStamp } from '../domain/audit.ts';
import { DEFAULT_FOUR_EYES_LAPSE_MS, DEFAULT_FOUR_EYES_SPEC, type FourEyesOptions, type Posting, needsSecondOperator, parseFourEyes } from '../domain/four-eyes.ts';
import { LedgerError } from './errors.ts';
import type { LedgerStore } from './store.ts';
import { type VerifyReport, verifyLedger } from './verify.ts';

export interface CardJson {
  token: string;
  masked: string;
  brand: string;
  expiry: string;
  status: string;
  holder: { name: string; email?: string; phone?: string };
  accountId: string;
  createdAt: string;
}

export interface AccountJson {
  id: string;
  currency: string;
  balance: string;
  holds: string;
  available: string;
  owner: { kind: string; name: string };
  createdAt: string;
}

export interface TransferJson {
  id: string;
  kind: string;
  debit: string;
  credit: string;
  amount: string;
  currency: string;
  orderId: string;
  at: string;
}

export interface OrderJson {
  orderId: string;
  type: string;
  status: string;
  result: OrderResult;
  amount?: string;
  currency?: string;
  card?: string;
  merchant?: string;
  ref?: string;
  batchId?: string;
  open: boolean;
  hold?: string;
  paid?: string;
  refunded?: string;
  closedBy?: string;
}

const money = (minor: bigint, currency: string): string => formatAmount(minor, currency, { grouping: false });
const DAY_MS = 86_400_000;
/** today's spend of a card sums at most this many transfers */
const TODAY_TRANSFERS_MAX = 1000;

export function cardJson(card: Card): CardJson {
  return {
    token: card.token,
    masked: maskCard(card),
    brand: card.brand,
    expiry: card.expiry,
    status: card.status,
    holder: { ...card.holder },
    accountId: card.accountId,
    createdAt: card.createdAt,
  };
}

export function accountJson(a: Account): AccountJson {
  return {
    id: a.id,
    currency: a.currency,
    balance: money(a.balanceMinor, a.currency),
    holds: money(a.holdsMinor, a.currency),
    available: money(available(a), a.currency),
    owner: { ...a.owner },
    createdAt: a.createdAt,
  };
}

export function transferJson(t: Transfer): TransferJson {
  return {
    id: t.id,
    kind: t.kind,
    debit: t.debit,
    credit: t.credit,
    amount: money(t.amountMinor, t.currency),
    currency: t.currency,
    orderId: t.orderId,
    at: new Date(t.atMs).toISOString(),
  };
}

export function orderJson(r: OrderRecord): OrderJson {
  const o = r.order;
  const view: OrderJson = { orderId: o.id, type: o.type, status: r.result.status, result: r.result, open: r.open };
  const currency = o.currency;
  if (o.amountMinor !== undefined && currency) view.amount = money(o.amountMinor, currency);
  if (currency) view.currency = currency;
  if (o.cardToken) view.card = o.cardToken;
  if (o.merchant) view.merchant = o.merchant;
  if (o.ref) view.ref = o.ref;
  if (o.batchId) view.batchId = o.batchId;
  if (currency && r.holdMinor > 0n) view.hold = money(r.holdMinor, currency);
  if (currency && r.paidMinor > 0n) view.paid = money(r.paidMinor, currency);
  if (currency && r.refundedMinor > 0n) view.refunded = money(r.refundedMinor, currency);
  if (r.closedBy) view.closedBy = r.closedBy;
  return view;
}

export interface CardDetailJson {
  card: CardJson;
  account?: AccountJson;
  /** money out of the card's account since 00:00 UTC */
  todaySpend?: string;
  transfers: TransferJson[];
}

/** Requests the API answers; the service's endpoints carry the same names and fields. */
export interface ApiRequests {
  'cards.register': { pan: string; expiry: string; holder: string; email?: string; phone?: string; account?: string; currency?: string };
  'cards.list': { limit?: number; after?: string };
  'cards.lookup': { query: string; limit?: number };
  'cards.show': { query: string; transfers?: number };
  'cards.freeze': { token: string };
  'cards.unfreeze': { token: string };
  'cards.close': { token: string };
  'accounts.open': { owner: string; currency: string; id?: string; kind?: 'merchant' | 'cardholder' };
  'accounts.deposit': { id: string; amount: string };
  'accounts.withdraw': { id: string; amount: string };
  'accounts.get': { id: string; transfers?: number };
  'accounts.list': { limit?: number };
  'orders.get': { id: string };
  verify: Record<string, never>;
}

export interface PostingJson {
  id: string;
  kind: string;
  account: string;
  amount: string;
  currency: string;
  status: string;
  madeBy: string;
  createdAt: string;
  expiresAt: string;
  decidedBy?: string;
  transferId?: string;
}

export function postingJson(p: Posting, nowMs: number): PostingJson {
  const view: PostingJson = {
    id: p.id,
    kind: p.kind,
    account: p.accountId,
    amount: money(p.amountMinor, p.currency),
    currency: p.currency,
    // a pending posting past its time is shown lapsed (it is marked so when someone decides it)
    status: p.status === 'pending' && nowMs > p.expiresAtMs ? 'lapsed' : p.status,
    madeBy: p.madeBy,
    createdAt: new Date(p.createdAtMs).toISOString(),
    expiresAt: new Date(p.expiresAtMs).toISOString(),
  };
  if (p.decidedBy) view.decidedBy = p.decidedBy;
  if (p.transferId) view.transferId = p.transferId;
  return view;
}

/** The default four-eyes options (DEFAULT_FOUR_EYES_SPEC, 24 h). */
export const DEFAULT_FOUR_EYES: FourEyesOptions = (() => {
  const parsed = parseFourEyes(DEFAULT_FOUR_EYES_SPEC, `${DEFAULT_FOUR_EYES_LAPSE_MS / 3_600_000}h`);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.options;
})();

/** A manual deposit or withdrawal: done, or waiting for a second operator. */
export type PostingOutcome = { account: AccountJson; transfer: TransferJson } | { pending: PostingJson };

export class LedgerApi {
  constructor(
    readonly store: LedgerStore,
    private readonly clock: () => number = Date.now,
    readonly fourEyes: FourEyesOptions = DEFAULT_FOUR_EYES,
  ) {}

  async registerCard(req: ApiRequests['cards.register'], stamp: AuditStamp): Promise<{ created: boolean; card: CardJson; account?: AccountJson }> {
    if (typeof req.pan !== 'string' || typeof req.expiry !== 'string' || typeof req.holder !== 'string') {
      throw new LedgerError('invalid_request', 'pan, expiry and holder are required strings');
    }
    const input: Parameters<LedgerStore['registerCard']>[0] = {
      pan: req.pan,
      expiry: req.expiry,
      holder: { name: req.holder },
    };
    if (req.email) input.holder.email = req.email;
    if (req.phone) input.holder.phone = req.phone;
    if (req.account) input.accountId = req.account;
    if (req.currency) input.currency = req.currency;
    const { card, created } = await this.store.registerCard(input, stamp, this.clock());
    const account = await this.store.getAccount(card.accountId);
    return account ? { created, card: cardJson(card), account: accountJson(account) } : { created, card: cardJson(card) };
  }

  async listCards(req: ApiRequests['cards.list'] = {}): Promise<{ cards: CardJson[] }> {
    return { cards: (await this.store.listCards(req)).map(cardJson) };
  }

  async lookupCards(req: ApiRequests['cards.lookup']): Promise<{ cards: CardJson[] }> {
    return { cards: (await this.store.findCards(await this.cardQuery(req.query), req.limit ?? 20)).map(cardJson) };
  }

  /** A query that is a card number looks its card up by token (the PAN itself is never a key). */
  private async cardQuery(query: string): Promise<string> {
    const pan = checkPan(query.trim());
    if (!pan.ok) return query;
    // under whichever key version the card was registered (the current one's token when none holds it)
    return (await this.store.findCardByPan(pan.pan))?.token ?? this.store.tokenize(pan.pan);
  }

  async showCard(req: ApiRequests['cards.show']): Promise<CardDetailJson> {
    const cards = await this.store.findCards(await this.cardQuery(req.query), 2);
    // a query holding a card number is never echoed back
    const what = containsPan(req.query) || checkPan(req.query).ok ? 'the given card number' : JSON.stringify(redactPans(req.query));
    if (cards.length === 0) throw new LedgerError('unknown_card', `no card matches ${what}`);
    if (cards.length > 1) {
      throw new LedgerError('ambiguous', `several cards match ${what}: use the token (cards list)`);
    }
    const card = cards[0]!;
    const account = await this.store.getAccount(card.accountId);
    const detail: CardDetailJson = { card: cardJson(card), transfers: [] };
    if (account) {
      detail.account = accountJson(account);
      const now = this.clock();
      const midnight = now - (now % DAY_MS);
      const today = await this.store.transfersOf(account.id, { limit: TODAY_TRANSFERS_MAX, sinceMs: midnight });
      const spent = today.filter((t) => t.debit === account.id).reduce((s, t) => s + t.amountMinor, 0n);
      detail.todaySpend = money(spent, account.currency);
      detail.transfers = (await this.store.transfersOf(account.id, { limit: req.transfers ?? 10 })).map(transferJson);
    }
    return detail;
  }

  async setCardStatus(token: string, status: Card['status'], stamp: AuditStamp): Promise<{ card: CardJson }> {
    return { card: cardJson(await this.store.setCardStatus(token, status, stamp, this.clock())) };
  }

  async openAccount(req: ApiRequests['accounts.open'], stamp: AuditStamp): Promise<{ account: AccountJson }> {
    const input: Parameters<LedgerStore['openAccount']>[0] = { owner: req.owner, currency: req.currency, kind: req.kind ?? 'merchant' };
    if (req.id) input.id = req.id;
    return { account: accountJson(await this.store.openAccount(input, stamp, this.clock())) };
  }

  deposit(req: ApiRequests['accounts.deposit'], stamp: AuditStamp): Promise<PostingOutcome> {
    return this.post('deposit', req, stamp);
  }

  withdraw(req: ApiRequests['accounts.withdraw'], stamp: AuditStamp): Promise<PostingOutcome> {
    return this.post('withdrawal', req, stamp);
  }

  /** Above the four-eyes threshold of its currency, a posting waits for a second operator instead of moving money. */
  private async post(kind: 'deposit' | 'withdrawal', req: { id: string; amount: string }, stamp: AuditStamp): Promise<PostingOutcome> {
    const account = await this.store.getAccount(req.id);
    if (!account) throw new LedgerError('unknown_account', `no account ${req.id}`);
    const amount = parseAmount(req.amount, account.currency);
    if (!amount.ok) throw new LedgerError(amount.reason, `amount ${JSON.stringify(req.amount)} ${amountRuleText(amount.reason, account.currency)}`);
    const now = this.clock();
    if (needsSecondOperator(this.fourEyes, account.currency, amount.amountMinor)) {
      const posting = await this.store.createPosting(kind, req.id, amount.amountMinor, this.fourEyes.lapseMs, stamp, now);
      return { pending: postingJson(posting, now) };
    }
    const { account: after, transfer } =
      kind === 'deposit' ? await this.store.deposit(req.id, amount.amountMinor, stamp, now) : await this.store.withdraw(req.id, amount.amountMinor, stamp, now);
    return { account: accountJson(after), transfer: transferJson(transfer) };
  }

  /** A second operator's decision on a pending posting (approve moves the money, once). */
  async decidePosting(id: string, decision: 'approve' | 'reject', stamp: AuditStamp): Promise<{ posting: PostingJson; account?: AccountJson; transfer?: TransferJson }> {
    const now = this.clock();
    const out = await this.store.decidePosting(id, decision, stamp, now);
    const view: { posting: PostingJson; account?: AccountJson; transfer?: TransferJson } = { posting: postingJson(out.posting, now) };
    if (out.account) view.account = accountJson(out.account);
    if (out.transfer) view.transfer = transferJson(out.transfer);
    return view;
  }

  async pendingPostings(): Promise<{ postings: PostingJson[] }> {
    const now = this.clock();
    return { postings: (await this.store.pendingPostings()).map((p) => postingJson(p, now)) };
  }

  get now(): number {
    return this.clock();
  }

  async getAccount(req: ApiRequests['accounts.get']): Promise<{ account: AccountJson; transfers: TransferJson[] }> {
    const account = await this.store.getAccount(req.id);
    if (!account) throw new LedgerError('unknown_account', `no account ${req.id}`);
    const transfers = await this.store.transfersOf(req.id, { limit: req.transfers ?? 10 });
    return { account: accountJson(account), transfers: transfers.map(transferJson) };
  }

  async listAccounts(req: ApiRequests['accounts.list'] = {}): Promise<{ accounts: AccountJson[] }> {
    return { accounts: (await this.store.listAccounts(req)).map(accountJson) };
  }

  async getOrder(req: ApiRequests['orders.get']): Promise<{ order: OrderJson }> {
    const record = await this.store.getOrder(req.id);
    if (!record) throw new LedgerError('unknown_order', `no order ${req.id}`);
    return { order: orderJson(record) };
  }

  async reviewQueue(): Promise<{ orders: OrderJson[] }> {
    return { orders: (await this.store.reviewQueue()).map(orderJson) };
  }

  verify(): Promise<VerifyReport> {
    return verifyLedger(this.store);
  }
}
