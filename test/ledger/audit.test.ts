// The audit trail on a real LevelDB ledger: every operator command writes its entry in the same write as its
// effect (or alone, with its error); verify walks the chain and finds every manual deposit's entry; four eyes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localActor, SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import { type AuditEntry, auditParams, entryHash } from '../../src/domain/audit.ts';
import { DEFAULT_APPLY_OPTIONS, WorkingSet, applyOrder } from '../../src/domain/apply.ts';
import { sweepExpiredHolds } from '../../src/processor/held-orders.ts';
import { parseFourEyes } from '../../src/domain/four-eyes.ts';
import { LedgerApi } from '../../src/ledger/api.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { AUDIT_HEAD_KEY, auditKey } from '../../src/ledger/audit-trail.ts';
import type { LedgerError } from '../../src/ledger/errors.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { type OpTable, makeOps } from '../../src/processor/operations.ts';
import { TEST_NOW_MS, TEST_PANS, anOrder } from '../domain/builders.ts';
import { aContext, aTempStore, removeDataDir } from './builders.ts';

const ALICE = localActor('alice', 'cli');
const BOB = { id: 'UBOB', account: 'OPERATORS', via: 'nats' as const };

let store: LedgerStore;
let dataDir: string;
let ops: OpTable;
let nowMs: number;

const fourEyes = (() => {
  const p = parseFourEyes('USD=1000.00,*=1000', '1h');
  if (!p.ok) throw new Error(p.message);
  return p.options;
})();

beforeEach(async () => {
  ({ store, dataDir } = await aTempStore());
  nowMs = TEST_NOW_MS;
  ops = makeOps({ api: new LedgerApi(store, () => nowMs, fourEyes), clock: () => nowMs });
  await ops['accounts.open']({ id: 'acct_a', owner: 'A', kind: 'cardholder', currency: 'USD' }, ALICE);
});
afterEach(async () => {
  await store.close();
  await removeDataDir(dataDir);
});

/** Every entry in the ledger, oldest first. */
async function trail(): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const text of store.audit.values()) out.push(JSON.parse(text) as AuditEntry);
  return out;
}
const last = async () => (await trail()).at(-1)!;
const balanceOf = async (id: string) => (await store.getAccount(id))!.balanceMinor;
const failure = async (p: Promise<unknown>) => p.then(() => { throw new Error('expected a refusal'); }, (e: unknown) => e as LedgerError);
const codes = (r: Awaited<ReturnType<typeof verifyLedger>>) => r.violations.map((v) => v.code);

describe('every operator command writes its audit entry', () => {
  it('records who, what, when, the outcome and the balance before and after a deposit, naming its transfer', async () => {
    const out = (await ops['accounts.deposit']({ id: 'acct_a', amount: '25.00' }, BOB)) as { transfer: { id: string } };
    const entry = await last();
    expect(entry).toMatchObject({
      action: 'accounts.deposit',
      actor: BOB,
      at: new Date(TEST_NOW_MS).toISOString(),
      params: { id: 'acct_a', amount: '25.00' },
      outcome: 'ok',
      before: { account: 'acct_a', balance: '0.00' },
      after: { account: 'acct_a', balance: '25.00', transferId: out.transfer.id },
    });
    expect(entry.hash).toBe(entryHash(entry));
    expect(store.auditHeadNow).toEqual({ seq: entry.seq, hash: entry.hash });
    expect(await store.meta.get(AUDIT_HEAD_KEY)).toBe(`${entry.seq} ${entry.hash}`);
  });

  it('puts the entry, the new head, the transfer and the balances into one LevelDB batch', async () => {
    const batches: string[][] = [];
    const db = store.db as unknown as { batch: () => { put: (k: string, v: string) => unknown } };
    const batch = db.batch.bind(db);
    db.batch = () => {
      const b = batch();
      const keys: string[] = [];
      batches.push(keys);
      const put = b.put.bind(b);
      b.put = (k: string, v: string) => {
        keys.push(k);
        return put(k, v);
      };
      return b;
    };
    try {
      await ops['accounts.deposit']({ id: 'acct_a', amount: '25.00' }, BOB);
      await ops['cards.register']({ pan: TEST_PANS.visa[0], expiry: '12/30', holder: 'Ada' }, BOB);
    } finally {
      delete (db as { batch?: unknown }).batch;
    }
    const entries = await trail();
    for (const [entry, effect] of [
      [entries.at(-2)!, `${store.balances.prefix}acct_a`],
      [entries.at(-1)!, store.cards.prefix],
    ] as const) {
      const written = batches.filter((keys) => keys.includes(store.audit.prefix + auditKey(entry.seq)));
      expect(written).toHaveLength(1);
      expect(written[0]).toContain(store.meta.prefix + AUDIT_HEAD_KEY);
      expect(written[0]!.some((k) => k.startsWith(effect))).toBe(true);
    }
  });

});

describe('a failed or refused operator command is audited alone', () => {
  it('writes the entry and the effect in one LevelDB write: a write that fails leaves neither, and the failure is audited alone', async () => {
    const headBefore = store.auditHeadNow;
    const transfersBefore = (await verifyLedger(store)).transfers;
    // the next LevelDB write fails, as a full disk would fail it
    const writeBatch = store.writeBatch.bind(store);
    let failed = 0;
    store.writeBatch = (batch) => {
      if (failed++ === 0) {
        void batch.close();
        return Promise.reject(new Error('disk full'));
      }
      return writeBatch(batch);
    };
    await expect(ops['accounts.deposit']({ id: 'acct_a', amount: '25.00' }, BOB)).rejects.toThrow('disk full');
    store.writeBatch = writeBatch;
    // read back from LevelDB itself (a failed write leaves the process's caches ahead: it stops there)
    await store.close();
    store = await LedgerStore.open(dataDir);
    expect(await balanceOf('acct_a')).toBe(0n);
    expect((await verifyLedger(store)).transfers).toBe(transfersBefore);
    const entries = await trail();
    // no entry of the deposit that did not happen: the next one is the failure, alone
    expect(entries.at(-1)).toMatchObject({ seq: headBefore.seq + 1, action: 'accounts.deposit', outcome: 'error', error: 'internal', actor: BOB });
    expect(entries.at(-1)!.after).toBeUndefined();
    expect((await verifyLedger(store)).ok).toBe(true);
  });

  it('audits a refused operation with its error code, and moves nothing', async () => {
    await failure(ops['accounts.deposit']({ id: 'acct_nobody', amount: '5.00' }, ALICE));
    expect(await last()).toMatchObject({ action: 'accounts.deposit', outcome: 'error', error: 'unknown_account', params: { id: 'acct_nobody' }, actor: ALICE });
    await failure(ops['accounts.deposit']({ id: 'acct_a', amount: '5.001' }, ALICE));
    expect((await last()).error).toBe('amount_too_precise');
    await failure(ops['accounts.withdraw']({ id: 'acct_a', amount: '1.00' }, ALICE));
    expect(await last()).toMatchObject({ action: 'accounts.withdraw', error: 'insufficient_funds' });
    await failure(ops['cards.freeze']({}, ALICE));
    expect(await last()).toMatchObject({ action: 'cards.freeze', error: 'invalid_request' });
    expect(await balanceOf('acct_a')).toBe(0n);
    // one entry a refusal, never two
    const actions = (await trail()).map((e) => `${e.action}:${e.outcome}`);
    expect(actions.filter((a) => a === 'accounts.deposit:error')).toHaveLength(2);
  });

});

describe('what the trail shows', () => {
  it('masks card data: the PAN never, the token shortened, the card status before and after', async () => {
    const pan = TEST_PANS.visa[0];
    const reg = (await ops['cards.register']({ pan, expiry: '12/30', holder: 'Ada' }, ALICE)) as { card: { token: string } };
    const token = reg.card.token;
    await ops['cards.freeze']({ token }, BOB);
    const [registered, frozen] = (await trail()).slice(-2);
    expect(registered).toMatchObject({ action: 'cards.register', params: { pan: '411111******1111', holder: 'Ada' }, after: { masked: '411111******1111', created: true, status: 'active' } });
    expect(frozen).toMatchObject({ action: 'cards.freeze', params: { token: `${token.slice(0, 12)}…` }, before: { status: 'active' }, after: { status: 'frozen' }, actor: BOB });
    for (const e of await trail()) {
      const text = JSON.stringify(e);
      expect(text).not.toContain(pan);
      expect(text).not.toContain(token);
    }
  });

  it('lists entries newest first, by actor and since a time', async () => {
    await ops['accounts.deposit']({ id: 'acct_a', amount: '1.00' }, BOB);
    nowMs += 3_600_000;
    await ops['accounts.deposit']({ id: 'acct_a', amount: '2.00' }, ALICE);
    const all = (await ops['audit.list']({}, ALICE)) as { entries: AuditEntry[] };
    expect(all.entries.map((e) => e.params.amount ?? e.action)).toEqual(['2.00', '1.00', 'accounts.open', 'audit.start']);
    const bobs = (await ops['audit.list']({ who: 'UBOB' }, ALICE)) as { entries: AuditEntry[] };
    expect(bobs.entries.map((e) => e.params.amount)).toEqual(['1.00']);
    const alices = (await ops['audit.list']({ who: 'alice', limit: 1 }, ALICE)) as { entries: AuditEntry[] };
    expect(alices.entries.map((e) => e.params.amount)).toEqual(['2.00']);
    const recent = (await ops['audit.list']({ since: '30m' }, ALICE)) as { entries: AuditEntry[] };
    expect(recent.entries.map((e) => e.params.amount)).toEqual(['2.00']);
    await expect(ops['audit.list']({ since: 'lately' }, ALICE)).rejects.toMatchObject({ code: 'invalid_request' });
  });
});

describe('verify checks the trail', () => {
  beforeEach(async () => {
    for (const amount of ['10.00', '20.00', '30.00']) await ops['accounts.deposit']({ id: 'acct_a', amount }, ALICE);
    await ops['accounts.withdraw']({ id: 'acct_a', amount: '5.00' }, BOB);
  });

  it('passes an intact trail in which every manual deposit and withdrawal has its entry', async () => {
    const report = await verifyLedger(store);
    expect(report.ok).toBe(true);
    expect(report.audit).toEqual({ entries: 6, headSeq: 6 });
  });

  it('names the entry after a deleted one', async () => {
    await store.audit.del(auditKey(3));
    const report = await verifyLedger(store);
    expect(report.ok).toBe(false);
    expect(report.audit.firstBrokenSeq).toBe(4);
    expect(codes(report)).toContain('audit_chain');
    // the deposit that entry recorded now has none
    expect(codes(report)).toContain('unaudited_transfer');
  });

  it('names an altered entry', async () => {
    const entry = JSON.parse((await store.audit.get(auditKey(4)))!) as AuditEntry;
    await store.audit.put(auditKey(4), JSON.stringify({ ...entry, actor: SYSTEM_ACTOR }));
    const report = await verifyLedger(store);
    expect(report.audit.firstBrokenSeq).toBe(4);
    expect(report.violations.find((v) => v.code === 'audit_chain')?.message).toContain('entry 4');
  });

  it('notices the newest entry removed (the head remembers it)', async () => {
    await store.audit.del(auditKey(6));
    const report = await verifyLedger(store);
    expect(report.audit.firstBrokenSeq).toBe(6);
  });

  it('flags a deposit written without its entry (money moved by hand, around the operator commands)', async () => {
    const ws = new WorkingSet();
    const account = (await store.getAccount('acct_a'))!;
    ws.accounts.set(account.id, account);
    ws.accounts.set('funding-USD', (await store.getAccount('funding-USD'))!);
    ws.transfer({ id: 'dep_999999', debit: 'funding-USD', credit: 'acct_a', amountMinor: 1_000_000_000n, currency: 'USD', kind: 'deposit', orderId: '', atMs: TEST_NOW_MS });
    await store.commit(ws);
    const report = await verifyLedger(store);
    expect(report.audit.firstBrokenSeq).toBeUndefined();
    expect(report.violations).toEqual([expect.objectContaining({ code: 'unaudited_transfer', message: expect.stringContaining('dep_999999') })]);
  });

  it('starts a trail on a ledger written before it: its earlier manual transfers are accounted for by audit.start, later ones need entries', async () => {
    // a ledger from before the trail: its deposits and withdrawal are there, no entry, no head
    for await (const key of store.audit.keys()) await store.audit.del(key);
    await store.meta.del(AUDIT_HEAD_KEY);
    await store.close();
    store = await LedgerStore.open(dataDir);
    ops = makeOps({ api: new LedgerApi(store, () => nowMs, fourEyes), clock: () => nowMs });
    const [start] = await trail();
    expect(start).toMatchObject({ seq: 1, action: 'audit.start', actor: SYSTEM_ACTOR, after: { deposits: 3, withdrawals: 1, seeded: 0 } });
    expect((await verifyLedger(store)).ok).toBe(true);
    await ops['accounts.deposit']({ id: 'acct_a', amount: '1.00' }, ALICE);
    expect((await verifyLedger(store)).ok).toBe(true);
  });

  it('accounts for a seed run\'s deposits by its entries, naming who seeded', async () => {
    await seedLedger(store, { cards: 5, merchants: 2, seed: 7, cardBalance: '100', merchantBalance: '1000', actor: ALICE }, TEST_NOW_MS);
    const seeded = (await trail()).filter((e) => e.action === 'ledger.seed');
    expect(seeded.length).toBeGreaterThanOrEqual(2);
    expect(seeded[0]).toMatchObject({ actor: ALICE, after: { seedFrom: 1 } });
    expect((await verifyLedger(store)).ok).toBe(true);
  });
});

describe('four eyes on money made by hand', () => {
  it('moves money at once up to the threshold, and not above it: the posting waits, the maker audited', async () => {
    const small = (await ops['accounts.deposit']({ id: 'acct_a', amount: '1000.00' }, ALICE)) as { transfer: { id: string } };
    expect(small.transfer.id).toMatch(/^dep_/);
    const big = (await ops['accounts.deposit']({ id: 'acct_a', amount: '1000.01' }, ALICE)) as { pending: { id: string; status: string; madeBy: string } };
    expect(big.pending).toMatchObject({ status: 'pending', madeBy: 'local:alice' });
    expect(await balanceOf('acct_a')).toBe(100_000n);
    expect(await last()).toMatchObject({ action: 'accounts.deposit', actor: ALICE, outcome: 'ok', after: { posting: big.pending.id, status: 'pending', balance: '1000.00' } });
    const pending = (await ops['accounts.pending']({}, BOB)) as { postings: { id: string; amount: string }[] };
    expect(pending.postings).toEqual([expect.objectContaining({ id: big.pending.id, amount: '1000.01' })]);
    expect((await verifyLedger(store)).ok).toBe(true);
  });

  it('refuses the maker as checker (audited), lets a different operator approve: the money moves once, both in the trail', async () => {
    const { pending } = (await ops['accounts.deposit']({ id: 'acct_a', amount: '5000.00' }, ALICE)) as { pending: { id: string } };
    expect(await failure(ops['accounts.approve-posting']({ id: pending.id }, ALICE))).toMatchObject({ code: 'same_operator' });
    expect(await last()).toMatchObject({ action: 'accounts.approve-posting', actor: ALICE, outcome: 'error', error: 'same_operator' });
    expect(await balanceOf('acct_a')).toBe(0n);
    const approved = (await ops['accounts.approve-posting']({ id: pending.id }, BOB)) as { posting: { status: string; decidedBy: string }; transfer: { id: string } };
    expect(approved.posting).toMatchObject({ status: 'approved', decidedBy: 'UBOB' });
    expect(await balanceOf('acct_a')).toBe(500_000n);
    expect(await last()).toMatchObject({
      action: 'accounts.approve-posting',
      actor: BOB,
      outcome: 'ok',
      before: { status: 'pending', balance: '0.00', madeBy: 'local:alice' },
      after: { status: 'approved', balance: '5000.00', transferId: approved.transfer.id, madeBy: 'local:alice' },
    });
    // approving again, by anyone, moves nothing more
    expect(await failure(ops['accounts.approve-posting']({ id: pending.id }, { id: 'UCAROL', via: 'nats' }))).toMatchObject({ code: 'not_pending' });
    expect(await balanceOf('acct_a')).toBe(500_000n);
    expect((await ops['accounts.pending']({}, BOB)) as unknown).toEqual({ postings: [] });
    expect((await verifyLedger(store)).ok).toBe(true);
  });

  it('holds a large withdrawal too, and lets the maker or another operator reject a posting (nothing moves)', async () => {
    await ops['accounts.deposit']({ id: 'acct_a', amount: '900.00' }, ALICE);
    await ops['accounts.deposit']({ id: 'acct_a', amount: '900.00' }, ALICE);
    const { pending } = (await ops['accounts.withdraw']({ id: 'acct_a', amount: '1500.00' }, BOB)) as { pending: { id: string; kind: string } };
    expect(pending.kind).toBe('withdrawal');
    const rejected = (await ops['accounts.reject-posting']({ id: pending.id }, BOB)) as { posting: { status: string } };
    expect(rejected.posting.status).toBe('rejected');
    expect(await balanceOf('acct_a')).toBe(180_000n);
    const again = (await ops['accounts.withdraw']({ id: 'acct_a', amount: '1500.00' }, BOB)) as { pending: { id: string } };
    await ops['accounts.approve-posting']({ id: again.pending.id }, ALICE);
    expect(await balanceOf('acct_a')).toBe(30_000n);
    expect((await verifyLedger(store)).ok).toBe(true);
  });

  it('lapses a posting not approved in time: the approval is refused, audited, the posting marked lapsed', async () => {
    const { pending } = (await ops['accounts.deposit']({ id: 'acct_a', amount: '2000.00' }, ALICE)) as { pending: { id: string } };
    nowMs += 3_600_001;
    const listed = (await ops['accounts.pending']({}, BOB)) as { postings: { status: string }[] };
    expect(listed.postings[0]!.status).toBe('lapsed');
    expect(await failure(ops['accounts.approve-posting']({ id: pending.id }, BOB))).toMatchObject({ code: 'posting_lapsed' });
    expect(await balanceOf('acct_a')).toBe(0n);
    expect(await last()).toMatchObject({ action: 'accounts.approve-posting', actor: BOB, outcome: 'error', error: 'posting_lapsed', after: { status: 'lapsed' } });
    // the refusal wrote one entry, not two
    expect((await trail()).filter((e) => e.action === 'accounts.approve-posting')).toHaveLength(1);
    expect((await store.getPosting(pending.id))?.status).toBe('lapsed');
    expect((await ops['accounts.pending']({}, BOB)) as unknown).toEqual({ postings: [] });
    expect(await failure(ops['accounts.approve-posting']({ id: pending.id }, BOB))).toMatchObject({ code: 'not_pending' });
  });
});

describe('review decisions', () => {
  /** Two payments held for review on a card with 100.00 on its account. */
  async function twoHeld(): Promise<[string, string]> {
    const reg = (await ops['cards.register']({ pan: TEST_PANS.visa[0], expiry: '12/30', holder: 'Ada' }, ALICE)) as { card: { token: string; accountId: string } };
    await ops['accounts.deposit']({ id: reg.card.accountId, amount: '100.00' }, ALICE);
    const orders = [anOrder({ cardToken: reg.card.token }), anOrder({ cardToken: reg.card.token })];
    const ws = await store.prefetch(orders);
    for (const o of orders) applyOrder(ws, o, { outcome: 'review', ruleId: 'r1', reason: 'velocity_count' }, aContext());
    await store.commit(ws);
    return [orders[0]!.id, orders[1]!.id];
  }

  it('an operator\'s decision is decided by the actor (a `by` names no one), audited in the write that settles it', async () => {
    const [held] = await twoHeld();
    const out = (await ops['review.approve']({ orderId: held, by: 'ceo@bank' }, BOB)) as { result: { decidedBy: string; transferId: string } };
    expect(out.result.decidedBy).toBe('UBOB');
    expect((await store.getOrder(held))?.result.decidedBy).toBe('UBOB');
    expect(await last()).toMatchObject({ action: 'review.approve', actor: BOB, params: { orderId: held }, before: { status: 'held' }, after: { status: 'approved', transferId: out.result.transferId } });
    expect(JSON.stringify(await trail())).not.toContain('ceo@bank');
    await failure(ops['review.decline']({ orderId: held }, ALICE));
    expect(await last()).toMatchObject({ action: 'review.decline', outcome: 'error', error: 'not_held', actor: ALICE });
  });

  it('a review that times out is decided by paystream itself: one entry per order, by the system actor', async () => {
    const [a, b] = await twoHeld();
    const results = await sweepExpiredHolds(store, DEFAULT_APPLY_OPTIONS, TEST_NOW_MS + DEFAULT_APPLY_OPTIONS.reviewTimeoutMs + 1);
    expect(results.map((r) => r.reason)).toEqual(['review_timeout', 'review_timeout']);
    const timeouts = (await trail()).filter((e) => e.action === 'review.timeout');
    expect(timeouts.map((e) => e.params.orderId).sort()).toEqual([a, b].sort());
    for (const e of timeouts) expect(e).toMatchObject({ actor: SYSTEM_ACTOR, outcome: 'ok', before: { status: 'held' }, after: { status: 'declined', reason: 'review_timeout' } });
    expect((await verifyLedger(store)).ok).toBe(true);
  });
});

describe('the request names no one', () => {
  it('ignores a `by` in a review decision: the params record no `by` at all', () => {
    expect(auditParams('review.approve', { orderId: 'o1', by: 'ceo@bank' })).toEqual({ orderId: 'o1' });
  });
});
