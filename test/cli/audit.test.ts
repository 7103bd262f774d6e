// `paystream audit`, `accounts withdraw|pending|approve-posting` and verify's trail line, run as the CLI on the
// store directly (the OS user is the actor), in process: what an operator reads, and the four-eyes refusals.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEntry } from '../../src/domain/audit.ts';
import { type CliOutcome, paystreamInProcess } from './in-process.ts';

let dir: string;
const me = `local:${os.userInfo().username}`;
let data: string;

/** Runs `paystream --data <dir> <args>` in this process, capturing what it prints. */
const run = (...args: string[]): Promise<CliOutcome> => paystreamInProcess(['--data', data, ...args]);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-audit-cli-'));
  data = path.join(dir, 'ledger');
  vi.stubEnv('PAYSTREAM_FOUR_EYES_ABOVE', 'USD=1000.00');
  vi.stubEnv('PAYSTREAM_FOUR_EYES_LAPSE', '2h');
  expect((await run('accounts', 'open', '--id', 'm-shop', '--owner', 'Shop', '--currency', 'USD')).code).toBe(0);
  expect((await run('accounts', 'deposit', 'm-shop', '100.00')).code).toBe(0);
  expect((await run('accounts', 'withdraw', 'm-shop', '30.00')).code).toBe(0);
}, 60_000);
afterAll(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

describe('paystream audit', () => {
  it('lists operator actions newest first: time, who, what, outcome, before and after', async () => {
    const out = await run('audit');
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^seq\s+at\s+who\s+what\s+outcome\s+before\s+after$/);
    expect(lines[2]).toMatch(new RegExp(`^4\\s+\\S+Z\\s+${me}\\s+accounts\\.withdraw id=m-shop amount=30\\.00\\s+ok\\s+account=m-shop balance=100\\.00\\s+account=m-shop balance=70\\.00 transferId=wd_000001$`));
    expect(lines[3]).toContain('accounts.deposit id=m-shop amount=100.00');
    expect(lines[4]).toContain('accounts.open id=m-shop owner=Shop');
    expect(lines[5]).toMatch(/^1\s+\S+\s+system\s+audit\.start/);
  });

  it('filters by --who and --since, and prints JSON with --json', async () => {
    const json = JSON.parse((await run('audit', '--json', '--who', me, '--limit', '2')).stdout) as { entries: AuditEntry[]; head: { seq: number } };
    expect(json.entries.map((e) => e.action)).toEqual(['accounts.withdraw', 'accounts.deposit']);
    expect(json.entries[0]!.actor).toEqual({ id: me, via: 'cli' });
    expect(json.head.seq).toBe(4);
    const nobody = await run('audit', '--who', 'local:nobody-at-all');
    expect(nobody.stdout.trim()).toBe('no audit entries');
    const future = await run('audit', '--since', new Date(Date.now() + 3_600_000).toISOString());
    expect(future.stdout.trim()).toBe('no audit entries');
    expect((await run('audit', '--since', '1h', '--json')).stdout).toContain('accounts.withdraw');
    const bad = await run('audit', '--since', 'lately');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since');
  });

  it('holds a deposit above the threshold: pending, listed, and not approved by its own maker', async () => {
    const made = await run('accounts', 'deposit', 'm-shop', '5000.00');
    expect(made.code).toBe(0);
    const id = /pending as (mp_\d+)/.exec(made.stdout)?.[1];
    expect(id, made.stdout).toBeDefined();
    expect(made.stdout).toContain('approve-posting');
    const pending = await run('accounts', 'pending');
    expect(pending.stdout).toMatch(new RegExp(`${id}\\s+deposit\\s+m-shop\\s+5000\\.00 USD\\s+${me}`));
    const self = await run('accounts', 'approve-posting', id!);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('a different operator must approve it');
    const shown = JSON.parse((await run('accounts', 'show', 'm-shop', '--json')).stdout) as { account: { balance: string } };
    expect(shown.account.balance).toBe('70.00');
    const trail = JSON.parse((await run('audit', '--json', '--limit', '2')).stdout) as { entries: AuditEntry[] };
    expect(trail.entries.map((e) => `${e.action} ${e.outcome} ${e.error ?? ''}`.trim())).toEqual(['accounts.approve-posting error same_operator', 'accounts.deposit ok']);
  });

  it('verify says how long the trail is and that its chain is intact', async () => {
    const out = await run('verify');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/audit trail: \d+ entries, head \d+, chain intact/);
  });
});
