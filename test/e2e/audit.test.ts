// The audit trail and four eyes through the service, against a real nats-server running data/nats/roles.conf
// with TLS: each changing operation's entry names the operator the server attested (never a claimed one),
// a viewer reads the trail, a large deposit waits for a second operator, and verify sees the chain whole.

import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/domain/audit.ts';
import { callService } from '../../src/nats/service.ts';
import type { Runtime } from '../../src/processor/launch.ts';
import { type SeededLedger, seededLedger } from './harness.ts';
import { ROLE_USERS, type RolesBroker, startProcessorOn, startRolesBroker } from './roles-broker.ts';

const TOPOLOGY = { prefix: 'pay' };

let broker: RolesBroker;
let ledger: SeededLedger;
let runtime: Runtime | undefined;
let alice: NatsConnection;
let bob: NatsConnection;
let viewer: NatsConnection;

const call = (nc: NatsConnection, op: string, args: Record<string, unknown> = {}) => callService(nc, TOPOLOGY, op, args) as Promise<Record<string, unknown>>;
const newest = async (n = 1): Promise<AuditEntry[]> => ((await call(viewer, 'audit.list', { limit: n })).entries as AuditEntry[]);

beforeAll(async () => {
  broker = await startRolesBroker();
  ledger = await seededLedger(6);
  runtime = await startProcessorOn(broker, ledger.dataDir, { rulesPath: false });
  [alice, bob, viewer] = await Promise.all([broker.connectAs('operator'), broker.connectAs('operator2'), broker.connectAs('viewer')]);
}, 60_000);

afterAll(async () => {
  for (const nc of [alice, bob, viewer]) await nc?.close().catch(() => undefined);
  await runtime?.stop();
  await broker?.cleanup();
  await ledger?.cleanup();
});

describe('the audit trail through the service', () => {
  it('a deposit leaves an entry naming the operator the server attested, not the one the request claims', async () => {
    const card = ledger.usdCards[0]!;
    const out = await call(alice, 'accounts.deposit', { id: card.accountId, amount: '12.34', by: 'ceo@bank' });
    const [entry] = await newest();
    expect(entry).toMatchObject({
      action: 'accounts.deposit',
      outcome: 'ok',
      actor: { id: expect.stringContaining(ROLE_USERS.operator), via: 'nats' },
      params: { id: card.accountId, amount: '12.34' },
      before: { balance: '5000.00' },
      after: { balance: '5012.34', transferId: (out.transfer as { id: string }).id },
    });
    expect(JSON.stringify(entry)).not.toContain('ceo@bank');
    // a refused one is in the trail too, with its code
    await expect(call(alice, 'cards.freeze', { token: 'f'.repeat(64) })).rejects.toMatchObject({ code: 'unknown_card' });
    expect((await newest())[0]).toMatchObject({ action: 'cards.freeze', outcome: 'error', error: 'unknown_card' });
    // the viewer filters by who
    const byAlice = (await call(viewer, 'audit.list', { who: (entry!.actor as { id: string }).id })).entries as AuditEntry[];
    expect(byAlice.length).toBeGreaterThanOrEqual(2);
    expect(byAlice.every((e) => e.actor.id === entry!.actor.id)).toBe(true);
  }, 30_000);

  it('a deposit above the threshold waits; the maker cannot approve it, a second operator does; both in the trail', async () => {
    const card = ledger.usdCards[1]!;
    const made = await call(alice, 'accounts.deposit', { id: card.accountId, amount: '25000.00' });
    const id = (made.pending as { id: string }).id;
    expect(((await call(viewer, 'accounts.pending')).postings as { id: string }[]).map((p) => p.id)).toContain(id);
    expect(((await call(viewer, 'accounts.get', { id: card.accountId })).account as { balance: string }).balance).toBe('5000.00');
    await expect(call(alice, 'accounts.approve-posting', { id })).rejects.toMatchObject({ code: 'same_operator' });
    const approved = await call(bob, 'accounts.approve-posting', { id });
    expect(approved).toMatchObject({ posting: { status: 'approved' }, account: { balance: '30000.00' } });
    const [checker, refused, maker] = await newest(3);
    expect(maker).toMatchObject({ action: 'accounts.deposit', actor: { id: expect.stringContaining(ROLE_USERS.operator) }, after: { posting: id, status: 'pending' } });
    expect(refused).toMatchObject({ action: 'accounts.approve-posting', actor: { id: expect.stringContaining(ROLE_USERS.operator) }, error: 'same_operator' });
    expect(checker).toMatchObject({ action: 'accounts.approve-posting', actor: { id: expect.stringContaining(ROLE_USERS.operator2) }, outcome: 'ok', after: { status: 'approved', madeBy: maker!.actor.id } });
    const report = (await call(viewer, 'verify')) as { ok: boolean; audit: { entries: number; headSeq: number } };
    expect(report.ok).toBe(true);
    expect(report.audit.entries).toBe(report.audit.headSeq);
  }, 30_000);
});
