// The risk rule set as plain, validated data: what rules-text.ts reads and RiskEngine compiles. Each kind's
// own fields are declared in its module under kinds/; this file holds what the kinds share.
import type { OrderType } from '../types.ts';
import type { Rule } from './kinds.ts';

export type { Rule, RuleKind } from './kinds.ts';

export type RuleScope = 'card' | 'account' | 'merchant' | 'global';
/** `allow` on a rule means "monitor": its hits are counted in stats but never change the decision. */
export type RuleOutcome = 'allow' | 'review' | 'block';
export const RULE_OUTCOMES: readonly RuleOutcome[] = ['allow', 'review', 'block'];

/** Order types that open a new money movement and so count as attempts in velocity and duplicate windows. */
export const ATTEMPT_TYPES = ['payment', 'authorize', 'payout'] as const satisfies readonly OrderType[];
export type AttemptType = (typeof ATTEMPT_TYPES)[number];

/** A week: longer windows would keep more state than a stream processor should. */
export const WINDOW_SECONDS_MAX = 7 * 24 * 3600;
/** The most orders a count in a window (velocity maxCount, decline_burst maxDeclines) may name. */
export const WINDOW_ORDERS_MAX = 65_535;
/** The most approved orders a rule may wait for before it judges a card by its history. */
export const LEARNING_ORDERS_MAX = 10_000;

/** A limit in one currency, in minor units. A rule with limits applies only to orders in a listed currency. */
export interface MoneyLimit {
  currency: string;
  maxMinor: bigint;
}

/** The fields every rule has, whatever its kind. */
export interface RuleBase {
  /** unique within the rule set; shown to operators and stored in results */
  id: string;
  scope: RuleScope;
  /** @default true */
  enabled: boolean;
}

export interface RuleSet {
  /** rules in file order: the order ties are broken in */
  rules: readonly Rule[];
  /** where the rules came from, for messages and stats */
  source?: string;
}
