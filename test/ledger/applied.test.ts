// The ledger's record of the orders stream on a real LevelDB: the applied sequences go in the same batch as
// the buffer's effects, survive a restart, and the crash-loop guard's notes turn into crash counts.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkingSet } from '../../src/domain/apply.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { aTempStore, anAccount, removeDataDir } from './builders.ts';

let store: LedgerStore;
let dataDir: string;

beforeEach(async () => {
  ({ store, dataDir } = await aTempStore());
});

afterEach(async () => {
  await store.close();
  await removeDataDir(dataDir);
});

async function reopen(): Promise<void> {
  await store.close();
  store = await LedgerStore.open(dataDir);
}

const withAccount = (id: string) => {
  const ws = new WorkingSet();
  ws.putAccount(anAccount({ id }));
  return ws;
};

describe('the applied record', () => {
  it('goes in the buffer\'s own batch: one LevelDB write holds the effects and the sequences', async () => {
    const writes: number[] = [];
    const writeBatch = store.writeBatch.bind(store);
    store.writeBatch = (batch) => {
      writes.push(batch.length);
      return writeBatch(batch);
    };
    await store.commit(withAccount('acct_one'), [], { seqs: [1, 2, 3] });
    expect(writes).toHaveLength(1);
    await reopen();
    expect(await store.getAccount('acct_one')).toBeDefined();
    expect(store.applied.floorSeq).toBe(3);
    expect(store.applied.isApplied(3)).toBe(true);
    expect(store.applied.isApplied(4)).toBe(false);
  });

  it('keeps the sequences applied above a gap across a restart, and moves past what the stream no longer holds at the next commit', async () => {
    await store.commit(withAccount('a1'), [], { seqs: [1, 2, 4, 5] });
    await reopen();
    expect(store.applied.floorSeq).toBe(2);
    expect([3, 4, 5].map((s) => store.applied.isApplied(s))).toEqual([false, true, true]);
    store.applied.markAbsent(1, [3]);
    await store.commit(withAccount('a2'), [], { seqs: [6] });
    await reopen();
    expect(store.applied.floorSeq).toBe(6);
  });

  it('records the answered floor with the next commit, never above the applied floor', async () => {
    await store.commit(withAccount('a1'), [], { seqs: [1, 2, 3] });
    store.applied.markAnswered(9);
    await store.commit(withAccount('a2'), [], { seqs: [4] });
    await reopen();
    expect(store.applied.streamRecord).toMatchObject({ floorSeq: 4, answeredSeq: 3 });
  });

  it('forgets another stream\'s sequences when told the stream was recreated', async () => {
    await store.commit(withAccount('a1'), [], { seqs: [1, 2, 3, 5] });
    await store.applied.startFrom(0, 'new-stream', true);
    await reopen();
    expect(store.applied.streamRecord).toEqual({ floorSeq: 0, answeredSeq: 0, streamCreated: 'new-stream' });
    expect(store.applied.isApplied(5)).toBe(false);
  });
});

describe('the crash-loop guard\'s notes', () => {
  it('turns the notes of attempts that never committed into crash counts at the next start', async () => {
    for (let crash = 0; crash < 3; crash++) {
      await store.applied.noteAttempt([7, 8], false);
      await reopen(); // the process died before the commit
      expect(await store.applied.recoverAttempts()).toEqual([{ seqs: [7, 8], alone: false }]);
    }
    await store.applied.noteAttempt([8], true);
    await reopen();
    await store.applied.recoverAttempts();
    expect(Object.fromEntries(store.applied.crashCounts)).toEqual({ 7: { crashes: 3, alone: 0 }, 8: { crashes: 4, alone: 1 } });
    // the counts are written: a later start still has them, and finds no note twice
    await reopen();
    expect(await store.applied.recoverAttempts()).toEqual([]);
    expect(store.applied.crashCounts.size).toBe(2);
  });

  it('a committed attempt leaves no note, and settles the counts of what it applied', async () => {
    await store.applied.noteAttempt([7, 8], false);
    await reopen();
    await store.applied.recoverAttempts();
    const attemptKey = await store.applied.noteAttempt([7], true);
    await store.commit(withAccount('a1'), [], { seqs: [7], attemptKey });
    await reopen();
    expect(await store.applied.recoverAttempts()).toEqual([]);
    expect(Object.fromEntries(store.applied.crashCounts)).toEqual({ 8: { crashes: 1, alone: 0 } });
  });
});
