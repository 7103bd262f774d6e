// LruRecords keeps each value's age on the value itself; it must hold, move and evict keys exactly as the
// node-per-value LRU it replaced (copied here as the reference), and LruMap (now over LruRecords) too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruMap, LruRecords } from '../../../src/domain/risk/state.ts';

/** The LRU as it was before LruRecords: a node { value, movedAt } per key. */
class ReferenceLru<K, V> {
  private readonly map = new Map<K, { value: V; movedAt: number }>();
  private writes = 0;
  private readonly slack: number;
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
    return this.map.get(key)?.value;
  }
  touch(key: K): V | undefined {
    const node = this.map.get(key);
    if (node === undefined) return undefined;
    const now = ++this.writes;
    if (now - node.movedAt > this.slack) {
      this.map.delete(key);
      this.map.set(key, node);
      node.movedAt = now;
    }
    return node.value;
  }
  insert(key: K, value: V): V {
    const node = this.map.get(key);
    if (node !== undefined) {
      node.value = value;
      return value;
    }
    this.map.set(key, { value, movedAt: ++this.writes });
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
}

type Op = { op: 'get' | 'touch' | 'touchHeld' | 'insert'; key: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  op: fc.constantFrom('get', 'touch', 'touchHeld', 'insert'),
  key: fc.integer({ min: 0, max: 30 }),
});

describe('LruRecords and LruMap: the keys they hold', () => {
  it('hold, move and evict as the node-per-value LRU, for any writes and reads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.array(opArb, { maxLength: 400 }), (max, ops) => {
        const reference = new ReferenceLru<number, { id: number; movedAt: number }>(max);
        const records = new LruRecords<number, { id: number; movedAt: number }>(max);
        const map = new LruMap<number, string>(max);
        let made = 0;
        for (const { op, key } of ops) {
          if (op === 'insert') {
            const id = made++;
            reference.insert(key, { id, movedAt: 0 });
            records.insert(key, { id, movedAt: 0 });
            map.insert(key, `v${id}`);
          } else if (op === 'touch' || op === 'touchHeld') {
            const expected = reference.touch(key)?.id;
            const held = records.get(key);
            const got = op === 'touch' || held === undefined ? records.touch(key) : records.touchHeld(key, held);
            expect(got?.id).toBe(expected);
            expect(map.touch(key)).toBe(expected === undefined ? undefined : `v${expected}`);
          } else {
            expect(records.get(key)?.id).toBe(reference.get(key)?.id);
          }
          expect([records.size, records.evictions]).toEqual([reference.size, reference.evictions]);
          expect([map.size, map.evictions]).toEqual([reference.size, reference.evictions]);
        }
        for (let k = 0; k <= 30; k++) {
          expect(records.get(k)?.id).toBe(reference.get(k)?.id);
          const id = reference.get(k)?.id;
          expect(map.get(k)).toBe(id === undefined ? undefined : `v${id}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('replaces a held key in its place, keeping its age', () => {
    const records = new LruRecords<string, { v: number; movedAt: number }>(8);
    records.insert('a', { v: 1, movedAt: 0 });
    records.insert('b', { v: 2, movedAt: 0 });
    const replaced = records.insert('a', { v: 3, movedAt: 0 });
    expect(replaced.movedAt).toBe(1);
    expect(records.get('a')?.v).toBe(3);
    expect(records.size).toBe(2);
  });
});
