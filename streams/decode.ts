// Decode stage: bytes to a JSON object with an order id, or a dead letter; batch headers pass by subject.

import { map, type OperatorFunction } from 'rxjs';
import { type DecodeLimits, decodePayload } from '../src/domain/decode.ts';
import { type FaultHook, reportInternalError } from './guard.ts';
import type { InboundMessage, Item } from './types.ts';

export type DecodedItem =
  | { kind: 'decoded'; msg: InboundMessage; raw: Record<string, unknown>; id: string }
  | Extract<Item, { kind: 'dead' } | { kind: 'batch' }>;

/** One message decoded; whatever it throws (a bug, not bad input: that is a dead-letter reason) is its dead letter. */
export function decodeOne(msg: InboundMessage, limits: DecodeLimits, batchSubjectPrefix: string, faults?: FaultHook): DecodedItem {
  try {
    const outcome = decodePayload(msg.data, limits);
    if (!outcome.ok) return { kind: 'dead', msg, reason: outcome.reason, detail: outcome.detail };
    faults?.('decode', outcome.id);
    if (msg.subject.startsWith(batchSubjectPrefix)) return { kind: 'batch', msg, raw: outcome.raw };
    return { kind: 'decoded', msg, raw: outcome.raw, id: outcome.id };
  } catch (error) {
    return { kind: 'dead', msg, reason: 'internal_error', detail: reportInternalError('decode', error, msg) };
  }
}

export const decode =
  (limits: DecodeLimits, batchSubjectPrefix: string, faults?: FaultHook): OperatorFunction<InboundMessage, DecodedItem> =>
  (source) =>
    source.pipe(map((msg) => decodeOne(msg, limits, batchSubjectPrefix, faults)));
