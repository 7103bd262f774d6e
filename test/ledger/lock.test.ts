// Only one process may open a ledger; the second is told which process holds it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerLockedError } from '../../src/ledger/lock.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { aDataDir, removeDataDir } from './builders.ts';

const STORE_URL = new URL('../../src/ledger/store.ts', import.meta.url).href;

// Opens the store, says "ready", and holds it until its stdin closes.
const HOLDER_SCRIPT = `
const { LedgerStore } = await import(${JSON.stringify(STORE_URL)});
const store = await LedgerStore.open(process.env.LEDGER_DIR, { owner: { command: 'run --headless' } });
process.stdout.write('ready\\n');
process.stdin.resume();
process.stdin.on('end', async () => { await store.close(); process.exit(0); });
`;

let dataDir: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dataDir = await aDataDir();
});

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  child = undefined;
  await removeDataDir(dataDir);
});

async function holdInChild(): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', HOLDER_SCRIPT], {
    env: { ...process.env, LEDGER_DIR: dataDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child = proc;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`holder exited with ${code}: ${stderr}`)));
  });
  return proc;
}

describe('the ledger lock', () => {
  it('refuses a second open in the same process, naming this process as the holder', async () => {
    const first = await LedgerStore.open(dataDir, { owner: { command: 'cards list' } });
    try {
      const error = await LedgerStore.open(dataDir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LedgerLockedError);
      expect((error as LedgerLockedError).holder?.pid).toBe(process.pid);
      expect((error as Error).message).toContain(`process ${process.pid}`);
      expect((error as Error).message).toContain('cards list');
      // the first store still works
      expect(await first.listCards()).toEqual([]);
    } finally {
      await first.close();
    }
    const again = await LedgerStore.open(dataDir);
    await again.close();
  });

  it('tells a second process which process holds the ledger, and lets it in once that one is gone', async () => {
    const holder = await holdInChild();
    const error = await LedgerStore.open(dataDir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerLockedError);
    expect((error as LedgerLockedError).holder).toMatchObject({ pid: holder.pid, command: 'run --headless' });
    expect((error as Error).message).toMatch(
      new RegExp(`in use by process ${holder.pid} \\(run --headless, since `),
    );

    holder.stdin!.end();
    await once(holder, 'exit');
    const store = await LedgerStore.open(dataDir);
    await store.close();
  });

  it('lets a new process in after the holder was killed outright', async () => {
    const holder = await holdInChild();
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const store = await LedgerStore.open(dataDir);
    await store.close();
  });
});
