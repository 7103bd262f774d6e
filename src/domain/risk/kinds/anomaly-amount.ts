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
  /** the same, as a number */
  multipleNumber: number;
  minOrders: number;
}

/**
 * Amounts below this compare in doubles, exactly (the products stay under 2^53 with a multiple up to
 * MULTIPLE_MAX), and allocate no bigints; larger ones in bigints.
 */
const EXACT_IN_DOUBLES = 2n ** 30n;
if (EXACT_IN_DOUBLES * BigInt(MULTIPLE_MAX * 100) >= 2n ** 53n) throw new Error('EXACT_IN_DOUBLES too large');

const small = (v: bigint): boolean => v < EXACT_IN_DOUBLES && v > -EXACT_IN_DOUBLES;

/** amount > avgMinor x the rule's multiple, in integers. */
function above(amount: bigint, avgMinor: bigint, rule: CompiledAnomalyAmount): boolean {
  if (small(amount) && small(avgMinor)) {
    return Number(amount) * 100 > Number(avgMinor) * rule.multipleNumber;
  }
  return amount * 100n > avgMinor * rule.multipleHundredths;
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
    multipleNumber: Math.round(rule.multiple * 100),
    minOrders: Math.max(1, rule.minOrders),
  }),
  check: (rule, { card, amount, currency }) => {
    if (card === undefined || amount === undefined || card.avgCount < rule.minOrders) return undefined;
    if (card.avgCurrency !== currency) return undefined;
    return above(amount, card.avgMinor, rule) ? rule.decision : undefined;
  },
};
