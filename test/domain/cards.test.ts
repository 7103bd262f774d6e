import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CVV_FIELD_NAMES,
  checkPan,
  detectBrand,
  findCvvField,
  isExpired,
  looksLikePan,
  luhnValid,
  maskCard,
  normalizePan,
  panDisplay,
  parseExpiry,
  redactPans,
  tokenizePan,
} from '../../src/domain/cards.ts';
import type { CardBrand } from '../../src/domain/types.ts';
import { TEST_PANS, TEST_TOKEN_KEY } from './builders.ts';

const digit = fc.constantFrom(...'0123456789');
const digitString = (minLength: number, maxLength: number) =>
  fc.string({ unit: digit, minLength, maxLength });

/** Appends the Luhn check digit to `body`. */
function withCheckDigit(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(`${body}${d}`)) return `${body}${d}`;
  throw new Error('unreachable: one check digit always fits');
}

/** A Luhn-valid PAN starting with `iin`, `length` digits long. */
function panWith(iin: string, length: number): string {
  return withCheckDigit(iin.padEnd(length - 1, '0'));
}

describe('luhnValid', () => {
  it.each(['4111111111111111', '79927398713', '0', '00', '18'])('accepts %s', (digits) => {
    expect(luhnValid(digits)).toBe(true);
  });

  it.each(['4111111111111112', '79927398710', '1', '12'])('rejects %s (wrong check digit)', (digits) => {
    expect(luhnValid(digits)).toBe(false);
  });

  it.each(['', '4111 1111 1111 1111', '4111-1111-1111-1111', '411111111111111a', '４111111111111111'])(
    'rejects %j: only ASCII digits are looked at',
    (text) => {
      expect(luhnValid(text)).toBe(false);
    },
  );

  it('accepts exactly one check digit for any body (property)', () => {
    fc.assert(
      fc.property(digitString(1, 25), (body) => {
        const valid = [...'0123456789'].filter((d) => luhnValid(body + d));
        expect(valid).toHaveLength(1);
      }),
    );
  });

  it('catches every single-digit typo (property)', () => {
    fc.assert(
      fc.property(digitString(11, 18), fc.nat(), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
        const pan = withCheckDigit(body);
        const i = at % pan.length;
        const typo = pan.slice(0, i) + ((Number(pan[i]) + delta) % 10) + pan.slice(i + 1);
        expect(luhnValid(typo)).toBe(false);
      }),
    );
  });
});

describe('normalizePan', () => {
  it('strips spaces and dashes and nothing else', () => {
    expect(normalizePan('4111 1111-1111 1111')).toBe('4111111111111111');
    expect(normalizePan(' 4111--1111 ')).toBe('41111111');
    expect(normalizePan('4111.1111\t1111')).toBe('4111.1111\t1111');
  });
});

describe('detectBrand', () => {
  it.each<[string, CardBrand]>([
    ['4', 'visa'],
    ['4111', 'visa'],
    ['51', 'mastercard'],
    ['55', 'mastercard'],
    ['2221', 'mastercard'],
    ['2720', 'mastercard'],
    ['34', 'amex'],
    ['37', 'amex'],
    ['6011', 'discover'],
    ['644', 'discover'],
    ['649', 'discover'],
    ['65', 'discover'],
    ['622126', 'discover'],
    ['622925', 'discover'],
    ['3528', 'jcb'],
    ['3589', 'jcb'],
    ['62', 'unionpay'],
    ['622125', 'unionpay'],
    ['622926', 'unionpay'],
    ['620000', 'unionpay'],
    ['81', 'unionpay'],
    ['300', 'diners'],
    ['305', 'diners'],
    ['3095', 'diners'],
    ['36', 'diners'],
    ['38', 'diners'],
    ['39', 'diners'],
    ['5018', 'maestro'],
    ['5020', 'maestro'],
    ['5038', 'maestro'],
    ['5893', 'maestro'],
    ['6304', 'maestro'],
    ['6759', 'maestro'],
    ['6761', 'maestro'],
    ['6763', 'maestro'],
    ['50', 'maestro'],
    ['56', 'maestro'],
    ['58', 'maestro'],
    ['60', 'maestro'],
    ['6010', 'maestro'],
    ['643', 'maestro'],
    ['66', 'maestro'],
    ['69', 'maestro'],
    ['2200', 'mir'],
    ['2204', 'mir'],
    ['2205', 'unknown'],
    ['2220', 'unknown'],
    ['2721', 'unknown'],
    ['59', 'unknown'],
    ['306', 'unknown'],
    ['3094', 'unknown'],
    ['3096', 'unknown'],
    ['35', 'unknown'],
    ['3527', 'unknown'],
    ['3590', 'unknown'],
    ['1', 'unknown'],
    ['7', 'unknown'],
    ['80', 'unknown'],
    ['82', 'unknown'],
    ['9', 'unknown'],
    ['0', 'unknown'],
  ])('sees IIN %s as %s', (iin, brand) => {
    expect(detectBrand(panWith(iin, 16))).toBe(brand);
  });

  it('lets the Discover co-brand range 622126-622925 win over UnionPay 62 at its edges', () => {
    expect(detectBrand('6221250000000000')).toBe('unionpay');
    expect(detectBrand('6221260000000000')).toBe('discover');
    expect(detectBrand('6229250000000000')).toBe('discover');
    expect(detectBrand('6229260000000000')).toBe('unionpay');
  });

  it.each(['', 'abcd', '4111 1111', '-4111'])('calls %j unknown', (text) => {
    expect(detectBrand(text)).toBe('unknown');
  });

  it('does not guess from too few digits: a bare 6 is maestro, a bare 2 or 3 unknown', () => {
    expect(detectBrand('6')).toBe('maestro');
    expect(detectBrand('2')).toBe('unknown');
    expect(detectBrand('3')).toBe('unknown');
  });
});

describe('checkPan', () => {
  const brands = Object.keys(TEST_PANS) as (keyof typeof TEST_PANS)[];

  it.each(brands.flatMap((brand) => TEST_PANS[brand].map((pan) => [brand, pan] as const)))(
    'accepts the %s test PAN %s',
    (brand, pan) => {
      expect(checkPan(pan)).toEqual({ ok: true, pan, brand });
    },
  );

  it('accepts spaces and dashes and returns the bare digits', () => {
    expect(checkPan('4111 1111 1111 1111')).toEqual({ ok: true, pan: '4111111111111111', brand: 'visa' });
    expect(checkPan('3782-822463-10005')).toEqual({ ok: true, pan: '378282246310005', brand: 'amex' });
  });

  it.each<[CardBrand, string, number[]]>([
    ['visa', '4', [13, 16, 19]],
    ['mastercard', '51', [16]],
    ['mastercard', '2221', [16]],
    ['amex', '34', [15]],
    ['discover', '6011', [16, 17, 18, 19]],
    ['jcb', '3528', [16, 17, 18, 19]],
    ['unionpay', '62', [16, 17, 18, 19]],
    ['diners', '36', [14, 15, 16, 17, 18, 19]],
    ['maestro', '6759', [12, 13, 14, 15, 16, 17, 18, 19]],
    ['mir', '2200', [16, 17, 18, 19]],
    ['unknown', '9', [12, 13, 14, 15, 16, 17, 18, 19]],
  ])('accepts %s (IIN %s) at exactly the lengths %j', (brand, iin, lengths) => {
    for (let length = 12; length <= 19; length++) {
      const result = checkPan(panWith(iin, length));
      if (lengths.includes(length)) {
        expect(result).toMatchObject({ ok: true, brand });
      } else {
        expect(result).toMatchObject({ ok: false, reason: 'invalid_pan' });
        if (!result.ok) expect(result.message).toContain(`${brand} PAN cannot have ${length} digits`);
      }
    }
  });

  it.each([
    ['4111111111111112', /Luhn/],
    ['411111111111', /Luhn|cannot have 12 digits/],
    ['41111111111', /12 to 19 digits, not 11/],
    ['41111111111111111111', /12 to 19 digits, not 20/],
    ['', /only digits/],
    ['4111x11111111111', /only digits/],
    ['4111.1111.1111.1111', /only digits/],
    ['+4111111111111111', /only digits/],
  ])('rejects %j with invalid_pan and says why (%s)', (input, why) => {
    const result = checkPan(input);
    expect(result).toMatchObject({ ok: false, reason: 'invalid_pan' });
    if (!result.ok) expect(result.message).toMatch(why);
  });

  it('never puts a digit run of the PAN into its message (property)', () => {
    fc.assert(
      fc.property(digitString(0, 25), (input) => {
        const result = checkPan(input);
        if (!result.ok && input.length >= 4) expect(result.message).not.toContain(input.slice(0, 4));
        if (!result.ok) expect(result.message).not.toMatch(/\d{4,}/);
      }),
    );
  });

  it('accepts exactly the 12-19 digit strings that pass Luhn and fit their brand length (property)', () => {
    const lengths: Record<CardBrand, number[]> = {
      visa: [13, 16, 19],
      mastercard: [16],
      amex: [15],
      discover: [16, 17, 18, 19],
      jcb: [16, 17, 18, 19],
      unionpay: [16, 17, 18, 19],
      diners: [14, 15, 16, 17, 18, 19],
      maestro: [12, 13, 14, 15, 16, 17, 18, 19],
      mir: [16, 17, 18, 19],
      unknown: [12, 13, 14, 15, 16, 17, 18, 19],
    };
    fc.assert(
      fc.property(digitString(12, 19), fc.boolean(), (digits, fixCheckDigit) => {
        const pan = fixCheckDigit ? withCheckDigit(digits.slice(0, -1)) : digits;
        const brand = detectBrand(pan);
        const expected = luhnValid(pan) && lengths[brand].includes(pan.length);
        const result = checkPan(pan);
        expect(result.ok).toBe(expected);
        if (result.ok) expect(result).toEqual({ ok: true, pan, brand });
      }),
    );
  });
});

describe('tokenizePan', () => {
  it('is the hex HMAC-SHA256 of the PAN under the key: 64 lowercase hex characters', () => {
    const token = tokenizePan('4111111111111111', TEST_TOKEN_KEY);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(token).toBe(createHmac('sha256', TEST_TOKEN_KEY).update('4111111111111111').digest('hex'));
  });

  it('gives one token per card, however the PAN was typed', () => {
    expect(tokenizePan('4111 1111-1111 1111', TEST_TOKEN_KEY)).toBe(
      tokenizePan('4111111111111111', TEST_TOKEN_KEY),
    );
  });

  it('depends on the key and on every digit', () => {
    const other = new TextEncoder().encode('another-key');
    expect(tokenizePan('4111111111111111', other)).not.toBe(tokenizePan('4111111111111111', TEST_TOKEN_KEY));
    expect(tokenizePan('4012888888881881', TEST_TOKEN_KEY)).not.toBe(
      tokenizePan('4111111111111111', TEST_TOKEN_KEY),
    );
  });

  it('refuses an empty key', () => {
    expect(() => tokenizePan('4111111111111111', new Uint8Array())).toThrow(RangeError);
  });

  it('never contains the PAN (property)', () => {
    fc.assert(
      fc.property(digitString(12, 19), (pan) => {
        expect(tokenizePan(pan, TEST_TOKEN_KEY)).not.toContain(pan);
      }),
    );
  });
});

describe('masking', () => {
  it('shows first six, six stars, last four', () => {
    expect(panDisplay('411111', '1111')).toBe('411111******1111');
    expect(maskCard({ first6: '378282', last4: '0005' })).toBe('378282******0005');
  });
});

describe('parseExpiry', () => {
  it.each([
    ['01/27', 1, 2027],
    ['12/30', 12, 2030],
    ['06/00', 6, 2000],
    ['06/99', 6, 2099],
    ['11/2028', 11, 2028],
    ['11/2099', 11, 2099],
  ])('reads %s as month %i of %i', (text, month, year) => {
    expect(parseExpiry(text)).toEqual({ ok: true, month, year });
  });

  it.each([
    '',
    '00/27',
    '13/27',
    '1/27',
    '01/7',
    '01-27',
    '0127',
    '01/027',
    '01/1999',
    '01/2100',
    ' 01/27',
    '01/27 ',
    'ab/cd',
  ])('rejects %j', (text) => {
    expect(parseExpiry(text)).toMatchObject({ ok: false, message: expect.stringContaining('MM/YY') });
  });
});

describe('isExpired', () => {
  const lastMsOfNov2026 = Date.UTC(2026, 11, 1) - 1;

  it('keeps a card valid through the last millisecond of its expiry month (UTC)', () => {
    expect(isExpired('11/26', Date.UTC(2026, 10, 1))).toBe(false);
    expect(isExpired('11/26', lastMsOfNov2026)).toBe(false);
    expect(isExpired('11/2026', lastMsOfNov2026)).toBe(false);
  });

  it('expires it at the first millisecond of the next month', () => {
    expect(isExpired('11/26', lastMsOfNov2026 + 1)).toBe(true);
    expect(isExpired('12/26', Date.UTC(2027, 0, 1))).toBe(true);
    expect(isExpired('12/26', Date.UTC(2027, 0, 1) - 1)).toBe(false);
  });

  it('treats an unreadable expiry as expired (fail closed)', () => {
    expect(isExpired('13/26', 0)).toBe(true);
    expect(isExpired('', 0)).toBe(true);
  });

  it('is monotonic: once expired, expired for ever (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.nat({ max: 10 ** 11 }),
        (month, yy, t, later) => {
          const expiry = `${String(month).padStart(2, '0')}/${String(yy).padStart(2, '0')}`;
          if (isExpired(expiry, t)) expect(isExpired(expiry, t + later)).toBe(true);
        },
      ),
    );
  });
});

describe('findCvvField', () => {
  it.each([
    'cvv',
    'CVV',
    'cvc',
    'Cvc',
    'cvv2',
    'cvc2',
    'cid',
    'CID',
    'cav2',
    'securityCode',
    'security_code',
    'SECURITY-CODE',
    'card_verification',
    'cardVerificationValue',
    'card_verification_code',
    'cardCvv',
    'card_cvc',
    'cvvCode',
    'csc',
    'cvn2',
  ])('finds %j at the top level', (key) => {
    expect(findCvvField({ id: 'o1', [key]: '123' })).toBe(key);
  });

  it('finds a CVV one level down and names its path', () => {
    expect(findCvvField({ id: 'o1', card: { number: 'x', cvv: '123' } })).toBe('card.cvv');
    expect(findCvvField({ payment: { SecurityCode: '1234' } })).toBe('payment.SecurityCode');
  });

  it('reports the top-level key before any nested one', () => {
    expect(findCvvField({ card: { cvv: '1' }, cvc: '2' })).toBe('cvc');
  });

  it('flags the key whatever its value, even null or empty', () => {
    expect(findCvvField({ cvv: null })).toBe('cvv');
    expect(findCvvField({ cvv: '' })).toBe('cvv');
  });

  it.each([
    { id: 'o1', type: 'payment', amount: '1.00', currency: 'USD', merchant: 'm', card: 'ab' },
    { decided: true, incident: 'x', accident: 1, service: 's', device: 'd' },
    { card: ['cvv'] },
    { cards: [{ cvv: '123' }] },
    { a: { b: { cvv: '123' } } },
    { note: 'my cvv is 123' },
  ])('finds nothing in %j (values, arrays and deeper levels are not keys one level down)', (obj) => {
    expect(findCvvField(obj)).toBeUndefined();
  });

  it('lists the names it knows in normalized form', () => {
    expect(CVV_FIELD_NAMES).toEqual(expect.arrayContaining(['cvv', 'cvc', 'cvv2', 'cvc2', 'cid', 'cav2']));
    for (const name of CVV_FIELD_NAMES) {
      expect(name).toMatch(/^[a-z0-9]+$/);
      expect(findCvvField({ [name]: 1 })).toBe(name);
    }
  });
});

describe('looksLikePan', () => {
  it.each([
    '4111111111111111',
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '378282246310005',
    '6304000000000',
  ])('sees a PAN in %j', (text) => {
    expect(looksLikePan(text)).toBe(true);
  });

  it.each([
    '4111111111111112',
    '41111111111',
    '41111111111111111111',
    'ord_4111111111111111',
    '12.50',
    '',
    'abc',
  ])('sees no PAN in %j', (text) => {
    expect(looksLikePan(text)).toBe(false);
  });

  it('agrees with Luhn on every 12-19 digit string (property)', () => {
    fc.assert(
      fc.property(digitString(12, 19), (digits) => {
        expect(looksLikePan(digits)).toBe(luhnValid(digits));
      }),
    );
  });
});

describe('redactPans', () => {
  it('masks PANs inside free text and leaves the rest alone', () => {
    expect(redactPans('card 4111 1111 1111 1111 declined, order ord_7 12.50 USD')).toBe(
      'card 411111******1111 declined, order ord_7 12.50 USD',
    );
    expect(redactPans('{"pan":"5555555555554444"}')).toBe('{"pan":"555555******4444"}');
  });

  it('leaves digit runs that fail Luhn or are longer than 19 digits', () => {
    expect(redactPans('ts 4111111111111112')).toBe('ts 4111111111111112');
    expect(redactPans('id 411111111111111111111')).toBe('id 411111111111111111111');
  });

  it('leaves no Luhn-valid PAN behind in a line (property)', () => {
    fc.assert(
      fc.property(digitString(11, 18), fc.string({ maxLength: 10 }), (body, noise) => {
        const pan = withCheckDigit(body);
        const text = `x ${noise.replace(/\d/g, '')} ${pan} y`;
        expect(redactPans(text)).not.toContain(pan);
      }),
    );
  });
});
