// Every numeric (and duration) flag of every command is read by one of these parsers. Each is a commander
// argParser: a bad value throws InvalidArgumentError while commander parses the command line, so the
// command fails with the reason and exit 2 (main.ts) before it opens a ledger, connects or starts anything.

import { InvalidArgumentError } from 'commander';
import {
  type Bounds,
  SHARE_TEXT,
  aboveZeroAtMostText,
  isAboveZeroAtMost,
  isShare,
  isWholeWithin,
  wholeWithinText,
} from '../domain/option-checks.ts';
import { METRICS_PORT_BOUNDS } from '../metrics/prometheus.ts';
import { NATS_NAME_TEXT, SUBJECT_PREFIX_TEXT, isNatsName, isSubjectPrefix } from '../nats/setup.ts';
import { COUNT_MAX } from '../processor/operations.ts';

/** what a whole number flag may look like: digits, an optional minus (so "-1" is refused by range, not shape) */
const INTEGER_RE = /^-?\d{1,16}$/;
/** a plain decimal: no exponent, hex, Infinity or spaces */
const DECIMAL_RE = /^-?\d{1,16}(?:\.\d{1,9})?$/;

/** A whole number within the bounds (both inclusive). */
export function integerArg(bounds: Bounds): (value: string) => number {
  return (value) => {
    const n = INTEGER_RE.test(value) ? Number(value) : Number.NaN;
    if (!isWholeWithin(n, bounds)) throw new InvalidArgumentError(wholeWithinText(bounds));
    return n;
  };
}

/** A decimal number above 0 and at most max. */
export function positiveArg(max: number): (value: string) => number {
  return (value) => {
    const n = DECIMAL_RE.test(value) ? Number(value) : Number.NaN;
    if (!isAboveZeroAtMost(n, max)) throw new InvalidArgumentError(aboveZeroAtMostText(max));
    return n;
  };
}

/** A share: a decimal number within 0..1. */
export function shareArg(value: string): number {
  const n = DECIMAL_RE.test(value) ? Number(value) : Number.NaN;
  if (!isShare(n)) throw new InvalidArgumentError(SHARE_TEXT);
  return n;
}

/** A positive number at most max, or `max` (as fast as possible: Infinity). */
export function numberOrMaxArg(max: number): (value: string) => number {
  const positive = positiveArg(max);
  return (value) => {
    if (value === 'max') return Number.POSITIVE_INFINITY;
    try {
      return positive(value);
    } catch {
      throw new InvalidArgumentError(`${aboveZeroAtMostText(max)}, or max`);
    }
  };
}

/** A duration flag takes 1 ms up to a week. */
export const DURATION_MS_BOUNDS: Bounds = { min: 1, max: 7 * 24 * 3_600_000 };

/** A duration: a number with an optional unit (ms, s, m, h; seconds by default), above 0 and at most a week. */
export function parseDurationMs(text: string): number {
  const m = /^(\d{1,9}(?:\.\d{1,9})?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = m ? { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'] : 0;
  const ms = m ? Math.round(Number(m[1]) * unit) : Number.NaN;
  if (!isWholeWithin(ms, DURATION_MS_BOUNDS)) throw new InvalidArgumentError(`not a duration within 1ms..168h: ${text} (e.g. 500ms, 60s, 5m, 1h)`);
  return ms;
}

/** An instant: an ISO 8601 time, or a duration ago (e.g. 10m). */
export function sinceArg(text: string): Date {
  const notATime = new InvalidArgumentError(`not a time: ${text} (an ISO time or a duration ago, e.g. 10m)`);
  if (/^\d/.test(text) && !/^\d+(?:\.\d+)?(ms|s|m|h)?$/.test(text)) {
    const at = new Date(text);
    if (Number.isNaN(at.getTime())) throw notATime;
    return at;
  }
  try {
    return new Date(Date.now() - parseDurationMs(text));
  } catch {
    throw notATime;
  }
}

/** A subject prefix: one or more tokens of letters, digits, _ and - joined by dots (no wildcards, no spaces). */
export function subjectPrefixArg(value: string): string {
  if (!isSubjectPrefix(value)) throw new InvalidArgumentError(SUBJECT_PREFIX_TEXT);
  return value;
}

/** A JetStream stream prefix, a consumer name or one subject token (a batch source): letters, digits, _ and -, at most 64. */
export function nameArg(value: string): string {
  if (!isNatsName(value)) throw new InvalidArgumentError(NATS_NAME_TEXT);
  return value;
}

/** NATS server URLs, comma-separated: nats://, tls://, ws:// or wss:// with a host, or host:port. */
export function natsUrlArg(value: string): string {
  const parts = value.split(',').map((p) => p.trim());
  const ok = parts.every((part) => {
    const withScheme = /^[a-z]+:\/\//i.test(part) ? part : `nats://${part}`;
    try {
      const url = new URL(withScheme);
      return ['nats:', 'tls:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '' && (url.port === '' || Number(url.port) >= 1);
    } catch {
      return false;
    }
  });
  if (parts.length === 0 || parts.length > 16 || !ok) throw new InvalidArgumentError('must be NATS server URLs, e.g. nats://127.0.0.1:4222');
  return value;
}

/** A TCP port to listen on (a flag names one: 0, any free port, is for tests). */
export const portArg = integerArg({ min: 1, max: METRICS_PORT_BOUNDS.max });
/** the seeds of the deterministic generators */
export const SEED_BOUNDS: Bounds = { min: 0, max: 2 ** 31 - 1 };
/** A seed of the deterministic generators. */
export const seedArg = integerArg(SEED_BOUNDS);
/** --limit and --transfers of the queries: what the service accepts (1..COUNT_MAX) */
export const countArg = integerArg({ min: 1, max: COUNT_MAX });
