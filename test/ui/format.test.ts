import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bar, clip, durationMs, money, rate, ratio, sparkline, uptime } from '../../ui/format.ts';

describe('ui text helpers', () => {
  it('scales a sparkline to its max, keeps zero as a gap and the last `width` values', () => {
    expect(sparkline([0, 1, 2, 4, 8], 5)).toBe(' ▁▂▄█');
    expect(sparkline([9, 9, 0, 8], 2)).toBe(' █');
    expect(sparkline([0, 0], 2)).toBe('  ');
    fc.assert(
      fc.property(fc.array(fc.nat(1e6)), fc.nat(400), (v, w) => {
        expect([...sparkline(v, w)]).toHaveLength(Math.min(v.length, w));
      }),
    );
  });

  it('draws bars clamped to their width', () => {
    expect(bar(0.5, 10)).toBe('█████░░░░░');
    expect(bar(2, 4)).toBe('████');
    expect(bar(Number.NaN, 3)).toBe('░░░');
    expect(ratio(1n, 3n)).toBeCloseTo(0.3333, 4);
    expect(ratio(5n, 0n)).toBe(0);
  });

  it('formats rates, durations, uptime, money and clipping', () => {
    expect(rate(1234.4)).toBe('1,234/s');
    expect(rate(0.25)).toBe('0.3/s');
    expect(durationMs(12.4)).toBe('12 ms');
    expect(durationMs(1500)).toBe('1.50 s');
    expect(uptime(3_723_000)).toBe('1h02m');
    expect(uptime(2 * 86_400_000 + 3_600_000)).toBe('2d01h');
    expect(uptime(61_000)).toBe('1m01s');
    expect(money(123_450n, 'USD')).toBe('1,234.50');
    expect(money(1234n, 'JPY')).toBe('1,234');
    expect(money(5n, 'ZZZ')).toBe('5 minor');
    expect(clip('abcdef', 4)).toBe('abc…');
  });
});
