// Exactly once against a real nats-server: every order type, duplicates, bad payloads, a processor in-process
// and one as a child process killed with SIGKILL; results, dead letters and balances checked independently.

import { describe, expect, it } from 'vitest';
import { startRuntime } from '../../src/processor/launch.ts';
import {
  withBrokerAndLedger,
  type Collected,
  type Traffic,
  balanceDiffs,
  cli,
  collect,
  consumerCaughtUp,
  filesContaining,
  mixedTraffic,
  modelBalances,
  publishAll,
  snapshotLedger,
  startChildProcessor,
  waitUntil,
} from './harness.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const env = withBrokerAndLedger(200, 'each');

const expectedResults = (t: Traffic) => t.expected.size + [...t.duplicates.values()].reduce((a, b) => a + b, 0);
const expectedDeadLetters = (t: Traffic) => [...t.dlq.values()].reduce((a, b) => a + b, 0);

/** Waits until every order has its result, every duplicate its answer and every dead letter arrived. */
async function allAnswered(t: Traffic, c: Collected, timeoutMs = 45_000): Promise<void> {
  await waitUntil(
    'every result and dead letter',
    async () => c.all.length >= expectedResults(t) && c.dlq.length >= expectedDeadLetters(t) && (await consumerCaughtUp(env.nc)),
    timeoutMs,
    () => `(results ${c.all.length}/${expectedResults(t)}, dlq ${c.dlq.length}/${expectedDeadLetters(t)})`,
  );
  await env.nc.flush();
}

/**
 * Each order id: exactly one result not marked duplicate (unless `lossy`: a crash may lose an original
 * result that was never flushed, then only its duplicate tells), with the expected status; every other
 * result for it is marked duplicate and repeats that status.
 */
function expectExactlyOnceOnTheWire(t: Traffic, c: Collected, lossy = false): void {
  const problems: string[] = [];
  for (const [id, want] of t.expected) {
    const got = c.byId.get(id) ?? [];
    const originals = got.filter((r) => !r.duplicate);
    const dups = got.filter((r) => r.duplicate);
    if (originals.length > 1) problems.push(`${id}: ${originals.length} original results`);
    if (!lossy && originals.length !== 1) problems.push(`${id}: ${originals.length} original results`);
    if (got.length === 0) problems.push(`${id}: no result`);
    const first = originals[0] ?? got[0];
    if (first && (first.status !== want.status || (want.reason !== undefined && first.reason !== want.reason))) {
      problems.push(`${id}: ${first.status}/${first.reason} but expected ${want.status}/${want.reason}`);
    }
    if (got.some((r) => r.status !== first?.status)) problems.push(`${id}: results disagree on the status`);
    if (!lossy && dups.length !== (t.duplicates.get(id) ?? 0)) {
      problems.push(`${id}: ${dups.length} duplicate answers, expected ${t.duplicates.get(id) ?? 0}`);
    }
  }
  for (const id of c.byId.keys()) if (!t.expected.has(id)) problems.push(`${id}: a result for an order never sent`);
  expect(problems.slice(0, 20)).toEqual([]);
}

function expectDeadLetters(t: Traffic, c: Collected, lossy = false): void {
  const byReason = new Map<string, number>();
  for (const d of c.dlq) {
    expect(d.reason, `dead letter on ${d.subject} has a reason header`).toBeTruthy();
    expect(d.subject).toBe(`pay.dlq.${d.reason}`);
    byReason.set(d.reason!, (byReason.get(d.reason!) ?? 0) + 1);
    for (const pan of t.inlinePans) expect(d.payload.includes(pan), `a dead letter carries a PAN: ${d.payload}`).toBe(false);
  }
  if (lossy) {
    // around a SIGKILL, dead letters are at least once: a redelivered message is dead-lettered again
    for (const [reason, count] of t.dlq) expect(byReason.get(reason) ?? 0, reason).toBeGreaterThanOrEqual(count);
  } else expect(Object.fromEntries(byReason)).toEqual(Object.fromEntries(t.dlq));
}

async function expectLedgerAgrees(t: Traffic): Promise<void> {
  const snap = await snapshotLedger(env.ledger.dataDir);
  expect(snap.verify.violations).toEqual([]);
  expect(snap.verify.ok).toBe(true);
  // every order id stored once, with the status the wire said
  const wrong: string[] = [];
  for (const [id, want] of t.expected) {
    const stored = snap.orders.get(id);
    if (!stored || stored.status !== want.status) wrong.push(`${id}: stored ${stored?.status}, expected ${want.status}`);
  }
  expect(wrong.slice(0, 20)).toEqual([]);
  expect(snap.orders.size).toBe(t.expected.size);
  const model = modelBalances(env.ledger, t.orders, (id) => snap.orders.get(id)?.status);
  expect(balanceDiffs(model, snap.balances).slice(0, 20)).toEqual([]);
  // every authorization ended (captured, voided, canceled): no hold is left anywhere
  expect([...snap.balances].filter(([, a]) => a.holds !== 0n).map(([id]) => id)).toEqual([]);
  // the PAN sent inline is nowhere in the data dir
  for (const pan of t.inlinePans) expect(await filesContaining(env.ledger.dataDir, pan)).toEqual([]);
}

describe('exactly once through a real broker', () => {
  it('gives every order of every type exactly one result, answers duplicates with the original, dead-letters bad input, and moves money once', async () => {
    const t = mixedTraffic(env.ledger, 1100, 'inproc', { duplicates: true, bad: true });
    expect(t.expected.size).toBeGreaterThan(2000);
    const c = await collect(env.nc);
    const runtime = await startRuntime(parseRuntimeConfig({ dataDir: env.ledger.dataDir, natsUrl: env.server.url, rulesPath: false }));
    try {
      const brokerDuplicates = await publishAll(env.nc, t.out);
      expect(brokerDuplicates).toBe(t.brokerDuplicates);
      await allAnswered(t, c);
    } finally {
      await runtime.stop();
    }
    c.stop();
    expectExactlyOnceOnTheWire(t, c);
    expectDeadLetters(t, c);
    await expectLedgerAgrees(t);
  }, 90_000);

  it('a child-process processor killed with SIGKILL mid-stream and restarted loses nothing and applies nothing twice; verify passes', async () => {
    const t = mixedTraffic(env.ledger, 1100, 'child', { duplicates: true, bad: true });
    const c = await collect(env.nc);
    let child = await startChildProcessor(env.ledger.dataDir, env.server.url);
    try {
      const published = publishAll(env.nc, t.out);
      await waitUntil('some results before the kill', () => c.all.length > 600, 30_000);
      await child.kill('SIGKILL');
      await published;
      child = await startChildProcessor(env.ledger.dataDir, env.server.url);
      await waitUntil(
        'every order answered after the restart',
        async () => [...t.expected.keys()].every((id) => c.byId.has(id)) && (await consumerCaughtUp(env.nc)),
        45_000,
        () => `(${[...t.expected.keys()].filter((id) => !c.byId.has(id)).length} unanswered)`,
      );
      await env.nc.flush();
      expect(await child.stop()).toBe(0);
    } finally {
      await child.kill('SIGKILL');
    }
    c.stop();
    expectExactlyOnceOnTheWire(t, c, true);
    expectDeadLetters(t, c, true);
    await expectLedgerAgrees(t);
    const verify = await cli(['--data', env.ledger.dataDir, 'verify', '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, violations: [] });
  }, 120_000);
});
