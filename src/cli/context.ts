// Shared CLI plumbing: global options, output (--json or human), exit codes, and the ledger backend
// (the store directly, or the running processor's NATS service when it holds the store).

import os from 'node:os';
import path from 'node:path';
import { localActor } from '../domain/actor.ts';
import { redactPans } from '../domain/cards.ts';
import { fourEyesFromEnv } from '../domain/four-eyes.ts';
import { LedgerApi } from '../ledger/api.ts';
import { KeyError } from '../ledger/keys.ts';
import { LedgerError, LedgerLockedError, LedgerStore, readLockHolder } from '../ledger/store.ts';
import { ServiceCallError, callService } from '../nats/service.ts';
import { type NatsAuth, NatsOptionsError, connectNats, maskUrl, parseNatsAuth, redactSecrets, stripUrlCredentials } from '../nats/connect.ts';
import { DEFAULT_TOPOLOGY, NatsUnreachableError } from '../nats/setup.ts';
import { type OpName, makeOps, plain } from '../processor/operations.ts';
import { natsUrlArg, subjectPrefixArg } from './args.ts';

export interface GlobalOptions {
  data: string;
  /** the NATS URL as given (it may carry credentials: show it only through maskUrl) */
  nats: string;
  /** NATS credentials and TLS from the flags, the environment and the URL, read and checked */
  natsAuth: NatsAuth;
  prefix: string;
  json: boolean;
  /** never open the ledger: call the processor's service at `nats` (--service, PAYSTREAM_SERVICE=1) @default false */
  service?: boolean;
}

export const EXIT_OK = 0;
export const EXIT_OPERATIONAL = 1;
export const EXIT_USAGE = 2;

/** An error whose message is for the operator; exit code 2 for usage, 1 otherwise. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_OPERATIONAL,
    readonly code = 'error',
  ) {
    super(message);
  }
}

export function globalsFrom(opts: Record<string, unknown>, env = process.env): GlobalOptions {
  // flags were checked while commander parsed them; values from the environment are checked the same way here
  const checked = (value: string, parse: (v: string) => string, name: string): string => {
    try {
      return parse(value);
    } catch (error) {
      throw new CliError(`${name} ${JSON.stringify(maskUrl(value))} ${(error as Error).message}`, EXIT_USAGE, 'usage');
    }
  };
  const nats = checked(String(opts.nats ?? env.NATS_URL ?? 'nats://127.0.0.1:4222'), natsUrlArg, opts.nats === undefined ? 'NATS_URL' : '--nats');
  let natsAuth: NatsAuth;
  try {
    natsAuth = parseNatsAuth(opts as never, env, nats);
  } catch (error) {
    if (error instanceof NatsOptionsError) throw new CliError(error.message, EXIT_USAGE, 'usage');
    throw error;
  }
  return {
    data: path.resolve(String(opts.data ?? env.PAYSTREAM_DATA ?? 'data/ledger')),
    nats,
    natsAuth,
    prefix: checked(String(opts.prefix ?? env.PAYSTREAM_PREFIX ?? DEFAULT_TOPOLOGY.prefix), subjectPrefixArg, opts.prefix === undefined ? 'PAYSTREAM_PREFIX' : '--prefix'),
    json: Boolean(opts.json),
    service: Boolean(opts.service) || env.PAYSTREAM_SERVICE === '1',
  };
}

export function print(g: GlobalOptions, value: unknown, human: (v: never) => string): void {
  if (g.json) process.stdout.write(`${JSON.stringify(plain(value), null, 2)}\n`);
  else process.stdout.write(`${human(value as never)}\n`);
}

export type Call = (op: OpName, args: Record<string, unknown>) => Promise<unknown>;

/**
 * Runs `fn` with a way to call ledger operations: on the store when it is free, else through the
 * processor's NATS service (the holder recorded its NATS URL and prefix). Same JSON either way.
 */
export async function withLedger<T>(g: GlobalOptions, fn: (call: Call, via: 'store' | 'service') => Promise<T>): Promise<T> {
  // four eyes on manual postings (PAYSTREAM_FOUR_EYES_ABOVE, PAYSTREAM_FOUR_EYES_LAPSE): checked before anything opens
  const parsedFourEyes = fourEyesFromEnv(process.env);
  if (!parsedFourEyes.ok) throw new CliError(parsedFourEyes.message, EXIT_USAGE, 'usage');
  const fourEyes = parsedFourEyes.options;
  if (g.service) {
    // an operator's or viewer's machine: no ledger here, the service acts for whom the NATS server attests
    const nc = await connectNats({ url: g.nats, name: 'paystream-cli', timeoutMs: 3000, auth: g.natsAuth }).catch((connectError: unknown) => {
      const code = connectError instanceof NatsUnreachableError ? connectError.code : 'nats_unreachable';
      throw new CliError(connectError instanceof Error ? connectError.message : String(connectError), EXIT_OPERATIONAL, code);
    });
    try {
      return await fn((op, args) => callService(nc, { prefix: g.prefix }, op, args), 'service');
    } finally {
      await nc.close();
    }
  }
  let store: LedgerStore;
  try {
    store = await LedgerStore.open(g.data, { owner: { command: `paystream ${process.argv.slice(2, 4).join(' ')}` } });
  } catch (error) {
    if (!(error instanceof LedgerLockedError)) throw error;
    const holder = error.holder ?? (await readLockHolder(g.data));
    if (!holder?.natsUrl) throw new CliError(error.message);
    // the holder's URL is recorded masked: connect to its servers with this command's own credentials
    const url = stripUrlCredentials(holder.natsUrl);
    const nc = await connectNats({ url, name: 'paystream-cli', timeoutMs: 3000, auth: g.natsAuth }).catch((connectError: unknown) => {
      if (connectError instanceof NatsUnreachableError && connectError.code !== 'nats_unreachable') {
        throw new CliError(`${error.message}; ${connectError.message}`, EXIT_OPERATIONAL, connectError.code);
      }
      throw new CliError(`${error.message}; its NATS server ${maskUrl(holder.natsUrl!)} is not reachable`);
    });
    try {
      const topology = { prefix: holder.servicePrefix ?? g.prefix };
      return await fn((op, args) => callService(nc, topology, op, args), 'service');
    } finally {
      await nc.close();
    }
  }
  try {
    const ops = makeOps({ api: new LedgerApi(store, Date.now, fourEyes) });
    // on the store directly, the OS vouches for the user: it can read the data directory
    const actor = localActor(os.userInfo().username, 'cli');
    return await fn((op, args) => ops[op](args, actor), 'store');
  } finally {
    await store.close();
  }
}

/**
 * What the CLI prints for an error: no message echoes a card number (masked to its first six and last
 * four), a NATS password, token or seed, or a URL's credentials.
 */
export function describeError(error: unknown): { code: string; message: string; exitCode: number } {
  const described = describeErrorRaw(error);
  return { ...described, message: redactSecrets(redactPans(described.message)) };
}

function describeErrorRaw(error: unknown): { code: string; message: string; exitCode: number } {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof LedgerError || error instanceof ServiceCallError) {
    return { code: error.code, message: error.message, exitCode: EXIT_OPERATIONAL };
  }
  if (error instanceof LedgerLockedError) return { code: 'ledger_locked', message: error.message, exitCode: EXIT_OPERATIONAL };
  if (error instanceof KeyError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof NatsUnreachableError) return { code: error.code, message: error.message, exitCode: EXIT_OPERATIONAL };
  if (error instanceof NatsOptionsError) return { code: error.code, message: error.message, exitCode: EXIT_USAGE };
  const e = error as { code?: string; message?: string };
  if (e?.code === 'ECONNREFUSED' || /CONNECTION_REFUSED/.test(String(e?.code))) {
    return { code: 'nats_unreachable', message: `cannot reach NATS: ${e.message ?? ''}`, exitCode: EXIT_OPERATIONAL };
  }
  return { code: 'internal', message: e?.message ?? String(error), exitCode: EXIT_OPERATIONAL };
}

/** Reads a secret value from stdin (for `--pan -`), so it stays out of shell history and the process list. */
export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}
