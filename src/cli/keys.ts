// `paystream keys ...`: the tokenization key kept apart from the data. `init` makes the key of a new
// ledger, `rotate` adds a version, `status` says which version holds how many cards, `migrate` moves a
// ledger's old in-data-directory key out. No command prints a key; fingerprints name them.

import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { type KeyRing, keyFingerprint, parseKeyHex, shownFingerprint, singleKeyRing, withNewVersion } from '../domain/keys.ts';
import {
  KeyError,
  cardsByKeyVersion,
  checkNewKeyFile,
  createKeyFile,
  newKey,
  readKeyFile,
  readLegacySecret,
  recordedKeys,
  removeLegacySecret,
  replaceKeyFile,
} from '../ledger/keys.ts';
import type { LedgerStore, StoreOptions } from '../ledger/store.ts';
import type { GlobalOptions, Globals } from './global-options.ts';
import { table } from './format.ts';
import { print, usageError } from './output.ts';
import { LedgerLockedError } from '../ledger/errors.ts';

/** LevelDB and the store, loaded by the commands that open the ledger */
const ledgerStore = async () => (await import('../ledger/store.ts')).LedgerStore;

/** The key file named by --key-file (the global flag, set into PAYSTREAM_KEY_FILE by main.ts) or the environment. */
function keyFileOf(command: string, env = process.env): string {
  const file = env.PAYSTREAM_KEY_FILE;
  if (!file) throw usageError(`keys ${command} needs the key file: --key-file PATH (or PAYSTREAM_KEY_FILE)`);
  return path.resolve(file);
}

async function openWith(g: GlobalOptions, ring: KeyRing, from: string, binding: StoreOptions['keyBinding']): Promise<LedgerStore> {
  return (await ledgerStore()).open(g.data, { keys: ring, keysFrom: from, keyBinding: binding ?? 'open', owner: { command: `paystream keys (${binding})` } });
}

export interface KeyVersionStatus {
  version: number;
  current: boolean;
  fingerprint: string;
  recordedAt: string;
  cards: number;
}

export function registerKeys(program: Command, globals: Globals): void {
  const keys = program
    .command('keys')
    .description('the tokenization key: kept in a file outside the data directory (--key-file), never printed');
  registerKeyInit(keys, globals);
  registerKeyRotate(keys, globals);
  registerKeyStatus(keys, globals);
  registerKeyMigrate(keys, globals);
}

function registerKeyInit(keys: Command, globals: Globals): void {
  keys
    .command('init')
    .description('a new key file (mode 0600, outside the data directory) for a new, empty ledger, whose fingerprint the ledger records')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      const file = keyFileOf('init');
      await checkNewKeyFile(file, g.data);
      const ring = singleKeyRing(newKey());
      await createKeyFile(file, ring);
      try {
        const store = await openWith(g, ring, `key file ${file}`, 'init');
        await store.close();
      } catch (error) {
        // the ledger refused it (not empty, in use): the new key must not stay behind as if it were the ledger's
        await rm(file, { force: true });
        throw error;
      }
      const out = { keyFile: file, version: 1, fingerprint: keyFingerprint(ring.keys.get(1)!), ledger: g.data };
      print(g, out, (v: typeof out) =>
        `created ${v.keyFile} (mode 0600): key version 1, fingerprint ${shownFingerprint(v.fingerprint)}; the ledger at ${v.ledger} records it.\n` +
        'Back the key file up apart from the data, and start paystream with --key-file (or PAYSTREAM_KEY_FILE).',
      );
    });
}

function registerKeyRotate(keys: Command, globals: Globals): void {
  keys
    .command('rotate')
    .description('add a new key version to the key file and make it current: new cards use it, older cards keep theirs')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      const file = keyFileOf('rotate');
      const before = await readKeyFile(file, g.data);
      // the ledger must know the file's versions (same fingerprints) before the file changes
      let store: LedgerStore | undefined;
      try {
        store = await openWith(g, before, `key file ${file}`, 'open');
      } catch (error) {
        if (!(error instanceof LedgerLockedError)) throw error;
      }
      const ring = withNewVersion(before, newKey());
      try {
        await replaceKeyFile(file, ring);
        if (store) {
          await store.close();
          store = await openWith(g, ring, `key file ${file}`, 'open');
        }
      } finally {
        await store?.close();
      }
      const out = { keyFile: file, version: ring.current, fingerprint: keyFingerprint(ring.keys.get(ring.current)!), recorded: store !== undefined };
      print(g, out, (v: typeof out) =>
        `${v.keyFile}: key version ${v.version} added and current, fingerprint ${shownFingerprint(v.fingerprint)}; ` +
        (v.recorded
          ? 'the ledger records it. New cards are tokenized under it; cards of older versions are still found.'
          : 'the ledger is in use: restart its processor with this key file, and the ledger records the new version then.'),
      );
    });
}

function registerKeyStatus(keys: Command, globals: Globals): void {
  keys
    .command('status')
    .description('the key versions the ledger records: fingerprints (never keys) and how many cards each holds')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      const store = await (await ledgerStore()).open(g.data, { owner: { command: 'paystream keys status' } });
      try {
        const recorded = await recordedKeys(store);
        const counts = await cardsByKeyVersion(store.cards);
        const versions: KeyVersionStatus[] = [...recorded.values()]
          .sort((a, b) => a.version - b.version)
          .map((r) => ({ version: r.version, current: r.version === store.keys.current, fingerprint: r.fingerprint, recordedAt: r.recordedAt, cards: counts.get(r.version) ?? 0 }));
        const out = { current: store.keys.current, versions };
        print(g, out, (v: typeof out) =>
          table(
            ['version', 'fingerprint', 'recorded', 'cards'],
            v.versions.map((k) => [`${k.version}${k.current ? ' (current)' : ''}`, shownFingerprint(k.fingerprint), k.recordedAt, String(k.cards)]),
          ),
        );
      } finally {
        await store.close();
      }
    });
}

function registerKeyMigrate(keys: Command, globals: Globals): void {
  keys
    .command('migrate')
    .description("a ledger from before key files: move its key (the data directory's secret.key, or PAYSTREAM_SECRET) into a new key file and record its fingerprint")
    .requiredOption('--to <path>', 'the new key file (outside the data directory; must not exist)')
    .option('--json', 'print JSON')
    .action(async (o: { to: string }) => {
      const g = globals();
      const file = path.resolve(o.to);
      await checkNewKeyFile(file, g.data);
      const legacy = await readLegacySecret(g.data);
      const key = legacy ?? legacyEnvKey();
      const ring = singleKeyRing(key);
      await createKeyFile(file, ring);
      // the key is in its new file now; the copy beside the data goes
      if (legacy) await removeLegacySecret(g.data);
      const store = await openWith(g, ring, `key file ${file}`, 'adopt');
      await store.close();
      const out = { keyFile: file, version: 1, fingerprint: keyFingerprint(key), from: legacy ? 'secret.key in the data directory (removed)' : 'the environment' };
      print(g, out, (v: typeof out) =>
        `moved the key from ${v.from} to ${v.keyFile} (mode 0600): version 1, fingerprint ${shownFingerprint(v.fingerprint)}; the ledger records it.\n` +
        'Start paystream with --key-file (or PAYSTREAM_KEY_FILE); backups of the data directory made before today still hold the old key file: destroy them or treat them as holding the key.',
      );
    });
}

/** The key a ledger from before key files was started with: PAYSTREAM_KEY (hex) or PAYSTREAM_SECRET (hex, or text, which was hashed). */
function legacyEnvKey(env = process.env): Buffer {
  if (env.PAYSTREAM_KEY) {
    const key = parseKeyHex(env.PAYSTREAM_KEY, 'PAYSTREAM_KEY');
    if (!key.ok) throw new KeyError(key.reason, key.message);
    return key.value;
  }
  const secret = env.PAYSTREAM_SECRET;
  if (!secret) {
    throw new KeyError('key_missing', 'nothing to migrate: the data directory has no secret.key and neither PAYSTREAM_SECRET nor PAYSTREAM_KEY is set');
  }
  // the old rule: 64+ hex characters were the key, any other text was hashed to 32 bytes
  return /^[0-9a-fA-F]{64,}$/.test(secret) ? Buffer.from(secret, 'hex') : createHash('sha256').update(secret).digest();
}
