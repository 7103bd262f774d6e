// Builders for batch tests: a buffer's items as the validate stage hands them on (orders naming a batch,
// invalid ones, headers), on the default `pay` subjects.
import type { BatchSubjects } from '../../src/domain/batch-plan.ts';
import type { Item } from '../../streams/types.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS } from './builders.ts';

export const PAY_SUBJECTS: BatchSubjects = { ordersPrefix: 'pay.orders.', batchesPrefix: 'pay.batches.' };

const encoder = new TextEncoder();
let streamSeq = 0;

/** A payment naming `batchId` (1.00 USD unless told) on pay.orders.<source>. */
export function aMember(
  source: string,
  id: string,
  batchId: string | undefined,
  o: { amountMinor?: bigint; currency?: string; atMs?: number } = {},
): Extract<Item, { kind: 'order' }> {
  const atMs = o.atMs ?? TEST_NOW_MS;
  return {
    kind: 'order',
    msg: {
      subject: `pay.orders.${source}`,
      data: encoder.encode(JSON.stringify({ id, batchId })),
      receivedAtMs: atMs,
      streamSeq: ++streamSeq,
    },
    order: {
      id,
      type: 'payment',
      cardToken: TEST_CARD_TOKEN,
      merchant: 'm_coffee',
      amountMinor: o.amountMinor ?? 100n,
      currency: o.currency ?? 'USD',
      ...(batchId === undefined ? {} : { batchId }),
      createdAtMs: atMs,
    },
  };
}

/** An order naming `batchId` that failed validation (rejected invalid_amount on its own). */
export function anInvalidMember(
  source: string,
  id: string,
  batchId: string,
  atMs = TEST_NOW_MS,
): Extract<Item, { kind: 'rejected' }> {
  return {
    kind: 'rejected',
    msg: {
      subject: `pay.orders.${source}`,
      data: encoder.encode(`{"id":"${id}","amount":"x"}`),
      receivedAtMs: atMs,
      streamSeq: ++streamSeq,
    },
    orderId: id,
    reason: 'invalid_amount',
    field: 'amount',
    message: 'not an amount',
    batchId,
  };
}

/**
 * A header of `count` orders on pay.batches.<source>.<id> (pay.batches.<id> when source is ''): control sum
 * count x 1.00 USD, atomic, unless `raw` says otherwise (a field set to undefined is left out).
 */
export function aHeader(
  source: string,
  id: string,
  count: number,
  o: { raw?: Record<string, unknown>; atMs?: number } = {},
): Extract<Item, { kind: 'batch' }> {
  const raw: Record<string, unknown> = {
    id,
    count,
    controlSum: `${count}.00`,
    currency: 'USD',
    mode: 'atomic',
  };
  for (const [key, value] of Object.entries(o.raw ?? {})) {
    if (value === undefined) delete raw[key];
    else raw[key] = value;
  }
  const subject = source === '' ? `pay.batches.${id}` : `pay.batches.${source}.${id}`;
  return {
    kind: 'batch',
    msg: {
      subject,
      data: encoder.encode(JSON.stringify(raw)),
      receivedAtMs: o.atMs ?? TEST_NOW_MS,
      streamSeq: ++streamSeq,
    },
    raw,
  };
}

/** A message that never became an order. */
export function aDeadItem(): Extract<Item, { kind: 'dead' }> {
  return {
    kind: 'dead',
    msg: {
      subject: 'pay.orders.erp',
      data: encoder.encode('{'),
      receivedAtMs: TEST_NOW_MS,
      streamSeq: ++streamSeq,
    },
    reason: 'not_json',
    detail: 'x',
  };
}
