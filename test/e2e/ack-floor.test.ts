// Acks up to the ack floor against a real nats-server: a message the stream no longer holds (deleted between
// publish and delivery) leaves a gap the processor never sees filled; the gap is looked up and closed, and
// the durable consumer catches up. Without the lookup every later message would stay unacknowledged.

import type { NatsConnection } from 'nats';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY, ensureTopology } from '../../src/nats/setup.ts';
import { runtimeConfig, startRuntime } from '../../src/processor/runtime.ts';
import { type SeededLedger, collect, connectTest, consumerCaughtUp, consumerInfo, mixedTraffic, publishAll, seededLedger, waitUntil } from './harness.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

let server: NatsServer;
let ledger: SeededLedger;
let nc: NatsConnection;

beforeEach(async () => {
  server = await startNatsServer();
  ledger = await seededLedger(50);
  nc = await connectTest(server.url);
});

afterEach(async () => {
  await nc?.close().catch(() => undefined);
  await server?.cleanup();
  await ledger?.cleanup();
});

describe('acks up to the ack floor', () => {
  it('closes a gap the stream no longer holds: the consumer ends with nothing pending and nothing unacknowledged', async () => {
    await ensureTopology(nc, DEFAULT_TOPOLOGY);
    const t = mixedTraffic(ledger, 20, 'gap');
    await publishAll(nc, t.out);
    const jsm = await nc.jetstreamManager();
    const { state } = await jsm.streams.info('PAY_ORDERS');
    const deletedSeq = Math.floor((state.first_seq + state.last_seq) / 2);
    expect(await jsm.streams.deleteMessage('PAY_ORDERS', deletedSeq)).toBe(true);

    const c = await collect(nc);
    const runtime = await startRuntime(runtimeConfig({ dataDir: ledger.dataDir, natsUrl: server.url, rulesPath: false }));
    try {
      // every message but the deleted one is answered (some orders refer to others, so count messages)
      await waitUntil('the messages after the gap answered', async () => c.all.length >= state.messages - 1, 20_000);
      const heldBack = await consumerInfo(nc);
      expect(heldBack?.num_pending).toBe(0);
      // the lookup (1 s after the gap is seen, from the sweep timer) lets the floor past the deleted message
      await waitUntil('the consumer caught up', () => consumerCaughtUp(nc), 10_000);
      expect((await consumerInfo(nc))?.ack_floor.stream_seq).toBe(state.last_seq);
    } finally {
      await runtime.stop();
    }
  });
});
