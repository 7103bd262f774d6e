// Validate stage: a decoded object becomes a typed Order (PAN tokenized, amount in minor units) or a rejection.

import { map, type OperatorFunction } from 'rxjs';
import { orderFingerprint, payloadFingerprint } from '../src/domain/fingerprint.ts';
import { type ValidateContext, validateOrder } from '../src/domain/order.ts';
import type { DecodedItem } from './decode.ts';
import { type FaultHook, reportInternalError } from './guard.ts';
import type { Item } from './types.ts';

export interface ValidateOptions {
  tokenizePan(pan: string): string;
  /** the PAN's tokens under older key versions, newest first (store.olderTokens); absent: one key version */
  olderTokens?(pan: string): string[];
  /** the processor's clock */
  clock(): number;
  /** how far in the future createdAt may be @default 30_000 */
  futureSkewMs: number;
  /** replaying a recording: an order's now is its recorded arrival (createdAt is judged against it) */
  virtualTime?: boolean;
  /** the ledger's secret: each order (and rejected payload) gets its keyed fingerprint; absent: none (answered as before) */
  fingerprintKey?: Uint8Array;
  /** test seam: throws on purpose for the orders it names (streams/guard.ts) */
  faults?: FaultHook;
}

/**
 * One decoded message validated; whatever validation throws (a bug, not bad input: that is a reject reason)
 * makes the order `rejected` `internal_error`, dead-lettered by the apply stage with its stream sequence.
 */
export function validateOne(item: DecodedItem, options: ValidateOptions, nowMs: number): Item {
  if (item.kind !== 'decoded') return item;
  try {
    options.faults?.('validate', item.id);
    return validateDecoded(item, options, nowMs);
  } catch (error) {
    const message = reportInternalError('validate', error, item.msg, item.id);
    return { kind: 'rejected', msg: item.msg, orderId: item.id, reason: 'internal_error', field: '', message };
  }
}

function validateDecoded(item: Extract<DecodedItem, { kind: 'decoded' }>, options: ValidateOptions, nowMs: number): Item {
  const ctx: ValidateContext = { tokenizePan: options.tokenizePan, nowMs, futureSkewMs: options.futureSkewMs };
  if (options.olderTokens) ctx.olderTokens = options.olderTokens;
  const outcome = validateOrder(item.raw, ctx);
  const key = options.fingerprintKey;
  if (outcome.ok) {
    if (key !== undefined) outcome.order.fingerprint = orderFingerprint(outcome.order, key);
    return { kind: 'order', msg: item.msg, order: outcome.order };
  }
  const rejected: Item = {
    kind: 'rejected',
    msg: item.msg,
    orderId: outcome.orderId,
    reason: outcome.reason,
    field: outcome.field,
    message: outcome.message,
  };
  if (outcome.batchId !== undefined) rejected.batchId = outcome.batchId;
  if (key !== undefined) rejected.fingerprint = payloadFingerprint(item.msg.data, key);
  return rejected;
}

export const validate =
  (options: ValidateOptions): OperatorFunction<DecodedItem, Item> =>
  (source) =>
    source.pipe(map((item) => validateOne(item, options, options.virtualTime ? item.msg.receivedAtMs : options.clock())));
