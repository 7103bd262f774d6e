import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckWatermark } from '../../src/domain/ack-watermark.ts';

describe('AckWatermark: the highest sequence at or below which everything is done', () => {
  it('moves with sequences done in order and reports each move', () => {
    const w = new AckWatermark(0, 100);
    expect(w.markDone([1, 2, 3])).toBe(3);
    expect(w.markDone([4])).toBe(4);
    expect(w.markDone([])).toBeUndefined();
    expect(w.hasGap).toBe(false);
  });

  it('stays below a missing sequence and lists the gaps, lowest first, bounded', () => {
    const w = new AckWatermark(10, 100);
    expect(w.markDone([11, 14, 15, 18])).toBe(11);
    expect(w.hasGap).toBe(true);
    expect(w.waiting).toBe(3);
    expect(w.gaps(10)).toEqual([12, 13, 16, 17]);
    expect(w.gaps(2)).toEqual([12, 13]);
    expect(w.markDone([12, 13])).toBe(15);
    expect(w.markDone([16, 17])).toBe(18);
    expect(w.hasGap).toBe(false);
  });

  it('skips what the stream no longer holds', () => {
    const w = new AckWatermark(0, 100);
    w.markDone([50, 51, 53]);
    expect(w.skipBelow(50)).toBe(51);
    expect(w.gaps(10)).toEqual([52]);
    expect(w.skipBelow(10)).toBeUndefined();
  });

  it('fails loudly when more applied messages wait than the broker could have delivered', () => {
    const w = new AckWatermark(0, 2);
    expect(() => w.markDone([2, 3, 4])).toThrow(/wait above sequence 1/);
  });

  it('is the longest done prefix, whatever the order and grouping in which sequences are done', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.tuple(fc.shuffledSubarray([...Array(n).keys()].map((i) => i + 1), { minLength: 0, maxLength: n }), fc.integer({ min: 1, max: 7 })),
        ),
        ([seqs, chunk]) => {
          const w = new AckWatermark(0, 1000);
          const done = new Set<number>();
          for (let i = 0; i < seqs.length; i += chunk) {
            const part = seqs.slice(i, i + chunk);
            w.markDone(part);
            for (const s of part) done.add(s);
            let prefix = 0;
            while (done.has(prefix + 1)) prefix++;
            expect(w.floorSeq).toBe(prefix);
            expect(w.waiting).toBe(done.size - prefix);
          }
        },
      ),
    );
  });
});
