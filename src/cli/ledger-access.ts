// How a CLI command reaches the ledger: the store itself when it is free, else the running processor's NATS
// service (the lock holder recorded its NATS URL and prefix), or the service only (--service). Same JSON
// either way.

import os from 'node:os';
import { localActor } from '../domain/actor.ts';
import { LedgerApi } from '../ledger/api.ts';
import { LedgerStore } from '../ledger/store.ts';
import { type NatsAuth, connectNats, maskUrl, stripUrlCredentials } from '../nats/connect.ts';
import { callService } from '../nats/service.ts';
import { NatsUnreachableError } from '../nats/setup.ts';
import { type OpName, makeOps } from '../processor/operations.ts';
import { type GlobalOptions, parseFourEyesOptions } from './global-options.ts';
import { CliError, EXIT_OPERATIONAL } from './output.ts';
import { LedgerLockedError, readLockHolder } from '../ledger/lock.ts';

export type Call = (op: OpName, args: Record<string, unknown>) => Promise<unknown>;
export type Via = 'store' | 'service';

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
  let store: LedgerStore;
  try {
    store = await LedgerStore.open(g.data, { owner: { command: `paystream ${process.argv.slice(2, 4).join(' ')}` } });
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

async function connectForService(url: string, auth: NatsAuth) {
  return connectNats({ url, name: 'paystream-cli', timeoutMs: CLI_CONNECT_TIMEOUT_MS, auth }).catch((connectError: unknown) => {
    const code = connectError instanceof NatsUnreachableError ? connectError.code : 'nats_unreachable';
    throw new CliError(connectError instanceof Error ? connectError.message : String(connectError), EXIT_OPERATIONAL, code);
  });
}

/** The ledger is held by a processor: its service at the NATS URL it recorded, with this command's own credentials. */
async function viaLockHolder<T>(g: GlobalOptions, locked: LedgerLockedError, fn: (call: Call, via: Via) => Promise<T>): Promise<T> {
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

async function viaService<T>(nc: Awaited<ReturnType<typeof connectNats>>, prefix: string, fn: (call: Call, via: Via) => Promise<T>): Promise<T> {
  try {
    return await fn((op, args) => callService(nc, { prefix }, op, args), 'service');
  } finally {
    await nc.close();
  }
}
