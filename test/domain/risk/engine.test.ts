import { describe, expect, it } from 'vitest';
import { RiskEngine } from '../../../src/domain/risk/engine.ts';
import { parseRiskOptions } from '../../../src/domain/risk/options.ts';
import { aCard, aResult, anAccount, anOrder, engineWith, run, rulesFrom, T0, tokenOf } from './fixtures.ts';

const S = 1000;

describe('time rules: stale and future-dated orders', () => {
  const engine = () =>
    engineWith(`
  - { id: stale, kind: stale, maxAgeSeconds: 300 }
  - { id: future, kind: future_skew, maxSkewSeconds: 30 }
  - { id: cards, kind: blocklist, scope: card, list: card, outcome: block, values: ["${tokenOf(1)}"] }
`);

  it('expires an order that waited longer than maxAgeSeconds, whatever its type', () => {
    const e = engine();
    for (const type of ['payment', 'capture', 'refund', 'void'] as const) {
      const order = anOrder({ type, createdAtMs: T0 - 301 * S });
      expect(e.evaluate({ order, nowMs: T0 })).toEqual({
        outcome: 'expire',
        ruleId: 'stale',
        reason: 'stale_order',
      });
    }
  });

  it('lets an order exactly maxAgeSeconds old through to the other rules', () => {
    const order = anOrder({ cardToken: tokenOf(2), createdAtMs: T0 - 300 * S });
    expect(engine().evaluate({ order, nowMs: T0 })).toEqual({ outcome: 'allow' });
  });

  it('rejects an order dated beyond the clock skew, and accepts one within it', () => {
    const e = engine();
    const late = anOrder({ cardToken: tokenOf(2), createdAtMs: T0 + 31 * S });
    const ok = anOrder({ cardToken: tokenOf(2), createdAtMs: T0 + 30 * S });
    expect(e.evaluate({ order: late, nowMs: T0 })).toEqual({
      outcome: 'reject',
      ruleId: 'future',
      reason: 'future_dated',
    });
    expect(e.evaluate({ order: ok, nowMs: T0 }).outcome).toBe('allow');
  });

  it('checks time before block lists: a stale order on a blocked card is expired, not declined', () => {
    const order = anOrder({ createdAtMs: T0 - 3600 * S });
    expect(engine().evaluate({ order, nowMs: T0 }).outcome).toBe('expire');
  });
});

describe('orders that move no new money', () => {
  it('lets capture, void, refund and cancel through even on a blocked card or above limits', () => {
    const e = engineWith(`
  - { id: cards, kind: blocklist, list: card, outcome: block, values: ["${tokenOf(1)}"] }
  - { id: big, kind: amount_limit, period: order, outcome: block, max: "1.00", currency: USD }
`);
    for (const type of ['capture', 'void', 'refund', 'cancel'] as const) {
      expect(e.evaluate({ order: anOrder({ type, amountMinor: 999_999n }), nowMs: T0 })).toEqual({
        outcome: 'allow',
      });
    }
    expect(e.evaluate({ order: anOrder(), nowMs: T0 }).outcome).toBe('block');
  });
});

describe('block lists', () => {
  const e = engineWith(`
  - { id: bad-card, kind: blocklist, scope: card, list: card, outcome: block, values: ["${tokenOf(66)}"] }
  - { id: bad-bin, kind: blocklist, scope: card, list: bin, outcome: block, values: ["5555", "400000"] }
  - { id: bad-merchant, kind: blocklist, scope: merchant, list: merchant, outcome: block, values: [m-shady] }
  - { id: risky-mcc, kind: blocklist, scope: merchant, list: mcc, outcome: review, values: ["6051"] }
  - { id: embargo, kind: blocklist, list: country, outcome: block, values: [KP] }
`);
  const decide = (over: Parameters<typeof anOrder>[0], card = aCard()) =>
    e.evaluate({ order: anOrder(over), card, nowMs: T0 });

  it('blocks a listed card token', () => {
    expect(decide({ cardToken: tokenOf(66) })).toEqual({
      outcome: 'block',
      ruleId: 'bad-card',
      reason: 'blocklist_card',
    });
  });
  it('blocks a card whose first6 starts with a listed BIN prefix, of any length', () => {
    expect(decide({}, aCard({ first6: '555512' }))).toMatchObject({
      ruleId: 'bad-bin',
      reason: 'blocklist_bin',
    });
    expect(decide({}, aCard({ first6: '400000' }))).toMatchObject({ ruleId: 'bad-bin' });
    expect(decide({}, aCard({ first6: '400001' })).outcome).toBe('allow');
  });
  it('blocks a listed merchant and sends a listed MCC to review', () => {
    expect(decide({ merchant: 'm-shady' })).toMatchObject({ outcome: 'block', reason: 'blocklist_merchant' });
    expect(decide({ mcc: '6051' })).toEqual({
      outcome: 'review',
      ruleId: 'risky-mcc',
      reason: 'blocklist_mcc',
    });
  });
  it('blocks a listed country', () => {
    expect(decide({ country: 'KP' })).toMatchObject({ outcome: 'block', reason: 'blocklist_country' });
    expect(decide({ country: 'FR' }).outcome).toBe('allow');
  });
  it('runs block lists before the other rules, whatever their place in the file', () => {
    const e2 = engineWith(`
  - { id: any-amount, kind: amount_limit, period: order, outcome: block, max: "1.00", currency: USD }
  - { id: bad-merchant, kind: blocklist, list: merchant, outcome: block, values: [m-shady] }
`);
    expect(e2.evaluate({ order: anOrder({ merchant: 'm-shady' }), nowMs: T0 })).toMatchObject({
      ruleId: 'bad-merchant',
    });
  });
});

/** A daily limit of 100.00 USD per card, to review. */
const daily = `
  - { id: card-day, kind: amount_limit, period: day, scope: card, outcome: review, max: "100.00", currency: USD }
`;

describe('amount limits per order and per card day', () => {
  it('reviews and blocks per order above the limit, not at it, only in the listed currencies', () => {
    const e = engineWith(`
  - { id: review-big, kind: amount_limit, period: order, outcome: review, max: "10000.00", currencies: [USD, EUR] }
  - { id: block-huge, kind: amount_limit, period: order, outcome: block, limits: [{ max: "50000.00", currency: USD }, { max: "7000000", currency: JPY }] }
`);
    const d = (amountMinor: bigint, currency = 'USD') =>
      e.evaluate({ order: anOrder({ amountMinor, currency }), nowMs: T0 }).outcome;
    expect(d(1_000_000n)).toBe('allow');
    expect(d(1_000_001n)).toBe('review');
    expect(d(1_000_001n, 'EUR')).toBe('review');
    expect(d(5_000_001n)).toBe('block');
    expect(d(5_000_001n, 'EUR')).toBe('review');
    expect(d(5_000_001n, 'GBP')).toBe('allow');
    expect(d(7_000_001n, 'JPY')).toBe('block');
  });

  it('reviews the order that takes a card above its daily spend, counting approved and held orders', () => {
    const e = engineWith(daily);
    expect(run(e, anOrder({ amountMinor: 6_000n }), T0).outcome).toBe('allow');
    expect(run(e, anOrder({ amountMinor: 4_000n }), T0 + S).outcome).toBe('allow'); // exactly 100.00
    expect(run(e, anOrder({ amountMinor: 1n }), T0 + 2 * S)).toEqual({
      outcome: 'review',
      ruleId: 'card-day',
      reason: 'amount_card_day',
    });
  });

  it('sees spend of earlier orders in the same buffer, before their results', () => {
    const e = engineWith(daily);
    expect(e.evaluate({ order: anOrder({ amountMinor: 7_000n }), nowMs: T0 }).outcome).toBe('allow');
    expect(e.evaluate({ order: anOrder({ amountMinor: 7_000n }), nowMs: T0 }).outcome).toBe('review');
  });

  it('releases the spend of a declined, voided or operator-declined order', () => {
    const e = engineWith(daily);
    run(e, anOrder({ amountMinor: 9_000n }), T0, { status: 'declined' });
    expect(run(e, anOrder({ amountMinor: 9_000n }), T0 + S).outcome).toBe('allow');
    const auth = anOrder({ type: 'authorize', amountMinor: 1_000n });
    expect(run(e, auth, T0 + 2 * S).outcome).toBe('allow');
    expect(e.evaluate({ order: anOrder({ amountMinor: 1n }), nowMs: T0 + 3 * S }).outcome).toBe('review');
    e.observe(anOrder({ type: 'void', ref: auth.id }), aResult(auth, 'voided'), T0 + 4 * S);
    // the 1n order above was evaluated (pending), so 9000 + 1 + 1000 fits only after the void
    expect(e.evaluate({ order: anOrder({ amountMinor: 999n }), nowMs: T0 + 5 * S }).outcome).toBe('allow');
    const held = anOrder({ amountMinor: 5_000n, merchant: 'm-2' });
    expect(e.evaluate({ order: held, nowMs: T0 + 6 * S }).outcome).toBe('review');
    e.observe(held, aResult(held, 'held'), T0 + 6 * S);
    e.observe(held, aResult(held, 'declined', { reason: 'review_declined' }), T0 + 7 * S);
    expect(
      e.evaluate({ order: anOrder({ amountMinor: 1n, merchant: 'm-3' }), nowMs: T0 + 8 * S }).outcome,
    ).toBe('review'); // 9000 + 1 + 999 = 10000 already
  });

  it('starts a new UTC day empty', () => {
    const e = engineWith(daily);
    const endOfDay = Date.UTC(2025, 0, 15, 23, 59, 59);
    run(e, anOrder({ amountMinor: 10_000n }), endOfDay);
    expect(e.evaluate({ order: anOrder({ amountMinor: 1n }), nowMs: endOfDay }).outcome).toBe('review');
    expect(e.evaluate({ order: anOrder({ amountMinor: 9_000n }), nowMs: endOfDay + 2 * S }).outcome).toBe(
      'allow',
    );
  });
});

describe('amount limits per account, and a modify', () => {
  it('sums all cards of an account for a per-account daily limit, in the account currency', () => {
    const e = engineWith(`
  - { id: acct-day, kind: amount_limit, period: day, scope: account, outcome: block, max: "100.00", currencies: [USD, EUR] }
`);
    const account = anAccount();
    const c1 = aCard({ token: tokenOf(1) });
    const c2 = aCard({ token: tokenOf(2) });
    run(e, anOrder({ cardToken: c1.token, amountMinor: 6_000n }), T0, { card: c1, account });
    const second = anOrder({ cardToken: c2.token, amountMinor: 5_000n });
    expect(e.evaluate({ order: second, card: c2, account, nowMs: T0 + S })).toMatchObject({
      outcome: 'block',
      reason: 'amount_account_day',
    });
    const otherCurrency = anOrder({ cardToken: c2.token, amountMinor: 50_000n, currency: 'EUR' });
    expect(e.evaluate({ order: otherCurrency, card: c2, account, nowMs: T0 + S }).outcome).toBe('allow');
  });

  it('re-checks a modify with its new amount, replacing the original in the day total', () => {
    const e = engineWith(`${daily}
  - { id: per-order, kind: amount_limit, period: order, outcome: block, max: "500.00", currency: USD }
`);
    const auth = anOrder({ type: 'authorize', amountMinor: 5_000n });
    run(e, auth, T0);
    const modify = (amountMinor: bigint) =>
      anOrder({ type: 'modify', ref: auth.id, cardToken: undefined, amountMinor, currency: undefined });
    expect(e.evaluate({ order: modify(9_000n), nowMs: T0 + S }).outcome).toBe('allow');
    expect(e.evaluate({ order: modify(10_001n), nowMs: T0 + S })).toMatchObject({
      reason: 'amount_card_day',
    });
    expect(e.evaluate({ order: modify(50_001n), nowMs: T0 + S })).toMatchObject({ outcome: 'block' });
    const m = modify(9_000n);
    e.observe(m, aResult(m, 'modified'), T0 + S);
    expect(e.evaluate({ order: anOrder({ amountMinor: 1_001n }), nowMs: T0 + 2 * S }).outcome).toBe('review');
  });
});

describe('velocity counts and sums', () => {
  it('reviews the 6th payment of a card within 60 s, counting blocked and declined attempts', () => {
    const e = engineWith(`
  - { id: velocity-card, kind: velocity, scope: card, outcome: review, windowSeconds: 60, maxCount: 5 }
`);
    for (let i = 0; i < 5; i++) {
      const d = run(e, anOrder({ merchant: `m-${i}` }), T0 + i * S, {
        status: i % 2 ? 'declined' : 'approved',
      });
      expect(d.outcome).toBe('allow');
    }
    expect(run(e, anOrder({ merchant: 'm-9' }), T0 + 5 * S)).toEqual({
      outcome: 'review',
      ruleId: 'velocity-card',
      reason: 'velocity_count',
    });
    // 60 s after the first two, four attempts remain in the window: 4 + 1 is not more than 5
    expect(run(e, anOrder(), T0 + 61 * S).outcome).toBe('allow');
    // another card is not affected
    expect(run(e, anOrder({ cardToken: tokenOf(2) }), T0 + 61 * S).outcome).toBe('allow');
  });

  it('counts per merchant across cards', () => {
    const e = engineWith(`
  - { id: velocity-merchant, kind: velocity, scope: merchant, outcome: block, windowSeconds: 10, maxCount: 3 }
`);
    const d = [1, 2, 3, 4].map((n) => run(e, anOrder({ cardToken: tokenOf(n), merchant: 'm-x' }), T0));
    expect(d.map((x) => x.outcome)).toEqual(['allow', 'allow', 'allow', 'block']);
    expect(run(e, anOrder({ cardToken: tokenOf(5), merchant: 'm-y' }), T0).outcome).toBe('allow');
  });

  it('reviews when the sum in the window exceeds maxSum in that currency', () => {
    const e = engineWith(`
  - id: velocity-sum
    kind: velocity
    scope: card
    outcome: review
    windowSeconds: 3600
    maxSum: { max: "100.00", currency: USD }
`);
    expect(run(e, anOrder({ amountMinor: 6_000n }), T0).outcome).toBe('allow');
    expect(run(e, anOrder({ amountMinor: 6_000n, currency: 'EUR' }), T0 + S).outcome).toBe('allow');
    expect(run(e, anOrder({ amountMinor: 4_001n }), T0 + 2 * S)).toMatchObject({ reason: 'velocity_sum' });
  });

  it('counts only the listed order types and ignores a modify', () => {
    const e = engineWith(`
  - { id: v, kind: velocity, scope: card, outcome: review, windowSeconds: 60, maxCount: 1 }
`);
    const auth = anOrder({ type: 'authorize' });
    expect(run(e, anOrder({ type: 'payout' }), T0).outcome).toBe('allow');
    expect(run(e, auth, T0).outcome).toBe('allow');
    expect(run(e, anOrder({ type: 'modify', ref: auth.id, amountMinor: 2_000n }), T0).outcome).toBe('allow');
    expect(run(e, anOrder(), T0).outcome).toBe('review');
  });
});

describe('velocity at a busy merchant, on a replay and on a redelivery', () => {
  it('counts a busy merchant exactly, with payouts in its window that the rule does not count', () => {
    const e = engineWith(`
  - { id: vm, kind: velocity, scope: merchant, outcome: review, windowSeconds: 1, maxCount: 5 }
`);
    const at = (i: number) => T0 + i * 100;
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const type = i % 3 === 2 ? 'payout' : 'payment';
      outcomes.push(run(e, anOrder({ type, cardToken: tokenOf(i + 1), merchant: 'm-busy' }), at(i)).outcome);
    }
    // payments at 0,1,3,4,6,7,9,10 (x100 ms), payouts at 2,5,8,11: payouts are in the merchant's window but
    // not counted (nor checked). At 700 ms: payments 0,1,3,4,6 + this one = 6 > 5. At 1,000 ms the one at
    // 0 ms has left the window (not newer than 1 s ago): 1,3,4,6,7,9 + this one = 7.
    expect(outcomes).toEqual([
      'allow',
      'allow',
      'allow',
      'allow',
      'allow',
      'allow',
      'allow',
      'review',
      'allow',
      'review',
      'review',
      'allow',
    ]);
  });

  it('decides the same when a replay clock goes back (the window is then scanned, not searched)', () => {
    const rules = `
  - { id: vm, kind: velocity, scope: merchant, outcome: review, windowSeconds: 10, maxCount: 2 }
`;
    const e = engineWith(rules);
    expect(run(e, anOrder({ cardToken: tokenOf(1), merchant: 'm' }), T0 + 5 * S).outcome).toBe('allow');
    // older than the newest: the window is out of time order from here on
    expect(run(e, anOrder({ cardToken: tokenOf(2), merchant: 'm' }), T0 + 2 * S).outcome).toBe('allow');
    expect(run(e, anOrder({ cardToken: tokenOf(3), merchant: 'm' }), T0 + 6 * S).outcome).toBe('review');
    // 13 s: the entry at 5 s is out of the window; the scan stops there, as it always did
    expect(run(e, anOrder({ cardToken: tokenOf(4), merchant: 'm' }), T0 + 13 * S).outcome).toBe('allow');
  });

  it('does not count a redelivered order twice', () => {
    const e = engineWith(`
  - { id: v, kind: velocity, scope: card, outcome: review, windowSeconds: 60, maxCount: 1 }
`);
    const order = anOrder();
    expect(e.evaluate({ order, nowMs: T0 }).outcome).toBe('allow');
    expect(e.evaluate({ order, nowMs: T0 + S }).outcome).toBe('allow');
    expect(e.evaluate({ order: anOrder(), nowMs: T0 + S }).outcome).toBe('review');
  });
});

describe('duplicates', () => {
  const rules = `
  - { id: duplicate-payment, kind: duplicate, scope: card, outcome: block, windowSeconds: 30 }
`;
  it('blocks the same card, merchant and amount within 30 s under another order id', () => {
    const e = engineWith(rules);
    expect(run(e, anOrder(), T0).outcome).toBe('allow');
    expect(run(e, anOrder(), T0 + 29 * S)).toEqual({
      outcome: 'block',
      ruleId: 'duplicate-payment',
      reason: 'duplicate',
    });
  });
  it('allows a different amount, merchant, card or currency, or the same after the window', () => {
    const e = engineWith(rules);
    run(e, anOrder(), T0);
    expect(run(e, anOrder({ amountMinor: 1_251n }), T0 + S).outcome).toBe('allow');
    expect(run(e, anOrder({ merchant: 'm-other' }), T0 + S).outcome).toBe('allow');
    expect(run(e, anOrder({ cardToken: tokenOf(2) }), T0 + S).outcome).toBe('allow');
    expect(run(e, anOrder({ currency: 'EUR' }), T0 + S).outcome).toBe('allow');
    const e2 = engineWith(rules);
    run(e2, anOrder(), T0);
    expect(run(e2, anOrder(), T0 + 30 * S).outcome).toBe('allow');
  });
  it('treats the same order id again as a redelivery, not a duplicate', () => {
    const e = engineWith(rules);
    const order = anOrder();
    expect(e.evaluate({ order, nowMs: T0 }).outcome).toBe('allow');
    expect(e.evaluate({ order, nowMs: T0 + S }).outcome).toBe('allow');
  });
});

describe('account anomalies', () => {
  it("reviews an amount above 10x the card's moving average once it has 5 approved orders", () => {
    const e = engineWith(`
  - { id: amount-anomaly, kind: anomaly_amount, scope: card, outcome: review, multiple: 10, minOrders: 5 }
`);
    for (let i = 0; i < 4; i++) run(e, anOrder({ amountMinor: 1_000n }), T0 + i * S);
    expect(e.evaluate({ order: anOrder({ amountMinor: 50_000n }), nowMs: T0 + 10 * S }).outcome).toBe(
      'allow',
    );
    const e2 = engineWith(`
  - { id: amount-anomaly, kind: anomaly_amount, scope: card, outcome: review, multiple: 10, minOrders: 5 }
`);
    for (let i = 0; i < 5; i++) run(e2, anOrder({ amountMinor: 1_000n }), T0 + i * S);
    expect(e2.evaluate({ order: anOrder({ amountMinor: 10_000n }), nowMs: T0 + 10 * S }).outcome).toBe(
      'allow',
    );
    expect(e2.evaluate({ order: anOrder({ amountMinor: 10_001n }), nowMs: T0 + 10 * S })).toEqual({
      outcome: 'review',
      ruleId: 'amount-anomaly',
      reason: 'amount_anomaly',
    });
    expect(
      e2.evaluate({ order: anOrder({ amountMinor: 99_999n, currency: 'EUR' }), nowMs: T0 }).outcome,
    ).toBe('allow');
  });

  it('learns only from approved orders: declined and held amounts do not move the average', () => {
    const e = engineWith(`
  - { id: a, kind: anomaly_amount, outcome: review, multiple: 2, minOrders: 1 }
`);
    run(e, anOrder({ amountMinor: 1_000n }), T0);
    run(e, anOrder({ amountMinor: 1_500n }), T0 + S, { status: 'declined' });
    expect(e.evaluate({ order: anOrder({ amountMinor: 2_001n }), nowMs: T0 + 2 * S }).outcome).toBe('review');
  });

  it('reviews first use in a new country only when the amount is above the average, if so configured', () => {
    const e = engineWith(`
  - { id: new-country, kind: new_country, scope: card, outcome: review, minOrders: 1, onlyAboveAverage: true }
  - { id: new-country-any, kind: new_country, outcome: allow, minOrders: 1 }
`);
    expect(run(e, anOrder({ country: 'FR', amountMinor: 2_000n }), T0).outcome).toBe('allow');
    expect(run(e, anOrder({ country: 'DE', amountMinor: 1_000n }), T0 + S).outcome).toBe('allow');
    expect(run(e, anOrder({ country: 'IT', amountMinor: 5_000n }), T0 + 2 * S)).toEqual({
      outcome: 'review',
      ruleId: 'new-country',
      reason: 'new_country',
    });
    expect(run(e, anOrder({ country: 'DE', amountMinor: 5_000n }), T0 + 3 * S).outcome).toBe('allow');
    expect(e.stats().hitsByRule).toEqual({ 'new-country': 1, 'new-country-any': 2 });
  });

  it('learns a card from what it buys: a payout to it (a salary) is no approval for new_country or the average', () => {
    const e = engineWith(`
  - { id: new-country, kind: new_country, outcome: review, minOrders: 1 }
  - { id: a, kind: anomaly_amount, outcome: review, multiple: 2, minOrders: 1 }
`);
    run(e, anOrder({ type: 'payout', country: undefined, amountMinor: 300_000n }), T0);
    expect(run(e, anOrder({ country: 'FR', amountMinor: 2_000n }), T0 + S).outcome).toBe('allow');
    expect(run(e, anOrder({ country: 'FR', amountMinor: 4_001n }), T0 + 2 * S)).toMatchObject({ outcome: 'review', ruleId: 'a' });
  });

  it('counts towards new_country only approvals that named a country: a batch payment without one says nothing of where the card is used', () => {
    const e = engineWith(`
  - { id: new-country, kind: new_country, outcome: review, minOrders: 1 }
`);
    run(e, anOrder({ country: undefined, batchId: 'b-1', amountMinor: 2_000n }), T0);
    expect(run(e, anOrder({ country: 'US', amountMinor: 2_000n }), T0 + S).outcome).toBe('allow');
    expect(run(e, anOrder({ country: 'FR', amountMinor: 2_000n }), T0 + 2 * S)).toMatchObject({ outcome: 'review', ruleId: 'new-country' });
  });

  it('blocks further orders on a card after more than 4 declines within 120 s', () => {
    const e = engineWith(`
  - { id: decline-burst, kind: decline_burst, scope: card, outcome: block, windowSeconds: 120, maxDeclines: 4 }
`);
    for (let i = 0; i < 4; i++)
      run(e, anOrder({ amountMinor: BigInt(100 + i) }), T0 + i * S, { status: 'declined' });
    expect(run(e, anOrder(), T0 + 5 * S, { status: 'declined' }).outcome).toBe('allow');
    expect(run(e, anOrder(), T0 + 6 * S)).toEqual({
      outcome: 'block',
      ruleId: 'decline-burst',
      reason: 'decline_burst',
    });
    expect(run(e, anOrder({ cardToken: tokenOf(2) }), T0 + 6 * S).outcome).toBe('allow');
    // the blocked order is itself a decline: the card stays blocked while it keeps trying, then recovers
    expect(run(e, anOrder(), T0 + 130 * S).outcome).toBe('allow');
  });
});

describe('precedence and monitoring', () => {
  const e = () =>
    engineWith(`
  - { id: watch, kind: amount_limit, period: order, outcome: allow, max: "1.00", currency: USD }
  - { id: review-a, kind: amount_limit, period: order, outcome: review, max: "5.00", currency: USD }
  - { id: review-b, kind: amount_limit, period: order, outcome: review, max: "6.00", currency: USD }
  - { id: block-a, kind: amount_limit, period: order, outcome: block, max: "100.00", currency: USD }
`);
  it('reports block over review over allow, the first rule in file order within the strongest', () => {
    expect(e().evaluate({ order: anOrder({ amountMinor: 200n }), nowMs: T0 })).toEqual({ outcome: 'allow' });
    expect(e().evaluate({ order: anOrder({ amountMinor: 700n }), nowMs: T0 })).toMatchObject({
      ruleId: 'review-a',
    });
    expect(e().evaluate({ order: anOrder({ amountMinor: 20_000n }), nowMs: T0 })).toMatchObject({
      outcome: 'block',
      ruleId: 'block-a',
    });
  });
  it('counts hits per rule and decisions per outcome in stats', () => {
    const engine = e();
    engine.evaluate({ order: anOrder({ amountMinor: 200n }), nowMs: T0 });
    engine.evaluate({ order: anOrder({ amountMinor: 700n }), nowMs: T0 });
    const stats = engine.stats();
    expect(stats.hitsByRule).toEqual({ watch: 2, 'review-a': 1, 'review-b': 1 });
    expect(stats.decisions).toMatchObject({ allow: 1, review: 1, block: 0 });
    expect(stats.rulesEnabled).toBe(4);
  });
  it('skips disabled rules', () => {
    const engine = engineWith(`
  - { id: off, kind: amount_limit, period: order, outcome: block, max: "1.00", currency: USD, enabled: false }
`);
    expect(engine.evaluate({ order: anOrder(), nowMs: T0 }).outcome).toBe('allow');
    expect(engine.stats().rulesEnabled).toBe(0);
  });
});

describe('reload, bounds and options', () => {
  it('keeps windows and histories across a reload and applies the new rules at once', () => {
    const e = engineWith(`
  - { id: v, kind: velocity, scope: card, outcome: review, windowSeconds: 60, maxCount: 10 }
`);
    for (let i = 0; i < 4; i++) run(e, anOrder({ merchant: `m-${i}` }), T0 + i * S);
    e.reload(
      rulesFrom(`
  - { id: v, kind: velocity, scope: card, outcome: block, windowSeconds: 60, maxCount: 3 }
`),
    );
    expect(run(e, anOrder({ merchant: 'm-x' }), T0 + 5 * S)).toMatchObject({ outcome: 'block', ruleId: 'v' });
  });

  it('keeps the old rules when the new set does not compile', () => {
    const e = engineWith(`
  - { id: v, kind: velocity, scope: card, outcome: review, windowSeconds: 60, maxCount: 1 }
`);
    expect(() =>
      e.reload(
        rulesFrom(`
  - { id: v, kind: velocity, scope: card, outcome: review, windowSeconds: 60, maxCount: 300 }
`),
      ),
    ).toThrow(/maxCount 300 needs windowsMax above it \(windowsMax is 256\)/);
    run(e, anOrder(), T0);
    expect(run(e, anOrder({ merchant: 'm-2' }), T0).outcome).toBe('review');
  });

  it('tracks at most cardsMax cards, forgetting the least recently used', () => {
    const e = engineWith(
      `
  - { id: v, kind: velocity, scope: card, outcome: review, windowSeconds: 60, maxCount: 1 }
`,
      { cardsMax: 2 },
    );
    run(e, anOrder({ cardToken: tokenOf(1) }), T0);
    run(e, anOrder({ cardToken: tokenOf(2) }), T0);
    run(e, anOrder({ cardToken: tokenOf(3) }), T0);
    expect(e.stats().cardsTracked).toBe(2);
    expect(e.stats().evictions.cards).toBe(1);
    expect(run(e, anOrder({ cardToken: tokenOf(1) }), T0).outcome).toBe('allow'); // forgotten
    expect(run(e, anOrder({ cardToken: tokenOf(3) }), T0).outcome).toBe('review');
  });

  it('keeps at most windowsMax attempts per card, and still sees the window as full', () => {
    const e = engineWith(
      `
  - { id: v, kind: velocity, scope: card, outcome: review, windowSeconds: 60, maxCount: 3 }
`,
      { windowsMax: 4 },
    );
    const outcomes = Array.from(
      { length: 10 },
      (_, i) => run(e, anOrder({ merchant: `m-${i}` }), T0).outcome,
    );
    expect(outcomes).toEqual(['allow', 'allow', 'allow', ...Array(7).fill('review')]);
  });

  it('fills documented defaults and rejects out-of-range options', () => {
    expect(parseRiskOptions()).toEqual({
      windowsMax: 256,
      cardsMax: 100_000,
      merchantsMax: 10_000,
      accountsMax: 100_000,
      ordersMax: 50_000,
      countriesPerCardMax: 16,
      averageOrders: 20,
    });
    expect(() => parseRiskOptions({ cardsMax: 0 })).toThrow(/cardsMax must be an integer from 1/);
    expect(() => new RiskEngine({ rules: [] }, { windowsMax: 1.5 })).toThrow(RangeError);
  });
});
