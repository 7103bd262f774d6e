// The source's own reading of an ack subject gives what nats.js's parser gives, for both subject forms, and
// leaves every other subject to the library.

import { parseInfo, toJsMsg } from 'nats/lib/jetstream/jsmsg.js';
import type { JsMsg, Msg } from 'nats';
import { describe, expect, it } from 'vitest';
import { parseAckReply, toInbound } from '../../streams/source.ts';

/** A JetStream message as the client builds it, with `reply` as its ack subject. */
function jsMsg(reply: string): JsMsg {
  const acks: string[] = [];
  const msg = { subject: 'pay.orders.web', data: new Uint8Array([123, 125]), reply, sid: 1, respond: () => acks.push(reply) };
  return toJsMsg(msg as unknown as Msg);
}

const old9 = (dc: string, seq: string, ts: string, pending: string) => `$JS.ACK.PAY_ORDERS.paystream.${dc}.${seq}.${seq}.${ts}.${pending}`;
const new12 = (dc: string, seq: string, ts: string, pending: string) =>
  `$JS.ACK.hub.ACCOUNTHASH.PAY_ORDERS.paystream.${dc}.${seq}.7.${ts}.${pending}.r4nd0m`;

const FIGURES: [string, string, string, string][] = [
  ['1', '1', '1733097600123456789', '0'],
  ['2', '59806', '1764633600999999999', '3999'],
  ['17', '9007199254740991', '1764633600000000001', '12'],
  ['1', '0', '0', '0'],
  ['001', '007', '01764633600123456789', '00'],
  // ties and near-ties of the double rounding of a 19-digit timestamp
  ['1', '3', '9007199254740993', '1'],
  ['1', '3', '1764633600000000128', '1'],
  ['1', '3', '1764633600000000384', '1'],
  ['1', '3', '18446744073709551615', '1'],
  ['1', '3', '99999999999999999999', '1'],
];

function expectSameAsLibrary(reply: string): void {
  const library = parseInfo(reply);
  expect(parseAckReply(reply)).toBe(true);
  const inbound = toInbound(jsMsg(reply));
  expect(inbound.streamSeq).toBe(library.streamSequence);
  expect(inbound.receivedAtMs).toBe(Math.floor(library.timestampNanos / 1e6));
  expect(inbound.redelivered).toBe(library.redelivered);
  expect(inbound.pending).toBe(library.pending);
}

describe('the source reads an ack subject as nats.js does', () => {
  it.each(FIGURES)('9-token form: deliveries %s, seq %s, timestamp %s, pending %s', (dc, seq, ts, pending) => {
    expectSameAsLibrary(old9(dc, seq, ts, pending));
  });

  it.each(FIGURES)('12-token form: deliveries %s, seq %s, timestamp %s, pending %s', (dc, seq, ts, pending) => {
    expectSameAsLibrary(new12(dc, seq, ts, pending));
  });

  it('11 tokens (no random token) and the blank domain "_" read the same', () => {
    expectSameAsLibrary('$JS.ACK._.HASH.S.C.3.42.42.1764633600123456789.5');
    expectSameAsLibrary('$JS.ACK._.HASH.S.C.3.42.42.1764633600123456789.5.x.y');
  });

  it('gives the same timestamps as parseInt for 5,000 random 19- and 20-digit ones', () => {
    let seed = 12345;
    const digit = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return String(seed % 10);
    };
    for (let n = 0; n < 5_000; n++) {
      let ts = String(1 + (n % 9));
      for (let k = 0; k < 18 + (n % 2); k++) ts += digit();
      const reply = old9('1', '5', ts, '0');
      expect(parseAckReply(reply)).toBe(true);
      expect(toInbound(jsMsg(reply)).receivedAtMs).toBe(Math.floor(parseInt(ts, 10) / 1e6));
    }
  });

  it('leaves any other subject to the library: same figures, or the same error', () => {
    const odd = [
      old9('1', '12abc', '1764633600123456789', '0'),
      old9('1', '', '1764633600123456789', '0'),
      old9('+1', '5', '1764633600123456789', '0'),
      old9('1', '5', '1764633600123456789000', '0'),
      new12('1', '5', '1764633600123456789', '-1'),
      '$JS.ACK.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s',
    ];
    for (const reply of odd) {
      expect(parseAckReply(reply)).toBe(false);
      const library = parseInfo(reply);
      const inbound = toInbound(jsMsg(reply));
      expect([inbound.streamSeq, inbound.receivedAtMs, inbound.pending]).toEqual([
        library.streamSequence,
        Math.floor(library.timestampNanos / 1e6),
        library.pending,
      ]);
    }
    for (const reply of ['', 'inbox.1', '$JS.ACK.S.C.1.2.3.4', '$JS.NAK.S.C.1.2.3.4.5', '$JS.ACK.S.C.1.2.3.4.5.6']) {
      expect(parseAckReply(reply)).toBe(false);
      expect(() => toInbound(jsMsg(reply))).toThrow('not js message');
    }
  });

  it("acks the message it came from, and asks the ledger whether its sequence was applied", () => {
    const acked: string[] = [];
    const reply = old9('3', '77', '1764633600123456789', '9');
    const m = toJsMsg({ subject: 's', data: new Uint8Array(), reply, sid: 1, respond: () => acked.push('ack') } as unknown as Msg);
    const inbound = toInbound(m, (seq) => seq === 77);
    expect(inbound.redelivered).toBe(true);
    expect(toInbound(m, () => false).redelivered).toBe(false);
    inbound.ack!();
    expect(acked).toEqual(['ack']);
  });
});
