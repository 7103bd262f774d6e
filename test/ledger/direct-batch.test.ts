// The commit path's batch calls classic-level's private operations directly (sublevels.ts DirectBatch):
// what it writes must be what abstract-level's public operations write, and the contract it leans on is
// pinned here, so a classic-level or abstract-level that changes it fails this file rather than the ledger.
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirectBatch, type LevelBatch, levelBatch, putValue } from '../../src/ledger/sublevels.ts';
import { aDataDir, removeDataDir } from './builders.ts';

let dirs: string[] = [];
const open = async (): Promise<ClassicLevel<string, string>> => {
  const dir = await aDataDir();
  dirs.push(dir);
  // as the ledger opens it (lock.ts): utf8 keys by default, utf8 values
  const db = new ClassicLevel<string, string>(dir, { valueEncoding: 'utf8' });
  await db.open();
  return db;
};
const contents = async (db: ClassicLevel<string, string>) => db.iterator().all();

type Op = ['put', string, string] | ['del', string];
const OPS: Op[] = [
  ['put', '!orders!o1', '{"order":{"id":"o1"}}'],
  ['put', '!balances!a1', '100 0 ~0000000000000001'],
  ['put', '!index!risk!001796116000000!o1', ''],
  ['put', '!orders!caf\u00e9', 'Caf\u00e9 \u20ac \ud83d\ude00'],
  ['del', '!holds!o0'],
  // a key put then deleted in the same batch is gone; deleted then put, there
  ['put', '!holds!o1', '{"accountId":"a1"}'],
  ['del', '!holds!o1'],
  ['del', '!index!exp!001796116900000!o2'],
  ['put', '!index!exp!001796116900000!o2', ''],
  ['put', '!balances!a1', '90 10 ~0000000000000002'],
];
const fill = (batch: LevelBatch, ops: readonly Op[]) => {
  for (const op of ops) if (op[0] === 'put') batch.put(op[1], op[2]);
  else batch.del(op[1]);
};

/** For each test: a database as the ledger opens it, holding one record the operations delete. */
function withDatabase(): { db: ClassicLevel<string, string> } {
  const env = {} as { db: ClassicLevel<string, string> };
  beforeEach(async () => {
    env.db = await open();
    await env.db.put('!holds!o0', 'old');
  });
  afterEach(async () => {
    await env.db.close();
    for (const dir of dirs) await removeDataDir(dir);
    dirs = [];
  });
  return env;
}

describe('the direct batch', () => {
  const env = withDatabase();

  it('is what the ledger gets from its database, and writes what abstract-level\'s chained batch writes', async () => {
    const direct = levelBatch(env.db);
    expect(direct).toBeInstanceOf(DirectBatch);
    fill(direct, OPS);
    await direct.write({ sync: false });

    const other = await open();
    try {
      await other.put('!holds!o0', 'old');
      const chained = other.batch();
      fill(chained, OPS);
      await chained.write();
      expect(await contents(env.db)).toEqual(await contents(other));
    } finally {
      await other.close();
    }
    expect(await env.db.get('!orders!caf\u00e9')).toBe('Caf\u00e9 \u20ac \ud83d\ude00');
    expect(await env.db.get('!holds!o1')).toBeUndefined();
    expect(await env.db.get('!index!exp!001796116900000!o2')).toBe('');
  });

  it('takes a value as UTF-8 bytes lent for the call, first or later, and stores what the string would', async () => {
    const scratch = new Uint8Array(64);
    const lend = (text: string) => scratch.subarray(0, new TextEncoder().encodeInto(text, scratch).written);
    const values: [string, string][] = [['!orders!b1', '{"a":1}'], ['!orders!b2', 'caf\u00e9 \u20ac'], ['!orders!b3', '']];
    const direct = levelBatch(env.db);
    for (const [k, v] of values) putValue(direct, k, lend(v));
    expect(direct.length).toBe(3);
    await direct.write();
    const chained = env.db.batch();
    putValue(chained, '!orders!b4', lend('{"b":2}'));
    await chained.write();
    for (const [k, v] of [...values, ['!orders!b4', '{"b":2}']]) expect(await env.db.get(k!)).toBe(v);
  });

  it('counts every operation, and one without any writes nothing', async () => {
    const batch = levelBatch(env.db);
    fill(batch, OPS);
    expect(batch.length).toBe(OPS.length);
    await batch.close();

    const empty = levelBatch(env.db);
    expect(empty.length).toBe(0);
    const before = await contents(env.db);
    await empty.write();
    expect(await contents(env.db)).toEqual(before);
  });

  it('refuses operations once written or closed, as the chained batch does', async () => {
    const written = levelBatch(env.db);
    fill(written, OPS.slice(0, 3));
    await written.write();
    expect(() => written.put('k', 'v')).toThrow(/not open/);
    const closed = levelBatch(env.db);
    fill(closed, OPS.slice(0, 3));
    await closed.close();
    expect(() => closed.del('k')).toThrow(/not open/);
    expect(await env.db.get('k')).toBeUndefined();
  });

});

describe('the direct batch gives way', () => {
  const env = withDatabase();

  it('to the chained batch when something would miss the operations: a write listener, a prewrite hook, a wrapped put', async () => {
    const seen: string[] = [];
    const listener = (ops: { key: string }[]) => seen.push(...ops.map((op) => op.key));
    env.db.on('write', listener);
    const watched = levelBatch(env.db);
    expect(watched).not.toBeInstanceOf(DirectBatch);
    fill(watched, OPS);
    await watched.write();
    expect(seen).toEqual(OPS.map((op) => op[1]));
    env.db.off('write', listener);

    const hook = (op: { key: string }) => seen.push(`hook ${op.key}`);
    env.db.hooks.prewrite.add(hook);
    expect(levelBatch(env.db)).not.toBeInstanceOf(DirectBatch);
    env.db.hooks.prewrite.delete(hook);
    expect(levelBatch(env.db)).toBeInstanceOf(DirectBatch);

    const batch = env.db.batch.bind(env.db);
    const spied = vi.spyOn(env.db, 'batch').mockImplementation(() => {
      const b = batch();
      const put = b.put.bind(b);
      b.put = (k: string, v: string) => put(k, v);
      return b;
    });
    expect(levelBatch(env.db)).not.toBeInstanceOf(DirectBatch);
    spied.mockRestore();
  });
});

describe('the contract the direct batch leans on (classic-level, abstract-level)', () => {
  const env = withDatabase();

  it('the public put and del hand a string key and value to _put and _del unchanged, with utf8 as the formats', () => {
    const batch = env.db.batch() as unknown as { _put: (...a: unknown[]) => void; _del: (...a: unknown[]) => void } & ReturnType<typeof env.db.batch>;
    const own = Object.getPrototypeOf(batch) as object;
    expect(Object.hasOwn(own, '_put') && Object.hasOwn(own, '_del')).toBe(true);
    const put = vi.spyOn(batch, '_put');
    const del = vi.spyOn(batch, '_del');
    batch.put('!orders!caf\u00e9', 'v \u20ac');
    batch.del('!holds!x');
    expect(put).toHaveBeenCalledWith('!orders!caf\u00e9', 'v \u20ac', expect.objectContaining({ keyEncoding: 'utf8', valueEncoding: 'utf8' }));
    expect(del).toHaveBeenCalledWith('!holds!x', expect.objectContaining({ keyEncoding: 'utf8' }));
    expect(put.mock.calls[0]![0]).toBe('!orders!caf\u00e9');
    const bytes = new Uint8Array([0x7b, 0x7d]);
    batch.put('!orders!v', bytes as unknown as string, { valueEncoding: 'view' });
    expect(put).toHaveBeenLastCalledWith('!orders!v', bytes, expect.objectContaining({ keyEncoding: 'utf8', valueEncoding: 'view' }));
    void batch.close();
  });

  it('a chained batch with only private operations is not written: the first goes the public way for that', async () => {
    const batch = env.db.batch() as unknown as { _put: (k: string, v: string, o: object) => void } & ReturnType<typeof env.db.batch>;
    batch._put('k', 'v', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    expect(batch.length).toBe(0);
    await batch.write();
    expect(await env.db.get('k')).toBeUndefined();
  });
});
