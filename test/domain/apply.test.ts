// The ledger's pure decisions over a hand-built working set: every order type, every decline, the invariants.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ApplyContext, type OrderRecord, type WorkingSet, applyOrder, applyRejection, available, decideReview, expireHold, visitKeysNeeded } from '../../src/domain/apply.ts';
import { ORDER_TYPES, type Order, type OrderResult } from '../../src/domain/types.ts';
import {
  BOB_TOKEN,
  aCard,
  aContext,
  aFundedWorld,
  aFundingAccount,
  aMerchant,
  anAccount,
  balancesOf,
  bobsCard,
  holdsOf,
} from '../ledger/builders.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS, anOrder } from './builders.ts';
import { ALLOW, type RiskDecision } from '../../src/domain/risk/decision.ts';

const ctx = aContext();
const HOUR_MS = 3600_000;
const review = { outcome: 'review', ruleId: 'big_amount', reason: 'amount_order' } as const satisfies RiskDecision;
const block = { outcome: 'block', ruleId: 'blocklist', reason: 'blocklist_card' } as const satisfies RiskDecision;

function apply(
  ws: WorkingSet,
  overrides: Partial<Order> = {},
  risk: RiskDecision = ALLOW,
  at: ApplyContext = ctx,
) {
  return applyOrder(ws, anOrder(overrides), risk, at);
}

/** Authorizes `amountMinor` on Alice's card and returns the authorization's id. */
function authorize(ws: WorkingSet, amountMinor = 5_000n, risk: RiskDecision = ALLOW): string {
  const auth = anOrder({ type: 'authorize', amountMinor });
  const result = applyOrder(ws, auth, risk, ctx);
  expect(result.status).toBe(risk.outcome === 'review' ? 'held' : 'authorized');
  return auth.id;
}

/** An order acting on `ref`: no card, no merchant, and an amount only when given. */
function onRef(type: Order['type'], ref: string, amountMinor?: bigint): Partial<Order> {
  return { type, ref, cardToken: undefined, merchant: undefined, amountMinor };
}

const sumOfBalances = (ws: WorkingSet): bigint =>
  [...ws.accounts.values()].reduce((s, a) => s + a.balanceMinor, 0n);

describe('payment', () => {
  it('moves the amount from the card account to the merchant and says what is left', () => {
    const ws = aFundedWorld();
    const order = anOrder({ amountMinor: 1_250n });
    const result = applyOrder(ws, order, ALLOW, ctx);
    expect(result).toMatchObject({
      orderId: order.id,
      status: 'approved',
      transferId: `tx_${order.id}`,
      available: '87.50',
    });
    expect(balancesOf(ws)).toMatchObject({ acct_alice: 8_750n, m_coffee: 1_250n });
    expect(ws.transfers).toEqual([
      expect.objectContaining({
        debit: 'acct_alice',
        credit: 'm_coffee',
        amountMinor: 1_250n,
        kind: 'payment',
        orderId: order.id,
      }),
    ]);
    expect(ws.published).toEqual([result]);
    expect(sumOfBalances(ws)).toBe(0n);
  });

  it('stamps processedAt from the clock and latency from when the order was received', () => {
    const ws = aFundedWorld();
    const result = apply(ws, {}, ALLOW, aContext({ nowMs: TEST_NOW_MS + 40, receivedAtMs: TEST_NOW_MS }));
    expect(result.processedAt).toBe(new Date(TEST_NOW_MS + 40).toISOString());
    expect(result.latencyMs).toBe(40);
  });

  it('carries the batch id onto the result', () => {
    expect(apply(aFundedWorld(), { batchId: 'payroll-7' }).batchId).toBe('payroll-7');
  });

  it('approves a payment of exactly the available balance, leaving 0.00', () => {
    const result = apply(aFundedWorld(), { amountMinor: 10_000n });
    expect(result).toMatchObject({ status: 'approved', available: '0.00' });
  });

  it('declines a payment that would overdraw the card account, and moves nothing', () => {
    const ws = aFundedWorld();
    const before = balancesOf(ws);
    const result = apply(ws, { amountMinor: 10_001n });
    expect(result).toMatchObject({ status: 'declined', reason: 'insufficient_funds', available: '100.00' });
    expect(balancesOf(ws)).toEqual(before);
    expect(ws.transfers).toEqual([]);
  });

  it('counts open holds against the balance: a payment the holds leave no room for is declined', () => {
    const ws = aFundedWorld();
    authorize(ws, 9_000n);
    const result = apply(ws, { amountMinor: 2_000n });
    expect(result).toMatchObject({ status: 'declined', reason: 'insufficient_funds', available: '10.00' });
    expect(balancesOf(ws).acct_alice).toBe(10_000n);
  });
});

describe('payment: the card and its account', () => {
  it.each([
    ['card_frozen', aCard({ status: 'frozen' })],
    ['card_closed', aCard({ status: 'closed' })],
    ['card_expired', aCard({ expiry: '10/26' })],
    ['unknown_account', aCard({ accountId: 'acct_nobody' })],
  ])('declines %s and moves nothing', (reason, card) => {
    const ws = aFundedWorld();
    ws.cards.set(card.token, card);
    const before = balancesOf(ws);
    expect(apply(ws)).toMatchObject({ status: 'declined', reason });
    expect(balancesOf(ws)).toEqual(before);
  });

  it('treats a card as good through the last day of its expiry month', () => {
    const ws = aFundedWorld();
    ws.cards.set(TEST_CARD_TOKEN, aCard({ expiry: '11/26' }));
    expect(apply(ws).status).toBe('approved');
  });

  it('declines a card token it does not know', () => {
    expect(apply(aFundedWorld(), { cardToken: 'f'.repeat(64) })).toMatchObject({
      status: 'declined',
      reason: 'unknown_card',
    });
  });

  it('declines an order whose currency differs from the card account', () => {
    expect(apply(aFundedWorld(), { currency: 'EUR' })).toMatchObject({
      status: 'declined',
      reason: 'currency_mismatch',
    });
  });

  it('declines a payment to a merchant account kept in another currency', () => {
    const ws = aFundedWorld();
    ws.accounts.set('m_paris', aMerchant({ id: 'm_paris', currency: 'EUR' }));
    expect(apply(ws, { merchant: 'm_paris' })).toMatchObject({
      status: 'declined',
      reason: 'currency_mismatch',
    });
  });
});

describe('payment: the merchant account', () => {
  it('opens a merchant account in the order currency on first use', () => {
    const ws = aFundedWorld();
    expect(apply(ws, { merchant: 'm_new' }).status).toBe('approved');
    expect(ws.account('m_new')).toMatchObject({
      currency: 'USD',
      balanceMinor: 1_250n,
      owner: { kind: 'merchant' },
    });
  });

  it('declines merchant_unknown for a new merchant when auto-open is off', () => {
    const ws = aFundedWorld();
    const result = apply(
      ws,
      { merchant: 'm_new' },
      ALLOW,
      aContext({ options: { autoOpenMerchants: false } }),
    );
    expect(result).toMatchObject({ status: 'declined', reason: 'merchant_unknown' });
    expect(ws.account('m_new')).toBeUndefined();
  });

  it('refuses a cardholder account as the merchant', () => {
    expect(apply(aFundedWorld(), { merchant: 'acct_bob' })).toMatchObject({
      status: 'declined',
      reason: 'merchant_unknown',
    });
  });

  it('never pays into a funding account, nor opens one as a merchant', () => {
    const ws = aFundedWorld();
    expect(apply(ws, { merchant: 'funding-USD' })).toMatchObject({
      status: 'declined',
      reason: 'merchant_unknown',
    });
    expect(apply(ws, { merchant: 'funding' })).toMatchObject({
      status: 'declined',
      reason: 'merchant_unknown',
    });
    expect(apply(ws, { merchant: 'funding-EUR', currency: 'USD' })).toMatchObject({
      reason: 'merchant_unknown',
    });
    expect(ws.account('funding')).toBeUndefined();
    expect(ws.account('funding-EUR')).toBeUndefined();
    expect(ws.account('funding-USD')?.owner.kind).toBe('system');
  });
});

describe('payment: risk decisions', () => {
  it('declines risk_blocked with the rule, and moves nothing', () => {
    const ws = aFundedWorld();
    expect(apply(ws, {}, block)).toMatchObject({
      status: 'declined',
      reason: 'risk_blocked',
      rule: 'blocklist',
    });
    expect(ws.transfers).toEqual([]);
  });

  it('holds a payment under review: the hold takes the available balance, the balance stays', () => {
    const ws = aFundedWorld();
    const result = apply(ws, { amountMinor: 3_000n }, review);
    expect(result).toMatchObject({
      status: 'held',
      rule: 'big_amount',
      reason: review.reason,
      available: '70.00',
    });
    expect(ws.account('acct_alice')).toMatchObject({ balanceMinor: 10_000n, holdsMinor: 3_000n });
    expect(ws.transfers).toEqual([]);
  });

  it('does not hold a payment under review that the account cannot cover', () => {
    const ws = aFundedWorld();
    expect(apply(ws, { amountMinor: 20_000n }, review)).toMatchObject({
      status: 'declined',
      reason: 'insufficient_funds',
    });
    expect(holdsOf(ws).acct_alice).toBe(0n);
  });

  it('marks an order expired or rejected when risk says so, with the rule', () => {
    const ws = aFundedWorld();
    expect(apply(ws, {}, { outcome: 'expire', ruleId: 'stale', reason: 'stale_order' })).toMatchObject({
      status: 'expired',
      reason: 'stale_order',
      rule: 'stale',
    });
    expect(apply(ws, {}, { outcome: 'reject', ruleId: 'clock', reason: 'future_dated' })).toMatchObject({
      status: 'rejected',
      reason: 'future_dated',
      rule: 'clock',
      field: 'createdAt',
    });
    expect(ws.transfers).toEqual([]);
  });
});

describe('payment: a republished id', () => {
  it('answers a republished order with its original result marked duplicate, and moves money once', () => {
    const ws = aFundedWorld();
    const order = anOrder();
    const first = applyOrder(ws, order, ALLOW, ctx);
    const again = applyOrder(ws, { ...order }, ALLOW, aContext({ nowMs: TEST_NOW_MS + 5_000 }));
    expect(again).toEqual({ ...first, duplicate: true });
    expect(first.duplicate).toBeUndefined();
    expect(ws.transfers).toHaveLength(1);
    expect(balancesOf(ws).acct_alice).toBe(8_750n);
    expect(ws.published).toEqual([first, again]);
  });

  it('keeps a decline final: the same id is declined again even after the account is funded', () => {
    const ws = aFundedWorld({ aliceMinor: 0n });
    const order = anOrder();
    const first = applyOrder(ws, order, ALLOW, ctx);
    ws.accounts.set('acct_alice', anAccount({ balanceMinor: 1_000_000n }));
    expect(applyOrder(ws, order, ALLOW, ctx)).toEqual({ ...first, duplicate: true });
  });
});

describe('authorize', () => {
  it('places a hold: available drops, balance stays, and the hold lasts authorizationHoldMs', () => {
    const ws = aFundedWorld();
    const auth = anOrder({ type: 'authorize', amountMinor: 4_000n });
    expect(applyOrder(ws, auth, ALLOW, ctx)).toMatchObject({ status: 'authorized', available: '60.00' });
    expect(ws.account('acct_alice')).toMatchObject({ balanceMinor: 10_000n, holdsMinor: 4_000n });
    expect(ws.order(auth.id)).toMatchObject({
      open: true,
      holdMinor: 4_000n,
      accountId: 'acct_alice',
      holdExpiresAtMs: TEST_NOW_MS + ctx.options.authorizationHoldMs,
    });
    expect(ws.transfers).toEqual([]);
  });

  it('declines an authorization beyond the available balance', () => {
    const ws = aFundedWorld();
    authorize(ws, 6_000n);
    expect(apply(ws, { type: 'authorize', amountMinor: 5_000n })).toMatchObject({
      reason: 'insufficient_funds',
    });
    expect(holdsOf(ws).acct_alice).toBe(6_000n);
  });

  it('declines an authorization on a frozen card', () => {
    const ws = aFundedWorld();
    ws.cards.set(TEST_CARD_TOKEN, aCard({ status: 'frozen' }));
    expect(apply(ws, { type: 'authorize' })).toMatchObject({ status: 'declined', reason: 'card_frozen' });
  });
});

describe('capture', () => {
  it('posts the whole authorization when no amount is given, and releases the hold', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    const capture = anOrder(onRef('capture', authId));
    const result = applyOrder(ws, capture, ALLOW, ctx);
    expect(result).toMatchObject({ status: 'captured', transferId: `tx_${capture.id}`, available: '50.00' });
    expect(ws.account('acct_alice')).toMatchObject({ balanceMinor: 5_000n, holdsMinor: 0n });
    expect(balancesOf(ws).m_coffee).toBe(5_000n);
    expect(ws.transfers.at(-1)).toMatchObject({ kind: 'capture', amountMinor: 5_000n, currency: 'USD' });
    expect(ws.order(authId)).toMatchObject({ open: false, holdMinor: 0n, capturedMinor: 5_000n });
  });

  it('posts part of an authorization and releases the whole hold', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    expect(apply(ws, onRef('capture', authId, 2_000n))).toMatchObject({
      status: 'captured',
      available: '80.00',
    });
    expect(ws.account('acct_alice')).toMatchObject({ balanceMinor: 8_000n, holdsMinor: 0n });
  });

  it('captures once: a second capture is declined already_captured', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws);
    apply(ws, onRef('capture', authId, 1_000n));
    expect(apply(ws, onRef('capture', authId, 1_000n))).toMatchObject({
      status: 'declined',
      reason: 'already_captured',
    });
    expect(balancesOf(ws).acct_alice).toBe(9_000n);
  });

  it('declines a capture above the authorized amount and keeps the hold', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    expect(apply(ws, onRef('capture', authId, 5_001n))).toMatchObject({
      reason: 'amount_exceeds_authorization',
    });
    expect(holdsOf(ws).acct_alice).toBe(5_000n);
  });
});

describe('capture: what cannot be captured', () => {
  it('declines a capture of a voided authorization', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws);
    apply(ws, onRef('void', authId));
    expect(apply(ws, onRef('capture', authId))).toMatchObject({
      status: 'declined',
      reason: 'authorization_closed',
    });
  });

  it('declines a capture after the hold lapsed, releasing the hold even before any sweep', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws);
    const late = aContext({ nowMs: TEST_NOW_MS + ctx.options.authorizationHoldMs });
    expect(applyOrder(ws, anOrder(onRef('capture', authId)), ALLOW, late)).toMatchObject({
      reason: 'authorization_closed',
    });
    expect(ws.order(authId)).toMatchObject({ open: false, closedBy: 'expired' });
    expect(holdsOf(ws).acct_alice).toBe(0n);
  });

  it('declines a capture of an authorization the sweep expired', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws);
    const late = aContext({ nowMs: TEST_NOW_MS + ctx.options.authorizationHoldMs + 1 });
    expireHold(ws, authId, late);
    expect(applyOrder(ws, anOrder(onRef('capture', authId)), ALLOW, late)).toMatchObject({
      reason: 'authorization_closed',
    });
  });

  it('declines unknown_ref, invalid_ref (not an authorization) and a currency other than the authorization', () => {
    const ws = aFundedWorld();
    const payment = anOrder();
    applyOrder(ws, payment, ALLOW, ctx);
    const authId = authorize(ws);
    expect(apply(ws, onRef('capture', 'ord_nope'))).toMatchObject({ reason: 'unknown_ref' });
    expect(apply(ws, onRef('capture', payment.id))).toMatchObject({ reason: 'invalid_ref' });
    expect(apply(ws, { ...onRef('capture', authId, 100n), currency: 'EUR' })).toMatchObject({
      reason: 'currency_mismatch',
    });
  });

  it('declines a capture of a declined authorization as invalid_ref', () => {
    const ws = aFundedWorld();
    const auth = anOrder({ type: 'authorize', amountMinor: 1_000_000n });
    applyOrder(ws, auth, ALLOW, ctx);
    expect(apply(ws, onRef('capture', auth.id))).toMatchObject({ reason: 'invalid_ref' });
  });
});

describe('void', () => {
  it('releases the hold of an authorization and moves nothing', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    expect(apply(ws, onRef('void', authId))).toMatchObject({ status: 'voided', available: '100.00' });
    expect(holdsOf(ws).acct_alice).toBe(0n);
    expect(ws.order(authId)).toMatchObject({ open: false, closedBy: 'void' });
    expect(ws.transfers).toEqual([]);
  });

  it('declines voiding twice, voiding a captured or lapsed authorization, a payment, a held order or nothing', () => {
    const ws = aFundedWorld();
    const voided = authorize(ws, 1_000n);
    apply(ws, onRef('void', voided));
    const captured = authorize(ws, 1_000n);
    apply(ws, onRef('capture', captured));
    const payment = anOrder({ amountMinor: 100n });
    applyOrder(ws, payment, ALLOW, ctx);
    const held = authorize(ws, 1_000n, review);
    expect(apply(ws, onRef('void', voided))).toMatchObject({ reason: 'authorization_closed' });
    expect(apply(ws, onRef('void', captured))).toMatchObject({ reason: 'already_captured' });
    expect(apply(ws, onRef('void', payment.id))).toMatchObject({ reason: 'invalid_ref' });
    expect(apply(ws, onRef('void', held))).toMatchObject({ reason: 'invalid_ref' });
    expect(apply(ws, onRef('void', 'ord_nope'))).toMatchObject({ reason: 'unknown_ref' });
  });

  it('declines a void after the hold lapsed, whether or not the sweep ran', () => {
    const late = aContext({ nowMs: TEST_NOW_MS + ctx.options.authorizationHoldMs });
    const unswept = aFundedWorld();
    const a = authorize(unswept);
    const swept = aFundedWorld();
    const b = authorize(swept);
    expireHold(swept, b, late);
    expect(applyOrder(unswept, anOrder(onRef('void', a)), ALLOW, late)).toMatchObject({
      reason: 'authorization_closed',
    });
    expect(applyOrder(swept, anOrder(onRef('void', b)), ALLOW, late)).toMatchObject({
      reason: 'authorization_closed',
    });
    expect(holdsOf(unswept)).toEqual(holdsOf(swept));
  });
});

describe('refund', () => {
  it('moves a whole payment back when no amount is given', () => {
    const ws = aFundedWorld();
    const payment = anOrder({ amountMinor: 3_000n });
    applyOrder(ws, payment, ALLOW, ctx);
    const refund = anOrder(onRef('refund', payment.id));
    expect(applyOrder(ws, refund, ALLOW, ctx)).toMatchObject({
      status: 'refunded',
      transferId: `tx_${refund.id}`,
      available: '100.00',
    });
    expect(balancesOf(ws)).toMatchObject({ acct_alice: 10_000n, m_coffee: 0n });
    expect(ws.transfers.at(-1)).toMatchObject({
      kind: 'refund',
      debit: 'm_coffee',
      credit: 'acct_alice',
      amountMinor: 3_000n,
    });
  });

  it('never refunds more than was paid, over several partial refunds', () => {
    const ws = aFundedWorld();
    const payment = anOrder({ amountMinor: 3_000n });
    applyOrder(ws, payment, ALLOW, ctx);
    expect(apply(ws, onRef('refund', payment.id, 1_000n)).status).toBe('refunded');
    expect(apply(ws, onRef('refund', payment.id, 1_500n)).status).toBe('refunded');
    expect(apply(ws, onRef('refund', payment.id, 501n))).toMatchObject({
      status: 'declined',
      reason: 'amount_exceeds_refundable',
    });
    expect(apply(ws, onRef('refund', payment.id)).status).toBe('refunded'); // the remaining 5.00
    expect(apply(ws, onRef('refund', payment.id))).toMatchObject({ reason: 'amount_exceeds_refundable' });
    expect(apply(ws, onRef('refund', payment.id, 1n))).toMatchObject({ reason: 'amount_exceeds_refundable' });
    expect(balancesOf(ws)).toMatchObject({ acct_alice: 10_000n, m_coffee: 0n });
    expect(ws.order(payment.id)).toMatchObject({ paidMinor: 3_000n, refundedMinor: 3_000n });
  });

  it('refunds a capture up to what was captured, not what was authorized', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    const capture = anOrder(onRef('capture', authId, 2_000n));
    applyOrder(ws, capture, ALLOW, ctx);
    expect(apply(ws, onRef('refund', capture.id, 2_001n))).toMatchObject({
      reason: 'amount_exceeds_refundable',
    });
    expect(apply(ws, onRef('refund', capture.id))).toMatchObject({ status: 'refunded', available: '100.00' });
    expect(balancesOf(ws)).toMatchObject({ acct_alice: 10_000n, m_coffee: 0n });
  });
});

describe('refund: what cannot be refunded', () => {
  it('declines a refund of an authorization, of a refund, of a declined payment, and of nothing', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws);
    const payment = anOrder({ amountMinor: 1_000n });
    applyOrder(ws, payment, ALLOW, ctx);
    const refund = anOrder(onRef('refund', payment.id, 100n));
    applyOrder(ws, refund, ALLOW, ctx);
    const declined = anOrder({ amountMinor: 1_000_000n });
    applyOrder(ws, declined, ALLOW, ctx);
    expect(apply(ws, onRef('refund', authId))).toMatchObject({ reason: 'invalid_ref' });
    expect(apply(ws, onRef('refund', refund.id))).toMatchObject({ reason: 'invalid_ref' });
    expect(apply(ws, onRef('refund', declined.id))).toMatchObject({ reason: 'invalid_ref' });
    expect(apply(ws, onRef('refund', 'ord_nope'))).toMatchObject({ reason: 'unknown_ref' });
  });

  it('declines a refund in another currency than the payment', () => {
    const ws = aFundedWorld();
    const payment = anOrder();
    applyOrder(ws, payment, ALLOW, ctx);
    expect(apply(ws, { ...onRef('refund', payment.id, 100n), currency: 'EUR' })).toMatchObject({
      reason: 'currency_mismatch',
    });
  });

  it('declines a refund the merchant can no longer cover', () => {
    const ws = aFundedWorld();
    const payment = anOrder({ amountMinor: 3_000n });
    applyOrder(ws, payment, ALLOW, ctx);
    expect(apply(ws, { type: 'payout', cardToken: BOB_TOKEN, amountMinor: 2_500n }).status).toBe('approved');
    expect(apply(ws, onRef('refund', payment.id))).toMatchObject({
      status: 'declined',
      reason: 'insufficient_funds',
    });
    expect(apply(ws, onRef('refund', payment.id, 500n)).status).toBe('refunded');
  });
});

describe('payout', () => {
  it("credits the card's account from the merchant's", () => {
    const ws = aFundedWorld({ merchantMinor: 50_000n });
    const payout = anOrder({ type: 'payout', cardToken: BOB_TOKEN, amountMinor: 20_000n });
    expect(applyOrder(ws, payout, ALLOW, ctx)).toMatchObject({ status: 'approved', available: '200.00' });
    expect(balancesOf(ws)).toMatchObject({ acct_bob: 20_000n, m_coffee: 30_000n });
    expect(ws.transfers.at(-1)).toMatchObject({ kind: 'payout', debit: 'm_coffee', credit: 'acct_bob' });
  });

  it('declines a payout beyond what the merchant holds', () => {
    const ws = aFundedWorld({ merchantMinor: 1_000n });
    expect(apply(ws, { type: 'payout', cardToken: BOB_TOKEN, amountMinor: 1_001n })).toMatchObject({
      reason: 'insufficient_funds',
    });
    expect(balancesOf(ws).m_coffee).toBe(1_000n);
  });

  it('declines payouts from an unknown merchant, a cardholder or a funding account: none may mint money', () => {
    const ws = aFundedWorld();
    const payout = (merchant: string) =>
      apply(ws, { type: 'payout', cardToken: BOB_TOKEN, merchant, amountMinor: 100n });
    expect(payout('m_nobody')).toMatchObject({ reason: 'merchant_unknown' });
    expect(payout('acct_alice')).toMatchObject({ reason: 'merchant_unknown' });
    expect(payout('funding-USD')).toMatchObject({ reason: 'merchant_unknown' });
    expect(balancesOf(ws).acct_bob).toBe(0n);
    expect(ws.account('m_nobody')).toBeUndefined();
  });

  it('declines a payout in another currency than the merchant account, or to a frozen card', () => {
    const ws = aFundedWorld({ merchantMinor: 1_000n });
    ws.accounts.set('m_paris', aMerchant({ id: 'm_paris', currency: 'EUR' }));
    ws.cards.set(BOB_TOKEN, bobsCard({ status: 'frozen' }));
    expect(
      apply(ws, { type: 'payout', cardToken: TEST_CARD_TOKEN, merchant: 'm_paris', amountMinor: 100n }),
    ).toMatchObject({
      reason: 'currency_mismatch',
    });
    expect(apply(ws, { type: 'payout', cardToken: BOB_TOKEN, amountMinor: 100n })).toMatchObject({
      reason: 'card_frozen',
    });
  });

  it('declines a blocked payout', () => {
    const ws = aFundedWorld({ merchantMinor: 1_000n });
    expect(apply(ws, { type: 'payout', cardToken: BOB_TOKEN, amountMinor: 100n }, block)).toMatchObject({
      reason: 'risk_blocked',
    });
  });

  it("holds a payout under review on the merchant's account, and pays it when approved", () => {
    const ws = aFundedWorld({ merchantMinor: 5_000n });
    const payout = anOrder({ type: 'payout', cardToken: BOB_TOKEN, amountMinor: 4_000n });
    expect(applyOrder(ws, payout, review, ctx)).toMatchObject({ status: 'held', rule: 'big_amount' });
    expect(ws.account('m_coffee')).toMatchObject({ balanceMinor: 5_000n, holdsMinor: 4_000n });
    expect(apply(ws, { type: 'payout', cardToken: BOB_TOKEN, amountMinor: 2_000n })).toMatchObject({
      reason: 'insufficient_funds',
    });
    expect(decideReview(ws, payout.id, 'approve', 'ops', ctx)).toMatchObject({
      status: 'approved',
      available: '40.00',
    });
    expect(ws.account('m_coffee')).toMatchObject({ balanceMinor: 1_000n, holdsMinor: 0n });
    expect(balancesOf(ws).acct_bob).toBe(4_000n);
  });

  it('releases the merchant hold of a held payout on cancel', () => {
    const ws = aFundedWorld({ merchantMinor: 5_000n });
    const payout = anOrder({ type: 'payout', cardToken: BOB_TOKEN, amountMinor: 4_000n });
    applyOrder(ws, payout, review, ctx);
    expect(apply(ws, onRef('cancel', payout.id)).status).toBe('canceled');
    expect(ws.account('m_coffee')).toMatchObject({ balanceMinor: 5_000n, holdsMinor: 0n });
  });
});

describe('cancel', () => {
  it('ends an authorization and releases its hold', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    expect(apply(ws, onRef('cancel', authId))).toMatchObject({ status: 'canceled', available: '100.00' });
    expect(ws.order(authId)).toMatchObject({ open: false, closedBy: 'cancel' });
  });

  it('gives a held order its final result `canceled`, which a republish of it then gets', () => {
    const ws = aFundedWorld();
    const held = anOrder({ amountMinor: 3_000n });
    applyOrder(ws, held, review, ctx);
    const cancel = anOrder(onRef('cancel', held.id));
    expect(applyOrder(ws, cancel, ALLOW, ctx)).toMatchObject({ status: 'canceled' });
    expect(ws.published.map((r) => [r.orderId, r.status])).toEqual([
      [held.id, 'held'],
      [held.id, 'canceled'],
      [cancel.id, 'canceled'],
    ]);
    expect(applyOrder(ws, held, ALLOW, ctx)).toMatchObject({ status: 'canceled', duplicate: true });
    expect(ws.account('acct_alice')).toMatchObject({ balanceMinor: 10_000n, holdsMinor: 0n });
    expect(decideReview(ws, held.id, 'approve', 'ops', ctx)).toEqual({ error: 'not_held' });
  });

  it('declines cancelling a final order: a payment, a captured or a canceled authorization', () => {
    const ws = aFundedWorld();
    const payment = anOrder({ amountMinor: 100n });
    applyOrder(ws, payment, ALLOW, ctx);
    const captured = authorize(ws, 100n);
    apply(ws, onRef('capture', captured));
    const canceled = authorize(ws, 100n);
    apply(ws, onRef('cancel', canceled));
    expect(apply(ws, onRef('cancel', payment.id))).toMatchObject({ reason: 'not_modifiable' });
    expect(apply(ws, onRef('cancel', captured))).toMatchObject({ reason: 'already_captured' });
    expect(apply(ws, onRef('cancel', canceled))).toMatchObject({ reason: 'authorization_closed' });
    expect(apply(ws, onRef('cancel', 'ord_nope'))).toMatchObject({ reason: 'unknown_ref' });
  });
});

describe('modify', () => {
  it('raises and lowers an authorization, its hold following', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    expect(apply(ws, onRef('modify', authId, 7_000n))).toMatchObject({
      status: 'modified',
      available: '30.00',
    });
    expect(holdsOf(ws).acct_alice).toBe(7_000n);
    expect(apply(ws, onRef('modify', authId, 1_000n))).toMatchObject({
      status: 'modified',
      available: '90.00',
    });
    expect(holdsOf(ws).acct_alice).toBe(1_000n);
    expect(ws.order(authId)).toMatchObject({
      holdMinor: 1_000n,
      order: { amountMinor: 1_000n },
      result: { status: 'authorized' },
    });
    expect(apply(ws, onRef('capture', authId, 1_001n))).toMatchObject({
      reason: 'amount_exceeds_authorization',
    });
    expect(apply(ws, onRef('capture', authId)).status).toBe('captured');
    expect(balancesOf(ws).acct_alice).toBe(9_000n);
  });

  it('re-checks funds: a raise beyond the available balance is declined and the hold stays', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    apply(ws, { amountMinor: 4_000n }); // pays, leaving 60.00 with 50.00 held
    expect(apply(ws, onRef('modify', authId, 6_001n))).toMatchObject({
      status: 'declined',
      reason: 'insufficient_funds',
    });
    expect(holdsOf(ws).acct_alice).toBe(5_000n);
    expect(apply(ws, onRef('modify', authId, 6_000n))).toMatchObject({
      status: 'modified',
      available: '0.00',
    });
  });

  it('re-checks the card: a card frozen since the authorization cannot be modified', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    ws.cards.set(TEST_CARD_TOKEN, aCard({ status: 'frozen' }));
    expect(apply(ws, onRef('modify', authId, 1_000n))).toMatchObject({ reason: 'card_frozen' });
    expect(holdsOf(ws).acct_alice).toBe(5_000n);
  });

  it('declines a modify the risk stage blocks', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    expect(apply(ws, onRef('modify', authId, 6_000n), block)).toMatchObject({
      reason: 'risk_blocked',
      rule: 'blocklist',
    });
  });

  it('changes what a held order pays once approved', () => {
    const ws = aFundedWorld();
    const held = anOrder({ amountMinor: 3_000n });
    applyOrder(ws, held, review, ctx);
    apply(ws, onRef('modify', held.id, 2_000n));
    expect(decideReview(ws, held.id, 'approve', 'ops', ctx)).toMatchObject({
      status: 'approved',
      available: '80.00',
    });
    expect(balancesOf(ws)).toMatchObject({ acct_alice: 8_000n, m_coffee: 2_000n });
  });

  it('declines modifying a final order as not_modifiable', () => {
    const ws = aFundedWorld();
    const payment = anOrder({ amountMinor: 100n });
    applyOrder(ws, payment, ALLOW, ctx);
    const captured = authorize(ws, 100n);
    apply(ws, onRef('capture', captured));
    const voided = authorize(ws, 100n);
    apply(ws, onRef('void', voided));
    for (const ref of [payment.id, captured, voided]) {
      expect(apply(ws, onRef('modify', ref, 50n))).toMatchObject({
        status: 'declined',
        reason: 'not_modifiable',
      });
    }
    expect(apply(ws, onRef('modify', 'ord_nope', 50n))).toMatchObject({ reason: 'unknown_ref' });
  });
});

/** A payment held for review (the review decision above), applied to ws. */
function heldPayment(ws: WorkingSet, amountMinor = 3_000n): Order {
  const held = anOrder({ amountMinor });
  applyOrder(ws, held, review, ctx);
  return held;
}

describe('decideReview: approve, decline, time out', () => {
  it('pays a held payment an operator approves, with who decided', () => {
    const ws = aFundedWorld();
    const held = heldPayment(ws);
    const later = aContext({ nowMs: TEST_NOW_MS + 60_000 });
    expect(decideReview(ws, held.id, 'approve', 'alice.ops', later)).toMatchObject({
      orderId: held.id,
      status: 'approved',
      transferId: `tx_${held.id}`,
      decidedBy: 'alice.ops',
      available: '70.00',
    });
    expect(ws.account('acct_alice')).toMatchObject({ balanceMinor: 7_000n, holdsMinor: 0n });
    expect(ws.order(held.id)).toMatchObject({ open: false, paidMinor: 3_000n });
    expect(apply(ws, onRef('refund', held.id)).status).toBe('refunded');
  });

  it('declines review_declined with the rule and releases the hold', () => {
    const ws = aFundedWorld();
    const held = heldPayment(ws);
    expect(decideReview(ws, held.id, 'decline', 'bob.ops', ctx)).toMatchObject({
      status: 'declined',
      reason: 'review_declined',
      rule: 'big_amount',
      decidedBy: 'bob.ops',
      available: '100.00',
    });
    expect(ws.order(held.id)).toMatchObject({ closedBy: 'review_declined', open: false });
    expect(ws.account('acct_alice')).toMatchObject({ balanceMinor: 10_000n, holdsMinor: 0n });
  });

  it('times a review out as declined by default, and as approved when configured', () => {
    const timeoutMs = ctx.options.reviewTimeoutMs;
    const ws = aFundedWorld();
    const held = heldPayment(ws);
    expect(expireHold(ws, held.id, aContext({ nowMs: TEST_NOW_MS + timeoutMs - 1 }))).toBeUndefined();
    expect(ws.order(held.id)?.open).toBe(true);
    expect(expireHold(ws, held.id, aContext({ nowMs: TEST_NOW_MS + timeoutMs }))).toMatchObject({
      status: 'declined',
      reason: 'review_timeout',
      decidedBy: 'timeout',
    });
    const approving = aFundedWorld();
    const held2 = heldPayment(approving);
    const at = aContext({ nowMs: TEST_NOW_MS + timeoutMs, options: { reviewTimeoutAction: 'approve' } });
    expect(expireHold(approving, held2.id, at)).toMatchObject({ status: 'approved', decidedBy: 'timeout' });
    expect(balancesOf(approving).m_coffee).toBe(3_000n);
  });
});

describe('decideReview: held authorizations, orders not held, lapsed reviews', () => {
  it('turns an approved held authorization into an authorization with a fresh hold time', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 3_000n, review);
    const at = aContext({ nowMs: TEST_NOW_MS + 60_000 });
    expect(decideReview(ws, authId, 'approve', 'ops', at)).toMatchObject({
      status: 'authorized',
      available: '70.00',
    });
    expect(ws.order(authId)).toMatchObject({
      open: true,
      holdMinor: 3_000n,
      holdExpiresAtMs: at.nowMs + at.options.authorizationHoldMs,
    });
    expect(holdsOf(ws).acct_alice).toBe(3_000n);
    // the review-time expiry is gone: the store drops its index entry, and a sweep at that time changes nothing
    expect(ws.staleExpiries).toEqual([{ orderId: authId, atMs: TEST_NOW_MS + ctx.options.reviewTimeoutMs }]);
    expect(
      expireHold(ws, authId, aContext({ nowMs: TEST_NOW_MS + ctx.options.reviewTimeoutMs })),
    ).toBeUndefined();
    expect(ws.order(authId)?.open).toBe(true);
    expect(apply(ws, onRef('capture', authId)).status).toBe('captured');
  });

  it('answers not_found and not_held', () => {
    const ws = aFundedWorld();
    const payment = anOrder();
    applyOrder(ws, payment, ALLOW, ctx);
    const held = heldPayment(ws);
    decideReview(ws, held.id, 'decline', 'ops', ctx);
    expect(decideReview(ws, 'ord_nope', 'approve', 'ops', ctx)).toEqual({ error: 'not_found' });
    expect(decideReview(ws, payment.id, 'approve', 'ops', ctx)).toEqual({ error: 'not_held' });
    expect(decideReview(ws, held.id, 'approve', 'ops', ctx)).toEqual({ error: 'not_held' });
  });

  it('lapses a held order past its review time before a cancel acts on it, as the sweep would', () => {
    const ws = aFundedWorld();
    const held = heldPayment(ws);
    const late = aContext({ nowMs: TEST_NOW_MS + ctx.options.reviewTimeoutMs });
    expect(applyOrder(ws, anOrder(onRef('cancel', held.id)), ALLOW, late)).toMatchObject({
      reason: 'not_modifiable',
    });
    expect(ws.order(held.id)?.result).toMatchObject({ status: 'declined', reason: 'review_timeout' });
    expect(holdsOf(ws).acct_alice).toBe(0n);
  });
});

describe('expireHold', () => {
  it('releases a due authorization without publishing a result', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    const published = ws.published.length;
    expect(
      expireHold(ws, authId, aContext({ nowMs: TEST_NOW_MS + ctx.options.authorizationHoldMs })),
    ).toBeUndefined();
    expect(ws.order(authId)).toMatchObject({ open: false, closedBy: 'expired', holdMinor: 0n });
    expect(holdsOf(ws).acct_alice).toBe(0n);
    expect(ws.published).toHaveLength(published);
  });

  it('leaves an authorization that is not due, and ignores unknown or closed orders', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 5_000n);
    expect(expireHold(ws, authId, aContext({ nowMs: TEST_NOW_MS + HOUR_MS }))).toBeUndefined();
    expect(holdsOf(ws).acct_alice).toBe(5_000n);
    expect(expireHold(ws, 'ord_nope', ctx)).toBeUndefined();
  });
});

describe('applyRejection', () => {
  it('records a rejected order so a republish gets the same answer', () => {
    const ws = aFundedWorld();
    const first = applyRejection(ws, { id: 'ord_bad_1' }, 'invalid_amount', 'amount', ctx);
    expect(first).toMatchObject({
      orderId: 'ord_bad_1',
      status: 'rejected',
      reason: 'invalid_amount',
      field: 'amount',
    });
    expect(applyRejection(ws, { id: 'ord_bad_1' }, 'invalid_amount', 'amount', ctx)).toEqual({
      ...first,
      duplicate: true,
    });
    // a corrected republish under the same id is still the rejected order
    expect(applyOrder(ws, anOrder({ id: 'ord_bad_1' }), ALLOW, ctx)).toEqual({ ...first, duplicate: true });
    expect(ws.transfers).toEqual([]);
  });
});

describe('checkpoint and rollback', () => {
  it('restores accounts, orders, transfers, published results and what is dirty', () => {
    const ws = aFundedWorld();
    const authId = authorize(ws, 1_000n);
    const cp = ws.checkpoint();
    const snapshot = {
      accounts: new Map(ws.accounts),
      orders: new Map(ws.orders),
      transfers: [...ws.transfers],
      published: [...ws.published],
      dirtyAccounts: new Set(ws.dirtyAccounts),
      dirtyOrders: new Set(ws.dirtyOrders),
    };
    apply(ws, { merchant: 'm_new', amountMinor: 2_000n });
    apply(ws, onRef('capture', authId));
    applyOrder(ws, anOrder(), review, ctx);
    expect(ws.account('m_new')).toBeDefined();
    ws.rollback(cp);
    expect(ws.accounts).toEqual(snapshot.accounts);
    expect(ws.orders).toEqual(snapshot.orders);
    expect(ws.transfers).toEqual(snapshot.transfers);
    expect(ws.published).toEqual(snapshot.published);
    expect(ws.dirtyAccounts).toEqual(snapshot.dirtyAccounts);
    expect(ws.dirtyOrders).toEqual(snapshot.dirtyOrders);
    expect(ws.account('m_new')).toBeUndefined();
    expect(apply(ws, onRef('capture', authId)).status).toBe('captured');
  });
});

describe('visitKeysNeeded', () => {
  it('names every order id, ref and card token a buffer touches', () => {
    const a = anOrder();
    const b = anOrder(onRef('capture', 'ord_auth'));
    const orderIds = new Set<string>();
    const cardTokens = new Set<string>();
    visitKeysNeeded(
      [a, b],
      (id) => orderIds.add(id),
      (token) => cardTokens.add(token),
    );
    expect({ orderIds, cardTokens }).toEqual({
      orderIds: new Set([a.id, b.id, 'ord_auth']),
      cardTokens: new Set([TEST_CARD_TOKEN]),
    });
  });
});

// ---- properties over random sequences ----

type Step =
  | {
      kind: 'order';
      type: Order['type'];
      card: number;
      merchant: number;
      amountMinor: bigint;
      ref: number;
      risk: number;
      withAmount: boolean;
    }
  | { kind: 'review'; ref: number; approve: boolean }
  | { kind: 'tick'; ms: number }
  | { kind: 'sweep'; ref: number };

const CARDS = [TEST_CARD_TOKEN, BOB_TOKEN, 'c'.repeat(64)];
const MERCHANTS = ['m_coffee', 'm_books', 'funding-USD', 'acct_bob'];
const RISKS: RiskDecision[] = [ALLOW, ALLOW, ALLOW, ALLOW, review, block];

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      type: fc.constantFrom(...ORDER_TYPES),
      card: fc.nat({ max: CARDS.length - 1 }),
      merchant: fc.nat({ max: MERCHANTS.length - 1 }),
      amountMinor: fc.bigInt({ min: 1n, max: 6_000n }),
      ref: fc.nat({ max: 40 }),
      risk: fc.nat({ max: RISKS.length - 1 }),
      withAmount: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('review' as const),
      ref: fc.nat({ max: 40 }),
      approve: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 1, max: 20 * 60_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const), ref: fc.nat({ max: 40 }) }) },
);

function aRandomWorld(): WorkingSet {
  const ws = aFundedWorld({ aliceMinor: 20_000n, bobMinor: 5_000n, merchantMinor: 8_000n });
  ws.accounts.set('m_books', aMerchant({ id: 'm_books', owner: { kind: 'merchant', name: 'm_books' } }));
  ws.accounts.set('funding-EUR', aFundingAccount('EUR'));
  return ws;
}

/** Runs the steps on a fresh world, checking the invariants after each; returns everything it published. */
function run(
  steps: Step[],
  check: (ws: WorkingSet, initial: Record<string, bigint>) => void,
): {
  ws: WorkingSet;
  published: OrderResult[];
} {
  const ws = aRandomWorld();
  const initial = balancesOf(ws);
  const ids: string[] = [];
  let nowMs = TEST_NOW_MS;
  let seq = 0;
  const at = () =>
    aContext({ nowMs, options: { reviewTimeoutMs: 15 * 60_000, authorizationHoldMs: 30 * 60_000 } });
  const pick = (i: number) => ids[i % Math.max(ids.length, 1)] ?? 'ord_none';
  for (const step of steps) {
    if (step.kind === 'tick') nowMs += step.ms;
    else if (step.kind === 'review')
      decideReview(ws, pick(step.ref), step.approve ? 'approve' : 'decline', 'prop', at());
    else if (step.kind === 'sweep') expireHold(ws, pick(step.ref), at());
    else {
      // every 7th order reuses an earlier id: a republish
      const id = seq % 7 === 6 && ids.length > 0 ? pick(step.ref) : `p_${seq}`;
      seq++;
      const onRefType = !['payment', 'authorize', 'payout'].includes(step.type);
      const order: Order = { id, type: step.type, currency: 'USD', createdAtMs: nowMs };
      if (onRefType) order.ref = step.ref % 9 === 8 ? 'ord_none' : pick(step.ref);
      else {
        order.cardToken = CARDS[step.card]!;
        order.merchant = MERCHANTS[step.merchant]!;
      }
      if (!onRefType || step.type === 'modify' || step.withAmount) order.amountMinor = step.amountMinor;
      applyOrder(ws, order, RISKS[step.risk]!, at());
      ids.push(id);
    }
    check(ws, initial);
  }
  return { ws, published: ws.published };
}

function checkInvariants(ws: WorkingSet, initial: Record<string, bigint>): void {
  expect(sumOfBalances(ws)).toBe(0n);
  const holds = new Map<string, bigint>();
  for (const r of ws.orders.values() as Iterable<OrderRecord>) {
    const holder = r.holdAccountId ?? r.accountId;
    if (r.open && holder !== undefined) holds.set(holder, (holds.get(holder) ?? 0n) + r.holdMinor);
    if (!r.open) expect(r.holdMinor).toBe(0n);
    expect(r.refundedMinor <= r.paidMinor).toBe(true);
  }
  const moved = new Map<string, bigint>();
  for (const t of ws.transfers) {
    moved.set(t.debit, (moved.get(t.debit) ?? 0n) - t.amountMinor);
    moved.set(t.credit, (moved.get(t.credit) ?? 0n) + t.amountMinor);
  }
  for (const a of ws.accounts.values()) {
    expect(a.holdsMinor).toBe(holds.get(a.id) ?? 0n);
    if (!a.overdraftAllowed) expect(available(a) >= 0n).toBe(true);
    expect(a.balanceMinor).toBe((initial[a.id] ?? 0n) + (moved.get(a.id) ?? 0n));
  }
  expect(ws.account('funding-USD')?.balanceMinor).toBe(initial['funding-USD']);
}

describe('properties', () => {
  it('draws sequences that reach every outcome (so the properties below test something)', () => {
    const seen = new Set<string>();
    for (const steps of fc.sample(fc.array(stepArb, { minLength: 40, maxLength: 60 }), {
      numRuns: 200,
      seed: 7,
    })) {
      for (const r of run(steps, () => undefined).published) seen.add(r.duplicate ? 'duplicate' : r.status);
    }
    expect([...seen].sort()).toEqual(
      [
        'approved',
        'authorized',
        'captured',
        'voided',
        'refunded',
        'canceled',
        'modified',
        'held',
        'declined',
        'duplicate',
      ].sort(),
    );
  });

  it('keeps balances summing to zero, available never below zero, holds matching open orders, after every step', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        run(steps, checkInvariants);
      }),
      { numRuns: 300 },
    );
  });

  it('gives identical results when the same sequence is applied to a fresh set', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        const a = run(steps, () => undefined);
        const b = run(steps, () => undefined);
        expect(b.published).toEqual(a.published);
        expect(b.ws.accounts).toEqual(a.ws.accounts);
        expect(b.ws.orders).toEqual(a.ws.orders);
        expect(b.ws.transfers).toEqual(a.ws.transfers);
      }),
      { numRuns: 100 },
    );
  });

  it('moves money once per order id, however often it is republished', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
        const { ws } = run(steps, () => undefined);
        const perOrder = new Map<string, number>();
        for (const t of ws.transfers) perOrder.set(t.orderId, (perOrder.get(t.orderId) ?? 0) + 1);
        for (const count of perOrder.values()) expect(count).toBe(1);
      }),
      { numRuns: 100 },
    );
  });
});
