// The tokenization key kept apart from the data (issue 15, requirement 6): where the key may come from
// and what is refused, the fingerprint that binds a ledger to its key, key versions and rotation, and the
// issue's attack: with the data directory alone, a PAN cannot be recovered from its token and first 6 / last 4.

import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { luhnValid, tokenizePan } from '../../src/domain/cards.ts';
import {
  type KeyRing,
  formatKeyRing,
  keyFingerprint,
  parseKeyRing,
  singleKeyRing,
  withNewVersion,
} from '../../src/domain/keys.ts';
import { DEFAULT_APPLY_OPTIONS, WorkingSet } from '../../src/domain/apply.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { KeyError, cardsByKeyVersion, createKeyFile, loadKeys, readKeyFile, replaceKeyFile } from '../../src/ledger/keys.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { applyStage } from '../../streams/apply.ts';
import { decodeOne } from '../../streams/decode.ts';
import type { InboundMessage, Item } from '../../streams/types.ts';
import { validateOne } from '../../streams/validate.ts';
import { TEST_NOW_MS, TEST_PANS } from '../domain/builders.ts';
import { OPERATOR, aMerchant, aFundingAccount } from './builders.ts';

const K1 = Buffer.alloc(32, 0x11);
const K2 = Buffer.alloc(32, 0x22);
const OTHER = Buffer.alloc(32, 0x33);
const RING1: KeyRing = singleKeyRing(K1);
const RING2: KeyRing = withNewVersion(RING1, K2);
const VISA = TEST_PANS.visa[0];
const MASTERCARD = TEST_PANS.mastercard[0];
const EXPIRY = '12/30';
// Known answers, computed once outside this code base (printf %s PAN | openssl dgst -sha256 -mac HMAC
// -macopt hexkey:<the 32 bytes>): a ledger's tokens and key fingerprint must never change under its key.
const VISA_TOKEN_K1 = 'feb817358c0b1059e17cbec7f5c23107e936681f4ac560225a76534cfeede30f';
const VISA_1_TOKEN_K1 = 'c8bfdc39ad786bd5bc1b4e66f32535553ccbb26aa366d15fd13ee9740986ca3a';
const MASTERCARD_TOKEN_K2 = 'fc52ab1a8a60c510f6b049026b7073a9dc351b81589fff12f14d2435e5d2592e';
/** HMAC-SHA256 of 'paystream key fingerprint v1' under K1 */
const K1_FINGERPRINT = '08a1e4e195ef4174672c47818fa9b4fdb9ba35f0ed52fd12f37073eb1d84a5a1';

let root: string;
let dataDir: string;
let keyFile: string;
const opened: LedgerStore[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'paystream-keys-'));
  dataDir = path.join(root, 'ledger');
  keyFile = path.join(root, 'keys', 'paystream-key.json');
  await mkdir(path.dirname(keyFile), { mode: 0o700 });
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

async function openLedger(options: Parameters<typeof LedgerStore.open>[1]): Promise<LedgerStore> {
  const store = await LedgerStore.open(dataDir, options);
  opened.push(store);
  return store;
}

async function closeLedger(store: LedgerStore): Promise<void> {
  opened.splice(opened.indexOf(store), 1);
  await store.close();
}

/** The error `work` fails with (a test that expects one fails when there is none). */
async function failure(work: () => Promise<unknown>): Promise<KeyError> {
  const error = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyError);
  return error as KeyError;
}

/** No message may carry a key, as hex or otherwise. */
function expectNoKeyIn(message: string): void {
  for (const key of [K1, K2, OTHER]) expect(message).not.toContain(key.toString('hex'));
}

const register = (store: LedgerStore, pan: string, holder: string) =>
  store.registerCard({ pan, expiry: EXPIRY, holder: { name: holder } }, OPERATOR, TEST_NOW_MS);

describe('where the key comes from, and what is refused', () => {
  it('a key file group or others may read or write is refused (0644, 0640, 0602), naming the mode, not the key; no ledger is made', async () => {
    await createKeyFile(keyFile, RING1);
    for (const mode of [0o644, 0o640, 0o602]) {
      await chmod(keyFile, mode);
      const error = await failure(() => openLedger({ keyFile }));
      expect(error.code).toBe('key_file_mode');
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain(`mode 0${mode.toString(8)}`);
      expect(error.message).toContain(`chmod 600 ${keyFile}`);
      expectNoKeyIn(error.message);
    }
    expect(existsSync(dataDir)).toBe(false);
    await chmod(keyFile, 0o600);
    await closeLedger(await openLedger({ keyFile }));
  });

  it('a key file inside the data directory is refused even with mode 0600 (also reached through ..)', async () => {
    await mkdir(dataDir, { recursive: true });
    const inside = path.join(dataDir, 'key.json');
    await createKeyFile(inside, RING1);
    expect((await stat(inside)).mode & 0o777).toBe(0o600);
    for (const named of [inside, path.join(root, 'keys', '..', 'ledger', 'key.json')]) {
      const error = await failure(() => openLedger({ keyFile: named }));
      expect(error.code).toBe('key_in_data_dir');
      expect(error.message).toMatch(/inside the data directory/);
    }
  });

  it('a key shorter than 32 bytes is refused: in a key file, in PAYSTREAM_KEY, in PAYSTREAM_SECRET; 32 bytes are taken', async () => {
    const short = Buffer.alloc(31, 0x44).toString('hex');
    await writeFile(keyFile, JSON.stringify({ current: 1, keys: { 1: short } }), { mode: 0o600 });
    for (const error of [
      await failure(() => loadKeys(dataDir, { keyFile })),
      await failure(() => loadKeys(dataDir, { env: { PAYSTREAM_KEY: short } })),
      await failure(() => loadKeys(dataDir, { env: { PAYSTREAM_SECRET: short } })),
    ]) {
      expect(error.code).toBe('key_short');
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain('31 bytes');
      expect(error.message).toContain('at least 32 bytes');
      expect(error.message).not.toContain(short);
    }
    // the old PAYSTREAM_SECRET took any text and hashed it: no longer
    expect((await failure(() => loadKeys(dataDir, { env: { PAYSTREAM_SECRET: 'a shared secret for the whole fleet' } }))).code).toBe('key_malformed');
    const ok = await loadKeys(dataDir, { env: { PAYSTREAM_KEY: K1.toString('hex') } });
    expect(ok.ring.keys.get(1)).toEqual(K1);
  });

  it('a missing key is an error that says how to create one (keys init); no ledger is made, no key is made', async () => {
    const error = await failure(() => loadKeys(dataDir, { env: {} }));
    expect(error.code).toBe('key_missing');
    expect(error.message).toContain('paystream keys init --key-file PATH');
    const saved = process.env.PAYSTREAM_KEY;
    delete process.env.PAYSTREAM_KEY;
    try {
      expect((await failure(() => openLedger({}))).code).toBe('key_missing');
    } finally {
      process.env.PAYSTREAM_KEY = saved;
    }
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
  });

  it('a ledger keeping its old key inside the data directory (secret.key) is refused, pointing to keys migrate', async () => {
    const store = await openLedger({ keys: RING1 });
    await closeLedger(store);
    await writeFile(path.join(dataDir, 'secret.key'), K1.toString('hex'), { mode: 0o600 });
    const error = await failure(() => openLedger({ keys: RING1 }));
    expect(error.code).toBe('key_beside_data');
    expect(error.message).toContain('paystream keys migrate --to PATH');
    expectNoKeyIn(error.message);
  });

  it('a key file holds versions: { current, keys }; version 1 is required, current must be one of them', () => {
    expect(parseKeyRing(formatKeyRing(RING2), 'f')).toEqual({ ok: true, value: RING2 });
    const hex = K1.toString('hex');
    expect(parseKeyRing(JSON.stringify({ current: 2, keys: { 2: hex } }), 'f')).toMatchObject({ ok: false, message: expect.stringContaining('no key version 1') });
    expect(parseKeyRing(JSON.stringify({ current: 3, keys: { 1: hex } }), 'f')).toMatchObject({ ok: false, reason: 'key_malformed' });
    expect(parseKeyRing(JSON.stringify({ current: 1, keys: { 1: hex }, note: 'x' }), 'f')).toMatchObject({ ok: false, reason: 'key_malformed' });
    expect(parseKeyRing('not json', 'f')).toMatchObject({ ok: false, reason: 'key_malformed' });
  });
});

describe('the ledger records a fingerprint of its key, never the key', () => {
  it('opening a ledger with a different key is refused, with both fingerprints', async () => {
    await createKeyFile(keyFile, RING1);
    const store = await openLedger({ keyFile });
    await register(store, VISA, 'Ann');
    await closeLedger(store);
    const error = await failure(() => openLedger({ keys: singleKeyRing(OTHER), keysFrom: 'PAYSTREAM_KEY' }));
    expect(error.code).toBe('key_mismatch');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain(
      `this ledger was created with key version 1, fingerprint ${keyFingerprint(K1).slice(0, 16)}…; the key given (PAYSTREAM_KEY) has fingerprint ${keyFingerprint(OTHER).slice(0, 16)}…`,
    );
    expectNoKeyIn(error.message);
    // the same key opens it again, and the card is the one registered
    const again = await openLedger({ keyFile });
    expect((await again.findCardByPan(VISA))?.holder.name).toBe('Ann');
  });

  it('a ring that lacks a version the ledger recorded is refused', async () => {
    await closeLedger(await openLedger({ keys: RING2 }));
    const lacking: KeyRing = { current: 1, keys: new Map([[1, K1]]) };
    const error = await failure(() => openLedger({ keys: lacking }));
    expect(error.code).toBe('key_mismatch');
    expect(error.message).toContain('has no version 2');
  });

  it('the fingerprint is an HMAC of a fixed label: it names the key, and is not the key or a plain hash of it', () => {
    expect(keyFingerprint(K1)).toBe(K1_FINGERPRINT);
    expect(keyFingerprint(K1)).not.toBe(keyFingerprint(K2));
    expect(keyFingerprint(K1)).not.toContain(K1.toString('hex'));
    expect(keyFingerprint(K1)).toBe(keyFingerprint(Buffer.from(K1)));
  });
});

// ---- rotation ----

const NOW = TEST_NOW_MS;
const enc = new TextEncoder();
const message = (payload: Record<string, unknown>): InboundMessage => ({ subject: 'pay.orders.t', data: enc.encode(JSON.stringify(payload)), receivedAtMs: NOW });

/** Payloads through decode, validate and the apply stage on the store, as the processor runs them; the id conflicts found are in `conflicts`. */
async function applyPayloads(store: LedgerStore, payloads: Record<string, unknown>[], conflicts: string[] = []): Promise<OrderResult[]> {
  const validateOptions = {
    tokenizePan: (pan: string) => store.tokenize(pan),
    olderTokens: (pan: string) => store.olderTokens(pan),
    clock: () => NOW,
    futureSkewMs: 30_000,
    fingerprintKey: store.fingerprintKey,
  };
  const items: Item[] = payloads.map((p) => validateOne(decodeOne(message(p), { payloadBytesMax: 65_536 }, 'pay.batches.'), validateOptions, NOW));
  const deps = { store, options: DEFAULT_APPLY_OPTIONS, clock: () => NOW, virtualTime: false, scrub: (p: Uint8Array) => p };
  const out = await lastValueFrom(from([items]).pipe(applyStage(deps), toArray()));
  for (const letter of out.flatMap((applied) => applied.deadLetters)) if (letter.reason === 'id_conflict') conflicts.push(letter.orderId ?? '');
  return out.flatMap((applied) => applied.results.map((processed) => processed.result));
}

const payment = (id: string, pan: string, amount: string) => ({
  id,
  type: 'payment',
  pan,
  merchant: 'm_coffee',
  amount,
  currency: 'USD',
  createdAt: new Date(NOW - 1000).toISOString(),
});

async function fundMerchant(store: LedgerStore): Promise<void> {
  const ws = new WorkingSet();
  ws.putAccount(aMerchant());
  ws.putAccount(aFundingAccount('USD', 0n));
  await store.commit(ws);
}

describe('rotation: a new key version for new cards, older cards keep working', () => {
  it('a card registered under v1 is found by PAN after rotating to v2, the same PAN never becomes a second card, new cards take v2, status counts each', async () => {
    await createKeyFile(keyFile, RING1);
    let store = await openLedger({ keyFile });
    const ann = (await register(store, VISA, 'Ann')).card;
    expect(ann.keyVersion).toBe(1);
    expect(ann.token).toBe(VISA_TOKEN_K1);
    await closeLedger(store);

    // what `paystream keys rotate` writes: the same file with version 2 added and current
    await replaceKeyFile(keyFile, withNewVersion(await readKeyFile(keyFile, dataDir), K2));
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    store = await openLedger({ keyFile });
    expect(store.keys.current).toBe(2);

    expect((await store.findCardByPan(VISA))?.token).toBe(ann.token);
    const again = await register(store, VISA, 'Ann again');
    expect(again).toMatchObject({ created: false, card: { token: ann.token, keyVersion: 1 } });
    const bob = (await register(store, MASTERCARD, 'Bob')).card;
    expect(bob).toMatchObject({ keyVersion: 2, token: MASTERCARD_TOKEN_K2 });
    expect(await store.listCards()).toHaveLength(2);
    expect(Object.fromEntries(await cardsByKeyVersion(store.cards))).toEqual({ 1: 1, 2: 1 });
  });

  it('orders carrying the PAN of a v1 card are applied to that card after the rotation; a redelivery stays a duplicate (fingerprint keyed by v1), not an id conflict', async () => {
    let store = await openLedger({ keys: RING1 });
    await fundMerchant(store);
    const ann = (await register(store, VISA, 'Ann')).card;
    await store.deposit(ann.accountId, 10_000n, OPERATOR, NOW);
    const before = await applyPayloads(store, [payment('p1', VISA, '10.00')]);
    expect(before[0]).toMatchObject({ orderId: 'p1', status: 'approved' });
    const fingerprintBefore = (await store.getOrder('p1'))?.order.fingerprint;
    expect(fingerprintBefore).toBeDefined();
    await closeLedger(store);

    store = await openLedger({ keys: RING2 });
    const bob = (await register(store, MASTERCARD, 'Bob')).card;
    await store.deposit(bob.accountId, 5_000n, OPERATOR, NOW);
    const conflicts: string[] = [];
    const after = await applyPayloads(store, [
      payment('p1', VISA, '10.00'), // the same message again
      payment('p2', VISA, '20.00'), // a new order for Ann's v1 card
      payment('p3', MASTERCARD, '5.00'), // Bob's v2 card
      payment('p4', TEST_PANS.visa[1]!, '1.00'), // no such card
    ], conflicts);
    expect(after.map((r) => `${r.orderId}:${r.status}${'duplicate' in r && r.duplicate ? ':duplicate' : ''}`)).toEqual([
      'p1:approved:duplicate',
      'p2:approved',
      'p3:approved',
      'p4:declined',
    ]);
    expect((await store.getOrder('p2'))?.order.cardToken).toBe(ann.token);
    expect((await store.getOrder('p3'))?.order.cardToken).toBe(bob.token);
    // the unknown card's record names its version-1 token, so the next rotation does not change its fingerprint
    expect((await store.getOrder('p4'))?.order.cardToken).toBe(VISA_1_TOKEN_K1);
    expect((await store.getAccount(ann.accountId))?.balanceMinor).toBe(10_000n - 1_000n - 2_000n);
    expect((await store.getAccount(bob.accountId))?.balanceMinor).toBe(5_000n - 500n);

    // a third version: every earlier order redelivered is still a duplicate
    await closeLedger(store);
    store = await openLedger({ keys: withNewVersion(RING2, OTHER) });
    const third = await applyPayloads(store, [payment('p2', VISA, '20.00'), payment('p3', MASTERCARD, '5.00'), payment('p4', TEST_PANS.visa[1]!, '1.00')], conflicts);
    expect(third.map((r) => ('duplicate' in r && r.duplicate ? 'duplicate' : r.status))).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(conflicts).toEqual([]);
    expect((await store.getAccount(ann.accountId))?.balanceMinor).toBe(7_000n);
    // and a changed payload under a known id is still told apart
    await applyPayloads(store, [payment('p2', VISA, '21.00')], conflicts);
    expect(conflicts).toEqual(['p2']);
  });
});

// ---- the attack ----

/** Every Luhn-valid 16-digit PAN with these first 6 and last 4: what an attacker holding the key would try. */
function candidatePans(first6: string, last4: string): string[] {
  const out: string[] = [];
  for (let middle = 0; middle < 1_000_000; middle++) {
    const pan = `${first6}${String(middle).padStart(6, '0')}${last4}`;
    if (luhnValid(pan)) out.push(pan);
  }
  return out;
}

/** Every file under dir. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) stack.push(p);
      else if (entry.isFile()) out.push(p);
    }
  }
  return out;
}

/**
 * Every 32-byte key an attacker could take from the data directory: each 32-byte window of each file's
 * bytes, and each 64-character window of each hex run (decoded), in the files and in every LevelDB value.
 */
async function keyCandidates(dir: string): Promise<Buffer[]> {
  const texts: string[] = [];
  const raws: Buffer[] = [];
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(file);
    raws.push(bytes);
    texts.push(bytes.toString('latin1'));
  }
  const db = new ClassicLevel<string, string>(path.join(dir, 'db'), { valueEncoding: 'utf8' });
  await db.open();
  for await (const [key, value] of db.iterator()) texts.push(`${key} ${value}`);
  await db.close();
  const out: Buffer[] = [];
  for (const raw of raws) for (let i = 0; i + 32 <= raw.length; i++) out.push(raw.subarray(i, i + 32));
  for (const text of texts) {
    for (const run of text.match(/[0-9a-fA-F]{64,}/g) ?? []) {
      for (let i = 0; i + 64 <= run.length; i += 2) out.push(Buffer.from(run.slice(i, i + 64), 'hex'));
    }
  }
  return out;
}

describe("the issue's attack: the data directory alone does not give the PAN back", () => {
  it('with the key, first 6 + last 4 + the token give the PAN in a moment; the data directory holds no key (no window of any file or value is one)', async () => {
    await createKeyFile(keyFile, RING1);
    let store = await openLedger({ keyFile });
    const ann = (await register(store, VISA, 'Ann')).card;
    await closeLedger(store);
    await replaceRing(withNewVersion(RING1, K2));
    store = await openLedger({ keyFile });
    const bob = (await register(store, MASTERCARD, 'Bob')).card;
    await closeLedger(store);

    // why the key must not sit beside the data: holding it, the search is over 100,000 candidates
    const candidates = candidatePans(ann.first6, ann.last4);
    expect(candidates).toHaveLength(100_000);
    expect(candidates.find((pan) => tokenizePan(pan, K1) === ann.token)).toBe(VISA);

    // the data directory alone: no key of any version is anywhere in it, so the search has nothing to run with
    const keys = await keyCandidates(dataDir);
    expect(keys.length).toBeGreaterThan(1000);
    const cards = [
      { pan: VISA, token: ann.token },
      { pan: MASTERCARD, token: bob.token },
    ];
    for (const key of keys) {
      for (const card of cards) {
        if (tokenizePan(card.pan, key) === card.token) throw new Error(`the data directory holds the key of ${card.token.slice(0, 8)}`);
      }
    }
    for (const file of await filesUnder(dataDir)) {
      const bytes = await readFile(file);
      for (const key of [K1, K2]) {
        expect(bytes.includes(key), file).toBe(false);
        expect(bytes.includes(Buffer.from(key.toString('hex'))), file).toBe(false);
      }
    }
  });
});

const replaceRing = (ring: KeyRing): Promise<void> => replaceKeyFile(keyFile, ring);
