// The process lock: LevelDB's own lock keeps a second process out of a ledger, and owner.json beside it says
// which process holds it, so the second one can be told whom to stop or whose NATS service to talk to.

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { LedgerLockedError } from './errors.ts';

export interface LockHolder {
  pid: number;
  command: string;
  startedAt: string;
  natsUrl?: string;
  servicePrefix?: string;
}

/** What the opening process says of itself in owner.json. */
export interface LockOwner {
  command: string;
  natsUrl?: string;
  servicePrefix?: string;
}

export { LedgerLockedError };

const OWNER_FILE = 'owner.json';
/** a larger write buffer means fewer level-0 flushes and compaction stalls under sustained writes */
const WRITE_BUFFER_BYTES = 16 * 1024 * 1024;
const BLOCK_CACHE_BYTES = 32 * 1024 * 1024;

/** The process recorded as holding the ledger, if it is still alive. */
export async function readLockHolder(dataDir: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(path.join(dataDir, OWNER_FILE), 'utf8')) as LockHolder;
    try {
      process.kill(holder.pid, 0);
      return holder;
    } catch (error) {
      // EPERM: alive, but another user's; only ESRCH means the recorded holder is gone
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? holder : undefined;
    }
  } catch {
    return undefined;
  }
}

/** Opens the ledger's LevelDB under its lock; held by another process, it fails with LedgerLockedError naming that one. */
export async function openLockedDatabase(dataDir: string): Promise<ClassicLevel<string, string>> {
  const db = new ClassicLevel<string, string>(path.join(dataDir, 'db'), {
    valueEncoding: 'utf8',
    writeBufferSize: WRITE_BUFFER_BYTES,
    cacheSize: BLOCK_CACHE_BYTES,
  });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(String((cause as Error | undefined)?.message))) {
      throw new LedgerLockedError(dataDir, await readLockHolder(dataDir));
    }
    throw error;
  }
  return db;
}

/** Records this process as the holder (call once the lock is taken). */
export async function recordLockHolder(dataDir: string, owner: LockOwner | undefined): Promise<void> {
  const holder: LockHolder = {
    pid: process.pid,
    command: owner?.command ?? process.argv.slice(2).join(' '),
    startedAt: new Date().toISOString(),
  };
  if (owner?.natsUrl) holder.natsUrl = owner.natsUrl;
  if (owner?.servicePrefix) holder.servicePrefix = owner.servicePrefix;
  await writeFile(path.join(dataDir, OWNER_FILE), JSON.stringify(holder));
}

/** Clears the record before the lock is let go; best effort (the lock, not the file, keeps others out). */
export async function clearLockHolder(dataDir: string): Promise<void> {
  await writeFile(path.join(dataDir, OWNER_FILE), '{}').catch(() => undefined);
}
