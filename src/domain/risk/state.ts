// Bounded containers for risk state: an LRU map of keys and a fixed-capacity ring of recent entries.

/** A value that keeps its own place in an LruRecords: no node object beside each value. */
export interface Aged {
  /** the LruRecords' write count when this value was last moved to the young end; set by it */
  movedAt: number;
}

/**
 * A Map with at most `max` keys, evicting the least recently written first. `touch` marks a key as
 * written; to keep the hot path cheap a key is moved to the young end only when it has aged by more
 * than a quarter of `max` writes since its last move, so eviction is LRU to within max/4 writes.
 * Reads with `get` do not reorder. The values carry their age (`Aged`), each held under one key only.
 */
export class LruRecords<K, V extends Aged> {
  private readonly map = new Map<K, V>();
  private writes = 0;
  private readonly slack: number;
  /** keys evicted since creation */
  evictions = 0;

  private readonly evictChunk: number;

  constructor(readonly max: number) {
    this.slack = Math.floor(max / 4);
    this.evictChunk = Math.floor(max / 8);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** The value for `key` marked as just written, or undefined (then `insert` it). */
  touch(key: K): V | undefined {
    const value = this.map.get(key);
    return value === undefined ? undefined : this.touchHeld(key, value);
  }

  /** `touch` of a value known to be held under `key` (from a `get` since which nothing was inserted). */
  touchHeld(key: K, value: V): V {
    const now = ++this.writes;
    if (now - value.movedAt > this.slack) {
      // Re-inserting moves the key to the end of the Map's insertion order: the young end.
      this.map.delete(key);
      this.map.set(key, value);
      value.movedAt = now;
    }
    return value;
  }

  /** Adds a key that is not present (or replaces its value in its place), evicting the oldest beyond `max`. */
  insert(key: K, value: V): V {
    const held = this.map.get(key);
    if (held !== undefined) {
      value.movedAt = held.movedAt;
      this.map.set(key, value);
      return value;
    }
    value.movedAt = ++this.writes;
    this.map.set(key, value);
    // Evict in chunks with one iterator: asking a Map for its first key after many deletions at its front
    // walks over the deleted slots each time (V8), which makes one-at-a-time eviction quadratic. So the map
    // may hold up to max + max/8 keys between two evictions.
    if (this.map.size > this.max + this.evictChunk) {
      let excess = this.map.size - this.max;
      for (const oldest of this.map.keys()) {
        if (excess-- <= 0) break;
        this.map.delete(oldest);
        this.evictions++;
      }
    }
    return value;
  }

  clear(): void {
    this.map.clear();
    this.evictions = 0;
  }
}

/** An LruRecords of any values: each held in a node that carries its age. */
export class LruMap<K, V> {
  private readonly records: LruRecords<K, { value: V; movedAt: number }>;

  constructor(readonly max: number) {
    this.records = new LruRecords(max);
  }

  get size(): number {
    return this.records.size;
  }

  /** keys evicted since creation */
  get evictions(): number {
    return this.records.evictions;
  }

  get(key: K): V | undefined {
    return this.records.get(key)?.value;
  }

  has(key: K): boolean {
    return this.records.has(key);
  }

  /** The value for `key` marked as just written, or undefined (then `insert` it). */
  touch(key: K): V | undefined {
    return this.records.touch(key)?.value;
  }

  /** Adds a key that is not present (or replaces its value), evicting the oldest key beyond `max`. */
  insert(key: K, value: V): V {
    const node = this.records.get(key);
    if (node !== undefined) node.value = value;
    else this.records.insert(key, { value, movedAt: 0 });
    return value;
  }

  clear(): void {
    this.records.clear();
  }
}

/**
 * Risk state up to this many entries (a ring's slots, an attempt window's rows) is kept in arrays of the
 * exact length: most cards have one or two.
 */
export const EXACT_SLOTS_MAX = 8;

/**
 * The last `capacity` entries pushed, oldest overwritten first. Storage grows on demand up to the
 * capacity, so a key seen once costs one slot, not `capacity`. Once full, `recycle` hands back the
 * oldest slot for the caller to overwrite in place: no allocation at steady state.
 */
export class Ring<E> {
  private slots: E[] = [];
  /** index of the oldest entry once the ring has wrapped; 0 before */
  private head = 0;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.slots.length;
  }

  /**
   * When the ring is full: its oldest slot, which becomes the newest; the caller overwrites its fields.
   * Otherwise undefined, and the caller `append`s a new entry. Two calls instead of callbacks keep the
   * hot path free of closures.
   */
  recycle(): E | undefined {
    if (this.slots.length < this.capacity) return undefined;
    const slot = this.slots[this.head]!;
    this.head = (this.head + 1) % this.capacity;
    return slot;
  }

  /**
   * Adds an entry while there is room; ignored when full (use `recycle`). Small rings are copied to an
   * array of the exact size: a push onto a full array grows it by 16 slots or more (V8), room wasted on
   * each of the many cards with one or two declines.
   */
  append(entry: E): void {
    const n = this.slots.length;
    if (n >= this.capacity) return;
    if (n < EXACT_SLOTS_MAX) this.slots = n === 0 ? [entry] : this.slots.concat([entry]);
    else this.slots.push(entry);
  }

  /** The i-th newest entry (0 = newest), i < size. */
  newest(i: number): E {
    const n = this.slots.length;
    return this.slots[(this.head + n - 1 - i) % n]!;
  }
}
