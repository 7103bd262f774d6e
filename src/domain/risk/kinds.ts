// The one table of rule kinds: the name a rules file uses, and the module that reads, compiles and checks it.
// Adding a kind is a module under kinds/ and a line here; its name, fields and rules follow from the table.
import type { CompiledBase, RuleKindModule } from './kind.ts';
import { amountLimit } from './kinds/amount-limit.ts';
import { anomalyAmount } from './kinds/anomaly-amount.ts';
import { blocklist } from './kinds/blocklist.ts';
import { declineBurst } from './kinds/decline-burst.ts';
import { duplicate } from './kinds/duplicate.ts';
import { futureSkew } from './kinds/future-skew.ts';
import { newCountry } from './kinds/new-country.ts';
import { stale } from './kinds/stale.ts';
import { velocity } from './kinds/velocity.ts';
import type { RuleBase } from './rules.ts';

/** In the order error messages list them. */
export const RULE_KIND_TABLE = {
  stale,
  future_skew: futureSkew,
  blocklist,
  amount_limit: amountLimit,
  velocity,
  duplicate,
  anomaly_amount: anomalyAmount,
  new_country: newCountry,
  decline_burst: declineBurst,
} as const;

export type RuleKind = keyof typeof RULE_KIND_TABLE;
export const RULE_KINDS = Object.keys(RULE_KIND_TABLE) as readonly RuleKind[];

type RuleOf<M> = M extends RuleKindModule<infer R, CompiledBase> ? R : never;
/** A validated rule of any kind: what each kind's `parse` returns. */
export type Rule = { [K in RuleKind]: RuleOf<(typeof RULE_KIND_TABLE)[K]> }[RuleKind];

type Misnamed = {
  [K in RuleKind]: RuleOf<(typeof RULE_KIND_TABLE)[K]>['kind'] extends K ? never : K;
}[RuleKind];
/** A compile error here names a kind registered under another name than its rules carry. */
export const KINDS_REGISTERED_UNDER_THEIR_NAMES: [Misnamed] extends [never] ? true : Misnamed = true;

/** The module of a rule's kind. */
export function kindOf(rule: Rule): RuleKindModule<Rule, CompiledBase> {
  // Sound because every module is registered under the kind its rules carry (see above).
  return RULE_KIND_TABLE[rule.kind] as RuleKindModule<Rule, CompiledBase>;
}

/** The module of a kind named in a rules file, or undefined for a name that is no kind. */
export function kindNamed(name: unknown): RuleKindModule<RuleBase, CompiledBase> | undefined {
  if (typeof name !== 'string' || !(RULE_KINDS as readonly string[]).includes(name)) return undefined;
  return RULE_KIND_TABLE[name as RuleKind] as RuleKindModule<RuleBase, CompiledBase>;
}
