// Card numbers without keeping them: Luhn, brand and length rules, tokens, masks, expiry and CVV detection.
import { hmacSha256 } from './hmac.ts';
import type { RejectReason } from './reasons.ts';
import { type Card, type CardBrand, WIRE_BATCH_HEADER_FIELDS, WIRE_ORDER_FIELDS } from './types.ts';

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
  | { ok: false; reason: Extract<RejectReason, 'invalid_pan'>; message: string };

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
  return hmacSha256(key, '', normalizePan(pan), 'hex');
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

// ---------------------------------------------------------------------------------------------------------
// Sensitive authentication data (PCI DSS 3.3: never stored after authorization, so never accepted here):
// card verification codes, track data, PINs and PIN blocks.

/**
 * Names of card-verification fields, normalized (lowercase letters and digits only: 'Security-Code',
 * 'security_code' and 'SECURITY CODE' are all 'securitycode'). isSadKey also flags any key containing 'cvv',
 * 'cvc' or 'securitycode', and any key starting with 'cardverification'.
 */
export const CVV_FIELD_NAMES: readonly string[] = Object.freeze([
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'cv2',
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

/**
 * Names of the other sensitive authentication data, normalized as above: track (magnetic stripe or chip
 * equivalent) data and PINs. isSadKey also flags any key containing 'track1', 'track2', 'track3',
 * 'trackdata', 'magstripe', 'magneticstripe' or 'pinblock'.
 */
export const SAD_FIELD_NAMES: readonly string[] = Object.freeze([
  'track',
  'track1',
  'track2',
  'track3',
  'trackdata',
  'magstripe',
  'magneticstripe',
  'pin',
  'pinblock',
  'pindata',
  'pincode',
  'pinnumber',
  'encryptedpin',
  'epb',
]);

/** What kind of sensitive authentication data a key or value is: a verification code, or track/PIN data. */
export type SadKind = 'cvv' | 'sad';

const CVV_NAME_SET: ReadonlySet<string> = new Set(CVV_FIELD_NAMES);
const SAD_NAME_SET: ReadonlySet<string> = new Set(SAD_FIELD_NAMES);
const CVV_PARTS = ['cvv', 'cvc', 'securitycode'] as const;
const SAD_PARTS = ['track1', 'track2', 'track3', 'trackdata', 'magstripe', 'magneticstripe', 'pinblock'] as const;
const NOT_ALNUM_ASCII_RE = /[^a-z0-9]/g;
const ASCII_RE = /^[\x00-\x7f]*$/;

/** A key as compared with the name lists: NFKC (fullwidth letters), lowercase, letters and digits only. */
function normalizeKey(key: string): string {
  const ascii = ASCII_RE.test(key) ? key : key.normalize('NFKC');
  return ascii.toLowerCase().replace(NOT_ALNUM_ASCII_RE, '');
}

// Verdicts on the keys met so far: the same few extra keys come with every order, so most lookups end here.
// Bounded: once full, new keys are judged each time and not remembered.
const keyVerdicts = new Map<string, SadKind | null>();
const KEY_VERDICTS_MAX = 1024;

/** Whether a field name names sensitive authentication data, in any letter case or separator style. */
export function isSadKey(key: string): SadKind | undefined {
  const known = keyVerdicts.get(key);
  if (known !== undefined) return known ?? undefined;
  const verdict = judgeKey(key);
  if (keyVerdicts.size < KEY_VERDICTS_MAX && key.length <= 64) keyVerdicts.set(key, verdict ?? null);
  return verdict;
}

function judgeKey(key: string): SadKind | undefined {
  if (key.length > 256) return undefined;
  const k = normalizeKey(key);
  if (k.length === 0) return undefined;
  if (CVV_NAME_SET.has(k) || k.startsWith('cardverification')) return 'cvv';
  for (const part of CVV_PARTS) if (k.includes(part)) return 'cvv';
  if (SAD_NAME_SET.has(k)) return 'sad';
  for (const part of SAD_PARTS) if (k.includes(part)) return 'sad';
  return undefined;
}

// Track 1: format code B, the PAN, ^, the name, ^, expiry YYMM. Track 2: the PAN, =, expiry YYMM. Sentinels
// (% ; ?) optional, since they are often stripped. The PAN must pass Luhn: then it is clearly track data.
const TRACK1_RE = /B(\d{12,19})\^[^^]{0,26}\^\d{4}/;
const TRACK2_RE = /(?<!\d)(\d{12,19})[=D]\d{4}/;
const TOKEN_RE = /^[0-9a-fA-F]{64}$/;

/** Whether a string holds magnetic-stripe track data (track 1 or 2 layout around a Luhn-valid PAN). */
export function looksLikeTrackData(text: string): boolean {
  // cheap first: every track layout needs a '^' or a '=' (or a 'D' separator in the chip equivalent)
  if (text.length < 17) return false;
  const caret = text.indexOf('^') !== -1;
  const separator = text.indexOf('=') !== -1 || text.indexOf('D') !== -1;
  if (!caret && !separator) return false;
  // a card token (64 hex characters, 'D' among them when uppercase) is never track data
  if (text.length === 64 && TOKEN_RE.test(text)) return false;
  if (caret) {
    const m = TRACK1_RE.exec(text);
    if (m !== null && luhnValid(m[1]!)) return true;
  }
  if (separator) {
    const m = TRACK2_RE.exec(text);
    if (m !== null && luhnValid(m[1]!)) return true;
  }
  return false;
}

/** The fields of an order or a batch header, which are never sensitive names: the walk skips their names. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set<string>([...WIRE_ORDER_FIELDS, ...WIRE_BATCH_HEADER_FIELDS]);

/** Where sensitive authentication data was found: its kind and a path fit to report (no PAN, bounded). */
export interface SadFinding {
  kind: SadKind;
  /** e.g. 'payment.cards[0].cvv'; PAN runs redacted, at most PATH_CHARS_MAX characters */
  path: string;
}

const PATH_CHARS_MAX = 100;

interface WalkFrame {
  value: unknown;
  parent: WalkFrame | undefined;
  step: string;
}

function pushed(stack: WalkFrame[] | undefined, frame: WalkFrame): WalkFrame[] {
  if (stack === undefined) return [frame];
  stack.push(frame);
  return stack;
}

/** The root's frame: its step is never part of a path (pathOf stops at the frame without a parent). */
const ROOT_FRAME: WalkFrame = { value: undefined, parent: undefined, step: '' };

function pathOf(frame: WalkFrame | undefined, last: string): string {
  const steps = [last];
  for (let f = frame; f !== undefined && f.parent !== undefined; f = f.parent) steps.push(f.step);
  let path = '';
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    path += step.startsWith('[') || path === '' ? step : `.${step}`;
    if (path.length > PATH_CHARS_MAX) break;
  }
  const clean = replacePanRuns(path, () => '[PAN]');
  return clean.length > PATH_CHARS_MAX ? `${clean.slice(0, PATH_CHARS_MAX - 1)}…` : clean;
}

/**
 * The first sensitive authentication data in a decoded JSON value, at any depth: a key naming it (any case or
 * separator style, inside objects and arrays) or a string (value or key) holding track data. One iterative
 * pass with an explicit stack, no recursion; a plain order (known field names, flat string values) costs one
 * Set lookup and one or two indexOf a field. The key's presence is enough, whatever its value.
 */
export function findSensitiveAuthData(root: unknown): SadFinding | undefined {
  if (typeof root === 'string') return looksLikeTrackData(root) ? { kind: 'sad', path: '' } : undefined;
  if (typeof root !== 'object' || root === null) return undefined;
  // the root is walked without a frame, and the stack made only once a nested value is met: a flat order allocates nothing
  let stack: WalkFrame[] | undefined;
  let frame = ROOT_FRAME;
  let value: unknown = root;
  for (;;) {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (typeof item === 'string') {
          if (looksLikeTrackData(item)) return { kind: 'sad', path: pathOf(frame, `[${i}]`) };
        } else if (typeof item === 'object' && item !== null) {
          stack = pushed(stack, { value: item, parent: frame, step: `[${i}]` });
        }
      }
    } else {
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key)) continue;
        if (!KNOWN_FIELDS.has(key)) {
          const kind = isSadKey(key) ?? (looksLikeTrackData(key) ? 'sad' : undefined);
          if (kind !== undefined) return { kind, path: pathOf(frame, key) };
        }
        const inner = record[key];
        if (typeof inner === 'string') {
          if (looksLikeTrackData(inner)) return { kind: 'sad', path: pathOf(frame, key) };
        } else if (typeof inner === 'object' && inner !== null) {
          stack = pushed(stack, { value: inner, parent: frame, step: key });
        }
      }
    }
    const next = stack?.pop();
    if (next === undefined) return undefined;
    frame = next;
    value = next.value;
  }
}

/** How an order or a batch header carrying sensitive authentication data is refused: its reason and message. */
export function sadRefusal(sad: SadFinding): { reason: Extract<RejectReason, 'cvv_forbidden' | 'sad_forbidden'>; message: string } {
  return sad.kind === 'cvv'
    ? { reason: 'cvv_forbidden', message: `${sad.path}: CVV/CVC must never be sent` }
    : { reason: 'sad_forbidden', message: `${sad.path}: track data and PINs must never be sent` };
}

/**
 * The first CVV-like or other sensitive-authentication-data key or value at any depth, as a path
 * ('card.cvv', 'items[0].track2'); see findSensitiveAuthData.
 */
export function findCvvField(obj: Record<string, unknown>): string | undefined {
  return findSensitiveAuthData(obj)?.path;
}

// ---------------------------------------------------------------------------------------------------------
// PANs in free text: runs of 12-19 decimal digits passing Luhn, wherever they stand.

/** ISO/IEC 7812 lengths: the shortest PAN any brand issues (Maestro) and the longest. */
export const PAN_DIGITS_MIN = 12;
export const PAN_DIGITS_MAX = 19;
/** A card token (tokenizePan) is this many hex characters; a run of exactly this many is never taken for a PAN. */
const TOKEN_HEX_CHARS = 64;

const ND_RE = /^\p{Nd}$/u;
/** Values of the non-ASCII decimal digits met so far, by code point (bounded: Unicode has under 700). */
const unicodeDigitValues = new Map<number, number>();

function isUnicodeDigit(codePoint: number): boolean {
  return ND_RE.test(String.fromCodePoint(codePoint));
}

/**
 * The value 0-9 of a decimal digit in any script (ASCII, Arabic-Indic, Devanagari, fullwidth, mathematical...),
 * or -1. Unicode lays out every script's decimal digits (\p{Nd}) as runs of 0-9, some runs back to back (the
 * mathematical digits: five runs), so the value is the distance to the start of the run, modulo 10.
 */
export function digitValue(codePoint: number): number {
  if (codePoint >= 48 && codePoint <= 57) return codePoint - 48;
  if (codePoint < 0x660) return -1;
  const known = unicodeDigitValues.get(codePoint);
  if (known !== undefined) return known;
  if (!isUnicodeDigit(codePoint)) return -1;
  let first = codePoint;
  while (first > 0x660 && codePoint - first < 60 && isUnicodeDigit(first - 1)) first--;
  const value = (codePoint - first) % 10;
  unicodeDigitValues.set(codePoint, value);
  return value;
}

const SEPARATOR_RE = /^[\p{Zs}\p{Pd}\p{Cf}\s]$/u;
const SEPARATOR_NFKC = new Set([' ', '-', '.', '/', '_']);

/**
 * Whether a character may stand between digit groups of a PAN: ASCII space, tab, '-', '.', '/', '_', any
 * Unicode space (NBSP, thin space...), dash or invisible format character (soft hyphen, zero-width space),
 * and what NFKC maps to one of these (fullwidth full stop, one-dot leader...).
 */
function isSeparator(cp: number): boolean {
  if (cp < 0x80) return cp === 32 || cp === 9 || cp === 45 || cp === 46 || cp === 47 || cp === 95;
  const ch = String.fromCodePoint(cp);
  return SEPARATOR_RE.test(ch) || SEPARATOR_NFKC.has(ch.normalize('NFKC')) || cp === 0x2212 || cp === 0x2044 || cp === 0x2215;
}

/** How many separator characters may stand between two digit groups of one PAN ('4111 - 1111' has three). */
const SEPARATOR_CHARS_MAX = 3;

function isAsciiHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** A PAN found in text: [start, end) in UTF-16 code units, and its digits in ASCII. */
export interface PanRun {
  start: number;
  end: number;
  digits: string;
}

interface Group {
  start: number;
  end: number;
  digits: string;
}

/**
 * Whether ASCII digits are a card number: 12-19 of them passing Luhn, with a card issuer's prefix: a first
 * digit 3-6 (travel and entertainment, banking, merchandising: Amex, Diners, JCB, Visa, Mastercard, Maestro,
 * Discover, UnionPay), or a brand's 2 or 8 range (Mir 2200-2204, Mastercard 2221-2720, UnionPay 81). Any length
 * from 12 to 19, whatever the brand issues: a number one digit short is still card data. `anyIssuer` drops
 * the prefix rule, for fields that name a PAN. The prefix rule keeps ids like 'ord-1764583200123' (an epoch-ms
 * time, which passes Luhn one time in ten) or 'inv-20261125-00123' from reading as a PAN: no card issuer's
 * numbers start with 0, 1, 7, 9, 20 or 21.
 */
export function isCardNumber(digits: string, anyIssuer = false): boolean {
  if (digits.length < PAN_DIGITS_MIN || digits.length > PAN_DIGITS_MAX || !luhnValid(digits)) return false;
  if (anyIssuer) return true;
  const first = digits.charCodeAt(0) - ZERO;
  if (first >= 3 && first <= 6) return true;
  return detectBrand(digits) !== 'unknown';
}

/** Adds to `out` the PANs among a run's digit groups: windows of whole groups, longest first, left to right. */
function pansInGroups(groups: Group[], out: PanRun[], anyIssuer: boolean): void {
  let a = 0;
  while (a < groups.length) {
    let found: PanRun | undefined;
    let digits = '';
    let b = a;
    for (; b < groups.length; b++) {
      digits += groups[b]!.digits;
      if (digits.length > PAN_DIGITS_MAX) break;
      if (isCardNumber(digits, anyIssuer)) found = { start: groups[a]!.start, end: groups[b]!.end, digits };
    }
    if (found === undefined) {
      a++;
      continue;
    }
    out.push(found);
    while (a < groups.length && groups[a]!.start < found.end) a++;
  }
}

/**
 * Every PAN in `text`: a run of 12-19 decimal digits (any script) that isCardNumber (Luhn and a card issuer's
 * prefix, unless `anyIssuer`), whatever stands around it (letters included: 'xx4900000000000169yy'), its digit
 * groups joined by 1-3 separators (spaces of any kind, dashes, dots, slashes, underscores, invisible
 * characters: '4111 - 1111'). A run of more than 19 digits with no separator is a number, not a PAN; where
 * separators split a longer run, any window of whole groups with 12-19 digits counts ('4111 1111 1111 1111
 * 2026'). A run of exactly 64 ASCII hex characters is a card token and skipped whole.
 */
export function findPanRuns(text: string, anyIssuer = false): PanRun[] {
  return mayHoldPan(text) ? scanPanRuns(text, anyIssuer) : [];
}

// Apart from findPanRuns so that text failing mayHoldPan costs no allocation: this function's closure context
// is created on entry.
function scanPanRuns(text: string, anyIssuer: boolean): PanRun[] {
  const out: PanRun[] = [];
  const groups: Group[] = [];
  let group: Group | undefined;
  const flush = () => {
    if (group !== undefined) {
      groups.push(group);
      group = undefined;
    }
    if (groups.length > 0) {
      pansInGroups(groups, out, anyIssuer);
      groups.length = 0;
    }
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    // a card token is skipped whole, so its digits never read as a PAN
    if (isAsciiHex(c) && (i === 0 || !isAsciiHex(text.charCodeAt(i - 1)))) {
      let j = i + 1;
      while (j < n && isAsciiHex(text.charCodeAt(j))) j++;
      if (j - i === TOKEN_HEX_CHARS) {
        flush();
        i = j;
        continue;
      }
    }
    const cp = c >= 0xd800 && c <= 0xdbff ? (text.codePointAt(i) ?? c) : c;
    const width = cp > 0xffff ? 2 : 1;
    const d = digitValue(cp);
    if (d >= 0) {
      if (group === undefined) group = { start: i, end: i + width, digits: '' };
      group.digits += String.fromCharCode(48 + d);
      group.end = i + width;
      i += width;
      continue;
    }
    if (group !== undefined && isSeparator(cp)) {
      // up to SEPARATOR_CHARS_MAX separators between two digits ('4111 1111', '4111 - 1111'): the run goes on
      let j = i + width;
      let count = 1;
      while (j < n && count < SEPARATOR_CHARS_MAX) {
        const next = text.codePointAt(j)!;
        if (!isSeparator(next)) break;
        j += next > 0xffff ? 2 : 1;
        count++;
      }
      if (j < n && digitValue(text.codePointAt(j)!) >= 0) {
        groups.push(group);
        group = undefined;
        i = j;
        continue;
      }
    }
    flush();
    i += width;
  }
  flush();
  return out;
}

/** Cheap test first: fewer than 12 ASCII digits and nothing outside ASCII cannot hold a PAN. */
function mayHoldPan(text: string): boolean {
  if (text.length < PAN_DIGITS_MIN) return false;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits >= PAN_DIGITS_MIN) return true;
    } else if (c >= 0x80) return true;
  }
  return false;
}

/** Whether `text` holds a PAN anywhere (see findPanRuns); most text fails the cheap mayHoldPan test, allocating nothing. */
export function containsPan(text: string): boolean {
  return mayHoldPan(text) && scanPanRuns(text, false).length > 0;
}

/** `text` with every PAN (see findPanRuns) replaced by what `replace` makes of it. */
export function replacePanRuns(text: string, replace: (run: PanRun) => string): string {
  if (!mayHoldPan(text)) return text;
  const runs = scanPanRuns(text, false);
  if (runs.length === 0) return text;
  let out = '';
  let copied = 0;
  for (const run of runs) {
    out += text.slice(copied, run.start) + replace(run);
    copied = run.end;
  }
  return out + text.slice(copied);
}

/**
 * Whether the whole text is a plausible PAN: one run of 12-19 digits (any script, groups joined by
 * separators, see findPanRuns) passing Luhn, whatever its issuer. For a field that names a PAN (`pan`): it
 * errs on the side of scrubbing, as checkPan accepts numbers of no known brand.
 */
export function looksLikePan(text: string): boolean {
  if (text.length > 64) return false;
  const runs = findPanRuns(text, true);
  return runs.length === 1 && runs[0]!.start === 0 && runs[0]!.end === text.length;
}

/** Replaces every PAN in free text (see findPanRuns) with its mask, first six and last four digits. */
export function redactPans(text: string): string {
  return replacePanRuns(text, (run) => panDisplay(run.digits.slice(0, 6), run.digits.slice(-4)));
}
