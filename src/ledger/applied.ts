// The ledger's record of the orders stream: the sequences applied (staged into each buffer's own batch, so they
// are in LevelDB exactly when the buffer's effects are), the stream they belong to, and the crash-loop guard's
// notes of attempts in progress and counts of attempts that crashed. Keys live in the `meta` sublevel.

import type { ClassicLevel } from 'classic-level';
import { AckWatermark } from '../domain/ack-watermark.ts';
import {
  type AttemptNote,
  type CrashCount,
  type LedgerStreamRecord,
  countCrashes,
  decodeAppliedSeqs,
  decodeAttempt,
  decodeCrashCounts,
  encodeAppliedSeqs,
  encodeAttempt,
  encodeCrashCounts,
} from '../domain/applied.ts';

/** `<answered> <floor>[ <ranges>]`: written with every buffer that held stream messages */
const APPLIED_KEY = 'applied';
/** the creation time of the stream the applied sequences are of */
const STREAM_KEY = 'applied-stream';
/** what the attempts that crashed left: `<seqs>:<crashes>:<alone> ...` */
const CRASHES_KEY = 'crashes';
/** `attempt!<n>`: an attempt in progress; its buffer's batch deletes it */
const ATTEMPT_PREFIX = 'attempt!';
/** applied sequences that may wait above a gap: far above any max_ack_pending (a bound, not a setting) */
const ABOVE_MAX = 1_000_000;

type Db = ClassicLevel<string, string>;
/** what `stage` needs of a LevelDB chained batch */
interface Batch {
  put(key: string, value: string): unknown;
  del(key: string): unknown;
}

/** The sequences of one commit, and the attempt note it completes. */
export interface AppliedStep {
  seqs: readonly number[];
  attemptKey?: string;
}

export class AppliedLog {
  private watermark: AckWatermark;
  /** the acker's floor: results up to it went out and were acknowledged (written with the next commit) */
  private answered: number;
  private record: LedgerStreamRecord | undefined;
  private crashes: Map<number, CrashCount>;
  /** numbers this run's attempt notes (those of earlier runs are gone once recoverAttempts has run) */
  private nextAttempt = 0;

  private constructor(
    private readonly db: Db,
    private readonly prefix: string,
    record: LedgerStreamRecord | undefined,
    above: number[],
    crashes: Map<number, CrashCount>,
  ) {
    this.record = record;
    this.watermark = new AckWatermark(record?.floorSeq ?? 0, ABOVE_MAX, above);
    this.answered = record?.answeredSeq ?? 0;
    this.crashes = crashes;
  }

  /** Reads the record (meta sublevel prefix `prefix`). */
  static async load(db: Db, prefix: string): Promise<AppliedLog> {
    const [applied, stream, crashes] = await db.getMany([prefix + APPLIED_KEY, prefix + STREAM_KEY, prefix + CRASHES_KEY]);
    const seqs = applied === undefined ? undefined : decodeAppliedSeqs(applied);
    const record: LedgerStreamRecord | undefined =
      seqs === undefined
        ? undefined
        : { floorSeq: seqs.floorSeq, answeredSeq: seqs.answeredSeq, ...(stream === undefined ? {} : { streamCreated: stream }) };
    return new AppliedLog(db, prefix, record, seqs?.above ?? [], crashes === undefined ? new Map() : decodeCrashCounts(crashes));
  }

  /** What the ledger says of the stream; undefined before its first record (a new ledger, or an older one). */
  get streamRecord(): LedgerStreamRecord | undefined {
    return this.record;
  }

  /** Every sequence at or below it is applied (or gone from the stream). */
  get floorSeq(): number {
    return this.watermark.floorSeq;
  }

  /** True when the ledger has applied this stream sequence: a delivery of it is a redelivery. */
  isApplied(seq: number): boolean {
    return this.watermark.has(seq);
  }

  /** Sequences whose attempts crashed, with their counts (see planAttempts). */
  get crashCounts(): ReadonlyMap<number, CrashCount> {
    return this.crashes;
  }

  /** Every sequence at or below it was answered and acknowledged. */
  get answeredSeq(): number {
    return this.answered;
  }

  /**
   * Records where this run starts: acks from `answeredSeq` (everything below it answered or gone from the
   * stream; unless `reset`, the ledger's own floor only moves up to it) and the stream's creation time.
   * `reset`: the sequences recorded are another stream's, forgotten. Written at once.
   */
  async startFrom(answeredSeq: number, streamCreated: string, reset: boolean): Promise<void> {
    if (reset) {
      this.watermark = new AckWatermark(answeredSeq, ABOVE_MAX);
      this.crashes = new Map();
    } else this.watermark.skipBelow(answeredSeq + 1);
    this.answered = answeredSeq;
    this.record = { floorSeq: this.watermark.floorSeq, answeredSeq, streamCreated };
    this.pruneCrashes();
    const batch = this.db.batch();
    batch.put(this.prefix + APPLIED_KEY, this.encoded());
    batch.put(this.prefix + STREAM_KEY, streamCreated);
    this.putCrashes(batch);
    await batch.write();
  }

  /**
   * Turns the notes of attempts that never committed (the process died deciding or writing them) into crash
   * counts, in one write; returns the notes found. Run at start, before any new attempt.
   */
  async recoverAttempts(): Promise<AttemptNote[]> {
    const keys: string[] = [];
    const notes: AttemptNote[] = [];
    for await (const [key, value] of this.db.iterator({ gte: this.prefix + ATTEMPT_PREFIX, lt: `${this.prefix}${ATTEMPT_PREFIX}~` })) {
      keys.push(key);
      notes.push(decodeAttempt(value));
    }
    if (keys.length === 0) return notes;
    this.crashes = countCrashes(this.crashes, notes);
    this.pruneCrashes();
    const batch = this.db.batch();
    for (const key of keys) batch.del(key);
    this.putCrashes(batch);
    await batch.write();
    return notes;
  }

  /**
   * Notes that these messages are about to be decided; resolves once the note is in LevelDB (a crash from
   * here on is counted at the next start). Written apart from the ordered buffer writes, so a buffer's note
   * need not wait for the previous buffer's write.
   */
  async noteAttempt(seqs: readonly number[], alone: boolean): Promise<string> {
    const key = `${ATTEMPT_PREFIX}${(this.nextAttempt++).toString().padStart(12, '0')}`;
    await this.db.put(this.prefix + key, encodeAttempt({ seqs: [...seqs].sort((a, b) => a - b), alone }));
    return key;
  }

  /** Results up to `floorSeq` went out and were acknowledged (written with the next commit, or `saveAnswered`). */
  markAnswered(floorSeq: number): void {
    if (floorSeq > this.answered) this.answered = Math.min(floorSeq, this.watermark.floorSeq);
  }

  /** Writes the answered floor now (a clean stop: the next start need not answer the last buffer again). */
  async saveAnswered(): Promise<void> {
    if (this.record === undefined) return;
    await this.db.put(this.prefix + APPLIED_KEY, this.encoded());
  }

  /** The stream no longer holds these: they are not waited for (written with the next commit). */
  markAbsent(firstSeq: number, absent: readonly number[]): void {
    this.watermark.skipBelow(firstSeq);
    this.watermark.markDone(absent);
  }

  /**
   * Stages the commit's sequences as applied into its batch: the applied record (one short put), the
   * attempt note's delete, and the crash counts when the commit settles messages that had some. The
   * in-memory record moves at once, as the store's staged records do.
   */
  stage(batch: Batch, step: AppliedStep): void {
    this.watermark.markDone(step.seqs);
    batch.put(this.prefix + APPLIED_KEY, this.encoded());
    if (step.attemptKey !== undefined) batch.del(this.prefix + step.attemptKey);
    if (this.crashes.size > 0) {
      const before = this.crashes.size;
      for (const seq of step.seqs) this.crashes.delete(seq);
      this.pruneCrashes();
      if (this.crashes.size !== before) this.putCrashes(batch);
    }
  }

  private encoded(): string {
    return encodeAppliedSeqs({
      answeredSeq: this.answered,
      floorSeq: this.watermark.floorSeq,
      above: this.watermark.hasGap ? this.watermark.aboveSeqs() : [],
    });
  }

  /** Counts of sequences now under the floor are settled (applied, or gone from the stream). */
  private pruneCrashes(): void {
    for (const seq of this.crashes.keys()) if (seq <= this.watermark.floorSeq) this.crashes.delete(seq);
  }

  private putCrashes(batch: Batch): void {
    if (this.crashes.size === 0) batch.del(this.prefix + CRASHES_KEY);
    else batch.put(this.prefix + CRASHES_KEY, encodeCrashCounts(this.crashes));
  }
}
