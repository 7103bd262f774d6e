// Who a service request acts for, as the NATS server states it: the identity in the Nats-Request-Info
// header that nats-server writes on a request crossing a service import (with `share: true` it names the
// caller's user). Pure: the header's text and what the shell knows of the broker come in, an Actor goes out.

import type { Actor } from './actor.ts';
import type { OpName } from './operations.ts';

/** the header nats-server sets (and overwrites) on a request that crosses a service import */
export const REQUEST_INFO_HEADER = 'Nats-Request-Info';
/** a longer header value is not parsed (the server's is ~400 bytes) */
export const REQUEST_INFO_BYTES_MAX = 4096;
/** a longer user or account name is not taken for an identity */
export const IDENTITY_CHARS_MAX = 256;

/**
 * The operations that read and change nothing, open to whoever can reach them (the broker decides who:
 * data/nats/roles.conf gives viewers these). Every other operation (any the table gains later included)
 * moves money, changes a card or an account, decides a review or a posting, reloads rules, or reads the
 * audit trail: it acts only for an attested identity. A list of the harmless ones, so a new operation is
 * refused until listed here.
 */
export const READ_OP_NAMES = [
  'cards.list',
  'cards.lookup',
  'cards.show',
  'accounts.get',
  'accounts.list',
  'accounts.pending',
  'audit.list',
  'orders.get',
  'review.list',
  'batches.list',
  'batches.show',
  'stats',
  'verify',
] as const satisfies readonly OpName[];
export type ReadOpName = (typeof READ_OP_NAMES)[number];
export const READ_OPS: ReadonlySet<string> = new Set(READ_OP_NAMES);

export const isReadOp = (op: string): boolean => READ_OPS.has(op);

/** How a request stands: attested (the server named the caller's user and account), or why not. */
export type Attestation =
  | { attested: true; actor: Actor }
  | { attested: false; why: 'open_broker' | 'no_request_info' | 'no_user' | 'malformed'; actor: Actor };

/** printable, no control characters, within IDENTITY_CHARS_MAX */
const identityText = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= IDENTITY_CHARS_MAX && !/[\u0000-\u001f\u007f]/.test(value)
    ? value
    : undefined;

/**
 * Reads the Nats-Request-Info header's value. `brokerAuthenticates`: the server the request came through
 * requires every client to authenticate (its INFO says auth_required). On an open broker every client is
 * in one account and may write any header it likes, so nothing there is attested.
 *
 * Only `acc` and `user` are read: the server fills them from the connection's authentication (an
 * account name and the user: a user name, a TLS certificate's mapped identity, an nkey). `name` is the
 * client's own connection name and is never taken for an identity.
 */
export function attestation(requestInfo: string | undefined, brokerAuthenticates: boolean): Attestation {
  const unattested = (why: 'open_broker' | 'no_request_info' | 'no_user' | 'malformed', account?: string): Attestation => ({
    attested: false,
    why,
    actor: { id: 'unattested', via: 'nats', ...(account === undefined ? {} : { account }) },
  });
  if (!brokerAuthenticates) return unattested('open_broker');
  if (requestInfo === undefined || requestInfo.length === 0) return unattested('no_request_info');
  if (requestInfo.length > REQUEST_INFO_BYTES_MAX) return unattested('malformed');
  let info: unknown;
  try {
    info = JSON.parse(requestInfo);
  } catch {
    return unattested('malformed');
  }
  if (typeof info !== 'object' || info === null || Array.isArray(info)) return unattested('malformed');
  const account = identityText((info as Record<string, unknown>).acc);
  if (account === undefined) return unattested('malformed');
  const user = identityText((info as Record<string, unknown>).user);
  if (user === undefined) return unattested('no_user', account);
  return { attested: true, actor: { id: user, account, via: 'nats' } };
}

/** What a caller is told when a changing operation arrives without an attested identity. */
export function unattestedMessage(op: string, why: 'open_broker' | 'no_request_info' | 'no_user' | 'malformed'): string {
  const reason = {
    open_broker: 'the NATS server lets clients in without authentication, so it vouches for no one',
    no_request_info: 'the request did not come through a service import that names its caller (see data/nats/roles.conf)',
    no_user: "the caller's account imports the service without sharing the caller's identity (share: true)",
    malformed: 'the request info the server attached could not be read',
  }[why];
  return `${op} acts only for an operator the NATS server vouches for: ${reason}`;
}
