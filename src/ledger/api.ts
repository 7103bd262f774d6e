// The operations operators and tools run on the ledger, with JSON views: the CLI (on the store directly)
// and the NATS service (while the processor holds the store) both call these, so their output is the same.

import { checkPan, containsPan, maskCard, redactPans } from '../domain/cards.ts';
import { available } from '../domain/ledger.ts';
import { formatAmount, parseAmount } from '../domain/money.ts';
import type { Account, Card, OrderResult, Transfer } from '../domain/types.ts';
import type { OrderRecord } from '../domain/ledger.ts';
import { LedgerError, type LedgerStore } from './store.ts';
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
  'accounts.get': { id: string; transfers?: number };
  'accounts.list': { limit?: number };
  'orders.get': { id: string };
  verify: Record<string, never>;
}

export class LedgerApi {
  constructor(
    readonly store: LedgerStore,
    private readonly clock: () => number = Date.now,
  ) {}

  async registerCard(req: ApiRequests['cards.register']): Promise<{ created: boolean; card: CardJson; account?: AccountJson }> {
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
    const { card, created } = await this.store.registerCard(input, this.clock());
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
      const midnight = now - (now % 86_400_000);
      const today = await this.store.transfersOf(account.id, { limit: 1000, sinceMs: midnight });
      const spent = today.filter((t) => t.debit === account.id).reduce((s, t) => s + t.amountMinor, 0n);
      detail.todaySpend = money(spent, account.currency);
      detail.transfers = (await this.store.transfersOf(account.id, { limit: req.transfers ?? 10 })).map(transferJson);
    }
    return detail;
  }

  async setCardStatus(token: string, status: Card['status']): Promise<{ card: CardJson }> {
    return { card: cardJson(await this.store.setCardStatus(token, status)) };
  }

  async openAccount(req: ApiRequests['accounts.open']): Promise<{ account: AccountJson }> {
    const input: Parameters<LedgerStore['openAccount']>[0] = { owner: req.owner, currency: req.currency, kind: req.kind ?? 'merchant' };
    if (req.id) input.id = req.id;
    return { account: accountJson(await this.store.openAccount(input, this.clock())) };
  }

  async deposit(req: ApiRequests['accounts.deposit']): Promise<{ account: AccountJson; transfer: TransferJson }> {
    const account = await this.store.getAccount(req.id);
    if (!account) throw new LedgerError('unknown_account', `no account ${req.id}`);
    const amount = parseAmount(req.amount, account.currency);
    if (!amount.ok) throw new LedgerError(amount.reason, `amount ${JSON.stringify(req.amount)}: ${amount.reason.replaceAll('_', ' ')}`);
    const { account: after, transfer } = await this.store.deposit(req.id, amount.amountMinor, this.clock());
    return { account: accountJson(after), transfer: transferJson(transfer) };
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
