// The audit trail's pure core: canonical hashing, the chain, tamper detection naming the first broken entry, masking.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { localActor, SYSTEM_ACTOR } from '../../src/domain/actor.ts';
import {
  type AuditDraft,
  type AuditEntry,
  ChainChecker,
  EMPTY_HEAD,
  GENESIS_HASH,
  auditParams,
  canonicalJson,
  chainEntry,
  entryHash,
  parseSince,
} from '../../src/domain/audit.ts';
import { TEST_NOW_MS, TEST_PANS } from './builders.ts';

const ALICE = localActor('alice', 'cli');
const BOB = { id: 'UBOBNKEY', account: 'OPERATORS', via: 'nats' as const };

const draft = (n: number, overrides: Partial<AuditDraft> = {}): AuditDraft => ({
  actor: n % 2 === 0 ? ALICE : BOB,
  action: 'accounts.deposit',
  params: { id: `acct_${n}`, amount: `${n}.00` },
  atMs: TEST_NOW_MS + n * 1000,
  outcome: 'ok',
  before: { balance: '0.00' },
  after: { balance: `${n}.00`, transferId: `dep_${String(n).padStart(6, '0')}` },
  ...overrides,
});

/** A chain of `n` entries, as the store would append them. */
function chainOf(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  let head = EMPTY_HEAD;
  for (let i = 1; i <= n; i++) {
    const e = chainEntry(head, draft(i));
    out.push(e);
    head = { seq: e.seq, hash: e.hash };
  }
  return out;
}

/** Runs the checker over stored (seq, text) pairs and a head. */
function check(stored: [number, string][], head: { seq: number; hash: string } | undefined) {
  const checker = new ChainChecker();
  for (const [seq, text] of stored) checker.next(seq, text);
  return checker.end(head);
}
const stored = (entries: AuditEntry[]): [number, string][] => entries.map((e) => [e.seq, JSON.stringify(e)]);
const headOf = (entries: AuditEntry[]) => ({ seq: entries.at(-1)!.seq, hash: entries.at(-1)!.hash });

describe('canonical encoding and hashing', () => {
  it('encodes the same entry to the same bytes whatever order its keys were built in', () => {
    expect(canonicalJson({ b: 1, a: { d: 'x', c: [true, null] } })).toBe('{"a":{"c":[true,null],"d":"x"},"b":1}');
    expect(canonicalJson({ a: { c: [true, null], d: 'x' }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: 'x', c: [true, null] } }));
    expect(canonicalJson({ a: undefined, b: 'é"\n' })).toBe('{"b":"é\\"\\n"}');
  });

  it('refuses what two encoders could disagree on: floats, bigints, deep nesting', () => {
    expect(() => canonicalJson({ amount: 0.1 })).toThrow(RangeError);
    expect(() => canonicalJson({ amount: 10n })).toThrow(TypeError);
    expect(() => canonicalJson({ a: { b: { c: { d: { e: { f: 1 } } } } } })).toThrow(RangeError);
  });

  it('hashes SHA-256 over the canonical encoding of every field but the hash, prevHash included', () => {
    const e = chainEntry(EMPTY_HEAD, draft(1));
    const { hash, ...rest } = e;
    expect(hash).toBe(createHash('sha256').update(canonicalJson(rest)).digest('hex'));
    expect(e.prevHash).toBe(GENESIS_HASH);
    expect(entryHash({ ...e, prevHash: '1'.repeat(64) })).not.toBe(hash);
    // a field order change does not change the hash
    const reordered = JSON.parse(JSON.stringify({ hash: e.hash, after: e.after, seq: e.seq, actor: e.actor, at: e.at, action: e.action, params: e.params, outcome: e.outcome, before: e.before, prevHash: e.prevHash }));
    expect(entryHash(reordered)).toBe(hash);
  });

  it('links each entry to the one before: seq + 1, prevHash = the previous hash', () => {
    const [a, b, c] = chainOf(3);
    expect([a!.seq, b!.seq, c!.seq]).toEqual([1, 2, 3]);
    expect(b!.prevHash).toBe(a!.hash);
    expect(c!.prevHash).toBe(b!.hash);
    expect(a!.actor).toEqual(BOB);
    expect(b!.actor).toEqual(ALICE);
    expect(a!.at).toBe(new Date(TEST_NOW_MS + 1000).toISOString());
  });
});

describe('tamper detection', () => {
  it('passes an intact chain, and an empty one with no head', () => {
    const entries = chainOf(5);
    expect(check(stored(entries), headOf(entries))).toBeUndefined();
    expect(check([], undefined)).toBeUndefined();
  });

  it('names an altered entry (its hash no longer matches)', () => {
    const entries = chainOf(5);
    const rows = stored(entries);
    const altered = { ...entries[2]!, params: { ...entries[2]!.params, amount: '9999999.00' } };
    rows[2] = [3, JSON.stringify(altered)];
    expect(check(rows, headOf(entries))).toMatchObject({ seq: 3, problem: 'altered' });
  });

  it('names the entry after an altered-and-rehashed one (its link no longer matches)', () => {
    const entries = chainOf(5);
    const rows = stored(entries);
    const forged = { ...entries[1]!, actor: SYSTEM_ACTOR };
    rows[1] = [2, JSON.stringify({ ...forged, hash: entryHash(forged) })];
    expect(check(rows, headOf(entries))).toMatchObject({ seq: 3, problem: 'relinked' });
  });

  it('names the entry after a removed one (a gap in the sequence)', () => {
    const entries = chainOf(5);
    const rows = stored(entries).filter(([seq]) => seq !== 3);
    expect(check(rows, headOf(entries))).toMatchObject({ seq: 4, problem: 'missing' });
  });

  it('names the first removed entry when the newest ones are gone but the head remembers them', () => {
    const entries = chainOf(5);
    const rows = stored(entries).slice(0, 3);
    expect(check(rows, headOf(entries))).toMatchObject({ seq: 4, problem: 'missing' });
  });

  it('names an entry moved under another key, and one that is not JSON', () => {
    const entries = chainOf(3);
    const moved = stored(entries);
    moved[1] = [2, JSON.stringify(entries[2])];
    expect(check(moved, headOf(entries))).toMatchObject({ seq: 2, problem: 'altered' });
    const garbled = stored(entries);
    garbled[0] = [1, '{not json'];
    expect(check(garbled, headOf(entries))).toMatchObject({ seq: 1, problem: 'unreadable' });
  });

  it('reports only the first break', () => {
    const entries = chainOf(6);
    const rows = stored(entries).filter(([seq]) => seq !== 2 && seq !== 5);
    expect(check(rows, headOf(entries))).toMatchObject({ seq: 3 });
  });
});

describe('what the trail records of a request', () => {
  it('masks a PAN to its first six and last four, never the digits between', () => {
    const pan = TEST_PANS.visa[0];
    const params = auditParams('cards.register', { pan, expiry: '12/30', holder: 'Ada', cvv: '123', email: 'ada@example.com' });
    expect(params).toEqual({ pan: '411111******1111', holder: 'Ada', email: 'ada@example.com' });
    expect(JSON.stringify(params)).not.toContain(pan);
    expect(auditParams('cards.register', { pan: '4111 1111 1111 1111' }).pan).toBe('411111******1111');
    expect(auditParams('cards.register', { pan: '12' }).pan).toBe('******');
  });

  it('shortens a card token, masks a card number hidden in other text, caps long text, keeps only the action\'s fields', () => {
    const token = 'a'.repeat(64);
    expect(auditParams('cards.freeze', { token, by: 'ceo@bank' })).toEqual({ token: 'aaaaaaaaaaaa…' });
    expect(auditParams('accounts.open', { owner: `Shop ${TEST_PANS.visa[0]}`, currency: 'USD' })).toEqual({ owner: 'Shop 411111******1111', currency: 'USD' });
    expect((auditParams('accounts.open', { owner: 'x'.repeat(5000) }).owner as string).length).toBe(201);
    expect(auditParams('accounts.deposit', { id: 'a', amount: 10.5, extra: 'y' })).toEqual({ id: 'a', amount: '<number>' });
    expect(auditParams('accounts.deposit', { id: { nested: true }, amount: '1.00' })).toEqual({ id: '<object>', amount: '1.00' });
  });

  it('reads --since as a duration back from now or an ISO time', () => {
    expect(parseSince('1h', TEST_NOW_MS)).toBe(TEST_NOW_MS - 3_600_000);
    expect(parseSince('15m', TEST_NOW_MS)).toBe(TEST_NOW_MS - 900_000);
    expect(parseSince('2026-11-30T10:00:00Z', TEST_NOW_MS)).toBe(Date.parse('2026-11-30T10:00:00Z'));
    expect(parseSince('yesterday', TEST_NOW_MS)).toBeUndefined();
    expect(parseSince('1.5h', TEST_NOW_MS)).toBeUndefined();
  });
});
