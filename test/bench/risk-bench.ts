// Micro benchmark of the risk engine: evaluate + observe per order, with no rules and with data/risk.yaml.
// Called by `npm run bench`; not a vitest file. Wall-clock time is fine here: it measures, it never decides.
import { performance } from 'node:perf_hooks';
import { RiskEngine } from '../../src/domain/risk/engine.ts';
import type { RuleSet } from '../../src/domain/risk/rules.ts';
import type { Account, Card, Order, OrderResult } from '../../src/domain/types.ts';
import { loadRules } from '../../src/processor/rules-file.ts';

const ORDERS = 200_000;
const CARDS = 20_000;
const MERCHANTS = 500;
const T0 = Date.UTC(2025, 0, 15, 12);

interface Fixture {
  orders: Order[];
  cards: Card[];
  accounts: Account[];
  results: OrderResult[];
  nowMs: number[];
}

function fixture(): Fixture {
  // A tiny deterministic PRNG keeps runs comparable.
  let state = 0x2545f491;
  const next = (n: number): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const accounts: Account[] = [];
  const cards: Card[] = [];
  for (let i = 0; i < CARDS; i++) {
    const id = `acct-${i}`;
    accounts.push({
      id,
      currency: 'USD',
      balanceMinor: 10_000_000n,
      holdsMinor: 0n,
      owner: { kind: 'cardholder', name: `holder ${i}` },
      overdraftAllowed: false,
      createdAt: '2024-01-01T00:00:00Z',
    });
    cards.push({
      token: i.toString(16).padStart(64, '0'),
      first6: '411111',
      last4: '1111',
      brand: 'visa',
      expiry: '12/29',
      status: 'active',
      holder: { name: `holder ${i}` },
      accountId: id,
      createdAt: '2024-01-01T00:00:00Z',
    });
  }
  const orders: Order[] = [];
  const results: OrderResult[] = [];
  const nowMs: number[] = [];
  const countries = ['US', 'FR', 'DE', 'CN'];
  for (let i = 0; i < ORDERS; i++) {
    const card = next(CARDS);
    const at = T0 + i; // 1000 orders a second
    const order: Order = {
      id: `o-${i}`,
      type: i % 10 === 0 ? 'authorize' : 'payment',
      cardToken: cards[card]!.token,
      merchant: `m-${next(MERCHANTS)}`,
      amountMinor: BigInt(100 + next(20_000)),
      currency: 'USD',
      createdAtMs: at - 50,
      country: countries[card % 4 === 0 ? next(4) : 0],
      mcc: '5411',
    };
    orders.push(order);
    nowMs.push(at);
    results.push({
      orderId: order.id,
      status: 'approved',
      processedAt: '2025-01-15T12:00:00Z',
      latencyMs: 1,
    });
  }
  return { orders, cards, accounts, results, nowMs };
}

function ordersPerSecond(rules: RuleSet, f: Fixture): number {
  const cardIndex = new Map(f.cards.map((c, i) => [c.token, i]));
  const pass = (engine: RiskEngine, count: number): void => {
    for (let i = 0; i < count; i++) {
      const order = f.orders[i]!;
      const c = cardIndex.get(order.cardToken!)!;
      const decision = engine.evaluate({
        order,
        card: f.cards[c],
        account: f.accounts[c],
        nowMs: f.nowMs[i]!,
      });
      const result = f.results[i]!;
      result.status =
        decision.outcome === 'allow' ? 'approved' : decision.outcome === 'review' ? 'held' : 'declined';
      engine.observe(order, result, f.nowMs[i]!);
    }
  };
  pass(new RiskEngine(rules), 20_000); // warm-up
  const engine = new RiskEngine(rules);
  const started = performance.now();
  pass(engine, f.orders.length);
  const elapsedMs = performance.now() - started;
  return Math.round((f.orders.length / elapsedMs) * 1000);
}

export async function benchRisk(): Promise<{
  ordersPerSecondNoRules: number;
  ordersPerSecondDefaultRules: number;
}> {
  const f = fixture();
  const defaults = await loadRules(new URL('../../data/risk.yaml', import.meta.url).pathname);
  return {
    ordersPerSecondNoRules: ordersPerSecond({ rules: [] }, f),
    ordersPerSecondDefaultRules: ordersPerSecond(defaults, f),
  };
}
