// What flows between the pipeline stages: one message in, then a decoded/validated item, then results.

import type { DeadLetterReason, DlqReason, RejectReason } from '../src/domain/reasons.ts';
import type { Order } from '../src/domain/types.ts';
import type { ProcessedEvent } from '../src/metrics/aggregator.ts';

/** A message as it arrives, from JetStream or from a recording. */
export interface InboundMessage {
  subject: string;
  data: Uint8Array;
  /** when the broker stored it (JetStream timestamp) or when it was recorded: latency counts from here */
  receivedAtMs: number;
  streamSeq?: number;
  redelivered?: boolean;
  /** consumer lag after this message, when the source knows it */
  pending?: number;
  /**
   * acknowledges this message and, with AckPolicy.All, every earlier one; called as its method (`msg.ack()`), so
   * that one function serves every message of the source
   */
  ack?: (this: InboundMessage) => void;
  /** the broker's message that the source's shared `ack` acknowledges */
  jsMsg?: { ack(): void };
}

export type Item =
  | { kind: 'order'; msg: InboundMessage; order: Order }
  | { kind: 'rejected'; msg: InboundMessage; orderId: string; reason: RejectReason; field: string; message: string; batchId?: string; fingerprint?: string }
  | { kind: 'dead'; msg: InboundMessage; reason: DeadLetterReason; detail: string }
  | { kind: 'batch'; msg: InboundMessage; raw: Record<string, unknown> };

export type OrderItem = Extract<Item, { kind: 'order' }>;

/** A dead letter to publish: the payload scrubbed of card data. */
export interface DeadLetter {
  reason: DlqReason;
  detail: string;
  subject: string;
  payload: Uint8Array;
  orderId?: string;
  /** the message's stream sequence, when it came from the stream (header Paystream-Stream-Seq) */
  streamSeq?: number;
}

/** What one committed buffer produced. */
export interface AppliedBuffer {
  items: Item[];
  /**
   * every result to publish, in order (duplicates included, marked), each with what the record stage counts
   * of the order it answers (type, amount, currency, createdAt, arrival)
   */
  results: ProcessedEvent[];
  deadLetters: DeadLetter[];
  /** batch reports to publish */
  reports: { batchId: string; report: unknown }[];
  /** the last message of the buffer: acking it acks the whole buffer (AckPolicy.All) */
  lastMessage: InboundMessage | undefined;
  committedAtMs: number;
  /** resolves once the buffer's ledger write is in LevelDB: nothing is published or acked before */
  written: Promise<void>;
}
