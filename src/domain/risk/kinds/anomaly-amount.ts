// Rule kind `anomaly_amount`: an amount far above what the card usually spends.
import type { CompiledBase, Finding, RuleKindModule } from '../kind.ts';
import { findingBase } from '../kind.ts';
import { LEARNING_ORDERS_MAX, type RuleBase, type RuleOutcome } from '../rules.ts';

/** The largest `multiple` a rule may name. */
const MULTIPLE_MAX = 1000;

/** Amount above `multiple` times the card's moving average, once the card has minOrders approved orders. */
export interface AnomalyAmountRule extends RuleBase {
  kind: 'anomaly_amount';
  outcome: RuleOutcome;
  /** at most two decimals, e.g. 10 or 2.5 */
  multiple: number;
  minOrders: number;
}

interface CompiledAnomalyAmount extends CompiledBase {
  decision: Finding;
  /** the multiple in hundredths, so the comparison stays in integers */
  multipleHundredths: bigint;
  minOrders: number;
}

export const anomalyAmount: RuleKindModule<AnomalyAmountRule, CompiledAnomalyAmount> = {
  phase: 'money',
  scopes: ['card'],
  fields: ['multiple', 'minOrders'],
  parse: (read, base) => {
    const multiple = read.scalar('multiple');
    if (
      typeof multiple !== 'number' ||
      !(multiple > 1) ||
      multiple > MULTIPLE_MAX ||
      Math.round(multiple * 100) !== multiple * 100
    ) {
      read.bad('multiple', `must be a number above 1 and up to ${MULTIPLE_MAX}, with at most two decimals`);
    }
    return {
      ...base,
      kind: 'anomaly_amount',
      outcome: read.outcome(),
      multiple: multiple as number,
      minOrders: read.int('minOrders', 1, LEARNING_ORDERS_MAX),
    };
  },
  compile: (rule) => ({
    ...findingBase(rule, 'amount_anomaly'),
    multipleHundredths: BigInt(Math.round(rule.multiple * 100)),
    minOrders: Math.max(1, rule.minOrders),
  }),
  check: (rule, { card, amount, currency }) => {
    if (card === undefined || amount === undefined || card.avgCount < rule.minOrders) return undefined;
    if (card.avgCurrency !== currency) return undefined;
    return amount * 100n > card.avgMinor * rule.multipleHundredths ? rule.decision : undefined;
  },
};
