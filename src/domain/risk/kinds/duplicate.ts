// Rule kind `duplicate`: the same card, merchant, amount and currency again within a window, under another id,
// while the earlier attempt moved or reserved money (approved, authorized, captured, held) or may still (its
// result not yet known).
import type { CompiledBase, Finding, RuleKindModule } from '../kind.ts';
import { findingBase } from '../kind.ts';
import { type RuleBase, type RuleOutcome, WINDOW_SECONDS_MAX } from '../rules.ts';

/**
 * Same card, merchant, amount and currency within windowSeconds under a different order id, of an attempt
 * that charged, holds money or has no result yet.
 */
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
      if (ring.atMsOf(i) <= since) {
        // newest first: in time order nothing after this is in the window (a replay going back is not)
        if (ring.ordered) break;
        continue;
      }
      if (
        ring.amountOf(i) === amount &&
        ring.merchantOf(i) === merchant &&
        ring.currencyOf(i) === currency &&
        ring.orderIdOf(i) !== order.id &&
        // a second charge only: an attempt declined (or blocked, rejected, expired, voided) is free to retry
        ring.chargesOf(i)
      ) {
        return rule.decision;
      }
    }
    return undefined;
  },
};
