import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFile } from 'node:fs/promises';
import type { RiskDecision } from '../../../src/domain/risk/decision.ts';
import { RiskEngine, type RiskHistoryItem } from '../../../src/domain/risk/engine.ts';
import type { Order, OrderType, ResultStatus } from '../../../src/domain/types.ts';
import { parseRules } from '../../../src/domain/risk/rules-text.ts';
import { aCard, aResult, anAccount, T0, tokenOf } from './fixtures.ts';

// Tight thresholds so that a short random stream trips every kind of rule.
const TIGHT = parseRules(
  `rules:
  - { id: stale, kind: stale, maxAgeSeconds: 20 }
  - { id: future, kind: future_skew, maxSkewSeconds: 5 }
  - { id: bin, kind: blocklist, list: bin, outcome: block, values: ["4000"] }
  - { id: burst, kind: decline_burst, outcome: block, windowSeconds: 60, maxDeclines: 2 }
  - { id: big, kind: amount_limit, period: order, outcome: review, max: "40.00", currencies: [USD, EUR] }
  - { id: card-day, kind: amount_limit, period: day, scope: card, outcome: review, max: "150.00", currency: USD }
  - { id: acct-day, kind: amount_limit, period: day, scope: account, outcome: review, max: "250.00", currency: USD }
  - { id: v-card, kind: velocity, scope: card, outcome: review, windowSeconds: 30, maxCount: 3 }
  - { id: v-merchant, kind: velocity, scope: merchant, outcome: block, windowSeconds: 10, maxCount: 5, maxSum: { max: "120.00", currency: USD } }
  - { id: dup, kind: duplicate, outcome: block, windowSeconds: 15 }
  - { id: anomaly, kind: anomaly_amount, outcome: review, multiple: 2.5, minOrders: 2 }
  - { id: country, kind: new_country, outcome: review, minOrders: 1, onlyAboveAverage: true }
`,
  'tight.yaml',
);

interface Step {
  order: Order;
  nowMs: number;
  /** the ledger declines an otherwise allowed order (insufficient funds) */
  ledgerDeclines: boolean;
}

const N_CARDS = 4;
const cards = Array.from({ length: N_CARDS }, (_, i) =>
  aCard({ token: tokenOf(i + 1), first6: i === 3 ? '400012' : '411111', accountId: `acct-${i % 2}` }),
);
const accounts = [anAccount({ id: 'acct-0' }), anAccount({ id: 'acct-1' })];

const stepArb = fc.record({
  gapMs: fc.constantFrom(0, 0, 200, 1_000, 1_000, 3_000, 12_000, 70_000, 6 * 3_600_000),
  /** how long the order travelled: negative is a client clock ahead of ours */
  skewMs: fc.constantFrom(0, 0, 0, 0, 0, 2_000, 30_000, -10_000),
  kind: fc.constantFrom<OrderType>(
    'payment',
    'payment',
    'payment',
    'authorize',
    'payout',
    'void',
    'modify',
    'refund',
  ),
  card: fc.integer({ min: 0, max: N_CARDS - 1 }),
  merchant: fc.constantFrom('m-a', 'm-b', 'm-c'),
  amountMinor: fc.constantFrom(500n, 1_000n, 1_000n, 2_500n, 4_500n, 9_000n),
  currency: fc.constantFrom('USD', 'USD', 'USD', 'EUR'),
  country: fc.constantFrom('FR', 'FR', 'DE', 'US'),
  ledgerDeclines: fc.boolean(),
  refBack: fc.integer({ min: 1, max: 5 }),
});

type RawStep = typeof stepArb extends fc.Arbitrary<infer R> ? R : never;

function toSteps(raw: RawStep[]): Step[] {
  let nowMs = T0;
  const steps: Step[] = [];
  raw.forEach((r, i) => {
    nowMs += r.gapMs;
    const card = cards[r.card]!;
    const refStep = steps[Math.max(0, steps.length - r.refBack)];
    const needsRef = r.kind === 'void' || r.kind === 'modify' || r.kind === 'refund';
    const order: Order = {
      id: `o-${i}`,
      type: needsRef && refStep === undefined ? 'payment' : r.kind,
      cardToken: card.token,
      merchant: r.merchant,
      amountMinor: r.amountMinor,
      currency: r.currency,
      createdAtMs: nowMs - r.skewMs,
      country: r.country,
      ...(needsRef && refStep !== undefined ? { ref: refStep.order.id } : {}),
    };
    steps.push({ order, nowMs, ledgerDeclines: r.ledgerDeclines });
  });
  return steps;
}

const FINAL: Partial<Record<OrderType, ResultStatus>> = {
  payment: 'approved',
  authorize: 'authorized',
  payout: 'approved',
  modify: 'modified',
  void: 'voided',
  refund: 'refunded',
};

/** What the rest of the pipeline would make of a risk decision. */
function resultStatus(step: Step, d: RiskDecision): ResultStatus {
  switch (d.outcome) {
    case 'expire':
      return 'expired';
    case 'reject':
      return 'rejected';
    case 'block':
      return 'declined';
    case 'review':
      return 'held';
    case 'allow':
      return step.ledgerDeclines ? 'declined' : (FINAL[step.order.type] ?? 'approved');
  }
}

function lookup(order: Order) {
  const card = cards.find((c) => c.token === order.cardToken);
  return { card, account: accounts.find((a) => a.id === card?.accountId) };
}

function play(engine: RiskEngine, steps: Step[], history?: RiskHistoryItem[]): RiskDecision[] {
  return steps.map((step) => {
    const { card, account } = lookup(step.order);
    const d = engine.evaluate({ order: step.order, card, account, nowMs: step.nowMs });
    const result = aResult(step.order, resultStatus(step, d));
    engine.observe(step.order, result, step.nowMs);
    history?.push({ order: step.order, result, atMs: step.nowMs, accountId: account?.id });
    return d;
  });
}

const streamArb = fc.tuple(fc.array(stepArb, { minLength: 1, maxLength: 80 }), fc.nat());

describe('rebuild after a restart', () => {
  it('an engine rebuilt from the history decides the following orders as the live engine does', () => {
    fc.assert(
      fc.property(streamArb, ([raw, cut]) => {
        const steps = toSteps(raw);
        const split = cut % (steps.length + 1);
        const live = new RiskEngine(TIGHT);
        const history: RiskHistoryItem[] = [];
        play(live, steps.slice(0, split), history);
        const nowMs = split > 0 ? steps[split - 1]!.nowMs : T0;
        const restarted = RiskEngine.fromHistory(TIGHT, history, nowMs);
        const rest = steps.slice(split);
        expect(play(restarted, rest)).toEqual(play(live, rest));
      }),
      { numRuns: 300 },
    );
  });

  it('the random streams do exercise the rules', () => {
    const [raw] = fc.sample(fc.array(stepArb, { minLength: 3000, maxLength: 3000 }), { numRuns: 1, seed: 7 });
    const engine = new RiskEngine(TIGHT);
    play(engine, toSteps(raw!));
    const hit = Object.keys(engine.stats().hitsByRule).sort();
    expect(hit).toEqual(TIGHT.rules.map((r) => r.id).sort());
  });

  it('rebuilds with the default rule set too', async () => {
    const text = await readFile(new URL('../../../data/risk.yaml', import.meta.url), 'utf8');
    const rules = parseRules(text, 'data/risk.yaml');
    fc.assert(
      fc.property(streamArb, ([raw, cut]) => {
        const steps = toSteps(raw);
        const split = cut % (steps.length + 1);
        const live = new RiskEngine(rules);
        const history: RiskHistoryItem[] = [];
        play(live, steps.slice(0, split), history);
        const restarted = RiskEngine.fromHistory(rules, history, Number.MAX_SAFE_INTEGER);
        expect(play(restarted, steps.slice(split))).toEqual(play(live, steps.slice(split)));
      }),
      { numRuns: 100 },
    );
  });

  it('skips history dated after nowMs', () => {
    const order: Order = {
      id: 'x',
      type: 'payment',
      cardToken: tokenOf(1),
      amountMinor: 10_000n,
      currency: 'USD',
      createdAtMs: T0,
    };
    const engine = RiskEngine.fromHistory(
      TIGHT,
      [{ order, result: aResult(order, 'approved'), atMs: T0 + 1 }],
      T0,
    );
    expect(engine.stats().cardsTracked).toBe(0);
  });
});

// Two ways the state changes that a plain stream does not show: orders evaluated before any of their results
// (a batch), and held orders declined on review later, whose stored result then changes (the history holds
// each order once, with its latest result).
interface Later {
  /** evaluated with the next step before either result is known, as the orders of a batch are */
  batchedWithNext: boolean;
  /** after this step's result, a review declines the oldest order still held */
  declineHeld: boolean;
}
const laterArb = fc.record({
  batchedWithNext: fc.constantFrom(false, false, true),
  declineHeld: fc.constantFrom(false, false, false, true),
});

/** A stream played live, with what it leaves for the next part: the orders still held, the history. */
interface Played {
  held: Order[];
  history: RiskHistoryItem[];
}

function playLater(engine: RiskEngine, steps: Step[], later: Later[], played: Played): RiskDecision[] {
  const decisions: RiskDecision[] = [];
  let group: Step[] = [];
  steps.forEach((step, i) => {
    group.push(step);
    if (later[i]!.batchedWithNext && i < steps.length - 1) return;
    const evaluated = group.map((g) => {
      const { card, account } = lookup(g.order);
      return { g, account, d: engine.evaluate({ order: g.order, card, account, nowMs: g.nowMs }) };
    });
    for (const { g, account, d } of evaluated) {
      const result = aResult(g.order, resultStatus(g, d));
      engine.observe(g.order, result, g.nowMs);
      played.history.push({ order: g.order, result, atMs: g.nowMs, accountId: account?.id });
      if (result.status === 'held') played.held.push(g.order);
      decisions.push(d);
    }
    group = [];
    const due = later[i]!.declineHeld ? played.held.shift() : undefined;
    if (due === undefined) return;
    const declined = aResult(due, 'declined', { reason: 'review_declined' });
    engine.observe(due, declined, step.nowMs);
    const kept = played.history.find((h) => h.order.id === due.id);
    if (kept !== undefined) kept.result = declined;
  });
  return decisions;
}

describe('rebuild after a restart, with batches and review declines', () => {
  it('an engine rebuilt from the history decides the following orders as the live engine does', () => {
    const arb = fc.tuple(fc.array(fc.tuple(stepArb, laterArb), { minLength: 1, maxLength: 80 }), fc.nat());
    fc.assert(
      fc.property(arb, ([raw, cut]) => {
        const steps = toSteps(raw.map(([step]) => step));
        const later = raw.map(([, l]) => l);
        const split = cut % (steps.length + 1);
        const live = new RiskEngine(TIGHT);
        const before: Played = { held: [], history: [] };
        playLater(live, steps.slice(0, split), later.slice(0, split), before);
        const nowMs = split > 0 ? steps[split - 1]!.nowMs : T0;
        const restarted = RiskEngine.fromHistory(TIGHT, before.history, nowMs);
        const rest = (engine: RiskEngine) =>
          playLater(engine, steps.slice(split), later.slice(split), { held: [...before.held], history: [] });
        expect(rest(restarted)).toEqual(rest(live));
      }),
      { numRuns: 300 },
    );
  });
});

describe('rebuild after a restart, with a review declined after newer declines', () => {
  const rules = parseRules(
    `rules:
  - { id: big, kind: amount_limit, period: order, outcome: review, max: "40.00", currency: USD }
  - { id: burst, kind: decline_burst, outcome: block, windowSeconds: 60, maxDeclines: 1 }
`,
    'burst.yaml',
  );
  const payment = (id: string, amountMinor: bigint): Order => ({
    id,
    type: 'payment',
    cardToken: tokenOf(1),
    merchant: 'm-a',
    amountMinor,
    currency: 'USD',
    createdAtMs: T0,
  });

  it("counts the review decline at its order's time, behind the newer declines, as a rebuilt engine does", () => {
    const live = new RiskEngine(rules);
    const history: RiskHistoryItem[] = [];
    const step = (order: Order, atMs: number, status: ResultStatus) => {
      live.evaluate({ order, nowMs: atMs });
      const result = aResult(order, status);
      live.observe(order, result, atMs);
      history.push({ order, result, atMs });
    };
    const held = payment('held', 9_000n);
    step(held, T0, 'held');
    step(payment('d1', 1_000n), T0 + 50_000, 'declined');
    step(payment('d2', 1_100n), T0 + 55_000, 'declined');
    const declined = aResult(held, 'declined', { reason: 'review_declined' });
    live.observe(held, declined, T0 + 70_000);
    history[0]!.result = declined;
    const restarted = RiskEngine.fromHistory(rules, history, T0 + 70_000);
    const next = payment('next', 1_200n);
    // d1 and d2 are within the 60 s window, the held order's own time is not
    const burst = { outcome: 'block', ruleId: 'burst', reason: 'decline_burst' };
    expect(restarted.evaluate({ order: next, nowMs: T0 + 71_000 })).toEqual(burst);
    expect(live.evaluate({ order: next, nowMs: T0 + 71_000 })).toEqual(burst);
  });
});

describe('determinism', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives the same decisions for the same stream and rules whatever the wall clock', () => {
    const [raw] = fc.sample(fc.array(stepArb, { minLength: 300, maxLength: 300 }), { numRuns: 1, seed: 42 });
    const steps = toSteps(raw!);
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2001-01-01T00:00:00Z'));
    const first = play(new RiskEngine(TIGHT), steps);
    vi.setSystemTime(new Date('2039-06-30T23:59:59Z'));
    const second = play(new RiskEngine(TIGHT), steps);
    expect(second).toEqual(first);
    expect(new Set(first.map((d) => d.outcome))).toEqual(
      new Set(['allow', 'review', 'block', 'expire', 'reject']),
    );
  });
});
