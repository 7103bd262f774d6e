import { describe, expect, it } from 'vitest';
import { tokenizePan } from '../../src/domain/cards.ts';
import { shiftCreatedAt, toRecordLine } from '../../src/recording/line.ts';
import { PAN_REDACTED, redactPanRuns, scrubPayload, scrubRecordLine } from '../../src/recording/scrub.ts';
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
    const payload =
      '{ "id" : "o1",  "card": "0123456789012345678abc4111111111111111def", "amount": "12.50" }';
    expect(scrubPayload(payload, tokenize)).toBe(payload);
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
