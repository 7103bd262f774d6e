// What the dashboard asks of the running processor, which implements it over the live pipeline.
// The UI never imports NATS or LevelDB: amounts arrive preformatted.

import type { OrderResult } from '../src/domain/types.ts';

export interface CardSummary {
  token: string;
  /** e.g. '411111******1111' */
  masked: string;
  brand: string;
  holder: string;
  status: string;
  /** MM/YY */
  expiry: string;
}

export interface CardDetail extends CardSummary {
  accountId: string;
  currency: string;
  balance: string;
  holds: string;
  available: string;
  todaySpend: string;
  /** newest first */
  transfers: {
    id: string;
    atIso: string;
    kind: string;
    direction: 'in' | 'out';
    amount: string;
    counterparty: string;
  }[];
}

export interface HeldOrderView {
  orderId: string;
  type: string;
  masked: string;
  merchant: string;
  amount: string;
  currency: string;
  rule?: string;
  heldAt: string;
}

/** The order's result after a review decision: its status and, when it is not approved, why. */
export type ReviewOutcome = Pick<OrderResult, 'status' | 'reason'>;

export interface DashboardActions {
  lookupCards(query: string): Promise<CardSummary[]>;
  cardDetail(token: string): Promise<CardDetail | undefined>;
  reviewQueue(): Promise<HeldOrderView[]>;
  decideReview(orderId: string, decision: 'approve' | 'decline'): Promise<ReviewOutcome>;
  /** Drains the processor, then the caller unmounts the dashboard. May be called more than once (Ctrl-C twice). */
  quit(): void;
}

export type PanelId = 'throughput' | 'totals' | 'latency' | 'batches' | 'alerts';
export const PANELS: readonly PanelId[] = ['throughput', 'totals', 'latency', 'batches', 'alerts'];

/** One operator action from the audit trail, as the dashboard shows it. */
export interface OperatorActionView {
  seq: number;
  atIso: string;
  /** the actor, e.g. 'local:alice' or 'UABC…@OPERATORS' */
  who: string;
  /** the action and its masked parameters */
  what: string;
  /** 'ok' or the error code */
  outcome: string;
}
