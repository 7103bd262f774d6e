// The processor's publisher on a broker connection (src/nats/results.ts), on a connection that records what is
// published and whose flushes and status events the test drives: the ack's flush waits out a broker restart
// and sends the buffer again after it, and a reconnect sends the results of the last seconds again.

import { Events, type NatsConnection } from 'nats';
import { describe, expect, it } from 'vitest';
import type { OrderResult } from '../../src/domain/types.ts';
import { NatsResultPublisher, RESEND_RESULTS_MAX, RESEND_WINDOW_MS } from '../../src/nats/results.ts';
import type { AppliedBuffer } from '../../streams/types.ts';
import { statusFeed } from './status-feed.ts';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const SUBJECTS = { results: 'pay.results', reports: 'pay.reports', dlq: 'pay.dlq' };

/** A connection that records publishes; `flushes` says how each flush ends; `status` feeds status events. */
function aConnection(flushes: ('ok' | 'fail')[] = []) {
  const sent: string[] = [];
  const feed = statusFeed();
  let closed = false;
  const nc = {
    publish: (subject: string) => sent.push(subject),
    flush: () => (flushes.shift() === 'fail' ? Promise.reject(new Error('disconnected')) : Promise.resolve()),
    isClosed: () => closed,
    status: feed.status,
  };
  return {
    nc: nc as unknown as NatsConnection,
    sent,
    close: () => {
      closed = true;
    },
    /** a status event, and time for the publisher to act on it */
    status: (type: Events) => feed.emit(type),
  };
}

function aBuffer(orderIds: string[], batchIds: string[] = []): AppliedBuffer {
  const result = (orderId: string): OrderResult => ({ orderId, status: 'approved', processedAt: new Date(T0).toISOString(), latencyMs: 1 });
  return {
    items: [],
    results: orderIds.map((id) => ({ result: result(id), receivedAtMs: T0 })),
    deadLetters: [],
    reports: batchIds.map((batchId) => ({ batchId, report: { batchId } })),
    lastMessage: undefined,
    committedAtMs: T0,
    written: Promise.resolve(),
  };
}

describe('NatsResultPublisher', () => {
  it('publishes a buffer on the results, reports and dlq subjects, delivered once a flush goes through', async () => {
    const connection = aConnection(['ok']);
    const publisher = new NatsResultPublisher(connection.nc, SUBJECTS, () => T0);
    const buffer = aBuffer(['o1'], ['b1']);
    buffer.deadLetters.push({ reason: 'not_json', detail: 'x', subject: 'pay.orders.t', payload: new Uint8Array(0) });
    publisher.publish(buffer);
    await publisher.delivered(buffer);
    expect(connection.sent).toEqual(['pay.results.approved.o1', 'pay.reports.b1', 'pay.dlq.not_json']);
  });

  it('waits out flushes that fail while the broker is away, then sends the buffer again and flushes it', async () => {
    const connection = aConnection(['fail', 'fail', 'ok', 'ok']);
    const publisher = new NatsResultPublisher(connection.nc, SUBJECTS, () => T0, 1);
    const buffer = aBuffer(['o1']);
    publisher.publish(buffer);
    await publisher.delivered(buffer);
    expect(connection.sent).toEqual(['pay.results.approved.o1', 'pay.results.approved.o1']);
  });

  it('gives up only when the connection is closed', async () => {
    const connection = aConnection(['fail']);
    connection.close();
    const publisher = new NatsResultPublisher(connection.nc, SUBJECTS, () => T0, 1);
    await expect(publisher.delivered(aBuffer(['o1']))).rejects.toThrow('disconnected');
  });

  it(`sends the results and reports of the last ${RESEND_WINDOW_MS} ms again after a reconnect, not older ones`, async () => {
    let nowMs = T0;
    const connection = aConnection();
    const publisher = new NatsResultPublisher(connection.nc, SUBJECTS, () => nowMs);
    publisher.publish(aBuffer(['old']));
    nowMs += RESEND_WINDOW_MS / 2;
    publisher.publish(aBuffer(['recent'], ['b1']));
    nowMs += RESEND_WINDOW_MS / 2 + 1;
    connection.sent.length = 0;
    await connection.status(Events.Disconnect);
    expect(connection.sent).toEqual([]);
    await connection.status(Events.Reconnect);
    expect(connection.sent).toEqual(['pay.results.approved.recent', 'pay.reports.b1']);
  });

  it(`keeps at most ${RESEND_RESULTS_MAX} results to send again, forgetting the oldest buffers first`, async () => {
    const connection = aConnection();
    const publisher = new NatsResultPublisher(connection.nc, SUBJECTS, () => T0);
    publisher.publish(aBuffer(['first']));
    publisher.publish(aBuffer(Array.from({ length: RESEND_RESULTS_MAX }, (_, i) => `o${i}`)));
    connection.sent.length = 0;
    await connection.status(Events.Reconnect);
    expect(connection.sent).toHaveLength(RESEND_RESULTS_MAX);
    expect(connection.sent).not.toContain('pay.results.approved.first');
  });
});
