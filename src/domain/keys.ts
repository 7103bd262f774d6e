// Tokenization keys, the pure part: the key ring (numbered versions, one current), its file format,
// key fingerprints, and the tokens a PAN may have under the ring's versions. Reading files, their modes
// and the ledger's records of fingerprints are the shell's (src/ledger/keys.ts).

import { createHmac } from 'node:crypto';
import { tokenizePan } from './cards.ts';
import { orderFingerprint } from './fingerprint.ts';
import type { Order } from './types.ts';

/** the shortest key accepted: 32 bytes (HMAC-SHA256's block of strength) */
export const KEY_BYTES_MIN = 32;
/** the longest key accepted: 512 bytes */
export const KEY_BYTES_MAX = 512;
/** versions a key ring may hold: 1 to this (a rotation a month for eight years) */
export const KEY_VERSION_MAX = 100;
/** a key file larger than this is refused unread: 64 KiB */
export const KEY_FILE_BYTES_MAX = 64 * 1024;

/** The label a key's fingerprint is the HMAC of: it identifies the key without revealing it. */
const FINGERPRINT_LABEL = 'paystream key fingerprint v1';
/** hex characters of a fingerprint shown in messages (the ledger keeps all 64) */
export const FINGERPRINT_SHOWN = 16;

/**
 * The tokenization keys: version -> key. New cards are tokenized under `current`; cards made under
 * older versions keep their tokens and are found by trying each version. Version 1 keys the order
 * fingerprints (src/domain/fingerprint.ts) for the ledger's whole life, so a redelivery stays a
 * duplicate across rotations; every ring holds it.
 */
export interface KeyRing {
  current: number;
  keys: ReadonlyMap<number, Buffer>;
}

export type KeyCheck<T> = { ok: true; value: T } | { ok: false; reason: 'key_short' | 'key_malformed'; message: string };

const fail = (reason: 'key_short' | 'key_malformed', message: string): KeyCheck<never> => ({ ok: false, reason, message });

/** One key written as hex: 32 to 512 bytes. `what` names it in the message (never its value). */
export function parseKeyHex(text: string, what: string): KeyCheck<Buffer> {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) {
    return fail('key_malformed', `${what} must be hex (an even number of 0-9 a-f), at least ${KEY_BYTES_MIN} bytes`);
  }
  if (hex.length < KEY_BYTES_MIN * 2) {
    return fail('key_short', `${what} is ${hex.length / 2} bytes; a tokenization key must be at least ${KEY_BYTES_MIN} bytes (${KEY_BYTES_MIN * 2} hex characters)`);
  }
  if (hex.length > KEY_BYTES_MAX * 2) return fail('key_malformed', `${what} is longer than ${KEY_BYTES_MAX} bytes`);
  return { ok: true, value: Buffer.from(hex, 'hex') };
}

/**
 * A key file's text: `{ "current": 2, "keys": { "1": "<hex>", "2": "<hex>" } }`. Version numbers are
 * 1 to KEY_VERSION_MAX, version 1 is always there, `current` is one of them; no other fields.
 */
export function parseKeyRing(text: string, what: string): KeyCheck<KeyRing> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('key_malformed', `${what} is not JSON: expected { "current": 1, "keys": { "1": "<hex>" } }`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('key_malformed', `${what} must be a JSON object`);
  const obj = raw as Record<string, unknown>;
  for (const field of Object.keys(obj)) {
    if (field !== 'current' && field !== 'keys') return fail('key_malformed', `${what} has an unknown field ${JSON.stringify(field.slice(0, 40))}`);
  }
  const { current, keys } = obj;
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) return fail('key_malformed', `${what}: "keys" must be an object of version -> hex key`);
  const ring = new Map<number, Buffer>();
  for (const [version, hex] of Object.entries(keys as Record<string, unknown>)) {
    if (!/^[1-9]\d{0,2}$/.test(version) || Number(version) > KEY_VERSION_MAX) {
      return fail('key_malformed', `${what}: key versions are whole numbers 1 to ${KEY_VERSION_MAX}`);
    }
    if (typeof hex !== 'string') return fail('key_malformed', `${what}: key version ${version} must be a hex string`);
    const key = parseKeyHex(hex, `${what}: key version ${version}`);
    if (!key.ok) return key;
    ring.set(Number(version), key.value);
  }
  if (!ring.has(1)) return fail('key_malformed', `${what} has no key version 1 (it keys the order fingerprints; never remove it)`);
  if (typeof current !== 'number' || !ring.has(current)) return fail('key_malformed', `${what}: "current" must name one of its key versions`);
  return { ok: true, value: { current, keys: ring } };
}

/** PAYSTREAM_KEY: one key as hex (version 1), or a whole key ring as the key file's JSON. */
export function parseKeyEnv(text: string, name: string): KeyCheck<KeyRing> {
  if (text.trim().startsWith('{')) return parseKeyRing(text, name);
  const key = parseKeyHex(text, name);
  return key.ok ? { ok: true, value: singleKeyRing(key.value) } : key;
}

export const singleKeyRing = (key: Buffer): KeyRing => ({ current: 1, keys: new Map([[1, key]]) });

/** The key file's text for a ring (versions in order). */
export function formatKeyRing(ring: KeyRing): string {
  const keys: Record<string, string> = {};
  for (const v of [...ring.keys.keys()].sort((a, b) => a - b)) keys[String(v)] = ring.keys.get(v)!.toString('hex');
  return `${JSON.stringify({ current: ring.current, keys }, null, 2)}\n`;
}

/** A ring with one more version, made current. */
export function withNewVersion(ring: KeyRing, key: Buffer): KeyRing {
  const version = Math.max(...ring.keys.keys()) + 1;
  if (version > KEY_VERSION_MAX) throw new RangeError(`a key ring holds at most ${KEY_VERSION_MAX} versions`);
  const keys = new Map(ring.keys);
  keys.set(version, key);
  return { current: version, keys };
}

/** HMAC-SHA256 of the fixed label under the key, hex: names a key (ledger records, messages), never reveals it. */
export const keyFingerprint = (key: Uint8Array): string => createHmac('sha256', key).update(FINGERPRINT_LABEL, 'utf8').digest('hex');

export const shownFingerprint = (fingerprint: string): string => `${fingerprint.slice(0, FINGERPRINT_SHOWN)}…`;

/** The key the order fingerprints are made with: version 1's, for the ledger's life. */
export const orderFingerprintKey = (ring: KeyRing): Buffer => ring.keys.get(1)!;

export const currentKey = (ring: KeyRing): Buffer => ring.keys.get(ring.current)!;

/** The versions other than the current one, newest first: the order older tokens are tried in. */
export function olderVersions(ring: KeyRing): number[] {
  return [...ring.keys.keys()].filter((v) => v !== ring.current).sort((a, b) => b - a);
}

/** A checked PAN's token under each version: the current one first, then older ones, newest first. */
export function tokenCandidates(ring: KeyRing, pan: string): { token: string; version: number }[] {
  return [ring.current, ...olderVersions(ring)].map((version) => ({ token: tokenizePan(pan, ring.keys.get(version)!), version }));
}

/**
 * An order that carried a PAN, once the ledger knows which of its tokens a card holds: its card token
 * becomes that card's (the current version's if the card was made under it, an older one's otherwise),
 * or version 1's when no card holds any (so the order's record, and its fingerprint, do not change with
 * the next rotation). The fingerprint is made again over the token chosen: the same order gets the same
 * fingerprint before and after a rotation, and a redelivery stays a duplicate. Changes the order in place
 * (idempotent: a second call changes nothing); orders without `panTokens` (sent with a token, or under a
 * ring of one version) are left alone.
 */
export function resolvePanToken(order: Order, hasCard: (token: string) => boolean, fingerprintKey: Uint8Array | undefined): void {
  const older = order.panTokens;
  if (older === undefined || older.length === 0 || order.cardToken === undefined || hasCard(order.cardToken)) return;
  // panTokens are newest first, so version 1's is the last
  const token = older.find(hasCard) ?? older[older.length - 1]!;
  if (token === order.cardToken) return;
  order.cardToken = token;
  if (order.fingerprint !== undefined && fingerprintKey !== undefined) order.fingerprint = orderFingerprint(order, fingerprintKey);
}
