// Money at the edge: parse decimal strings into bigint minor units by ISO 4217 exponent, and format them back.
import { Decimal } from 'decimal.js';
import type { RejectReason } from './reasons.ts';

/**
 * Active ISO 4217 codes and their minor-unit exponents (digits after the decimal point).
 * Funds codes (CLF, UYW, BOV, ...), precious metals and testing codes (XAU, XTS, XXX) are left out on purpose:
 * cards are never charged in them. MGA and MRU are listed with exponent 2 as ISO 4217 does.
 */
// biome-ignore format: a dense table reads better than 160 lines
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  AED: 2, AFN: 2, ALL: 2, AMD: 2, ANG: 2, AOA: 2, ARS: 2, AUD: 2, AWG: 2, AZN: 2,
  BAM: 2, BBD: 2, BDT: 2, BGN: 2, BHD: 3, BIF: 0, BMD: 2, BND: 2, BOB: 2, BRL: 2, BSD: 2, BTN: 2, BWP: 2,
  BYN: 2, BZD: 2,
  CAD: 2, CDF: 2, CHF: 2, CLP: 0, CNY: 2, COP: 2, CRC: 2, CUP: 2, CVE: 2, CZK: 2,
  DJF: 0, DKK: 2, DOP: 2, DZD: 2,
  EGP: 2, ERN: 2, ETB: 2, EUR: 2,
  FJD: 2, FKP: 2,
  GBP: 2, GEL: 2, GHS: 2, GIP: 2, GMD: 2, GNF: 0, GTQ: 2, GYD: 2,
  HKD: 2, HNL: 2, HTG: 2, HUF: 2,
  IDR: 2, ILS: 2, INR: 2, IQD: 3, IRR: 2, ISK: 0,
  JMD: 2, JOD: 3, JPY: 0,
  KES: 2, KGS: 2, KHR: 2, KMF: 0, KPW: 2, KRW: 0, KWD: 3, KYD: 2, KZT: 2,
  LAK: 2, LBP: 2, LKR: 2, LRD: 2, LSL: 2, LYD: 3,
  MAD: 2, MDL: 2, MGA: 2, MKD: 2, MMK: 2, MNT: 2, MOP: 2, MRU: 2, MUR: 2, MVR: 2, MWK: 2, MXN: 2, MYR: 2,
  MZN: 2,
  NAD: 2, NGN: 2, NIO: 2, NOK: 2, NPR: 2, NZD: 2,
  OMR: 3,
  PAB: 2, PEN: 2, PGK: 2, PHP: 2, PKR: 2, PLN: 2, PYG: 0,
  QAR: 2,
  RON: 2, RSD: 2, RUB: 2, RWF: 0,
  SAR: 2, SBD: 2, SCR: 2, SDG: 2, SEK: 2, SGD: 2, SHP: 2, SLE: 2, SOS: 2, SRD: 2, SSP: 2, STN: 2, SVC: 2,
  SYP: 2, SZL: 2,
  THB: 2, TJS: 2, TMT: 2, TND: 3, TOP: 2, TRY: 2, TTD: 2, TWD: 2, TZS: 2,
  UAH: 2, UGX: 0, USD: 2, UYU: 2, UZS: 2,
  VES: 2, VND: 0, VUV: 0,
  WST: 2,
  XAF: 0, XCD: 2, XCG: 2, XOF: 0, XPF: 0,
  YER: 2,
  ZAR: 2, ZMW: 2, ZWG: 2,
});

/** The exponent of an ISO 4217 code paystream knows (uppercase only), else undefined. */
export function currencyExponent(code: string): number | undefined {
  // Object.hasOwn keeps 'toString', '__proto__' and friends out.
  return Object.hasOwn(CURRENCY_EXPONENTS, code) ? CURRENCY_EXPONENTS[code] : undefined;
}

/** Largest accepted amount in minor units (inclusive): anything beyond is a typo or an attack. */
export const AMOUNT_MINOR_MAX: bigint = 10n ** 15n;

/** Longest amount string looked at: keeps BigInt() away from megabyte-long digit runs. */
const AMOUNT_CHARS_MAX = 40;

/** Why an amount string is refused: the reject reasons parseAmount gives. */
export type AmountReason = Extract<
  RejectReason,
  'amount_not_string' | 'invalid_amount' | 'amount_too_precise' | 'amount_out_of_range' | 'unknown_currency'
>;

export type ParseAmountResult = { ok: true; amountMinor: bigint } | { ok: false; reason: AmountReason };

// Strict grammar: optional '-', digits, optional '.' followed by at least one digit. Nothing else.
const AMOUNT_RE = /^(-?)(\d+)(?:\.(\d+))?$/;
const TRAILING_ZEROS_RE = /^0*$/;

const NOT_STRING: ParseAmountResult = Object.freeze({ ok: false, reason: 'amount_not_string' });
const INVALID: ParseAmountResult = Object.freeze({ ok: false, reason: 'invalid_amount' });
const TOO_PRECISE: ParseAmountResult = Object.freeze({ ok: false, reason: 'amount_too_precise' });
const OUT_OF_RANGE: ParseAmountResult = Object.freeze({ ok: false, reason: 'amount_out_of_range' });
const UNKNOWN_CURRENCY: ParseAmountResult = Object.freeze({ ok: false, reason: 'unknown_currency' });

/**
 * Parses a decimal amount string into minor units of `currency`. Checks, in this order:
 * 1. not a string (a JSON number, null, ...) -> amount_not_string
 * 2. currency unknown -> unknown_currency
 * 3. grammar `-?\d+(\.\d+)?`, at most 40 chars (no '+', exponent, spaces, leading or trailing '.') -> invalid_amount
 * 4. a leading '-' -> amount_out_of_range (the sign is the problem, whatever the digits)
 * 5. more decimals than the exponent -> amount_too_precise, unless the extra digits are all zeros
 *    ("12.500" USD is 1250: the value is exact, so refusing it would only punish formatting)
 * 6. zero or above AMOUNT_MINOR_MAX -> amount_out_of_range
 * Leading zeros ("007.50") are accepted: the value is unambiguous.
 */
export function parseAmount(value: unknown, currency: string): ParseAmountResult {
  if (typeof value !== 'string') return NOT_STRING;
  const exponent = currencyExponent(currency);
  if (exponent === undefined) return UNKNOWN_CURRENCY;
  if (value.length > AMOUNT_CHARS_MAX) return INVALID;
  const match = AMOUNT_RE.exec(value);
  if (match === null) return INVALID;
  if (match[1] === '-') return OUT_OF_RANGE;
  const integerDigits = match[2]!;
  let fraction = match[3] ?? '';
  if (fraction.length > exponent) {
    if (!TRAILING_ZEROS_RE.test(fraction.slice(exponent))) return TOO_PRECISE;
    fraction = fraction.slice(0, exponent);
  } else if (fraction.length < exponent) {
    fraction = fraction.padEnd(exponent, '0');
  }
  const amountMinor = BigInt(integerDigits + fraction);
  if (amountMinor <= 0n || amountMinor > AMOUNT_MINOR_MAX) return OUT_OF_RANGE;
  return { ok: true, amountMinor };
}

/**
 * What an amount refused by parseAmount for `reason` must be, for a message that also says what is allowed:
 * `amount "1.234" must have at most 2 decimals in USD`.
 */
export function amountRuleText(reason: AmountReason, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === undefined || reason === 'unknown_currency') return `cannot be in ${currency}: not an ISO 4217 currency code paystream knows`;
  switch (reason) {
    case 'amount_not_string':
      return 'must be a decimal string such as "12.50", not a JSON number';
    case 'invalid_amount':
      return 'must be a decimal such as 12.50: digits, then a point and decimals if any, nothing else';
    case 'amount_too_precise':
      return exponent === 0 ? `must be a whole number in ${currency}, which has no decimals` : `must have at most ${exponent} decimals in ${currency}`;
    case 'amount_out_of_range':
      return `must be above 0 and at most ${formatAmount(AMOUNT_MINOR_MAX, currency, { grouping: false })} ${currency}`;
  }
}

function exponentOrThrow(currency: string): number {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) throw new RangeError(`unknown currency: ${JSON.stringify(currency)}`);
  return exponent;
}

const GROUPS_OF_THREE_RE = /\B(?=(\d{3})+(?!\d))/g;

/**
 * Formats minor units as a plain decimal string with the currency's exponent:
 * 123450n USD -> "1,234.50" (grouping, the default) or "1234.50"; JPY "1,234"; KWD "1.234"; -1250n -> "-12.50".
 * Throws a RangeError on an unknown currency: that is a broken invariant, not input.
 */
export function formatAmount(
  amountMinor: bigint,
  currency: string,
  options?: { /** @default true */ grouping?: boolean },
): string {
  const exponent = exponentOrThrow(currency);
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString().padStart(exponent + 1, '0');
  let integerPart = digits.slice(0, digits.length - exponent);
  if (options?.grouping !== false) integerPart = integerPart.replace(GROUPS_OF_THREE_RE, ',');
  const fraction = exponent === 0 ? '' : `.${digits.slice(digits.length - exponent)}`;
  return `${negative ? '-' : ''}${integerPart}${fraction}`;
}

/** "1,234.50 USD": for screens and messages. */
export function formatMoney(amountMinor: bigint, currency: string): string {
  return `${formatAmount(amountMinor, currency)} ${currency}`;
}

/** Minor units to an exact Decimal in major units (built from a string, so no precision setting applies). */
export function toDecimal(amountMinor: bigint, currency: string): Decimal {
  return new Decimal(formatAmount(amountMinor, currency, { grouping: false }));
}

/** An exact Decimal in major units back to minor units; throws if it is not finite or has too many decimals. */
export function fromDecimal(value: Decimal, currency: string): bigint {
  const exponent = exponentOrThrow(currency);
  if (!value.isFinite()) throw new RangeError(`not a finite amount for ${currency}`);
  if (value.decimalPlaces() > exponent) {
    throw new RangeError(`amount has more than ${exponent} decimals for ${currency}: not representable`);
  }
  // toFixed does not round here (decimalPlaces <= exponent) and, unlike times(), ignores Decimal.precision.
  const fixed = value.toFixed(exponent);
  return BigInt(exponent === 0 ? fixed : fixed.replace('.', ''));
}
