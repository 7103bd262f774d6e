// The JetStream topology as data: names, defaults, bounds and their parse; pure, apart from the NATS client
// (setup.ts), so the command line shows and checks its flags without loading the client.

import { type Bounds, OptionsError, choiceOption, wholeOption, withDefaults } from '../domain/option-checks.ts';
import { ORDER_AGE_MAX_MS } from '../domain/order-limits.ts';

export interface Topology {
  /** subject prefix @default 'pay' */
  prefix: string;
  /** stream names prefix @default 'PAY' (PAY_ORDERS, PAY_RESULTS, PAY_DLQ) */
  streamPrefix: string;
  /** durable consumer name @default 'paystream' */
  durable: string;
  /** broker-side de-duplication window for Nats-Msg-Id @default 120_000 */
  duplicateWindowMs: number;
  /** most unacknowledged messages the broker lets the processor hold: the backpressure bound @default 20_000 */
  maxAckPending: number;
  /** a message not acked in this time is redelivered @default 30_000 */
  ackWaitMs: number;
  /**
   * what PAY_ORDERS keeps. 'applied': the processor purges every order once it is in the ledger and acked
   * (within about a second), and the broker drops any order older than ORDERS_MAX_AGE_MS.applied (24 h)
   * even unapplied: a PAN sent inline sits in the broker only that long. 'limits': orders are kept for
   * ORDERS_MAX_AGE_MS.limits (7 days), e.g. for `record --from-stream`, PANs included. @default 'applied'
   */
  ordersRetention: OrdersRetention;
}

export type OrdersRetention = 'applied' | 'limits';

/**
 * The orders stream's max_age by retention. 24 h when orders go once applied: a backstop for a processor
 * that is not running, and no order is lost to it that validation would still take (orders older than
 * 24 h are rejected too_old). 7 days when orders are kept for re-recording.
 */
export const ORDERS_MAX_AGE_MS: Readonly<Record<OrdersRetention, number>> = {
  applied: ORDER_AGE_MAX_MS,
  limits: 7 * 24 * 3600_000,
};

export const DEFAULT_TOPOLOGY: Topology = {
  prefix: 'pay',
  streamPrefix: 'PAY',
  durable: 'paystream',
  duplicateWindowMs: 120_000,
  maxAckPending: 20_000,
  ackWaitMs: 30_000,
  ordersRetention: 'applied',
};

export const ORDERS_RETENTIONS: readonly OrdersRetention[] = ['applied', 'limits'];

/** the broker's de-duplication window: at most as long as an order may be old (the applied max_age) */
export const DUPLICATE_WINDOW_MS_BOUNDS: Bounds = { min: 1_000, max: ORDER_AGE_MAX_MS };
/** unacknowledged messages the processor may hold */
export const MAX_ACK_PENDING_BOUNDS: Bounds = { min: 1, max: 1_000_000 };
/** how long the broker waits for an ack before it redelivers */
export const ACK_WAIT_MS_BOUNDS: Bounds = { min: 1_000, max: 3_600_000 };
/** the largest order or batch header the orders stream takes (its max_msg_size) */
export const ORDER_MESSAGE_BYTES_MAX = 64 * 1024;

/** a stream prefix, consumer name or subject token: what NATS takes in a name, with no dots or wildcards */
const NATS_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SUBJECT_PREFIX_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
/** the longest subject prefix */
const SUBJECT_PREFIX_CHARS_MAX = 128;

export const isNatsName = (value: string): boolean => NATS_NAME_RE.test(value);
export const NATS_NAME_TEXT = 'must be 1-64 of A-Z a-z 0-9 _ -';
export const isSubjectPrefix = (value: string): boolean => value.length <= SUBJECT_PREFIX_CHARS_MAX && SUBJECT_PREFIX_RE.test(value);
export const SUBJECT_PREFIX_TEXT = 'must be subject tokens of A-Z a-z 0-9 _ - joined by dots, e.g. pay';

/** The topology, parsed: documented defaults for what is missing, names NATS takes, numbers within their bounds. */
export function parseTopology(partial: Partial<Topology> = {}): Topology {
  const t = withDefaults(DEFAULT_TOPOLOGY, partial);
  if (!isSubjectPrefix(t.prefix)) throw new OptionsError(`topology prefix ${JSON.stringify(t.prefix)} ${SUBJECT_PREFIX_TEXT}`);
  for (const key of ['streamPrefix', 'durable'] as const) {
    if (!isNatsName(t[key])) throw new OptionsError(`topology ${key} ${JSON.stringify(t[key])} ${NATS_NAME_TEXT}`);
  }
  wholeOption('topology duplicateWindowMs', t.duplicateWindowMs, DUPLICATE_WINDOW_MS_BOUNDS);
  wholeOption('topology maxAckPending', t.maxAckPending, MAX_ACK_PENDING_BOUNDS);
  wholeOption('topology ackWaitMs', t.ackWaitMs, ACK_WAIT_MS_BOUNDS);
  choiceOption('topology ordersRetention', t.ordersRetention, ORDERS_RETENTIONS);
  return t;
}

export const streamNames = (t: Pick<Topology, 'streamPrefix'>) => ({
  orders: `${t.streamPrefix}_ORDERS`,
  results: `${t.streamPrefix}_RESULTS`,
  dlq: `${t.streamPrefix}_DLQ`,
});

export const subjects = (t: Pick<Topology, 'prefix'>) => ({
  orders: `${t.prefix}.orders`,
  batches: `${t.prefix}.batches`,
  results: `${t.prefix}.results`,
  reports: `${t.prefix}.reports`,
  dlq: `${t.prefix}.dlq`,
  service: `${t.prefix}.svc`,
});
