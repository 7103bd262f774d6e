// Card numbers without keeping them: Luhn, brand and length rules, tokens, masks, expiry and CVV detection.
import { createHmac } from 'node:crypto';
import type { Card, CardBrand } from './types.ts';

const ZERO = 48; // '0'

/** Luhn (mod 10) over a string of ASCII digits; false for an empty string or any other character. */
export function luhnValid(digits: string): boolean {
  const length = digits.length;
  if (length === 0) return false;
  let sum = 0;
  let double = false;
  for (let i = length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

const SEPARATORS_RE = /[ -]/g;

/** Strips the spaces and dashes people type between digit groups; nothing else is touched. */
export function normalizePan(input: string): string {
  return input.replace(SEPARATORS_RE, '');
}

/** Leading digits of `pan` as a number, or -1 when the PAN is too short to tell. */
function prefix(pan: string, digits: number): number {
  return pan.length >= digits ? Number(pan.slice(0, digits)) : -1;
}

const DIGITS_RE = /^\d+$/;

/**
 * The brand from the IIN (leading digits). Checked in this order, first match wins, because ranges nest:
 * 1. Visa 4
 * 2. Mir 2200-2204 (before Mastercard so the 22 prefix is settled first; the ranges do not overlap)
 * 3. Mastercard 51-55, 2221-2720
 * 4. Amex 34, 37
 * 5. Diners 300-305, 3095, 36, 38, 39
 * 6. JCB 3528-3589
 * 7. Discover 6011, 644-649, 65, 622126-622925 (the co-brand range must win over UnionPay's 62)
 * 8. UnionPay 62 (the rest), 81
 * 9. Maestro 50, 56-58, and every 6 left over (which covers 5018, 5020, 5038, 5893, 6304, 6759, 6761-6763)
 * anything else (or a non-digit string) is 'unknown'.
 */
export function detectBrand(pan: string): CardBrand {
  if (pan.length === 0 || !DIGITS_RE.test(pan)) return 'unknown';
  const d1 = pan.charCodeAt(0) - ZERO;
  const p2 = prefix(pan, 2);
  const p3 = prefix(pan, 3);
  const p4 = prefix(pan, 4);
  switch (d1) {
    case 4:
      return 'visa';
    case 2:
      if (p4 >= 2200 && p4 <= 2204) return 'mir';
      if (p4 >= 2221 && p4 <= 2720) return 'mastercard';
      return 'unknown';
    case 5:
      if (p2 >= 51 && p2 <= 55) return 'mastercard';
      if (p2 === 50 || (p2 >= 56 && p2 <= 58)) return 'maestro';
      return 'unknown';
    case 3:
      if (p2 === 34 || p2 === 37) return 'amex';
      if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return 'diners';
      if (p4 >= 3528 && p4 <= 3589) return 'jcb';
      return 'unknown';
    case 6: {
      const p6 = prefix(pan, 6);
      if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) {
        return 'discover';
      }
      if (p2 === 62) return 'unionpay';
      return 'maestro';
    }
    case 8:
      return p2 === 81 ? 'unionpay' : 'unknown';
    default:
      return 'unknown';
  }
}

/** Valid PAN lengths by brand, inclusive ranges or lists. */
const PAN_LENGTHS: Readonly<Record<CardBrand, readonly number[]>> = {
  visa: [13, 16, 19],
  mastercard: [16],
  amex: [15],
  discover: [16, 17, 18, 19],
  jcb: [16, 17, 18, 19],
  unionpay: [16, 17, 18, 19],
  diners: [14, 15, 16, 17, 18, 19],
  maestro: [12, 13, 14, 15, 16, 17, 18, 19],
  mir: [16, 17, 18, 19],
  unknown: [12, 13, 14, 15, 16, 17, 18, 19],
};

export type PanCheck =
  | { ok: true; pan: string; brand: CardBrand }
  | { ok: false; reason: 'invalid_pan'; message: string };

const PAN_DIGITS_RE = /^\d{12,19}$/;

function panError(message: string): PanCheck {
  return { ok: false, reason: 'invalid_pan', message };
}

/**
 * Normalizes and checks a PAN: digits only, 12-19 of them, a length valid for its brand, then Luhn.
 * Messages name the rule and at most the length and brand, never a digit of the PAN.
 */
export function checkPan(input: string): PanCheck {
  const pan = normalizePan(input);
  if (!DIGITS_RE.test(pan)) return panError('the PAN must contain only digits, spaces or dashes');
  if (!PAN_DIGITS_RE.test(pan)) return panError(`the PAN must have 12 to 19 digits, not ${pan.length}`);
  const brand = detectBrand(pan);
  const lengths = PAN_LENGTHS[brand];
  if (!lengths.includes(pan.length)) {
    return panError(`a ${brand} PAN cannot have ${pan.length} digits (valid: ${describeLengths(lengths)})`);
  }
  if (!luhnValid(pan)) return panError('the PAN fails the Luhn check');
  return { ok: true, pan, brand };
}

function describeLengths(lengths: readonly number[]): string {
  const first = lengths[0]!;
  const last = lengths[lengths.length - 1]!;
  const contiguous = last - first === lengths.length - 1;
  return contiguous && lengths.length > 2 ? `${first}-${last}` : lengths.join(', ');
}

/**
 * The card token: keyed HMAC-SHA256 of the normalized PAN, lowercase hex (64 chars).
 * Same PAN and key, same token, whatever spaces or dashes it was typed with. Throws on an empty key.
 */
export function tokenizePan(pan: string, key: Uint8Array): string {
  if (key.length === 0) throw new RangeError('tokenizePan needs a non-empty key');
  return createHmac('sha256', key).update(normalizePan(pan), 'utf8').digest('hex');
}

/** '411111******1111': always six stars, whatever the real length, so the mask leaks nothing. */
export function panDisplay(first6: string, last4: string): string {
  return `${first6}******${last4}`;
}

export function maskCard(card: Pick<Card, 'first6' | 'last4'>): string {
  return panDisplay(card.first6, card.last4);
}

export type ExpiryCheck = { ok: true; month: number; year: number } | { ok: false; message: string };

const EXPIRY_RE = /^(0[1-9]|1[0-2])\/(\d{2}|20\d{2})$/;

/** 'MM/YY' or 'MM/YYYY' (2000-2099); month 01-12 with its leading zero; YY means 20YY. */
export function parseExpiry(text: string): ExpiryCheck {
  const match = EXPIRY_RE.exec(text);
  if (match === null) return { ok: false, message: 'expiry must be MM/YY or MM/YYYY with month 01-12' };
  const month = Number(match[1]);
  const yearText = match[2]!;
  const year = yearText.length === 2 ? 2000 + Number(yearText) : Number(yearText);
  return { ok: true, month, year };
}

/**
 * Whether the card has expired at `nowMs`: a card is good through the last millisecond of its expiry month,
 * UTC. An expiry that does not parse counts as expired (fail closed).
 */
export function isExpired(expiry: string, nowMs: number): boolean {
  const parsed = parseExpiry(expiry);
  if (!parsed.ok) return true;
  // Date.UTC months are 0-based, so `month` (1-based) is the first instant of the following month.
  return nowMs >= Date.UTC(parsed.year, parsed.month, 1);
}

/**
 * Names of card-verification fields, normalized (lowercase, without '_', '-', '.' or spaces).
 * findCvvField also flags any key containing 'cvv' or 'cvc' (cardCvv, cvv_code, ...) and any key starting
 * with 'cardverification'.
 */
export const CVV_FIELD_NAMES: readonly string[] = Object.freeze([
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'cid',
  'cav2',
  'cvn',
  'cvn2',
  'cvd',
  'csc',
  'cvk',
  'securitycode',
  'cardsecuritycode',
  'cardverification',
  'cardverificationcode',
  'cardverificationvalue',
  'verificationcode',
  'verificationvalue',
]);

const CVV_NAME_SET: ReadonlySet<string> = new Set(CVV_FIELD_NAMES);
const KEY_NOISE_RE = /[-_.\s]/g;

function isCvvKey(key: string): boolean {
  const k = key.replace(KEY_NOISE_RE, '').toLowerCase();
  return CVV_NAME_SET.has(k) || k.includes('cvv') || k.includes('cvc') || k.startsWith('cardverification');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The first CVV-like key, case-insensitive: top-level keys first, then one level down into object values
 * (reported as 'card.cvv'). Arrays are not searched. The key's presence is enough, whatever its value.
 */
export function findCvvField(obj: Record<string, unknown>): string | undefined {
  for (const key in obj) {
    if (Object.hasOwn(obj, key) && isCvvKey(key)) return key;
  }
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    const inner = obj[key];
    if (!isPlainObject(inner)) continue;
    for (const innerKey in inner) {
      if (Object.hasOwn(inner, innerKey) && isCvvKey(innerKey)) return `${key}.${innerKey}`;
    }
  }
  return undefined;
}

/**
 * Whether the whole text is a plausible PAN: 12-19 digits once spaces and dashes are stripped, passing Luhn.
 * For scrubbing logs and recordings: it errs on the side of scrubbing (see redactPans for free text).
 */
export function looksLikePan(text: string): boolean {
  if (text.length > 64) return false;
  const digits = normalizePan(text);
  return PAN_DIGITS_RE.test(digits) && luhnValid(digits);
}

const PAN_IN_TEXT_RE = /(?<![\d])\d(?:[ -]?\d){11,18}(?![\d])/g;

/** Replaces every PAN-looking run of digits in free text (12-19 digits passing Luhn) with a mask. */
export function redactPans(text: string): string {
  return text.replace(PAN_IN_TEXT_RE, (run) => {
    if (!looksLikePan(run)) return run;
    const digits = normalizePan(run);
    return panDisplay(digits.slice(0, 6), digits.slice(-4));
  });
}
