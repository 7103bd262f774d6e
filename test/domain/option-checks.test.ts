// The checks every options parse shares: a bound is worded the same for a flag and an options object, a
// value on the bound is taken and one past it is refused, and an option given as undefined takes its default.

import { describe, expect, it } from 'vitest';
import {
  OptionsError,
  aboveZeroOption,
  choiceOption,
  rateOption,
  shareOption,
  wholeOption,
  withDefaults,
} from '../../src/domain/option-checks.ts';

const BOUNDS = { min: 0, max: 10 };

function refusal(check: () => unknown): string {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    expect((error as OptionsError).code).toBe('usage');
    return (error as Error).message;
  }
  throw new Error('the check took the value');
}

describe('wholeOption', () => {
  it('takes whole numbers on and within the bounds', () => {
    expect(wholeOption('n', 0, BOUNDS)).toBe(0);
    expect(wholeOption('n', 10, BOUNDS)).toBe(10);
  });

  it.each([-1, 11, 2.5, Number.NaN, Number.POSITIVE_INFINITY, '5', undefined])('refuses %s, naming the option, the bounds and the value', (value) => {
    expect(refusal(() => wholeOption('bufferWaitMs', value, BOUNDS))).toBe(`bufferWaitMs must be a whole number within 0..10, got ${String(value)}`);
  });
});

describe('aboveZeroOption and rateOption', () => {
  it('take a decimal above 0 up to the maximum; a rate may also be Infinity (as fast as possible)', () => {
    expect(aboveZeroOption('--rate', 0.5, 10)).toBe(0.5);
    expect(aboveZeroOption('--rate', 10, 10)).toBe(10);
    expect(rateOption('--speed', Number.POSITIVE_INFINITY, 10)).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuse 0, negatives, NaN and values above the maximum (Infinity too, unless a rate)', () => {
    for (const value of [0, -1, Number.NaN, 10.5]) expect(refusal(() => aboveZeroOption('--rate', value, 10))).toBe(`--rate must be a number above 0 and at most 10, got ${value}`);
    expect(refusal(() => aboveZeroOption('--rate', Number.POSITIVE_INFINITY, 10))).toContain('at most 10');
    expect(refusal(() => rateOption('--speed', 0, 10))).toBe('--speed must be a number above 0 and at most 10, or max, got 0');
  });
});

describe('shareOption and choiceOption', () => {
  it('a share is within 0..1', () => {
    expect(shareOption('--trouble', 0)).toBe(0);
    expect(shareOption('--trouble', 1)).toBe(1);
    expect(refusal(() => shareOption('--trouble', 1.01))).toBe('--trouble must be a number within 0..1, got 1.01');
  });

  it('a choice is one of its list', () => {
    expect(choiceOption('mode', 'atomic', ['atomic', 'independent'])).toBe('atomic');
    expect(refusal(() => choiceOption('mode', 'all', ['atomic', 'independent']))).toBe('mode must be atomic or independent, got all');
    expect(refusal(() => choiceOption('type', 'gift', ['payment', 'payout', 'refund']))).toBe('type must be one of payment, payout, refund, got gift');
  });
});

describe('withDefaults', () => {
  it('fills what is missing or undefined, keeps what is given (false and 0 included), and changes neither input', () => {
    const defaults: Readonly<{ waitMs: number; max: number; loop: boolean }> = Object.freeze({ waitMs: 5, max: 2000, loop: true });
    const partial = { waitMs: 0, max: undefined, loop: false };
    expect(withDefaults(defaults, partial)).toEqual({ waitMs: 0, max: 2000, loop: false });
    expect(defaults).toEqual({ waitMs: 5, max: 2000, loop: true });
    expect(partial).toEqual({ waitMs: 0, max: undefined, loop: false });
  });
});
