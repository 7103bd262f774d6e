// Each pipeline stage as its own operator: decode, validate, buffer (marble tests), publish and ack.

import { firstValueFrom, from, lastValueFrom, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { tokenizePan } from '../../src/domain/cards.ts';
import type { OrderResult } from '../../src/domain/types.ts';
import { ackStage, FloorAcker } from '../../streams/ack.ts';
import { bufferItems } from '../../streams/buffer.ts';
import { decode } from '../../streams/decode.ts';
import { type Publisher, publishStage } from '../../streams/publish.ts';
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

describe('buffer', () => {
  it('emits when the count is reached or the wait is over, never an empty buffer', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable }) => {
      // three quickly: the count of 3 closes the buffer at once. Then d alone (frame 43): buffers open every
      // 20 ms from the last one (2, 22, 42), so d waits in the one that closes at 62; the empty ones in
      // between are not emitted. Then silence until the source completes at 144.
      const source = cold('abc 40ms d 100ms |');
      expectObservable(source.pipe(bufferItems({ bufferItemsMax: 3, bufferWaitMs: 20 }, scheduler))).toBe('--x 59ms y 81ms |', {
        x: ['a', 'b', 'c'],
        y: ['d'],
      });
    });
  });
});

function anApplied(over: Partial<AppliedBuffer> = {}): AppliedBuffer {
  const result: OrderResult = { orderId: 'p-1', status: 'approved', processedAt: new Date(TEST_NOW_MS).toISOString(), latencyMs: 3 };
  return { items: [], results: [result], deadLetters: [], reports: [], lastMessage: undefined, committedAtMs: TEST_NOW_MS, written: Promise.resolve(), ...over };
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
    await lastValueFrom(of(applied).pipe(publishStage(publisher)));
    expect(seen).toEqual(['result p-1 approved', 'report b-1', 'dlq not_json']);
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
});

const anItem = (m: InboundMessage): Item => ({ kind: 'dead', msg: m, reason: 'not_json', detail: 'x' });

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

  it('looks an old gap up in the stream: deleted or aged-out messages no longer hold the acks', async () => {
    const acked: number[] = [];
    let nowMs = 0;
    const asked: number[][] = [];
    const acker = new FloorAcker({
      floorSeq: 0,
      clock: () => nowMs,
      gapCheckMs: 1000,
      // the stream starts at 3 (1-2 aged out) and no longer holds 5; it still holds 6, which will come
      resolveGaps: async (seqs) => {
        asked.push(seqs);
        return { firstSeq: 3, absent: seqs.filter((s) => s === 5) };
      },
    });
    acker.applied(stream([3, 4, 7], acked).map(anItem));
    await acker.checkGaps();
    expect(asked).toEqual([]); // not yet old enough
    nowMs = 1500;
    await acker.checkGaps();
    expect(asked).toEqual([[1, 2, 5, 6]]);
    expect(acker.floorSeq).toBe(5);
    expect(acked).toEqual([]); // 7 is the only ack kept and it is above the floor
    acker.applied(stream([6], acked).map(anItem));
    expect(acker.floorSeq).toBe(7);
    expect(acked).toEqual([7]);
  });

  it('tells once when acks start being held back at a gap', () => {
    const gaps: { floorSeq: number; missing: number[] }[] = [];
    const acker = new FloorAcker({ floorSeq: 0, onGap: ({ floorSeq, missing }) => gaps.push({ floorSeq, missing }) });
    acker.applied(stream([1, 3], []).map(anItem));
    acker.applied(stream([4], []).map(anItem));
    expect(gaps).toEqual([{ floorSeq: 1, missing: [2] }]);
  });
});
