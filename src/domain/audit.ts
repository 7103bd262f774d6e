// The audit trail's pure core: entries of operator actions, their canonical encoding and hash chain,
// the masking of a request's parameters, and the checker that names the first broken link.

import { createHash } from 'node:crypto';
import type { Actor, ActorVia } from './actor.ts';
import { normalizePan, panDisplay, redactPans } from './cards.ts';
import { CHANGING_OPS } from './operations.ts';

/** What an entry records: the operator commands, and paystream's own entries (`audit.start`, `ledger.seed`, `review.timeout`). */
export const AUDIT_ACTIONS = ['audit.start', 'ledger.seed', 'review.timeout', ...CHANGING_OPS] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Values an entry holds: flat, JSON-safe (amounts as decimal strings, never floats). */
export type AuditValue = string | number | boolean | null;
export type AuditValues = Record<string, AuditValue>;

export interface AuditEntry {
  /** 1, 2, 3, ...: the entry's place in the chain (its key sorts the same way) */
  seq: number;
  /** ISO 8601 */
  at: string;
  actor: Actor;
  action: AuditAction;
  /** the request's parameters, card data masked (no PAN, tokens shortened) */
  params: AuditValues;
  outcome: 'ok' | 'error';
  /** the error's code when the outcome is an error */
  error?: string;
  before?: AuditValues;
  after?: AuditValues;
  /** hash of the entry before (GENESIS_HASH for the first) */
  prevHash: string;
  /** SHA-256 (hex) of the canonical encoding of every other field, prevHash included */
  hash: string;
}

/** What an operator command hands the store: who, what, with which (masked) parameters. */
export interface AuditStamp {
  actor: Actor;
  action: AuditAction;
  params: AuditValues;
}

/** An entry before the chain places it. */
export interface AuditDraft extends AuditStamp {
  atMs: number;
  outcome: 'ok' | 'error';
  error?: string;
  before?: AuditValues;
  after?: AuditValues;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
export const EMPTY_HEAD: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/** a string parameter longer than this is cut (an entry stays small whatever the request held) */
export const AUDIT_TEXT_CHARS_MAX = 200;
/** an actor id longer than this is cut */
const ACTOR_CHARS_MAX = 256;
/** the canonical encoding refuses anything nested deeper (entries are two levels deep) */
const CANONICAL_DEPTH_MAX = 4;
/** characters of a card token kept in the trail: enough to find the card, not the whole token */
export const TOKEN_CHARS_SHOWN = 12;

/**
 * JSON with object keys sorted (by UTF-16 code units) at every level and no whitespace: the same entry
 * always encodes to the same bytes, whatever order its fields were built in. Only plain JSON values; a
 * number must be a safe integer (money is a string; no float may make two encoders disagree).
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > CANONICAL_DEPTH_MAX) throw new RangeError('audit entry nested too deep');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new RangeError(`audit entry holds a number that is not a safe integer: ${value}`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k], depth + 1)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`audit entry holds a ${typeof value}`);
  }
}

/** The hash of an entry: over every field but `hash` itself. */
export function entryHash(entry: Omit<AuditEntry, 'hash'> | AuditEntry): string {
  const { hash: _ignored, ...rest } = entry as AuditEntry;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

/** The actor as recorded: its known fields only, the id capped. */
function recordedActor(actor: Actor): Actor {
  const out: Actor = { id: actor.id.slice(0, ACTOR_CHARS_MAX), via: actor.via as ActorVia };
  if (actor.account !== undefined) out.account = actor.account.slice(0, ACTOR_CHARS_MAX);
  return out;
}

/** The next entry of the chain after `head`. */
export function chainEntry(head: ChainHead, draft: AuditDraft): AuditEntry {
  const entry: Omit<AuditEntry, 'hash'> = {
    seq: head.seq + 1,
    at: new Date(draft.atMs).toISOString(),
    actor: recordedActor(draft.actor),
    action: draft.action,
    params: { ...draft.params },
    outcome: draft.outcome,
    prevHash: head.hash,
  };
  if (draft.error !== undefined) entry.error = draft.error;
  if (draft.before !== undefined) entry.before = { ...draft.before };
  if (draft.after !== undefined) entry.after = { ...draft.after };
  return { ...entry, hash: entryHash(entry) };
}

/** A card token shortened for the trail (the whole token is a lookup key for the card). */
export const shortToken = (token: string): string =>
  token.length > TOKEN_CHARS_SHOWN ? `${token.slice(0, TOKEN_CHARS_SHOWN)}…` : token;

/** A PAN as the trail shows it: first six, last four; anything shorter than a PAN is starred out. */
export function maskedPan(pan: string): string {
  const digits = normalizePan(pan);
  return /^\d{12,19}$/.test(digits) ? panDisplay(digits.slice(0, 6), digits.slice(-4)) : '******';
}

/** The request fields each action records (an allow-list: anything else in a request is left out). */
const PARAM_FIELDS: Record<AuditAction, readonly string[]> = {
  'audit.start': [],
  'ledger.seed': ['cards', 'merchants', 'seed', 'balance'],
  'cards.register': ['pan', 'holder', 'email', 'phone', 'account', 'currency'],
  'cards.freeze': ['token'],
  'cards.unfreeze': ['token'],
  'cards.close': ['token'],
  'accounts.open': ['id', 'owner', 'kind', 'currency'],
  'accounts.deposit': ['id', 'amount'],
  'accounts.withdraw': ['id', 'amount'],
  'accounts.approve-posting': ['id'],
  'accounts.reject-posting': ['id'],
  'review.approve': ['orderId'],
  'review.decline': ['orderId'],
  'review.timeout': ['orderId'],
  'rules.reload': [],
};

/**
 * A request's parameters as the trail records them: the action's fields only; `pan` masked, `token`
 * shortened, any card number inside other text masked, text capped; numbers kept when whole, booleans
 * kept, anything else (objects, arrays, floats) recorded as its type.
 */
export function auditParams(action: AuditAction, args: Record<string, unknown>): AuditValues {
  const out: AuditValues = {};
  for (const field of PARAM_FIELDS[action]) {
    if (!Object.hasOwn(args, field)) continue;
    const value = args[field];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      const text = field === 'pan' ? maskedPan(value) : field === 'token' ? shortToken(value) : redactPans(value.slice(0, AUDIT_TEXT_CHARS_MAX * 2));
      out[field] = text.length > AUDIT_TEXT_CHARS_MAX ? `${text.slice(0, AUDIT_TEXT_CHARS_MAX)}…` : text;
    } else if (typeof value === 'boolean' || value === null) out[field] = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) out[field] = value;
    else out[field] = `<${Array.isArray(value) ? 'array' : typeof value}>`;
  }
  return out;
}

/** Where the chain breaks: the first entry that does not follow from the one before. */
export interface ChainBreak {
  seq: number;
  problem: 'altered' | 'missing' | 'relinked' | 'unreadable' | 'head_mismatch';
  message: string;
}

/**
 * Walks the chain in key order, one stored entry at a time, and names the first break: an entry whose hash
 * is not its content's (altered), a gap in the sequence (a removed entry: the seq after the gap is named),
 * an entry whose prevHash is not the hash before it (an entry before it altered and rehashed, or removed),
 * and at the end a head that is not the last entry (the newest entries removed).
 */
export class ChainChecker {
  private prev: ChainHead = EMPTY_HEAD;
  private broken: ChainBreak | undefined;
  entries = 0;

  get firstBreak(): ChainBreak | undefined {
    return this.broken;
  }

  /** One stored entry: its key's sequence number and its text. Returns the entry when it reads. */
  next(keySeq: number, text: string): AuditEntry | undefined {
    this.entries++;
    let entry: AuditEntry;
    try {
      entry = JSON.parse(text) as AuditEntry;
    } catch {
      this.fail({ seq: keySeq, problem: 'unreadable', message: `audit entry ${keySeq} is not JSON` });
      this.prev = { seq: keySeq, hash: '' };
      return undefined;
    }
    if (entry.seq !== keySeq) {
      this.fail({ seq: keySeq, problem: 'altered', message: `audit entry under key ${keySeq} says seq ${entry.seq}` });
    } else if (keySeq !== this.prev.seq + 1) {
      this.fail({ seq: keySeq, problem: 'missing', message: `audit entries ${this.prev.seq + 1}..${keySeq - 1} are missing before ${keySeq}` });
    } else {
      let hash: string | undefined;
      try {
        hash = entryHash(entry);
      } catch {
        hash = undefined;
      }
      if (hash !== entry.hash) {
        this.fail({ seq: keySeq, problem: 'altered', message: `audit entry ${keySeq} does not match its hash (altered)` });
      } else if (entry.prevHash !== this.prev.hash) {
        this.fail({ seq: keySeq, problem: 'relinked', message: `audit entry ${keySeq} does not link to entry ${this.prev.seq} (an entry before it was altered or replaced)` });
      }
    }
    this.prev = { seq: keySeq, hash: typeof entry.hash === 'string' ? entry.hash : '' };
    return entry;
  }

  /** After the last entry: the head recorded in the ledger must be the last entry read. */
  end(head: ChainHead | undefined): ChainBreak | undefined {
    const recorded = head ?? EMPTY_HEAD;
    if (recorded.seq !== this.prev.seq || recorded.hash !== this.prev.hash) {
      this.fail({
        seq: Math.min(recorded.seq, this.prev.seq) + 1,
        problem: recorded.seq > this.prev.seq ? 'missing' : 'head_mismatch',
        message:
          recorded.seq > this.prev.seq
            ? `the audit head is entry ${recorded.seq} but the trail ends at ${this.prev.seq}: the newest entries were removed`
            : `the audit head (entry ${recorded.seq}) is not the last entry (${this.prev.seq})`,
      });
    }
    return this.broken;
  }

  private fail(b: ChainBreak): void {
    this.broken ??= b;
  }
}

/** The head as stored in the ledger's meta: "<seq> <hash>". */
export const encodeHead = (head: ChainHead): string => `${head.seq} ${head.hash}`;
export function decodeHead(text: string | undefined): ChainHead | undefined {
  if (text === undefined) return undefined;
  const [seq, hash] = text.split(' ');
  const n = Number(seq);
  if (!Number.isSafeInteger(n) || n < 0 || !/^[0-9a-f]{64}$/.test(hash ?? '')) return undefined;
  return { seq: n, hash: hash! };
}

/** Filters of a listing: since a time, by an actor; newest first, at most `limit`. */
export interface AuditFilter {
  sinceMs?: number;
  who?: string;
}
export function entryMatches(entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.sinceMs !== undefined && Date.parse(entry.at) < filter.sinceMs) return false;
  if (filter.who !== undefined && entry.actor.id !== filter.who && entry.actor.id !== `local:${filter.who}`) return false;
  return true;
}

/** `--since`: a duration back from now (30s, 15m, 1h, 7d) or an ISO time; undefined when it is neither. */
export function parseSince(text: string, nowMs: number): number | undefined {
  const d = /^(\d{1,9})(s|m|h|d)$/.exec(text.trim());
  if (d) return nowMs - Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[d[2] as 's' | 'm' | 'h' | 'd'];
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? undefined : ms;
}

/** Recorded values as `k=v k=v` ('' for none). */
export const describeValues = (values: AuditValues | undefined): string =>
  values === undefined
    ? ''
    : Object.entries(values)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');

/** One line for an entry: the action and what it acted on (its masked parameters). */
export function describeEntry(entry: AuditEntry): string {
  const params = describeValues(entry.params);
  return params ? `${entry.action} ${params}` : entry.action;
}
