// What risk decides about one order before it reaches the ledger, and what the apply stage asks of an engine.

import type { RiskReason } from '../reasons.ts';
import type { Account, Card, Order, OrderResult } from '../types.ts';

export type RiskOutcome = 'allow' | 'review' | 'block';

/** What a review or block rule found; the time rules' two reasons go with their own outcomes. */
export type FindingReason = Exclude<RiskReason, 'stale_order' | 'future_dated'>;

/** The one risk decision type: the engine returns it, the apply stage and the ledger arithmetic read it. */
export type RiskDecision =
  | { outcome: 'allow' }
  | { outcome: 'review' | 'block'; ruleId: string; reason: FindingReason }
  | { outcome: 'expire'; ruleId: string; reason: 'stale_order' }
  | { outcome: 'reject'; ruleId: string; reason: 'future_dated' };

export const ALLOW: Extract<RiskDecision, { outcome: 'allow' }> = Object.freeze({ outcome: 'allow' });

export interface RiskInput {
  order: Order;
  card?: Card;
  account?: Account;
  nowMs: number;
}

/** A pure, synchronous decision per order, and what happened to the order afterwards. */
export interface RiskEvaluator {
  evaluate(input: RiskInput): RiskDecision;
  observe(order: Order, result: OrderResult, nowMs: number): void;
}
