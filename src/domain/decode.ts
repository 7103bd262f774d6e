// The decode stage's pure core: bytes to a JSON object with a usable order id, or a dead-letter reason.
import { containsPan } from './cards.ts';
import type { DeadLetterReason } from './reasons.ts';

export interface DecodeLimits {
  /** largest accepted payload in bytes (inclusive) @default 8192 (DEFAULT_PAYLOAD_BYTES_MAX) */
  payloadBytesMax: number;
  /** deepest accepted nesting, in levels of `[` and `{` (inclusive) @default 32 (DEFAULT_NESTING_LEVELS_MAX) */
  nestingLevelsMax?: number;
}

export const DEFAULT_PAYLOAD_BYTES_MAX = 8192;
/**
 * How deep a payload may nest arrays and objects, in levels of `[` and `{`: an order needs 2 (`{"meta":{}}`),
 * so 32 leaves room for any honest extra field, while every later walk over the value (validation, the
 * dead-letter scrub, JSON.stringify) stays far from the call stack's limit.
 */
export const DEFAULT_NESTING_LEVELS_MAX = 32;

export type DecodeOutcome =
  | { ok: true; raw: Record<string, unknown>; id: string }
  | { ok: false; reason: DecodeFailure; detail: string; id?: undefined };

/** The dead-letter reasons decode itself decides (internal_error is the guard's, poison the crash count's). */
export type DecodeFailure = Exclude<DeadLetterReason, 'internal_error' | 'poison'>;

/** The order id grammar, shared with validate (ref, batchId). */
export const ORDER_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

// fatal: invalid UTF-8 is not JSON we accept, rather than text with U+FFFD in it.
const utf8 = new TextDecoder('utf-8', { fatal: true });

function deadLetter(reason: DecodeFailure, detail: string): DecodeOutcome {
  return { ok: false, reason, detail };
}

/**
 * Size first (before any decoding), then nesting depth (a scan of the bytes, before any parsing), then UTF-8
 * and JSON.parse once, then a plain object with a string `id` matching ORDER_ID_RE. `detail` never quotes the
 * payload: parser messages echo input (a PAN, perhaps), so they are dropped.
 */
export function decodePayload(data: Uint8Array, limits: DecodeLimits): DecodeOutcome {
  if (data.byteLength > limits.payloadBytesMax) {
    return deadLetter(
      'too_large',
      `payload is ${data.byteLength} bytes, the limit is ${limits.payloadBytesMax}`,
    );
  }
  const levelsMax = limits.nestingLevelsMax ?? DEFAULT_NESTING_LEVELS_MAX;
  if (nestsDeeperThan(data, levelsMax)) {
    return deadLetter('too_deep', `payload nests deeper than ${levelsMax} levels of [ and {`);
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
  // a PAN as id would be stored as the order's key and published in its result subject: not an id we can use
  if (containsPan(id)) return deadLetter('no_id', 'id must not contain a card number');
  return { ok: true, raw, id };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether the bytes open more than `levelsMax` levels of `[` and `{` at once, counted outside JSON strings
 * (a backslash escapes the byte after it). One pass with a counter, no parsing and no recursion; works on any
 * bytes (UTF-8 never uses bytes below 0x80 inside a multi-byte character), valid JSON or not. A closing
 * bracket with nothing open is ignored, so stray closers cannot lower the count below zero.
 */
export function nestsDeeperThan(data: Uint8Array, levelsMax: number): boolean {
  let depth = 0;
  const length = data.length;
  for (let i = 0; i < length; i++) {
    const b = data[i]!;
    if (b === QUOTE) {
      // a string, most of a payload's bytes: run to its closing quote in a loop of its own
      for (i++; i < length; i++) {
        const c = data[i]!;
        if (c === QUOTE) break;
        if (c === BACKSLASH) i++;
      }
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > levelsMax) return true;
    } else if ((b === CLOSE_ARRAY || b === CLOSE_OBJECT) && depth > 0) {
      depth--;
    }
  }
  return false;
}

function describeJsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
