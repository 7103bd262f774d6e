// Each pipeline stage as its own operator: decode, validate, buffer (marble tests), publish and ack.

import { firstValueFrom, from, lastValueFrom, of, Subject, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { tokenizePan } from '../../src/domain/cards.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { ackStage, FloorAcker } from '../../streams/ack.ts';
import { bufferWhileBusy } from '../../streams/buffer.ts';
import { decode } from '../../streams/decode.ts';
import { type Publisher, publishStage, sinkPublisher } from '../../streams/publish.ts';
import type { AppliedBuffer, InboundMessage, Item } from '../../streams/types.ts';
import { validate } from '../../streams/validate.ts';
import { TEST_NOW_MS, TEST_PANS, TEST_TOKEN_KEY, aWireOrder } from '../domain/builders.ts';

const enc = new TextEncoder();
const msg = (payload: unknown, subject = 'pay.orders.test'): InboundMessage => ({
  subject,
  data: enc.encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  receivedAtMs: TEST_NOW_MS,
});

describe('decode', () => {
  it('passes orders on as objects and turns what cannot be an order into dead letters with a reason', async () => {
    const out = await lastValueFrom(
      from([msg(aWireOrder({ id: 'ok-1' })), msg('not json'), msg('[1,2]'), msg({ type: 'payment' }), msg('x'.repeat(9000))]).pipe(
        decode({ payloadBytesMax: 8192 }, 'pay.batches.'),
        toArray(),
      ),
    );
    expect(out.map((d) => (d.kind === 'dead' ? d.reason : d.kind))).toEqual(['decoded', 'not_json', 'not_object', 'no_id', 'too_large']);
  });

  it('routes a batch header by its subject', async () => {
    const out = await firstValueFrom(of(msg({ id: 'b1', count: 1 }, 'pay.batches.b1')).pipe(decode({ payloadBytesMax: 8192 }, 'pay.batches.')));
    expect(out.kind).toBe('batch');
  });
});

describe('validate', () => {
  const options = { tokenizePan: (pan: string) => tokenizePan(pan, TEST_TOKEN_KEY), clock: () => TEST_NOW_MS, futureSkewMs: 30_000 };

  it('types an order, tokenizes its PAN and rejects bad input with the field and why', async () => {
    const pan = TEST_PANS.visa[0];
    const out = await lastValueFrom(
      from([msg(aWireOrder({ id: 'v-1', card: undefined, pan })), msg(aWireOrder({ id: 'v-2', amount: 12.5 })), msg(aWireOrder({ id: 'v-3', cvv: '123' }))]).pipe(
        decode({ payloadBytesMax: 8192 }, 'pay.batches.'),
        validate(options),
        toArray(),
      ),
    );
    expect(out[0]).toMatchObject({ kind: 'order', order: { id: 'v-1', cardToken: tokenizePan(pan, TEST_TOKEN_KEY), amountMinor: 1250n } });
    expect(JSON.stringify(out[0], (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? undefined : v))).not.toContain(pan);
    expect(out[1]).toMatchObject({ kind: 'rejected', orderId: 'v-2', reason: 'amount_not_string', field: 'amount' });
    expect(out[2]).toMatchObject({ kind: 'rejected', orderId: 'v-3', reason: 'cvv_forbidden' });
  });
});

describe('buffer (smart batching)', () => {
  const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('starts on an idle stage after the short wait, and gathers whatever arrives while the work runs', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      // a at 0: idle, so it waits 2 ms for company (b at 1 joins) and work starts at 2, taking 10 ms.
      // c, d, e arrive during that work and go together as soon as it ends (12), with no extra wait;
      // f comes to an idle stage again at 30 and goes alone at 32; the source ended at 41, the stream ends
      // with f's work at 42. Results leave when each work is done.
      const source = cold('ab 2ms cde 23ms f 10ms |');
      const work = (buffer: string[]) => cold('10ms (x|)', { x: buffer.join('') });
      expectObservable(source.pipe(bufferWhileBusy({ bufferItemsMax: 100, bufferWaitMs: 2 }, work))).toBe(
        '12ms a 9ms b 19ms (c|)',
        { a: 'ab', b: 'cde', c: 'f' },
      );
    });
  });

  it('never puts more than bufferItemsMax in a buffer, and starts at once when an idle buffer is full', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('(abcde)');
      const work = (buffer: string[]) => cold('5ms (x|)', { x: buffer.join('') });
      // abc fill a buffer (no wait), de wait for it and go at 5, done at 10; the source never completes
      expectObservable(source.pipe(bufferWhileBusy({ bufferItemsMax: 3, bufferWaitMs: 20 }, work))).toBe('5ms x 4ms y', {
        x: 'abc',
        y: 'de',
      });
    });
  });

  it('finishes the work in hand and the orders still waiting before it completes; never an empty buffer', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a|');
      const work = (buffer: string[]) => cold('3ms (x|)', { x: buffer.join('') });
      expectObservable(source.pipe(bufferWhileBusy({ bufferItemsMax: 10, bufferWaitMs: 0 }, work))).toBe('3ms (x|)', { x: 'a' });
      expectObservable(cold('|').pipe(bufferWhileBusy({ bufferItemsMax: 10, bufferWaitMs: 0 }, work))).toBe('|');
    });
  });

  it('ends with the error of the work, or of the source', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const failing = () => cold('1ms #', undefined, new Error('disk full'));
      expectObservable(cold('a').pipe(bufferWhileBusy({ bufferItemsMax: 10, bufferWaitMs: 0 }, failing))).toBe('1ms #', undefined, new Error('disk full'));
      const ok = (buffer: string[]) => cold('1ms (x|)', { x: buffer.join('') });
      expectObservable(cold('a 5ms #').pipe(bufferWhileBusy({ bufferItemsMax: 10, bufferWaitMs: 0 }, ok))).toBe('1ms x 4ms #', { x: 'a' });
    });
  });

  it('hands the work buffers in arrival order, one at a time, with promises too', async () => {
    let running = 0;
    const seen: string[][] = [];
    const work = async (buffer: number[]) => {
      running++;
      expect(running).toBe(1);
      seen.push(buffer.map(String));
      await new Promise((r) => setTimeout(r, 3));
      running--;
      return buffer.length;
    };
    const source = new Subject<number>();
    const out = lastValueFrom(source.pipe(bufferWhileBusy({ bufferItemsMax: 7, bufferWaitMs: 1 }, work), toArray()));
    for (let i = 0; i < 50; i++) {
      source.next(i);
      if (i % 9 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    source.complete();
    const sizes = await out;
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(50);
    expect(seen.flat().map(Number)).toEqual([...Array(50).keys()]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
  });
});

function anApplied(over: Partial<AppliedBuffer> = {}): AppliedBuffer {
  const result: OrderResult = { orderId: 'p-1', status: 'approved', processedAt: new Date(TEST_NOW_MS).toISOString(), latencyMs: 3 };
  return { items: [], results: [{ result, receivedAtMs: TEST_NOW_MS }], deadLetters: [], reports: [], lastMessage: undefined, committedAtMs: TEST_NOW_MS, written: Promise.resolve(), ...over };
}

describe('publish and ack', () => {
  it('publishes every result, report and dead letter of a buffer', async () => {
    const seen: string[] = [];
    const publisher: Publisher = {
      result: (r) => seen.push(`result ${r.orderId} ${r.status}`),
      report: (id) => seen.push(`report ${id}`),
      deadLetter: (d) => seen.push(`dlq ${d.reason}`),
    };
    const applied = anApplied({
      reports: [{ batchId: 'b-1', report: {} }],
      deadLetters: [{ reason: 'not_json', detail: 'payload is not valid JSON', subject: 'pay.orders.x', payload: enc.encode('x') }],
    });
    const sink = sinkPublisher(publisher);
    await lastValueFrom(of(applied).pipe(publishStage(sink)));
    expect(seen).toEqual(['result p-1 approved', 'report b-1', 'dlq not_json']);
    // a sink loses nothing: delivered at once, nothing sent again
    await sink.delivered(applied);
    expect(seen).toHaveLength(3);
  });

  it('acks a buffer once, on its last message, only after the flush', async () => {
    const events: string[] = [];
    const last: InboundMessage = { ...msg({}), streamSeq: 2, ack: () => events.push('ack 2') };
    const first: InboundMessage = { ...msg({}), streamSeq: 1, ack: () => events.push('ack 1') };
    const flush = async () => {
      await new Promise((r) => setTimeout(r, 5));
      events.push('flushed');
    };
    const buffer = anApplied({ items: [anItem(first), anItem(last)], lastMessage: last });
    await lastValueFrom(of(buffer, anApplied({ lastMessage: undefined })).pipe(ackStage(new FloorAcker({ floorSeq: 0 }), flush)));
    expect(events).toEqual(['flushed', 'ack 2']);
  });

  it('flushes a buffer of refilled messages (stream sequences, no ack) before it counts them as done', async () => {
    const events: string[] = [];
    const acker = new FloorAcker({ floorSeq: 0 });
    acker.applied([anItem({ ...msg({}), streamSeq: 2, ack: () => events.push('ack 2') })]);
    const refilled: InboundMessage = { ...msg({}), streamSeq: 1, redelivered: true };
    const flush = async () => {
      await new Promise((r) => setTimeout(r, 5));
      events.push('flushed');
    };
    await lastValueFrom(of(anApplied({ items: [anItem(refilled)], lastMessage: refilled })).pipe(ackStage(acker, flush)));
    expect(events).toEqual(['flushed', 'ack 2']);
    expect(acker.floorSeq).toBe(2);
  });
});

const anItem = (m: InboundMessage): Item => ({ kind: 'dead', msg: m, reason: 'not_json', detail: 'x' });

/**
 * A FloorAcker from sequence 0 on a test clock, gaps looked up after 1 s: `answer` says what the stream
 * has (its first sequence, what it no longer holds, whether it holds the rest); `asked` and `askedAtMs`
 * record the lookups.
 */
function gapAcker(
  answer: (seqs: number[]) => { firstSeq: number; absent?: number[]; holds?: boolean },
  refill?: (messages: InboundMessage[]) => void,
) {
  const clock = { nowMs: 0 };
  const asked: number[][] = [];
  const askedAtMs: number[] = [];
  const acker = new FloorAcker({
    floorSeq: 0,
    clock: () => clock.nowMs,
    gapCheckMs: 1000,
    resolveGaps: async (seqs) => {
      asked.push(seqs);
      askedAtMs.push(clock.nowMs);
      const { firstSeq, absent = [], holds = false } = answer(seqs);
      const held = holds ? seqs.filter((seq) => seq >= firstSeq && !absent.includes(seq)) : [];
      return { firstSeq, absent, found: held.map((streamSeq) => ({ ...msg({}), streamSeq, redelivered: true })) };
    },
    ...(refill ? { refill } : {}),
  });
  return { acker, asked, askedAtMs, clock };
}

/** Messages with stream sequences; `acked` lists the sequence of every ack sent. */
function stream(seqs: number[], acked: number[]): InboundMessage[] {
  return seqs.map((streamSeq) => ({ ...msg({}), streamSeq, ack: () => acked.push(streamSeq) }));
}

describe('FloorAcker: AckPolicy.All acks never pass a message that has not arrived', () => {
  it('acks each buffer in order on its highest sequence', () => {
    const acked: number[] = [];
    const acker = new FloorAcker({ floorSeq: 10 });
    acker.applied(stream([11, 12, 13], acked).map(anItem));
    acker.applied(stream([14, 15], acked).map(anItem));
    expect(acked).toEqual([13, 15]);
    expect(acker.floorSeq).toBe(15);
  });

  it('holds acks at a gap (a message the dying broker counted as delivered never came) until it is redelivered', () => {
    const acked: number[] = [];
    const acker = new FloorAcker({ floorSeq: 0 });
    acker.applied(stream([1, 2], acked).map(anItem));
    // 3 and 4 were lost with the old connection; the restarted broker delivers 5.. first
    acker.applied(stream([5, 6, 7], acked).map(anItem));
    expect(acked).toEqual([2]);
    expect(acker.floorSeq).toBe(2);
    expect(acker.waiting).toBe(3);
    // ack_wait later the broker redelivers them: the floor jumps past the buffer that waited
    acker.applied(stream([3, 4], acked).map(anItem));
    expect(acker.floorSeq).toBe(7);
    expect(acked).toEqual([2, 7]);
  });

  it('acks below the floor only with an ack at or under it (under-acking is safe, over-acking is loss)', () => {
    const acked: number[] = [];
    const acker = new FloorAcker({ floorSeq: 0 });
    // one buffer with a hole in it: only 1..2 are safe, and its only kept ack (9) is above them
    acker.applied(stream([1, 2, 4, 9], acked).map(anItem));
    expect(acked).toEqual([]);
    acker.applied(stream([3, 5, 6, 7, 8], acked).map(anItem));
    expect(acker.floorSeq).toBe(9);
    expect(acked).toEqual([9]);
  });

  it('ignores redeliveries of what is already under the floor', () => {
    const acked: number[] = [];
    const acker = new FloorAcker({ floorSeq: 100 });
    acker.applied(stream([99, 100], acked).map(anItem));
    expect(acked).toEqual([]);
    acker.applied(stream([101], acked).map(anItem));
    expect(acked).toEqual([101]);
  });
});

describe('FloorAcker: a gap that lasts is looked up in the stream', () => {
  it('looks an old gap up in the stream: deleted or aged-out messages no longer hold the acks', async () => {
    const acked: number[] = [];
    // the stream starts at 3 (1-2 aged out) and no longer holds 5; it still holds 6, which will come
    const { acker, asked, clock } = gapAcker(() => ({ firstSeq: 3, absent: [5] }));
    acker.applied(stream([3, 4, 7], acked).map(anItem));
    await acker.checkGaps();
    expect(asked).toEqual([]); // not yet old enough
    clock.nowMs = 1500;
    await acker.checkGaps();
    expect(asked).toEqual([[1, 2, 5, 6]]);
    expect(acker.floorSeq).toBe(5);
    expect(acked).toEqual([]); // 7 is the only ack kept and it is above the floor
    acker.applied(stream([6], acked).map(anItem));
    expect(acker.floorSeq).toBe(7);
    expect(acked).toEqual([7]);
  });

  it('asks the stream less and less often while the missing message is still there (it comes with the redelivery)', async () => {
    const { acker, askedAtMs, clock } = gapAcker(() => ({ firstSeq: 1 }));
    acker.applied(stream([2], []).map(anItem));
    for (clock.nowMs = 0; clock.nowMs <= 20_000; clock.nowMs += 500) await acker.checkGaps();
    // after 1 s, then 2 s, 4 s, 8 s later
    expect(askedAtMs).toEqual([1000, 3000, 7000, 15000]);
  });

  it('asks again, less and less often, when the stream cannot be read', async () => {
    let readable = false;
    const { acker, askedAtMs, clock } = gapAcker(() => {
      if (!readable) throw new Error('no responders');
      return { firstSeq: 1, absent: [1] };
    });
    acker.applied(stream([2], []).map(anItem));
    const failures: number[] = [];
    for (clock.nowMs = 0; clock.nowMs <= 8000; clock.nowMs += 500) {
      await acker.checkGaps().catch(() => failures.push(clock.nowMs));
    }
    // after 1 s, then 2 s, 4 s later; each failure is the caller's to log
    expect(askedAtMs).toEqual([1000, 3000, 7000]);
    expect(failures).toEqual([1000, 3000, 7000]);
    readable = true;
    for (; clock.nowMs <= 20_000; clock.nowMs += 500) await acker.checkGaps();
    expect(acker.floorSeq).toBe(2);
  });

  it('tells once when acks start being held back at a gap', () => {
    const gaps: { floorSeq: number; missing: number[] }[] = [];
    const acker = new FloorAcker({ floorSeq: 0, onGap: ({ floorSeq, missing }) => gaps.push({ floorSeq, missing }) });
    acker.applied(stream([1, 3], []).map(anItem));
    acker.applied(stream([4], []).map(anItem));
    expect(gaps).toEqual([{ floorSeq: 1, missing: [2] }]);
  });
});

describe('FloorAcker: what the stream still holds of a gap is read and refilled', () => {
  it('reads the missing messages the stream still holds and refills them: the gap closes without waiting for ack_wait', async () => {
    const acked: number[] = [];
    const refilled: InboundMessage[] = [];
    const { acker, asked, clock } = gapAcker(() => ({ firstSeq: 1, holds: true }), (messages) => refilled.push(...messages));
    acker.applied(stream([1, 4, 5], acked).map(anItem));
    clock.nowMs = 1000;
    await acker.checkGaps();
    expect(asked).toEqual([[2, 3]]);
    expect(refilled.map((m) => m.streamSeq)).toEqual([2, 3]);
    expect(acker.refillingCount).toBe(2);
    // read but not applied yet: not asked for again
    clock.nowMs = 2500;
    await acker.checkGaps();
    expect(asked).toEqual([[2, 3]]);
    // the refilled messages carry no ack: applying them moves the floor, and the kept ack of 5 covers them
    acker.applied(refilled.map(anItem));
    expect(acker.floorSeq).toBe(5);
    expect(acked).toEqual([5]);
    expect(acker.refillingCount).toBe(0);
  });

  it('reads a refilled message again if it was not applied within 30 s', async () => {
    const { acker, asked, clock } = gapAcker(() => ({ firstSeq: 1, holds: true }), () => undefined); // lost on the way
    acker.applied(stream([2], []).map(anItem));
    for (clock.nowMs = 1000; clock.nowMs <= 40_000; clock.nowMs += 1000) await acker.checkGaps();
    expect(asked).toEqual([[1], [1]]);
  });

  it('without refill, what the stream still holds is left to the redelivery', async () => {
    const { acker, clock } = gapAcker(() => ({ firstSeq: 1, holds: true }));
    acker.applied(stream([2], []).map(anItem));
    clock.nowMs = 1000;
    await acker.checkGaps();
    expect(acker.refillingCount).toBe(0);
    expect(acker.floorSeq).toBe(0);
  });
});
