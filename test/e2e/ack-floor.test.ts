// Acks up to the ack floor against a real nats-server: a message the stream no longer holds (deleted between
// publish and delivery) leaves a gap the processor never sees filled; the gap is looked up and closed, and
// the durable consumer catches up. Without the lookup every later message would stay unacknowledged.
// Messages the broker counted as delivered but that never reached the processor (what a broker restart
// leaves) are read from the stream and applied, long before ack_wait would bring them back.

import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY, ensureTopology } from '../../src/nats/setup.ts';
import { startRuntime } from '../../src/processor/launch.ts';
import {
  withBrokerAndLedger,
  collect,
  consumerCaughtUp,
  consumerInfo,
  mixedTraffic,
  publishAll,
  waitUntil,
} from './harness.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const env = withBrokerAndLedger(50, 'each');
// orders kept in the stream (no purge of applied ones): a purge moves the broker's ack state by itself, and
// these tests check that the processor's own acks get past the gap
const KEPT = { ...DEFAULT_TOPOLOGY, ordersRetention: 'limits' as const };

describe('acks up to the ack floor', () => {
  it('closes a gap the stream no longer holds: the consumer ends with nothing pending and nothing unacknowledged', async () => {
    await ensureTopology(env.nc, KEPT);
    const t = mixedTraffic(env.ledger, 20, 'gap');
    await publishAll(env.nc, t.out);
    const jsm = await env.nc.jetstreamManager();
    const { state } = await jsm.streams.info('PAY_ORDERS');
    const deletedSeq = Math.floor((state.first_seq + state.last_seq) / 2);
    expect(await jsm.streams.deleteMessage('PAY_ORDERS', deletedSeq)).toBe(true);

    const c = await collect(env.nc);
    const runtime = await startRuntime(parseRuntimeConfig({ dataDir: env.ledger.dataDir, natsUrl: env.server.url, rulesPath: false, topology: KEPT }));
    try {
      // every message but the deleted one is answered (some orders refer to others, so count messages)
      await waitUntil('the messages after the gap answered', async () => c.all.length >= state.messages - 1, 20_000);
      const heldBack = await consumerInfo(env.nc);
      expect(heldBack?.num_pending).toBe(0);
      // the lookup (1 s after the gap is seen, from the sweep timer) lets the floor past the deleted message
      await waitUntil('the consumer caught up', () => consumerCaughtUp(env.nc), 10_000);
      expect((await consumerInfo(env.nc))?.ack_floor.stream_seq).toBe(state.last_seq);
    } finally {
      await runtime.stop();
    }
  });

  it('fills a gap of messages delivered elsewhere (never received) from the stream, without waiting for ack_wait', async () => {
    // ack_wait far beyond the test's waits: only reading the stream can close the gap in time
    const topology = { ...KEPT, ackWaitMs: 300_000 };
    await ensureTopology(env.nc, topology);
    const c = await collect(env.nc);
    const runtime = await startRuntime(parseRuntimeConfig({ dataDir: env.ledger.dataDir, natsUrl: env.server.url, rulesPath: false, topology }));
    try {
      // first traffic the processor takes and answers whole, so its pulls are in place before the thief's
      const early = mixedTraffic(env.ledger, 50, 'early');
      await publishAll(env.nc, early.out);
      await waitUntil('the early orders answered', () => [...early.expected.keys()].every((id) => c.byId.has(id)), 20_000);
      const earlyLastSeq = (await (await env.nc.jetstreamManager()).streams.info('PAY_ORDERS')).state.last_seq;
      // a second puller on the durable consumer, beside the processor's pulls: it takes a few messages and
      // never acks them, as messages lost with a dying broker's connection
      const consumer = await (await env.nc.jetstream()).consumers.get('PAY_ORDERS', topology.durable);
      const stolenSeqs: number[] = [];
      const thief = (async () => {
        const batch = await consumer.fetch({ max_messages: 5, expires: 30_000 });
        for await (const m of batch) stolenSeqs.push(m.info.streamSequence);
      })();
      await new Promise((r) => setTimeout(r, 200));
      const t = mixedTraffic(env.ledger, 2000, 'lost');
      await publishAll(env.nc, t.out);
      const { state } = await (await env.nc.jetstreamManager()).streams.info('PAY_ORDERS');
      await waitUntil('the puller to take its messages', () => stolenSeqs.length === 5, 20_000);
      await thief;
      // a gap above messages already acked, not the head
      expect(Math.min(...stolenSeqs)).toBeGreaterThan(earlyLastSeq);
      expect(Math.max(...stolenSeqs)).toBeLessThan(state.last_seq); // a gap, not the tail

      let last = '';
      await waitUntil(
        'the consumer caught up',
        async () => {
          const info = await consumerInfo(env.nc);
          last = JSON.stringify({ pending: info?.num_pending, ackPending: info?.num_ack_pending, ackFloor: info?.ack_floor });
          return consumerCaughtUp(env.nc);
        },
        20_000,
        () => last,
      );
      expect((await consumerInfo(env.nc))?.ack_floor.stream_seq).toBe(state.last_seq);
      await waitUntil('every order answered', () => [...t.expected.keys()].every((id) => c.byId.has(id)), 10_000);
      // each answered once (the stolen ones too): nothing was applied twice, nothing is left out
      const missing = [...t.expected.keys()].filter((id) => (c.byId.get(id) ?? []).filter((r) => !r.duplicate).length !== 1);
      expect(missing).toEqual([]);
    } finally {
      c.stop();
      await runtime.stop();
    }
  });
});
