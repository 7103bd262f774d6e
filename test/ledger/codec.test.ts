// The stored forms that every order rewrites: exact in minor units, and refused when not well formed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OrderRecord } from '../../src/domain/apply.ts';
import type { Account } from '../../src/domain/types.ts';
import {
  chainKey,
  chainSeq,
  decodeAccountWithBalance,
  decodeBalance,
  decodeOrderRecord,
  decodeTransfer,
  decodeTransferWithLinks,
  encodeAccount,
  encodeBalance,
  encodeOrderRecord,
  encodeTransfer,
  timeKey,
} from '../../src/ledger/codec.ts';

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
    for (const bad of ['', '100', '100 ', ' 100 0', '12.5 0', '100 0 0', '100 0 ', '100 0 ~12', `100 0 ${chainKey(1)} x`, '1e3 0', 'x y']) {
      expect(() => decodeBalance(bad), bad).toThrow();
    }
  });

  it('carry the head of the account\'s transfer chain when it has one', () => {
    const head = chainKey(42);
    expect(encodeBalance({ balanceMinor: 5n, holdsMinor: 0n, historyHead: head })).toBe(`5 0 ${head}`);
    expect(decodeBalance(`5 0 ${head}`)).toEqual({ balanceMinor: 5n, holdsMinor: 0n, historyHead: head });
    expect(decodeAccountWithBalance(encodeAccount(account), `5 0 ${head}`)).toEqual({ ...account, balanceMinor: 5n, historyHead: head });
    // the static record never carries it: it would be stale after the next transfer
    expect(JSON.parse(encodeAccount({ ...account, historyHead: head }))).not.toHaveProperty('historyHead');
  });

  it('override the balance in the account record when there is one, and leave it when there is none', () => {
    const record = encodeAccount(account);
    expect(decodeAccountWithBalance(record, undefined)).toEqual(account);
    expect(decodeAccountWithBalance(record, '2500 700')).toEqual({ ...account, balanceMinor: 2500n, holdsMinor: 700n });
  });
});

const payment: OrderRecord = {
  order: { id: 'pay-1', type: 'payment', cardToken: 'a'.repeat(64), merchant: 'm_coffee', amountMinor: 1234n, currency: 'USD', createdAtMs: 1_796_116_000_000 },
  result: { orderId: 'pay-1', status: 'approved', transferId: 'tx_pay-1', available: '87.66', processedAt: '2026-12-01T09:00:00.123Z', latencyMs: 12 },
  accountId: 'acct_alice',
  holdMinor: 0n,
  open: false,
  paidMinor: 1234n,
  refundedMinor: 0n,
  capturedMinor: 0n,
};

describe('order records', () => {
  it('leave out the result orderId that is the order id, zero amounts and open: false, and read back whole', () => {
    const text = encodeOrderRecord(payment);
    expect(JSON.parse(text)).toEqual({
      order: { id: 'pay-1', type: 'payment', cardToken: 'a'.repeat(64), merchant: 'm_coffee', amountMinor: '1234', currency: 'USD', createdAtMs: 1_796_116_000_000 },
      result: { status: 'approved', transferId: 'tx_pay-1', available: '87.66', processedAt: '2026-12-01T09:00:00.123Z', latencyMs: 12 },
      accountId: 'acct_alice',
      paidMinor: '1234',
    });
    expect(decodeOrderRecord(text)).toEqual(payment);
    // the result's keys in their usual order, orderId first: a duplicate's answer is the stored result
    expect(Object.keys(decodeOrderRecord(text).result)).toEqual(Object.keys(payment.result));
  });

  it('keep what differs from the default: an open hold, a result filed under another id', () => {
    const held: OrderRecord = { ...payment, open: true, holdMinor: 500n, capturedMinor: 7n, refundedMinor: 1n, result: { ...payment.result, orderId: 'other' } };
    expect(decodeOrderRecord(encodeOrderRecord(held))).toEqual(held);
  });

  it('read records written in full (before the short form) the same', () => {
    const full = JSON.stringify({
      order: { ...payment.order, amountMinor: '1234' },
      result: payment.result,
      accountId: 'acct_alice',
      holdMinor: '0',
      open: false,
      paidMinor: '1234',
      refundedMinor: '0',
      capturedMinor: '0',
    });
    expect(decodeOrderRecord(full)).toEqual(payment);
  });
});

describe('transfer chains', () => {
  it('key transfers in write order, after every transfer id, and read the sequence back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER - 1 }), (seq) => {
        expect(chainSeq(chainKey(seq))).toBe(seq);
        expect(chainKey(seq) < chainKey(seq + 1)).toBe(true);
      }),
    );
    for (const id of ['dep_000001', 'seed_99', 'tx_g1-zz', 'ZZZZ']) expect(id < chainKey(1)).toBe(true);
    for (const other of ['tx_1', '~12', `~${'0'.repeat(15)}x`, `${chainKey(1)}0`]) expect(chainSeq(other)).toBeUndefined();
  });

  it('store the links beside the transfer and leave them out of the transfer read back', () => {
    const t = { id: 'tx_1', debit: 'a', credit: 'b', amountMinor: 12_345n, currency: 'USD', kind: 'payment' as const, orderId: 'o1', atMs: 1 };
    const links = { prevDebit: chainKey(3), prevCredit: chainKey(7) };
    expect(decodeTransferWithLinks(encodeTransfer(t, links))).toEqual({ transfer: t, links });
    expect(decodeTransfer(encodeTransfer(t, links))).toEqual(t);
    expect(decodeTransferWithLinks(encodeTransfer(t))).toEqual({ transfer: t, links: {} });
  });
});

describe('time keys', () => {
  it('are the time in 15 digits, zeros in front, for any number padStart pads', () => {
    const times = fc.oneof(
      fc.integer({ min: 1e12 - 1000, max: 1e13 + 1000 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom(0, -0, -1, 999_999_999_999, 1e12, 1e13 - 1, 1e13, 1e15, 1.5e12, 1e12 + 0.5, -1e12, Number.NaN),
    );
    fc.assert(
      fc.property(times, (atMs) => {
        expect(timeKey(atMs)).toBe(atMs.toString().padStart(15, '0'));
      }),
    );
    expect(timeKey(1_796_116_000_000)).toBe('001796116000000');
  });
});
