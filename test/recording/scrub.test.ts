import { describe, expect, it } from 'vitest';
import { findPanRuns, tokenizePan } from '../../src/domain/cards.ts';
import { shiftCreatedAt, toRecordLine } from '../../src/recording/line.ts';
import {
  DEAD_LETTER_ORDER_FIELDS,
  deadLetterPayload,
  PAN_REDACTED,
  redactPanRuns,
  SAD_REDACTED,
  scrubPayload,
  scrubRecordLine,
  scrubSubject,
} from '../../src/recording/scrub.ts';
import { TEST_PANS, TEST_TOKEN_KEY } from '../domain/builders.ts';

const PAN = TEST_PANS.visa[0];
const tokenize = (pan: string): string => tokenizePan(pan, TEST_TOKEN_KEY);
const TOKEN = tokenize(PAN);

describe('scrubPayload', () => {
  it('replaces a pan field by card with its token, in the same place', () => {
    const payload = JSON.stringify({ id: 'o1', type: 'payment', pan: PAN, merchant: 'm', amount: '1.00' });
    expect(scrubPayload(payload, tokenize)).toBe(
      JSON.stringify({ id: 'o1', type: 'payment', card: TOKEN, merchant: 'm', amount: '1.00' }),
    );
  });

  it('tokenizes a PAN typed with spaces the same as without', () => {
    const payload = JSON.stringify({ id: 'o1', pan: '4111 1111 1111 1111' });
    expect(JSON.parse(scrubPayload(payload, tokenize))).toEqual({ id: 'o1', card: TOKEN });
  });

  it('redacts the pan when there is no tokenizer, and drops it when a card is already there', () => {
    expect(JSON.parse(scrubPayload(JSON.stringify({ id: 'o1', pan: PAN })))).toEqual({
      id: 'o1',
      pan: PAN_REDACTED,
    });
    expect(JSON.parse(scrubPayload(JSON.stringify({ id: 'o1', card: 'abc', pan: PAN }), tokenize))).toEqual({
      id: 'o1',
      card: 'abc',
    });
  });

  it('keeps a pan that is no valid PAN, so a replay is still rejected for it', () => {
    const payload = JSON.stringify({ id: 'o1', pan: '4111111111111112' });
    expect(scrubPayload(payload, tokenize)).toBe(payload);
  });

  it('redacts PANs elsewhere in JSON: other strings, nested objects and arrays, and bare numbers', () => {
    const payload = `{"id":"o1","note":"card ${PAN} declined","deep":{"list":["${TEST_PANS.amex[0]}"]},"n":${TEST_PANS.mastercard[0]},"pan":${PAN}}`;
    const scrubbed = scrubPayload(payload, tokenize);
    expect(JSON.parse(scrubbed)).toEqual({
      id: 'o1',
      note: `card ${PAN_REDACTED} declined`,
      deep: { list: [PAN_REDACTED] },
      n: PAN_REDACTED,
      pan: PAN_REDACTED,
    });
  });

  it('keeps long numbers that are no PAN exactly, digits beyond 2^53 included', () => {
    const payload = `{"id":"o1","pan":"${PAN}","seq":12345678901234567891,"atMs":1780000000001}`;
    expect(scrubPayload(payload, tokenize)).toBe(
      `{"id":"o1","card":"${TOKEN}","seq":12345678901234567891,"atMs":1780000000001}`,
    );
  });

  it('returns a payload with nothing to scrub byte for byte, and never touches digit runs inside a card token', () => {
    // a 64-hex token with a Luhn-valid visa run inside: a token, not a PAN
    const token = `abc${PAN}${'d'.repeat(45)}`;
    const payload = `{ "id" : "o1",  "card": "${token}", "amount": "12.50", "n": 1764583200123 }`;
    expect(scrubPayload(payload, tokenize)).toBe(payload);
    expect(scrubPayload(`{"id":"o1","card":"${TOKEN}"}`, tokenize)).toBe(`{"id":"o1","card":"${TOKEN}"}`);
  });

  it('redacts PAN-looking runs in text that is not JSON', () => {
    expect(scrubPayload(`id=o1&pan=${PAN}&amount=1`, tokenize)).toBe(`id=o1&pan=${PAN_REDACTED}&amount=1`);
    expect(scrubPayload('{"id":"o1","pan":"4111-1111-1111-1111",', tokenize)).toBe(
      `{"id":"o1","pan":"${PAN_REDACTED}",`,
    );
    expect(redactPanRuns('order 123456789012 at 2026-06-01')).toBe('order 123456789012 at 2026-06-01');
  });

  it('does not let a __proto__ key change the object it rebuilds', () => {
    const payload = `{"__proto__":{"x":1},"pan":"${PAN}"}`;
    expect(scrubPayload(payload, tokenize)).toBe(`{"__proto__":{"x":1},"card":"${TOKEN}"}`);
  });
});

describe('scrubPayload: the widened PAN and SAD scrub (issue 14)', () => {
  it.each([
    ['as a JSON key', `{"id":"o1","${PAN}":1}`],
    ['touching letters', '{"id":"o1","note":"xx4900000000000169yy"}'],
    ['split by dots', '{"id":"o1","note":"4111.1111.1111.1111"}'],
    ['split by slashes', '{"id":"o1","note":"4111/1111/1111/1111"}'],
    ['split by NBSP', '{"id":"o1","note":"4111\u00a01111\u00a01111\u00a01111"}'],
    ['split by thin spaces, as an escape', '{"id":"o1","note":"4111\\u20091111\\u20091111\\u20091111"}'],
    ['in fullwidth digits', '{"id":"o1","note":"\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11"}'],
    ['as a decimal number', `{"id":"o1","n":${PAN}.0}`],
    ['deep in arrays', `{"id":"o1","x":[[[{"y":["${PAN}"]}]]]}`],
  ])('redacts a PAN %s', (_what, payload) => {
    const scrubbed = scrubPayload(payload, tokenize);
    const digits = (text: string) => findPanRuns(JSON.parse(text) === undefined ? '' : JSON.stringify(JSON.parse(text))).length;
    expect(digits(payload)).toBeGreaterThan(0);
    expect(digits(scrubbed)).toBe(0);
    expect(scrubbed).toContain(PAN_REDACTED);
    expect(JSON.parse(scrubbed).id).toBe('o1');
  });

  it('blanks CVVs and other sensitive authentication data at any depth, keeping the key so a replay is refused the same way', () => {
    const payload = JSON.stringify({
      id: 'o1',
      cvv: '987',
      securityCode: '543',
      card: { cv2: '321' },
      list: [{ 'Security-Code': '654' }],
      track2: ';4111111111111111=25121010000000000?',
      pinBlock: '0412AC89ABCDEF67',
      note: '%B4111111111111111^DOE/JOHN^2512101000?',
      extra: { nested: { deep: { CVV2: { value: '777' } } } },
    });
    const scrubbed = scrubPayload(payload, tokenize);
    for (const secret of ['987', '543', '321', '654', '4111', '0412AC89', 'DOE/JOHN', '777']) expect(scrubbed).not.toContain(secret);
    expect(JSON.parse(scrubbed)).toEqual({
      id: 'o1',
      cvv: SAD_REDACTED,
      securityCode: SAD_REDACTED,
      card: { cv2: SAD_REDACTED },
      list: [{ 'Security-Code': SAD_REDACTED }],
      track2: SAD_REDACTED,
      pinBlock: SAD_REDACTED,
      note: SAD_REDACTED,
      extra: { nested: { deep: { CVV2: SAD_REDACTED } } },
    });
    expect(scrubPayload(scrubbed, tokenize)).toBe(scrubbed);
  });

  it('scrubs CVV pairs and track data in text that is not JSON', () => {
    const text = `id=o1&cvv=987&security_code=543&t2=;${PAN}=25121010000?&pan=${PAN}`;
    const scrubbed = scrubPayload(text, tokenize);
    for (const secret of ['987', '543', PAN, '2512101']) expect(scrubbed).not.toContain(secret);
    expect(scrubbed.startsWith('id=o1&cvv=')).toBe(true);
  });

  it('scrubs 100,000 nested arrays (and objects) without throwing, with and without something to change', () => {
    const arrays = `{"id":"o1","amount":"bad","extra":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(scrubPayload(arrays, tokenize)).toBe(arrays);
    const withPan = `{"id":"o1","extra":${'['.repeat(100_000)}"${PAN}"${']'.repeat(100_000)}}`;
    const scrubbed = scrubPayload(withPan, tokenize);
    expect(scrubbed).not.toContain(PAN);
    expect(scrubbed.length).toBe(withPan.length - PAN.length + PAN_REDACTED.length);
    const objects = `${'{"a":'.repeat(100_000)}{"cvv":"987"}${'}'.repeat(100_000)}`;
    expect(scrubPayload(objects, tokenize)).not.toContain('987');
  });

  it('never writes out raw text from a string that merely looks like a marked number', () => {
    const payload = `{"s":"\\u0000num:1,\\"x\\":2","pan":"${PAN}"}`;
    const scrubbed = scrubPayload(payload, tokenize);
    expect(Object.keys(JSON.parse(scrubbed))).toEqual(['s', 'card']);
  });
});

describe('deadLetterPayload: an allow-list (issue 14)', () => {
  const order = { id: 'o1', type: 'payment', merchant: 'm1', amount: 'bad', currency: 'USD', createdAt: '2026-11-25T10:00:00.000Z' };

  it('keeps the order fields, turns a valid pan into its token, and drops the rest by name: a CVV, a securityCode, a PAN-bearing extra', () => {
    const payload = JSON.stringify({ ...order, pan: PAN, cvv: '987', securityCode: '543', notes: { memo: `card ${PAN}` }, [`k${PAN}`]: 1 });
    const kept = JSON.parse(deadLetterPayload(payload, 'order', tokenize));
    expect(kept).toEqual({ ...order, card: TOKEN, droppedFields: ['cvv', 'securityCode', 'notes', `k${PAN_REDACTED}`] });
    const text = JSON.stringify(kept);
    for (const secret of ['987', '543', PAN]) expect(text).not.toContain(secret);
  });

  it('drops a pan that is no valid PAN, a pan next to a card, and values that are objects or track data', () => {
    expect(JSON.parse(deadLetterPayload(JSON.stringify({ id: 'o1', pan: '4111111111111112' }), 'order', tokenize))).toEqual({ id: 'o1', droppedFields: ['pan'] });
    expect(JSON.parse(deadLetterPayload(JSON.stringify({ id: 'o1', card: TOKEN, pan: PAN }), 'order', tokenize))).toEqual({ id: 'o1', card: TOKEN, droppedFields: ['pan'] });
    expect(JSON.parse(deadLetterPayload(JSON.stringify({ id: 'o1', merchant: { x: 1 }, ref: `;${PAN}=2512101?` }), 'order', tokenize))).toEqual({ id: 'o1', droppedFields: ['merchant', 'ref'] });
  });

  it('redacts a PAN inside a kept value, and cuts long values and long or many names', () => {
    const payload = JSON.stringify({ id: 'o1', merchant: `m-${PAN}`, ref: 'r'.repeat(500), ['n'.repeat(500)]: 1, ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, i])) });
    const kept = JSON.parse(deadLetterPayload(payload, 'order', tokenize));
    expect(kept.merchant).toBe(`m-${PAN_REDACTED}`);
    expect(kept.ref.length).toBeLessThanOrEqual(64);
    expect(kept.droppedFields).toHaveLength(12);
    expect(kept.droppedFields[0].length).toBeLessThanOrEqual(32);
    expect(kept.droppedFieldCount).toBe(31);
  });

  it('keeps only the header fields of a batch header', () => {
    const header = { id: 'b1', count: 2, controlSum: '3.00', currency: 'USD', mode: 'atomic' };
    const payload = JSON.stringify({ ...header, pan: PAN, note: PAN, cvv: '987' });
    expect(JSON.parse(deadLetterPayload(payload, 'batch', tokenize))).toEqual({ ...header, droppedFields: ['pan', 'note', 'cvv'] });
  });

  it.each([
    ['not JSON', `id=o1&pan=${PAN}&cvv=987`],
    ['a JSON array', `[{"pan":"${PAN}","cvv":"987"}]`],
    ['a JSON string', `"${PAN} cvv 987"`],
  ])('keeps nothing of a payload that is %s', (_what, payload) => {
    expect(JSON.parse(deadLetterPayload(payload, 'order', tokenize))).toEqual({ kept: 'nothing', payloadChars: payload.length });
  });

  it('keeps the top-level fields of 100,000 nested arrays without throwing, and drops the nest by name', () => {
    const payload = `{"id":"poison","amount":"bad","extra":${'['.repeat(100_000)}${']'.repeat(100_000)},"cvv":"987"}`;
    expect(JSON.parse(deadLetterPayload(payload, 'order', tokenize))).toEqual({ id: 'poison', amount: 'bad', droppedFields: ['extra', 'cvv'] });
  });

  it('keeps the fields read whole before the cut of a payload prefix, and none after', () => {
    const payload = `{"id":"o1","pan":"${PAN}","amount":"bad","extra":[[[[{"cvv":"987"`;
    expect(JSON.parse(deadLetterPayload(payload, 'order', tokenize))).toEqual({ id: 'o1', card: TOKEN, amount: 'bad', droppedFields: ['extra'] });
    // a value cut short is not kept: '{"id":"o1","merchant":"m-41111' could be the start of a PAN
    expect(JSON.parse(deadLetterPayload('{"id":"o1","merchant":"m-4111', 'order', tokenize))).toEqual({ id: 'o1', droppedFields: ['merchant'] });
    expect(JSON.parse(deadLetterPayload(`{"id":"o1","cvv":"987","pan":"${PAN}"`, 'order', tokenize))).toEqual({ id: 'o1', droppedFields: ['cvv', 'pan'] });
    expect(JSON.parse(deadLetterPayload(`{"id":"o1",cvv:987,"pan":"${PAN}"}`, 'order', tokenize))).toEqual({ id: 'o1' });
    expect(JSON.parse(deadLetterPayload('{"id":"o1","amount":12', 'order', tokenize))).toEqual({ id: 'o1', droppedFields: ['amount'] });
  });

  it('is never more than 1 KiB, whatever it is given', () => {
    const long = 'é'.repeat(200);
    const payload = JSON.stringify({ ...Object.fromEntries(DEAD_LETTER_ORDER_FIELDS.map((f) => [f, long])), ...Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${long}${i}`, 1])) });
    const text = deadLetterPayload(payload, 'order', tokenize);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024);
    expect(JSON.parse(text).id).toBeDefined();
  });
});

describe('scrubSubject', () => {
  it('redacts a PAN in a subject with a token a subject can carry, however it is written', () => {
    expect(scrubSubject(`pay.batches.${PAN}`)).toBe('pay.batches.PAN-REDACTED');
    expect(scrubSubject('pay.orders.xx4900000000000169yy')).toBe('pay.orders.xxPAN-REDACTEDyy');
    expect(scrubSubject('pay.orders.4111_1111_1111_1111')).toBe('pay.orders.PAN-REDACTED');
    expect(scrubSubject('pay.orders.e2e')).toBe('pay.orders.e2e');
  });
});

describe('scrubRecordLine', () => {
  it('scrubs the subject, the header values and a binary payload too', () => {
    const data = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(` ${PAN} `)]);
    const line = toRecordLine({
      subject: `pay.results.approved.${PAN}`,
      data,
      headers: { Note: [`pan ${PAN}`] },
      receivedAtMs: 1,
    });
    expect(line.payloadBase64).toBeDefined();
    const scrubbed = scrubRecordLine(line, tokenize);
    expect(JSON.stringify(scrubbed)).not.toContain(PAN);
    expect(scrubbed.subject).toBe('pay.results.approved.PAN-REDACTED');
    expect(Buffer.from(scrubbed.payloadBase64!, 'base64').subarray(0, 2)).toEqual(Buffer.from([0xff, 0xfe]));
  });
});

describe('shiftCreatedAt', () => {
  it('moves only the createdAt characters', () => {
    const payload = '{"id":"o1", "createdAt" : "2026-06-01T12:00:00.000Z","amount":"1.00"}';
    expect(shiftCreatedAt(payload, 90_000)).toBe(
      '{"id":"o1", "createdAt" : "2026-06-01T12:01:30.000Z","amount":"1.00"}',
    );
  });

  it('leaves alone what is not JSON, has no parseable createdAt, or has it only nested', () => {
    for (const payload of [
      'not json "createdAt":"2026-06-01T12:00:00Z"',
      '{"createdAt":"yesterday"}',
      '{"x":{"createdAt":"2026-06-01T12:00:00Z"}}',
    ]) {
      expect(shiftCreatedAt(payload, 1000)).toBe(payload);
    }
  });
});
