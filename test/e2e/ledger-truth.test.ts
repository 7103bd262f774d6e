// The ledger, not the broker, says what was applied: against a real nats-server, an operator's delete or
// purge, a consumer recreated at a start sequence (nats-server 2.9 reports its ack floor as 0) and a
// processor killed before its first ack never cost an order its result, and never replay the stream from its
// start. And a message that crashes the processor each time it is decided is dead-lettered after a bounded
// number of crashes instead of stopping all processing for good.

import { type ChildProcess, spawn } from 'node:child_process';
import { AckPolicy, DeliverPolicy, type NatsConnection, nanos } from 'nats';
import { afterEach, describe, expect, it } from 'vitest';
import { CRASHED_ATTEMPTS_MAX } from '../../src/domain/applied.ts';
import { DEFAULT_TOPOLOGY, ensureTopology } from '../../src/nats/setup.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import {
  BIN,
  REPO_ROOT,
  type Collected,
  collect,
  consumerCaughtUp,
  consumerInfo,
  json,
  snapshotLedger,
  waitUntil,
  withBrokerAndLedger,
} from './harness.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const env = withBrokerAndLedger(20, 'each');
const STREAM = 'PAY_ORDERS';
// orders stay in the stream once applied (no purge of applied ones), so a replay from its start could happen
const KEPT = { ...DEFAULT_TOPOLOGY, ordersRetention: 'limits' as const };
/** child processors this file started: none outlives its test */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const payment = (id: string, i: number) => ({
  id,
  type: 'payment',
  card: env.ledger.usdCards[i % env.ledger.usdCards.length]!.token,
  merchant: env.ledger.merchants[i % env.ledger.merchants.length]!,
  currency: 'USD',
  amount: '1.00',
  createdAt: new Date().toISOString(),
});

/** Publishes payments through JetStream (one subject per source); returns their stream sequences. */
async function publish(nc: NatsConnection, ids: string[], source = 'e2e'): Promise<number[]> {
  const js = nc.jetstream();
  const seqs: number[] = [];
  for (const [i, id] of ids.entries()) seqs.push((await js.publish(`pay.orders.${source}`, json(payment(id, i)), { msgID: id })).seq);
  return seqs;
}

const start = (): Promise<Runtime> =>
  startRuntime(parseRuntimeConfig({ dataDir: env.ledger.dataDir, natsUrl: env.server.url, rulesPath: false, topology: KEPT }));

/** Results (duplicates included) each id got. */
const resultsOf = (c: Collected, ids: string[]) => Object.fromEntries(ids.map((id) => [id, (c.byId.get(id) ?? []).length]));
/** Decisions (results not marked duplicate) each id got. */
const decisionsOf = (c: Collected, ids: string[]) =>
  Object.fromEntries(ids.map((id) => [id, (c.byId.get(id) ?? []).filter((r) => !r.duplicate).length]));
const once = (ids: string[]) => Object.fromEntries(ids.map((id) => [id, 1]));

/** o1..o6 applied and acknowledged by a processor that then stops cleanly. */
async function firstRun(c: Collected): Promise<string[]> {
  const ids = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6'];
  const runtime = await start();
  try {
    await publish(env.nc, ids);
    await waitUntil('o1..o6 answered', () => ids.every((id) => c.byId.has(id)), 20_000);
    await waitUntil('o1..o6 acknowledged', () => consumerCaughtUp(env.nc), 10_000);
  } finally {
    await runtime.stop();
  }
  return ids;
}

/** What a processor that died before applying them had: messages pulled from the durable consumer, never acked. */
async function pullWithoutAck(nc: NatsConnection, n: number): Promise<number[]> {
  const consumer = await nc.jetstream().consumers.get(STREAM, DEFAULT_TOPOLOGY.durable);
  const batch = await consumer.fetch({ max_messages: n, expires: 2000 });
  const seqs: number[] = [];
  for await (const m of batch) seqs.push(m.info.streamSequence);
  return seqs;
}

/** Runs the processor until `ids` are answered and the consumer has caught up, then stops it. */
async function restartUntilAnswered(c: Collected, ids: string[]): Promise<void> {
  const runtime = await start();
  try {
    let last = '';
    await waitUntil(
      'every remaining order answered and acknowledged',
      async () => {
        const info = await consumerInfo(env.nc);
        last = JSON.stringify({ results: resultsOf(c, ids), ackFloor: info?.ack_floor, pending: info?.num_pending, ackPending: info?.num_ack_pending });
        return ids.every((id) => c.byId.has(id)) && (await consumerCaughtUp(env.nc));
      },
      20_000,
      () => last,
    );
    await env.nc.flush();
  } finally {
    await runtime.stop();
  }
}

/** The topology with orders kept, a collector, and o1..o6 applied by a first run: what each test starts from. */
async function afterFirstRun(): Promise<{ c: Collected; before: string[] }> {
  await ensureTopology(env.nc, KEPT);
  const c = await collect(env.nc);
  return { c, before: await firstRun(c) };
}

/** The durable consumer deleted and added again, delivering from `seq`: what a restart after a crash does. */
async function recreateConsumerAt(seq: number): Promise<void> {
  const jsm = await env.nc.jetstreamManager();
  await jsm.consumers.delete(STREAM, DEFAULT_TOPOLOGY.durable);
  await jsm.consumers.add(STREAM, {
    durable_name: DEFAULT_TOPOLOGY.durable,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: seq,
    ack_wait: nanos(DEFAULT_TOPOLOGY.ackWaitMs),
    max_ack_pending: DEFAULT_TOPOLOGY.maxAckPending,
    max_deliver: -1,
  });
}

/**
 * Starts processors that crash on the order `crasher` until one runs on, having dead-lettered it; that one
 * answers `others`, catches up and stops. Returns how many crashed.
 */
async function crashUntilDeadLettered(c: Collected, others: string[]): Promise<number> {
  let crashes = 0;
  for (let run = 0; ; run++) {
    expect(run).toBeLessThanOrEqual(2 * CRASHED_ATTEMPTS_MAX);
    const child = spawnProcessor({ PAYSTREAM_TEST_CRASH_ON_ORDER: 'crasher' });
    let outcome: { code: number | null; signal: NodeJS.Signals | null } | 'running' | undefined;
    void child.exited.then((exit) => {
      outcome ??= exit;
    });
    await waitUntil(
      'the processor to crash or dead-letter the crasher',
      () => {
        if (c.dlq.some((d) => d.reason === 'poison')) outcome ??= 'running';
        return outcome !== undefined;
      },
      30_000,
      () => child.stderr().slice(-2000),
    );
    if (outcome === 'running') {
      await waitUntil('the other orders answered', () => others.every((id) => c.byId.has(id)), 20_000);
      await waitUntil('the consumer caught up', () => consumerCaughtUp(env.nc), 10_000);
      child.proc.kill('SIGTERM');
      await child.exited;
      return crashes;
    }
    expect(outcome).toEqual({ code: null, signal: 'SIGKILL' });
    crashes++;
  }
}

describe('the ledger says what was applied: an operator deletes or purges messages', () => {
  it('an operator deleting a message the dead processor held does not acknowledge the orders before it', async () => {
    const { c, before } = await afterFirstRun();
    const [, poisonSeq] = await publish(env.nc, ['o7', 'poison', 'o8', 'o9']);
    expect(await pullWithoutAck(env.nc, 4)).toHaveLength(4);
    const jsm = await env.nc.jetstreamManager();
    expect(await jsm.streams.deleteMessage(STREAM, poisonSeq!)).toBe(true);
    // the broker takes the delete for an acknowledgement of everything before it: o7 counts as acked there
    expect((await consumerInfo(env.nc))?.ack_floor.stream_seq).toBeGreaterThanOrEqual(poisonSeq!);

    await restartUntilAnswered(c, ['o7', 'o8', 'o9']);
    // each remaining order once, and nothing from the stream's start again
    expect(resultsOf(c, [...before, 'o7', 'o8', 'o9'])).toEqual(once([...before, 'o7', 'o8', 'o9']));
    expect(c.byId.has('poison')).toBe(false);
    const ledger = await snapshotLedger(env.ledger.dataDir);
    expect(ledger.orders.get('o7')?.status).toBe('approved');
    expect(ledger.verify.ok).toBe(true);
  });

  it('a purge of one publisher\'s messages while the processor is down loses none of the others', async () => {
    const { c, before } = await afterFirstRun();
    await publish(env.nc, ['g1', 'g2'], 'good');
    await publish(env.nc, ['j1', 'j2'], 'junk');
    await publish(env.nc, ['g3', 'g4'], 'good');
    const jsm = await env.nc.jetstreamManager();
    await jsm.streams.purge(STREAM, { filter: 'pay.orders.junk' });

    await restartUntilAnswered(c, ['g1', 'g2', 'g3', 'g4']);
    expect(resultsOf(c, [...before, 'g1', 'g2', 'g3', 'g4'])).toEqual(once([...before, 'g1', 'g2', 'g3', 'g4']));
    expect(resultsOf(c, ['j1', 'j2'])).toEqual({ j1: 0, j2: 0 });
  });
});

describe('the ledger says what was applied: a consumer or stream made again', () => {
  it('a consumer recreated at a start sequence and never acked (ack floor 0 on 2.9) replays nothing from the stream start', async () => {
    const { c, before } = await afterFirstRun();
    const [o7Seq] = await publish(env.nc, ['o7', 'o8']);
    // what a restart after a crash does (the consumer delivers from o7), then the processor is killed
    // before its first ack: o7 delivered, never acked
    await recreateConsumerAt(o7Seq!);
    expect(await pullWithoutAck(env.nc, 1)).toEqual([o7Seq]);
    expect((await consumerInfo(env.nc))?.ack_floor.stream_seq).toBe(0);

    await restartUntilAnswered(c, ['o7', 'o8']);
    expect(resultsOf(c, [...before, 'o7', 'o8'])).toEqual(once([...before, 'o7', 'o8']));
  });

  it('a recreated orders stream (its sequences start again at 1) is delivered whole, not from the old floor', async () => {
    const { c, before } = await afterFirstRun();
    const jsm = await env.nc.jetstreamManager();
    await jsm.streams.delete(STREAM);
    await ensureTopology(env.nc, KEPT);
    await publish(env.nc, ['n1', 'n2']);
    await restartUntilAnswered(c, ['n1', 'n2']);
    expect(resultsOf(c, [...before, 'n1', 'n2'])).toEqual(once([...before, 'n1', 'n2']));
  });
});

describe('the ledger says what was applied: a processor that dies', () => {
  it('a processor SIGKILLed before its first ack, twice (the second on a consumer at a start sequence), replays nothing', { timeout: 60_000 }, async () => {
    const { c, before } = await afterFirstRun();
    await publish(env.nc, ['o7', 'o8']);
    for (let run = 0; run < 2; run++) {
      const child = spawnProcessor({ PAYSTREAM_TEST_CRASH_ON_ORDER: 'o7' });
      expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    }
    // the second run found o7 unacknowledged and had the consumer deliver from it: a start sequence
    const info = await consumerInfo(env.nc);
    expect(info?.config.deliver_policy).toBe(DeliverPolicy.StartSequence);
    expect(info?.num_ack_pending).toBeGreaterThan(0);

    await restartUntilAnswered(c, ['o7', 'o8']);
    expect(resultsOf(c, [...before, 'o7', 'o8'])).toEqual(once([...before, 'o7', 'o8']));
  });

  it('a message that crashes the processor each time is dead-lettered `poison` after a bounded number of crashes; every other order one result', { timeout: 120_000 }, async () => {
    const { c, before } = await afterFirstRun();
    const others = ['o7', 'o8', 'o9', 'o10'];
    await publish(env.nc, ['o7', 'crasher', 'o8', 'o9', 'o10']);
    const crashes = await crashUntilDeadLettered(c, others);
    // crashed CRASHED_ATTEMPTS_MAX times in buffers with others at most, then CRASHED_ATTEMPTS_MAX times alone; never decided
    expect(crashes).toBeGreaterThanOrEqual(CRASHED_ATTEMPTS_MAX);
    expect(crashes).toBeLessThanOrEqual(2 * CRASHED_ATTEMPTS_MAX);
    expect(c.dlq.filter((d) => d.reason === 'poison').map((d) => d.orderId)).toEqual(['crasher']);
    expect(c.byId.has('crasher')).toBe(false);
    // each answered with its one decision: an order decided in a buffer that was written when the process
    // died, but not yet answered, is answered after the restart from the ledger (marked duplicate)
    for (const id of others) {
      const results = c.byId.get(id) ?? [];
      expect(results.map((r) => r.status)).toContain('approved');
      expect(new Set(results.map((r) => r.status))).toEqual(new Set(['approved']));
    }
    expect(decisionsOf(c, others).o7).toBeLessThanOrEqual(1);
    // nothing from before the crashes answered again
    expect(resultsOf(c, before)).toEqual(once(before));
    const ledger = await snapshotLedger(env.ledger.dataDir);
    for (const id of others) expect(ledger.orders.get(id)?.status).toBe('approved');
    expect(ledger.orders.has('crasher')).toBe(false);
    expect(ledger.verify.ok).toBe(true);
  });
});

/** `paystream run --headless --no-risk` with extra environment; resolves `exited` with its code or signal. */
function spawnProcessor(extraEnv: Record<string, string>) {
  const proc = spawn(process.execPath, [BIN, '--data', env.ledger.dataDir, '--nats', env.server.url, 'run', '--headless', '--no-risk', '--keep-orders'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PAYSTREAM_SECRET: '', ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, exited, stderr: () => stderr };
}
