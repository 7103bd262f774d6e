// How a CLI command reaches the ledger: the store itself when it is free, else the running processor's NATS
// service (the lock holder recorded its NATS URL and prefix), or the service only (--service). Same JSON
// either way.

import os from 'node:os';
import type { NatsConnection } from 'nats';
import { localActor } from '../domain/actor.ts';
import { maskUrl, stripUrlCredentials } from '../domain/credentials.ts';
import type { OpName } from '../domain/operations.ts';
import { LedgerLockedError } from '../ledger/errors.ts';
import type { LedgerStore } from '../ledger/store.ts';
import type { NatsAuth } from '../nats/client-options.ts';
import { NatsUnreachableError } from '../nats/errors.ts';
import { type GlobalOptions, parseFourEyesOptions } from './global-options.ts';
import { CliError, EXIT_OPERATIONAL } from './output.ts';

export type Call = (op: OpName, args: Record<string, unknown>) => Promise<unknown>;
export type Via = 'store' | 'service';

/**
 * The store's read caches for one command: it reads a few records, so small ones (the processor's defaults
 * preallocate room for 110,000 records, a good part of a short command's start-up).
 */
const ONE_COMMAND_CACHES = { cardsCacheMax: 1_000, accountsCacheMax: 1_000, ordersCacheMax: 1_000 } as const;

/** The NATS client and the service's call: loaded only when the ledger is reached through the service. */
const natsClient = () => Promise.all([import('../nats/connect.ts'), import('../nats/service.ts')]);

/** how long the CLI waits for a NATS server to answer */
const CLI_CONNECT_TIMEOUT_MS = 3000;

/**
 * Runs `fn` with a way to call ledger operations: on the store when it is free, else through the
 * processor's NATS service (the holder recorded its NATS URL and prefix). Same JSON either way.
 */
export async function withLedger<T>(g: GlobalOptions, fn: (call: Call, via: Via) => Promise<T>): Promise<T> {
  // four eyes on manual postings (PAYSTREAM_FOUR_EYES_ABOVE, PAYSTREAM_FOUR_EYES_LAPSE): checked before anything opens
  const fourEyes = parseFourEyesOptions(process.env);
  // an operator's or viewer's machine: no ledger here, the service acts for whom the NATS server attests
  if (g.service) return viaService(await connectForService(g.nats, g.natsAuth), g.prefix, fn);
  const [{ LedgerStore }, { LedgerApi }, { makeOps }] = await Promise.all([
    import('../ledger/store.ts'),
    import('../ledger/api.ts'),
    import('../processor/operations.ts'),
  ]);
  let store: LedgerStore;
  try {
    store = await LedgerStore.open(g.data, { owner: { command: `paystream ${process.argv.slice(2, 4).join(' ')}` }, ...ONE_COMMAND_CACHES });
  } catch (error) {
    if (!(error instanceof LedgerLockedError)) throw error;
    return viaLockHolder(g, error, fn);
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

async function connectForService(url: string, auth: NatsAuth): Promise<NatsConnection> {
  const [{ connectNats }] = await natsClient();
  return connectNats({ url, name: 'paystream-cli', timeoutMs: CLI_CONNECT_TIMEOUT_MS, auth }).catch((connectError: unknown) => {
    const code = connectError instanceof NatsUnreachableError ? connectError.code : 'nats_unreachable';
    throw new CliError(connectError instanceof Error ? connectError.message : String(connectError), EXIT_OPERATIONAL, code);
  });
}

/** The ledger is held by a processor: its service at the NATS URL it recorded, with this command's own credentials. */
async function viaLockHolder<T>(g: GlobalOptions, locked: LedgerLockedError, fn: (call: Call, via: Via) => Promise<T>): Promise<T> {
  const [[{ connectNats }], { readLockHolder }] = await Promise.all([natsClient(), import('../ledger/lock.ts')]);
  const holder = locked.holder ?? (await readLockHolder(g.data));
  if (!holder?.natsUrl) throw new CliError(locked.message);
  const holderUrl = holder.natsUrl;
  // the holder's URL is recorded masked: connect to its servers with this command's own credentials
  const nc = await connectNats({ url: stripUrlCredentials(holderUrl), name: 'paystream-cli', timeoutMs: CLI_CONNECT_TIMEOUT_MS, auth: g.natsAuth }).catch(
    (connectError: unknown) => {
      if (connectError instanceof NatsUnreachableError && connectError.code !== 'nats_unreachable') {
        throw new CliError(`${locked.message}; ${connectError.message}`, EXIT_OPERATIONAL, connectError.code);
      }
      throw new CliError(`${locked.message}; its NATS server ${maskUrl(holderUrl)} is not reachable`);
    },
  );
  return viaService(nc, holder.servicePrefix ?? g.prefix, fn);
}

async function viaService<T>(nc: NatsConnection, prefix: string, fn: (call: Call, via: Via) => Promise<T>): Promise<T> {
  const [, { callService }] = await natsClient();
  try {
    return await fn((op, args) => callService(nc, { prefix }, op, args), 'service');
  } finally {
    await nc.close();
  }
}
