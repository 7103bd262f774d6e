// Order fingerprints: a keyed digest of what an order asks for, kept with it so that a second message
// under the same id can be told apart: a redelivery or identical republish (same fingerprint) is a
// duplicate, anything else an id conflict. Keyed (HMAC with the ledger's secret), so a stored fingerprint
// says nothing about the card or amount to whoever reads the ledger without the secret: no unkeyed hash
// of card data is ever stored.

import { writeDigits } from './digits.ts';
import { hmacSha256, hmacSha256Written } from './hmac.ts';
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

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const NULL_BYTES = [0x6e, 0x75, 0x6c, 0x6c];
/** the largest amount written as digits of a number (exact below 2^53) */
const MAX_SAFE_AMOUNT = BigInt(Number.MAX_SAFE_INTEGER);

/** `text` as a JSON string at `at`, or -1 unless every character is printable ASCII needing no escape. */
function writeQuoted(out: Uint8Array, at: number, text: string): number {
  out[at] = QUOTE;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) return -1;
    out[at + 1 + i] = c;
  }
  out[at + 1 + text.length] = QUOTE;
  return at + text.length + 2;
}

/** A comma (unless first), then `value` as canonicalOrder writes it: a JSON string, or null when absent. */
function writeField(out: Uint8Array, at: number, value: unknown): number {
  if (at === -1) return -1;
  let p = at;
  if (out[p - 1] !== OPEN_BRACKET) out[p++] = COMMA;
  if (value === undefined || value === null) {
    for (const b of NULL_BYTES) out[p++] = b;
    return p;
  }
  return typeof value === 'string' ? writeQuoted(out, p, value) : -1;
}

/**
 * canonicalOrder(order) as UTF-8, written straight into the hash's buffer; -1 (the string form is hashed then)
 * for anything JSON.stringify would escape or spell otherwise: a non-ASCII or escaped character, an amount
 * outside 0 to 2^53 - 1, a createdAtMs that is not a safe integer.
 */
function writeCanonicalOrder(out: Uint8Array, at: number, order: Order): number {
  out[at] = OPEN_BRACKET;
  let p = writeField(out, at + 1, order.type);
  p = writeField(out, p, order.cardToken);
  p = writeField(out, p, order.merchant);
  const amount = order.amountMinor;
  if (amount === undefined || amount === null) p = writeField(out, p, undefined);
  else if (p !== -1 && typeof amount === 'bigint' && amount >= 0n && amount <= MAX_SAFE_AMOUNT) {
    out[p++] = COMMA;
    out[p++] = QUOTE;
    p = writeDigits(out, p, Number(amount));
    out[p++] = QUOTE;
  } else return -1;
  p = writeField(out, p, order.currency);
  p = writeField(out, p, order.ref);
  p = writeField(out, p, order.batchId);
  const createdAtMs = order.createdAtMs;
  if (p === -1 || !Number.isSafeInteger(createdAtMs)) return -1;
  out[p++] = COMMA;
  if (createdAtMs < 0) out[p++] = 0x2d;
  p = writeDigits(out, p, Math.abs(createdAtMs));
  p = writeField(out, p, order.mcc);
  p = writeField(out, p, order.country);
  if (p === -1) return -1;
  out[p] = CLOSE_BRACKET;
  return p + 1;
}

// the truncated digest's bytes, written here to be encoded (a subarray of a digest Buffer would allocate two objects)
const kept = Buffer.alloc(FINGERPRINT_BYTES);

function truncated(binary: string): string {
  for (let i = 0; i < FINGERPRINT_BYTES; i++) kept[i] = binary.charCodeAt(i);
  return kept.toString('base64url');
}

/** The keyed fingerprint of a validated order (see canonicalOrder). */
export function orderFingerprint(order: Order, key: Uint8Array): string {
  const binary =
    hmacSha256Written(key, ORDER_LABEL, writeCanonicalOrder, order, 'binary') ??
    hmacSha256(key, ORDER_LABEL, canonicalOrder(order), 'binary');
  return truncated(binary);
}

/**
 * The keyed fingerprint of a payload that failed validation: of its bytes as received (there is no
 * validated form to canonicalize, and walking it again would be a second pass over untrusted input).
 * A redelivery or byte-identical republish matches; any other payload under that id is a conflict.
 */
export const payloadFingerprint = (payload: Uint8Array, key: Uint8Array): string =>
  truncated(hmacSha256(key, PAYLOAD_LABEL, payload, 'binary'));

/**
 * How a second message under a known id relates to the first: 'same' payload, a 'different' one, or
 * 'unknown' when either side has no fingerprint (records written before fingerprints existed, messages
 * from a source that computes none): unknown is answered as a duplicate, as before.
 */
export function samePayload(stored: string | undefined, incoming: string | undefined): 'same' | 'different' | 'unknown' {
  if (stored === undefined || incoming === undefined) return 'unknown';
  return stored === incoming ? 'same' : 'different';
}
