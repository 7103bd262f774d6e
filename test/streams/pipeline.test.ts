// The production pipeline (streams/pipeline.ts, what the processor runs) end to end without NATS: messages
// with stream sequences and acks in, a real LevelDB, a publisher that records when a buffer goes out and when
// it is delivered, the acks, and the figures recorded last.

import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_APPLY_OPTIONS } from '../../src/domain/apply.ts';
import { tokenizePan } from '../../src/domain/cards.ts';
import { MetricsAggregator } from '../../src/metrics/aggregator.ts';
import { FloorAcker } from '../../streams/ack.ts';
import { type PipelineDeps, orderPipeline } from '../../streams/pipeline.ts';
import type { BufferPublisher } from '../../streams/publish.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { TEST_NOW_MS, TEST_TOKEN_KEY, aWireOrder } from '../domain/builders.ts';
import { withFundedStore } from './fixtures.ts';

const env = withFundedStore();
const enc = new TextEncoder();

/** The pipeline's deps as the processor builds them, with `events` recording publishing, delivery and acks. */
function pipelineDeps(events: string[]): PipelineDeps & { counts: { orders: number; buffers: number; deadLetters: number } } {
  const counts = { orders: 0, buffers: 0, deadLetters: 0 };
  const publisher: BufferPublisher = {
    result: (r) => events.push(`result ${r.orderId} ${r.status}${r.duplicate ? ' duplicate' : ''}`),
    report: (batchId) => events.push(`report ${batchId}`),
    deadLetter: (l) => events.push(`dlq ${l.reason}`),
    publish(applied) {
      for (const { result } of applied.results) this.result(result);
      for (const letter of applied.deadLetters) this.deadLetter(letter);
    },
    delivered: async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      events.push('delivered');
    },
  };
  return {
    counts,
    decode: { limits: { payloadBytesMax: 8192 }, batchSubjectPrefix: 'pay.batches.' },
    validate: { tokenizePan: (pan) => tokenizePan(pan, TEST_TOKEN_KEY), clock: () => TEST_NOW_MS, futureSkewMs: 30_000 },
    buffer: { bufferWaitMs: 0, bufferItemsMax: 3 },
    apply: { store: env.store, options: DEFAULT_APPLY_OPTIONS, clock: () => TEST_NOW_MS, virtualTime: false, scrub: (p) => p },
    publisher,
    acker: new FloorAcker({ floorSeq: 0 }),
    record: { aggregator: new MetricsAggregator({ startedAtMs: TEST_NOW_MS }), clock: () => TEST_NOW_MS, counts },
  };
}

describe('the order pipeline', () => {
  it('decodes, validates, applies, publishes, acks only once delivered, and records, buffer by buffer', async () => {
    const events: string[] = [];
    const payloads: [string, unknown][] = [
      ['pay.orders.t', aWireOrder({ id: 'p1', amount: '30.00' })],
      ['pay.orders.t', 'not json'],
      ['pay.orders.t', aWireOrder({ id: 'p2', amount: 12.5 })],
      ['pay.orders.t', aWireOrder({ id: 'p3', amount: '80.00' })],
      ['pay.batches.b1', { id: 'b1', count: 1, controlSum: '1.00', currency: 'USD' }],
      ['pay.orders.t', aWireOrder({ id: 'p1', amount: '30.00' })],
    ];
    const messages: InboundMessage[] = payloads.map(([subject, payload], i) => ({
      subject,
      data: enc.encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
      receivedAtMs: TEST_NOW_MS,
      streamSeq: i + 1,
      ack: () => events.push(`ack ${i + 1}`),
    }));
    const deps = pipelineDeps(events);
    const out = await lastValueFrom(from(messages).pipe(orderPipeline(deps), toArray()));
    // the next buffer may go out while the previous one is being delivered: each is acked only after its delivery
    expect(events.filter((e) => e === 'delivered' || e.startsWith('ack'))).toEqual(['delivered', 'ack 3', 'delivered', 'ack 6']);
    expect(events.filter((e) => e !== 'delivered' && !e.startsWith('ack'))).toEqual([
      'result p1 approved',
      'result p2 rejected',
      'dlq not_json',
      'dlq amount_not_string',
      'result p3 declined',
      'result p1 approved duplicate',
      'dlq batches_disabled',
    ]);
    expect(events.indexOf('dlq amount_not_string')).toBeLessThan(events.indexOf('delivered'));
    expect(out.map((applied) => applied.items.length)).toEqual([3, 3]);
    expect(deps.counts).toEqual({ orders: 3, buffers: 2, deadLetters: 3 });
    const snapshot = deps.record.aggregator.snapshot(TEST_NOW_MS);
    expect(snapshot.totals.sinceStart.byStatus).toEqual({ approved: 2, rejected: 1, declined: 1 });
    expect(snapshot.totals.sinceStart.currencies).toEqual([
      { currency: 'USD', byStatus: { approved: { count: 2, amountMinor: 6_000n }, declined: { count: 1, amountMinor: 8_000n } } },
    ]);
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(7_000n);
    expect(deps.acker.floorSeq).toBe(6);
  });
});
