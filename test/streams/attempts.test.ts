// The apply stage and the crash-loop guard on a real LevelDB: a buffer's stream sequences are noted before it
// is decided and recorded as applied with its effects; messages whose attempts crashed the process are
// decided alone, and one that crashed alone too is dead-lettered `poison` without being decided.

import { beforeEach, describe, expect, it } from 'vitest';
import { CRASHED_ATTEMPTS_MAX } from '../../src/domain/applied.ts';
import { DEFAULT_APPLY_OPTIONS } from '../../src/domain/apply.ts';
import type { Order } from '../../src/domain/types.ts';
import { type ApplyDeps, applyBuffer } from '../../streams/apply.ts';
import type { Item } from '../../streams/types.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS } from '../domain/builders.ts';
import { withFundedStore } from './fixtures.ts';

const env = withFundedStore();

const pay = (id: string, streamSeq: number): Item => ({
  kind: 'order',
  msg: { subject: 'pay.orders.t', data: new Uint8Array(), receivedAtMs: TEST_NOW_MS, streamSeq },
  order: { id, type: 'payment', cardToken: TEST_CARD_TOKEN, merchant: 'm_coffee', amountMinor: 100n, currency: 'USD', createdAtMs: TEST_NOW_MS } satisfies Order,
});

/** what each attempt was given to decide, by order id */
let decided: string[][];
const deps = (): ApplyDeps => ({
  store: env.store,
  options: DEFAULT_APPLY_OPTIONS,
  clock: () => TEST_NOW_MS,
  virtualTime: false,
  scrub: (p: Uint8Array) => p,
  beforeDecide: (items) => decided.push(items.map((i) => (i.kind === 'order' ? i.order.id : '?'))),
});

/** The process "dies" deciding these sequences `times` times: notes written, never committed, recovered at each start. */
async function crashes(seqs: number[], alone: boolean, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await env.store.applied.noteAttempt(seqs, alone);
    await env.reopen();
    await env.store.applied.recoverAttempts();
  }
}

beforeEach(() => {
  decided = [];
});

describe('the crash-loop guard in the apply stage', () => {
  it('decides a buffer with no suspects as one attempt, noted before and recorded as applied with its effects', async () => {
    const applied = await applyBuffer(deps(), [pay('a1', 1), pay('a2', 2)]);
    await applied.written;
    expect(decided).toEqual([['a1', 'a2']]);
    expect(applied.results.map(({ result }) => result.status)).toEqual(['approved', 'approved']);
    expect(env.store.applied.floorSeq).toBe(2);
    // no note is left behind: the next start counts no crash
    expect(await env.store.applied.recoverAttempts()).toEqual([]);
  });

  it('decides the messages of an attempt that crashed CRASHED_ATTEMPTS_MAX times one at a time, in order', async () => {
    await crashes([2, 3], false, CRASHED_ATTEMPTS_MAX);
    const applied = await applyBuffer(deps(), [pay('a1', 1), pay('a2', 2), pay('a3', 3), pay('a4', 4)]);
    await applied.written;
    expect(decided).toEqual([['a1'], ['a2'], ['a3'], ['a4']]);
    expect(applied.results.map(({ result: r }) => `${r.orderId}:${r.status}`)).toEqual(['a1:approved', 'a2:approved', 'a3:approved', 'a4:approved']);
    expect(env.store.applied.crashCounts.size).toBe(0);
  });

  it('dead-letters `poison` a message that crashed CRASHED_ATTEMPTS_MAX times alone, undecided, and goes on past it', async () => {
    await crashes([2, 3], false, CRASHED_ATTEMPTS_MAX);
    await crashes([2], true, CRASHED_ATTEMPTS_MAX);
    expect(env.store.applied.crashCounts.get(2)).toEqual({ crashes: 2 * CRASHED_ATTEMPTS_MAX, alone: CRASHED_ATTEMPTS_MAX });
    const applied = await applyBuffer(deps(), [pay('a1', 1), pay('bad', 2), pay('a3', 3)]);
    await applied.written;
    expect(decided).toEqual([['a1'], ['a3']]);
    expect(applied.results.map(({ result }) => result.orderId)).toEqual(['a1', 'a3']);
    expect(applied.deadLetters).toMatchObject([{ reason: 'poison', orderId: 'bad', payload: new Uint8Array(0) }]);
    expect(await env.store.getOrder('bad')).toBeUndefined();
    expect(env.store.applied.floorSeq).toBe(3);
    await env.reopen();
    expect(env.store.applied.floorSeq).toBe(3);
    expect(env.store.applied.crashCounts.size).toBe(0);
  });
});
