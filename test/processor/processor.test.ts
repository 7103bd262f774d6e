// The processor offline, on a real LevelDB: messages from an in-memory source, results into a recording
// publisher. Every order is answered once, what cannot be an order is dead-lettered, both are counted, drain()
// finishes what is in flight, and the sweep publishes the results of held orders whose review timed out.

import { from, type Observable, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_APPLY_OPTIONS } from '../../src/domain/apply.ts';
import type { RiskEvaluator } from '../../src/domain/risk/decision.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { type ProcessorOptions, parseProcessorOptions } from '../../src/processor/options.ts';
import { Processor } from '../../src/processor/processor.ts';
import type { Publisher } from '../../streams/publish.ts';
import type { DeadLetter, InboundMessage } from '../../streams/types.ts';
import { TEST_NOW_MS, aWireOrder } from '../domain/builders.ts';
import { withFundedStore } from '../streams/fixtures.ts';

const env = withFundedStore();
const enc = new TextEncoder();

const aMessage = (payload: unknown): InboundMessage => ({
  subject: 'pay.orders.test',
  data: enc.encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  receivedAtMs: TEST_NOW_MS,
});

/** A publisher that keeps what it is given, as a subscriber on the broker would see it. */
function recording(): Publisher & { results: OrderResult[]; deadLetters: DeadLetter[] } {
  const results: OrderResult[] = [];
  const deadLetters: DeadLetter[] = [];
  return { results, deadLetters, result: (r) => results.push(r), report: () => undefined, deadLetter: (l) => deadLetters.push(l) };
}

async function started(source: Observable<InboundMessage>, publisher: Publisher, over: Partial<ProcessorOptions> = {}): Promise<Processor> {
  return new Processor(parseProcessorOptions({ store: env.store, source, publisher, clock: () => TEST_NOW_MS, ...over })).start();
}

const outcomes = (results: OrderResult[]) => results.map((r) => `${r.orderId}:${r.status}${r.duplicate ? ':duplicate' : ''}`);

describe('Processor, offline', () => {
  it('answers each order once (a repeat as a duplicate), dead-letters what is no order, and counts both', async () => {
    const publisher = recording();
    const source = from([
      aMessage(aWireOrder({ id: 'o1' })),
      aMessage('not json'),
      aMessage(aWireOrder({ id: 'o2', amount: '2.50' })),
      aMessage(aWireOrder({ id: 'o1' })),
    ]);
    const processor = await started(source, publisher);
    const emitted: string[] = [];
    processor.results$.subscribe((r) => emitted.push(r.orderId));
    await processor.done;
    expect(processor.metrics.snapshot(TEST_NOW_MS).status.state).toBe('stopped');
    await processor.drain();
    expect(outcomes(publisher.results)).toEqual(['o1:approved', 'o2:approved', 'o1:approved:duplicate']);
    expect(emitted).toEqual(['o1', 'o2', 'o1']);
    expect(publisher.deadLetters.map((l) => l.reason)).toEqual(['not_json']);
    expect(processor.stats).toMatchObject({ orders: 2, deadLetters: 1 });
    const snapshot = processor.metrics.snapshot(TEST_NOW_MS);
    expect(snapshot.totals.sinceStart.orders).toBe(3);
    expect(snapshot.totals.sinceStart.currencies).toEqual([{ currency: 'USD', byStatus: { approved: { count: 3, amountMinor: 2_750n } } }]);
    expect(snapshot.alerts.deadLetters).toEqual([{ reason: 'not_json', count: 1 }]);
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(10_000n - 1_500n);
  });

  it('drain() stops taking messages and finishes the ones in flight: committed and answered before it resolves', async () => {
    const publisher = recording();
    const source = new Subject<InboundMessage>();
    const processor = await started(source, publisher);
    for (let i = 0; i < 30; i++) source.next(aMessage(aWireOrder({ id: `d${i}`, amount: '1.00' })));
    await processor.drain();
    expect(publisher.results).toHaveLength(30);
    expect(processor.stats.orders).toBe(30);
    expect(await env.store.getOrder('d29')).toBeDefined();
    expect((await env.store.getAccount('acct_alice'))?.balanceMinor).toBe(10_000n - 3_000n);
    // nothing reads the source any more
    expect(source.observed).toBe(false);
  });

  it('publishes, counts and emits the result of a held order whose review timed out, found by the sweep', async () => {
    const publisher = recording();
    let nowMs = TEST_NOW_MS;
    const reviewAll: RiskEvaluator = { evaluate: () => ({ outcome: 'review', ruleId: 'review_all', reason: 'amount_order' }), observe: () => undefined };
    const processor = await started(new Subject<InboundMessage>(), publisher, {
      clock: () => nowMs,
      risk: reviewAll,
      apply: { ...DEFAULT_APPLY_OPTIONS, reviewTimeoutMs: 60_000 },
      sweepIntervalMs: 10,
    });
    const emitted: OrderResult[] = [];
    processor.results$.subscribe((r) => emitted.push(r));
    // through the pipeline: held for review
    (processor.options.source as Subject<InboundMessage>).next(aMessage(aWireOrder({ id: 'h1' })));
    await until(() => publisher.results.length === 1);
    expect(outcomes(publisher.results)).toEqual(['h1:held']);
    nowMs += 60_001;
    await until(() => publisher.results.length === 2);
    await processor.drain();
    expect(publisher.results[1]).toMatchObject({ orderId: 'h1', status: 'declined', reason: 'review_timeout' });
    expect(emitted.map((r) => r.status)).toEqual(['held', 'declined']);
    expect(processor.metrics.snapshot(nowMs).totals.sinceStart.byStatus).toEqual({ held: 1, declined: 1 });
  });
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
