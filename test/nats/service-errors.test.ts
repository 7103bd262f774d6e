// The service's error replies: a listed code passes through, anything else is `internal`; no card number is echoed.
import { describe, expect, it } from 'vitest';
import { SERVICE_ERROR_CODES } from '../../src/domain/reasons.ts';
import { LedgerError } from '../../src/ledger/errors.ts';
import { errorBody, requestActor } from '../../src/nats/service.ts';
import { TEST_PANS } from '../domain/builders.ts';

describe('error replies', () => {
  it('answer a ledger refusal with its code and message, the card number masked', () => {
    const error = new LedgerError('unknown_account', `no account ${TEST_PANS.visa[0]}`);
    expect(errorBody(error)).toEqual({ error: { code: 'unknown_account', message: 'no account 411111******1111' } });
  });

  it('keep every listed code', () => {
    for (const code of Object.keys(SERVICE_ERROR_CODES)) {
      expect(errorBody(Object.assign(new Error('x'), { code })).error.code).toBe(code);
    }
  });

  it('answer internal for an error with no code or one on no list (a LevelDB or system error), keeping its message', () => {
    expect(errorBody(new Error('boom'))).toEqual({ error: { code: 'internal', message: 'boom' } });
    const level = Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN' });
    expect(errorBody(level)).toEqual({ error: { code: 'internal', message: 'Database is not open' } });
    expect(errorBody(Object.assign(new Error('x'), { code: 'toString' })).error.code).toBe('internal');
    expect(errorBody('a thrown string').error).toEqual({ code: 'internal', message: 'a thrown string' });
  });

  it('refuse a changing operation whose requester the broker does not attest: unauthenticated', () => {
    const nc = { info: undefined };
    expect(() => requestActor(nc, { headers: undefined }, 'accounts.deposit')).toThrow(expect.objectContaining({ code: 'unauthenticated' }));
    expect(() => requestActor(nc, { headers: undefined }, 'accounts.get')).not.toThrow();
  });
});
