// What a rule kind module provides (fields, parse, compile, check) and the pieces every kind shares.
import type { Order } from '../types.ts';
import type { FindingReason, RiskDecision, RiskInput } from './decision.ts';
import type { RiskOptions } from './options.ts';
import type { MoneyLimit, RuleBase, RuleOutcome, RuleScope } from './rules.ts';
import type { LruRecords } from './state.ts';
import type { CardState, DaySpend, MerchantState } from './tracked.ts';

/**
 * A rule's fields as read from the rules text. Every reader throws an error that points at the field (or at
 * the rule when the field is missing) and names the rule; kinds never see the text or its positions.
 */
export interface RuleReader {
  has(name: string): boolean;
  /** the field's raw scalar value (undefined for a list or map) */
  scalar(name: string): unknown;
  /** an integer from min to max */
  int(name: string, min: number, max: number): number;
  oneOf<T extends string>(name: string, allowed: readonly T[]): T;
  /** the field's value, or `fallback` when the rule leaves it out */
  bool(name: string, fallback: boolean): boolean;
  /** a non-empty list of strings each matching `pattern`; `must` says what an item that does not is not */
  stringList(name: string, pattern: RegExp, must: string): string[];
  /** the rule's `outcome`: allow, review or block */
  outcome(): RuleOutcome;
  /**
   * Money limits written under the field `name`: `list` takes a non-empty list of { max, currency or
   * currencies } maps, `map or list` also one such map alone. A currency may appear once in all of them.
   */
  moneyLimits(name: string, form: 'list' | 'map or list'): MoneyLimit[];
  /** money limits written on the rule itself: its max with currency or currencies */
  inlineMoneyLimits(): MoneyLimit[];
  /** fails at the field: `rule "<id>" field <name> <must>` */
  bad(name: string, must: string): never;
  /** fails at the rule: `rule "<id>" <detail>` */
  badRule(detail: string): never;
}

/** A decision a review, block or monitor (allow) rule gives. */
export type Finding = Extract<RiskDecision, { outcome: 'allow' | 'review' | 'block' }>;
/** How strong a rule's outcome is: block over review over a monitor's allow. */
export const RANK = { allow: 1, review: 2, block: 3 } as const;

/** What every compiled rule carries: its id and how strong its outcome is (0 for time rules). */
export interface CompiledBase {
  id: string;
  rank: number;
}

/**
 * What the engine knows about the order it is deciding. The engine fills one such object per order and
 * hands it to every rule's check, so deciding an order allocates nothing for it.
 */
export interface OrderFacts {
  input: RiskInput;
  order: Order;
  nowMs: number;
  /** the order's, its card's or (a modify) its original's */
  cardToken: string | undefined;
  card: CardState | undefined;
  currency: string | undefined;
  /** undefined for a modify that does not change the amount */
  amount: bigint | undefined;
  accountId: string | undefined;
  /** UTC day index of nowMs */
  day: number;
  /** what this order (a redelivery) or its original (a modify) already added to today's spend */
  replacedMinor: bigint;
  /** this order id was evaluated before: its attempt may be in the windows already */
  recordedBefore: boolean;
  readonly merchants: LruRecords<string, MerchantState>;
  readonly accounts: LruRecords<string, DaySpend>;
}

/**
 * One kind of rule. `phase` says when the engine runs it: `time` rules for every order, first, and the
 * first hit decides; `list` and `money` rules for money-moving orders only, block lists first, and the
 * strongest outcome wins.
 */
export interface RuleKindModule<R extends RuleBase, C extends CompiledBase> {
  phase: 'time' | 'list' | 'money';
  /** the scopes a rule may name; the first is the default */
  scopes: readonly RuleScope[];
  /** the fields the kind accepts besides id, kind, scope, outcome, enabled and description */
  fields: readonly string[];
  /** for kinds whose outcome is not the rule's to choose: the one they give */
  fixedOutcome?: 'expire' | 'reject';
  parse(read: RuleReader, base: RuleBase): R;
  /** throws a RangeError when the rule cannot run under `options` */
  compile(rule: R, options: RiskOptions): C;
  check(rule: C, facts: OrderFacts): RiskDecision | undefined;
}

/** The decision a hit of this rule gives, frozen: handed out to every order the rule hits. */
export function finding(outcome: RuleOutcome, ruleId: string, reason: FindingReason): Finding {
  return Object.freeze(outcome === 'allow' ? { outcome } : { outcome, ruleId, reason });
}

/** The compiled base of a rule with an outcome, and the decision its hits give. */
export function findingBase(
  rule: RuleBase & { outcome: RuleOutcome },
  reason: FindingReason,
): CompiledBase & { decision: Finding } {
  return { id: rule.id, rank: RANK[rule.outcome], decision: finding(rule.outcome, rule.id, reason) };
}

/** Limits by currency, for a lookup per order. */
export function limitMap(limits: readonly MoneyLimit[]): Map<string, bigint> {
  return new Map(limits.map((l) => [l.currency, l.maxMinor]));
}

/** A count a rule compares against must fit in the window the engine keeps. */
export function needsWindow(ruleId: string, count: number, name: string, options: RiskOptions): void {
  if (count >= options.windowsMax) {
    throw new RangeError(
      `risk rule "${ruleId}": ${name} ${count} needs windowsMax above it (windowsMax is ${options.windowsMax})`,
    );
  }
}
