// Rule kind `stale`: an order older than maxAgeSeconds when it is evaluated expires, never charged late.
import type { RiskDecision } from '../decision.ts';
import type { CompiledBase, OrderFacts, RuleKindModule } from '../kind.ts';
import { type RuleBase, WINDOW_SECONDS_MAX } from '../rules.ts';

/** createdAt older than maxAgeSeconds when evaluated -> `expire` (status expired). */
export interface StaleRule extends RuleBase {
  kind: 'stale';
  maxAgeSeconds: number;
}

interface CompiledStale extends CompiledBase {
  maxAgeMs: number;
  decision: RiskDecision;
}

export const stale: RuleKindModule<StaleRule, CompiledStale> = {
  phase: 'time',
  scopes: ['global'],
  fields: ['maxAgeSeconds'],
  fixedOutcome: 'expire',
  parse: (read, base) => ({
    ...base,
    kind: 'stale',
    maxAgeSeconds: read.int('maxAgeSeconds', 1, WINDOW_SECONDS_MAX),
  }),
  compile: (rule) => ({
    id: rule.id,
    rank: 0,
    maxAgeMs: rule.maxAgeSeconds * 1000,
    decision: Object.freeze({ outcome: 'expire', ruleId: rule.id, reason: 'stale_order' }),
  }),
  check: (rule: CompiledStale, { nowMs, order }: OrderFacts) =>
    nowMs - order.createdAtMs > rule.maxAgeMs ? rule.decision : undefined,
};
