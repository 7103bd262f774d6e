import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NESTING_LEVELS_MAX,
  DEFAULT_PAYLOAD_BYTES_MAX,
  type DecodeOutcome,
  decodePayload,
  nestsDeeperThan,
} from '../../src/domain/decode.ts';
import { DEAD_LETTER_REASONS } from '../../src/domain/reasons.ts';
import { aWireOrder, TEST_PANS } from './builders.ts';

const limits = { payloadBytesMax: DEFAULT_PAYLOAD_BYTES_MAX };
const bytes = (text: string) => new TextEncoder().encode(text);
const decode = (text: string) => decodePayload(bytes(text), limits);

function expectDeadLetter(outcome: DecodeOutcome, reason: keyof typeof DEAD_LETTER_REASONS): string {
  expect(outcome).toMatchObject({ ok: false, reason });
  expect(outcome.id).toBeUndefined();
  return outcome.ok ? '' : outcome.detail;
}

describe('decodePayload: size, UTF-8 and JSON', () => {
  it('has a default payload limit of 8 KiB', () => {
    expect(DEFAULT_PAYLOAD_BYTES_MAX).toBe(8192);
  });

  it('decodes a wire order into its object and id', () => {
    const wire = aWireOrder({ id: 'ord_42' });
    expect(decodePayload(bytes(JSON.stringify(wire)), limits)).toEqual({ ok: true, raw: wire, id: 'ord_42' });
  });

  it('keeps unknown fields for validate to ignore', () => {
    const outcome = decode('{"id":"a","extra":{"x":[1,2]}}');
    expect(outcome).toEqual({ ok: true, id: 'a', raw: { id: 'a', extra: { x: [1, 2] } } });
  });

  it('accepts a payload of exactly the limit and dead-letters one byte more as too_large', () => {
    const small = { payloadBytesMax: 20 };
    const exact = '{"id":"abcdefghijk"}';
    expect(exact).toHaveLength(20);
    expect(decodePayload(bytes(exact), small).ok).toBe(true);
    const detail = expectDeadLetter(decodePayload(bytes(`${exact} `), small), 'too_large');
    expect(detail).toBe('payload is 21 bytes, the limit is 20');
  });

  it('measures size in bytes, not characters', () => {
    const text = '{"id":"a","n":"éé"}'; // 19 characters, 21 bytes
    expect(decodePayload(bytes(text), { payloadBytesMax: 20 })).toMatchObject({
      ok: false,
      reason: 'too_large',
    });
  });

  it('checks the size before parsing: an oversized non-JSON payload is too_large, not not_json', () => {
    expectDeadLetter(decodePayload(bytes('x'.repeat(9000)), limits), 'too_large');
  });

  it.each([
    '',
    ' ',
    'not json',
    '{',
    '{"id":"a",}',
    "{'id':'a'}",
    '{"id":"a"}{"id":"b"}',
    'NaN',
    '{"id":"a"} x',
  ])('dead-letters %j as not_json', (text) => {
    expectDeadLetter(decode(text), 'not_json');
  });

  it('dead-letters invalid UTF-8 as not_json rather than decoding it with replacement characters', () => {
    const broken = new Uint8Array([...bytes('{"id":"a","m":"'), 0xff, 0xfe, ...bytes('"}')]);
    expect(expectDeadLetter(decodePayload(broken, limits), 'not_json')).toBe('payload is not valid UTF-8');
  });

  it('accepts a UTF-8 byte order mark before the JSON', () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"id":"a"}')]);
    expect(decodePayload(withBom, limits)).toMatchObject({ ok: true, id: 'a' });
  });
});

describe('decodePayload: objects and their ids', () => {
  it.each([
    ['[]', 'array'],
    ['[{"id":"a"}]', 'array'],
    ['null', 'null'],
    ['42', 'number'],
    ['"ord_1"', 'string'],
    ['true', 'boolean'],
  ])('dead-letters %s as not_object and says it is a JSON %s', (text, kind) => {
    expect(expectDeadLetter(decode(text), 'not_object')).toBe(`payload is a JSON ${kind}, not an object`);
  });

  it.each([
    ['{}', 'id is missing'],
    ['{"ID":"a"}', 'id is missing'],
    ['{"id":null}', 'id is a JSON null, not a string'],
    ['{"id":42}', 'id is a JSON number, not a string'],
    ['{"id":["a"]}', 'id is a JSON array, not a string'],
    ['{"id":{"v":"a"}}', 'id is a JSON object, not a string'],
    ['{"id":""}', 'id must be 1-64 characters of A-Z a-z 0-9 _ -'],
    ['{"id":"has space"}', 'id must be 1-64 characters of A-Z a-z 0-9 _ -'],
    ['{"id":"a.b"}', 'id must be 1-64 characters of A-Z a-z 0-9 _ -'],
    ['{"id":"ordé"}', 'id must be 1-64 characters of A-Z a-z 0-9 _ -'],
    ['{"id":"a\\n"}', 'id must be 1-64 characters of A-Z a-z 0-9 _ -'],
    [`{"id":"${'a'.repeat(65)}"}`, 'id must be 1-64 characters of A-Z a-z 0-9 _ -'],
  ])('dead-letters %s as no_id: %s', (text, detail) => {
    expect(expectDeadLetter(decode(text), 'no_id')).toBe(detail);
  });

  it('accepts ids of 1 to 64 characters of letters, digits, _ and -', () => {
    for (const id of ['a', 'A-b_9', 'a'.repeat(64), '0', '-', '_']) {
      expect(decode(JSON.stringify({ id }))).toMatchObject({ ok: true, id });
    }
  });
});

describe('decodePayload: no echo and no exception, for any input', () => {
  it('never echoes the payload in a detail, so a PAN in a bad payload stays out of the dead-letter queue', () => {
    const pan = TEST_PANS.visa[0];
    const payloads = [
      `{"id":"a","pan":"${pan}",}`,
      `{"pan":${pan}`,
      `${pan}`,
      `[${pan}]`,
      `{"pan":"${pan}"}`,
      `{"id":"${pan} x","pan":"${pan}"}`,
      `{"id":${pan}}`,
      `{"id":"a","pan":"${pan}"}${'x'.repeat(9000)}`,
    ];
    for (const text of payloads) {
      const outcome = decode(text);
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) {
        expect(outcome.detail).not.toContain(pan);
        expect(outcome.detail).not.toContain(pan.slice(0, 6));
      }
    }
  });

  it('never throws and always answers ok or a dead-letter reason, for any bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 400 }),
        (data, payloadBytesMax) => {
          const outcome = decodePayload(data, { payloadBytesMax });
          if (outcome.ok) {
            expect(outcome.raw.id).toBe(outcome.id);
          } else {
            expect(Object.keys(DEAD_LETTER_REASONS)).toContain(outcome.reason);
            expect(outcome.detail.length).toBeLessThan(80);
          }
        },
      ),
    );
  });

  it('decodes any JSON object with a valid id to the same object (property)', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
    fc.assert(
      fc.property(id, fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }), (orderId, rest) => {
        const raw = { ...rest, id: orderId };
        const text = JSON.stringify(raw);
        fc.pre(bytes(text).byteLength <= DEFAULT_PAYLOAD_BYTES_MAX);
        expect(decode(text)).toEqual({ ok: true, raw: JSON.parse(text), id: orderId });
      }),
    );
  });
});

/** Reference depth of a parsed JSON value: levels of arrays and objects, a scalar is 0. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

const nestedArrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const nestedObjects = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

describe('decodePayload: nesting depth', () => {
  it('has a default limit of 32 levels of [ and {', () => {
    expect(DEFAULT_NESTING_LEVELS_MAX).toBe(32);
  });

  it('accepts a payload nested exactly to the limit and dead-letters one level more as too_deep', () => {
    const atLimit = `{"id":"a","x":${nestedArrays(DEFAULT_NESTING_LEVELS_MAX - 1)}}`;
    expect(decode(atLimit)).toMatchObject({ ok: true, id: 'a' });
    const beyond = `{"id":"a","x":${nestedArrays(DEFAULT_NESTING_LEVELS_MAX)}}`;
    expect(expectDeadLetter(decode(beyond), 'too_deep')).toBe('payload nests deeper than 32 levels of [ and {');
  });

  it('counts arrays and objects together', () => {
    const mixed = (levels: number) => `${'[{"a":'.repeat(levels / 2)}1${'}]'.repeat(levels / 2)}`;
    expect(nestsDeeperThan(bytes(mixed(32)), 32)).toBe(false);
    expect(nestsDeeperThan(bytes(mixed(34)), 32)).toBe(true);
    expect(nestsDeeperThan(bytes(nestedObjects(33)), 32)).toBe(true);
    expect(nestsDeeperThan(bytes(nestedObjects(32)), 32)).toBe(false);
  });

  it('honours a configured limit', () => {
    const order = '{"id":"a","meta":{"tags":["x"]}}'; // 3 levels
    expect(decodePayload(bytes(order), { ...limits, nestingLevelsMax: 3 })).toMatchObject({ ok: true, id: 'a' });
    expectDeadLetter(decodePayload(bytes(order), { ...limits, nestingLevelsMax: 2 }), 'too_deep');
  });

  it('counts siblings once: many arrays side by side are one level', () => {
    expect(decode(`{"id":"a","x":[${Array(500).fill('[]').join(',')}]}`)).toMatchObject({ ok: true });
  });

  it.each([
    ['brackets inside a string', `{"id":"a","s":"${'[{'.repeat(100)}"}`],
    ['an escaped quote that does not end the string', `{"id":"a","s":"\\"${'['.repeat(100)}"}`],
    ['escaped backslashes before an escaped quote', `{"id":"a","s":"\\\\\\"${'{'.repeat(100)}"}`],
    ['a key made of brackets', `{"id":"a","${'['.repeat(100)}":1}`],
  ])('does not count %s', (_what, text) => {
    expect(decode(text)).toMatchObject({ ok: true, id: 'a' });
  });

  it('ends a string at a quote after an escaped backslash, so brackets after it count', () => {
    const text = `{"id":"a","s":"\\\\","x":${nestedArrays(40)}}`;
    expect(JSON.parse(text).s).toBe('\\');
    expectDeadLetter(decode(text), 'too_deep');
  });

  it('agrees with the one-byte-at-a-time scan it replaced, for any bytes (property)', () => {
    const byState = (data: Uint8Array, levelsMax: number): boolean => {
      let depth = 0;
      let inString = false;
      for (let i = 0; i < data.length; i++) {
        const b = data[i]!;
        if (inString) {
          if (b === 0x5c) i++;
          else if (b === 0x22) inString = false;
        } else if (b === 0x22) inString = true;
        else if (b === 0x5b || b === 0x7b) {
          if (++depth > levelsMax) return true;
        } else if ((b === 0x5d || b === 0x7d) && depth > 0) depth--;
      }
      return false;
    };
    const unit = fc.constantFrom(...'"\\[]{}a:,'.split('').map((c) => c.charCodeAt(0)), 0xff);
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 60 }), fc.integer({ min: 0, max: 6 }), (codes, levelsMax) => {
        const data = Uint8Array.from(codes);
        expect(nestsDeeperThan(data, levelsMax)).toBe(byState(data, levelsMax));
      }),
      { numRuns: 5000 },
    );
  });

  it('does not let stray closing brackets lower the count below zero', () => {
    expect(nestsDeeperThan(bytes(`${']}'.repeat(50)}${'['.repeat(33)}`), 32)).toBe(true);
  });
});

describe('decodePayload: nesting depth among the other checks, and for any JSON', () => {
  it('checks depth before parsing: deep invalid JSON and deep invalid UTF-8 are too_deep, not not_json', () => {
    expectDeadLetter(decode('['.repeat(5000)), 'too_deep');
    const broken = new Uint8Array([...bytes('{"id":"a","m":"'), 0xff, 0xfe, ...bytes(`",${'['.repeat(40)}`)]);
    expectDeadLetter(decodePayload(broken, limits), 'too_deep');
  });

  it('checks size before depth: an oversized deep payload is too_large', () => {
    expectDeadLetter(decode(nestedArrays(6000)), 'too_large');
  });

  it("refuses the issue's poison: a rejected order with 3,000 nested arrays, without echoing it", () => {
    const pan = TEST_PANS.visa[0];
    const poison = `{"id":"p1","type":"payment","pan":"${pan}","amount":"bad","extra":${nestedArrays(3000)}}`;
    expect(bytes(poison).byteLength).toBeLessThan(DEFAULT_PAYLOAD_BYTES_MAX);
    const detail = expectDeadLetter(decode(poison), 'too_deep');
    expect(detail).not.toContain(pan);
    expect(detail).not.toContain('p1');
  });

  it('scans an empty payload and plain scalars as depth 0', () => {
    for (const text of ['', '1', '"[[["', 'true']) expect(nestsDeeperThan(bytes(text), 0)).toBe(false);
    expect(nestsDeeperThan(bytes('[]'), 0)).toBe(true);
  });

  it('agrees with the depth of the parsed value for any JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, levelsMax) => {
        const text = JSON.stringify(value);
        expect(nestsDeeperThan(bytes(text), levelsMax)).toBe(depthOf(value) > levelsMax);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the parsed depth for strings full of quotes, backslashes and brackets (property)', () => {
    const tricky = fc.string({ unit: fc.constantFrom('"', '\\', '[', ']', '{', '}', 'a', 'é') });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, tricky, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(tricky, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 6 }), (v, levelsMax) => {
        expect(nestsDeeperThan(bytes(JSON.stringify(v)), levelsMax)).toBe(depthOf(v) > levelsMax);
      }),
      { numRuns: 2000 },
    );
  });
});
