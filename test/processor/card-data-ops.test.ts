// The operations table (what the CLI and the NATS service both run) refuses card data where none belongs,
// and no reply or CLI message echoes a card number (issue 14: cards.register took a cvv silently and a PAN
// in the holder name; `cards show <PAN>` echoed the PAN).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerApi } from '../../src/ledger/api.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { errorBody } from '../../src/nats/service.ts';
import { makeOps, type OpTable } from '../../src/processor/operations.ts';
import { TEST_PANS } from '../domain/builders.ts';
import { localActor } from '../../src/domain/actor.ts';
import { describeError } from '../../src/cli/output.ts';

const TESTER = localActor('tester', 'cli');

const PAN = TEST_PANS.visa[0];
const OTHER_PAN = TEST_PANS.mastercard[0];
const NOW_MS = Date.UTC(2026, 10, 25, 10, 0, 0);
let dir: string;
let store: LedgerStore;
let ops: OpTable;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paystream-ops-'));
  store = await LedgerStore.open(dir);
  ops = makeOps({ api: new LedgerApi(store, () => NOW_MS), clock: () => NOW_MS });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const register = { pan: PAN, expiry: '12/29', holder: 'Ada Lovelace' };

/** The error an operation fails with (sync throw or rejection alike). */
async function failure(run: () => Promise<unknown>): Promise<LedgerError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(LedgerError);
    return error as LedgerError;
  }
  throw new Error('expected the operation to fail');
}

describe('cards.register refuses card data where none belongs', () => {
  it.each([
    [{ cvv: '987' }, 'cvv_forbidden', 'cvv'],
    [{ securityCode: '543' }, 'cvv_forbidden', 'securityCode'],
    [{ card: { CVV2: '543' } }, 'cvv_forbidden', 'card.CVV2'],
    [{ extra: [{ 'security-code': '543' }] }, 'cvv_forbidden', 'extra[0].security-code'],
    [{ track2: `${PAN}=2912101` }, 'sad_forbidden', 'track2'],
    [{ pinBlock: '0412AC89ABCDEF67' }, 'sad_forbidden', 'pinBlock'],
  ])('refuses %j with %s, registering nothing', async (extra, code, path) => {
    const error = await failure(() => ops['cards.register']({ ...register, ...extra }, TESTER));
    expect(error.code).toBe(code);
    expect(error.message.startsWith(`${path}:`)).toBe(true);
    expect(error.message).not.toMatch(/987|543|0412|4111/);
    expect(await store.listCards()).toEqual([]);
  });

  it.each([
    ['holder', `Ada ${PAN}`],
    ['holder', 'Ada 4111.1111.1111.1111'],
    ['email', `${PAN}@example.com`],
  ])('refuses a %s holding a card number (%s) with invalid_field, never quoting it', async (field, value) => {
    const error = await failure(() => ops['cards.register']({ ...register, [field]: value }, TESTER));
    expect(error.code).toBe('invalid_field');
    expect(error.message).toBe(`${field} must not contain a card number`);
    expect(await store.listCards()).toEqual([]);
  });

  it('still registers a card with a plain holder, email and phone', async () => {
    const out = (await ops['cards.register']({ ...register, email: 'ada@example.com', phone: '+44 20 7946 0958' }, TESTER)) as { created: boolean };
    expect(out.created).toBe(true);
  });

  it('refuses an account id or owner holding a card number', async () => {
    for (const args of [{ id: PAN, owner: 'Shop', currency: 'USD' }, { owner: `Shop ${PAN}`, currency: 'USD' }]) {
      const error = await failure(() => ops['accounts.open'](args, TESTER));
      expect(error.code).toBe('invalid_field');
      expect(error.message).not.toContain(PAN);
    }
  });
});

describe('no message echoes a card number', () => {
  it('cards show <PAN>: finds the card by its number, and says "the given card number" when none matches', async () => {
    await ops['cards.register'](register, TESTER);
    const found = (await ops['cards.show']({ query: PAN }, TESTER)) as { card: { masked: string } };
    expect(found.card.masked).toBe('411111******1111');
    const error = await failure(() => ops['cards.show']({ query: OTHER_PAN }, TESTER));
    expect(error.code).toBe('unknown_card');
    expect(error.message).toBe('no card matches the given card number');
    const spaced = await failure(() => ops['cards.show']({ query: `x ${OTHER_PAN.replace(/(\d{4})/g, '$1.')}` }, TESTER));
    expect(spaced.message).not.toMatch(/5555.?5555.?5555.?4444/);
  });

  it('the service reply and the CLI message mask any card number an error message carries', () => {
    const error = new LedgerError('unknown_account', `no account ${PAN}`);
    expect(errorBody(error).error.message).toBe('no account 411111******1111');
    expect(describeError(error).message).toBe('no account 411111******1111');
  });
});
