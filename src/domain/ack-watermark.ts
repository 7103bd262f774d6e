// The ack floor: the highest stream sequence at or below which every message has been applied.
//
// With AckPolicy.All an ack of sequence N acknowledges every message up to N. Acking the last message of
// a buffer is only safe if everything before it was applied: after a broker restart, messages the dying
// broker counted as delivered may never have arrived, and an ack of a later one would drop them unseen.
// So the processor acks the floor, never past a gap; a gap closes when the missing message is applied
// (the shell reads it from the stream, or the broker redelivers it after ack_wait, as it is unacked) or
// when the stream no longer holds it (aged out, deleted), which the shell reports with `markDone` or
// `skipBelow`.

import { invariant } from './apply.ts';

export class AckWatermark {
  private floor: number;
  /** applied sequences above floor + 1: each waits for the gap below it to close */
  private readonly above = new Set<number>();
  private highest: number;

  /**
   * @param floorSeq every sequence up to this one is done (the consumer's ack floor at start)
   * @param aboveMax most sequences that may wait above a gap; the broker's max_ack_pending bounds them
   * @param above sequences above the floor already done (the ledger's record of those applied above a gap)
   */
  constructor(
    floorSeq: number,
    readonly aboveMax: number,
    above: Iterable<number> = [],
  ) {
    invariant(Number.isSafeInteger(floorSeq) && floorSeq >= 0, `ack floor must be a sequence, got ${floorSeq}`);
    this.floor = floorSeq;
    this.highest = floorSeq;
    this.markDone(above);
  }

  get floorSeq(): number {
    return this.floor;
  }

  /** Sequences applied but not yet under the floor (they wait for a gap to close). */
  get waiting(): number {
    return this.above.size;
  }

  /** True when some applied sequence waits above a missing one. */
  get hasGap(): boolean {
    return this.above.size > 0;
  }

  /** True when `seq` is done: at or below the floor, or done above a gap. */
  has(seq: number): boolean {
    return seq <= this.floor || this.above.has(seq);
  }

  /** The done sequences above the floor (each waits for a gap below it), ascending. */
  aboveSeqs(): number[] {
    return [...this.above].sort((a, b) => a - b);
  }

  /** Marks sequences as applied (or as not in the stream). Returns the new floor when it moved. */
  markDone(seqs: Iterable<number>): number | undefined {
    const before = this.floor;
    for (const seq of seqs) {
      if (seq <= this.floor) continue; // a redelivery of something already under the floor
      if (seq === this.floor + 1 && this.above.size === 0) this.floor = seq; // the usual case: in order
      else this.above.add(seq);
      if (seq > this.highest) this.highest = seq;
    }
    while (this.above.delete(this.floor + 1)) this.floor++;
    invariant(
      this.above.size <= this.aboveMax,
      `${this.above.size} applied messages wait above sequence ${this.floor + 1}, more than ${this.aboveMax}`,
    );
    return this.floor > before ? this.floor : undefined;
  }

  /** Everything below `firstSeq` is gone from the stream (aged out or purged): no longer waited for. */
  skipBelow(firstSeq: number): number | undefined {
    if (firstSeq - 1 <= this.floor) return undefined;
    const before = this.floor;
    for (const seq of this.above) if (seq < firstSeq) this.above.delete(seq);
    this.floor = firstSeq - 1;
    if (this.floor > this.highest) this.highest = this.floor;
    while (this.above.delete(this.floor + 1)) this.floor++;
    return this.floor > before ? this.floor : undefined;
  }

  /**
   * The missing sequences above the floor and below the highest applied one, lowest first, at most
   * `limit`, leaving out those in `except` (already asked for).
   */
  gaps(limit: number, except?: { has(seq: number): boolean }): number[] {
    const out: number[] = [];
    for (let seq = this.floor + 1; seq < this.highest && out.length < limit; seq++) {
      if (!this.above.has(seq) && !except?.has(seq)) out.push(seq);
    }
    return out;
  }
}
