// The request/reply service (nats `services` API, so $SRV.PING/INFO/STATS work): the operations table over NATS.

import type { Msg, NatsConnection, Service } from 'nats';
import type { Actor } from '../domain/actor.ts';
import { REQUEST_INFO_HEADER, attestation, isReadOp, unattestedMessage } from '../domain/attestation.ts';
import { redactPans } from '../domain/cards.ts';
import { SERVICE_ERROR_CODES, type ServiceErrorCode } from '../domain/reasons.ts';
import { OP_NAMES, type OpTable, plain } from '../processor/operations.ts';
import { subjects, type Topology } from './setup.ts';
import { ServiceCallError } from './errors.ts';

export { ServiceCallError };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** requests larger than this are refused before parsing */
const REQUEST_BYTES_MAX = 64 * 1024;

export interface ServiceError {
  error: { code: ServiceErrorCode; message: string };
}

const isServiceErrorCode = (code: unknown): code is ServiceErrorCode => typeof code === 'string' && Object.hasOwn(SERVICE_ERROR_CODES, code);

/** An error the service answers with `code`. */
const refusal = (code: ServiceErrorCode, message: string): Error & { code: ServiceErrorCode } => Object.assign(new Error(message), { code });

/** The reply to a failed request: its code when it is a listed one (a LedgerError's), else `internal`. */
export function errorBody(error: unknown): ServiceError {
  const e = error as { code?: unknown; message?: unknown };
  const code = isServiceErrorCode(e.code) ? e.code : 'internal';
  // no reply echoes a card number it was sent (a PAN as a query, an id, a name)
  const message = redactPans(typeof e.message === 'string' ? e.message : String(error));
  return { error: { code, message } };
}

/**
 * Who a request acts for, and whether it may run `op`: an operation that reads nothing but the ledger runs
 * for anyone who can reach it; any other acts only for the identity the server attests (the user it
 * names in Nats-Request-Info, see src/domain/attestation.ts), else it is refused `unauthenticated`.
 * Nothing the request says (a `by`, a connection name) is taken for an identity.
 */
export function requestActor(nc: Pick<NatsConnection, 'info'>, msg: Pick<Msg, 'headers'>, op: string): Actor {
  const stated = attestation(msg.headers?.get(REQUEST_INFO_HEADER) || undefined, nc.info?.auth_required === true);
  if (!stated.attested && !isReadOp(op)) throw refusal('unauthenticated', unattestedMessage(op, stated.why));
  return stated.actor;
}

export async function startService(nc: NatsConnection, ops: OpTable, topology: Pick<Topology, 'prefix'>): Promise<Service> {
  const service = await nc.services.add({
    name: 'paystream',
    version: '0.1.0',
    description: 'paystream ledger: cards, accounts, orders, reviews, batches, stats',
    queue: 'paystream',
  });
  const group = service.addGroup(subjects(topology).service);
  for (const name of OP_NAMES) {
    group.addEndpoint(name.replace('.', '_'), {
      subject: name,
      metadata: { op: name },
      handler: (err, msg) => {
        if (err) return;
        void (async () => {
          try {
            const actor = requestActor(nc, msg, name);
            if (msg.data.byteLength > REQUEST_BYTES_MAX) throw refusal('too_large', 'request too large');
            const text = decoder.decode(msg.data).trim();
            let args: Record<string, unknown> = {};
            if (text) {
              const parsed: unknown = JSON.parse(text);
              if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
                throw refusal('invalid_request', 'the request must be a JSON object');
              }
              // a `by` names whoever the caller likes: the actor is who acts
              const { by: _claimed, ...rest } = parsed as Record<string, unknown>;
              args = rest;
            }
            const reply = await ops[name](args, actor);
            msg.respond(encoder.encode(JSON.stringify(plain(reply))));
          } catch (error) {
            const body: ServiceError = error instanceof SyntaxError ? { error: { code: 'invalid_request', message: 'the request is not JSON' } } : errorBody(error);
            msg.respondError(body.error.code === 'unauthenticated' ? 401 : 400, body.error.message, encoder.encode(JSON.stringify(body)));
          }
        })();
      },
    });
  }
  // the endpoints' subscriptions are in the server before start-up says the service is there: a request
  // sent the moment the processor is up must not be answered "no responders"
  await nc.flush();
  return service;
}

/** How long a call waits for its answer: a quick operation 5 s; verify walks the whole ledger (6-10 s at 200,000 cards). */
export const SERVICE_CALL_TIMEOUT_MS = 5_000;
export const SERVICE_CALL_TIMEOUT_MS_BY_OP: Readonly<Record<string, number>> = { verify: 10 * 60_000 };

/** Calls one operation of a running processor; errors come back as ServiceCallError with the server's code. */
export async function callService(
  nc: NatsConnection,
  topology: Pick<Topology, 'prefix'>,
  op: string,
  args: Record<string, unknown>,
  timeoutMs = SERVICE_CALL_TIMEOUT_MS_BY_OP[op] ?? SERVICE_CALL_TIMEOUT_MS,
): Promise<unknown> {
  let reply: Msg;
  try {
    reply = await nc.request(`${subjects(topology).service}.${op}`, encoder.encode(JSON.stringify(args)), { timeout: timeoutMs });
  } catch (error) {
    const text = String((error as Error).message);
    if (/503|no responders/i.test(text)) {
      // on a broker with roles (data/nats/roles.conf) an operation the caller's account does not import has no responders too
      throw new ServiceCallError('not_running', `nothing answers ${op} on this NATS server: no paystream processor runs, or your NATS account may not call ${op}`);
    }
    throw new ServiceCallError('unavailable', `the processor did not answer: ${text}`);
  }
  const body = JSON.parse(decoder.decode(reply.data)) as unknown;
  if (body && typeof body === 'object' && 'error' in body) {
    const { code, message } = (body as { error: { code?: unknown; message: string } }).error;
    // a code this version does not list (a processor of another version) is reported as internal, its message kept
    throw new ServiceCallError(isServiceErrorCode(code) ? code : 'internal', message);
  }
  return body;
}
