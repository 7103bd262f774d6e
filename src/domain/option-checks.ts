// What every options parse shares: defaults filled for what is missing, and for each kind of bound one check
// and one sentence. A flag's parser (src/cli/args.ts) and an options object's parse function both ask these,
// so a bound said once is checked and worded the same wherever a value enters.

import type { CliErrorCode } from './reasons.ts';

/** A closed range: both ends inclusive. */
export interface Bounds {
  readonly min: number;
  readonly max: number;
}

/** An option outside its bounds, of an unknown name, or contradicting another: the caller's mistake. */
export class OptionsError extends RangeError {
  override name = 'OptionsError';
  readonly code: CliErrorCode = 'usage';
}

export function isWholeWithin(value: unknown, bounds: Bounds): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= bounds.min && value <= bounds.max;
}

export function wholeWithinText(bounds: Bounds): string {
  return `must be a whole number within ${bounds.min}..${bounds.max}`;
}

/** A decimal above 0 and at most `max` (never NaN or Infinity). */
export function isAboveZeroAtMost(value: unknown, max: number): value is number {
  return typeof value === 'number' && value > 0 && value <= max;
}

export function aboveZeroAtMostText(max: number): string {
  return `must be a number above 0 and at most ${max}`;
}

/** A share: a decimal within 0..1. */
export function isShare(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 1;
}

export const SHARE_TEXT = 'must be a number within 0..1';

/** `value` when it is a whole number within `bounds`; else OptionsError naming the option and the value. */
export function wholeOption(name: string, value: unknown, bounds: Bounds): number {
  if (!isWholeWithin(value, bounds)) throw new OptionsError(`${name} ${wholeWithinText(bounds)}, got ${String(value)}`);
  return value;
}

/** `value` when it is above 0 and at most `max`; else OptionsError naming the option and the value. */
export function aboveZeroOption(name: string, value: unknown, max: number): number {
  if (!isAboveZeroAtMost(value, max)) throw new OptionsError(`${name} ${aboveZeroAtMostText(max)}, got ${String(value)}`);
  return value;
}

/** A rate or speed: above 0 and at most `max`, or Infinity (as fast as possible). */
export function rateOption(name: string, value: unknown, max: number): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  if (!isAboveZeroAtMost(value, max)) throw new OptionsError(`${name} ${aboveZeroAtMostText(max)}, or max, got ${String(value)}`);
  return value;
}

/** `value` when it is a share within 0..1; else OptionsError. */
export function shareOption(name: string, value: unknown): number {
  if (!isShare(value)) throw new OptionsError(`${name} ${SHARE_TEXT}, got ${String(value)}`);
  return value;
}

/** `value` when it is one of `choices`; else OptionsError listing them. */
export function choiceOption<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    const list = choices.length > 2 ? `one of ${choices.join(', ')}` : choices.join(' or ');
    throw new OptionsError(`${name} must be ${list}, got ${String(value)}`);
  }
  return value as T;
}


/** `defaults` with every option `partial` gives: one given as undefined takes its default. */
export function withDefaults<T extends object>(defaults: T, partial: Partial<T>): T {
  const given = Object.entries(partial).filter(([, value]) => value !== undefined);
  return { ...defaults, ...Object.fromEntries(given) } as T;
}
