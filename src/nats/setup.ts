// JetStream topology: the streams paystream reads and writes, and its durable consumer.

import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
  type StoredMsg,
  type StreamConfig,
  nanos,
} from 'nats';
import { NatsUnreachableError, maskUrl } from './connect.ts';
import { type DeliveryPlan, type LedgerStreamRecord, planDelivery } from '../domain/applied.ts';
import { type Topology, ORDERS_MAX_AGE_MS, ORDER_MESSAGE_BYTES_MAX, streamNames, subjects } from './topology.ts';

export {
  type Topology,
  type OrdersRetention,
  ORDERS_MAX_AGE_MS,
  DEFAULT_TOPOLOGY,
  ORDERS_RETENTIONS,
  DUPLICATE_WINDOW_MS_BOUNDS,
  MAX_ACK_PENDING_BOUNDS,
  ACK_WAIT_MS_BOUNDS,
  ORDER_MESSAGE_BYTES_MAX,
  NATS_NAME_TEXT,
  SUBJECT_PREFIX_TEXT,
  isNatsName,
  isSubjectPrefix,
  parseTopology,
  streamNames,
  subjects,
} from './topology.ts';

/** Creates a stream, or adds the subjects it lacks; `maxAgeEnforced`: its max_age is set to config's too. */
async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string; subjects: string[] },
  maxAgeEnforced = false,
): Promise<void> {
  try {
    const info = await jsm.streams.info(config.name);
    const missing = config.subjects.filter((s) => !info.config.subjects.includes(s));
    const maxAge = maxAgeEnforced && config.max_age !== undefined && info.config.max_age !== config.max_age ? config.max_age : undefined;
    if (missing.length > 0 || maxAge !== undefined) {
      await jsm.streams.update(config.name, {
        ...info.config,
        subjects: [...info.config.subjects, ...missing],
        ...(maxAge === undefined ? {} : { max_age: maxAge }),
      });
    }
  } catch (error) {
    if (!/stream not found/i.test(String((error as Error).message))) throw error;
    await jsm.streams.add(config);
  }
}

/** Where the processor starts: the delivery plan (see planDelivery) and the orders stream's creation time. */
export interface TopologyStart {
  /** startSeq is set when the consumer was (re)created to deliver from it */
  plan: DeliveryPlan;
  streamCreated: string;
}

/**
 * Creates (or checks) PAY_ORDERS, PAY_RESULTS, PAY_DLQ and the durable consumer. Idempotent. With the
 * ledger's record of the stream (`ledger`, as the processor passes it), the consumer is (re)created to
 * deliver right after what the ledger has applied whenever it disagrees with the ledger; without it, a
 * missing consumer is created and an existing one left as it is.
 */
export async function ensureTopology(
  nc: NatsConnection,
  t: Topology,
  ledger?: { record: LedgerStreamRecord | undefined },
): Promise<TopologyStart> {
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager();
  } catch (error) {
    if (/503|no responders|jetstream not enabled/i.test(String((error as Error).message))) {
      throw new NatsUnreachableError(
        `the NATS server at ${maskUrl(nc.getServer())} has no JetStream: start it with JetStream enabled (nats-server -js)`,
      );
    }
    throw error;
  }
  const names = streamNames(t);
  const subj = subjects(t);
  // Limits retention, not WorkQueue or Interest: a stream's retention cannot change once it exists,
  // WorkQueue refuses AckPolicy.All, and under Interest deleting the durable consumer (as the processor does
  // to redeliver from the ledger's floor) drops every message it had not acked. Orders leave by purge
  // (purgeAppliedOrders) and by max_age.
  await ensureStream(
    jsm,
    {
      name: names.orders,
      subjects: [`${subj.orders}.>`, `${subj.batches}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: nanos(t.duplicateWindowMs),
      max_msg_size: ORDER_MESSAGE_BYTES_MAX,
      max_age: nanos(ORDERS_MAX_AGE_MS[t.ordersRetention]),
    },
    true,
  );
  await ensureStream(jsm, {
    name: names.results,
    subjects: [`${subj.results}.>`, `${subj.reports}.>`],
    storage: StorageType.File,
    max_age: nanos(7 * 24 * 3600_000),
    max_bytes: 8 * 1024 ** 3,
    discard: DiscardPolicy.Old,
  });
  await ensureStream(jsm, {
    name: names.dlq,
    subjects: [`${subj.dlq}.>`],
    storage: StorageType.File,
    max_age: nanos(30 * 24 * 3600_000),
    max_bytes: 1024 ** 3,
    discard: DiscardPolicy.Old,
  });
  const consumer = {
    durable_name: t.durable,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(t.ackWaitMs),
    max_ack_pending: t.maxAckPending,
    max_deliver: -1,
  };
  const streamInfo = await jsm.streams.info(names.orders);
  const stream = { firstSeq: streamInfo.state.first_seq, lastSeq: streamInfo.state.last_seq, created: streamInfo.created };
  const info = await jsm.consumers.info(names.orders, t.durable).catch(() => undefined);
  // Messages a previous processor received but never applied (it crashed, or stopped with a pull in flight)
  // would be acked unseen by our first AckPolicy.All ack of a later message; a deleted message or a filtered
  // purge moves the broker's ack floor past messages never applied. So delivery restarts right after the
  // ledger's floor whenever the consumer says anything else (the ledger lock means no other processor owns
  // them; the ones applied above the floor are answered from the ledger as duplicates).
  const plan = planDelivery(
    ledger?.record,
    stream,
    info && { ackFloorSeq: info.ack_floor.stream_seq, deliveredSeq: info.delivered.stream_seq, ackPending: info.num_ack_pending },
  );
  const recreate = plan.startSeq !== undefined && (ledger !== undefined || info === undefined);
  if (recreate) {
    if (info) await jsm.consumers.delete(names.orders, t.durable);
    const startSeq = plan.startSeq!;
    await jsm.consumers.add(
      names.orders,
      startSeq > 1 ? { ...consumer, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq } : consumer,
    );
  }
  return { plan: recreate ? plan : { ...plan, startSeq: undefined }, streamCreated: stream.created };
}

/**
 * Removes every message of the orders stream below `belowSeq` (a purge up to a sequence: later messages
 * stay). The caller passes one past the ledger's applied floor, so only orders in the ledger go. Returns
 * how many went. Nats-Msg-Id de-duplication is unaffected while the broker runs (its window is kept in
 * memory); after a broker restart it covers only the messages still in the stream, and the ledger answers
 * a republish of a purged order as its duplicate.
 */
export async function purgeAppliedOrders(nc: NatsConnection, t: Pick<Topology, 'streamPrefix'>, belowSeq: number): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.purge(streamNames(t).orders, { seq: belowSeq })).purged;
}

/** What a stream says of some of its sequences. */
export interface SequenceLookup {
  /** the stream's first sequence: everything before it aged out or was purged */
  firstSeq: number;
  /** sequences at or after firstSeq that it no longer holds (deleted) */
  absent: number[];
  /** the messages it still holds, in the order asked */
  found: StoredMsg[];
}

/** how many message reads a lookup keeps in flight at once */
const LOOKUPS_IN_FLIGHT = 32;

/**
 * Looks sequences of a stream up: the ones it no longer holds, its first sequence (those before it are
 * gone), and the messages it still has. Reads go LOOKUPS_IN_FLIGHT at a time; any error but "no message"
 * fails the lookup (the caller asks again later).
 */
export async function lookUpSequences(nc: NatsConnection, stream: string, seqs: readonly number[]): Promise<SequenceLookup> {
  const jsm = await nc.jetstreamManager();
  const firstSeq = (await jsm.streams.info(stream)).state.first_seq;
  const wanted = seqs.filter((seq) => seq >= firstSeq);
  const read = new Array<StoredMsg | undefined>(wanted.length);
  const absentAt = new Array<boolean>(wanted.length).fill(false);
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < wanted.length) {
      const at = next++;
      try {
        read[at] = await jsm.streams.getMessage(stream, { seq: wanted[at]! });
      } catch (error) {
        if (/no message found|not found/i.test(String((error as Error).message))) absentAt[at] = true;
        else throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUPS_IN_FLIGHT, wanted.length) }, reader));
  const absent: number[] = [];
  const found: StoredMsg[] = [];
  for (let at = 0; at < wanted.length; at++) {
    if (absentAt[at]) absent.push(wanted[at]!);
    else if (read[at] !== undefined) found.push(read[at]!);
  }
  return { firstSeq, absent, found };
}

// Connecting (credentials, TLS, masking) lives in connect.ts; these names stay importable from here.
export { type ConnectOptions, NatsUnreachableError, connectNats } from './connect.ts';
