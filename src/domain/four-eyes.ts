// Four eyes on money made by hand (maker-checker): which manual deposits and withdrawals wait for a second
// operator, and the pending posting they become. Pure: the options are parsed once, at the edge.

import { currencyExponent, parseAmount } from './money.ts';

export interface FourEyesOptions {
  /** per currency: an amount above this (minor units) waits for a second operator */
  aboveMinor: ReadonlyMap<string, bigint>;
  /** for currencies not listed: a whole number of the currency's major units; undefined = never */
  otherwiseMajor?: bigint;
  /** how long a pending posting waits for its approval @default 24 h */
  lapseMs: number;
}

/**
 * The default: above 10,000.00 in USD, EUR, GBP, CHF, CAD, AUD; 1,500,000 JPY; 70,000.00 CNY; above 10,000
 * major units in any other currency.
 */
export const DEFAULT_FOUR_EYES_SPEC = 'USD=10000.00,EUR=10000.00,GBP=10000.00,CHF=10000.00,CAD=10000.00,AUD=10000.00,JPY=1500000,CNY=70000.00,*=10000';
/** @default 24 h */
export const DEFAULT_FOUR_EYES_LAPSE_MS = 24 * 3_600_000;
/** a pending posting waits at most 30 days */
export const FOUR_EYES_LAPSE_MS_MAX = 30 * 24 * 3_600_000;
/** the spec lists at most this many currencies */
const SPEC_ENTRIES_MAX = 200;

export type FourEyesParse = { ok: true; options: FourEyesOptions } | { ok: false; message: string };

/**
 * `CCY=amount,...` (amount a decimal string in the currency's own exponent; `*=N` a whole number of major
 * units for every currency not listed), or `none` (no manual posting waits). `lapse`: 30s, 15m, 24h, 7d.
 */
export function parseFourEyes(spec: string = DEFAULT_FOUR_EYES_SPEC, lapse = '24h'): FourEyesParse {
  const lapseMs = parseDuration(lapse);
  if (lapseMs === undefined || lapseMs <= 0 || lapseMs > FOUR_EYES_LAPSE_MS_MAX) {
    return { ok: false, message: `four-eyes lapse ${JSON.stringify(lapse)} must be a duration within 1s..30d (e.g. 24h)` };
  }
  const aboveMinor = new Map<string, bigint>();
  if (spec.trim().toLowerCase() === 'none') return { ok: true, options: { aboveMinor, lapseMs } };
  const parts = spec.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0 || parts.length > SPEC_ENTRIES_MAX) return { ok: false, message: `four-eyes thresholds: 1..${SPEC_ENTRIES_MAX} entries of CCY=amount, or none` };
  let otherwiseMajor: bigint | undefined;
  for (const part of parts) {
    const m = /^([A-Za-z]{3}|\*)=(\S+)$/.exec(part);
    if (!m) return { ok: false, message: `four-eyes threshold ${JSON.stringify(part)} is not CCY=amount` };
    const currency = m[1]!.toUpperCase();
    if (currency === '*') {
      if (!/^\d{1,15}$/.test(m[2]!)) return { ok: false, message: `four-eyes threshold *=${m[2]}: a whole number of major units` };
      otherwiseMajor = BigInt(m[2]!);
      continue;
    }
    if (currencyExponent(currency) === undefined) return { ok: false, message: `four-eyes threshold: unknown currency ${currency}` };
    if (aboveMinor.has(currency)) return { ok: false, message: `four-eyes threshold: ${currency} given twice` };
    const amount = m[2] === '0' ? ({ ok: true, amountMinor: 0n } as const) : parseAmount(m[2], currency);
    if (!amount.ok) return { ok: false, message: `four-eyes threshold ${part}: ${amount.reason.replaceAll('_', ' ')}` };
    aboveMinor.set(currency, amount.amountMinor);
  }
  return { ok: true, options: otherwiseMajor === undefined ? { aboveMinor, lapseMs } : { aboveMinor, otherwiseMajor, lapseMs } };
}

/** Whether a manual posting of this amount waits for a second operator. */
export function needsSecondOperator(options: FourEyesOptions, currency: string, amountMinor: bigint): boolean {
  const listed = options.aboveMinor.get(currency);
  if (listed !== undefined) return amountMinor > listed;
  if (options.otherwiseMajor === undefined) return false;
  const exponent = currencyExponent(currency) ?? 2;
  return amountMinor > options.otherwiseMajor * 10n ** BigInt(exponent);
}

/** 30s, 15m, 24h, 7d (whole numbers); undefined otherwise. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})(s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export type PostingKind = 'deposit' | 'withdrawal';
export type PostingStatus = 'pending' | 'approved' | 'rejected' | 'lapsed';

/** A manual posting waiting for (or decided by) its checker. */
export interface Posting {
  id: string;
  kind: PostingKind;
  accountId: string;
  amountMinor: bigint;
  currency: string;
  /** the maker's actor id */
  madeBy: string;
  createdAtMs: number;
  expiresAtMs: number;
  status: PostingStatus;
  decidedBy?: string;
  decidedAtMs?: number;
  transferId?: string;
}

/** What a checker may do with a posting now: the refusal's code, or undefined when the decision may go ahead. */
export function checkDecision(posting: Posting, checkerId: string, nowMs: number): 'not_pending' | 'posting_lapsed' | 'same_operator' | undefined {
  if (posting.status !== 'pending') return 'not_pending';
  if (nowMs > posting.expiresAtMs) return 'posting_lapsed';
  if (checkerId === posting.madeBy) return 'same_operator';
  return undefined;
}

export const encodePosting = (p: Posting): string => JSON.stringify({ ...p, amountMinor: p.amountMinor.toString() });
export function decodePosting(text: string): Posting {
  const s = JSON.parse(text) as Omit<Posting, 'amountMinor'> & { amountMinor: string };
  if (!/^\d+$/.test(s.amountMinor)) throw new RangeError(`posting ${s.id}: amount is not an integer`);
  return { ...s, amountMinor: BigInt(s.amountMinor) };
}

/** From the environment: PAYSTREAM_FOUR_EYES_ABOVE (the thresholds, default DEFAULT_FOUR_EYES_SPEC), PAYSTREAM_FOUR_EYES_LAPSE (default 24h). */
export function fourEyesFromEnv(env: Record<string, string | undefined>): FourEyesParse {
  return parseFourEyes(env.PAYSTREAM_FOUR_EYES_ABOVE || DEFAULT_FOUR_EYES_SPEC, env.PAYSTREAM_FOUR_EYES_LAPSE || '24h');
}
