import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CRASHED_ATTEMPTS_MAX,
  type CrashCount,
  countCrashes,
  decodeAppliedSeqs,
  decodeAttempt,
  decodeCrashCounts,
  decodeSeqRanges,
  encodeAppliedSeqs,
  encodeAttempt,
  encodeCrashCounts,
  encodeSeqRanges,
  planAttempts,
  planDelivery,
} from '../../src/domain/applied.ts';
import { AckWatermark } from '../../src/domain/ack-watermark.ts';

const ascendingSeqs = fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { maxLength: 300 }).map((a) => a.sort((x, y) => x - y));

describe('the applied record: what the ledger keeps of the stream', () => {
  it('writes runs of sequences as ranges, and reads back exactly the sequences written', () => {
    expect(encodeSeqRanges([1, 2, 3, 5, 7, 8])).toBe('1-3 5 7-8');
    fc.assert(
      fc.property(ascendingSeqs, (seqs) => {
        expect(decodeSeqRanges(encodeSeqRanges(seqs))).toEqual(seqs);
      }),
    );
  });

  it('is one short line when no gap waits: "<answered> <floor>"', () => {
    expect(encodeAppliedSeqs({ answeredSeq: 120, floorSeq: 125, above: [] })).toBe('120 125');
    expect(encodeAppliedSeqs({ answeredSeq: 6, floorSeq: 6, above: [9, 10, 11, 14] })).toBe('6 6 9-11 14');
    expect(decodeAppliedSeqs('6 6 9-11 14')).toEqual({ answeredSeq: 6, floorSeq: 6, above: [9, 10, 11, 14] });
  });

  it('refuses a stored record it cannot trust rather than guess', () => {
    for (const bad of ['', 'x', '7 6', '6 6 7', '6 6 9-8', '6 6 10 9', '-1 0', '1 2 3-99999999999']) {
      expect(() => decodeAppliedSeqs(bad), bad).toThrow();
    }
  });

  it('an AckWatermark made from a decoded record answers "applied?" as the one that wrote it', () => {
    fc.assert(
      fc.property(ascendingSeqs, (done) => {
        const w = new AckWatermark(0, 10_000);
        w.markDone(done);
        const stored = decodeAppliedSeqs(encodeAppliedSeqs({ answeredSeq: 0, floorSeq: w.floorSeq, above: w.aboveSeqs() }));
        const read = new AckWatermark(stored.floorSeq, 10_000, stored.above);
        const differ: number[] = [];
        for (let seq = 1; seq <= 5001; seq++) if (read.has(seq) !== w.has(seq)) differ.push(seq);
        expect(differ).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });
});

describe('the crash-loop guard', () => {
  it('counts each message of each attempt that never committed, and apart the attempts it was alone in', () => {
    const notes = [decodeAttempt(encodeAttempt({ seqs: [7, 8, 9], alone: false })), { seqs: [8], alone: true }];
    const counts = countCrashes(new Map([[9, { crashes: 1, alone: 0 }]]), notes);
    expect(Object.fromEntries(counts)).toEqual({ 7: { crashes: 1, alone: 0 }, 8: { crashes: 2, alone: 1 }, 9: { crashes: 2, alone: 0 } });
    expect(decodeCrashCounts(encodeCrashCounts(counts))).toEqual(counts);
    // runs with the same counts are one range
    const run = new Map<number, CrashCount>(Array.from({ length: 4000 }, (_, i) => [100 + i, { crashes: 3, alone: 0 }]));
    expect(encodeCrashCounts(run)).toBe('100-4099:3:0');
  });

  it('decides a buffer in one step while no message has crashed CRASHED_ATTEMPTS_MAX times', () => {
    const below = new Map([[2, { crashes: CRASHED_ATTEMPTS_MAX - 1, alone: 1 }]]);
    expect(planAttempts([1, 2, 3, undefined], below)).toEqual([{ kind: 'together', at: [0, 1, 2, 3] }]);
    expect(planAttempts([1, 2], new Map())).toEqual([{ kind: 'together', at: [0, 1] }]);
  });

  it('tries a suspect alone, in its place, and one that crashed CRASHED_ATTEMPTS_MAX times alone is poison (never decided)', () => {
    const counts = new Map([
      [2, { crashes: CRASHED_ATTEMPTS_MAX + 2, alone: CRASHED_ATTEMPTS_MAX - 1 }],
      [4, { crashes: CRASHED_ATTEMPTS_MAX + 1, alone: CRASHED_ATTEMPTS_MAX }],
    ]);
    expect(planAttempts([1, 2, 3, 4, 5, 6], counts)).toEqual([
      { kind: 'together', at: [0] },
      { kind: 'alone', at: 1 },
      { kind: 'together', at: [2] },
      { kind: 'poison', at: 3, count: { crashes: CRASHED_ATTEMPTS_MAX + 1, alone: CRASHED_ATTEMPTS_MAX } },
      { kind: 'together', at: [4, 5] },
    ]);
  });

  it('keeps every message of a buffer exactly once, in order, whatever the counts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }), { maxLength: 40 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 6 }))),
        (seqs, entries) => {
          const counts = new Map(entries.map(([seq, crashes, alone]) => [seq, { crashes, alone: Math.min(alone, crashes) }]));
          const at = planAttempts(seqs, counts).flatMap((s) => (s.kind === 'together' ? s.at : [s.at]));
          expect(at).toEqual(seqs.map((_, i) => i));
        },
      ),
    );
  });
});

describe('where delivery starts: the ledger decides, never the broker\'s ack floor', () => {
  const stream = { firstSeq: 1, lastSeq: 10, created: '2026-12-01T10:00:00Z' };
  const ledger = { floorSeq: 6, answeredSeq: 6, streamCreated: stream.created };

  it('keeps a consumer that agrees with the ledger exactly', () => {
    expect(planDelivery(ledger, stream, { ackFloorSeq: 6, deliveredSeq: 6, ackPending: 0 })).toMatchObject({ floorSeq: 6, startSeq: undefined });
  });

  it('delivers after the ledger\'s answered floor when a delete moved the broker\'s ack floor past an unapplied order', () => {
    // o7 (7), poison (8, deleted), o8, o9: the broker's floor jumped to 8
    expect(planDelivery(ledger, stream, { ackFloorSeq: 8, deliveredSeq: 10, ackPending: 2 })).toMatchObject({ floorSeq: 6, startSeq: 7, resetLedger: false });
  });

  it('delivers after the ledger when a filtered purge moved ack floor and delivered to the stream\'s end', () => {
    expect(planDelivery(ledger, stream, { ackFloorSeq: 10, deliveredSeq: 10, ackPending: 0 })).toMatchObject({ startSeq: 7 });
  });

  it('never replays from the stream start for a consumer created at a start sequence (ack floor 0 on 2.9)', () => {
    expect(planDelivery(ledger, stream, { ackFloorSeq: 0, deliveredSeq: 7, ackPending: 1 })).toMatchObject({ floorSeq: 6, startSeq: 7 });
  });

  it('answers again what was applied but not answered: delivery starts after the answered floor', () => {
    expect(planDelivery({ ...ledger, floorSeq: 9, answeredSeq: 7 }, stream, { ackFloorSeq: 7, deliveredSeq: 9, ackPending: 2 })).toMatchObject({
      floorSeq: 7,
      startSeq: 8,
    });
  });

  it('creates a missing consumer after the ledger, and skips what the stream no longer holds', () => {
    expect(planDelivery(ledger, stream, undefined)).toMatchObject({ startSeq: 7 });
    expect(planDelivery(ledger, { ...stream, firstSeq: 9 }, undefined)).toMatchObject({ floorSeq: 8, startSeq: 9 });
  });

  it('delivers all of a recreated stream and forgets the ledger\'s sequences', () => {
    expect(planDelivery(ledger, { ...stream, created: '2026-12-01T11:00:00Z' }, undefined)).toMatchObject({ floorSeq: 0, startSeq: 1, resetLedger: true });
    expect(planDelivery({ floorSeq: 6, answeredSeq: 6 }, { firstSeq: 1, lastSeq: 3, created: 'x' }, undefined)).toMatchObject({ startSeq: 1, resetLedger: true });
  });

  it('takes the consumer as it is, once, for a ledger with no record yet', () => {
    expect(planDelivery(undefined, stream, { ackFloorSeq: 4, deliveredSeq: 4, ackPending: 0 })).toMatchObject({ floorSeq: 4, startSeq: undefined });
    expect(planDelivery(undefined, stream, undefined)).toMatchObject({ floorSeq: 0, startSeq: 1 });
  });
});
