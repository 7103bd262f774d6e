// The request/reply service (nats `services` API, so $SRV.PING/INFO/STATS work): the operations table over NATS.

import type { Msg, NatsConnection, Service } from 'nats';
import { redactPans } from '../domain/cards.ts';
import { OP_NAMES, type OpTable, plain } from '../processor/ops.ts';
import { subjects, type Topology } from './setup.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** requests larger than this are refused before parsing */
const REQUEST_BYTES_MAX = 64 * 1024;

export interface ServiceError {
  error: { code: string; message: string };
}

export function errorBody(error: unknown): ServiceError {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'internal';
  // no reply echoes a card number it was sent (a PAN as a query, an id, a name)
  const message = redactPans(typeof e.message === 'string' ? e.message : String(error));
  return { error: { code, message } };
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
            if (msg.data.byteLength > REQUEST_BYTES_MAX) throw Object.assign(new Error('request too large'), { code: 'too_large' });
            const text = decoder.decode(msg.data).trim();
            let args: Record<string, unknown> = {};
            if (text) {
              const parsed: unknown = JSON.parse(text);
              if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
                throw Object.assign(new Error('the request must be a JSON object'), { code: 'invalid_request' });
              }
              args = parsed as Record<string, unknown>;
            }
            const reply = await ops[name](args);
            msg.respond(encoder.encode(JSON.stringify(plain(reply))));
          } catch (error) {
            const body = error instanceof SyntaxError ? { error: { code: 'invalid_request', message: 'the request is not JSON' } } : errorBody(error);
            msg.respondError(400, body.error.message, encoder.encode(JSON.stringify(body)));
          }
        })();
      },
    });
  }
  return service;
}

export class ServiceCallError extends Error {
  override name = 'ServiceCallError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls one operation of a running processor; errors come back as ServiceCallError with the server's code. */
export async function callService(
  nc: NatsConnection,
  topology: Pick<Topology, 'prefix'>,
  op: string,
  args: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<unknown> {
  let reply: Msg;
  try {
    reply = await nc.request(`${subjects(topology).service}.${op}`, encoder.encode(JSON.stringify(args)), { timeout: timeoutMs });
  } catch (error) {
    const text = String((error as Error).message);
    if (/503|no responders/i.test(text)) throw new ServiceCallError('not_running', 'no paystream processor answers on this NATS server');
    throw new ServiceCallError('unavailable', `the processor did not answer: ${text}`);
  }
  const body = JSON.parse(decoder.decode(reply.data)) as unknown;
  if (body && typeof body === 'object' && 'error' in body) {
    const { code, message } = (body as ServiceError).error;
    throw new ServiceCallError(code, message);
  }
  return body;
}
