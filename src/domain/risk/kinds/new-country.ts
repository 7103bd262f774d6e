// Rule kind `new_country`: the first order from a country the card has not been approved in.
import type { CompiledBase, Finding, RuleKindModule } from '../kind.ts';
import { findingBase } from '../kind.ts';
import { LEARNING_ORDERS_MAX, type RuleBase, type RuleOutcome } from '../rules.ts';

/** First order from a country the card has not been approved in, once it has minOrders approved orders that named a country. */
export interface NewCountryRule extends RuleBase {
  kind: 'new_country';
  outcome: RuleOutcome;
  /** @default 1 */
  minOrders: number;
  /** only when the amount is also above the card's moving average. @default false */
  onlyAboveAverage: boolean;
}

interface CompiledNewCountry extends CompiledBase {
  decision: Finding;
  minOrders: number;
  onlyAboveAverage: boolean;
}

export const newCountry: RuleKindModule<NewCountryRule, CompiledNewCountry> = {
  phase: 'money',
  scopes: ['card'],
  fields: ['minOrders', 'onlyAboveAverage'],
  parse: (read, base) => ({
    ...base,
    kind: 'new_country',
    outcome: read.outcome(),
    minOrders: read.has('minOrders') ? read.int('minOrders', 1, LEARNING_ORDERS_MAX) : 1,
    onlyAboveAverage: read.bool('onlyAboveAverage', false),
  }),
  compile: (rule) => ({
    ...findingBase(rule, 'new_country'),
    minOrders: Math.max(1, rule.minOrders),
    onlyAboveAverage: rule.onlyAboveAverage,
  }),
  check: (rule, { order, card, amount, currency }) => {
    const country = order.country;
    if (country === undefined || card === undefined || card.approvedWithCountry < rule.minOrders) return undefined;
    if (card.countries?.includes(country)) return undefined;
    if (!rule.onlyAboveAverage) return rule.decision;
    const above = amount !== undefined && card.avgCurrency === currency && amount > card.avgMinor;
    return above ? rule.decision : undefined;
  },
};
