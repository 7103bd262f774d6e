// Builders for risk tests: cards, accounts, orders and rule sets written as YAML.
import { RiskEngine } from '../../../src/domain/risk/engine.ts';
import type { RiskOptions } from '../../../src/domain/risk/options.ts';
import type { RuleSet } from '../../../src/domain/risk/rules.ts';
import { parseRules } from '../../../src/domain/risk/rules-text.ts';
import type { Account, Card, Order, OrderResult, ResultStatus } from '../../../src/domain/types.ts';

export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);

export const tokenOf = (n: number): string => n.toString(16).padStart(64, '0');

export function aCard(over: Partial<Card> = {}): Card {
  return {
    token: tokenOf(1),
    first6: '411111',
    last4: '1111',
    brand: 'visa',
    expiry: '12/29',
    status: 'active',
    holder: { name: 'Ada Lovelace' },
    accountId: 'acct-1',
    createdAt: '2024-01-01T00:00:00Z',
    ...over,
  };
}

export function anAccount(over: Partial<Account> = {}): Account {
  return {
    id: 'acct-1',
    currency: 'USD',
    balanceMinor: 1_000_000n,
    holdsMinor: 0n,
    owner: { kind: 'cardholder', name: 'Ada Lovelace' },
    overdraftAllowed: false,
    createdAt: '2024-01-01T00:00:00Z',
    ...over,
  };
}

let seq = 0;
export function anOrder(over: Partial<Order> = {}): Order {
  seq++;
  return {
    id: `ord-${seq}`,
    type: 'payment',
    cardToken: tokenOf(1),
    merchant: 'm-coffee',
    amountMinor: 1_250n,
    currency: 'USD',
    createdAtMs: T0,
    ...over,
  };
}

export function aResult(order: Order, status: ResultStatus, over: Partial<OrderResult> = {}): OrderResult {
  return { orderId: order.id, status, processedAt: '2025-01-15T12:00:00Z', latencyMs: 1, ...over };
}

/** A rule set from YAML rule items (indented as list items under `rules:`). */
export function rulesFrom(yamlRules: string): RuleSet {
  return parseRules(`rules:\n${yamlRules}`, 'test.yaml');
}

export function engineWith(yamlRules: string, options?: Partial<RiskOptions>): RiskEngine {
  return new RiskEngine(rulesFrom(yamlRules), options);
}

/** Evaluates then observes as the pipeline would: allow -> approved, review -> held, block -> declined. */
export function run(
  engine: RiskEngine,
  order: Order,
  nowMs: number,
  opts: { card?: Card; account?: Account; status?: ResultStatus } = {},
) {
  const decision = engine.evaluate({ order, card: opts.card, account: opts.account, nowMs });
  const status: ResultStatus =
    decision.outcome === 'allow'
      ? (opts.status ?? 'approved')
      : decision.outcome === 'review'
        ? 'held'
        : decision.outcome === 'block'
          ? 'declined'
          : decision.outcome === 'expire'
            ? 'expired'
            : 'rejected';
  engine.observe(order, aResult(order, status), nowMs);
  return decision;
}
