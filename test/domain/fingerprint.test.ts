// Order fingerprints: keyed, stable across spellings of the same order, different on any field that matters.
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalOrder, orderFingerprint, payloadFingerprint, samePayload } from '../../src/domain/fingerprint.ts';
import { validateOrder } from '../../src/domain/order.ts';
import { ORDER_TYPES, type Order } from '../../src/domain/types.ts';
import { TEST_CARD_TOKEN, TEST_PANS, TEST_TOKEN_KEY, aValidateContext, aWireOrder, anOrder } from './builders.ts';

const KEY = TEST_TOKEN_KEY;
const encoder = new TextEncoder();

function validated(wire: Record<string, unknown>): Order {
  const outcome = validateOrder(wire, aValidateContext());
  if (!outcome.ok) throw new Error(`test order invalid: ${outcome.reason} ${outcome.field}`);
  return outcome.order;
}

const fp = (wire: Record<string, unknown>): string => orderFingerprint(validated(wire), KEY);

describe('orderFingerprint', () => {
  it('is the same for the same order however it is spelled on the wire', () => {
    const wire = aWireOrder({ id: 'o-1', mcc: '5411', country: 'DE', ref: undefined });
    const reordered = Object.fromEntries(Object.entries(wire).reverse());
    expect(fp(reordered)).toBe(fp(wire));
    // the PAN inline or as its token
    expect(fp({ ...wire, card: undefined, pan: TEST_PANS.visa[0] })).toBe(fp(wire));
    // the same amount with a different number of decimals, the same instant in another offset
    expect(fp({ ...wire, amount: '12.5' })).toBe(fp(wire));
    expect(fp({ ...wire, createdAt: '2026-11-25T11:00:00.000+01:00' })).toBe(fp(wire));
    // an upper-case token is the same token
    expect(fp({ ...wire, card: TEST_CARD_TOKEN.toUpperCase() })).toBe(fp(wire));
    // unknown extra fields are not part of the order
    expect(fp({ ...wire, note: 'hello' })).toBe(fp(wire));
  });

  it('differs when any field that decides what the order does differs', () => {
    const base = anOrder({ id: 'o-1', ref: 'r-1', batchId: 'b-1', mcc: '5411', country: 'DE' });
    const variants: Partial<Order>[] = [
      { type: 'authorize' },
      { cardToken: 'ab'.repeat(32) },
      { cardToken: undefined },
      { merchant: 'm_other' },
      { merchant: undefined },
      { amountMinor: 1251n },
      { amountMinor: undefined },
      { currency: 'EUR' },
      { ref: 'r-2' },
      { ref: undefined },
      { batchId: 'b-2' },
      { batchId: undefined },
      { createdAtMs: base.createdAtMs + 1 },
      { mcc: '5412' },
      { mcc: undefined },
      { country: 'FR' },
      { country: undefined },
    ];
    const seen = new Set([orderFingerprint(base, KEY)]);
    for (const change of variants) {
      const changed = { ...base };
      for (const [k, v] of Object.entries(change)) {
        if (v === undefined) delete changed[k as keyof Order];
        else Object.assign(changed, { [k]: v });
      }
      seen.add(orderFingerprint(changed, KEY));
    }
    expect(seen.size).toBe(variants.length + 1);
  });

  it('does not depend on the id (that is what fingerprints are compared under), nor on a fingerprint already set', () => {
    const order = anOrder({ id: 'o-1' });
    expect(orderFingerprint({ ...order, id: 'o-2' }, KEY)).toBe(orderFingerprint(order, KEY));
    expect(orderFingerprint({ ...order, fingerprint: 'x' }, KEY)).toBe(orderFingerprint(order, KEY));
  });

  it('is keyed: another key gives another fingerprint, and no unkeyed hash of the order or its card is it', () => {
    const order = validated(aWireOrder({ card: undefined, pan: TEST_PANS.visa[0] }));
    const fingerprint = orderFingerprint(order, KEY);
    expect(orderFingerprint(order, encoder.encode('another-key-another-key-32-bytes'))).not.toBe(fingerprint);
    expect(fingerprint).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const unkeyed = [canonicalOrder(order), TEST_PANS.visa[0], order.cardToken!].flatMap((text) =>
      ['sha256', 'sha1', 'md5'].map((alg) => createHash(alg).update(text).digest()),
    );
    for (const hash of unkeyed) {
      expect(hash.toString('hex')).not.toContain(Buffer.from(fingerprint, 'base64url').toString('hex'));
    }
    expect(fingerprint).not.toContain(TEST_PANS.visa[0]);
  });
});

// Known answers, computed once outside this code base: the first 16 bytes of
//   printf 'paystream order fingerprint v1\n%s' CANONICAL | openssl dgst -sha256 -mac HMAC \
//     -macopt key:paystream-test-token-key-32bytes -binary
// as base64url (TEST_TOKEN_KEY is those 32 ASCII bytes). Fingerprints are stored with every order: one that
// changes turns each redelivery of an order written before into an id conflict.
describe('orderFingerprint and payloadFingerprint, known answers', () => {
  const token = 'ab'.repeat(32);
  const createdAtMs = 1_795_600_800_000; // 2026-11-25T10:00:00Z

  it('canonicalizes every field that matters, in a fixed order, and digests it under the order label', () => {
    const capture = anOrder({
      id: 'o-1',
      type: 'capture',
      cardToken: token,
      merchant: 'm_coffee',
      amountMinor: 1250n,
      currency: 'USD',
      ref: 'a-1',
      createdAtMs,
      mcc: '5411',
      country: 'DE',
    });
    expect(canonicalOrder(capture)).toBe(
      `["capture","${token}","m_coffee","1250","USD","a-1",null,1795600800000,"5411","DE"]`,
    );
    expect(orderFingerprint(capture, KEY)).toBe('-58SL5A5tTzFOrdCKOLEXw');
    const payout = anOrder({
      type: 'payout',
      cardToken: token,
      merchant: 'm_acme',
      amountMinor: 250_000n,
      currency: 'JPY',
      batchId: 'b-7',
      createdAtMs,
    });
    expect(canonicalOrder(payout)).toBe(`["payout","${token}","m_acme","250000","JPY",null,"b-7",1795600800000,null,null]`);
    expect(orderFingerprint(payout, KEY)).toBe('l8C3jWIKoUV9BI4IDMyqPA');
  });

  it('digests a rejected payload as its bytes, under the payload label', () => {
    expect(payloadFingerprint(encoder.encode('{"id":"o-1","amount":"bad"}'), KEY)).toBe('l3PRj47XzCvNOVxgNEvsvA');
  });
});

// orderFingerprint writes the canonical form's bytes itself for plain orders: it must digest exactly what
// canonicalOrder spells, and fall back to it for whatever that writer declines.
describe('orderFingerprint is the HMAC of canonicalOrder, whatever the fields hold', () => {
  const byDefinition = (order: Order): string =>
    createHmac('sha256', KEY)
      .update('paystream order fingerprint v1\n')
      .update(canonicalOrder(order))
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  const text = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: fc.constantFrom('a', '"', '\\', '\u0000', '\u001f', '\u007f', 'é', '😀', '\ud800', '/'), maxLength: 10 }),
  );
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const order = fc.record({
    id: fc.constant('o-1'),
    type: fc.oneof(fc.constantFrom(...ORDER_TYPES), text) as fc.Arbitrary<Order['type']>,
    cardToken: optional(fc.oneof(fc.constant(TEST_CARD_TOKEN), text)),
    merchant: optional(text),
    amountMinor: optional(
      fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.bigInt(), fc.constantFrom(0n, 2n ** 53n - 1n, 2n ** 53n, -1n, 10n ** 30n)),
    ),
    currency: optional(text),
    ref: optional(text),
    batchId: optional(text),
    createdAtMs: fc.oneof(
      fc.integer({ min: 0, max: 4_102_444_800_000 }),
      fc.double(),
      fc.constantFrom(0, -0, -1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, -Number.MAX_SAFE_INTEGER, 1e21, Number.NaN, Number.POSITIVE_INFINITY),
    ),
    mcc: optional(text),
    country: optional(text),
  });

  it('for any order (property)', () => {
    fc.assert(
      fc.property(order, (o) => {
        expect(orderFingerprint(o, KEY)).toBe(byDefinition(o));
      }),
      { numRuns: 500 },
    );
  });

  it('for fields too long to write into the hash buffer', () => {
    const long = anOrder({ merchant: 'm'.repeat(20_000) });
    expect(orderFingerprint(long, KEY)).toBe(byDefinition(long));
    const nearLimit = anOrder({ merchant: 'm'.repeat(16 * 1024 - 200) });
    expect(orderFingerprint(nearLimit, KEY)).toBe(byDefinition(nearLimit));
  });

  it('for amounts and times at the edges of the digit writer', () => {
    const amounts = [0n, 9n, 10n, 99n, 100n, 10n ** 15n, 2n ** 53n - 1n, 2n ** 53n];
    const times = [0, -0, 9, 10, -1, -10, 1_795_600_800_000, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    for (const amountMinor of amounts) {
      for (const createdAtMs of times) {
        const o = anOrder({ amountMinor, createdAtMs });
        expect(orderFingerprint(o, KEY), `${amountMinor} ${createdAtMs}`).toBe(byDefinition(o));
      }
    }
  });

  it('for fields a runtime caller set to null or to another type', () => {
    const odd = [{ merchant: null }, { amountMinor: 1250 }, { mcc: 5411 }, { createdAtMs: '1' }] as unknown as Partial<Order>[];
    for (const change of odd) {
      const o = { ...anOrder(), ...change } as Order;
      expect(orderFingerprint(o, KEY)).toBe(byDefinition(o));
    }
  });
});

describe('payloadFingerprint', () => {
  it('matches the same bytes, differs on any other bytes, and never equals an order fingerprint', () => {
    const wire = aWireOrder({ id: 'o-1', amount: 'bad' });
    const bytes = encoder.encode(JSON.stringify(wire));
    expect(payloadFingerprint(bytes, KEY)).toBe(payloadFingerprint(encoder.encode(JSON.stringify(wire)), KEY));
    expect(payloadFingerprint(encoder.encode(JSON.stringify({ ...wire, amount: 'worse' })), KEY)).not.toBe(payloadFingerprint(bytes, KEY));
    const valid = aWireOrder({ id: 'o-1' });
    expect(payloadFingerprint(encoder.encode(JSON.stringify(valid)), KEY)).not.toBe(fp(valid));
    expect(payloadFingerprint(encoder.encode(canonicalOrder(validated(valid))), KEY)).not.toBe(fp(valid));
  });
});

describe('samePayload', () => {
  it('says unknown when either side has none (records from before fingerprints answer as duplicates)', () => {
    expect(samePayload(undefined, 'a')).toBe('unknown');
    expect(samePayload('a', undefined)).toBe('unknown');
    expect(samePayload('a', 'a')).toBe('same');
    expect(samePayload('a', 'b')).toBe('different');
  });
});
