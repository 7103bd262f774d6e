// The bank test: a long stream of orders from upstreams that retry until the broker acknowledges (JetStream,
// Nats-Msg-Id = the order id), the processor SIGKILLed at ten random moments and restarted each time, the broker
// crashed (SIGKILL) and restarted once on the same store dir and port, all in one run. Nothing lost, nothing
// applied twice: every order has exactly one stored result and every result published for it agrees, the
// balances are what the results say, and `paystream verify` is green.

import { describe, expect, it } from 'vitest';
import type { OrderResult } from '../../src/domain/types.ts';
import {
  type ChildProcessor,
  type LedgerSnapshot,
  type Outgoing,
  type Traffic,
  balanceDiffs,
  chainsOf,
  cli,
  consumerCaughtUp,
  consumerInfo,
  mixedTraffic,
  modelBalances,
  readStream,
  retryingPublishers,
  sleep,
  snapshotLedger,
  startChildProcessor,
  waitUntil,
  withBrokerAndLedger,
} from './harness.ts';

const env = withBrokerAndLedger(500, 'all');

/** SIGKILLs of the processor in the run */
const PROCESSOR_KILLS = 10;
/** the broker crashes before this kill, and the processor is killed while the broker is away */
const BROKER_CRASH_AT_KILL = 1 + Math.floor(PROCESSOR_KILLS / 2);
/** scenario groups of mixedTraffic (~2.2 orders each) */
const GROUPS = 4000;
/** orders a second while a share of the traffic is released: a kill lands while orders arrive */
const ORDERS_PER_SECOND = 800;
/** PAYSTREAM_CHAOS_SEED=<seed from a failure message> replays the same moments */
const SEED = Number(process.env.PAYSTREAM_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded generator for the moments of the kills */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function jetStreamBack(): Promise<void> {
  // the connection comes back before JetStream has recovered its streams
  await waitUntil('JetStream to have PAY_ORDERS back', async () => {
    try {
      await (await env.nc.jetstreamManager()).streams.info('PAY_ORDERS');
      return true;
    } catch {
      return false;
    }
  });
}

/** The bank's traffic as chains, with every 10th chain's first order published again under another Nats-Msg-Id. */
function trafficWithRepublishes(): { t: Traffic; chains: Outgoing[][]; again: Set<string>; total: number } {
  const t = mixedTraffic(env.ledger, GROUPS, 'bank');
  const chains = chainsOf(t);
  // the broker keeps both, the ledger answers the second as a duplicate (the same payload: never a second outcome)
  const again = new Set<string>();
  for (let i = 0; i < chains.length; i += 10) {
    const first = chains[i]![0]!;
    chains[i]!.push({ ...first, msgId: `${first.msgId}-again` } satisfies Outgoing);
    again.add(first.msgId!);
  }
  return { t, chains, again, total: chains.reduce((n, c) => n + c.length, 0) };
}

/**
 * The traffic in PROCESSOR_KILLS + 2 shares, each released at ORDERS_PER_SECOND: one when each processor has
 * started, so its kill (a random moment later) lands while that share arrives and is applied, and one into the
 * broker outage. `gate(n)` resolves when the n-th order may go.
 */
class TrafficInShares {
  private released = 0;
  private releasedAt = Date.now();
  /** the test is ending: the upstreams stop waiting and give up */
  stopped = false;
  private readonly share: number;

  constructor(private readonly total: number) {
    this.share = Math.ceil(total / (PROCESSOR_KILLS + 2));
  }

  release(): void {
    this.released = Math.min(this.total, this.released + this.share);
    this.releasedAt = Date.now();
  }

  readonly gate = async (n: number): Promise<void> => {
    while (n >= this.released && !this.stopped) await sleep(20);
    const due = this.releasedAt + ((n % this.share) * 1000) / ORDERS_PER_SECOND;
    if (due > Date.now()) await sleep(due - Date.now());
  };
}

/**
 * SIGKILLs the running processor PROCESSOR_KILLS times at random moments after its start, crashing the broker
 * once on the way, and starts a new one each time (`running.child`); returns what happened when.
 */
async function killAtRandomMoments(running: { child: ChildProcessor }, traffic: TrafficInShares, rnd: () => number, startedAt: number): Promise<string[]> {
  const moments: string[] = [];
  for (let kill = 1; kill <= PROCESSOR_KILLS; kill++) {
    traffic.release();
    // now and then right after the start, before the processor has acknowledged anything
    const afterStartMs = Math.round(rnd() < 0.2 ? rnd() * 100 : 200 + rnd() * 1500);
    await sleep(afterStartMs);
    if (kill === BROKER_CRASH_AT_KILL) {
      await env.server.kill('SIGKILL');
      // upstreams keep sending into the outage: their publishes fail until the broker is back
      traffic.release();
      await sleep(200 + rnd() * 1000);
      await running.child.kill('SIGKILL');
      await sleep(rnd() * 1000);
      moments.push(`broker crash, then kill ${kill} at ${Date.now() - startedAt} ms`);
      await env.server.restart();
      await jetStreamBack();
    } else {
      await running.child.kill('SIGKILL');
      moments.push(`kill ${kill} at ${Date.now() - startedAt} ms (${afterStartMs} ms after its start)`);
    }
    running.child = await startChildProcessor(env.ledger.dataDir, env.server.url);
  }
  return moments;
}

async function waitUntilAllAcknowledged(child: ChildProcessor, seedNote: string): Promise<void> {
  let last = '';
  await waitUntil(
    'the processor to apply and acknowledge everything',
    async () => {
      const info = await consumerInfo(env.nc);
      last = JSON.stringify({ pending: info?.num_pending, ackPending: info?.num_ack_pending, ackFloor: info?.ack_floor, delivered: info?.delivered });
      return consumerCaughtUp(env.nc);
    },
    60_000,
    () => `(${last}; ${child.stderr().slice(-500)}) ${seedNote}`,
  );
}

/** The results as PAY_RESULTS kept them (a live subscription misses what was sent while the broker was down). */
async function resultsKept(): Promise<Map<string, OrderResult[]>> {
  const kept = new Map<string, OrderResult[]>();
  for (const m of await readStream(env.nc, 'PAY_RESULTS')) {
    if (!m.subject.startsWith('pay.results.')) continue;
    const r = m.json<OrderResult>();
    kept.set(r.orderId, [...(kept.get(r.orderId) ?? []), r]);
  }
  return kept;
}

/** Every way an order's stored and published results fall short of one consistent outcome, as readable lines. */
function resultProblems(t: Traffic, again: Set<string>, kept: Map<string, OrderResult[]>, snap: LedgerSnapshot): string[] {
  const problems: string[] = [];
  for (const [id, want] of t.expected) {
    const stored = snap.orders.get(id);
    if (!stored) problems.push(`${id}: not in the ledger`);
    else if (stored.status !== want.status) problems.push(`${id}: stored ${stored.status}, expected ${want.status}`);
    const wire = kept.get(id) ?? [];
    // results the dying broker accepted but never stored are sent again after the reconnect
    if (wire.length === 0) problems.push(`${id}: no result in PAY_RESULTS`);
    // a result may be sent again (a restart, a reconnect): an identical copy or a duplicate, never another outcome
    const originals = new Set(wire.filter((r) => !r.duplicate).map((r) => JSON.stringify(r)));
    if (originals.size > 1) problems.push(`${id}: two different original results`);
    if (wire.some((r) => r.status !== stored?.status)) problems.push(`${id}: a published result differs from the stored one`);
    if (again.has(id) && !wire.some((r) => r.duplicate)) problems.push(`${id}: published again under another Nats-Msg-Id but never answered as a duplicate`);
  }
  return problems;
}

/** The operator's check, through the CLI on the store: verify, and one order shown as stored. */
async function expectOperatorCliAgrees(t: Traffic): Promise<void> {
  const verified = await cli(['--data', env.ledger.dataDir, 'verify']);
  expect(verified.code, verified.stderr + verified.stdout).toBe(0);
  const sample = t.orders[1234]!.id as string;
  const shown = await cli(['--data', env.ledger.dataDir, 'orders', 'show', sample, '--json']);
  expect(shown.code, shown.stderr).toBe(0);
  expect(JSON.parse(shown.stdout).order).toMatchObject({ orderId: sample, status: t.expected.get(sample)!.status });
}

describe('the bank under chaos', () => {
  it(`${PROCESSOR_KILLS} SIGKILLs of the processor at random moments and a broker crash, upstreams retrying until acknowledged: every order one consistent result, balances match, verify green`, async () => {
    const startedAt = Date.now();
    const rnd = random(SEED);
    const seedNote = `(PAYSTREAM_CHAOS_SEED=${SEED})`;
    const { t, chains, again, total } = trafficWithRepublishes();
    const traffic = new TrafficInShares(total);
    const publishing = retryingPublishers(env.server.url, chains, { publishers: 6, gate: traffic.gate, stopped: () => traffic.stopped });
    void publishing.catch(() => undefined);

    const running = { child: await startChildProcessor(env.ledger.dataDir, env.server.url) };
    try {
      const moments = await killAtRandomMoments(running, traffic, rnd, startedAt);
      traffic.release();
      const stats = await publishing;
      expect(stats.acked).toBe(total);
      expect(stats.retries, 'publishes failed during the broker outage and were retried').toBeGreaterThan(0);
      await waitUntilAllAcknowledged(running.child, seedNote);
      expect(await running.child.stop()).toBe(0);
      console.info(
        `bank chaos ${seedNote}: ${total} orders, ${PROCESSOR_KILLS} processor kills and a broker crash (${moments.join('; ')}), ` +
          `${stats.retries} publish retries, ${stats.brokerDuplicates} acks as duplicate, traffic and drain ${Date.now() - startedAt} ms`,
      );
    } finally {
      traffic.stopped = true;
      await running.child.kill('SIGKILL');
    }

    const kept = await resultsKept();
    const snap = await snapshotLedger(env.ledger.dataDir);
    const problems = resultProblems(t, again, kept, snap);
    expect(problems.slice(0, 20), `${problems.length} problems ${seedNote}`).toEqual([]);
    expect(snap.orders.size).toBe(t.expected.size);
    expect(snap.verify.violations).toEqual([]);
    expect(snap.verify.ok).toBe(true);
    const model = modelBalances(env.ledger, t.orders, (id) => snap.orders.get(id)?.status);
    expect(balanceDiffs(model, snap.balances).slice(0, 20)).toEqual([]);
    await expectOperatorCliAgrees(t);
  }, 180_000);
});
