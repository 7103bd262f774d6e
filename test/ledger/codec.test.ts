// The stored forms that every order rewrites: exact in minor units, and refused when not well formed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAccountWithBalance, decodeBalance, encodeAccount, encodeBalance } from '../../src/ledger/codec.ts';
import type { Account } from '../../src/domain/types.ts';

const account: Account = {
  id: 'acct_alice',
  currency: 'USD',
  balanceMinor: 10_000n,
  holdsMinor: 0n,
  owner: { kind: 'cardholder', name: 'Alice' },
  overdraftAllowed: false,
  createdAt: '2026-01-01T00:00:00.000Z',
};

describe('balance records', () => {
  it('round-trip any balance and holds exactly, far beyond 2^53', () => {
    const minor = fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n });
    fc.assert(
      fc.property(minor, minor, (balanceMinor, holdsMinor) => {
        expect(decodeBalance(encodeBalance({ balanceMinor, holdsMinor }))).toEqual({ balanceMinor, holdsMinor });
      }),
    );
  });

  it('refuse what is not "<balance> <holds>" in integers', () => {
    for (const bad of ['', '100', '100 ', ' 100 0', '12.5 0', '100 0 0', '1e3 0', 'x y']) {
      expect(() => decodeBalance(bad), bad).toThrow();
    }
  });

  it('override the balance in the account record when there is one, and leave it when there is none', () => {
    const record = encodeAccount(account);
    expect(decodeAccountWithBalance(record, undefined)).toEqual(account);
    expect(decodeAccountWithBalance(record, '2500 700')).toEqual({ ...account, balanceMinor: 2500n, holdsMinor: 700n });
  });
});
