// Rule kind `duplicate`: the same card, merchant, amount and currency again within a window, under another id.
import type { CompiledBase, Finding, RuleKindModule } from '../kind.ts';
import { findingBase } from '../kind.ts';
import { type RuleBase, type RuleOutcome, WINDOW_SECONDS_MAX } from '../rules.ts';

/** Same card, merchant, amount and currency within windowSeconds under a different order id. */
export interface DuplicateRule extends RuleBase {
  kind: 'duplicate';
  outcome: RuleOutcome;
  windowSeconds: number;
}

interface CompiledDuplicate extends CompiledBase {
  decision: Finding;
  windowMs: number;
}

export const duplicate: RuleKindModule<DuplicateRule, CompiledDuplicate> = {
  phase: 'money',
  scopes: ['card'],
  fields: ['windowSeconds'],
  parse: (read, base) => ({
    ...base,
    kind: 'duplicate',
    outcome: read.outcome(),
    windowSeconds: read.int('windowSeconds', 1, WINDOW_SECONDS_MAX),
  }),
  compile: (rule) => ({ ...findingBase(rule, 'duplicate'), windowMs: rule.windowSeconds * 1000 }),
  check: (rule, { order, card, amount, currency, nowMs }) => {
    if (order.type === 'modify' || card === undefined || amount === undefined) return undefined;
    const merchant = order.merchant ?? '';
    const since = nowMs - rule.windowMs;
    const ring = card.attempts;
    for (let i = 0; i < ring.size; i++) {
      if (ring.atMsOf(i) <= since) break;
      if (
        ring.amountOf(i) === amount &&
        ring.merchantOf(i) === merchant &&
        ring.currencyOf(i) === currency &&
        ring.orderIdOf(i) !== order.id
      ) {
        return rule.decision;
      }
    }
    return undefined;
  },
};
