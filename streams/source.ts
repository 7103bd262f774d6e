// Source stage: the durable JetStream consumer as an Observable; the broker's max_ack_pending bounds what is in flight.

import type { ConsumerMessages, JsMsg, NatsConnection, StoredMsg } from 'nats';
import { Observable } from 'rxjs';
import type { InboundMessage } from './types.ts';

export interface JetStreamSourceOptions {
  stream: string;
  durable: string;
  /** messages the client pulls ahead @default 4000 */
  pullBatch: number;
  /**
   * the ledger's answer to "was this stream sequence applied?": a delivery of one is a redelivery (the
   * broker's own flag says only that it was delivered before, not that it was applied); absent: the broker's flag
   */
  isApplied?: (seq: number) => boolean;
}

export function toInbound(m: JsMsg, isApplied?: (seq: number) => boolean): InboundMessage {
  return {
    subject: m.subject,
    data: m.data,
    receivedAtMs: Math.floor(m.info.timestampNanos / 1e6),
    streamSeq: m.info.streamSequence,
    redelivered: isApplied ? isApplied(m.info.streamSequence) : m.info.redelivered,
    pending: m.info.pending,
    ack: () => m.ack(),
  };
}

/**
 * A message read from the stream by sequence to fill a gap: no ack (the ack of a later message covers it),
 * redelivered when the ledger applied it (without the ledger's answer: marked redelivered, as it may be).
 */
export function storedToInbound(m: StoredMsg, isApplied?: (seq: number) => boolean): InboundMessage {
  return { subject: m.subject, data: m.data, receivedAtMs: m.time.getTime(), streamSeq: m.seq, redelivered: isApplied ? isApplied(m.seq) : true };
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
        subscriber.next(toInbound(m, options.isApplied));
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
