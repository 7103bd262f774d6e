// recordResults (a buffer's results at one time, each distinct latency recorded once with its count) leaves the
// aggregator exactly as recordResult for each result in turn does: every figure of every snapshot, and the version.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetricsAggregator, type ProcessedEvent } from '../../src/metrics/aggregator.ts';
import { RESULT_STATUSES, type OrderResult } from '../../src/domain/types.ts';

const T0 = Date.UTC(2026, 10, 30, 23, 59, 50);

const anEvent = fc.record({
  status: fc.constantFrom(...RESULT_STATUSES),
  latencyMs: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: -5, max: 20_000 }), fc.double(), fc.constant(Number.NaN)),
  amountMinor: fc.option(fc.bigInt({ min: 1n, max: 10n ** 15n }), { nil: undefined }),
  currency: fc.constantFrom('USD', 'EUR', 'JPY'),
  merchant: fc.constantFrom('m_1', 'm_2', 'm_3'),
  card: fc.constantFrom('tok_a', 'tok_b', 'tok_c'),
  rule: fc.option(fc.constantFrom('velocity-card', 'big-amount'), { nil: undefined }),
  duplicate: fc.boolean(),
  createdAgoMs: fc.integer({ min: 0, max: 5000 }),
});

type EventSpec = typeof anEvent extends fc.Arbitrary<infer T> ? T : never;

function toEvent(spec: EventSpec, i: number, nowMs: number): ProcessedEvent {
  const result: OrderResult = { orderId: `o${i}`, status: spec.status, processedAt: 'x', latencyMs: spec.latencyMs };
  if (spec.rule !== undefined) result.rule = spec.rule;
  if (spec.duplicate) result.duplicate = true;
  return {
    result,
    type: 'payment',
    ...(spec.amountMinor === undefined ? {} : { amountMinor: spec.amountMinor, currency: spec.currency }),
    createdAtMs: nowMs - spec.createdAgoMs,
    receivedAtMs: nowMs,
    merchant: spec.merchant,
    card: { token: spec.card, first6: '411111', last4: '1111' },
  };
}

describe('MetricsAggregator.recordResults', () => {
  it('gives the snapshots and version that recording each result in turn gives', () => {
    const buffers = fc.array(
      fc.record({ stepMs: fc.integer({ min: -3000, max: 12_000 }), events: fc.array(anEvent, { maxLength: 40 }) }),
      { minLength: 1, maxLength: 12 },
    );
    fc.assert(
      fc.property(buffers, (specs) => {
        const one = new MetricsAggregator({ recentSlots: 3, recentSlotMs: 5000, historySeconds: 20, topKeysMax: 8 });
        const batch = new MetricsAggregator({ recentSlots: 3, recentSlotMs: 5000, historySeconds: 20, topKeysMax: 8 });
        let nowMs = T0;
        for (const { stepMs, events } of specs) {
          nowMs += stepMs;
          const evs = events.map((e, i) => toEvent(e, i, nowMs));
          for (const ev of evs) one.recordResult(ev, nowMs);
          batch.recordResults(evs, nowMs);
          expect(batch.version).toBe(one.version);
          expect(batch.snapshot(nowMs + 700)).toEqual(one.snapshot(nowMs + 700));
        }
      }),
      { numRuns: 200 },
    );
  });
});
