// Records staged in a write that has not landed are read first, and let go of when their own write lands:
// a later write of the same record keeps its own until then.
import type { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { type OrderRecord, WorkingSet } from '../../src/domain/apply.ts';
import { RecordCache } from '../../src/ledger/cache.ts';
import type { Sublevels } from '../../src/ledger/sublevels.ts';
import { anAccount, aMerchant } from './builders.ts';

const noDb = {} as ClassicLevel<string, string>;
const noRooms = {} as Pick<Sublevels, 'cards' | 'accounts' | 'balances' | 'orders'>;
const record = (id: string, paidMinor: bigint): OrderRecord => ({
  order: { id, type: 'payment', createdAtMs: 1 },
  result: { orderId: id, status: 'approved', processedAt: 't', latencyMs: 0 },
  holdMinor: 0n,
  open: false,
  paidMinor,
  refundedMinor: 0n,
  capturedMinor: 0n,
});
const changed = (accounts: ReturnType<typeof anAccount>[], orders: OrderRecord[]): WorkingSet => {
  const ws = new WorkingSet();
  for (const a of accounts) ws.putAccount(a);
  for (const r of orders) ws.putOrder(r);
  return ws;
};

describe('staged records', () => {
  it('are read first until their write lands, and a later write of the same record keeps its own', async () => {
    const cache = new RecordCache(noDb, noRooms, {});
    const alice1 = anAccount({ balanceMinor: 1n });
    const alice2 = anAccount({ balanceMinor: 2n });
    const merchant = aMerchant();
    const first = cache.stage(changed([alice1, merchant], [record('o1', 1n), record('o2', 2n)]));
    const o1again = record('o1', 10n);
    const second = cache.stage(changed([alice2], [o1again]));
    expect(cache.unwritten.accounts.get(alice1.id)).toBe(alice2);
    expect(await cache.getAccount(alice1.id)).toBe(alice2);

    first();
    expect([...cache.unwritten.accounts.keys()]).toEqual([alice1.id]);
    expect(cache.unwritten.accounts.get(alice1.id)).toBe(alice2);
    expect([...cache.unwritten.orders.keys()]).toEqual(['o1']);
    expect(cache.unwritten.orders.get('o1')).toBe(o1again);

    second();
    expect(cache.unwritten.accounts.size).toBe(0);
    expect(cache.unwritten.orders.size).toBe(0);
    // still cached, for the reads after the write
    expect(await cache.getAccount(merchant.id)).toBe(merchant);
    expect(await cache.getOrder('o2')).toEqual(record('o2', 2n));
  });

  it('of a working set that changed nothing are none', () => {
    const cache = new RecordCache(noDb, noRooms, {});
    cache.stage(new WorkingSet())();
    expect(cache.unwritten.accounts.size + cache.unwritten.orders.size).toBe(0);
  });
});
