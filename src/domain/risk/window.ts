// A card's or merchant's recent attempts, newest last, with counts by type over a time window in O(log n),
// each marked with whether it may still charge (what the duplicate rule counts).

import { ORDER_TYPES, type OrderType } from '../types.ts';
import { ATTEMPT_TYPES, type AttemptType } from './rules.ts';

/** Counts wrap here so they stay small integers; differences within a window (< its capacity) stay exact. */
const COUNT_WRAP = 2 ** 30;
if (ATTEMPT_TYPES.length !== 3) throw new Error('an attempt keeps one running count per attempt type: three');

// An attempt is a row of two arrays rather than an object: its numbers in an array of doubles (time in
// epoch ms, order type index, running count of each attempt type; V8 keeps an array of only numbers as raw
// doubles, and unlike a Float64Array it needs no ArrayBuffer object beside it) and its references in a
// plain array (amount, currency, merchant, order id). There are up to windowsMax attempts for each of
// cardsMax cards and merchantsMax merchants, the most numerous thing the engine keeps: as a row an attempt
// leaves two heap objects for the collector to mark (its amount and order id), where an object with its
// boxed time would leave four. The amount stays a bigint: money is exact.

/** numbers of an attempt: time (epoch ms), ORDER_TYPES index (with NO_CHARGE), then the running counts c0..c2 */
const NUMS = 5;
const AT_MS = 0;
const TYPE = 1;
const COUNTS = 2;
/** the ORDER_TYPES index in an attempt's type number */
const TYPE_INDEX_MASK = 0xf;
/**
 * Set in an attempt's type number once it is known to hold no money (blocked, declined, rejected, expired,
 * voided, canceled). A flag in a number the row already has, rather than a sixth number: rows are many.
 */
const NO_CHARGE = 0x10;
if (ORDER_TYPES.length > TYPE_INDEX_MASK + 1) throw new Error('an order type index must fit TYPE_INDEX_MASK');
/** references of an attempt: amount in minor units, currency, merchant, order id */
const REFS = 4;
const AMOUNT = 0;
const CURRENCY = 1;
const MERCHANT = 2;
const ORDER_ID = 3;
/**
 * Rows are added one at a time up to this many (a card seen once or twice holds exactly its rows), then
 * doubled: each growth copies every row, so exact growth to 8 copied 36 rows' worth, where doubling copies
 * 15, for at most a row of room per card more (cards with 3, 5, 6 or 7 attempts).
 */
const EXACT_ROWS_MAX = 2;
/** A row of filler, as literals so their arrays are packed (NaN: an array of doubles, not small integers). */
const NUM_ROW: readonly number[] = [Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN];
const REF_ROW: readonly (bigint | string)[] = ['', '', '', ''];
if (NUM_ROW.length !== NUMS || REF_ROW.length !== REFS) throw new Error('a filler row has one slot a field');

/** Bit of an attempt type in a mask of types (ATTEMPT_TYPES order); 0 for a type that is not an attempt. */
export function typeBit(type: OrderType): number {
  const i = ATTEMPT_TYPES.indexOf(type as AttemptType);
  return i < 0 ? 0 : 1 << i;
}

export const typeMask = (types: Iterable<OrderType>): number => {
  let mask = 0;
  for (const t of types) mask |= typeBit(t);
  return mask;
};

/**
 * The last `capacity` attempts, oldest overwritten first; room grows with the attempts (exactly up to
 * EXACT_ROWS_MAX, then doubling), so a card seen once costs one row. Each row carries running counts per
 * type, so "attempts of these types newer than `sinceMs`" is one binary search and a subtraction instead of
 * a scan of the window, which at a busy merchant walks tens of entries an order. The search needs rows in
 * time order; pushes out of order (a replay's virtual time going back) turn it off for this window, and
 * callers scan instead (`ordered`). Rows are read by age: `i` = 0 is the newest, up to `size` - 1.
 */
export class AttemptWindow {
  private nums: number[] = [];
  private refs: (bigint | string)[] = [];
  /** rows held */
  private count = 0;
  /** row of the oldest attempt once the window is full (rows are in push order before) */
  private head = 0;
  private p0 = 0;
  private p1 = 0;
  private p2 = 0;
  /** false once an attempt older than the newest was pushed: counts must then be taken by scanning */
  ordered = true;

  /** @param countWrap where the running counts wrap (a test sets it low); more than the capacity */
  constructor(
    readonly capacity: number,
    private readonly countWrap = COUNT_WRAP,
  ) {
    if (!(countWrap > capacity))
      throw new Error(`counts must wrap above the capacity ${capacity}, got ${countWrap}`);
  }

  private wrapped(n: number): number {
    return (n + this.countWrap) % this.countWrap;
  }

  get size(): number {
    return this.count;
  }

  /** The row of the i-th newest attempt. */
  private row(i: number): number {
    return (this.head + this.count - 1 - i) % this.count;
  }

  atMsOf(i: number): number {
    return this.nums[this.row(i) * NUMS + AT_MS]!;
  }
  typeOf(i: number): OrderType {
    return ORDER_TYPES[this.nums[this.row(i) * NUMS + TYPE]! & TYPE_INDEX_MASK]!;
  }
  /**
   * Whether the i-th newest attempt moved or reserved money, or may still: true from its record until a
   * result says it holds none (`settle`).
   */
  chargesOf(i: number): boolean {
    return (this.nums[this.row(i) * NUMS + TYPE]! & NO_CHARGE) === 0;
  }
  amountOf(i: number): bigint {
    return this.refs[this.row(i) * REFS + AMOUNT] as bigint;
  }
  currencyOf(i: number): string {
    return this.refs[this.row(i) * REFS + CURRENCY] as string;
  }
  merchantOf(i: number): string {
    return this.refs[this.row(i) * REFS + MERCHANT] as string;
  }
  orderIdOf(i: number): string {
    return this.refs[this.row(i) * REFS + ORDER_ID] as string;
  }
  /** the running count of attempt type `t` (ATTEMPT_TYPES index) up to and including the i-th newest */
  private countOf(i: number, t: number): number {
    return this.nums[this.row(i) * NUMS + COUNTS + t]!;
  }

  /**
   * Room for one more row while below the capacity: exact sizes first, then doubling. By concat: one
   * allocation of the exact size, copied in bulk, and packed (a new Array(n) is holey: reads check for
   * holes). Rows past `count` hold copies of older rows (or NUM_ROW, REF_ROW), never read: push overwrites
   * them.
   */
  private grow(): void {
    const rows = this.nums.length / NUMS;
    if (rows < EXACT_ROWS_MAX) {
      this.nums = this.nums.concat(NUM_ROW);
      this.refs = this.refs.concat(REF_ROW);
      return;
    }
    const added = Math.min(this.capacity, rows * 2) - rows;
    this.nums = this.nums.concat(added === rows ? this.nums : this.nums.slice(0, added * NUMS));
    this.refs = this.refs.concat(added === rows ? this.refs : this.refs.slice(0, added * REFS));
  }

  push(
    atMs: number,
    amountMinor: bigint,
    currency: string,
    merchant: string,
    orderId: string,
    type: OrderType,
    charges = true,
  ): void {
    if (this.count > 0 && atMs < this.atMsOf(0)) this.ordered = false;
    const typeIndex = ATTEMPT_TYPES.indexOf(type as AttemptType);
    if (typeIndex === 0) this.p0 = this.wrapped(this.p0 + 1);
    else if (typeIndex === 1) this.p1 = this.wrapped(this.p1 + 1);
    else if (typeIndex === 2) this.p2 = this.wrapped(this.p2 + 1);
    let row: number;
    if (this.count < this.capacity) {
      if (this.count * NUMS === this.nums.length) this.grow();
      row = this.count++;
    } else {
      // full: the oldest row becomes the newest
      row = this.head;
      this.head = (this.head + 1) % this.capacity;
    }
    const n = row * NUMS;
    this.nums[n + AT_MS] = atMs;
    this.nums[n + TYPE] = ORDER_TYPES.indexOf(type) | (charges ? 0 : NO_CHARGE);
    this.nums[n + COUNTS] = this.p0;
    this.nums[n + COUNTS + 1] = this.p1;
    this.nums[n + COUNTS + 2] = this.p2;
    const r = row * REFS;
    this.refs[r + AMOUNT] = amountMinor;
    this.refs[r + CURRENCY] = currency;
    this.refs[r + MERCHANT] = merchant;
    this.refs[r + ORDER_ID] = orderId;
  }

  /**
   * Marks the attempt of `orderId` as one that charges or holds no money; false when it is not in the window
   * (overwritten, or never recorded). `atMs`, the time it was recorded at, ends the search early in a window
   * in time order (newer attempts come first); without it every row is looked at.
   */
  settle(orderId: string, charges: boolean, atMs?: number): boolean {
    const stopEarly = atMs !== undefined && this.ordered;
    for (let i = 0; i < this.count; i++) {
      if (stopEarly && this.atMsOf(i) < atMs) return false;
      if (this.orderIdOf(i) !== orderId) continue;
      const at = this.row(i) * NUMS + TYPE;
      const typeIndex = this.nums[at]! & TYPE_INDEX_MASK;
      this.nums[at] = typeIndex | (charges ? 0 : NO_CHARGE);
      return true;
    }
    return false;
  }

  /**
   * Attempts whose type is in `mask` with atMs > sinceMs. Only valid while `ordered`: the window is in
   * time order, so they are the newest ones from the first entry past `sinceMs` on.
   */
  countSince(sinceMs: number, mask: number): number {
    const n = this.count;
    if (n === 0) return 0;
    // lo: the number of entries at or before sinceMs (they are the oldest); the k-th oldest is age n-1-k
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.atMsOf(n - 1 - mid) <= sinceMs) lo = mid + 1;
      else hi = mid;
    }
    if (lo === n) return 0;
    const first = n - 1 - lo;
    const firstBit = typeBit(this.typeOf(first));
    let count = 0;
    for (let t = 0; t < ATTEMPT_TYPES.length; t++) {
      if ((mask & (1 << t)) === 0) continue;
      // entries after `first` plus `first` itself
      count += this.wrapped(this.countOf(0, t) - this.countOf(first, t)) + (firstBit === 1 << t ? 1 : 0);
    }
    return count;
  }
}
