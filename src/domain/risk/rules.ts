// The risk rule set as plain, validated data: what src/risk/config.ts produces and RiskEngine compiles.
import type { OrderType } from '../types.ts';

export type RuleScope = 'card' | 'account' | 'merchant' | 'global';
/** `allow` on a rule means "monitor": its hits are counted in stats but never change the decision. */
export type RuleOutcome = 'allow' | 'review' | 'block';

export const RULE_KINDS = [
  'stale',
  'future_skew',
  'blocklist',
  'amount_limit',
  'velocity',
  'duplicate',
  'anomaly_amount',
  'new_country',
  'decline_burst',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** The scopes each kind accepts; the first is the default when a rule leaves `scope` out. */
export const RULE_SCOPES: Readonly<Record<RuleKind, readonly RuleScope[]>> = {
  stale: ['global'],
  future_skew: ['global'],
  blocklist: ['global', 'card', 'account', 'merchant'],
  amount_limit: ['global', 'card', 'account'],
  velocity: ['card', 'merchant'],
  duplicate: ['card'],
  anomaly_amount: ['card'],
  new_country: ['card'],
  decline_burst: ['card'],
};

export const BLOCKLIST_FIELDS = ['card', 'bin', 'merchant', 'mcc', 'country'] as const;
export type BlocklistField = (typeof BLOCKLIST_FIELDS)[number];

/** Order types that open a new money movement and so count as attempts in velocity and duplicate windows. */
export const ATTEMPT_TYPES = ['payment', 'authorize', 'payout'] as const satisfies readonly OrderType[];
export type AttemptType = (typeof ATTEMPT_TYPES)[number];

/** A limit in one currency, in minor units. A rule with limits applies only to orders in a listed currency. */
export interface MoneyLimit {
  currency: string;
  maxMinor: bigint;
}

interface RuleBase {
  /** unique within the rule set; shown to operators and stored in results */
  id: string;
  scope: RuleScope;
  /** @default true */
  enabled: boolean;
}

/** createdAt older than maxAgeSeconds when evaluated -> `expire` (status expired). */
export interface StaleRule extends RuleBase {
  kind: 'stale';
  maxAgeSeconds: number;
}

/** createdAt more than maxSkewSeconds ahead of the processor clock -> `reject` (future_dated). */
export interface FutureSkewRule extends RuleBase {
  kind: 'future_skew';
  maxSkewSeconds: number;
}

/** The order's card token / card BIN prefix (from Card.first6) / merchant / MCC / country is listed. */
export interface BlocklistRule extends RuleBase {
  kind: 'blocklist';
  outcome: RuleOutcome;
  list: BlocklistField;
  /** bins: digit prefixes of 1 to 6 digits; countries: ISO 3166 alpha-2, uppercase */
  values: readonly string[];
}

/**
 * period `order`: the order amount exceeds the limit. period `day`: what the card (scope card) or the
 * card's account (scope account) spent this UTC day, plus this order, exceeds the limit.
 */
export interface AmountLimitRule extends RuleBase {
  kind: 'amount_limit';
  outcome: RuleOutcome;
  period: 'order' | 'day';
  limits: readonly MoneyLimit[];
}

/**
 * More than maxCount attempts, or a sum above maxSum, by one card or at one merchant in the last
 * windowSeconds, this order included. Attempts count whatever their outcome (blocked ones too).
 */
export interface VelocityRule extends RuleBase {
  kind: 'velocity';
  outcome: RuleOutcome;
  windowSeconds: number;
  maxCount?: number;
  maxSum?: readonly MoneyLimit[];
  /** @default ['payment', 'authorize'] */
  types: readonly AttemptType[];
}

/** Same card, merchant, amount and currency within windowSeconds under a different order id. */
export interface DuplicateRule extends RuleBase {
  kind: 'duplicate';
  outcome: RuleOutcome;
  windowSeconds: number;
}

/** Amount above `multiple` times the card's moving average, once the card has minOrders approved orders. */
export interface AnomalyAmountRule extends RuleBase {
  kind: 'anomaly_amount';
  outcome: RuleOutcome;
  /** at most two decimals, e.g. 10 or 2.5 */
  multiple: number;
  minOrders: number;
}

/** First order from a country the card has not been approved in, once it has minOrders approved orders. */
export interface NewCountryRule extends RuleBase {
  kind: 'new_country';
  outcome: RuleOutcome;
  minOrders: number;
  /** only when the amount is also above the card's moving average. @default false */
  onlyAboveAverage: boolean;
}

/** More than maxDeclines declined orders on the card in the last windowSeconds: hits every further order. */
export interface DeclineBurstRule extends RuleBase {
  kind: 'decline_burst';
  outcome: RuleOutcome;
  windowSeconds: number;
  maxDeclines: number;
}

export type Rule =
  | StaleRule
  | FutureSkewRule
  | BlocklistRule
  | AmountLimitRule
  | VelocityRule
  | DuplicateRule
  | AnomalyAmountRule
  | NewCountryRule
  | DeclineBurstRule;

export interface RuleSet {
  /** rules in file order: the order ties are broken in */
  rules: readonly Rule[];
  /** where the rules came from, for messages and stats */
  source?: string;
}

