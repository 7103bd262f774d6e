// What the dashboard may ask of the running processor (card lookup, a card's detail, the review queue, a
// review decision), answered from the ledger as the plain views the panels render.

import os from 'node:os';
import { localActor } from '../domain/actor.ts';
import { maskCard } from '../domain/cards.ts';
import { type CardDetailJson, type LedgerApi, orderJson } from '../ledger/api.ts';
import type { LedgerStore } from '../ledger/store.ts';
import type { CardDetail, DashboardActions, HeldOrderView, ReviewOutcome } from '../../ui/types.ts';
import type { OpTable } from './operations.ts';

/** cards a lookup lists */
const LOOKUP_CARDS_MAX = 20;
/** transfers a card's detail shows */
const DETAIL_TRANSFERS_MAX = 8;
/** held orders the review panel lists */
const REVIEW_QUEUE_MAX = 200;

export function dashboardActions(api: LedgerApi, store: LedgerStore, ops: OpTable): Omit<DashboardActions, 'quit'> {
  return {
    async lookupCards(query) {
      const { cards } = await api.lookupCards({ query, limit: LOOKUP_CARDS_MAX });
      return cards.map((c) => ({ token: c.token, masked: c.masked, brand: c.brand, holder: c.holder.name, status: c.status, expiry: c.expiry }));
    },
    async cardDetail(token) {
      const detail = await api.showCard({ query: token, transfers: DETAIL_TRANSFERS_MAX }).catch(() => undefined);
      return detail && cardDetailView(detail);
    },
    reviewQueue: () => heldOrderViews(store),
    async decideReview(orderId, decision) {
      // the dashboard runs in the terminal of the user who started the processor
      const actor = localActor(os.userInfo().username, 'dashboard');
      const out = (await ops[decision === 'approve' ? 'review.approve' : 'review.decline']({ orderId }, actor)) as { result: ReviewOutcome };
      return out.result;
    },
  };
}

export function cardDetailView(d: CardDetailJson): CardDetail {
  return {
    token: d.card.token,
    masked: d.card.masked,
    brand: d.card.brand,
    holder: d.card.holder.name,
    status: d.card.status,
    expiry: d.card.expiry,
    accountId: d.card.accountId,
    currency: d.account?.currency ?? '',
    balance: d.account?.balance ?? '',
    holds: d.account?.holds ?? '',
    available: d.account?.available ?? '',
    todaySpend: d.todaySpend ?? '',
    transfers: d.transfers.map((t) => {
      const out = t.debit === d.card.accountId;
      return { id: t.id, atIso: t.at, kind: t.kind, direction: out ? 'out' : 'in', amount: t.amount, counterparty: out ? t.credit : t.debit };
    }),
  };
}

async function heldOrderViews(store: LedgerStore): Promise<HeldOrderView[]> {
  const held = await store.reviewQueue(REVIEW_QUEUE_MAX);
  const views: HeldOrderView[] = [];
  for (const r of held) {
    const card = r.order.cardToken ? await store.getCard(r.order.cardToken) : undefined;
    const view: HeldOrderView = {
      orderId: r.order.id,
      type: r.order.type,
      masked: card ? maskCard(card) : '',
      merchant: r.order.merchant ?? '',
      amount: orderJson(r).amount ?? '',
      currency: r.order.currency ?? '',
      heldAt: r.result.processedAt,
    };
    if (r.reviewRule) view.rule = r.reviewRule;
    views.push(view);
  }
  return views;
}
