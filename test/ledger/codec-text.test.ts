// The records every order writes are written by hand into one buffer (codec.ts TextWriter), not by
// JSON.stringify: the text must be the same, character for character, for any record, and JSON.stringify's
// own answer (or its error) wherever the writer gives up.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OrderRecord } from '../../src/domain/apply.ts';
import type { Order, OrderResult, Transfer } from '../../src/domain/types.ts';
import { type TransferLinks, encodeHold, encodeOrderRecord, encodeTransfer, orderRecordValue, transferValue } from '../../src/ledger/codec.ts';

// ---- the encoders as they were before the writer: the reference ----

const nonZero = (minor: bigint): string | undefined => (minor === 0n ? undefined : minor.toString());

function referenceOrder(o: Order): Record<string, unknown> {
  return {
    id: o.id,
    type: o.type,
    cardToken: o.cardToken,
    merchant: o.merchant,
    amountMinor: o.amountMinor?.toString(),
    currency: o.currency,
    ref: o.ref,
    batchId: o.batchId,
    createdAtMs: o.createdAtMs,
    mcc: o.mcc,
    country: o.country,
    fingerprint: o.fingerprint,
  };
}

function referenceResult(result: OrderResult, orderId: string): Record<string, unknown> {
  if (result.orderId !== orderId) return result as unknown as Record<string, unknown>;
  const { orderId: _same, ...rest } = result;
  return rest;
}

const referenceRecord = (r: OrderRecord): string =>
  JSON.stringify({
    order: referenceOrder(r.order),
    result: referenceResult(r.result, r.order.id),
    accountId: r.accountId,
    holdAccountId: r.holdAccountId,
    holdMinor: nonZero(r.holdMinor),
    open: r.open ? true : undefined,
    closedBy: r.closedBy,
    paidMinor: nonZero(r.paidMinor),
    refundedMinor: nonZero(r.refundedMinor),
    capturedMinor: nonZero(r.capturedMinor),
    holdExpiresAtMs: r.holdExpiresAtMs,
    reviewRule: r.reviewRule,
  });

const referenceTransfer = (t: Transfer, links: TransferLinks = {}): string =>
  JSON.stringify({
    id: t.id,
    debit: t.debit,
    credit: t.credit,
    amountMinor: t.amountMinor.toString(),
    currency: t.currency,
    kind: t.kind,
    orderId: t.orderId,
    atMs: t.atMs,
    prevDebit: links.prevDebit,
    prevCredit: links.prevCredit,
  });

const referenceHold = (accountId: string, amountMinor: bigint, expiresAtMs: number, status: string): string =>
  JSON.stringify({ accountId, amountMinor: amountMinor.toString(), expiresAtMs, status });

/** The text a batch value stands for: bytes are UTF-8, read before the next encode. */
const asText = (value: Uint8Array | string): string => (typeof value === 'string' ? value : new TextDecoder().decode(value));

/** Both give the same text, or both throw the same error. */
function same(actual: () => string, reference: () => string): void {
  let expected: string | Error;
  try {
    expected = reference();
  } catch (error) {
    expected = error as Error;
  }
  if (expected instanceof Error) expect(actual).toThrow(expected.message);
  else expect(actual()).toBe(expected);
}

// ---- values: the plain ones the hot path meets, and everything JSON escapes or a byte cannot hold ----

const plain = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 70 });
const awkward = fc.string({
  unit: fc.constantFrom('a', '"', '\\', '\u0000', '\u001f', '\u007f', '\u0080', 'é', '\u00ff', '\u0100', '€', '😀', '\ud800', '\udfff', '/', '\n'),
  maxLength: 12,
});
const text = fc.oneof({ weight: 4, arbitrary: plain }, { weight: 1, arbitrary: awkward }, { weight: 1, arbitrary: fc.string({ unit: 'binary' }) });
const optionalText = fc.option(text, { nil: undefined });
const number = fc.oneof(
  fc.integer({ min: 0, max: 2_000_000_000_000 }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), Number.MAX_VALUE, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.double(),
);
const minor = fc.oneof(fc.bigInt({ min: -(10n ** 6n), max: 10n ** 12n }), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.constantFrom(0n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n)));
/** what a field typed as an amount may hold when something upstream is wrong */
const notAmount = fc.constantFrom<unknown>(undefined, null, 0, 5, '7', 1.5);

const order = fc.record(
  {
    id: text,
    type: fc.constantFrom('payment', 'authorize', 'capture', 'refund', 'payout'),
    cardToken: optionalText,
    merchant: optionalText,
    amountMinor: fc.oneof({ weight: 5, arbitrary: minor }, { weight: 1, arbitrary: notAmount }),
    currency: optionalText,
    ref: optionalText,
    batchId: optionalText,
    createdAtMs: number,
    mcc: optionalText,
    country: optionalText,
    fingerprint: optionalText,
    panTokens: fc.option(fc.array(plain, { maxLength: 2 }), { nil: undefined }),
  },
  { requiredKeys: ['id', 'type', 'createdAtMs'] },
) as fc.Arbitrary<Order>;

/** a result's members in any order, with values of any JSON kind (and some JSON leaves out or refuses) */
const resultMembers = fc.uniqueArray(
  fc.tuple(
    fc.oneof(fc.constantFrom('status', 'reason', 'field', 'rule', 'transferId', 'available', 'processedAt', 'latencyMs', 'duplicate', '1', '0'), text),
    fc.oneof(text, number, fc.boolean(), fc.constantFrom<unknown>(undefined, null, { nested: 1 }, [1, 'a'])),
  ),
  { selector: ([name]) => name, maxLength: 8 },
);

const record = fc
  .tuple(order, resultMembers, fc.boolean(), fc.boolean(), minor, minor, minor, minor, fc.option(number, { nil: undefined }))
  .chain(([o, members, sameId, open, hold, paid, refunded, captured, expires]) =>
    fc.record({ accountId: optionalText, holdAccountId: optionalText, reviewRule: optionalText, closedBy: optionalText, late: fc.boolean() }).map((more) => {
      const result: Record<string, unknown> = { orderId: sameId ? o.id : `${o.id}x` };
      for (const [name, value] of members) result[name] = value;
      // orderId somewhere other than first: its place is kept when it is written
      if (more.late) {
        const { orderId, ...rest } = result;
        Object.assign(result, rest);
        delete result.orderId;
        result.orderId = orderId;
      }
      const r = {
        order: o,
        result: result as unknown as OrderResult,
        accountId: more.accountId,
        holdAccountId: more.holdAccountId,
        holdMinor: hold,
        open,
        closedBy: more.closedBy,
        paidMinor: paid,
        refundedMinor: refunded,
        capturedMinor: captured,
        holdExpiresAtMs: expires,
        reviewRule: more.reviewRule,
      };
      return r as OrderRecord;
    }),
  );

describe('order records written by hand', () => {
  it('are JSON.stringify of the stored form, character for character, for any record', () => {
    fc.assert(
      fc.property(record, (r) => {
        same(() => encodeOrderRecord(r), () => referenceRecord(r));
        same(() => asText(orderRecordValue(r)), () => referenceRecord(r));
      }),
      { numRuns: 3000 },
    );
  });

  it('give the same text as JSON.stringify for the records of the usual orders', () => {
    const base: OrderRecord = {
      order: { id: 'lg1k2-000042', type: 'payment', cardToken: 'f'.repeat(64), merchant: 'm_0042', amountMinor: 1234n, currency: 'EUR', createdAtMs: 1_796_116_000_000, mcc: '5411', country: 'DE', fingerprint: 'ab'.repeat(16) },
      result: { orderId: 'lg1k2-000042', status: 'approved', transferId: 'tx_lg1k2-000042', available: '987.66', processedAt: '2026-12-01T09:00:00.123Z', latencyMs: 12 },
      accountId: 'acct_c_42',
      holdMinor: 0n,
      open: false,
      paidMinor: 1234n,
      refundedMinor: 0n,
      capturedMinor: 0n,
    };
    const held: OrderRecord = { ...base, result: { orderId: base.order.id, status: 'held', reason: 'blocklist_bin', rule: 'big_amount', processedAt: base.result.processedAt, latencyMs: 0 }, open: true, holdMinor: 1234n, paidMinor: 0n, holdExpiresAtMs: 1_796_116_900_000, reviewRule: 'big_amount' };
    const duplicate: OrderRecord = { ...base, result: { ...base.result, duplicate: true } };
    const refund: OrderRecord = { ...base, order: { id: 'r-1', type: 'refund', ref: base.order.id, amountMinor: 34n, createdAtMs: 1_796_116_000_500 }, result: { orderId: 'other', status: 'refunded', processedAt: base.result.processedAt, latencyMs: 3 } };
    const voided: OrderRecord = { ...held, open: false, closedBy: 'void', capturedMinor: 5n, refundedMinor: -1n };
    for (const r of [base, held, duplicate, refund, voided]) expect(encodeOrderRecord(r)).toBe(referenceRecord(r));
  });

  it('go the general way for what they do not write themselves: escapes, wide characters, odd numbers, other kinds', () => {
    const r: OrderRecord = {
      order: { id: 'o', type: 'payment', createdAtMs: 1 },
      result: { orderId: 'o', status: 'approved', processedAt: 't', latencyMs: 1 },
      holdMinor: 0n,
      open: false,
      paidMinor: 0n,
      refundedMinor: 0n,
      capturedMinor: 0n,
    };
    const variants: OrderRecord[] = [
      { ...r, order: { ...r.order, merchant: 'Caf\u00e9 "Le Bon"' } },
      { ...r, order: { ...r.order, merchant: 'back\\slash\n' } },
      { ...r, order: { ...r.order, merchant: 'caf\u00e9 \u00ff' } },
      { ...r, order: { ...r.order, merchant: '\u20ac \ud83d\ude00 \ud800' } },
      { ...r, order: { ...r.order, createdAtMs: Number.NaN } },
      { ...r, order: { ...r.order, createdAtMs: 1.25e-7 } },
      { ...r, holdExpiresAtMs: 2 ** 60 },
      { ...r, order: { ...r.order, amountMinor: 10n ** 40n } },
      { ...r, result: { ...r.result, extra: { nested: [1, 'two', null] } } as OrderResult },
      { ...r, result: { ...r.result, extra: null } as unknown as OrderResult },
      { ...r, merchant: 'x'.repeat(20_000) } as OrderRecord,
      { ...r, order: { ...r.order, id: 'x'.repeat(20_000) } },
    ];
    for (const v of variants) expect(encodeOrderRecord(v)).toBe(referenceRecord(v));
    for (const v of variants) expect(asText(orderRecordValue(v))).toBe(referenceRecord(v));
  });

  it('are lent to a batch as UTF-8 bytes when ASCII, and as the text when a character is wider', () => {
    const r: OrderRecord = { order: { id: 'o', type: 'payment', merchant: 'plain', createdAtMs: 1 }, result: { orderId: 'o', status: 'approved', processedAt: 't', latencyMs: 1 }, holdMinor: 0n, open: false, paidMinor: 0n, refundedMinor: 0n, capturedMinor: 0n };
    const ascii = orderRecordValue(r);
    expect(ascii).toBeInstanceOf(Uint8Array);
    expect(asText(ascii)).toBe(referenceRecord(r));
    const wide = { ...r, order: { ...r.order, merchant: 'caf\u00e9' } };
    expect(orderRecordValue(wide)).toBe(referenceRecord(wide));
  });

  it('throw what JSON.stringify of the stored form throws', () => {
    const r = { order: { id: 'o', type: 'payment', createdAtMs: 1 }, result: { orderId: 'o', status: 'approved', big: 1n }, holdMinor: 0n, open: false, paidMinor: 0n, refundedMinor: 0n, capturedMinor: 0n };
    same(() => encodeOrderRecord(r as unknown as OrderRecord), () => referenceRecord(r as unknown as OrderRecord));
    const noHold = { ...r, result: { orderId: 'o', status: 'approved' }, holdMinor: undefined };
    same(() => encodeOrderRecord(noHold as unknown as OrderRecord), () => referenceRecord(noHold as unknown as OrderRecord));
  });

  it('each start afresh after one the writer gave up on', () => {
    const r: OrderRecord = { order: { id: 'o"1', type: 'payment', createdAtMs: 1 }, result: { orderId: 'o"1', status: 'approved', processedAt: 't', latencyMs: 1 }, holdMinor: 0n, open: false, paidMinor: 0n, refundedMinor: 0n, capturedMinor: 0n };
    const next: OrderRecord = { ...r, order: { ...r.order, id: 'o2' }, result: { ...r.result, orderId: 'o2' } };
    expect(encodeOrderRecord(r)).toBe(referenceRecord(r));
    expect(encodeOrderRecord(next)).toBe(referenceRecord(next));
  });
});

describe('transfers and holds written by hand', () => {
  const transfer = fc.record({
    id: text,
    debit: text,
    credit: text,
    amountMinor: fc.oneof({ weight: 5, arbitrary: minor }, { weight: 1, arbitrary: notAmount }),
    currency: text,
    kind: fc.constantFrom('payment', 'refund', 'payout', 'capture', 'deposit'),
    orderId: optionalText,
    atMs: number,
  }) as fc.Arbitrary<Transfer>;
  const links = fc.record({ prevDebit: optionalText, prevCredit: optionalText }, { requiredKeys: [] }) as fc.Arbitrary<TransferLinks>;

  it('are JSON.stringify of the stored form, with or without links', () => {
    fc.assert(
      fc.property(transfer, fc.option(links, { nil: undefined }), (t, l) => {
        same(() => encodeTransfer(t, l), () => referenceTransfer(t, l));
        same(() => asText(transferValue(t, l ?? {})), () => referenceTransfer(t, l));
      }),
      { numRuns: 3000 },
    );
  });

  it('hold records too', () => {
    fc.assert(
      fc.property(text, minor, number, text, (account, amount, expires, status) =>
        same(() => encodeHold(account, amount, expires, status), () => referenceHold(account, amount, expires, status)),
      ),
      { numRuns: 2000 },
    );
  });
});
