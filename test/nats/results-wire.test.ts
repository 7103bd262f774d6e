// The processor's publisher encodes a buffer's results once, into one array: what reaches the wire (subjects,
// payload bytes, order), first and after a reconnect, is what publishing each result on its own gives.

import fc from 'fast-check';
import { Events, type NatsConnection } from 'nats';
import { describe, expect, it } from 'vitest';
import type { OrderResult } from '../../src/domain/types.ts';
import { NatsResultPublisher, natsPublisher } from '../../src/nats/results.ts';
import type { AppliedBuffer } from '../../streams/types.ts';
import { statusFeed } from './status-feed.ts';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const SUBJECTS = { results: 'pay.results', reports: 'pay.reports', dlq: 'pay.dlq' };

/** A connection that records each publish as the bytes nats.js writes of subject and payload (hex), and the header reason. */
function aRecordingConnection() {
  const wire: string[] = [];
  const feed = statusFeed();
  const nc = {
    publish: (subject: string, data: Uint8Array, options?: { headers?: { get(k: string): string } }) =>
      wire.push(`${Buffer.from(subject).toString('hex')} ${Buffer.from(data).toString('hex')} ${options?.headers?.get('Paystream-Reason') ?? ''}`),
    flush: () => Promise.resolve(),
    isClosed: () => false,
    status: feed.status,
  };
  return {
    nc: nc as unknown as NatsConnection,
    wire,
    reconnect: () => feed.emit(Events.Reconnect),
  };
}

const at = new Date(T0).toISOString();
const RESULTS: OrderResult[] = [
  { orderId: 'ord-1001', status: 'approved', transferId: 'tx_ord-1001', available: '4995.25', processedAt: at, latencyMs: 9 },
  { orderId: 'ord-1005', status: 'declined', reason: 'insufficient_funds', available: '12.00', processedAt: at, latencyMs: 7 },
  { orderId: 'ord-1006', status: 'rejected', reason: 'amount_too_precise', field: 'amount', processedAt: at, latencyMs: 5 },
  { orderId: 'ord-1007', status: 'held', rule: 'velocity-card', reason: 'velocity_count', available: '870.00', processedAt: at, latencyMs: 6 },
  { orderId: 'ord-1001', status: 'approved', transferId: 'tx_ord-1001', duplicate: true, processedAt: at, latencyMs: 9 },
  { orderId: 'ord-ünï-€-😀', status: 'rejected', reason: 'invalid_field', field: 'mërchant "q" \\ \n', processedAt: at, latencyMs: 0 },
  { orderId: 'ord-lone-\ud800', status: 'declined', reason: 'review_declined', decidedBy: 'ops-\udfff', batchId: 'b-1', processedAt: at, latencyMs: 1.5 },
];

function aBuffer(results: OrderResult[]): AppliedBuffer {
  return {
    items: [],
    results: results.map((result) => ({ result, receivedAtMs: T0 })),
    deadLetters: [{ reason: 'not_json', detail: 'x', subject: 'pay.orders.t', payload: new Uint8Array([1, 2]), orderId: 'o9', streamSeq: 4 }],
    reports: [{ batchId: 'b-1', report: { batchId: 'b-1', total: 12n } }],
    lastMessage: undefined,
    committedAtMs: T0,
    written: Promise.resolve(),
  };
}

/** What publishing each result, report and dead letter on its own puts on the wire. */
function oneByOne(buffer: AppliedBuffer, resend = false): string[] {
  const connection = aRecordingConnection();
  const wire = natsPublisher(connection.nc, SUBJECTS);
  for (const { result } of buffer.results) wire.result(result);
  for (const { batchId, report } of buffer.reports) wire.report(batchId, report);
  if (!resend) for (const letter of buffer.deadLetters) wire.deadLetter(letter);
  return connection.wire;
}

describe('NatsResultPublisher on the wire', () => {
  it('puts the same subjects and payload bytes, in the same order, as publishing each result on its own', () => {
    const connection = aRecordingConnection();
    const publisher = new NatsResultPublisher(connection.nc, SUBJECTS, () => T0);
    const buffer = aBuffer(RESULTS);
    publisher.publish(buffer);
    expect(connection.wire).toEqual(oneByOne(buffer));
    expect(connection.wire).toHaveLength(RESULTS.length + 2);
  });

  it('grows its array for results that are not ASCII, however many and wherever they come', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ ...RESULTS[i % RESULTS.length]!, orderId: `o-${i}-${'€'.repeat(i % 7)}` }));
    for (const results of [many, many.slice().reverse(), [RESULTS[5]!], [RESULTS[6]!]]) {
      const connection = aRecordingConnection();
      new NatsResultPublisher(connection.nc, SUBJECTS, () => T0).publish(aBuffer(results));
      expect(connection.wire).toEqual(oneByOne(aBuffer(results)));
    }
  });

  it('writes the JSON JSON.stringify writes, for any strings (controls, quotes, surrogates, astral), numbers and key order', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: fc.integer({ min: 0, max: 0x40 }).map((c) => String.fromCharCode(c)) }));
    const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e15, -1e15, 999_999_999_999_999, 2 ** 53, 1e21, 0.1, Number.NaN, Number.POSITIVE_INFINITY));
    const value = fc.oneof(text, number, fc.boolean(), fc.constant(undefined));
    const result = fc
      .tuple(text, fc.dictionary(fc.oneof(text, fc.constantFrom('reason', 'latencyMs', 'duplicate')), value, { maxKeys: 8 }))
      .map(([orderId, rest]) => ({ orderId, status: 'approved', ...rest, processedAt: at }) as unknown as OrderResult);
    fc.assert(
      fc.property(fc.array(result, { minLength: 1, maxLength: 20 }), (results) => {
        const connection = aRecordingConnection();
        new NatsResultPublisher(connection.nc, SUBJECTS, () => T0).publish(aBuffer(results));
        expect(connection.wire).toEqual(oneByOne(aBuffer(results)));
      }),
      { numRuns: 300 },
    );
  });

  it('grows its scratch array past 64 KB: within one result, and across a buffer of many', () => {
    const huge = { ...RESULTS[2]!, field: `f${'\u00e9"\n'.repeat(30_000)}`, latencyMs: -12 };
    const many = Array.from({ length: 1000 }, (_, i) => ({ ...RESULTS[i % 5]!, orderId: `ord-${i}-${'x'.repeat(100)}` }));
    for (const results of [[huge], [...many, huge, ...many], [{ ...RESULTS[0]!, '': '' }]]) {
      const connection = aRecordingConnection();
      new NatsResultPublisher(connection.nc, SUBJECTS, () => T0).publish(aBuffer(results));
      expect(connection.wire).toEqual(oneByOne(aBuffer(results)));
    }
  });

  it('leaves a result holding an object, null or a bigint to JSON.stringify (which refuses a bigint, as before)', () => {
    const odd = [
      { ...RESULTS[0]!, extra: { nested: ['a', 1, null] } },
      { ...RESULTS[1]!, extra: null },
    ] as unknown as OrderResult[];
    const connection = aRecordingConnection();
    new NatsResultPublisher(connection.nc, SUBJECTS, () => T0).publish(aBuffer(odd));
    expect(connection.wire).toEqual(oneByOne(aBuffer(odd)));
    const withBigint = [{ ...RESULTS[0]!, extra: 1n }] as unknown as OrderResult[];
    expect(() => new NatsResultPublisher(connection.nc, SUBJECTS, () => T0).publish(aBuffer(withBigint))).toThrow(/BigInt/);
  });

  it('sends the same bytes again after a reconnect: the results, then the reports, no dead letters', async () => {
    const connection = aRecordingConnection();
    const publisher = new NatsResultPublisher(connection.nc, SUBJECTS, () => T0);
    const buffer = aBuffer(RESULTS);
    publisher.publish(buffer);
    publisher.publish(aBuffer([]));
    connection.wire.length = 0;
    await connection.reconnect();
    expect(connection.wire).toEqual([...oneByOne(buffer, true), ...oneByOne(aBuffer([]), true)]);
  });
});
