// Rule kind `decline_burst`: more declines on the card in a window than allowed hits every further order.
import type { CompiledBase, Finding, RuleKindModule } from '../kind.ts';
import { findingBase, needsWindow } from '../kind.ts';
import { type RuleBase, type RuleOutcome, WINDOW_ORDERS_MAX, WINDOW_SECONDS_MAX } from '../rules.ts';

/** More than maxDeclines declined orders on the card in the last windowSeconds: hits every further order. */
export interface DeclineBurstRule extends RuleBase {
  kind: 'decline_burst';
  outcome: RuleOutcome;
  windowSeconds: number;
  maxDeclines: number;
}

interface CompiledDeclineBurst extends CompiledBase {
  decision: Finding;
  windowMs: number;
  maxDeclines: number;
}

export const declineBurst: RuleKindModule<DeclineBurstRule, CompiledDeclineBurst> = {
  phase: 'money',
  scopes: ['card'],
  fields: ['windowSeconds', 'maxDeclines'],
  parse: (read, base) => ({
    ...base,
    kind: 'decline_burst',
    outcome: read.outcome(),
    windowSeconds: read.int('windowSeconds', 1, WINDOW_SECONDS_MAX),
    maxDeclines: read.int('maxDeclines', 0, WINDOW_ORDERS_MAX),
  }),
  compile: (rule, options) => {
    needsWindow(rule.id, rule.maxDeclines, 'maxDeclines', options);
    return {
      ...findingBase(rule, 'decline_burst'),
      windowMs: rule.windowSeconds * 1000,
      maxDeclines: rule.maxDeclines,
    };
  },
  check: (rule, { card, nowMs }) => {
    if (card === undefined) return undefined;
    const since = nowMs - rule.windowMs;
    const ring = card.declines;
    let count = 0;
    for (let i = 0; ring !== undefined && i < ring.size && ring.newest(i).atMs > since; i++) count++;
    return count > rule.maxDeclines ? rule.decision : undefined;
  },
};
