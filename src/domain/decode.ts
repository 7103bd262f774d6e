// The decode stage's pure core: bytes to a JSON object with a usable order id, or a dead-letter reason.
import type { DeadLetterReason } from './types.ts';

export interface DecodeLimits {
  /** largest accepted payload in bytes (inclusive) @default 8192 (DEFAULT_PAYLOAD_BYTES_MAX) */
  payloadBytesMax: number;
}

export const DEFAULT_PAYLOAD_BYTES_MAX = 8192;

export type DecodeOutcome =
  | { ok: true; raw: Record<string, unknown>; id: string }
  | { ok: false; reason: 'too_large' | 'not_json' | 'not_object' | 'no_id'; detail: string; id?: undefined };

/** The order id grammar, shared with validate (ref, batchId). */
export const ORDER_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

// fatal: invalid UTF-8 is not JSON we accept, rather than text with U+FFFD in it.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function deadLetter(reason: DeadLetterReason, detail: string): DecodeOutcome {
  return { ok: false, reason, detail };
}

/**
 * Size first (before any decoding), then UTF-8 and JSON.parse once, then a plain object with a string `id`
 * matching ORDER_ID_RE. `detail` never quotes the payload: parser messages echo input (a PAN, perhaps),
 * so they are dropped.
 */
export function decodePayload(data: Uint8Array, limits: DecodeLimits): DecodeOutcome {
  if (data.byteLength > limits.payloadBytesMax) {
    return deadLetter(
      'too_large',
      `payload is ${data.byteLength} bytes, the limit is ${limits.payloadBytesMax}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(data));
  } catch (error) {
    const what = error instanceof SyntaxError ? 'not valid JSON' : 'not valid UTF-8';
    return deadLetter('not_json', data.byteLength === 0 ? 'payload is empty' : `payload is ${what}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return deadLetter('not_object', `payload is a JSON ${describeJsonKind(parsed)}, not an object`);
  }
  const raw = parsed as Record<string, unknown>;
  const id = raw.id;
  if (typeof id !== 'string') {
    return deadLetter(
      'no_id',
      id === undefined ? 'id is missing' : `id is a JSON ${describeJsonKind(id)}, not a string`,
    );
  }
  if (!ORDER_ID_RE.test(id)) return deadLetter('no_id', 'id must be 1-64 characters of A-Z a-z 0-9 _ -');
  return { ok: true, raw, id };
}

function describeJsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
