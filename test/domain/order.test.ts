import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkBatchHeader } from '../../src/domain/batch.ts';
import { decodePayload } from '../../src/domain/decode.ts';
import { containsPan, tokenizePan } from '../../src/domain/cards.ts';
import { CURRENCY_EXPONENTS } from '../../src/domain/money.ts';
import { ORDER_AGE_MAX_MS, orderToWire, parseCreatedAt, type ValidateOutcome, validateOrder } from '../../src/domain/order.ts';
import { REJECT_REASONS, type RejectReason } from '../../src/domain/reasons.ts';
import { ORDER_TYPES, type Order } from '../../src/domain/types.ts';
import {
  anOrder,
  aValidateContext,
  aWireOrder,
  TEST_CARD_TOKEN,
  TEST_NOW_MS,
  TEST_PANS,
  TEST_TOKEN_KEY,
} from './builders.ts';

const ctx = aValidateContext();
const validate = (overrides: Record<string, unknown> = {}) => validateOrder(aWireOrder(overrides), ctx);

function expectRejected(outcome: ValidateOutcome, reason: RejectReason, field: string) {
  expect(outcome).toMatchObject({ ok: false, reason, field });
  if (outcome.ok) throw new Error('expected a rejection');
  expect(outcome.message.length).toBeGreaterThan(0);
  return outcome;
}

function expectOrder(outcome: ValidateOutcome): Order {
  if (!outcome.ok)
    throw new Error(`expected an order, got ${outcome.reason} on ${outcome.field}: ${outcome.message}`);
  return outcome.order;
}

const serialize = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

/** Minimal valid wire orders per type. */
const MINIMAL: Record<(typeof ORDER_TYPES)[number], Record<string, unknown>> = {
  payment: { card: TEST_CARD_TOKEN, merchant: 'm1', amount: '1.00', currency: 'USD' },
  authorize: { card: TEST_CARD_TOKEN, merchant: 'm1', amount: '1.00', currency: 'USD' },
  payout: { card: TEST_CARD_TOKEN, merchant: 'm1', amount: '1.00', currency: 'USD' },
  capture: { ref: 'ord_a' },
  refund: { ref: 'ord_a' },
  void: { ref: 'ord_a' },
  cancel: { ref: 'ord_a' },
  modify: { ref: 'ord_a', amount: '2.00', currency: 'USD' },
};

function minimal(type: (typeof ORDER_TYPES)[number], overrides: Record<string, unknown> = {}) {
  return { id: 'ord_1', type, createdAt: '2026-11-25T10:00:00.000Z', ...MINIMAL[type], ...overrides };
}

describe('validateOrder: a valid payment', () => {
  it('becomes an Order with minor units, epoch ms and the card token', () => {
    const order = expectOrder(
      validate({ id: 'ord_1', amount: '12.50', currency: 'USD', mcc: '5814', country: 'FR' }),
    );
    expect(order).toEqual({
      id: 'ord_1',
      type: 'payment',
      cardToken: TEST_CARD_TOKEN,
      merchant: 'm_coffee',
      amountMinor: 1250n,
      currency: 'USD',
      createdAtMs: TEST_NOW_MS,
      mcc: '5814',
      country: 'FR',
    });
  });

  it('keeps only the fields present: no undefined keys', () => {
    const order = expectOrder(validate());
    expect(Object.keys(order).sort()).toEqual(
      ['amountMinor', 'cardToken', 'createdAtMs', 'currency', 'id', 'merchant', 'type'].sort(),
    );
  });

  it('ignores unknown extra fields', () => {
    const order = expectOrder(validate({ note: 'hello', metadata: { a: 1 }, amountMinor: 5 }));
    expect(order).not.toHaveProperty('note');
    expect(order).not.toHaveProperty('metadata');
    expect(order.amountMinor).toBe(1250n);
  });

  it('accepts an uppercase card token and keeps it lowercase, as tokenizePan writes it', () => {
    const order = expectOrder(validate({ card: TEST_CARD_TOKEN.toUpperCase() }));
    expect(order.cardToken).toBe(TEST_CARD_TOKEN);
  });

  it('keeps a batchId', () => {
    expect(expectOrder(validate({ batchId: 'batch-7' })).batchId).toBe('batch-7');
  });
});

describe('validateOrder: a PAN instead of a card token', () => {
  it('tokenizes the PAN through the context and keeps only the token', () => {
    const pan = TEST_PANS.mastercard[0];
    const order = expectOrder(validate({ card: undefined, pan }));
    expect(order.cardToken).toBe(tokenizePan(pan, TEST_TOKEN_KEY));
    expect(order).not.toHaveProperty('pan');
    expect(serialize(order)).not.toContain(pan);
  });

  it('hands the context the bare digits of a PAN typed with spaces', () => {
    const seen: string[] = [];
    const spying = aValidateContext({
      tokenizePan: (p) => {
        seen.push(p);
        return 'f'.repeat(64);
      },
    });
    const order = expectOrder(
      validateOrder(aWireOrder({ card: undefined, pan: '4111 1111 1111 1111' }), spying),
    );
    expect(seen).toEqual(['4111111111111111']);
    expect(order.cardToken).toBe('f'.repeat(64));
  });

  it.each(Object.entries(TEST_PANS).flatMap(([brand, pans]) => pans.map((pan) => [brand, pan])))(
    'accepts the %s test PAN %s',
    (_brand, pan) => {
      expect(validate({ card: undefined, pan }).ok).toBe(true);
    },
  );

  it.each([
    ['4111111111111112', /Luhn/],
    ['411111111111', /12 digits/],
    ['4111x11111111111', /only digits/],
    ['', /only digits/],
    ['3782822463100050', /amex PAN cannot have 16 digits/],
  ])('rejects the bad PAN %j with invalid_pan on pan, saying why without quoting it', (pan, why) => {
    const outcome = expectRejected(validate({ card: undefined, pan }), 'invalid_pan', 'pan');
    expect(outcome.message).toMatch(why);
    if (pan.length > 0) expect(outcome.message).not.toContain(pan.slice(0, 6));
  });

  it.each([4111111111111111, null, ['4111111111111111'], { n: '4111111111111111' }])(
    'rejects a pan sent as JSON %j with invalid_pan',
    (pan) => {
      expectRejected(validate({ card: undefined, pan }), 'invalid_pan', 'pan');
    },
  );

  it('rejects card and pan together with invalid_field on pan', () => {
    const outcome = expectRejected(validate({ pan: TEST_PANS.visa[0] }), 'invalid_field', 'pan');
    expect(outcome.message).toBe('send either card (a token) or pan, not both');
  });

  it('never puts a PAN into a rejection, whatever else is wrong (property)', () => {
    const pan = fc.constantFrom(...Object.values(TEST_PANS).flat());
    const breakage = fc.constantFrom<Record<string, unknown>>(
      { amount: 12.5 },
      { amount: '1.001' },
      { currency: 'XXX' },
      { merchant: 'bad merchant' },
      { createdAt: 'yesterday' },
      { createdAt: '2099-01-01T00:00:00Z' },
      { cvv: '123' },
      { card: TEST_CARD_TOKEN },
      { type: 'steal' },
      { mcc: 'abcd' },
    );
    fc.assert(
      fc.property(pan, breakage, fc.boolean(), (p, broken, spaced) => {
        const typed = spaced ? p.replace(/(\d{4})/g, '$1 ').trim() : p;
        const outcome = validate({ card: undefined, pan: typed, ...broken });
        expect(outcome.ok).toBe(false);
        expect(serialize(outcome)).not.toContain(p);
        expect(serialize(outcome)).not.toContain(p.slice(0, 8));
      }),
    );
  });
});

describe('validateOrder: CVV is forbidden', () => {
  it.each(['cvv', 'CVC', 'cvv2', 'cid', 'securityCode', 'security_code', 'card_verification'])(
    'rejects a top-level %j with cvv_forbidden naming the field',
    (key) => {
      expectRejected(validate({ [key]: '123' }), 'cvv_forbidden', key);
    },
  );

  it('rejects a CVV nested one level down and names its path', () => {
    expectRejected(validate({ card: { number: 'x', cvc: '123' } }), 'cvv_forbidden', 'card.cvc');
  });

  it('checks the CVV first, before anything else is wrong', () => {
    const outcome = validateOrder({ cvv: '123', amount: 5, pan: '4111111111111111', type: 'nope' }, ctx);
    expect(outcome).toMatchObject({ ok: false, reason: 'cvv_forbidden', field: 'cvv', orderId: '' });
    if (!outcome.ok) expect(outcome.message).not.toContain('123');
  });
});

describe('validateOrder: sensitive authentication data at any depth (issue 14)', () => {
  it.each([
    ['a CVV two levels down', { payment: { card: { cvv: '987' } } }, 'cvv_forbidden', 'payment.card.cvv'],
    ['a CVV inside an array', { items: [{ sku: 'a' }, { cvv: '987' }] }, 'cvv_forbidden', 'items[1].cvv'],
    ['a cv2 field', { cv2: '987' }, 'cvv_forbidden', 'cv2'],
    ['a securityCode field', { securityCode: '543' }, 'cvv_forbidden', 'securityCode'],
    ['a Security-Code field', { 'Security-Code': '543' }, 'cvv_forbidden', 'Security-Code'],
    ['a CVV2 field', { CVV2: '543' }, 'cvv_forbidden', 'CVV2'],
    ['a track2 field', { track2: '4111111111111111=25121010000000000' }, 'sad_forbidden', 'track2'],
    ['a trackData field', { meta: { trackData: 'x' } }, 'sad_forbidden', 'meta.trackData'],
    ['a pinBlock field', { pinBlock: '0412AC89ABCDEF67' }, 'sad_forbidden', 'pinBlock'],
    ['a pin_block field in an array', { auth: [{ pin_block: 'x' }] }, 'sad_forbidden', 'auth[0].pin_block'],
    ['track 1 data as a value', { note: '%B4111111111111111^DOE/JOHN^2512101000?' }, 'sad_forbidden', 'note'],
    ['track 2 data as a value in an array', { notes: [';4111111111111111=2512101000?'] }, 'sad_forbidden', 'notes[0]'],
    ['track 2 data in the pan field', { card: undefined, pan: ';4111111111111111=2512101000?' }, 'sad_forbidden', 'pan'],
  ] as const)('rejects %s', (_what, extra, reason, field) => {
    const outcome = expectRejected(validate({ id: 'ord_1', ...(extra as Record<string, unknown>) }), reason, field);
    expect(outcome.orderId).toBe('ord_1');
    expect(outcome.message).not.toMatch(/987|543|4111/);
  });

  it('keeps a plain order valid, and a word like cvv in a value is no field', () => {
    expectOrder(validate({ note: 'my cvv is 123', tracking: 'T-1', shipping: 'fast' }));
  });
});

describe('validateOrder: no card number in ids (issue 14)', () => {
  it.each([
    ['merchant', '4111111111111111'],
    ['merchant', 'acct-4111-1111-1111-1111'],
    ['ref', 'xx4900000000000169yy'],
    ['batchId', '4111111111111111'],
    ['amount', '4900301699929'],
    ['amount', '49003016999.29'],
    ['currency', '4111111111111111'],
  ])('rejects a %s holding a PAN (%s) with invalid_field, never quoting it', (field, value) => {
    const order = field === 'ref' ? minimal('capture', { ref: value }) : aWireOrder({ [field]: value });
    const outcome = validateOrder(order, ctx);
    const rejected = expectRejected(outcome, 'invalid_field', field);
    expect(rejected.message).toBe(`${field} must not contain a card number`);
    expect(JSON.stringify(rejected)).not.toContain(value);
  });

  it('rejects an id holding a PAN without echoing it as the order id', () => {
    const outcome = expectRejected(validate({ id: '4111111111111111' }), 'invalid_field', 'id');
    expect(outcome.orderId).toBe('');
  });

  it('accepts ids with digits that are no PAN: short runs, Luhn failures, a token-like hex', () => {
    expectOrder(validate({ id: 'ord-1764583200123-7', merchant: 'm-4111111111111112', batchId: 'b-2026-11-25' }));
  });
});

describe('validateOrder: the shape', () => {
  it.each(['id', 'type', 'createdAt'])('rejects an order without %s with invalid_field on it', (field) => {
    const outcome = expectRejected(validate({ [field]: undefined }), 'invalid_field', field);
    expect(outcome.message).toBe(`${field} is required`);
  });

  it.each([
    ['id', ''],
    ['id', 'has space'],
    ['id', 42],
    ['type', 'purchase'],
    ['type', 'PAYMENT'],
    ['type', null],
    ['card', 'abc'],
    ['card', 'g'.repeat(64)],
    ['card', 'a'.repeat(63)],
    ['card', 'a'.repeat(65)],
    ['card', 7],
    ['merchant', ''],
    ['merchant', 'm'.repeat(65)],
    ['merchant', 'café'],
    ['merchant', 'a b'],
    ['merchant', 12],
    ['currency', 840],
    ['currency', null],
    ['ref', 'a/b'],
    ['batchId', ''],
    ['batchId', 'b'.repeat(65)],
    ['mcc', '581'],
    ['mcc', '58140'],
    ['mcc', 5814],
    ['mcc', '58a4'],
    ['country', 'fr'],
    ['country', 'FRA'],
    ['country', 'F'],
    ['createdAt', '2026-11-25T10:00:00'],
    ['createdAt', '2026-11-25 10:00:00Z'],
    ['createdAt', '2026-11-25'],
    ['createdAt', '2026-11-25T10:00Z'],
    ['createdAt', '2026-11-25T10:00:00.000+0200'],
    ['createdAt', '2026-11-25t10:00:00z'],
    ['createdAt', 1764064800000],
  ])('rejects %s = %j with invalid_field on it', (field, value) => {
    const outcome = expectRejected(validate({ [field]: value }), 'invalid_field', field);
    expect(outcome.message.startsWith(field)).toBe(true);
  });

  it('reports the id as orderId, or an empty one when the id is unusable', () => {
    expect(validate({ id: 'ord_9', merchant: '' })).toMatchObject({ ok: false, orderId: 'ord_9' });
    expect(validate({ id: 42 })).toMatchObject({ ok: false, orderId: '' });
  });

  it('carries a well-formed batchId into the rejection, and leaves a malformed one out', () => {
    expect(validate({ batchId: 'b1', amount: 1 })).toMatchObject({ ok: false, batchId: 'b1' });
    const outcome = validate({ batchId: 'b 1', amount: 1 });
    expect(outcome.ok).toBe(false);
    expect(outcome).not.toHaveProperty('batchId');
    expect(validate({ amount: 1 })).not.toHaveProperty('batchId');
  });

  it('uses only reasons from the closed REJECT_REASONS list', () => {
    const samples = [
      validate({ amount: 1 }),
      validate({ cvv: 1 }),
      validate({ createdAt: '2099-01-01T00:00:00Z' }),
    ];
    for (const outcome of samples) {
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(Object.keys(REJECT_REASONS)).toContain(outcome.reason);
    }
  });
});

describe('validateOrder: required fields per type', () => {
  it.each(ORDER_TYPES)('accepts a minimal %s', (type) => {
    const order = expectOrder(validateOrder(minimal(type), ctx));
    expect(order.type).toBe(type);
    expect(orderToWire(order)).toEqual(minimal(type));
  });

  it.each(['payment', 'authorize', 'payout'] as const)('requires card or pan for a %s', (type) => {
    const outcome = expectRejected(
      validateOrder(minimal(type, { card: undefined }), ctx),
      'invalid_field',
      'card',
    );
    expect(outcome.message).toBe(`card (a token) or pan is required for ${type}`);
  });

  it.each([
    ['payment', 'merchant'],
    ['payment', 'amount'],
    ['payment', 'currency'],
    ['authorize', 'merchant'],
    ['authorize', 'amount'],
    ['payout', 'merchant'],
    ['payout', 'currency'],
    ['capture', 'ref'],
    ['refund', 'ref'],
    ['void', 'ref'],
    ['cancel', 'ref'],
    ['modify', 'ref'],
    ['modify', 'amount'],
  ] as const)('rejects a %s without %s with invalid_field on it', (type, field) => {
    const outcome = expectRejected(
      validateOrder(minimal(type, { [field]: undefined }), ctx),
      'invalid_field',
      field,
    );
    expect(outcome.message).toContain(`${field} is required`);
  });

  it('asks for the currency first when a payment has neither amount nor currency', () => {
    expectRejected(
      validateOrder(minimal('payment', { amount: undefined, currency: undefined }), ctx),
      'invalid_field',
      'currency',
    );
  });

  it.each(['capture', 'refund', 'modify'] as const)(
    'requires a currency when a %s has an amount, since the amount cannot be parsed without it',
    (type) => {
      const outcome = validateOrder(minimal(type, { amount: '5.00', currency: undefined }), ctx);
      expect(expectRejected(outcome, 'invalid_field', 'currency').message).toBe(
        'currency is required when an amount is given',
      );
    },
  );

  it('lets a capture and a refund leave the amount to the ledger', () => {
    for (const type of ['capture', 'refund'] as const) {
      const order = expectOrder(validateOrder(minimal(type), ctx));
      expect(order).not.toHaveProperty('amountMinor');
      expect(order).not.toHaveProperty('currency');
    }
  });

  it('parses a partial capture amount in its currency', () => {
    const order = expectOrder(validateOrder(minimal('capture', { amount: '3', currency: 'JPY' }), ctx));
    expect(order).toMatchObject({ amountMinor: 3n, currency: 'JPY', ref: 'ord_a' });
  });

  it('accepts a currency alone on a capture, and checks it', () => {
    expect(expectOrder(validateOrder(minimal('capture', { currency: 'EUR' }), ctx)).currency).toBe('EUR');
    expectRejected(validateOrder(minimal('void', { currency: 'ABC' }), ctx), 'unknown_currency', 'currency');
  });

  it('still checks fields a type does not need, and keeps them when valid', () => {
    expectRejected(validateOrder(minimal('void', { merchant: 'a b' }), ctx), 'invalid_field', 'merchant');
    expectRejected(validateOrder(minimal('refund', { pan: '4111111111111112' }), ctx), 'invalid_pan', 'pan');
    const order = expectOrder(validateOrder(minimal('void', { merchant: 'm1' }), ctx));
    expect(order.merchant).toBe('m1');
  });
});

describe('validateOrder: money', () => {
  it('rejects a JSON number amount with amount_not_string', () => {
    const outcome = expectRejected(validate({ amount: 12.5 }), 'amount_not_string', 'amount');
    expect(outcome.message).toContain('not a JSON number');
  });

  it.each([
    ['abc', 'invalid_amount'],
    ['', 'invalid_amount'],
    ['1e3', 'invalid_amount'],
    ['NaN', 'invalid_amount'],
    ['12.505', 'amount_too_precise'],
    ['0', 'amount_out_of_range'],
    ['-12.50', 'amount_out_of_range'],
    ['10000000000000.01', 'amount_out_of_range'],
  ] as const)('rejects amount %j with %s', (amount, reason) => {
    expectRejected(validate({ amount }), reason, 'amount');
  });

  it('accepts trailing zeros beyond the exponent', () => {
    expect(expectOrder(validate({ amount: '12.500' })).amountMinor).toBe(1250n);
  });

  it('parses with the exponent of the currency', () => {
    expect(expectOrder(validate({ amount: '1234', currency: 'JPY' })).amountMinor).toBe(1234n);
    expect(expectOrder(validate({ amount: '1.234', currency: 'KWD' })).amountMinor).toBe(1234n);
    expectRejected(validate({ amount: '12.50', currency: 'JPY' }), 'amount_too_precise', 'amount');
  });

  it.each(['XXX', 'usd', 'US', 'EURO', ''])(
    'rejects currency %j with unknown_currency on currency',
    (currency) => {
      expectRejected(validate({ currency }), 'unknown_currency', 'currency');
    },
  );

  it('names the currency before the amount when both are wrong', () => {
    expectRejected(validate({ currency: 'XXX', amount: 12.5 }), 'unknown_currency', 'currency');
  });
});

describe('validateOrder: createdAt', () => {
  it.each([
    ['2026-11-25T10:00:00.000Z', Date.UTC(2026, 10, 25, 10)],
    ['2026-11-25T10:00:00Z', Date.UTC(2026, 10, 25, 10)],
    ['2026-11-25T12:00:00.000+02:00', Date.UTC(2026, 10, 25, 10)],
    ['2026-11-25T05:30:00-04:30', Date.UTC(2026, 10, 25, 10)],
    ['2026-11-25T10:00:00.5Z', Date.UTC(2026, 10, 25, 10, 0, 0, 500)],
    ['2026-11-25T09:59:59.999999999Z', Date.UTC(2026, 10, 25, 9, 59, 59, 999)],
    ['2026-11-25T10:00:00-00:00', Date.UTC(2026, 10, 25, 10)],
    ['2028-02-29T00:00:00Z', Date.UTC(2028, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['2026-11-26T00:59:59+14:00', Date.UTC(2026, 10, 25, 10, 59, 59)],
  ])('reads %s as the right instant', (createdAt, expected) => {
    expect(parseCreatedAt(createdAt)).toBe(expected);
    const late = aValidateContext({ nowMs: expected });
    expect(expectOrder(validateOrder(aWireOrder({ createdAt }), late)).createdAtMs).toBe(expected);
  });

  it('reads years 0000-0099 literally, not as 1900s', () => {
    expect(parseCreatedAt('0050-01-01T00:00:00Z')).toBe(new Date('0050-01-01T00:00:00Z').getTime());
  });

  it.each([
    '2026-02-29T10:00:00Z',
    '2026-02-30T10:00:00Z',
    '1900-02-29T10:00:00Z',
    '2026-04-31T10:00:00Z',
    '2026-13-01T10:00:00Z',
    '2026-00-01T10:00:00Z',
    '2026-11-00T10:00:00Z',
    '2026-11-25T24:00:00Z',
    '2026-11-25T10:60:00Z',
    '2026-11-25T10:00:60Z',
    '2026-11-25T10:00:00+24:00',
    '2026-11-25T10:00:00+02:60',
  ])('rejects the impossible date-time %s with invalid_field on createdAt', (createdAt) => {
    expect(parseCreatedAt(createdAt)).toBeUndefined();
    expectRejected(validate({ createdAt }), 'invalid_field', 'createdAt');
  });

  it('accepts createdAt up to futureSkewMs ahead of the clock and rejects it 1 ms later as future_dated', () => {
    const skewed = aValidateContext({ nowMs: TEST_NOW_MS, futureSkewMs: 5_000 });
    const at = (ms: number) => validateOrder(aWireOrder({ createdAt: new Date(ms).toISOString() }), skewed);
    expect(at(TEST_NOW_MS + 5_000).ok).toBe(true);
    const outcome = expectRejected(at(TEST_NOW_MS + 5_001), 'future_dated', 'createdAt');
    expect(outcome.message).toBe('createdAt is 5001 ms ahead of the processor clock (allowed: 5000 ms)');
  });

  it('accepts createdAt up to ORDER_AGE_MAX_MS (24 h) before the clock and rejects it 1 s older as too_old', () => {
    expect(ORDER_AGE_MAX_MS).toBe(24 * 3600_000);
    const at = (ms: number) => validateOrder(aWireOrder({ createdAt: new Date(ms).toISOString() }), aValidateContext({ nowMs: TEST_NOW_MS }));
    expect(at(TEST_NOW_MS - ORDER_AGE_MAX_MS).ok).toBe(true);
    const outcome = expectRejected(at(TEST_NOW_MS - ORDER_AGE_MAX_MS - 1_000), 'too_old', 'createdAt');
    expect(outcome.message).toBe('createdAt is more than 24 h before the processor clock');
  });

  it.each(['0001-01-01T00:00:00Z', '2001-01-01T00:00:00Z'])('rejects an order dated %s as too_old', (createdAt) => {
    expectRejected(validate({ createdAt }), 'too_old', 'createdAt');
  });

  it('agrees with Date for every instant written by toISOString (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), (ms) => {
        expect(parseCreatedAt(new Date(ms).toISOString())).toBe(ms);
      }),
    );
  });
});

describe('orderToWire', () => {
  it('writes the wire form: card token, ungrouped amount, ISO createdAt', () => {
    const order = anOrder({ id: 'ord_1', amountMinor: 123456n, currency: 'USD', batchId: 'b1', mcc: '5814' });
    expect(orderToWire(order)).toEqual({
      id: 'ord_1',
      type: 'payment',
      card: TEST_CARD_TOKEN,
      merchant: 'm_coffee',
      amount: '1234.56',
      currency: 'USD',
      batchId: 'b1',
      createdAt: '2026-11-25T10:00:00.000Z',
      mcc: '5814',
    });
  });

  it('leaves out what the order does not have', () => {
    const order: Order = { id: 'v1', type: 'void', ref: 'ord_1', createdAtMs: 0 };
    expect(orderToWire(order)).toEqual({
      id: 'v1',
      type: 'void',
      ref: 'ord_1',
      createdAt: '1970-01-01T00:00:00.000Z',
    });
  });

  it('throws on an amount without a currency: a broken invariant', () => {
    expect(() => orderToWire(anOrder({ currency: undefined }))).toThrow(/without a currency/);
  });

  it('is the inverse of validateOrder for every valid order (property)', () => {
    const idArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
    const orderArb = fc.record(
      {
        id: idArb,
        type: fc.constantFrom(...ORDER_TYPES),
        cardToken: fc.stringMatching(/^[0-9a-f]{64}$/),
        merchant: idArb,
        amountMinor: fc.bigInt({ min: 1n, max: 10n ** 15n }),
        currency: fc.constantFrom(...Object.keys(CURRENCY_EXPONENTS)),
        ref: idArb,
        batchId: idArb,
        createdAtMs: fc.integer({ min: TEST_NOW_MS - ORDER_AGE_MAX_MS, max: TEST_NOW_MS }),
        mcc: fc.stringMatching(/^[0-9]{4}$/),
        country: fc.stringMatching(/^[A-Z]{2}$/),
      },
      {
        requiredKeys: [
          'id',
          'type',
          'createdAtMs',
          'cardToken',
          'merchant',
          'amountMinor',
          'currency',
          'ref',
        ],
      },
    );
    fc.assert(
      fc.property(orderArb, (order) => {
        const wire = orderToWire(order);
        // an id or amount holding a card number is not a valid order (issue 14): rejected, see above
        fc.pre(!['id', 'merchant', 'ref', 'batchId', 'amount'].some((f) => typeof wire[f] === 'string' && containsPan(wire[f] as string)));
        expect(validateOrder(wire, ctx)).toEqual({ ok: true, order });
      }),
    );
  });
});


describe('checkBatchHeader: no card number in a batch id, its subject or its control sum (issue 14)', () => {
  const header = { id: 'payroll-1', count: 2, controlSum: '3.00', currency: 'USD', mode: 'atomic' };
  it('accepts a plain header', () => {
    expect(checkBatchHeader(header, 'payroll-1', 100).ok).toBe(true);
  });

  it.each([
    ['a PAN as the id and subject id', { ...header, id: TEST_PANS.visa[0] }, TEST_PANS.visa[0], 'id must not contain a card number'],
    ['a PAN in the subject only', header, `x${TEST_PANS.visa[0]}`, 'id must not contain a card number'],
    ['a PAN as the control sum', { ...header, controlSum: '4900301699929' }, 'payroll-1', 'controlSum must not contain a card number'],
  ])('refuses %s as invalid_batch, never quoting it', (_what, raw, subjectId, message) => {
    const check = checkBatchHeader(raw, subjectId, 100);
    expect(check).toMatchObject({ ok: false, reason: 'invalid_batch', message });
    expect(JSON.stringify(check)).not.toMatch(/4111111111111111|4900301699929/);
  });

  it.each([
    [{ ...header, cvv: '987' }, 'cvv_forbidden', 'cvv'],
    [{ ...header, meta: [{ 'Security-Code': '543' }] }, 'cvv_forbidden', 'meta[0].Security-Code'],
    [{ ...header, pinBlock: '0412AC89ABCDEF67' }, 'sad_forbidden', 'pinBlock'],
  ])('refuses sensitive authentication data in a header, at any depth: %j', (raw, reason, path) => {
    const check = checkBatchHeader(raw, 'payroll-1', 100);
    expect(check).toMatchObject({ ok: false, reason, id: 'payroll-1' });
    if (!check.ok) expect(check.message.startsWith(`${path}:`)).toBe(true);
    expect(JSON.stringify(check)).not.toMatch(/987|543|0412/);
  });
});

describe('decodePayload: an id holding a card number is no usable id (issue 14)', () => {
  it.each([TEST_PANS.visa[0], `o${TEST_PANS.visa[0]}`, '4111-1111-1111-1111', 'x_5555_5555_5555_4444'])('dead-letters id %j as no_id, never quoting it', (id) => {
    const outcome = decodePayload(new TextEncoder().encode(JSON.stringify({ id, type: 'payment' })), { payloadBytesMax: 8192 });
    expect(outcome).toEqual({ ok: false, reason: 'no_id', detail: 'id must not contain a card number' });
  });

  it('keeps ids with digits that are no card number', () => {
    for (const id of ['ord-1764583200123', 'o-42', TEST_CARD_TOKEN.slice(0, 64)]) {
      expect(decodePayload(new TextEncoder().encode(JSON.stringify({ id })), { payloadBytesMax: 8192 })).toMatchObject({ ok: true, id });
    }
  });
});
