import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AMOUNT_MINOR_MAX,
  CURRENCY_EXPONENTS,
  currencyExponent,
  formatAmount,
  formatMoney,
  fromDecimal,
  parseAmount,
  toDecimal,
} from '../../src/domain/money.ts';

const knownCurrency = fc.constantFrom(...Object.keys(CURRENCY_EXPONENTS));
const validMinor = fc.bigInt({ min: 1n, max: AMOUNT_MINOR_MAX });

describe('currency exponents', () => {
  it.each([
    ['JPY', 0],
    ['KRW', 0],
    ['VND', 0],
    ['CLP', 0],
    ['ISK', 0],
    ['USD', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['CHF', 2],
    ['CNY', 2],
    ['KWD', 3],
    ['BHD', 3],
    ['OMR', 3],
    ['JOD', 3],
    ['TND', 3],
    ['LYD', 3],
    ['IQD', 3],
  ])('knows %s has exponent %i', (code, exponent) => {
    expect(currencyExponent(code)).toBe(exponent);
  });

  it('knows well over the 60 most used codes, all three uppercase letters with exponent 0, 2 or 3', () => {
    const entries = Object.entries(CURRENCY_EXPONENTS);
    expect(entries.length).toBeGreaterThanOrEqual(60);
    for (const [code, exponent] of entries) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3]).toContain(exponent);
    }
  });

  it.each(['usd', 'US', 'USDD', '', 'XXX', 'XTS', 'toString', '__proto__', 'constructor', 'HRK'])(
    'does not know %j',
    (code) => {
      expect(currencyExponent(code)).toBeUndefined();
    },
  );

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(CURRENCY_EXPONENTS)).toBe(true);
  });
});

describe('parseAmount', () => {
  it.each([
    ['12.50', 'USD', 1250n],
    ['12.5', 'USD', 1250n],
    ['12', 'USD', 1200n],
    ['0.5', 'USD', 50n],
    ['0.01', 'USD', 1n],
    ['007.50', 'USD', 750n],
    ['1234', 'JPY', 1234n],
    ['1.234', 'KWD', 1234n],
    ['1.2', 'KWD', 1200n],
    ['10000000000000.00', 'USD', AMOUNT_MINOR_MAX],
    ['1000000000000000', 'JPY', AMOUNT_MINOR_MAX],
  ])('parses %j %s as %s minor units', (value, currency, expected) => {
    expect(parseAmount(value, currency)).toEqual({ ok: true, amountMinor: expected });
  });

  it.each([
    ['12.500', 'USD', 1250n],
    ['12.000000', 'USD', 1200n],
    ['12.0', 'JPY', 12n],
    ['1.2340', 'KWD', 1234n],
  ])('accepts trailing zeros beyond the exponent: %j %s is %s', (value, currency, expected) => {
    expect(parseAmount(value, currency)).toEqual({ ok: true, amountMinor: expected });
  });
});

describe('parseAmount: refusals', () => {
  it.each([12.5, 0, 1e21, Number.NaN, Number.POSITIVE_INFINITY, 12n, null, true, {}, ['12.50'], undefined])(
    'rejects the non-string %s with amount_not_string',
    (value) => {
      expect(parseAmount(value, 'USD')).toEqual({ ok: false, reason: 'amount_not_string' });
    },
  );

  it.each([
    '',
    'abc',
    'NaN',
    'Infinity',
    '-Infinity',
    '1e3',
    '1E3',
    '12.5e1',
    '+12.50',
    ' 12.50',
    '12.50 ',
    '12 .50',
    '.5',
    '12.',
    '12..5',
    '1.2.3',
    '1,234.50',
    '12,50',
    '0x10',
    '١٢',
    '12.5\n',
    '--1',
    '-',
    '1'.repeat(41),
  ])('rejects the malformed string %j with invalid_amount', (value) => {
    expect(parseAmount(value, 'USD')).toEqual({ ok: false, reason: 'invalid_amount' });
  });

  it.each([
    ['12.501', 'USD'],
    ['0.001', 'USD'],
    ['12.5', 'JPY'],
    ['1.2345', 'KWD'],
    ['12.0001', 'EUR'],
  ])('rejects %j %s with amount_too_precise', (value, currency) => {
    expect(parseAmount(value, currency)).toEqual({ ok: false, reason: 'amount_too_precise' });
  });

  it.each([
    ['0', 'USD'],
    ['0.00', 'USD'],
    ['000', 'JPY'],
    ['0.000', 'USD'],
    ['-12.50', 'USD'],
    ['-0', 'USD'],
    ['-0.001', 'USD'],
    ['10000000000000.01', 'USD'],
    ['1000000000000001', 'JPY'],
    ['9'.repeat(40), 'USD'],
  ])('rejects %j %s with amount_out_of_range', (value, currency) => {
    expect(parseAmount(value, currency)).toEqual({ ok: false, reason: 'amount_out_of_range' });
  });

  it.each(['usd', 'XXX', '', 'toString'])('rejects currency %j with unknown_currency', (currency) => {
    expect(parseAmount('12.50', currency)).toEqual({ ok: false, reason: 'unknown_currency' });
  });

  it('says amount_not_string for a JSON number even when the currency is unknown too', () => {
    expect(parseAmount(12.5, 'XXX')).toEqual({ ok: false, reason: 'amount_not_string' });
  });
});

describe('parseAmount: for any string (properties)', () => {
  it('reads back exactly what formatAmount writes, in every currency (property)', () => {
    fc.assert(
      fc.property(validMinor, knownCurrency, fc.boolean(), (minor, currency, trailingZero) => {
        const text = formatAmount(minor, currency, { grouping: false });
        const withZero = trailingZero ? (text.includes('.') ? `${text}0` : `${text}.0`) : text;
        expect(parseAmount(withZero, currency)).toEqual({ ok: true, amountMinor: minor });
      }),
    );
  });

  it('never throws and only answers with a known outcome, whatever the string (property)', () => {
    const reasons = ['invalid_amount', 'amount_too_precise', 'amount_out_of_range', 'unknown_currency'];
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), knownCurrency, (value, currency) => {
        const result = parseAmount(value, currency);
        if (result.ok) {
          expect(result.amountMinor > 0n && result.amountMinor <= AMOUNT_MINOR_MAX).toBe(true);
        } else {
          expect(reasons).toContain(result.reason);
        }
      }),
    );
  });

  it('agrees with decimal.js on digit strings (property)', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 18 });
    fc.assert(
      fc.property(
        digits,
        fc.option(digits, { nil: undefined }),
        knownCurrency,
        (whole, fraction, currency) => {
          const text = fraction === undefined ? whole : `${whole}.${fraction}`;
          const exponent = currencyExponent(currency)!;
          const scaled = new Decimal(text).times(new Decimal(10).pow(exponent));
          const result = parseAmount(text, currency);
          if (!scaled.isInteger()) {
            expect(result).toEqual({ ok: false, reason: 'amount_too_precise' });
          } else if (scaled.isZero() || scaled.greaterThan(AMOUNT_MINOR_MAX.toString())) {
            expect(result).toEqual({ ok: false, reason: 'amount_out_of_range' });
          } else {
            expect(result).toEqual({ ok: true, amountMinor: BigInt(scaled.toFixed(0)) });
          }
        },
      ),
    );
  });
});

describe('formatAmount', () => {
  it.each([
    [123450n, 'USD', '1,234.50'],
    [1250n, 'USD', '12.50'],
    [5n, 'USD', '0.05'],
    [0n, 'USD', '0.00'],
    [-1250n, 'USD', '-12.50'],
    [-123456789n, 'USD', '-1,234,567.89'],
    [1234n, 'JPY', '1,234'],
    [123n, 'JPY', '123'],
    [1234n, 'KWD', '1.234'],
    [1234567n, 'KWD', '1,234.567'],
    [AMOUNT_MINOR_MAX, 'USD', '10,000,000,000,000.00'],
  ])('formats %s %s as %j by default (grouped)', (minor, currency, expected) => {
    expect(formatAmount(minor, currency)).toBe(expected);
  });

  it.each([
    [123450n, 'USD', '1234.50'],
    [1234n, 'JPY', '1234'],
    [1234567n, 'KWD', '1234.567'],
    [-100000n, 'USD', '-1000.00'],
  ])('formats %s %s as %j without grouping', (minor, currency, expected) => {
    expect(formatAmount(minor, currency, { grouping: false })).toBe(expected);
  });

  it('groups only the integer part, never the decimals', () => {
    expect(formatAmount(1234567n, 'KWD', { grouping: true })).toBe('1,234.567');
  });

  it('throws on an unknown currency: a caller bug, not input', () => {
    expect(() => formatAmount(1n, 'XXX')).toThrow(RangeError);
    expect(() => formatMoney(1n, 'usd')).toThrow(/unknown currency/);
  });

  it('formats money with the code after the amount', () => {
    expect(formatMoney(123450n, 'USD')).toBe('1,234.50 USD');
    expect(formatMoney(1234n, 'JPY')).toBe('1,234 JPY');
  });

  it('groups as Intl does for en-US (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), knownCurrency, (minor, currency) => {
        const exponent = currencyExponent(currency)!;
        const intl = new Intl.NumberFormat('en-US', {
          minimumFractionDigits: exponent,
          maximumFractionDigits: exponent,
        });
        // Intl formats a string decimal exactly; our ungrouped output is that exact decimal.
        const plain = formatAmount(minor, currency, { grouping: false });
        expect(formatAmount(minor, currency)).toBe(intl.format(plain as unknown as number));
      }),
    );
  });
});

describe('toDecimal and fromDecimal', () => {
  it('converts minor units to an exact Decimal in major units', () => {
    expect(toDecimal(1250n, 'USD').toString()).toBe('12.5');
    expect(toDecimal(1234n, 'KWD').equals('1.234')).toBe(true);
    expect(toDecimal(1234n, 'JPY').equals(1234)).toBe(true);
    expect(toDecimal(-5n, 'USD').equals('-0.05')).toBe(true);
  });

  it('keeps every digit of amounts beyond the default Decimal precision of 20', () => {
    const huge = 123456789012345678901234567n;
    expect(fromDecimal(toDecimal(huge, 'USD'), 'USD')).toBe(huge);
  });

  it('converts an exact Decimal back to minor units', () => {
    expect(fromDecimal(new Decimal('12.5'), 'USD')).toBe(1250n);
    expect(fromDecimal(new Decimal('12.50000'), 'USD')).toBe(1250n);
    expect(fromDecimal(new Decimal('1234'), 'JPY')).toBe(1234n);
    expect(fromDecimal(new Decimal('-0.05'), 'USD')).toBe(-5n);
    expect(fromDecimal(new Decimal('0'), 'KWD')).toBe(0n);
  });

  it.each([
    ['12.505', 'USD'],
    ['0.5', 'JPY'],
    ['1.2345', 'KWD'],
  ])('throws when %s %s is not representable exactly', (value, currency) => {
    expect(() => fromDecimal(new Decimal(value), currency)).toThrow(/not representable/);
  });

  it('throws on NaN, infinities and unknown currencies', () => {
    expect(() => fromDecimal(new Decimal(Number.NaN), 'USD')).toThrow(RangeError);
    expect(() => fromDecimal(new Decimal(Number.POSITIVE_INFINITY), 'USD')).toThrow(RangeError);
    expect(() => fromDecimal(new Decimal(1), 'XXX')).toThrow(/unknown currency/);
    expect(() => toDecimal(1n, 'XXX')).toThrow(/unknown currency/);
  });

  it('round-trips any bigint in any currency (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), knownCurrency, (minor, currency) => {
        expect(fromDecimal(toDecimal(minor, currency), currency)).toBe(minor);
      }),
    );
  });

  it('sums in Decimal agree with sums in bigint (property)', () => {
    fc.assert(
      fc.property(fc.array(validMinor, { maxLength: 20 }), knownCurrency, (amounts, currency) => {
        const bigintSum = amounts.reduce((a, b) => a + b, 0n);
        const decimalSum = amounts.reduce((a, b) => a.plus(toDecimal(b, currency)), new Decimal(0));
        expect(fromDecimal(decimalSum, currency)).toBe(bigintSum);
      }),
    );
  });
});
