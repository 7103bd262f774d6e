// Source stage: the durable JetStream consumer as an Observable; the broker's max_ack_pending bounds what is in flight.

import type { ConsumerMessages, DeliveryInfo, JsMsg, NatsConnection, StoredMsg } from 'nats';
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

/** The four figures of a delivery the source reads (nats.js's DeliveryInfo names them the same). */
type Delivery = Pick<DeliveryInfo, 'streamSequence' | 'deliveryCount' | 'timestampNanos' | 'pending'>;

/** Filled by parseAckReply for each message in turn and read at once: one object, not one per message. */
const delivery: Delivery = { streamSequence: 0, deliveryCount: 0, timestampNanos: 0, pending: 0 };
/** the dots of one ack subject; a subject with more is left to the library */
const dots = new Int32Array(16);

/**
 * A token of digits as parseInt reads it, exactly: digits go into two integers (high * 2^32 + low) so that
 * the one rounding to a double is the sum's, as parseInt rounds a 19-digit timestamp; -1 for anything else.
 */
function digitsAt(s: string, from: number, to: number): number {
  if (to <= from || to - from > 20) return -1;
  let high = 0;
  let low = 0;
  for (let i = from; i < to; i++) {
    const digit = s.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    low = low * 10 + digit;
    const carry = Math.floor(low / 4294967296);
    low -= carry * 4294967296;
    high = high * 10 + carry;
  }
  return high * 4294967296 + low;
}

/** Where the token before dot `k` of `count` ends: at that dot, or at the end of the subject. */
const tokenEnd = (s: string, k: number, count: number): number => (k < count ? dots[k]! : s.length);

/**
 * Reads an ack subject, `$JS.ACK.<stream>.<consumer>.<deliveries>.<streamSeq>.<deliverySeq>.<timestampNs>.<pending>`
 * or the form with `<domain>.<accountHash>` before the stream and a token after `pending`, into `delivery`, as
 * nats.js's parseInfo would, without its split: false for any other form (the library then reads it).
 */
export function parseAckReply(reply: string): boolean {
  if (!reply.startsWith('$JS.ACK.')) return false;
  let count = 0;
  for (let i = 3; i !== -1; i = reply.indexOf('.', i + 1)) {
    if (count === dots.length) return false;
    dots[count++] = i;
  }
  // the tokens are count + 1; the five figures start at the 5th token of 9, the 7th of 11 or more
  const first = count === 8 ? 3 : count >= 10 ? 5 : -1;
  if (first === -1) return false;
  const deliveryCount = digitsAt(reply, dots[first]! + 1, tokenEnd(reply, first + 1, count));
  const streamSequence = digitsAt(reply, dots[first + 1]! + 1, tokenEnd(reply, first + 2, count));
  const timestampNanos = digitsAt(reply, dots[first + 3]! + 1, tokenEnd(reply, first + 4, count));
  const pending = digitsAt(reply, dots[first + 4]! + 1, tokenEnd(reply, first + 5, count));
  if (deliveryCount < 0 || streamSequence < 0 || timestampNanos < 0 || pending < 0) return false;
  delivery.deliveryCount = deliveryCount;
  delivery.streamSequence = streamSequence;
  delivery.timestampNanos = timestampNanos;
  delivery.pending = pending;
  return true;
}

/** The ack of every JetStream message, one function rather than a closure per message. */
function ackJsMsg(this: InboundMessage): void {
  this.jsMsg!.ack();
}

export function toInbound(m: JsMsg, isApplied?: (seq: number) => boolean): InboundMessage {
  // nats.js's messages have the ack subject as `reply`, outside the JsMsg interface
  const reply = (m as JsMsg & { reply?: string }).reply;
  const d: Delivery = reply !== undefined && parseAckReply(reply) ? delivery : m.info;
  const streamSeq = d.streamSequence;
  return {
    subject: m.subject,
    data: m.data,
    receivedAtMs: Math.floor(d.timestampNanos / 1e6),
    streamSeq,
    redelivered: isApplied ? isApplied(streamSeq) : d.deliveryCount > 1,
    pending: d.pending,
    ack: ackJsMsg,
    jsMsg: m,
  };
}

/**
 * A message read from the stream by sequence to fill a gap: no ack (the ack of a later message covers it),
 * redelivered when the ledger applied it (without the ledger's answer: marked redelivered, as it may be).
 */
export function storedToInbound(m: StoredMsg, isApplied?: (seq: number) => boolean): InboundMessage {
  return { subject: m.subject, data: m.data, receivedAtMs: m.time.getTime(), streamSeq: m.seq, redelivered: isApplied ? isApplied(m.seq) : true };
}

/**
 * Emits messages until unsubscribed; `stop` on unsubscribe leaves unacked messages to be redelivered. Messages come
 * through the consumer's callback, as the client reads them: its async iterator would add a generator step, a
 * promise and a queue entry to each.
 */
export function jetStreamSource(nc: NatsConnection, options: JetStreamSourceOptions): Observable<InboundMessage> {
  return new Observable<InboundMessage>((subscriber) => {
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    (async () => {
      const consumer = await nc.jetstream().consumers.get(options.stream, options.durable);
      messages = await consumer.consume({
        max_messages: options.pullBatch,
        callback: (m) => {
          if (!stopped) subscriber.next(toInbound(m, options.isApplied));
        },
      });
      if (stopped) {
        messages.stop();
        return;
      }
      // the client ends the consumer with the error a callback threw, or one of its own
      const error = await messages.closed();
      if (stopped) return;
      if (error) subscriber.error(error);
      else subscriber.complete();
    })().catch((error: unknown) => {
      if (!stopped) subscriber.error(error);
    });
    return () => {
      stopped = true;
      messages?.stop();
    };
  });
}
