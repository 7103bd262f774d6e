// Poison messages against a real nats-server: one hostile payload must be that message's outcome (a dead
// letter), never the processor's end. Before the depth cap and the per-message guard, the first poison below
// killed the processor in the dead-letter scrub (RangeError: Maximum call stack size exceeded), and every
// restart died again on the same redelivered message.

import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY, ensureTopology } from '../../src/nats/setup.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import type { Msg } from 'nats';
import { type Collected, collect, consumerCaughtUp, snapshotLedger, waitUntil, withBrokerAndLedger } from './harness.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const env = withBrokerAndLedger(20, 'each');
const encoder = new TextEncoder();

/** The topology in place, and payments (1.25 USD unless said) from the first USD card to the first merchant. */
async function paymentsOnTopology() {
  await ensureTopology(env.nc, DEFAULT_TOPOLOGY);
  const card = env.ledger.usdCards[0]!;
  const merchant = env.ledger.merchants[0]!;
  const createdAt = new Date().toISOString();
  const order = (id: string, amount = '1.25') => ({ id, type: 'payment', card: card.token, merchant, currency: 'USD', amount, createdAt });
  return { card, merchant, order };
}

/** What ended the processor, if anything did: undefined while it runs. */
function watchForDeath(runtime: Runtime): () => unknown {
  let died: unknown;
  runtime.processor.done.catch((error: unknown) => {
    died = error;
  });
  return () => died;
}

interface WatchedProcessor {
  c: Collected;
  runtime: Runtime;
  died: () => unknown;
  stop(): Promise<void>;
}

/** Collects what is published, then starts a processor (with PAYSTREAM_TEST_FAULT while it starts, if given) and watches it. */
async function startWatchedProcessor(faults?: string): Promise<WatchedProcessor> {
  const c = await collect(env.nc);
  if (faults !== undefined) process.env.PAYSTREAM_TEST_FAULT = faults;
  let runtime: Runtime;
  try {
    runtime = await startRuntime(parseRuntimeConfig({ dataDir: env.ledger.dataDir, natsUrl: env.server.url, rulesPath: false }));
  } finally {
    if (faults !== undefined) delete process.env.PAYSTREAM_TEST_FAULT;
  }
  const stop = async () => {
    await runtime.stop();
    c.stop();
  };
  return { c, runtime, died: watchForDeath(runtime), stop };
}

/** Waits until `done`, or until the processor died (which the test then reports). */
async function untilDoneOrDead(what: string, p: WatchedProcessor, done: () => boolean, state: () => unknown): Promise<void> {
  await waitUntil(what, () => p.died() !== undefined || done(), 30_000, () => JSON.stringify(state()));
}

const resultIds = (c: Collected) => [...c.byId.keys()];

interface DeadLetterHeaders {
  reason: string | undefined;
  orderId: string | undefined;
  seq: string | undefined;
  detail: string | undefined;
  bytes: number;
}

/** The headers (and payload size) of every dead letter, as they arrive. */
function watchDeadLetterHeaders(): { letters: DeadLetterHeaders[]; stop(): void } {
  const letters: DeadLetterHeaders[] = [];
  const sub = env.nc.subscribe('pay.dlq.>', {
    callback: (_e, m: Msg) => {
      letters.push({
        reason: m.headers?.get('Paystream-Reason'),
        orderId: m.headers?.get('Paystream-Order-Id') || undefined,
        seq: m.headers?.get('Paystream-Stream-Seq'),
        detail: m.headers?.get('Paystream-Detail'),
        bytes: m.data.byteLength,
      });
    },
  });
  return { letters, stop: () => sub.unsubscribe() };
}

/** The issue's first finding: a rejected order ("amount":"bad") with an extra field of 3,000 nested arrays. */
function rejectedOrderNestedInArrays(cardToken: string, merchant: string): string {
  const nestedArrays = `${'['.repeat(3000)}${']'.repeat(3000)}`;
  return `{"id":"poison-arrays","type":"payment","card":"${cardToken}","merchant":"${merchant}","currency":"USD","amount":"bad","extra":${nestedArrays}}`;
}

/** An object nested 12,000 deep, under the stream's 64 KiB message limit. */
const objectNested12000Deep = (): string => `${'{"":'.repeat(12_000)}{}${'}'.repeat(12_000)}`;

describe('poison messages', () => {
  it('dead-letters a deeply nested rejected order and a 12,000-deep object, answers the orders around them, and keeps running', async () => {
    const { card, merchant, order } = await paymentsOnTopology();
    const poisonArrays = rejectedOrderNestedInArrays(card.token, merchant);
    const poisonObject = objectNested12000Deep();
    expect(poisonArrays.length).toBeGreaterThan(6000);
    expect(poisonArrays.length).toBeLessThan(8192);
    expect(poisonObject.length).toBeLessThan(64 * 1024);

    const p = await startWatchedProcessor();
    const { c } = p;
    try {
      const js = env.nc.jetstream();
      const payloads = [
        JSON.stringify(order('o6')),
        JSON.stringify(order('o7')),
        poisonArrays,
        JSON.stringify(order('o8')),
        JSON.stringify(order('o9')),
        poisonObject,
        JSON.stringify(order('o10')),
      ];
      for (const payload of payloads) await js.publish('pay.orders.e2e', encoder.encode(payload));
      const ids = ['o6', 'o7', 'o8', 'o9', 'o10'];
      await untilDoneOrDead(
        'every order answered and both poison messages dead-lettered',
        p,
        () => ids.every((id) => c.byId.has(id)) && c.dlq.length >= 2,
        () => ({ results: resultIds(c), dlq: c.dlq.map((d) => d.reason) }),
      );
      expect(p.died()).toBeUndefined();
      for (const id of ids) expect(c.byId.get(id)).toEqual([expect.objectContaining({ orderId: id, status: 'approved' })]);
      // deeper than the decode limit: refused before JSON.parse; the 12,000-deep object is over the 8 KiB payload limit
      expect(c.dlq.map((d) => d.reason)).toEqual(['too_deep', 'too_large']);
      // what a dead letter keeps of a refused payload is a bounded prefix
      for (const d of c.dlq) expect(encoder.encode(d.payload).byteLength).toBeLessThanOrEqual(1024);
      expect(c.dlq[0]!.payload.startsWith('{"id":"poison-arrays"')).toBe(true);
      await waitUntil('the consumer caught up', () => consumerCaughtUp(env.nc), 20_000);
      expect(p.runtime.processor.metrics.snapshot(Date.now()).status.state).toBe('running');
    } finally {
      await p.stop();
    }
    expect(p.died()).toBeUndefined();
    const after = await snapshotLedger(env.ledger.dataDir);
    expect(after.verify.ok).toBe(true);
    expect([...after.orders.keys()].sort()).toEqual(['o10', 'o6', 'o7', 'o8', 'o9']);
  });

  it('dead-letters a rejection whose detail quotes a key with a line break (NATS refuses CR/LF in a header) and keeps running', async () => {
    const { order } = await paymentsOnTopology();
    const p = await startWatchedProcessor();
    const { c } = p;
    try {
      const js = env.nc.jetstream();
      for (const o of [order('n1'), { ...order('n2'), 'x\r\ny': { cvv: '987' } }, order('n3')]) {
        await js.publish('pay.orders.e2e', encoder.encode(JSON.stringify(o)));
      }
      await untilDoneOrDead(
        'the results and the dead letter',
        p,
        () => ['n1', 'n2', 'n3'].every((id) => c.byId.has(id)) && c.dlq.length >= 1,
        () => ({ results: resultIds(c), dlq: c.dlq.map((d) => d.reason) }),
      );
      expect(p.died()).toBeUndefined();
      expect(c.byId.get('n2')).toEqual([expect.objectContaining({ status: 'rejected', reason: 'cvv_forbidden' })]);
      expect(c.dlq).toEqual([expect.objectContaining({ reason: 'cvv_forbidden', orderId: 'n2' })]);
      expect(c.dlq[0]!.payload).not.toContain('987');
      for (const id of ['n1', 'n3']) expect(c.byId.get(id)).toEqual([expect.objectContaining({ status: 'approved' })]);
    } finally {
      await p.stop();
    }
    expect(p.died()).toBeUndefined();
  });
});

describe('poison messages: a stage that throws', () => {
  it('turns a stage made to throw (PAYSTREAM_TEST_FAULT) into the internal_error outcome of that message, with its stream sequence, and answers the rest', async () => {
    const { card, order } = await paymentsOnTopology();
    const watch = watchDeadLetterHeaders();
    const { letters } = watch;
    const p = await startWatchedProcessor('decode:f2,validate:f3,apply:f4,scrub:f6');
    const { c } = p;
    const seqOf = new Map<string, number>();
    try {
      const js = env.nc.jetstream();
      const wire = [order('f1'), order('f2'), order('f3'), order('f4'), order('f5'), order('f6', 'bad'), order('f7'), order('f8')];
      // published together, so the faulty messages share buffers with good ones
      const acks = await Promise.all(wire.map((o) => js.publish('pay.orders.e2e', encoder.encode(JSON.stringify(o)))));
      for (const [i, o] of wire.entries()) seqOf.set(o.id, acks[i]!.seq);
      const answered = ['f1', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'];
      await untilDoneOrDead(
        'the results and the four dead letters',
        p,
        () => answered.every((id) => c.byId.has(id)) && letters.length >= 4,
        () => ({ results: resultIds(c), letters }),
      );
      expect(p.died()).toBeUndefined();
      const outcome = (id: string) => c.byId.get(id)?.map((r) => `${r.status}${r.reason ? `:${r.reason}` : ''}`);
      for (const id of ['f1', 'f5', 'f7', 'f8']) expect(outcome(id)).toEqual(['approved']);
      expect(outcome('f3')).toEqual(['rejected:internal_error']);
      expect(outcome('f4')).toEqual(['rejected:internal_error']);
      expect(outcome('f6')).toEqual(['rejected:invalid_amount']);
      expect(c.byId.has('f2')).toBe(false);
      const letterOf = (id: string) => letters.find((l) => l.seq === String(seqOf.get(id)));
      expect(letterOf('f2')).toMatchObject({ reason: 'internal_error', detail: `decode failed at stream sequence ${seqOf.get('f2')} (InjectedFault)` });
      expect(letterOf('f3')).toMatchObject({ reason: 'internal_error', orderId: 'f3', detail: `validate failed at stream sequence ${seqOf.get('f3')} (InjectedFault)` });
      expect(letterOf('f4')).toMatchObject({ reason: 'internal_error', orderId: 'f4', detail: `apply failed at stream sequence ${seqOf.get('f4')} (InjectedFault)` });
      expect(letterOf('f6')).toMatchObject({ reason: 'internal_error', orderId: 'f6', bytes: 0 });
      expect(letterOf('f6')!.detail).toContain(`scrub failed at stream sequence ${seqOf.get('f6')} (InjectedFault), payload withheld`);
      await waitUntil('the consumer caught up', () => consumerCaughtUp(env.nc), 20_000);
      // counted on the dashboard (and /metrics) by reason
      expect(p.runtime.processor.metrics.snapshot(Date.now()).alerts.deadLetters).toContainEqual({ reason: 'internal_error', count: 4 });
    } finally {
      await p.stop();
      watch.stop();
    }
    expect(p.died()).toBeUndefined();
    const after = await snapshotLedger(env.ledger.dataDir);
    expect(after.verify.violations).toEqual([]);
    // four payments of 1.25 moved; f4's decision was taken back
    expect(env.ledger.initial.get(card.accountId)! - after.balances.get(card.accountId)!.balance).toBe(500n);
  });
});
