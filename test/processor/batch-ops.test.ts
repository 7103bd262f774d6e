// The batch operations on a stopped processor's ledger: what `batches list` and `batches show` read from the
// stored batch records (BatchRecords), with no processor tracking any batch.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localActor } from '../../src/domain/actor.ts';
import { LedgerApi } from '../../src/ledger/api.ts';
import type { LedgerStore } from '../../src/ledger/store.ts';
import { type OpTable, makeOps } from '../../src/processor/operations.ts';
import { aTempStore, removeDataDir } from '../ledger/builders.ts';

const OPERATOR = localActor('tester', 'cli');
const report = { batchId: 'b_done', mode: 'independent', status: 'completed', count: 1, received: 1, perStatus: {}, processedAt: '2026-11-25T10:00:00.000Z' };
/** as a ledger stores them: an open batch with its header (the control sum a decimal string), one without, one finished */
const STORED = {
  'batch!b_open': { id: 'b_open', source: 'shop', header: { id: 'b_open', count: 2, controlSumMinor: '2500', currency: 'EUR', mode: 'atomic' }, openedAtMs: 1_000 },
  'batch!b_bare': { id: 'b_bare', openedAtMs: 2_000 },
  'batch!b_done': { id: 'b_done', openedAtMs: 500, report },
};

let store: LedgerStore;
let dataDir: string;
let ops: OpTable;

beforeEach(async () => {
  ({ store, dataDir } = await aTempStore());
  ops = makeOps({ api: new LedgerApi(store) });
  await store.write(Object.entries(STORED).map(([key, value]) => ({ type: 'put', sublevel: store.batches, key, value: JSON.stringify(value) })));
  // a held order of the open batch: not read by the listing, which counts none
  await store.write([{ type: 'put', sublevel: store.batches, key: 'pending!b_open!000001', value: '{}' }]);
});

afterEach(async () => {
  await store.close();
  await removeDataDir(dataDir);
});

describe('batch operations on the ledger', () => {
  it('lists the open batches as stored (header and all, nothing counted) and the finished reports', async () => {
    expect(await ops['batches.list']({}, OPERATOR)).toEqual({
      open: [
        { id: 'b_bare', received: 0, sumMinor: '0', openedAtMs: 2_000 },
        { id: 'b_open', received: 0, sumMinor: '0', openedAtMs: 1_000, header: { id: 'b_open', count: 2, controlSumMinor: '2500', currency: 'EUR', mode: 'atomic' } },
      ],
      finished: [report],
    });
  });

  it('shows a batch with its stored state, and refuses one it does not have', async () => {
    expect(await ops['batches.show']({ batchId: 'b_done' }, OPERATOR)).toEqual({ batchId: 'b_done', state: 'finished', report, stored: STORED['batch!b_done'] });
    expect(await ops['batches.show']({ batchId: 'b_open' }, OPERATOR)).toEqual({ batchId: 'b_open', state: 'open', stored: STORED['batch!b_open'] });
    await expect(ops['batches.show']({ batchId: 'b_none' }, OPERATOR)).rejects.toMatchObject({ code: 'unknown_batch', message: 'no batch b_none' });
    await expect(ops['batches.show']({}, OPERATOR)).rejects.toMatchObject({ code: 'invalid_request' });
  });
});
