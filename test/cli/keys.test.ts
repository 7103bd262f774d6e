// `paystream keys ...` and the key rules as an operator meets them: the real command line in a child
// process, a temp ledger and key files beside it (never inside). No output ever holds a key.

import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyFingerprint, parseKeyRing } from '../../src/domain/keys.ts';
import { TEST_PANS } from '../domain/builders.ts';
import { type CliOutcome, cli } from '../e2e/harness.ts';

let root: string;
let dataDir: string;
let keyDir: string;
/** each test runs the CLI 6-12 times, ~1-3 s a start on a busy machine */
const CLI_TIMEOUT_MS = 180_000;
/** no key from the test environment: each test says where its key is */
const NO_KEY = { PAYSTREAM_KEY: '', PAYSTREAM_KEY_FILE: '', PAYSTREAM_SECRET: '' };

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'paystream-cli-keys-'));
  dataDir = path.join(root, 'ledger');
  keyDir = path.join(root, 'keys');
  await mkdir(keyDir, { mode: 0o700 });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliOutcome> => cli(['--data', dataDir, ...args], { ...NO_KEY, ...env });

/** Every key in the file, as hex: none may appear in what a command printed. */
async function keysIn(file: string): Promise<string[]> {
  const ring = parseKeyRing(await readFile(file, 'utf8'), file);
  if (!ring.ok) throw new Error(ring.message);
  return [...ring.value.keys.values()].map((k) => k.toString('hex'));
}

function expectNoKey(out: CliOutcome, keys: string[]): void {
  for (const key of keys) {
    expect(out.stdout).not.toContain(key);
    expect(out.stderr).not.toContain(key);
  }
}

const addCard = (keyFile: string, pan: string, holder: string) =>
  run(['--key-file', keyFile, 'cards', 'add', '--pan', pan, '--expiry', '12/30', '--holder', holder, '--json']);

describe('paystream keys init', { timeout: CLI_TIMEOUT_MS }, () => {
  it('without a key nothing starts and the error says how to make one; keys init makes a 0600 key file for the empty ledger, once', async () => {
    const missing = await run(['cards', 'list']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no tokenization key');
    expect(missing.stderr).toContain('paystream keys init --key-file PATH');
    expect(existsSync(dataDir)).toBe(false);

    const keyFile = path.join(keyDir, 'paystream.key.json');
    const init = await run(['keys', 'init', '--key-file', keyFile, '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const [key] = await keysIn(keyFile);
    expect(JSON.parse(init.stdout)).toMatchObject({ keyFile, version: 1, fingerprint: keyFingerprint(Buffer.from(key!, 'hex')) });
    expectNoKey(init, [key!]);
    // no key material in the data directory
    expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);

    // a second init: never over an existing file, never for a ledger that has its key (the new file is not left behind)
    const again = await run(['keys', 'init', '--key-file', keyFile]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is never overwritten');
    const other = path.join(keyDir, 'other.json');
    const second = await run(['keys', 'init', '--key-file', other]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('already has a key (version 1, fingerprint');
    expect(second.stderr).toContain('only for a new, empty ledger');
    expect(existsSync(other)).toBe(false);
    expect(await keysIn(keyFile)).toEqual([key]);

    // the key file opens the ledger; a key file inside the data directory is refused even for init
    const list = await run(['--key-file', keyFile, 'cards', 'list']);
    expect(list.code, list.stderr).toBe(0);
    const inside = await cli(['--data', path.join(root, 'fresh'), 'keys', 'init', '--key-file', path.join(root, 'fresh', 'k.json')], NO_KEY);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain('is inside the data directory');
  });

  it('a key file that group or others may read is refused (exit 2, the chmod to fix it), and so is a different key (exit 1, both fingerprints)', async () => {
    const keyFile = path.join(keyDir, 'k.json');
    expect((await run(['keys', 'init', '--key-file', keyFile])).code).toBe(0);
    const keys = await keysIn(keyFile);
    await chmod(keyFile, 0o644);
    const open = await run(['--key-file', keyFile, 'cards', 'list']);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('has mode 0644');
    expect(open.stderr).toContain(`chmod 600 ${keyFile}`);
    expectNoKey(open, keys);
    await chmod(keyFile, 0o600);

    const otherKey = 'ab'.repeat(32);
    const wrong = await run(['cards', 'list'], { PAYSTREAM_KEY: otherKey });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`this ledger was created with key version 1, fingerprint ${keyFingerprint(Buffer.from(keys[0]!, 'hex')).slice(0, 16)}…`);
    expect(wrong.stderr).toContain(`has fingerprint ${keyFingerprint(Buffer.from(otherKey, 'hex')).slice(0, 16)}…`);
    expectNoKey(wrong, [...keys, otherKey]);

    const short = await run(['cards', 'list'], { PAYSTREAM_KEY: 'ab'.repeat(31) });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 32 bytes');
  });
});

describe('paystream keys init into a folder that does not exist yet', { timeout: CLI_TIMEOUT_MS }, () => {
  it('makes the folder 0700 and the key file 0600 (as the README does it: PAYSTREAM_KEY_FILE=~/.config/paystream/key.json)', async () => {
    const keyFile = path.join(root, 'config', 'paystream', 'key.json');
    const init = await run(['keys', 'init'], { PAYSTREAM_KEY_FILE: keyFile });
    expect(init.code, init.stderr).toBe(0);
    expect((await stat(path.dirname(keyFile))).mode & 0o777).toBe(0o700);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const list = await run(['cards', 'list'], { PAYSTREAM_KEY_FILE: keyFile });
    expect(list.code, list.stderr).toBe(0);
  });
});

describe('paystream keys rotate and status', { timeout: CLI_TIMEOUT_MS }, () => {
  it('rotation adds version 2 for new cards; v1 cards are still found by PAN and never registered twice; status counts cards per version', async () => {
    const keyFile = path.join(keyDir, 'k.json');
    expect((await run(['keys', 'init', '--key-file', keyFile])).code).toBe(0);
    const ann = await addCard(keyFile, TEST_PANS.visa[0], 'Ann');
    expect(ann.code, ann.stderr).toBe(0);
    const annToken = JSON.parse(ann.stdout).card.token as string;

    const rotate = await run(['--key-file', keyFile, 'keys', 'rotate', '--json']);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(JSON.parse(rotate.stdout)).toMatchObject({ version: 2, recorded: true });
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const keys = await keysIn(keyFile);
    expect(keys).toHaveLength(2);
    expectNoKey(rotate, keys);

    const again = await addCard(keyFile, TEST_PANS.visa[0], 'Ann again');
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, card: { token: annToken } });
    const bob = await addCard(keyFile, TEST_PANS.mastercard[0], 'Bob');
    expect(JSON.parse(bob.stdout)).toMatchObject({ created: true });
    const shown = await run(['--key-file', keyFile, 'cards', 'show', TEST_PANS.visa[0], '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(annToken);

    const status = await run(['--key-file', keyFile, 'keys', 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as { current: number; versions: { version: number; cards: number; fingerprint: string; current: boolean }[] };
    expect(parsed.current).toBe(2);
    expect(parsed.versions.map((v) => [v.version, v.cards, v.current])).toEqual([
      [1, 1, false],
      [2, 1, true],
    ]);
    expect(parsed.versions.map((v) => v.fingerprint)).toEqual(keys.map((k) => keyFingerprint(Buffer.from(k, 'hex'))));
    expectNoKey(status, keys);
    const human = await run(['--key-file', keyFile, 'keys', 'status']);
    expect(human.stdout).toMatch(/2 \(current\)\s+[0-9a-f]{16}…/);

    // a key file without version 2 no longer opens the ledger
    const v1Only = path.join(keyDir, 'v1.json');
    await writeFile(v1Only, JSON.stringify({ current: 1, keys: { 1: keys[0] } }), { mode: 0o600 });
    const lacking = await run(['--key-file', v1Only, 'cards', 'list']);
    expect(lacking.code).toBe(1);
    expect(lacking.stderr).toContain('has no version 2');
  });
});

describe('paystream keys migrate', { timeout: CLI_TIMEOUT_MS }, () => {
  it("a ledger from before key files (secret.key in its data directory) is refused, pointing to keys migrate, which moves the key out and records it", async () => {
    // a ledger as the old code left it: cards tokenized under <data>/secret.key, no key fingerprint recorded
    const oldKey = 'cd'.repeat(32);
    const made = await cli(['--data', dataDir, 'cards', 'add', '--pan', TEST_PANS.visa[0], '--expiry', '12/30', '--holder', 'Ann', '--json'], { ...NO_KEY, PAYSTREAM_KEY: oldKey });
    expect(made.code, made.stderr).toBe(0);
    const token = JSON.parse(made.stdout).card.token as string;
    const db = new ClassicLevel<string, string>(path.join(dataDir, 'db'), { valueEncoding: 'utf8' });
    const meta = db.sublevel<string, string>('meta', { valueEncoding: 'utf8' });
    for await (const key of meta.keys({ gte: 'key!', lt: 'key!~' })) await meta.del(key);
    await db.close();
    await writeFile(path.join(dataDir, 'secret.key'), oldKey, { mode: 0o600 });

    const refused = await run(['cards', 'list'], { PAYSTREAM_KEY: oldKey });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('inside its data directory');
    expect(refused.stderr).toContain('paystream keys migrate --to PATH');
    expectNoKey(refused, [oldKey]);
    expect((await run(['cards', 'list'])).stderr).toContain('paystream keys migrate --to PATH');

    const keyFile = path.join(keyDir, 'migrated.json');
    const migrate = await run(['keys', 'migrate', '--to', keyFile, '--json']);
    expect(migrate.code, migrate.stderr).toBe(0);
    expectNoKey(migrate, [oldKey]);
    expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect(await keysIn(keyFile)).toEqual([oldKey]);

    // the card made under the old key is found by its PAN with the moved key; another key is refused
    const shown = await run(['--key-file', keyFile, 'cards', 'show', TEST_PANS.visa[0], '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(token);
    const wrong = await run(['cards', 'list'], { PAYSTREAM_KEY: 'ef'.repeat(32) });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('this ledger was created with key version 1');
  });
});
