// Rule kind `amount_limit`: the order's amount, or what its card or account spent today with it, is over a limit.
import type { CompiledBase, Finding, OrderFacts, RuleKindModule, RuleReader } from '../kind.ts';
import { findingBase, limitMap } from '../kind.ts';
import type { MoneyLimit, RuleBase, RuleOutcome } from '../rules.ts';
import { plus, spentToday } from '../tracked.ts';

const PERIODS = ['order', 'day'] as const;

/**
 * period `order`: the order amount exceeds the limit. period `day`: what the card (scope card) or the
 * card's account (scope account) spent this UTC day, plus this order, exceeds the limit.
 */
export interface AmountLimitRule extends RuleBase {
  kind: 'amount_limit';
  outcome: RuleOutcome;
  period: (typeof PERIODS)[number];
  limits: readonly MoneyLimit[];
}

interface CompiledAmountLimit extends CompiledBase {
  decision: Finding;
  period: AmountLimitRule['period'];
  perAccount: boolean;
  limits: Map<string, bigint>;
}

/** The limits as a list under `limits`, or as max and currency (or currencies) on the rule itself. */
function parseLimits(read: RuleReader): MoneyLimit[] {
  if (!read.has('limits')) return read.inlineMoneyLimits();
  if (read.has('max') || read.has('currency') || read.has('currencies')) {
    read.bad('limits', 'cannot be combined with max/currency/currencies');
  }
  return read.moneyLimits('limits', 'list');
}

/** What the card or account spent today before this order, or undefined when the rule does not apply. */
function spentBefore(rule: CompiledAmountLimit, facts: OrderFacts, currency: string): bigint | undefined {
  if (!rule.perAccount) return spentToday(facts.card, facts.day, currency);
  if (facts.accountId === undefined) return undefined;
  // Limits are in the account's currency; an order in another one is declined by the ledger anyway.
  const account = facts.input.account;
  if (account !== undefined && account.currency !== currency) return undefined;
  return spentToday(facts.accounts.get(facts.accountId), facts.day, currency);
}

export const amountLimit: RuleKindModule<AmountLimitRule, CompiledAmountLimit> = {
  phase: 'money',
  scopes: ['global', 'card', 'account'],
  fields: ['period', 'max', 'currency', 'currencies', 'limits'],
  parse: (read, base) => {
    const period = read.oneOf('period', PERIODS);
    if (period === 'order' && base.scope !== 'global') read.bad('scope', 'must be global for period order');
    if (period === 'day' && base.scope === 'global')
      read.bad('scope', 'must be card or account for period day');
    const limits = parseLimits(read);
    return { ...base, kind: 'amount_limit', outcome: read.outcome(), period, limits };
  },
  compile: (rule) => {
    const perAccount = rule.scope === 'account';
    const reason =
      rule.period === 'order' ? 'amount_order' : perAccount ? 'amount_account_day' : 'amount_card_day';
    return { ...findingBase(rule, reason), period: rule.period, perAccount, limits: limitMap(rule.limits) };
  },
  check: (rule, facts) => {
    const { amount, currency } = facts;
    if (amount === undefined || currency === undefined) return undefined;
    const limit = rule.limits.get(currency);
    if (limit === undefined) return undefined;
    if (rule.period === 'order') return amount > limit ? rule.decision : undefined;
    const spent = spentBefore(rule, facts, currency);
    if (spent === undefined) return undefined;
    // a redelivery or modify replaces an amount rarely: no bigint for a subtraction of 0 (nor a sum with 0)
    const before = facts.replacedMinor === 0n ? spent : spent - facts.replacedMinor;
    return plus(before, amount) > limit ? rule.decision : undefined;
  },
};
