// Source stage: the durable JetStream consumer as an Observable; the broker's max_ack_pending bounds what is in flight.

import type { ConsumerMessages, JsMsg, NatsConnection, StoredMsg } from 'nats';
import { Observable } from 'rxjs';
import type { InboundMessage } from './types.ts';

export interface JetStreamSourceOptions {
  stream: string;
  durable: string;
  /** messages the client pulls ahead @default 4000 */
  pullBatch: number;
  /** stream sequences up to this one were delivered to an earlier processor: redeliveries */
  redeliveredUpToSeq?: number;
}

export function toInbound(m: JsMsg, redeliveredUpToSeq = 0): InboundMessage {
  return {
    subject: m.subject,
    data: m.data,
    receivedAtMs: Math.floor(m.info.timestampNanos / 1e6),
    streamSeq: m.info.streamSequence,
    redelivered: m.info.redelivered || m.info.streamSequence <= redeliveredUpToSeq,
    pending: m.info.pending,
    ack: () => m.ack(),
  };
}

/**
 * A message read from the stream by sequence to fill a gap: no ack (the ack of a later message covers it),
 * and marked redelivered (an earlier processor may have applied it).
 */
export function storedToInbound(m: StoredMsg): InboundMessage {
  return { subject: m.subject, data: m.data, receivedAtMs: m.time.getTime(), streamSeq: m.seq, redelivered: true };
}

/** Emits messages until unsubscribed; `stop` on unsubscribe leaves unacked messages to be redelivered. */
export function jetStreamSource(nc: NatsConnection, options: JetStreamSourceOptions): Observable<InboundMessage> {
  return new Observable<InboundMessage>((subscriber) => {
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    (async () => {
      const consumer = await nc.jetstream().consumers.get(options.stream, options.durable);
      messages = await consumer.consume({ max_messages: options.pullBatch });
      if (stopped) {
        messages.stop();
        return;
      }
      for await (const m of messages) {
        if (stopped) break;
        subscriber.next(toInbound(m, options.redeliveredUpToSeq));
      }
      subscriber.complete();
    })().catch((error: unknown) => {
      if (!stopped) subscriber.error(error);
    });
    return () => {
      stopped = true;
      messages?.stop();
    };
  });
}
