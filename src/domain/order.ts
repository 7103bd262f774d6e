// The validate stage's pure core: a decoded wire object to a typed Order (PAN tokenized), or a rejection.
import { Ajv, type ErrorObject } from 'ajv';
import { checkPan, containsPan, findSensitiveAuthData, sadRefusal } from './cards.ts';
import { ORDER_ID_RE } from './decode.ts';
import { type AmountReason, currencyExponent, parseAmount } from './money.ts';
import type { RejectReason } from './reasons.ts';
import { ORDER_TYPES, type Order, type OrderType } from './types.ts';
import { ORDER_AGE_MAX_MS } from './order-limits.ts';
import { orderToWire } from './order-wire.ts';

export interface ValidateContext {
  /** keyed tokenization of a checked, normalized PAN (cards.tokenizePan with the configured key) */
  tokenizePan(pan: string): string;
  /** the PAN's tokens under the key ring's older versions, newest first (src/domain/keys.ts); absent: one version */
  olderTokens?(pan: string): string[];
  /** the clock, passed in: epoch ms */
  nowMs: number;
  /** how far createdAt may be ahead of nowMs before the order is future_dated */
  futureSkewMs: number;
}

export type ValidateOutcome =
  | { ok: true; order: Order }
  | { ok: false; orderId: string; reason: RejectReason; field: string; message: string; batchId?: string };

export { ORDER_AGE_MAX_MS, orderToWire };

const ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
// Extended ISO 8601 with a mandatory offset; calendar ranges are checked in code (Date.parse takes Feb 30).
const CREATED_AT_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/** What each field must look like, as said in rejections (never quoting the value). */
const FIELD_RULES = {
  id: 'id must be 1-64 characters of A-Z a-z 0-9 _ -',
  type: `type must be one of ${ORDER_TYPES.join(', ')}`,
  createdAt: 'createdAt must be an ISO 8601 date-time with a timezone, e.g. 2026-11-25T10:00:00.000Z',
  card: 'card must be a card token: 64 hex characters',
  merchant: 'merchant must be 1-64 characters of A-Z a-z 0-9 _ -',
  currency: 'currency must be an ISO 4217 code string',
  ref: 'ref must be an order id: 1-64 characters of A-Z a-z 0-9 _ -',
  batchId: 'batchId must be 1-64 characters of A-Z a-z 0-9 _ -',
  mcc: 'mcc must be 4 digits',
  country: 'country must be an ISO 3166-1 alpha-2 code in uppercase',
} as const;
type SchemaField = keyof typeof FIELD_RULES;

// The shape only; per-type requirements and money, card and time semantics are checked in code below.
// `amount` and `pan` are left out on purpose: their own checks give the sharper reasons
// (amount_not_string, invalid_pan) for any JSON type.
const ORDER_SCHEMA = {
  type: 'object',
  required: ['id', 'type', 'createdAt'],
  properties: {
    id: { type: 'string', pattern: ID_PATTERN },
    type: { type: 'string', enum: [...ORDER_TYPES] },
    createdAt: { type: 'string', maxLength: 40, pattern: CREATED_AT_RE.source },
    card: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
    merchant: { type: 'string', pattern: ID_PATTERN },
    currency: { type: 'string' },
    ref: { type: 'string', pattern: ID_PATTERN },
    batchId: { type: 'string', pattern: ID_PATTERN },
    mcc: { type: 'string', pattern: '^[0-9]{4}$' },
    country: { type: 'string', pattern: '^[A-Z]{2}$' },
  },
} as const;

const checkShape = new Ajv({ allErrors: false, strict: true }).compile(ORDER_SCHEMA);
// Called as checkShape(raw), ajv's validate makes its default context object every time; ORDER_SCHEMA has no
// $ref, so one shared context serves every call (ajv defaults rootData to the data, and reads no more of it).
const SHAPE_CONTEXT = { instancePath: '' } as NonNullable<Parameters<typeof checkShape>[1]>;

type Need = 'required' | 'optional';
interface TypeRules {
  /** exactly one of card or pan */
  instrument: Need | 'none';
  merchant: Need | 'none';
  amount: Need | 'none';
  ref: Need | 'none';
}

/**
 * Required fields per type. 'none' means the field is not asked for: if present anyway it is still checked
 * and kept (the ledger decides whether it matters). Where amount is optional and present, currency is required
 * (an amount cannot be parsed without its exponent).
 */
const TYPE_RULES: Readonly<Record<OrderType, TypeRules>> = {
  payment: { instrument: 'required', merchant: 'required', amount: 'required', ref: 'none' },
  authorize: { instrument: 'required', merchant: 'required', amount: 'required', ref: 'none' },
  payout: { instrument: 'required', merchant: 'required', amount: 'required', ref: 'none' },
  capture: { instrument: 'none', merchant: 'none', amount: 'optional', ref: 'required' },
  refund: { instrument: 'none', merchant: 'none', amount: 'optional', ref: 'required' },
  modify: { instrument: 'none', merchant: 'none', amount: 'required', ref: 'required' },
  void: { instrument: 'none', merchant: 'none', amount: 'none', ref: 'required' },
  cancel: { instrument: 'none', merchant: 'none', amount: 'none', ref: 'required' },
};

const AMOUNT_MESSAGES = {
  amount_not_string: 'amount must be a decimal string such as "12.50", not a JSON number',
  invalid_amount: 'amount must be a decimal string of digits with an optional fraction, such as "12.50"',
  amount_too_precise: 'amount has more decimals than the currency allows',
  amount_out_of_range: 'amount must be above zero and at most 10^15 minor units',
  unknown_currency: 'currency is not an ISO 4217 code paystream knows',
} as const satisfies Record<AmountReason, string>;

class Rejection {
  constructor(
    readonly reason: RejectReason,
    readonly field: string,
    readonly message: string,
  ) {}
}

function reject(raw: Record<string, unknown>, rejection: Rejection): ValidateOutcome {
  const id = raw.id;
  const batchId = raw.batchId;
  const outcome: ValidateOutcome = {
    ok: false,
    // an id holding a card number is never echoed (decode dead-letters such an id before validation anyway)
    orderId: typeof id === 'string' && !containsPan(id) ? id : '',
    reason: rejection.reason,
    field: rejection.field,
    message: rejection.message,
  };
  // A rejected member must still be attributable to its batch, so a well-formed batchId travels with it.
  if (typeof batchId === 'string' && ORDER_ID_RE.test(batchId) && !containsPan(batchId)) outcome.batchId = batchId;
  return outcome;
}

function shapeRejection(error: ErrorObject): Rejection {
  const field =
    error.keyword === 'required'
      ? String((error.params as { missingProperty: string }).missingProperty)
      : error.instancePath.slice(1).split('/')[0]!;
  const rule = Object.hasOwn(FIELD_RULES, field) ? FIELD_RULES[field as SchemaField] : 'malformed order';
  const message = error.keyword === 'required' ? `${field} is required` : rule;
  return new Rejection('invalid_field', field, message);
}

function missing(field: string, type: OrderType): Rejection {
  return new Rejection('invalid_field', field, `${field} is required for ${type}`);
}

/**
 * Checks a decoded wire order and builds the Order. First failure wins, in this order:
 * 1. sensitive authentication data at any depth (cards.findSensitiveAuthData), before anything else: a
 *    card-verification key (cvv, cvc, cv2, cid, securityCode, any case or separators) -> cvv_forbidden; a
 *    track-data or PIN key, or a value holding track data -> sad_forbidden
 * 2. the shape (ajv): id, type, createdAt present; each present field well-formed -> invalid_field; then
 *    id, merchant, ref, batchId, amount or currency holding a card number (cards.containsPan) -> invalid_field
 * 3. per type, in field order: card/pan (exactly one; both is invalid_field 'pan'), merchant, currency,
 *    amount, ref -> invalid_field for a missing one, unknown_currency, the amount reasons, invalid_pan
 * 4. createdAt a real calendar instant (invalid_field), not beyond nowMs + futureSkewMs (future_dated),
 *    not before nowMs - ORDER_AGE_MAX_MS (too_old)
 * Unknown extra fields are ignored. The PAN is tokenized through ctx and never kept or quoted.
 */
export function validateOrder(raw: Record<string, unknown>, ctx: ValidateContext): ValidateOutcome {
  const sad = findSensitiveAuthData(raw);
  if (sad !== undefined) {
    const { reason, message } = sadRefusal(sad);
    return reject(raw, new Rejection(reason, sad.path, message));
  }
  if (!checkShape(raw, SHAPE_CONTEXT)) return reject(raw, shapeRejection(checkShape.errors![0]!));
  const panField = fieldHoldingPan(raw);
  if (panField !== undefined) {
    return reject(raw, new Rejection('invalid_field', panField, `${panField} must not contain a card number`));
  }
  const result = buildOrder(raw, ctx);
  return result instanceof Rejection ? reject(raw, result) : { ok: true, order: result };
}

/**
 * The fields that end up in the ledger, results and subjects: none may carry a PAN. An amount too (as a
 * string: 4900301699929 is a valid amount of dollars, stored as its minor units), and the currency.
 */
const ID_FIELDS = ['id', 'merchant', 'ref', 'batchId', 'amount', 'currency'] as const;

/** The first id field (checked strings by now) holding a card number (cards.containsPan: Luhn, brand prefix and length). */
function fieldHoldingPan(raw: Record<string, unknown>): string | undefined {
  for (const field of ID_FIELDS) {
    const value = raw[field];
    if (typeof value === 'string' && containsPan(value)) return field;
  }
  return undefined;
}

function buildOrder(raw: Record<string, unknown>, ctx: ValidateContext): Order | Rejection {
  // The schema has checked the types of these (when present).
  const type = raw.type as OrderType;
  const card = raw.card as string | undefined;
  const merchant = raw.merchant as string | undefined;
  const currency = raw.currency as string | undefined;
  const ref = raw.ref as string | undefined;
  const batchId = raw.batchId as string | undefined;
  const mcc = raw.mcc as string | undefined;
  const country = raw.country as string | undefined;
  const pan = raw.pan;
  const amount = raw.amount;
  const rules = TYPE_RULES[type];

  let cardToken: string | undefined;
  let panTokens: string[] | undefined;
  if (card !== undefined && pan !== undefined) {
    return new Rejection('invalid_field', 'pan', 'send either card (a token) or pan, not both');
  }
  if (card !== undefined) {
    cardToken = card.toLowerCase();
  } else if (pan !== undefined) {
    if (typeof pan !== 'string') {
      return new Rejection('invalid_pan', 'pan', 'pan must be a string of digits');
    }
    const checked = checkPan(pan);
    if (!checked.ok) return new Rejection('invalid_pan', 'pan', checked.message);
    cardToken = ctx.tokenizePan(checked.pan);
    panTokens = ctx.olderTokens?.(checked.pan);
  } else if (rules.instrument === 'required') {
    return new Rejection('invalid_field', 'card', `card (a token) or pan is required for ${type}`);
  }

  if (merchant === undefined && rules.merchant === 'required') return missing('merchant', type);

  if (currency !== undefined && currencyExponent(currency) === undefined) {
    return new Rejection('unknown_currency', 'currency', AMOUNT_MESSAGES.unknown_currency);
  }
  let amountMinor: bigint | undefined;
  if (amount !== undefined) {
    if (currency === undefined) {
      return new Rejection('invalid_field', 'currency', 'currency is required when an amount is given');
    }
    const parsed = parseAmount(amount, currency);
    if (!parsed.ok) return new Rejection(parsed.reason, 'amount', AMOUNT_MESSAGES[parsed.reason]);
    amountMinor = parsed.amountMinor;
  } else if (rules.amount === 'required') {
    // Currency before amount, as in field order.
    if (currency === undefined) return missing('currency', type);
    return missing('amount', type);
  }

  if (ref === undefined && rules.ref === 'required') return missing('ref', type);

  const createdAtMs = parseCreatedAt(raw.createdAt as string);
  if (createdAtMs === undefined) return new Rejection('invalid_field', 'createdAt', FIELD_RULES.createdAt);
  if (createdAtMs > ctx.nowMs + ctx.futureSkewMs) {
    return new Rejection(
      'future_dated',
      'createdAt',
      `createdAt is ${createdAtMs - ctx.nowMs} ms ahead of the processor clock (allowed: ${ctx.futureSkewMs} ms)`,
    );
  }
  if (createdAtMs < ctx.nowMs - ORDER_AGE_MAX_MS) {
    return new Rejection('too_old', 'createdAt', `createdAt is more than ${ORDER_AGE_MAX_MS / 3600_000} h before the processor clock`);
  }

  // Only the fields present; added in one fixed order (and never deleted) to keep V8 object shapes few and fast.
  const order: Order = { id: raw.id as string, type, createdAtMs };
  if (cardToken !== undefined) order.cardToken = cardToken;
  if (merchant !== undefined) order.merchant = merchant;
  if (amountMinor !== undefined) order.amountMinor = amountMinor;
  if (currency !== undefined) order.currency = currency;
  if (ref !== undefined) order.ref = ref;
  if (batchId !== undefined) order.batchId = batchId;
  if (mcc !== undefined) order.mcc = mcc;
  if (country !== undefined) order.country = country;
  if (panTokens !== undefined && panTokens.length > 0) order.panTokens = panTokens;
  return order;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** The value of the ASCII digits text[from, from + count), or -1 when one of them is not 0-9 (or is past the end). */
function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil), for years 0-9999. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
}

/** Offset minutes of what follows the seconds at `at` ('Z', '+hh:mm', '-hh:mm' and the end), or undefined. */
function offsetMinutesAt(text: string, at: number): number | undefined {
  const c = text.charCodeAt(at);
  if (c === 0x5a) return at + 1 === text.length ? 0 : undefined; // 'Z'
  if ((c !== 0x2b && c !== 0x2d) || at + 6 !== text.length || text.charCodeAt(at + 3) !== 0x3a) return undefined;
  const hours = digitsAt(text, at + 1, 2);
  const minutes = digitsAt(text, at + 4, 2);
  if (hours < 0 || minutes < 0 || hours > 23 || minutes > 59) return undefined;
  return (c === 0x2d ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * Epoch ms of an ISO 8601 date-time with offset (CREATED_AT_RE's grammar, read by char code: no match array
 * or substrings), or undefined if it does not match or a field is out of its calendar range.
 */
export function parseCreatedAt(text: string): number | undefined {
  if (text.length < 20) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54) return undefined; // '-' '-' 'T'
  if (text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) return undefined; // ':' ':'
  let at = 19;
  let ms = 0;
  if (text.charCodeAt(at) === 0x2e) {
    // 1-9 fraction digits; sub-millisecond ones are truncated, not rounded: rounding could move the instant into the next second
    let digits = 0;
    for (at++; digitsAt(text, at, 1) >= 0; at++, digits++) if (digits < 3) ms = ms * 10 + digitsAt(text, at, 1);
    if (digits === 0 || digits > 9) return undefined;
    for (; digits < 3; digits++) ms *= 10;
  }
  const offsetMinutes = offsetMinutesAt(text, at);
  if (offsetMinutes === undefined) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const secondOfDay = hour * 3600 + minute * 60 + second;
  return (daysFromCivil(year, month, day) * 86_400 + secondOfDay) * 1000 + ms - offsetMinutes * 60_000;
}
