// The audit trail as stored: its keys, its head in memory (advanced only once a write has landed), the
// entries a write chains onto it, who listens for them, and the listing read back.

import { SYSTEM_ACTOR } from '../domain/actor.ts';
import {
  type AuditDraft,
  type AuditEntry,
  type AuditFilter,
  type ChainHead,
  EMPTY_HEAD,
  chainEntry,
  decodeHead,
  encodeHead,
  entryMatches,
} from '../domain/audit.ts';
import type { BatchOp, Sublevels } from './sublevels.ts';

/** meta key of the audit chain's head: "<seq> <hash>" */
export const AUDIT_HEAD_KEY = 'audit!head';
/** a listing reads back at most this many entries */
export const AUDIT_SCAN_MAX = 100_000;
/** The key of the `seq`-th audit entry: sorts in sequence order. */
export const auditKey = (seq: number): string => `e!${seq.toString().padStart(16, '0')}`;
/** The sequence number in an audit entry's key; undefined for any other key. */
export function auditKeySeq(key: string): number | undefined {
  if (!/^e!\d{16}$/.test(key)) return undefined;
  const seq = Number(key.slice(2));
  return Number.isSafeInteger(seq) ? seq : undefined;
}

export class AuditTrail {
  /** the newest entry written */
  private head: ChainHead = EMPTY_HEAD;
  private readonly listeners = new Set<(entry: AuditEntry) => void>();
  /** errors whose audit entry is written already (so the operations table does not write a second one) */
  private readonly auditedErrors = new WeakSet<object>();

  constructor(private readonly rooms: Pick<Sublevels, 'audit' | 'meta'>) {}

  /**
   * Loads the chain's head; a head lost from meta is taken from the last entry (verify reports the
   * mismatch). A ledger without a trail gets the draft of its first entry, `audit.start`, to write: it records
   * the manual-posting counters reached before it, so verify can tell those older transfers from unaudited ones.
   */
  async load(nowMs: number): Promise<AuditDraft | undefined> {
    const head = decodeHead(await this.rooms.meta.get(AUDIT_HEAD_KEY));
    if (head) {
      this.head = head;
      return undefined;
    }
    for await (const text of this.rooms.audit.values({ reverse: true, limit: 1 })) {
      const last = JSON.parse(text) as AuditEntry;
      this.head = { seq: last.seq, hash: last.hash };
      return undefined;
    }
    const [deposits, withdrawals, seeded] = await this.rooms.meta.getMany(['seq!deposit', 'seq!withdrawal', 'seq!seed']);
    return {
      actor: SYSTEM_ACTOR,
      action: 'audit.start',
      params: {},
      atMs: nowMs,
      outcome: 'ok',
      after: { deposits: Number(deposits ?? 0), withdrawals: Number(withdrawals ?? 0), seeded: Number(seeded ?? 0) },
    };
  }

  /** The entries of `drafts`, chained in order after the head, and their puts (each entry and the new head). */
  chain(drafts: readonly AuditDraft[]): { entries: AuditEntry[]; ops: BatchOp[] } {
    const entries: AuditEntry[] = [];
    const ops: BatchOp[] = [];
    let head = this.head;
    for (const draft of drafts) {
      const entry = chainEntry(head, draft);
      entries.push(entry);
      ops.push(
        { type: 'put', sublevel: this.rooms.audit, key: auditKey(entry.seq), value: JSON.stringify(entry) },
        { type: 'put', sublevel: this.rooms.meta, key: AUDIT_HEAD_KEY, value: encodeHead(entry) },
      );
      head = { seq: entry.seq, hash: entry.hash };
    }
    return { entries, ops };
  }

  /** The entries' write has landed: they become the head, and the listeners hear of them. */
  landed(entries: readonly AuditEntry[]): void {
    for (const entry of entries) {
      this.head = { seq: entry.seq, hash: entry.hash };
      for (const listener of this.listeners) {
        try {
          listener(entry);
        } catch {
          // a listener (the dashboard's ring) must not fail the command whose write has landed
        }
      }
    }
  }

  get headNow(): ChainHead {
    return { ...this.head };
  }

  /** Calls `listener` with each entry once it is in LevelDB; returns the unsubscribe. */
  onAudit(listener: (entry: AuditEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  markAudited(error: unknown): void {
    if (typeof error === 'object' && error !== null) this.auditedErrors.add(error);
  }

  /** Whether an error's audit entry has been written already. */
  wasAudited(error: unknown): boolean {
    return typeof error === 'object' && error !== null && this.auditedErrors.has(error);
  }

  /**
   * Entries newest first, at most `limit`, matching the filter; reads back at most `scanMax` entries
   * (`complete` false when it stopped there) and stops at the first entry older than `sinceMs`.
   */
  async list(filter: AuditFilter, limit: number, scanMax: number): Promise<{ entries: AuditEntry[]; complete: boolean }> {
    const entries: AuditEntry[] = [];
    let scanned = 0;
    for await (const text of this.rooms.audit.values({ reverse: true })) {
      if (++scanned > scanMax) return { entries, complete: false };
      const entry = JSON.parse(text) as AuditEntry;
      if (filter.sinceMs !== undefined && Date.parse(entry.at) < filter.sinceMs) break;
      if (entryMatches(entry, filter)) entries.push(entry);
      if (entries.length >= limit) break;
    }
    return { entries, complete: true };
  }
}
