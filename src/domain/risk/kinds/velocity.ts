// Rule kind `velocity`: too many attempts, or too much money, by one card or at one merchant in a window.
import type { OrderType } from '../../types.ts';
import type { CompiledBase, Finding, OrderFacts, RuleKindModule } from '../kind.ts';
import { finding, findingBase, limitMap, needsWindow } from '../kind.ts';
import {
  ATTEMPT_TYPES,
  type AttemptType,
  type MoneyLimit,
  type RuleBase,
  type RuleOutcome,
  WINDOW_ORDERS_MAX,
  WINDOW_SECONDS_MAX,
} from '../rules.ts';
import { type AttemptWindow, typeMask } from '../window.ts';

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

const DEFAULT_TYPES: readonly AttemptType[] = ['payment', 'authorize'];

interface CompiledVelocity extends CompiledBase {
  decision: Finding;
  perMerchant: boolean;
  windowMs: number;
  /** Infinity for a rule with only a sum limit */
  maxCount: number;
  maxSum: Map<string, bigint> | undefined;
  types: ReadonlySet<OrderType>;
  /** the same types as a mask for AttemptWindow.countSince */
  typeMask: number;
  sumDecision: Finding;
}

function attemptsOf(
  rule: CompiledVelocity,
  { order, card, merchants }: OrderFacts,
): AttemptWindow | undefined {
  if (!rule.perMerchant) return card?.attempts;
  return order.merchant === undefined ? undefined : merchants.get(order.merchant)?.attempts;
}

/** Counts (and, with a sum limit, sums) the window's attempts one by one, newest first. */
function scan(
  rule: CompiledVelocity,
  ring: AttemptWindow | undefined,
  facts: OrderFacts,
  sumLimit: bigint | undefined,
): Finding | undefined {
  let count = 1;
  let sum = facts.amount ?? 0n;
  if (ring !== undefined) {
    const since = facts.nowMs - rule.windowMs;
    for (let i = 0; i < ring.size; i++) {
      if (ring.atMsOf(i) <= since) break;
      if (ring.orderIdOf(i) === facts.order.id || !rule.types.has(ring.typeOf(i))) continue;
      count++;
      // past the count limit the verdict is decided (the count outcome wins over the sum's)
      if (count > rule.maxCount) return rule.decision;
      if (sumLimit !== undefined && ring.currencyOf(i) === facts.currency) sum += ring.amountOf(i);
    }
  }
  if (count > rule.maxCount) return rule.decision;
  return sumLimit !== undefined && sum > sumLimit ? rule.sumDecision : undefined;
}

export const velocity: RuleKindModule<VelocityRule, CompiledVelocity> = {
  phase: 'money',
  scopes: ['card', 'merchant'],
  fields: ['windowSeconds', 'maxCount', 'maxSum', 'types'],
  parse: (read, base) => {
    const windowSeconds = read.int('windowSeconds', 1, WINDOW_SECONDS_MAX);
    const maxCount = read.has('maxCount') ? read.int('maxCount', 1, WINDOW_ORDERS_MAX) : undefined;
    const maxSum = read.has('maxSum') ? read.moneyLimits('maxSum', 'map or list') : undefined;
    if (maxCount === undefined && maxSum === undefined) read.badRule('needs maxCount, maxSum or both');
    const types = read.has('types')
      ? (read.stringList('types', /^.*$/, '') as AttemptType[])
      : [...DEFAULT_TYPES];
    for (const type of types) {
      if (!(ATTEMPT_TYPES as readonly string[]).includes(type)) {
        read.bad('types', `may only list ${ATTEMPT_TYPES.join(', ')}`);
      }
    }
    return { ...base, kind: 'velocity', outcome: read.outcome(), windowSeconds, maxCount, maxSum, types };
  },
  compile: (rule, options) => {
    if (rule.maxCount !== undefined) needsWindow(rule.id, rule.maxCount, 'maxCount', options);
    return {
      ...findingBase(rule, 'velocity_count'),
      perMerchant: rule.scope === 'merchant',
      windowMs: rule.windowSeconds * 1000,
      maxCount: rule.maxCount ?? Number.POSITIVE_INFINITY,
      maxSum: rule.maxSum === undefined ? undefined : limitMap(rule.maxSum),
      types: new Set(rule.types),
      typeMask: typeMask(rule.types),
      sumDecision: finding(rule.outcome, rule.id, 'velocity_sum'),
    };
  },
  check: (rule, facts) => {
    const { order, currency } = facts;
    if (order.type === 'modify' || !rule.types.has(order.type)) return undefined;
    const ring = attemptsOf(rule, facts);
    // bigint additions allocate: sum only for rules with a sum limit in this currency.
    const sumLimit =
      rule.maxSum === undefined || currency === undefined ? undefined : rule.maxSum.get(currency);
    if (sumLimit === undefined) {
      // a count rule cannot fire when the whole ring, plus this order, stays within the limit
      if (ring === undefined || ring.size + 1 <= rule.maxCount) return undefined;
      // a count alone, of a window in time order that does not hold this order yet: counted, not scanned.
      // (An id evaluated again after its entry left `orders` (ordersMax) counts once more here, where the
      // scan would skip it; the pipeline never re-evaluates an id: the ledger answers it as a duplicate.)
      if (ring.ordered && !facts.recordedBefore) {
        const count = 1 + ring.countSince(facts.nowMs - rule.windowMs, rule.typeMask);
        return count > rule.maxCount ? rule.decision : undefined;
      }
    }
    return scan(rule, ring, facts, sumLimit);
  },
};
