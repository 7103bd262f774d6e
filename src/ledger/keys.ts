// Tokenization keys, the shell: where the key ring comes from (a key file outside the data directory,
// or the environment), what a key file must be (owner-only, not beside the data, 32 bytes or more),
// and the ledger's record of each version's fingerprint, which binds a ledger to its keys: opening it
// with any other key is refused, and no key is ever made without being asked (`paystream keys init`).

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  KEY_BYTES_MIN,
  KEY_FILE_BYTES_MAX,
  type KeyCheck,
  type KeyRing,
  formatKeyRing,
  keyFingerprint,
  parseKeyEnv,
  parseKeyHex,
  parseKeyRing,
  shownFingerprint,
  singleKeyRing,
} from '../domain/keys.ts';

/** Where ledgers made before key files kept their key: inside the data directory (refused now). */
export const LEGACY_SECRET_FILE = 'secret.key';

/** What can be wrong with a key; the first group is the key as given (exit 2), the second the ledger's state (exit 1). */
export const KEY_ERROR_CODES = [
  'key_missing',
  'key_short',
  'key_malformed',
  'key_file_mode',
  'key_in_data_dir',
  'key_file_exists',
  'key_mismatch',
  'key_unrecorded',
  'key_beside_data',
  'ledger_not_empty',
] as const;
export type KeyErrorCode = (typeof KEY_ERROR_CODES)[number];
const USAGE_CODES: ReadonlySet<KeyErrorCode> = new Set(['key_missing', 'key_short', 'key_malformed', 'key_file_mode', 'key_in_data_dir', 'key_file_exists']);

/** A key problem: its message names files, versions and fingerprints, never a key. */
export class KeyError extends Error {
  override name = 'KeyError';
  readonly exitCode: 1 | 2;
  constructor(
    readonly code: KeyErrorCode,
    message: string,
  ) {
    super(message);
    this.exitCode = USAGE_CODES.has(code) ? 2 : 1;
  }
}

const HOW_TO_CREATE =
  'give the key with --key-file PATH (or PAYSTREAM_KEY_FILE, or PAYSTREAM_KEY as hex); for a new, empty ledger create one with ' +
  '`paystream keys init --key-file PATH` (PATH outside the data directory)';

export interface KeySource {
  ring: KeyRing;
  /** how the ring was given, for messages: "key file /etc/paystream/key.json", "PAYSTREAM_KEY" */
  from: string;
  /** the key file, when the ring came from one */
  file?: string;
}

export interface KeyOptions {
  /** --key-file; else PAYSTREAM_KEY_FILE */
  keyFile?: string;
  env?: NodeJS.ProcessEnv;
}

function checked<T>(result: KeyCheck<T>): T {
  if (!result.ok) throw new KeyError(result.reason, result.message);
  return result.value;
}

/** The real path of `p` (of its directory when it does not exist yet), so `..` and symbolic links cannot hide where it is. */
async function realOrResolved(p: string): Promise<string> {
  const absolute = path.resolve(p);
  try {
    return await realpath(absolute);
  } catch {
    try {
      return path.join(await realpath(path.dirname(absolute)), path.basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/** True when `file` is `dir` or lies anywhere under it. */
export async function isInside(dir: string, file: string): Promise<boolean> {
  const [d, f] = await Promise.all([realOrResolved(dir), realOrResolved(file)]);
  const rel = path.relative(d, f);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function refuseInsideDataDir(file: string, dataDir: string): Promise<void> {
  if (await isInside(dataDir, file)) {
    throw new KeyError(
      'key_in_data_dir',
      `the key file ${file} is inside the data directory ${dataDir}: whoever copies the data (a backup, a support bundle) would have the key too; keep it elsewhere`,
    );
  }
}

/** Reads a key file after checking it is a regular file, outside the data directory, readable and writable by its owner only. */
export async function readKeyFile(file: string, dataDir: string): Promise<KeyRing> {
  await refuseInsideDataDir(file, dataDir);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyError('key_missing', `the key file ${file} does not exist; ${HOW_TO_CREATE}`);
    throw error;
  }
  if (!info.isFile()) throw new KeyError('key_malformed', `the key file ${file} is not a regular file`);
  if ((info.mode & 0o077) !== 0) {
    throw new KeyError(
      'key_file_mode',
      `the key file ${file} has mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}: group or others may read or write it; ` +
        `make it the owner's only (chmod 600 ${file})`,
    );
  }
  if (info.size > KEY_FILE_BYTES_MAX) throw new KeyError('key_malformed', `the key file ${file} is larger than ${KEY_FILE_BYTES_MAX} bytes`);
  return checked(parseKeyRing(await readFile(file, 'utf8'), `the key file ${file}`));
}

/**
 * The key ring for a ledger: from --key-file / PAYSTREAM_KEY_FILE, else PAYSTREAM_KEY, else the
 * deprecated PAYSTREAM_SECRET (only when it meets the same rules: hex, 32 bytes or more). None: an
 * error that says how to make one. Never makes a key.
 */
export async function loadKeys(dataDir: string, options: KeyOptions = {}): Promise<KeySource> {
  const env = options.env ?? process.env;
  const file = options.keyFile ?? (env.PAYSTREAM_KEY_FILE || undefined);
  if (file !== undefined) {
    const resolved = path.resolve(file);
    return { ring: await readKeyFile(resolved, dataDir), from: `key file ${resolved}`, file: resolved };
  }
  if (env.PAYSTREAM_KEY) return { ring: checked(parseKeyEnv(env.PAYSTREAM_KEY, 'PAYSTREAM_KEY')), from: 'PAYSTREAM_KEY' };
  if (env.PAYSTREAM_SECRET) {
    const key = parseKeyHex(env.PAYSTREAM_SECRET, 'PAYSTREAM_SECRET (deprecated: use PAYSTREAM_KEY or a key file)');
    return { ring: singleKeyRing(checked(key)), from: 'PAYSTREAM_SECRET' };
  }
  if (await exists(path.join(dataDir, LEGACY_SECRET_FILE))) throw besideData(dataDir);
  throw new KeyError('key_missing', `no tokenization key: ${HOW_TO_CREATE}`);
}

function besideData(dataDir: string): KeyError {
  return new KeyError(
    'key_beside_data',
    `the ledger at ${dataDir} keeps its tokenization key inside its data directory (${LEGACY_SECRET_FILE}, from before key files), ` +
      'where anyone holding the data holds the key; move it out with `paystream keys migrate --to PATH` (PATH outside the data directory), ' +
      'then start with --key-file PATH',
  );
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

// ---- the ledger's records of its keys ----

/** What the ledger keeps of each key version: its fingerprint, never the key. */
export interface KeyRecord {
  version: number;
  fingerprint: string;
  recordedAt: string;
}

/** The sublevels the key records concern (a LedgerStore's). */
export interface KeyedLedger {
  meta: { iterator(o: { gte: string; lt: string; limit: number }): AsyncIterable<[string, string]>; put(k: string, v: string): Promise<void> };
  cards: { keys(o: { limit: number }): AsyncIterable<string> };
}

const RECORD_PREFIX = 'key!';
const recordKey = (version: number) => `${RECORD_PREFIX}${String(version).padStart(3, '0')}`;

export async function recordedKeys(ledger: KeyedLedger): Promise<Map<number, KeyRecord>> {
  const out = new Map<number, KeyRecord>();
  for await (const [, value] of ledger.meta.iterator({ gte: RECORD_PREFIX, lt: `${RECORD_PREFIX}~`, limit: 1000 })) {
    const record = JSON.parse(value) as KeyRecord;
    out.set(record.version, record);
  }
  return out;
}

export async function hasCards(ledger: KeyedLedger): Promise<boolean> {
  for await (const _ of ledger.cards.keys({ limit: 1 })) return true;
  return false;
}

/**
 * How a ledger takes a key ring: `open` (every start), `init` (`keys init`: only a ledger with no key
 * and no cards), `adopt` (`keys migrate`: a ledger made before key fingerprints records the key its
 * cards were made with).
 */
export type KeyBinding = 'open' | 'init' | 'adopt';

/**
 * Binds the ledger to the ring: a ledger that records no key (new, with no cards) records each
 * version's fingerprint; one that does must be opened with the same key under every version it
 * recorded, and records the ring's new versions (a rotation). A ledger with cards and no record (made
 * before key fingerprints) is refused: its key is adopted only by `paystream keys migrate`.
 */
export async function bindKeys(
  ledger: KeyedLedger,
  ring: KeyRing,
  dataDir: string,
  from: string,
  binding: KeyBinding = 'open',
  nowMs = Date.now(),
): Promise<void> {
  if (await exists(path.join(dataDir, LEGACY_SECRET_FILE))) throw besideData(dataDir);
  const recorded = await recordedKeys(ledger);
  if (binding === 'init' && (recorded.size > 0 || (await hasCards(ledger)))) {
    const first = recorded.get(1);
    throw new KeyError(
      'ledger_not_empty',
      `the ledger at ${dataDir} ` +
        (first ? `already has a key (version 1, fingerprint ${shownFingerprint(first.fingerprint)})` : 'already has cards') +
        ': `keys init` is only for a new, empty ledger (`keys rotate` adds a version to a key file)',
    );
  }
  if (binding !== 'adopt' && recorded.size === 0 && (await hasCards(ledger))) {
    throw new KeyError(
      'key_unrecorded',
      `the ledger at ${dataDir} has cards but records no key fingerprint (it was made before key fingerprints); ` +
        'record the key its cards were made with: `paystream keys migrate --to PATH` (takes the key from PAYSTREAM_SECRET or PAYSTREAM_KEY)',
    );
  }
  for (const [version, record] of recorded) {
    const key = ring.keys.get(version);
    const given = key === undefined ? undefined : keyFingerprint(key);
    if (given !== record.fingerprint) {
      throw new KeyError(
        'key_mismatch',
        `this ledger was created with key version ${version}, fingerprint ${shownFingerprint(record.fingerprint)}; ` +
          (given === undefined ? `the key given (${from}) has no version ${version}` : `the key given (${from}) has fingerprint ${shownFingerprint(given)}`) +
          ': start it with the key it was made with (a new key would make every card unfindable and the same PAN a second card)',
      );
    }
  }
  for (const [version, key] of ring.keys) {
    if (recorded.has(version)) continue;
    const record: KeyRecord = { version, fingerprint: keyFingerprint(key), recordedAt: new Date(nowMs).toISOString() };
    await ledger.meta.put(recordKey(version), JSON.stringify(record));
  }
}

// ---- key files: made, rotated, moved ----

export const newKey = (): Buffer => randomBytes(KEY_BYTES_MIN);

/** Writes a new key file, mode 0600 (a missing folder is made 0700); refuses to overwrite one. */
export async function createKeyFile(file: string, ring: KeyRing): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyError('key_file_exists', `the key file ${file} exists; a key file is never overwritten (rotate it with \`paystream keys rotate\`)`);
    }
    throw error;
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(formatKeyRing(ring), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces a key file's content atomically (a 0600 file beside it, renamed over it), for a rotation. */
export async function replaceKeyFile(file: string, ring: KeyRing): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await rm(temp, { force: true });
  await createKeyFile(temp, ring);
  await rename(temp, file);
}

/** The legacy key of a ledger made before key files: its data directory's secret.key (hex). */
export async function readLegacySecret(dataDir: string): Promise<Buffer | undefined> {
  const file = path.join(dataDir, LEGACY_SECRET_FILE);
  if (!(await exists(file))) return undefined;
  return checked(parseKeyHex(await readFile(file, 'utf8'), `${file}`));
}

export const removeLegacySecret = (dataDir: string): Promise<void> => rm(path.join(dataDir, LEGACY_SECRET_FILE));

/** Cards by the key version their token was made under (a scan of every card record). */
export async function cardsByKeyVersion(cards: { values(): AsyncIterable<string> }): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for await (const text of cards.values()) {
    const version = (JSON.parse(text) as { keyVersion?: number }).keyVersion ?? 1;
    counts.set(version, (counts.get(version) ?? 0) + 1);
  }
  return counts;
}

/** Refuses a path for a new key file inside the data directory or where a file exists. */
export async function checkNewKeyFile(file: string, dataDir: string): Promise<void> {
  await refuseInsideDataDir(file, dataDir);
  if (await exists(file)) {
    throw new KeyError('key_file_exists', `the key file ${file} exists; a key file is never overwritten (rotate it with \`paystream keys rotate\`)`);
  }
}
