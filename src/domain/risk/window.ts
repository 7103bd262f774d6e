// A card's or merchant's recent attempts, newest last, with counts by type over a time window in O(log n).

import type { OrderType } from '../types.ts';
import { ATTEMPT_TYPES, type AttemptType } from './rules.ts';
import { Ring } from './state.ts';

export interface Attempt {
  atMs: number;
  amountMinor: bigint;
  currency: string;
  merchant: string;
  orderId: string;
  type: OrderType;
  /**
   * attempts of each type (ATTEMPT_TYPES order: payment, authorize, payout) pushed to this window up to and
   * including this one, modulo COUNT_WRAP. Three small-integer fields rather than an array: an array costs
   * ~70 bytes more an attempt, and there are up to windowsMax attempts for each of cardsMax cards.
   */
  c0: number;
  c1: number;
  c2: number;
}

/** Counts wrap here so they stay small integers; differences within a window (< its capacity) stay exact. */
const COUNT_WRAP = 2 ** 30;
if (ATTEMPT_TYPES.length !== 3) throw new Error('Attempt keeps one count field per attempt type: c0..c2');

const countOf = (a: Attempt, typeIndex: number): number => (typeIndex === 0 ? a.c0 : typeIndex === 1 ? a.c1 : a.c2);

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
 * The last `capacity` attempts. Each entry carries running counts per type, so "attempts of these types
 * newer than `sinceMs`" is one binary search and a subtraction instead of a scan of the window: at a busy
 * merchant the velocity rule's scan walked ~70 entries an order (measured: 4.2 million steps for 59,000
 * orders). The search needs entries in time order; pushes out of order (a replay's virtual time going back)
 * turn it off for this window, and callers scan instead (`ordered`).
 */
export class AttemptWindow {
  private readonly ring: Ring<Attempt>;
  private p0 = 0;
  private p1 = 0;
  private p2 = 0;
  /** false once an attempt older than the newest was pushed: counts must then be taken by scanning */
  ordered = true;

  /** @param countWrap where the running counts wrap (a test sets it low); more than the capacity */
  constructor(
    capacity: number,
    private readonly countWrap = COUNT_WRAP,
  ) {
    if (!(countWrap > capacity)) throw new Error(`counts must wrap above the capacity ${capacity}, got ${countWrap}`);
    this.ring = new Ring<Attempt>(capacity);
  }

  private wrapped(n: number): number {
    return (n + this.countWrap) % this.countWrap;
  }

  get size(): number {
    return this.ring.size;
  }

  /** The i-th newest attempt (0 = newest), i < size. */
  newest(i: number): Attempt {
    return this.ring.newest(i);
  }

  push(atMs: number, amountMinor: bigint, currency: string, merchant: string, orderId: string, type: OrderType): void {
    if (this.ring.size > 0 && atMs < this.ring.newest(0).atMs) this.ordered = false;
    const typeIndex = ATTEMPT_TYPES.indexOf(type as AttemptType);
    if (typeIndex === 0) this.p0 = this.wrapped(this.p0 + 1);
    else if (typeIndex === 1) this.p1 = this.wrapped(this.p1 + 1);
    else if (typeIndex === 2) this.p2 = this.wrapped(this.p2 + 1);
    const slot = this.ring.recycle();
    if (slot === undefined) {
      this.ring.append({ atMs, amountMinor, currency, merchant, orderId, type, c0: this.p0, c1: this.p1, c2: this.p2 });
      return;
    }
    slot.atMs = atMs;
    slot.amountMinor = amountMinor;
    slot.currency = currency;
    slot.merchant = merchant;
    slot.orderId = orderId;
    slot.type = type;
    slot.c0 = this.p0;
    slot.c1 = this.p1;
    slot.c2 = this.p2;
  }

  /**
   * Attempts whose type is in `mask` with atMs > sinceMs. Only valid while `ordered`: the window is in
   * time order, so they are the newest ones from the first entry past `sinceMs` on.
   */
  countSince(sinceMs: number, mask: number): number {
    const n = this.ring.size;
    if (n === 0) return 0;
    // lo: the number of entries at or before sinceMs (they are the oldest); newest(k) is entry n-1-k
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring.newest(n - 1 - mid).atMs <= sinceMs) lo = mid + 1;
      else hi = mid;
    }
    if (lo === n) return 0;
    const newest = this.ring.newest(0);
    const first = this.ring.newest(n - 1 - lo);
    const firstBit = typeBit(first.type);
    let count = 0;
    for (let t = 0; t < ATTEMPT_TYPES.length; t++) {
      if ((mask & (1 << t)) === 0) continue;
      // entries after `first` plus `first` itself
      count += this.wrapped(countOf(newest, t) - countOf(first, t)) + (firstBit === 1 << t ? 1 : 0);
    }
    return count;
  }
}
