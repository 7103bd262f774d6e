// hmacSha256 (HMAC by its definition over one-shot hashes) gives createHmac's digest for every key length,
// message length and encoding: tokens and fingerprints stored in ledgers depend on it.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DigestEncoding, hmacSha256 } from '../../src/domain/hmac.ts';

const ENCODINGS: DigestEncoding[] = ['hex', 'base64url', 'binary'];

function reference(key: Uint8Array, prefix: string, body: string | Uint8Array, encoding: DigestEncoding): string {
  return createHmac('sha256', key).update(prefix, 'utf8').update(body).digest(encoding);
}

const bytes = (length: number, seed = 7): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 131 + seed) & 0xff);

describe('hmacSha256', () => {
  it('gives RFC 4231 test case 2 (a key shorter than a block)', () => {
    expect(hmacSha256(Buffer.from('Jefe'), '', 'what do ya want for nothing?', 'hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('gives RFC 4231 test case 6 (a key longer than a block is hashed first)', () => {
    expect(hmacSha256(new Uint8Array(131).fill(0xaa), 'Test Using Larger Than Block-Size Key - Hash Key First', '', 'hex')).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
  });

  it('matches createHmac for keys of 0 to 130 bytes and every encoding', () => {
    for (const length of [0, 1, 31, 32, 63, 64, 65, 100, 130]) {
      for (const encoding of ENCODINGS) {
        const key = bytes(length);
        expect(hmacSha256(key, 'label\n', 'body', encoding)).toBe(reference(key, 'label\n', 'body', encoding));
      }
    }
  });

  it('matches createHmac for messages around the cached-view and scratch-buffer limits (16 KiB)', () => {
    const key = bytes(32);
    for (const length of [0, 1, 1023, 1024, 1025, 4096, 16 * 1024 - 7, 16 * 1024 - 6, 16 * 1024, 16 * 1024 + 1, 20_000]) {
      const body = bytes(length, length);
      expect(hmacSha256(key, 'label\n', body, 'hex')).toBe(reference(key, 'label\n', body, 'hex'));
      const text = 'x'.repeat(length);
      expect(hmacSha256(key, 'label\n', text, 'hex')).toBe(reference(key, 'label\n', text, 'hex'));
    }
    // a string whose UTF-8 fits but whose worst case (3 bytes a unit) does not, and a prefix that long
    const long = 'é'.repeat(6000);
    expect(hmacSha256(key, 'label\n', long, 'hex')).toBe(reference(key, 'label\n', long, 'hex'));
    expect(hmacSha256(key, long, 'body', 'hex')).toBe(reference(key, long, 'body', 'hex'));
  });

  it('matches createHmac for any text, lone surrogates included (property)', () => {
    const key = bytes(32);
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.string({ unit: fc.constantFrom('a', 'é', '€', '日', '😀', '\u0000', '"'), maxLength: 40 }),
        fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)), maxLength: 8 }),
        (a, b, surrogates) => {
          expect(hmacSha256(key, a, b + surrogates, 'base64url')).toBe(reference(key, a, b + surrogates, 'base64url'));
        },
      ),
    );
  });

  it('matches createHmac for any key and bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.string(), fc.uint8Array({ maxLength: 2000 }), (key, prefix, body) => {
        expect(hmacSha256(key, prefix, body, 'hex')).toBe(reference(key, prefix, body, 'hex'));
      }),
    );
  });

  it('follows a key array refilled with other bytes, and leaves the caller its key untouched', () => {
    const key = bytes(32);
    const before = hmacSha256(key, '', 'body', 'hex');
    key.fill(0x42);
    expect(hmacSha256(key, '', 'body', 'hex')).toBe(reference(key, '', 'body', 'hex'));
    expect(hmacSha256(key, '', 'body', 'hex')).not.toBe(before);
    expect([...key].every((b) => b === 0x42)).toBe(true);
  });

  it('does not let one message leave bytes for the next, shorter one', () => {
    const key = bytes(32);
    expect(hmacSha256(key, 'p', 'a much longer message than the next', 'hex')).toBe(reference(key, 'p', 'a much longer message than the next', 'hex'));
    expect(hmacSha256(key, 'p', 'short', 'hex')).toBe(reference(key, 'p', 'short', 'hex'));
    expect(hmacSha256(key, 'p', new Uint8Array(0), 'hex')).toBe(reference(key, 'p', new Uint8Array(0), 'hex'));
  });
});
