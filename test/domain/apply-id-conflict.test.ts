// Id conflicts: a second message under a known id is a duplicate only when its payload is the same.
import { describe, expect, it } from 'vitest';
import { type BatchHeader, applyBatch, rejectBatch } from '../../src/domain/batch.ts';
import { orderFingerprint, payloadFingerprint } from '../../src/domain/fingerprint.ts';
import { applyOrder, applyRejection, isIdConflict } from '../../src/domain/apply.ts';
import type { Order } from '../../src/domain/types.ts';
import { decodeOrderRecord, encodeOrderRecord } from '../../src/ledger/codec.ts';
import { aContext, aFundedWorld, balancesOf } from '../ledger/builders.ts';
import { TEST_NOW_MS, TEST_TOKEN_KEY, anOrder } from './builders.ts';
import { ALLOW } from '../../src/domain/risk/decision.ts';

const ctx = aContext();
const later = aContext({ nowMs: TEST_NOW_MS + 5_000 });
const withFingerprint = (order: Order): Order => ({ ...order, fingerprint: orderFingerprint(order, TEST_TOKEN_KEY) });
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('id conflicts', () => {
  it('answers a redelivery (same fingerprint) with the first result marked duplicate', () => {
    const ws = aFundedWorld();
    const order = withFingerprint(anOrder({ id: 'o-1' }));
    const first = applyOrder(ws, order, ALLOW, ctx);
    const again = applyOrder(ws, withFingerprint(anOrder({ id: 'o-1' })), ALLOW, later);
    expect(again).toEqual({ ...first, duplicate: true });
    expect(ws.transfers).toHaveLength(1);
  });

  it('rejects the same id with a different payload as id_conflict: not applied, not stored, not the first result', () => {
    const ws = aFundedWorld();
    const first = applyOrder(ws, withFingerprint(anOrder({ id: 'o-1' })), ALLOW, ctx);
    const before = balancesOf(ws);
    const other = withFingerprint(anOrder({ id: 'o-1', amountMinor: 9_999n }));
    const conflict = applyOrder(ws, other, ALLOW, later);
    expect(conflict).toEqual({
      orderId: 'o-1',
      status: 'rejected',
      reason: 'id_conflict',
      field: 'id',
      processedAt: new Date(later.nowMs).toISOString(),
      latencyMs: 0,
    });
    expect(isIdConflict(conflict)).toBe(true);
    expect(conflict.transferId).toBeUndefined();
    expect(balancesOf(ws)).toEqual(before);
    expect(ws.transfers).toHaveLength(1);
    // the id's record is still the first order's: a redelivery of the first is still its duplicate
    expect(ws.order('o-1')!.result).toEqual(first);
    expect(applyOrder(ws, withFingerprint(anOrder({ id: 'o-1' })), ALLOW, later)).toEqual({ ...first, duplicate: true });
    expect(ws.published).toEqual([first, conflict, { ...first, duplicate: true }]);
  });
});

describe('id conflicts after other order types, rejections and records without fingerprints', () => {
  it('gives the victim-1 payment id_conflict after an attacker void under its id, not declined unknown_ref duplicate', () => {
    const ws = aFundedWorld();
    const voidFirst = applyOrder(
      ws,
      withFingerprint({ id: 'victim-1', type: 'void', ref: 'nothing', createdAtMs: TEST_NOW_MS }),
      ALLOW,
      ctx,
    );
    expect(voidFirst).toMatchObject({ status: 'declined', reason: 'unknown_ref' });
    const payment = applyOrder(ws, withFingerprint(anOrder({ id: 'victim-1' })), ALLOW, later);
    expect(payment).toMatchObject({ orderId: 'victim-1', status: 'rejected', reason: 'id_conflict' });
    expect(payment.duplicate).toBeUndefined();
    expect(ws.transfers).toEqual([]);
  });

  it('gives a payment id_conflict after a rejected payload under its id, and a rejected republish its duplicate', () => {
    const ws = aFundedWorld();
    const junk = bytes({ id: 'victim-1', type: 'payment', amount: 'bad' });
    const rejected = applyRejection(ws, { id: 'victim-1', fingerprint: payloadFingerprint(junk, TEST_TOKEN_KEY) }, 'invalid_amount', 'amount', ctx);
    expect(rejected).toMatchObject({ status: 'rejected', reason: 'invalid_amount' });
    // the same bytes again (a redelivery): the first answer, duplicate
    expect(applyRejection(ws, { id: 'victim-1', fingerprint: payloadFingerprint(junk, TEST_TOKEN_KEY) }, 'invalid_amount', 'amount', later)).toEqual({
      ...rejected,
      duplicate: true,
    });
    // other invalid bytes under the id: a conflict too
    const otherJunk = payloadFingerprint(bytes({ id: 'victim-1', amount: 'worse' }), TEST_TOKEN_KEY);
    expect(applyRejection(ws, { id: 'victim-1', fingerprint: otherJunk }, 'invalid_amount', 'amount', later)).toMatchObject({
      status: 'rejected',
      reason: 'id_conflict',
    });
    // the real payment
    const payment = applyOrder(ws, withFingerprint(anOrder({ id: 'victim-1' })), ALLOW, later);
    expect(payment).toMatchObject({ status: 'rejected', reason: 'id_conflict', field: 'id' });
    expect(payment.duplicate).toBeUndefined();
    expect(ws.transfers).toEqual([]);
  });

  it('answers as before (duplicate) when either side has no fingerprint: records written before fingerprints', () => {
    const ws = aFundedWorld();
    const first = applyOrder(ws, anOrder({ id: 'o-1' }), ALLOW, ctx);
    expect(applyOrder(ws, withFingerprint(anOrder({ id: 'o-1', amountMinor: 1n })), ALLOW, later)).toEqual({ ...first, duplicate: true });
    const ws2 = aFundedWorld();
    const first2 = applyOrder(ws2, withFingerprint(anOrder({ id: 'o-2' })), ALLOW, ctx);
    expect(applyOrder(ws2, anOrder({ id: 'o-2', amountMinor: 1n }), ALLOW, later)).toEqual({ ...first2, duplicate: true });
  });

  it('keeps a conflicting member of a batch attributed to its batch', () => {
    const ws = aFundedWorld();
    applyOrder(ws, withFingerprint(anOrder({ id: 'o-1' })), ALLOW, ctx);
    expect(applyOrder(ws, withFingerprint(anOrder({ id: 'o-1', batchId: 'b-1' })), ALLOW, later)).toMatchObject({
      reason: 'id_conflict',
      batchId: 'b-1',
    });
  });
});

describe('the fingerprint in the stored order record', () => {
  it('is written and read back; a record without one reads as before (no fingerprint)', () => {
    const ws = aFundedWorld();
    const order = withFingerprint(anOrder({ id: 'o-1' }));
    applyOrder(ws, order, ALLOW, ctx);
    const record = ws.order('o-1')!;
    const text = encodeOrderRecord(record);
    expect(JSON.parse(text).order.fingerprint).toBe(order.fingerprint);
    expect(decodeOrderRecord(text).order.fingerprint).toBe(order.fingerprint);
    const old = JSON.parse(text);
    delete old.order.fingerprint;
    const decoded = decodeOrderRecord(JSON.stringify(old));
    expect(decoded.order.fingerprint).toBeUndefined();
    expect(decoded.order).toEqual({ ...record.order, fingerprint: undefined });
  });
});

describe('id conflicts inside batches', () => {
  const header = (mode: 'atomic' | 'independent', count: number, sumMinor: bigint): BatchHeader => ({
    id: 'b-1',
    count,
    controlSumMinor: sumMinor,
    currency: 'USD',
    mode,
  });
  const member = (order: Order) => ({ order: withFingerprint(order), risk: ALLOW, ctx: later });

  it('an atomic batch with a member whose id a different order holds: declined, that member id_conflict (not the other order duplicate)', () => {
    const ws = aFundedWorld();
    const first = applyOrder(ws, withFingerprint(anOrder({ id: 'taken' })), ALLOW, ctx);
    const before = balancesOf(ws);
    const members = [member(anOrder({ id: 'm-1', batchId: 'b-1' })), member(anOrder({ id: 'taken', batchId: 'b-1', amountMinor: 500n }))];
    const report = applyBatch(ws, header('atomic', 2, 1750n), members, later.nowMs);
    expect(report).toMatchObject({ status: 'declined', firstFailure: { orderId: 'taken', status: 'rejected', reason: 'id_conflict' } });
    const answers = ws.published.slice(1).filter((r) => r.orderId === 'taken');
    expect(answers.at(-1)).toMatchObject({ status: 'rejected', reason: 'id_conflict', batchId: 'b-1' });
    expect(answers.every((r) => r.duplicate === undefined)).toBe(true);
    expect(ws.order('taken')!.result).toEqual(first);
    expect(balancesOf(ws)).toEqual(before);
  });

  it('a rejected batch answers a member whose id a different order holds with id_conflict, and a true redelivery with its duplicate', () => {
    const ws = aFundedWorld();
    const first = applyOrder(ws, withFingerprint(anOrder({ id: 'taken' })), ALLOW, ctx);
    const same = withFingerprint(anOrder({ id: 'taken' }));
    const other = withFingerprint(anOrder({ id: 'taken', batchId: 'b-1', amountMinor: 1n }));
    rejectBatch(ws, header('independent', 3, 0n), [{ order: other, ctx: later }, { order: same, ctx: later }], 'control_sum_mismatch', later.nowMs);
    expect(ws.published.slice(1)).toMatchObject([
      { orderId: 'taken', status: 'rejected', reason: 'id_conflict', batchId: 'b-1' },
      { ...first, duplicate: true },
    ]);
  });
});
