// HMAC-SHA256 by its definition (RFC 2104), H((K ^ opad) || H((K ^ ipad) || message)), over one-shot hashes:
// createHmac builds a keyed OpenSSL context and a stream object on every call, and the validate stage calls
// it for every order (its fingerprint) and every inline PAN (its token). The padded key blocks are made once
// a key, in scratch buffers the message is written behind.
import * as crypto from 'node:crypto';

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;
/** longest message hashed in the scratch buffer; a longer one (a large rejected payload) goes through createHmac */
const MESSAGE_BYTES_MAX = 16 * 1024;
/** views of the scratch buffer kept, by length: a message this long or shorter costs no view allocation */
const VIEW_BYTES_MAX = 1024;

/** crypto.hash came with Node 20.12; on an older Node every digest goes through createHmac. */
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;

/** Output encodings of a digest: as createHmac's digest(encoding). 'binary' is latin1, a character a byte. */
export type DigestEncoding = 'hex' | 'base64url' | 'binary';

/**
 * Writes a message's bytes into `out` from `at` and returns where they end (past out.length when they did not
 * fit: a typed array drops writes beyond its end), or -1 to decline (the caller then hashes a string instead).
 */
export type MessageWriter<T> = (out: Uint8Array, at: number, value: T) => number;

/** `text` as UTF-8 at `at` in `out` (room checked by the caller): ASCII in a loop, anything else by Buffer.write. */
function writeText(out: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return at + out.write(text, at, 'utf8');
    out[at + i] = c;
  }
  return at + text.length;
}

class KeyedHasher {
  private readonly key: Uint8Array;
  /** K ^ ipad, then the message */
  private readonly inner = Buffer.alloc(BLOCK_BYTES + MESSAGE_BYTES_MAX);
  /** K ^ opad, then the inner digest */
  private readonly outer = Buffer.alloc(BLOCK_BYTES + DIGEST_BYTES);
  private readonly views: Buffer[] = [];

  constructor(key: Uint8Array) {
    this.key = Uint8Array.from(key);
    const block = key.length > BLOCK_BYTES ? crypto.createHash('sha256').update(key).digest() : key;
    this.inner.fill(0x36, 0, BLOCK_BYTES);
    this.outer.fill(0x5c, 0, BLOCK_BYTES);
    for (let i = 0; i < block.length; i++) {
      this.inner[i]! ^= block[i]!;
      this.outer[i]! ^= block[i]!;
    }
  }

  /** Whether this hasher still holds `key`'s bytes (a caller may refill its array). */
  holds(key: Uint8Array): boolean {
    const own = this.key;
    if (own.length !== key.length) return false;
    for (let i = 0; i < own.length; i++) if (own[i] !== key[i]) return false;
    return true;
  }

  /** Writes `prefix` behind the key block: where the body starts, or -1 when it cannot fit (3 bytes a unit at most). */
  begin(prefix: string): number {
    return prefix.length * 3 > MESSAGE_BYTES_MAX ? -1 : writeText(this.inner, BLOCK_BYTES, prefix);
  }

  /** Where `body` ends once written at `at`, or -1 when it does not fit. */
  write(at: number, body: string | Uint8Array): number {
    const inner = this.inner;
    const room = inner.length - at;
    if (typeof body === 'string') return body.length * 3 > room ? -1 : writeText(inner, at, body);
    if (body.length > room) return -1;
    inner.set(body, at);
    return at + body.length;
  }

  /** The digest of the message written up to `end`. */
  finish(hash: typeof crypto.hash, end: number, encoding: DigestEncoding): string {
    const innerDigest = hash('sha256', this.view(end), 'binary');
    const outer = this.outer;
    for (let i = 0; i < DIGEST_BYTES; i++) outer[BLOCK_BYTES + i] = innerDigest.charCodeAt(i);
    return hash('sha256', outer, encoding);
  }

  /** The scratch buffer, for a MessageWriter. */
  get buffer(): Buffer {
    return this.inner;
  }

  private view(length: number): Buffer {
    if (length > VIEW_BYTES_MAX) return this.inner.subarray(0, length);
    let view = this.views[length];
    if (view === undefined) {
      view = this.inner.subarray(0, length);
      this.views[length] = view;
    }
    return view;
  }
}

// one hasher a key array (a process holds a handful: the ledger's secret and its older key versions)
const hashers = new WeakMap<Uint8Array, KeyedHasher>();

function hasherFor(key: Uint8Array): KeyedHasher {
  let hasher = hashers.get(key);
  if (hasher === undefined || !hasher.holds(key)) {
    hasher = new KeyedHasher(key);
    hashers.set(key, hasher);
  }
  return hasher;
}

/**
 * HMAC-SHA256 under `key` of `prefix` (UTF-8) followed by `body` (UTF-8, or bytes), in `encoding`: the same
 * string as createHmac('sha256', key).update(prefix, 'utf8').update(body).digest(encoding).
 */
export function hmacSha256(key: Uint8Array, prefix: string, body: string | Uint8Array, encoding: DigestEncoding): string {
  if (oneShot !== undefined) {
    const hasher = hasherFor(key);
    const start = hasher.begin(prefix);
    const end = start === -1 ? -1 : hasher.write(start, body);
    if (end !== -1) return hasher.finish(oneShot, end, encoding);
  }
  return crypto.createHmac('sha256', key).update(prefix, 'utf8').update(body).digest(encoding);
}

/**
 * hmacSha256 of `prefix` followed by the bytes `write` makes of `value`, written straight into the scratch
 * buffer (no string built); undefined when the writer declines, the message does not fit, or this Node has no
 * crypto.hash: the caller then digests the message as a string.
 */
export function hmacSha256Written<T>(key: Uint8Array, prefix: string, write: MessageWriter<T>, value: T, encoding: DigestEncoding): string | undefined {
  if (oneShot === undefined) return undefined;
  const hasher = hasherFor(key);
  const start = hasher.begin(prefix);
  if (start === -1) return undefined;
  const end = write(hasher.buffer, start, value);
  if (end === -1 || end > hasher.buffer.length) return undefined;
  return hasher.finish(oneShot, end, encoding);
}
