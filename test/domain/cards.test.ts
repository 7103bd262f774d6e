import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CVV_FIELD_NAMES,
  checkPan,
  detectBrand,
  containsPan,
  digitValue,
  findCvvField,
  findPanRuns,
  findSensitiveAuthData,
  isExpired,
  isSadKey,
  looksLikeTrackData,
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

/** Luhn-valid PANs of the card brands (issuer prefix and a length the brand issues), random digits between. */
const brandPan = fc
  .constantFrom(['4', 16], ['4', 13], ['4', 19], ['51', 16], ['2221', 16], ['37', 15], ['6011', 16], ['3528', 17], ['62', 19], ['36', 14], ['50', 12], ['2200', 16])
  .chain(([iin, length]) => digitString(length - 1 - iin.length, length - 1 - iin.length).map((rest) => withCheckDigit(`${iin}${rest}`)));

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

describe('detectBrand by IIN', () => {
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

});

describe('detectBrand at the edges of its ranges', () => {
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

describe('checkPan accepts', () => {
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

});

describe('checkPan refusals', () => {
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
  // Known answers, computed once outside this code base:
  //   printf %s 4111111111111111 | openssl dgst -sha256 -mac HMAC -macopt key:paystream-test-token-key-32bytes
  // (TEST_TOKEN_KEY is those 32 ASCII bytes), the same for the other PANs, and with -macopt hexkey:1111…11
  // (32 bytes of 0x11) for the binary key. A token that changes orphans every card a ledger holds.
  it('is the hex HMAC-SHA256 of the PAN under the key: known answers', () => {
    expect(tokenizePan('4111111111111111', TEST_TOKEN_KEY)).toBe(
      'd1a98051539d9e75eba921b6b68628af10a888167de368b1da2023f2835ba67a',
    );
    expect(tokenizePan('5555555555554444', TEST_TOKEN_KEY)).toBe(
      '824cf1c4a1f38292903933ee33103e8a3b38c5d2a41534674736341104ee1358',
    );
    expect(tokenizePan('4111111111111111110', TEST_TOKEN_KEY)).toBe(
      '3cc2430d07b2d024ba9c8b6a05f9b9660d05d974499c998cd1a8902b656c5eb0',
    );
    expect(tokenizePan('4111111111111111', new Uint8Array(32).fill(0x11))).toBe(
      'feb817358c0b1059e17cbec7f5c23107e936681f4ac560225a76534cfeede30f',
    );
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
    { shipping: 'x', spinner: 1, pinned: true, tracking: 'T1', trackingNumber: 'z', opinion: 'o' },
    { card: ['cvv'] },
    { note: 'my cvv is 123' },
  ])('finds nothing in %j (a word in a value is not a field)', (obj) => {
    expect(findCvvField(obj)).toBeUndefined();
  });

  it('finds a CVV at any depth, inside arrays, and names its path (issue 14: these were accepted)', () => {
    expect(findCvvField({ cards: [{ cvv: '123' }] })).toBe('cards[0].cvv');
    expect(findCvvField({ a: { b: { cvv: '123' } } })).toBe('a.b.cvv');
    expect(findCvvField({ payment: { card: { cv2: '987' } } })).toBe('payment.card.cv2');
    expect(findCvvField({ x: [[[{ y: [{ 'Security-Code': '543' }] }]]] })).toBe('x[0][0][0].y[0].Security-Code');
  });

  it('lists the names it knows in normalized form', () => {
    expect(CVV_FIELD_NAMES).toEqual(expect.arrayContaining(['cvv', 'cvc', 'cvv2', 'cvc2', 'cid', 'cav2']));
    for (const name of CVV_FIELD_NAMES) {
      expect(name).toMatch(/^[a-z0-9]+$/);
      expect(findCvvField({ [name]: 1 })).toBe(name);
    }
  });
});

describe('findSensitiveAuthData', () => {
  it.each([
    ['cv2', 'cvv'],
    ['CVV2', 'cvv'],
    ['Security-Code', 'cvv'],
    ['security code', 'cvv'],
    ['ＣＶＶ', 'cvv'],
    ['track2', 'sad'],
    ['Track_1', 'sad'],
    ['trackData', 'sad'],
    ['TRACK-2-DATA', 'sad'],
    ['pinBlock', 'sad'],
    ['pin_block', 'sad'],
    ['PIN', 'sad'],
    ['encryptedPin', 'sad'],
  ] as const)('names %j as %s sensitive authentication data, at the top and two levels down in an array', (key, kind) => {
    expect(isSadKey(key)).toBe(kind);
    expect(findSensitiveAuthData({ id: 'o1', [key]: '1' })).toEqual({ kind, path: key });
    expect(findSensitiveAuthData({ id: 'o1', extra: { list: [1, { [key]: '1' }] } })).toEqual({ kind, path: `extra.list[1].${key}` });
  });

  it.each([
    '%B4111111111111111^DOE/JOHN^2512101000000000000000?',
    'B4111111111111111^DOE/JOHN^25121010000',
    ';4111111111111111=25121010000000000000?',
    '4111111111111111=2512101',
    '4111111111111111D25121010000',
  ])('sees track data in the value %j, also inside an array and as a key', (value) => {
    expect(looksLikeTrackData(value)).toBe(true);
    expect(findSensitiveAuthData({ id: 'o1', note: value })).toEqual({ kind: 'sad', path: 'note' });
    expect(findSensitiveAuthData({ id: 'o1', notes: ['x', value] })).toEqual({ kind: 'sad', path: 'notes[1]' });
    expect(findSensitiveAuthData({ id: 'o1', [value]: 1 })?.kind).toBe('sad');
  });

  it.each(['4111111111111112=2512101', 'a=b^c^d', 'USD', '2026-11-25T10:00:00.000Z', 'x=4111111111111111'])(
    'sees no track data in %j (no Luhn-valid PAN in a track layout)',
    (value) => {
      expect(looksLikeTrackData(value)).toBe(false);
    },
  );

  it('never takes a card token for track data, even uppercase with a Luhn-valid run before a D', () => {
    const token = `${'A'.repeat(10)}4111111111111111D2512${'B'.repeat(33)}`;
    expect(token).toMatch(/^[0-9A-F]{64}$/);
    expect(looksLikeTrackData(token)).toBe(false);
    expect(findSensitiveAuthData({ id: 'o1', card: token })).toBeUndefined();
  });

  it('never quotes a PAN it meets on the path it reports', () => {
    const found = findSensitiveAuthData({ '4111111111111111': { cvv: '1' } });
    expect(found?.path).toBe('[PAN].cvv');
  });

  it('walks 100,000 nested arrays and objects without recursion, finding a CVV at the bottom', () => {
    let value: unknown = { cvv: '1' };
    for (let i = 0; i < 100_000; i++) value = i % 2 === 0 ? [value] : { a: value };
    const found = findSensitiveAuthData({ id: 'o1', deep: value });
    expect(found?.kind).toBe('cvv');
    expect(found!.path.length).toBeLessThanOrEqual(100);
  });
});

describe('findPanRuns and containsPan: what counts as a PAN', () => {
  const PAN = TEST_PANS.visa[0];
  it.each([
    ['touching letters', 'xx4900000000000169yy', '4900000000000169'],
    ['split by dots', '4111.1111.1111.1111', PAN],
    ['split by slashes', '4111/1111/1111/1111', PAN],
    ['split by underscores', 'ord_4111_1111_1111_1111', PAN],
    ['split by NBSP', '4111\u00a01111\u00a01111\u00a01111', PAN],
    ['split by thin spaces', '4111\u20091111\u20091111\u20091111', PAN],
    ['split by ideographic spaces', '4111\u30001111\u30001111\u30001111', PAN],
    ['split by zero-width spaces', '4111\u200b1111\u200b1111\u200b1111', PAN],
    ['split by en dashes', '4111\u20131111\u20131111\u20131111', PAN],
    ['in fullwidth digits', '\uff14\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11\uff11', PAN],
    ['in Arabic-Indic digits', 'card \u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661', PAN],
    ['followed by more digit groups', 'card 4111 1111 1111 1111 2026-12', PAN],
    ['an amex at the end of a key', 'acct378282246310005', '378282246310005'],
    ['split by " - "', '4111 - 1111 - 1111 - 1111', PAN],
    ['split by two spaces', '4111  1111  1111  1111', PAN],
    ['one digit short of its brand (still card data)', 'm-555555555555442', '555555555555442'],
  ])('finds a PAN %s', (_what, text, digits) => {
    expect(findPanRuns(text).map((r) => r.digits)).toEqual([digits]);
    expect(containsPan(text)).toBe(true);
  });

  it.each([
    'id 411111111111111111111',
    'order 123456789012 at 2026-06-01',
    'o-17',
    '12.50 USD',
    '4111111111111112',
    // an epoch-ms time passes Luhn one time in ten: no brand issues numbers starting with 1 (or 0, 7, 9)
    'ord-1764583200123-7',
    '17645832001237',
    // dates lead many ids: no issuer's numbers start with 20 or 21
    'inv-20261125-00007',
    '2026112500122',
  ])(
    'finds none in %j (a longer number, a Luhn failure, too few digits, no card issuer prefix)',
    (text) => {
      expect(containsPan(text)).toBe(false);
    },
  );

  it('leaves a 64-hex card token alone even when a Luhn-valid run sits inside it', () => {
    const token = `abc${PAN}${'d'.repeat(45)}`;
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(containsPan(token)).toBe(false);
    expect(containsPan(`card ${token} ok`)).toBe(false);
    // one hex character more and it is no token: the PAN shows
    expect(containsPan(`${token}e`)).toBe(true);
  });

});

describe('findPanRuns: every grouping and every script', () => {
  it('finds every card-brand PAN glued between letters (property)', () => {
    fc.assert(
      fc.property(brandPan, fc.stringMatching(/^[g-z]{0,4}$/), fc.stringMatching(/^[g-z]{0,4}$/), (pan, before, after) => {
        expect(findPanRuns(`${before}${pan}${after}`).map((r) => r.digits)).toEqual([pan]);
      }),
    );
  });

  it('finds every issuer-prefixed PAN however its groups are split, 1-3 separators of any kind (property)', () => {
    const separator = fc.constantFrom(' ', '-', '.', '/', '_', '\u00a0', '\u2009', '\u202f', '\u3000', '\u200b', '\u2013');
    fc.assert(
      fc.property(
        fc.constantFrom('3', '4', '5', '6', '2221', '2720', '2200', '81'),
        fc.integer({ min: 12, max: 19 }),
        digitString(18, 18),
        fc.integer({ min: 1, max: 6 }),
        fc.array(separator, { minLength: 1, maxLength: 3 }),
        (iin, length, rest, every, seps) => {
          const pan = withCheckDigit(`${iin}${rest}`.slice(0, length - 1));
          const grouped = pan.replace(new RegExp(`(\\d{${every}})(?=\\d)`, 'g'), `$1${seps.join('')}`);
          expect(findPanRuns(`note: ${grouped}!`).map((r) => r.digits)).toEqual([pan]);
        },
      ),
    );
  });

  it('reads digits of every script by their value', () => {
    expect(digitValue(0x0664)).toBe(4);
    expect(digitValue(0x096d)).toBe(7);
    expect(digitValue(0xff19)).toBe(9);
    expect(digitValue(0x1d7ce + 23)).toBe(3);
    expect(digitValue(0x41)).toBe(-1);
  });
});

describe('looksLikePan', () => {
  it.each([
    '4111111111111111',
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '378282246310005',
    '6304000000000',
    '4111.1111.1111.1111',
    '4111\u00a01111\u00a01111\u00a01111',
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

  it('leaves no card-brand PAN behind in a line (property)', () => {
    fc.assert(
      fc.property(brandPan, fc.string({ maxLength: 10 }), (pan, noise) => {
        const text = `x ${noise.replace(/\d/g, '')} ${pan} y`;
        expect(redactPans(text)).not.toContain(pan);
      }),
    );
  });
});
