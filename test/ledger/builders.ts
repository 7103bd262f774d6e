// Builders for ledger tests: cards, accounts and working sets by hand (pure), and temp-dir stores (I/O).
import { localActor } from '../../src/domain/actor.ts';
import type { AuditStamp } from '../../src/domain/audit.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type ApplyContext, type ApplyOptions, DEFAULT_APPLY_OPTIONS, type OrderRecord, WorkingSet } from '../../src/domain/apply.ts';
import type { Account, Card } from '../../src/domain/types.ts';
import { LedgerStore, type StoreOptions } from '../../src/ledger/store.ts';
import { TEST_CARD_TOKEN, TEST_NOW_MS, TEST_PANS, TEST_TOKEN_KEY } from '../domain/builders.ts';
import { tokenizePan } from '../../src/domain/cards.ts';

/** Alice's card (TEST_PANS.visa[0]) on account acct_alice, active, good through 12/30. */
export function aCard(overrides: Partial<Card> = {}): Card {
  return {
    token: TEST_CARD_TOKEN,
    first6: '411111',
    last4: '1111',
    brand: 'visa',
    expiry: '12/30',
    status: 'active',
    holder: { name: 'Alice Example' },
    accountId: 'acct_alice',
    createdAt: new Date(TEST_NOW_MS).toISOString(),
    ...overrides,
  };
}

/** Bob's card (TEST_PANS.mastercard[0]) on acct_bob. */
export const BOB_TOKEN: string = tokenizePan(TEST_PANS.mastercard[0], TEST_TOKEN_KEY);
export function bobsCard(overrides: Partial<Card> = {}): Card {
  return aCard({
    token: BOB_TOKEN,
    first6: '555555',
    last4: '4444',
    brand: 'mastercard',
    holder: { name: 'Bob Example' },
    accountId: 'acct_bob',
    ...overrides,
  });
}

/** A cardholder account in USD with nothing on it: acct_alice unless overridden. */
export function anAccount(overrides: Partial<Account> = {}): Account {
  return {
    id: 'acct_alice',
    currency: 'USD',
    balanceMinor: 0n,
    holdsMinor: 0n,
    owner: { kind: 'cardholder', name: 'Alice Example' },
    overdraftAllowed: false,
    createdAt: new Date(TEST_NOW_MS).toISOString(),
    ...overrides,
  };
}

export function aMerchant(overrides: Partial<Account> = {}): Account {
  return anAccount({ id: 'm_coffee', owner: { kind: 'merchant', name: 'm_coffee' }, ...overrides });
}

/** The system counterparty of deposits: it may go below zero, and does by exactly what was deposited. */
export function aFundingAccount(currency = 'USD', balanceMinor = 0n): Account {
  return anAccount({
    id: `funding-${currency}`,
    currency,
    balanceMinor,
    owner: { kind: 'system', name: 'funding' },
    overdraftAllowed: true,
  });
}

/** A working set holding exactly these records, with nothing dirty. */
export function aWorkingSet(
  parts: { accounts?: Account[]; cards?: Card[]; orders?: OrderRecord[] } = {},
): WorkingSet {
  const ws = new WorkingSet();
  for (const a of parts.accounts ?? []) ws.accounts.set(a.id, a);
  for (const c of parts.cards ?? []) ws.cards.set(c.token, c);
  for (const o of parts.orders ?? []) ws.orders.set(o.order.id, o);
  return ws;
}

/**
 * The usual world: Alice's card with `aliceMinor` deposited (default 100.00 USD), Bob's card with `bobMinor`
 * (default 0), merchant m_coffee holding `merchantMinor` (default 0); funding-USD balances it all to zero.
 */
export function aFundedWorld(
  funds: { aliceMinor?: bigint; bobMinor?: bigint; merchantMinor?: bigint } = {},
): WorkingSet {
  const alice = funds.aliceMinor ?? 10_000n;
  const bob = funds.bobMinor ?? 0n;
  const merchant = funds.merchantMinor ?? 0n;
  return aWorkingSet({
    accounts: [
      anAccount({ balanceMinor: alice }),
      anAccount({ id: 'acct_bob', balanceMinor: bob, owner: { kind: 'cardholder', name: 'Bob Example' } }),
      aMerchant({ balanceMinor: merchant }),
      aFundingAccount('USD', -(alice + bob + merchant)),
    ],
    cards: [aCard(), bobsCard()],
  });
}

/** An apply context at TEST_NOW_MS (or `nowMs`), the order received at the same instant. */
export function aContext(
  overrides: { nowMs?: number; receivedAtMs?: number; options?: Partial<ApplyOptions> } = {},
): ApplyContext {
  const nowMs = overrides.nowMs ?? TEST_NOW_MS;
  return {
    nowMs,
    receivedAtMs: overrides.receivedAtMs ?? nowMs,
    options: { ...DEFAULT_APPLY_OPTIONS, ...overrides.options },
  };
}

/** Balances by account id, in minor units. */
export function balancesOf(ws: WorkingSet): Record<string, bigint> {
  return Object.fromEntries([...ws.accounts.values()].map((a) => [a.id, a.balanceMinor]));
}

export function holdsOf(ws: WorkingSet): Record<string, bigint> {
  return Object.fromEntries([...ws.accounts.values()].map((a) => [a.id, a.holdsMinor]));
}

/** A fresh data dir under the OS temp dir; remove it with `removeDataDir`. */
export function aDataDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'paystream-ledger-'));
}

export function removeDataDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** Opens a store on a fresh temp dir; the caller closes it (and removes the dir) in afterEach. */
export async function aTempStore(
  options: StoreOptions = {},
): Promise<{ store: LedgerStore; dataDir: string }> {
  const dataDir = await aDataDir();
  const store = await LedgerStore.open(dataDir, options);
  return { store, dataDir };
}

/** The stamp of an operator command in store tests: a local operator opening, depositing, registering. */
export const OPERATOR: AuditStamp = { actor: localActor('tester', 'cli'), action: 'accounts.deposit', params: {} };
