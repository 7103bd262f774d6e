// Rule kind `future_skew`: an order dated further ahead of our clock than maxSkewSeconds is rejected.
import type { RiskDecision } from '../decision.ts';
import type { CompiledBase, OrderFacts, RuleKindModule } from '../kind.ts';
import { type RuleBase, WINDOW_SECONDS_MAX } from '../rules.ts';

/** createdAt more than maxSkewSeconds ahead of the processor clock -> `reject` (future_dated). */
export interface FutureSkewRule extends RuleBase {
  kind: 'future_skew';
  maxSkewSeconds: number;
}

interface CompiledFutureSkew extends CompiledBase {
  maxSkewMs: number;
  decision: RiskDecision;
}

export const futureSkew: RuleKindModule<FutureSkewRule, CompiledFutureSkew> = {
  phase: 'time',
  scopes: ['global'],
  fields: ['maxSkewSeconds'],
  fixedOutcome: 'reject',
  parse: (read, base) => ({
    ...base,
    kind: 'future_skew',
    maxSkewSeconds: read.int('maxSkewSeconds', 0, WINDOW_SECONDS_MAX),
  }),
  compile: (rule) => ({
    id: rule.id,
    rank: 0,
    maxSkewMs: rule.maxSkewSeconds * 1000,
    decision: Object.freeze({ outcome: 'reject', ruleId: rule.id, reason: 'future_dated' }),
  }),
  check: (rule: CompiledFutureSkew, { nowMs, order }: OrderFacts) =>
    order.createdAtMs - nowMs > rule.maxSkewMs ? rule.decision : undefined,
};
