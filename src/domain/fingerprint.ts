// Order fingerprints: a keyed digest of what an order asks for, kept with it so that a second message
// under the same id can be told apart: a redelivery or identical republish (same fingerprint) is a
// duplicate, anything else an id conflict. Keyed (HMAC with the ledger's secret), so a stored fingerprint
// says nothing about the card or amount to whoever reads the ledger without the secret: no unkeyed hash
// of card data is ever stored.

import { createHmac } from 'node:crypto';
import type { Order } from './types.ts';

/** bytes of the HMAC-SHA256 kept: 128 bits, as base64url (22 characters) */
const FINGERPRINT_BYTES = 16;

// Domain labels: a validated order and a rejected payload never share a fingerprint, and neither shares
// an HMAC input with a card token (tokenizePan hashes bare digits under the same secret).
const ORDER_LABEL = 'paystream order fingerprint v1\n';
const PAYLOAD_LABEL = 'paystream rejected payload fingerprint v1\n';

/**
 * The canonical form of a validated order's payload: the fields that decide what it does, in a fixed
 * order, each JSON-quoted (absent as null). Card as its token (so an inline PAN and its token agree),
 * the amount in minor units with its currency ("12.5" and "12.50" agree), createdAt as epoch ms (any
 * offset spelling of the same instant agrees). The id is not in it: it is the key fingerprints are
 * compared under.
 */
export function canonicalOrder(order: Order): string {
  return JSON.stringify([
    order.type,
    order.cardToken ?? null,
    order.merchant ?? null,
    order.amountMinor === undefined ? null : order.amountMinor.toString(),
    order.currency ?? null,
    order.ref ?? null,
    order.batchId ?? null,
    order.createdAtMs,
    order.mcc ?? null,
    order.country ?? null,
  ]);
}

const digest = (key: Uint8Array, label: string, body: string | Uint8Array): string =>
  createHmac('sha256', key).update(label, 'utf8').update(body).digest().subarray(0, FINGERPRINT_BYTES).toString('base64url');

/** The keyed fingerprint of a validated order (see canonicalOrder). */
export const orderFingerprint = (order: Order, key: Uint8Array): string => digest(key, ORDER_LABEL, canonicalOrder(order));

/**
 * The keyed fingerprint of a payload that failed validation: of its bytes as received (there is no
 * validated form to canonicalize, and walking it again would be a second pass over untrusted input).
 * A redelivery or byte-identical republish matches; any other payload under that id is a conflict.
 */
export const payloadFingerprint = (payload: Uint8Array, key: Uint8Array): string => digest(key, PAYLOAD_LABEL, payload);

/**
 * How a second message under a known id relates to the first: 'same' payload, a 'different' one, or
 * 'unknown' when either side has no fingerprint (records written before fingerprints existed, messages
 * from a source that computes none): unknown is answered as a duplicate, as before.
 */
export function samePayload(stored: string | undefined, incoming: string | undefined): 'same' | 'different' | 'unknown' {
  if (stored === undefined || incoming === undefined) return 'unknown';
  return stored === incoming ? 'same' : 'different';
}
