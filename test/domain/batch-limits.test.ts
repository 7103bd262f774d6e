// The batch limits' one parse: documented defaults, every bound checked with a message naming it, contradictions refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_LIMIT_BOUNDS,
  BATCH_ORDERS_MAX_DEFAULT,
  type BatchLimits,
  DEFAULT_BATCH_LIMITS,
  parseBatchLimits,
} from '../../src/domain/batch-limits.ts';

const KEYS = Object.keys(BATCH_LIMIT_BOUNDS) as (keyof BatchLimits)[];
/** Limits whose per-source partner or total would make a lone value a contradiction: set both to test one bound. */
const PAIRS: Partial<Record<keyof BatchLimits, keyof BatchLimits>> = {
  openBatchesPerSourceMax: 'openBatchesMax',
  waitingOrdersPerSourceMax: 'waitingOrdersMax',
  openBatchesMax: 'openBatchesPerSourceMax',
  waitingOrdersMax: 'waitingOrdersPerSourceMax',
};
/** A partial setting `key` to `value`, its partner (if any) set so the pair cannot contradict. */
const alone = (key: keyof BatchLimits, value: number): Partial<BatchLimits> => {
  const partner = PAIRS[key];
  if (partner === undefined) return { [key]: value };
  const perSourceIsKey = key.includes('PerSource');
  return perSourceIsKey
    ? { [key]: value, [partner]: BATCH_LIMIT_BOUNDS[partner][1] }
    : { [key]: value, [partner]: Math.min(value, BATCH_LIMIT_BOUNDS[partner][1]) };
};

describe('parseBatchLimits: defaults', () => {
  it('fills the documented defaults, and the batch maximum is the one constant', () => {
    expect(parseBatchLimits()).toEqual(DEFAULT_BATCH_LIMITS);
    expect(parseBatchLimits({})).toEqual(DEFAULT_BATCH_LIMITS);
    expect(DEFAULT_BATCH_LIMITS.batchOrdersMax).toBe(BATCH_ORDERS_MAX_DEFAULT);
    expect(parseBatchLimits({ openBatchesPerSourceMax: 10 })).toEqual({
      ...DEFAULT_BATCH_LIMITS,
      openBatchesPerSourceMax: 10,
    });
  });

  it('leaves an undefined value at its default, and returns a copy the caller may change', () => {
    const parsed = parseBatchLimits({ batchTimeoutMs: undefined });
    expect(parsed).toEqual(DEFAULT_BATCH_LIMITS);
    parsed.batchTimeoutMs = 5_000;
    expect(DEFAULT_BATCH_LIMITS.batchTimeoutMs).toBe(300_000);
  });

  it('has every default within its bounds', () => {
    for (const key of KEYS) {
      const [min, max] = BATCH_LIMIT_BOUNDS[key];
      expect(DEFAULT_BATCH_LIMITS[key], key).toBeGreaterThanOrEqual(min);
      expect(DEFAULT_BATCH_LIMITS[key], key).toBeLessThanOrEqual(max);
    }
  });
});

describe('parseBatchLimits: bounds', () => {
  it.each(KEYS)('accepts %s at both ends of its bounds and refuses one past either end, by name', (key) => {
    const [min, max] = BATCH_LIMIT_BOUNDS[key];
    expect(parseBatchLimits(alone(key, min))[key]).toBe(min);
    expect(parseBatchLimits(alone(key, max))[key]).toBe(max);
    const message = `batch limits: ${key} must be a whole number within ${min}..${max}, got`;
    expect(() => parseBatchLimits({ [key]: min - 1 })).toThrow(`${message} ${min - 1}`);
    expect(() => parseBatchLimits({ [key]: max + 1 })).toThrow(`${message} ${max + 1}`);
  });

  it('accepts any whole number within the bounds, and refuses fractions, NaN, infinities and non-numbers', () => {
    const key = fc.constantFrom(...KEYS);
    fc.assert(
      fc.property(key, fc.oneof(fc.integer({ min: -2, max: 25 * 3_600_000 }), fc.double()), (k, x) => {
        const [min, max] = BATCH_LIMIT_BOUNDS[k];
        const valid = Number.isInteger(x) && x >= min && x <= max;
        if (valid) expect(parseBatchLimits(alone(k, x))[k]).toBe(x);
        else expect(() => parseBatchLimits({ [k]: x })).toThrow(`${k} must be a whole number`);
      }),
    );
    for (const value of ['many', '10', null, true, 10n]) {
      expect(() => parseBatchLimits({ waitingOrdersMax: value as unknown as number })).toThrow(
        'waitingOrdersMax must be a whole number',
      );
    }
  });
});

describe('parseBatchLimits: refusals', () => {
  it.each([
    [
      { openBatchesMax: 10, openBatchesPerSourceMax: 11 },
      'openBatchesPerSourceMax (11) exceeds openBatchesMax (10)',
    ],
    [{ waitingOrdersMax: 10 }, 'waitingOrdersPerSourceMax (10000) exceeds waitingOrdersMax (10)'],
    [{ openBatchMax: 3 } as Partial<BatchLimits>, 'unknown limit openBatchMax'],
    [{ toString: 3 } as unknown as Partial<BatchLimits>, 'unknown limit toString'],
  ])('refuses %j', (limits, message) => {
    expect(() => parseBatchLimits(limits)).toThrow(message);
  });

  it('accepts a per-source bound equal to its total', () => {
    expect(parseBatchLimits({ openBatchesMax: 7, openBatchesPerSourceMax: 7 })).toMatchObject({
      openBatchesMax: 7,
      openBatchesPerSourceMax: 7,
    });
  });
});
