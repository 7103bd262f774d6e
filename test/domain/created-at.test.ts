// parseCreatedAt reads createdAt by char code: it must accept exactly what CREATED_AT_RE accepts and give the
// instant Date gives, so it is held here to the regex-and-Date reading it replaced, on near-miss inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCreatedAt } from '../../src/domain/order.ts';

const CREATED_AT_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The reading before the char-code parser: the regex's groups and a Date. */
function byRegexAndDate(text: string): number | undefined {
  const m = CREATED_AT_RE.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const leap = (year! % 4 === 0 && year! % 100 !== 0) || year! % 400 === 0;
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month! - 1]!;
  if (month! < 1 || month! > 12 || day! < 1 || day! > days) return undefined;
  if (hour! > 23 || minute! > 59 || second! > 59) return undefined;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year!, month! - 1, day);
  utc.setUTCHours(hour!, minute, second, ms);
  return utc.getTime() - offsetMinutes * 60_000;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

/** Well-formed text over every field's whole range, out-of-range values included. */
const wellFormed = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 99 }),
    day: fc.integer({ min: 0, max: 99 }),
    hour: fc.integer({ min: 0, max: 99 }),
    minute: fc.integer({ min: 0, max: 99 }),
    second: fc.integer({ min: 0, max: 99 }),
    fraction: fc.option(digits(0, 11), { nil: undefined }),
    offset: fc.oneof(fc.constant('Z'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 })).map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`)),
  })
  .map(
    (f) =>
      `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}T${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}` +
      `${f.fraction === undefined ? '' : `.${f.fraction}`}${f.offset}`,
  );

/** A well-formed text with one character replaced, inserted or removed, or something appended. */
const nearMiss = fc
  .tuple(wellFormed, fc.nat(), fc.constantFrom('0', '9', '-', '+', ':', '.', 'T', 't', 'Z', 'z', ' ', '\n', '٣', '０', '/', ''), fc.constantFrom('replace', 'insert', 'append'))
  .map(([text, at, c, how]) => {
    const i = at % (text.length + 1);
    if (how === 'append') return text + c;
    return text.slice(0, i) + c + text.slice(how === 'replace' ? i + 1 : i);
  });

describe('parseCreatedAt', () => {
  it('reads what the regex-and-Date reading read, the same instant or undefined (property)', () => {
    fc.assert(
      fc.property(fc.oneof(wellFormed, nearMiss, fc.string({ maxLength: 40 })), (text) => {
        expect(parseCreatedAt(text)).toBe(byRegexAndDate(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees on every instant Date can print in years 0-9999 (property)', () => {
    // 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (ms) => {
        const text = new Date(ms).toISOString();
        expect(parseCreatedAt(text)).toBe(ms);
        expect(parseCreatedAt(text)).toBe(byRegexAndDate(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees on the edges: leap days, the first and last instants, offsets, fractions', () => {
    const table = [
      '0000-01-01T00:00:00Z',
      '0000-02-29T00:00:00Z',
      '0001-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2000-02-29T23:59:59.999999999Z',
      '2100-02-29T00:00:00Z',
      '9999-12-31T23:59:59.999+23:59',
      '0000-01-01T00:00:00-23:59',
      '1970-01-01T00:00:00-00:00',
      '1970-01-01T00:00:00+00:00',
      '1969-12-31T23:59:59.9991Z',
      '2026-11-25T10:00:00.Z',
      '2026-11-25T10:00:00.1234567890Z',
      '2026-11-25T10:00:00.123456789Z',
      '2026-11-25T10:00:00+24:00',
      '2026-11-25T10:00:00+23:60',
      '2026-11-25T10:00:00+0100',
      '2026-11-25T10:00:00Z\n',
      '2026-11-25T24:00:00Z',
      '2026-11-25T10:60:00Z',
      '2026-11-25T10:00:60Z',
      '2026-04-31T10:00:00Z',
      '2026-13-01T10:00:00Z',
      '2026-00-01T10:00:00Z',
      '2026-11-00T10:00:00Z',
      '2026-11-25 10:00:00Z',
      '+2026-11-25T10:00:00Z',
      '2026-11-25T10:00:00',
      '',
    ];
    for (const text of table) expect(parseCreatedAt(text), text).toBe(byRegexAndDate(text));
  });
});
