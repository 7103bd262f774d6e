// Who a service request acts for: only the user and account nats-server writes in Nats-Request-Info, and
// only when the server authenticates every client; which operations need one.

import { describe, expect, it } from 'vitest';
import { IDENTITY_CHARS_MAX, READ_OPS, REQUEST_INFO_BYTES_MAX, attestation, isReadOp, unattestedMessage } from '../../src/domain/attestation.ts';
import { MUTATING_OPS, OP_NAMES } from '../../src/processor/operations.ts';

/** what nats-server 2.9.10 wrote for a request through an import with share: true (test/e2e/roles.test.ts) */
const SHARED = JSON.stringify({
  start: '2026-12-01T19:06:34.607432737Z',
  host: '127.0.0.1',
  id: 7,
  acc: 'OPERATORS',
  user: 'alice@bank.example',
  name: 'ceo@bank',
  lang: 'nats.js',
  ver: '2.29.3',
  rtt: 10025607,
  kind: 'Client',
  client_type: 'nats',
});

describe('attestation', () => {
  it('takes the user and account the server wrote, never the connection name the client chose', () => {
    expect(attestation(SHARED, true)).toEqual({ attested: true, actor: { id: 'alice@bank.example', account: 'OPERATORS', via: 'nats' } });
  });

  it('attests no one on a broker that lets anyone in, whatever the header says', () => {
    expect(attestation(SHARED, false)).toMatchObject({ attested: false, why: 'open_broker', actor: { id: 'unattested' } });
  });

  it('attests no one without the header, with an account only (an import without share), or with a malformed one', () => {
    expect(attestation(undefined, true)).toMatchObject({ attested: false, why: 'no_request_info' });
    expect(attestation('', true)).toMatchObject({ attested: false, why: 'no_request_info' });
    expect(attestation(JSON.stringify({ acc: 'VIEWERS', rtt: 1 }), true)).toMatchObject({ attested: false, why: 'no_user', actor: { account: 'VIEWERS' } });
    for (const bad of ['{nope', '[]', 'null', '"alice"', JSON.stringify({ user: 'alice' }), JSON.stringify({ acc: 7, user: 'alice' }), JSON.stringify({ acc: '', user: 'alice' })]) {
      expect(attestation(bad, true), bad).toMatchObject({ attested: false, why: 'malformed' });
    }
    expect(attestation(JSON.stringify({ acc: 'OPERATORS', user: 'a', pad: 'x'.repeat(REQUEST_INFO_BYTES_MAX) }), true)).toMatchObject({ why: 'malformed' });
    for (const user of ['', 'x'.repeat(IDENTITY_CHARS_MAX + 1), 'alice\nroot', 'alice\u0000', 42, null]) {
      expect(attestation(JSON.stringify({ acc: 'OPERATORS', user }), true), JSON.stringify(user)).toMatchObject({ attested: false, why: 'no_user' });
    }
  });

  it('every operation that changes something needs an identity; the read ones are only reads', () => {
    for (const op of MUTATING_OPS) expect(isReadOp(op), op).toBe(false);
    // the list, by name
    for (const op of ['accounts.open', 'accounts.deposit', 'accounts.withdraw', 'cards.register', 'cards.freeze', 'cards.unfreeze', 'cards.close', 'review.approve', 'review.decline', 'rules.reload']) {
      expect(isReadOp(op), op).toBe(false);
    }
    // every read op exists, and an op unknown to the list (a new one) is not a read
    for (const op of READ_OPS) expect(OP_NAMES as readonly string[]).toContain(op);
    expect(isReadOp('accounts.something-new')).toBe(false);
  });

  it('says why a changing operation was refused, naming no request data', () => {
    expect(unattestedMessage('accounts.deposit', 'open_broker')).toMatch(/accounts\.deposit acts only for an operator the NATS server vouches for: .*without authentication/);
    expect(unattestedMessage('review.approve', 'no_user')).toContain('share: true');
  });
});
