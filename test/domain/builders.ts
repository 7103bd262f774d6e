// Test builders for orders and cards, shared by every test folder.
import { tokenizePan } from '../../src/domain/cards.ts';
import type { ValidateContext } from '../../src/domain/order.ts';
import type { CardBrand, Order } from '../../src/domain/types.ts';

/**
 * Valid test PANs per brand (public processor test numbers or built to pass Luhn), each passing checkPan with
 * that brand; the first of each list is 16 digits except amex (15) and diners (14).
 */
export const TEST_PANS: Readonly<Record<Exclude<CardBrand, 'unknown'>, readonly [string, ...string[]]>> = {
  visa: ['4111111111111111', '4012888888881881', '4222222222222', '4111111111111111110'],
  mastercard: ['5555555555554444', '5105105105105100', '2223003122003222'],
  amex: ['378282246310005', '371449635398431'],
  discover: ['6011111111111117', '6011000990139424', '6445644564456445'],
  jcb: ['3530111333300000', '3566002020360505'],
  unionpay: ['6200000000000005', '6212345678901265', '8171999927660000'],
  diners: ['36227206271667', '30569309025904'],
  maestro: ['6759649826438453', '6304000000000000', '5018000000000009', '6304000000000'],
  mir: ['2200000000000004', '2201382000000013'],
};

/** A fixed tokenization key for tests (never use it outside tests). */
export const TEST_TOKEN_KEY: Uint8Array = new TextEncoder().encode('paystream-test-token-key-32bytes');

/** The token of TEST_PANS.visa[0] under TEST_TOKEN_KEY. */
export const TEST_CARD_TOKEN: string = tokenizePan(TEST_PANS.visa[0], TEST_TOKEN_KEY);

/** 2026-11-25T10:00:00.000Z, the default createdAt of built orders and the default clock of aValidateContext. */
export const TEST_NOW_MS: number = Date.UTC(2026, 10, 25, 10, 0, 0, 0);

let orderSeq = 0;

/** The next order id of the built orders: ord_000001, ord_000002, ... (distinct within a test file). */
export function nextOrderId(): string {
  orderSeq += 1;
  return `ord_${String(orderSeq).padStart(6, '0')}`;
}

/**
 * A valid wire payment (12.50 USD with a card token). Overrides replace fields; an override of `undefined`
 * removes the field: aWireOrder({ card: undefined, pan: TEST_PANS.visa[0] }).
 */
export function aWireOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    id: nextOrderId(),
    type: 'payment',
    card: TEST_CARD_TOKEN,
    merchant: 'm_coffee',
    amount: '12.50',
    currency: 'USD',
    createdAt: new Date(TEST_NOW_MS).toISOString(),
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete wire[key];
    else wire[key] = value;
  }
  return wire;
}

/** A validated Order matching aWireOrder()'s defaults; an override of `undefined` removes the field. */
export function anOrder(overrides: Partial<Order> = {}): Order {
  const order: Order = {
    id: nextOrderId(),
    type: 'payment',
    cardToken: TEST_CARD_TOKEN,
    merchant: 'm_coffee',
    amountMinor: 1250n,
    currency: 'USD',
    createdAtMs: TEST_NOW_MS,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete order[key as keyof Order];
    else Object.assign(order, { [key]: value });
  }
  return order;
}

/** A validate context: TEST_TOKEN_KEY tokenization, clock at TEST_NOW_MS, 5 s of allowed future skew. */
export function aValidateContext(overrides: Partial<ValidateContext> = {}): ValidateContext {
  return {
    tokenizePan: (pan) => tokenizePan(pan, TEST_TOKEN_KEY),
    nowMs: TEST_NOW_MS,
    futureSkewMs: 5_000,
    ...overrides,
  };
}
