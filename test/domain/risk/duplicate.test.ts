// The duplicate rule counts only earlier attempts that charged, hold money or have no result yet: a declined
// payment (one order, or a whole atomic batch) may be sent again, a second charge may not.
import { describe, expect, it } from 'vitest';
import type { RiskEngine, RiskHistoryItem } from '../../../src/domain/risk/engine.ts';
import { RiskEngine as Engine } from '../../../src/domain/risk/engine.ts';
import type { Order, OrderResult, ResultStatus } from '../../../src/domain/types.ts';
import { aResult, anOrder, engineWith, rulesFrom, run, T0, tokenOf } from './fixtures.ts';

const S = 1000;
const RULES = `
  - { id: order-review, kind: amount_limit, period: order, outcome: review, max: "100.00", currency: USD }
  - { id: duplicate-payment, kind: duplicate, scope: card, outcome: block, windowSeconds: 30 }
`;
const BLOCKED = { outcome: 'block', ruleId: 'duplicate-payment', reason: 'duplicate' };

/** The same payment again under a new id: same card, merchant, amount and currency as `order`. */
const resend = (order: Order): Order => anOrder({ ...order, id: `${order.id}-again` });

/** What the pipeline does with an atomic batch: every order evaluated first, then each settled with `status`. */
function batch(
  engine: RiskEngine,
  orders: Order[],
  nowMs: number,
  status: ResultStatus,
  history?: RiskHistoryItem[],
) {
  const decisions = orders.map((order) => engine.evaluate({ order, nowMs }));
  for (const order of orders) {
    const result: OrderResult = aResult(
      order,
      status,
      status === 'declined' ? { reason: 'batch_declined' } : {},
    );
    engine.observe(order, result, nowMs);
    history?.push({ order, result, atMs: nowMs });
  }
  return decisions.map((d) => d.outcome);
}

/** Three payments of one atomic batch: two on one card at different merchants, one on another card. */
const batchOrders = (): Order[] => [
  anOrder({ merchant: 'm-rent', amountMinor: 5_000n }),
  anOrder({ merchant: 'm-power', amountMinor: 2_500n }),
  anOrder({ cardToken: tokenOf(2), merchant: 'm-rent', amountMinor: 5_000n }),
];

describe('duplicate: an atomic batch declined whole, then sent again as an independent batch', () => {
  it('allows every order of the resent batch, and blocks a third sending once the second is charged', () => {
    const e = engineWith(RULES);
    const first = batchOrders();
    expect(batch(e, first, T0, 'declined')).toEqual(['allow', 'allow', 'allow']);
    const retry = first.map(resend);
    expect(batch(e, retry, T0 + 5 * S, 'approved')).toEqual(['allow', 'allow', 'allow']);
    const third = retry.map(resend);
    expect(third.map((order) => e.evaluate({ order, nowMs: T0 + 10 * S }))).toEqual([
      BLOCKED,
      BLOCKED,
      BLOCKED,
    ]);
  });

  it('gives the same answers after a restart rebuilt from the history', () => {
    const history: RiskHistoryItem[] = [];
    const live = engineWith(RULES);
    const first = batchOrders();
    batch(live, first, T0, 'declined', history);
    const restarted = Engine.fromHistory(rulesFrom(RULES), history, T0 + S);
    const retry = first.map(resend);
    expect(batch(restarted, retry, T0 + 5 * S, 'approved')).toEqual(['allow', 'allow', 'allow']);
    expect(batch(live, retry, T0 + 5 * S, 'approved')).toEqual(['allow', 'allow', 'allow']);
  });
});

describe('duplicate: what counts as an earlier charge', () => {
  it('counts approved, authorized (also once captured) and held attempts', () => {
    for (const [type, status] of [
      ['payment', 'approved'],
      ['authorize', 'authorized'],
      ['payout', 'approved'],
    ] as const) {
      const e = engineWith(RULES);
      const order = anOrder({ type });
      run(e, order, T0, { status });
      expect(run(e, resend(order), T0 + 20 * S)).toEqual(BLOCKED);
    }
    const e = engineWith(RULES);
    const auth = anOrder({ type: 'authorize' });
    run(e, auth, T0, { status: 'authorized' });
    e.observe(anOrder({ type: 'capture', ref: auth.id }), aResult(auth, 'captured'), T0 + S);
    expect(run(e, resend(auth), T0 + 2 * S)).toEqual(BLOCKED);
    const held = anOrder({ amountMinor: 20_000n });
    expect(run(e, held, T0).outcome).toBe('review'); // held: the money is reserved
    expect(e.evaluate({ order: resend(held), nowMs: T0 + S })).toEqual(BLOCKED);
  });

  it('does not count declined, rejected or expired attempts once their result is known', () => {
    for (const status of ['declined', 'rejected', 'expired'] as const) {
      const e = engineWith(RULES);
      const order = anOrder();
      run(e, order, T0, { status });
      expect(run(e, resend(order), T0 + S).outcome).toBe('allow');
    }
  });

  it('does not count an attempt it blocked: only the charge it duplicated', () => {
    const e = engineWith(RULES);
    const order = anOrder();
    run(e, order, T0);
    expect(run(e, resend(order), T0 + 10 * S)).toEqual(BLOCKED);
    // the first is out of the window, the blocked one in it: nothing was charged twice
    expect(run(e, anOrder({ ...order, id: 'third' }), T0 + 31 * S).outcome).toBe('allow');
  });

  it('counts an attempt whose result is not yet known: a second identical order in the same batch is blocked', () => {
    const e = engineWith(RULES);
    const order = anOrder();
    expect(batch(e, [order, resend(order)], T0, 'approved')).toEqual(['allow', 'block']);
  });

  it('stops counting the pending attempt once it is declined', () => {
    const e = engineWith(RULES);
    const order = anOrder();
    expect(e.evaluate({ order, nowMs: T0 }).outcome).toBe('allow');
    expect(e.evaluate({ order: resend(order), nowMs: T0 })).toEqual(BLOCKED);
    e.observe(order, aResult(order, 'declined', { reason: 'insufficient_funds' }), T0);
    expect(e.evaluate({ order: anOrder({ ...order, id: 'after' }), nowMs: T0 + S }).outcome).toBe('allow');
  });
});

describe('duplicate: what releases an earlier charge later', () => {
  it('releases a held attempt when the review declines it, and keeps it when the review approves', () => {
    const e = engineWith(RULES);
    const declined = anOrder({ amountMinor: 20_000n });
    const approved = anOrder({ amountMinor: 30_000n });
    run(e, declined, T0);
    run(e, approved, T0);
    e.observe(declined, aResult(declined, 'declined', { reason: 'review_declined' }), T0 + 5 * S);
    e.observe(approved, aResult(approved, 'approved'), T0 + 5 * S);
    expect(e.evaluate({ order: resend(declined), nowMs: T0 + 6 * S }).outcome).toBe('review');
    expect(e.evaluate({ order: resend(approved), nowMs: T0 + 6 * S })).toEqual(BLOCKED);
  });

  it('releases an attempt declined on review after the engine forgot the order (ordersMax)', () => {
    const e = engineWith(RULES, { ordersMax: 8 });
    const held = anOrder({ amountMinor: 20_000n });
    run(e, held, T0);
    for (let i = 0; i < 20; i++) run(e, anOrder({ merchant: `m-${i}` }), T0 + S);
    e.observe(held, aResult(held, 'declined', { reason: 'review_declined' }), T0 + 2 * S);
    expect(e.evaluate({ order: resend(held), nowMs: T0 + 3 * S }).outcome).toBe('review');
  });

  it('releases a voided or canceled attempt', () => {
    for (const [type, status] of [
      ['void', 'voided'],
      ['cancel', 'canceled'],
    ] as const) {
      const e = engineWith(RULES);
      const auth = anOrder({ type: 'authorize' });
      run(e, auth, T0, { status: 'authorized' });
      const release = anOrder({ type, ref: auth.id });
      e.observe(release, aResult(release, status), T0 + S);
      expect(run(e, resend(auth), T0 + 2 * S).outcome).toBe('allow');
    }
  });

  it('finds duplicates in a window a replay put out of time order', () => {
    const e = engineWith(RULES);
    const order = anOrder();
    run(e, order, T0 + 20 * S);
    run(e, anOrder({ merchant: 'm-other' }), T0 - 60 * S); // the replay clock went back
    expect(run(e, resend(order), T0 + 25 * S)).toEqual(BLOCKED);
  });
});
