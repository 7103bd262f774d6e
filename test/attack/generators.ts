// Hostile order traffic for the attack property run: fast-check arbitraries of whole messages (subject and
// bytes) that remember which card data they carry, so the run can look for it in every sink afterwards.

import fc from 'fast-check';
import { luhnValid } from '../../src/domain/cards.ts';

/** What a generated message is made from: `build` runs once per buffer, in buffer order. */
export interface MessageSpec {
  build(ctx: BufferContext): Planted;
  /** how fast-check prints it in a counterexample */
  [fc.toStringMethod](): string;
}

/** A spec that prints as its label (functions would print as their source). */
function spec(label: string, build: (ctx: BufferContext) => Planted): MessageSpec {
  return { build, [fc.toStringMethod]: () => label };
}

/** One message as sent, with the card data planted in it. */
export interface Planted {
  subject: string;
  data: Uint8Array;
  /** the PANs in it (digits only), whatever form they were written in */
  pans: string[];
  /** CVV values (3-4 digits) in it */
  cvvs: string[];
  /** other secrets that must never be copied anywhere: PIN blocks */
  secrets: string[];
  /** what the generator made, for failure messages */
  kind: string;
}

export interface SeedCard {
  pan: string;
  token: string;
}

export interface BufferContext {
  /** distinct per buffer, so the ids of a buffer are new unless a generator reuses them on purpose */
  nonce: string;
  /** position in the buffer */
  index: number;
  cards: readonly SeedCard[];
  merchants: readonly string[];
  /** the processor clock's now as ISO 8601 */
  nowIso: string;
  nowMs: number;
  /** ids of orders sent earlier in this buffer that a capture, void or refund may name */
  refs: string[];
  /** batches whose header came earlier in this buffer, with the members still to send */
  batches: { id: string; left: number }[];
}

const encoder = new TextEncoder();
const str = (s: string): string => JSON.stringify(s);
/** A JSON object from raw member texts: keys in any form (duplicates, __proto__) exactly as given. */
const obj = (members: readonly (readonly [string, string])[]): string =>
  `{${members.map(([k, v]) => `${str(k)}:${v}`).join(',')}}`;

function planted(
  subject: string,
  text: string | Uint8Array,
  kind: string,
  extra: Partial<Planted> = {},
): Planted {
  return {
    subject,
    data: typeof text === 'string' ? encoder.encode(text) : text,
    pans: extra.pans ?? [],
    cvvs: extra.cvvs ?? [],
    secrets: extra.secrets ?? [],
    kind,
  };
}

const orderSubject = (source = 'attack') => `pay.orders.${source}`;

// ---- PANs ----

/** The check digit that makes `partial` + digit pass Luhn. */
export function luhnComplete(partial: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(partial + d)) return partial + d;
  throw new Error('unreachable: one of ten digits completes any partial number');
}

const PAN_PREFIXES = ['4', '51', '55', '2221', '34', '37', '6011', '62', '35', '36', '4900'];

/** A Luhn-valid PAN of 13-19 digits with a real-looking prefix. */
export const panArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...PAN_PREFIXES),
    fc.integer({ min: 13, max: 19 }),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 18, maxLength: 18 }),
  )
  .map(([prefix, length, digits]) =>
    luhnComplete(prefix + digits.join('').slice(0, length - 1 - prefix.length)),
  );

/** Separators people (and attackers) put between digit groups: ASCII and Unicode spaces, dashes, dots, slashes. */
export const PAN_SEPARATORS = [
  ' ',
  '-',
  '.',
  '/',
  '\u00a0',
  '\u2009',
  '\u202f',
  '\u2007',
  '\u3000',
  '\u2002',
  '  ',
  ' - ',
];

type PanForm =
  | { kind: 'plain' }
  | { kind: 'grouped'; sep: string; every: number }
  | { kind: 'letters'; before: string; after: string }
  | { kind: 'escaped' };

const panFormArb: fc.Arbitrary<PanForm> = fc.oneof(
  fc.constant<PanForm>({ kind: 'plain' }),
  fc.record({
    kind: fc.constant('grouped' as const),
    sep: fc.constantFrom(...PAN_SEPARATORS),
    every: fc.constantFrom(1, 3, 4, 4, 4, 5, 6),
  }),
  fc.record({
    kind: fc.constant('letters' as const),
    before: fc.constantFrom('xx', 'a', 'card', 'Z', '_', ''),
    after: fc.constantFrom('yy', 'b', 'X', 'end', ''),
  }),
  fc.constant<PanForm>({ kind: 'escaped' }),
);

/** The PAN as JSON string content (raw JSON text, quotes included). */
function panJson(pan: string, form: PanForm): string {
  switch (form.kind) {
    case 'plain':
      return str(pan);
    case 'grouped': {
      const groups: string[] = [];
      for (let i = 0; i < pan.length; i += form.every) groups.push(pan.slice(i, i + form.every));
      return str(groups.join(form.sep));
    }
    case 'letters':
      return str(`${form.before}${pan}${form.after}`);
    case 'escaped':
      // every digit as a JSON \u escape: the same string once parsed
      return `"${[...pan].map((c) => `\\u00${c.charCodeAt(0).toString(16)}`).join('')}"`;
  }
}

/** Wraps a raw JSON value `depth` levels down, alternating arrays and objects as `shape` says. */
function nest(inner: string, depth: number, shape: number): string {
  let out = inner;
  for (let d = 0; d < depth; d++) {
    const asArray = (shape >> (d % 30)) & 1;
    out = asArray ? `[${d % 3 === 0 ? '1,' : ''}${out}]` : `{"k${d % 7}":${out}}`;
  }
  return out;
}

function validPayment(
  ctx: BufferContext,
  id: string,
  pick: number,
  amount = '1.00',
  cardField?: readonly [string, string],
): [string, string][] {
  const card = ctx.cards[pick % ctx.cards.length]!;
  return [
    ['id', str(id)],
    ['type', str('payment')],
    cardField ? [cardField[0], cardField[1]] : ['card', str(card.token)],
    ['merchant', str(ctx.merchants[pick % ctx.merchants.length]!)],
    ['amount', str(amount)],
    ['currency', str('USD')],
    ['createdAt', str(ctx.nowIso)],
  ];
}

export const PAN_PLACES = [
  'inline-pan',
  'inline-pan-rejected',
  'memo',
  'deep-value',
  'deep-key',
  'id',
  'id-affixed',
  'merchant',
  'ref',
  'batchId',
  'subject',
  'batch-subject',
  'not-json',
  'json-number',
  'amount',
  'currency',
  'duplicate-key',
  'holder-name',
  'array-top',
] as const;

export type PanPlace = (typeof PAN_PLACES)[number];

/** What one PAN message is made from: the drawn values, and what every place builds on. */
interface PanMessage {
  ctx: BufferContext;
  id: string;
  pan: string;
  form: PanForm;
  /** the PAN in its drawn form, as raw JSON text */
  value: string;
  depth: number;
  shape: number;
  pick: number;
  kind: string;
  /** a valid payment the PAN is added to */
  base: [string, string][];
  /** the message with this text (on the default order subject unless given), carrying the PAN */
  at(text: string, subject?: string): Planted;
}

/** A seeded card's PAN inline is a valid order; a generated one is an unknown card. */
function inlinePan({ ctx, id, pan, form, pick, kind }: PanMessage): Planted {
  const seeded = ctx.cards[pick % ctx.cards.length]!.pan;
  const which = pick % 2 === 0 ? seeded : pan;
  const sepForm: PanForm =
    form.kind === 'grouped' && (form.sep === ' ' || form.sep === '-') ? form : { kind: 'plain' };
  return planted(
    orderSubject(),
    obj(validPayment(ctx, id, pick, '1.00', ['pan', panJson(which, sepForm)])),
    kind,
    { pans: [which] },
  );
}

const withField = (base: [string, string][], field: string, value: string): [string, string][] =>
  base.map(([k, v]) => (k === field ? [k, value] : [k, v]));

/** Where a PAN goes, one builder per place. */
const PAN_MESSAGES: Record<PanPlace, (m: PanMessage) => Planted> = {
  'inline-pan': inlinePan,
  'inline-pan-rejected': ({ ctx, id, pick, value, at }) =>
    at(
      obj([
        ...validPayment(ctx, id, pick, '1.00', ['pan', value]).filter(([k]) => k !== 'amount'),
        ['amount', '12.5'],
      ]),
    ),
  memo: ({ base, value, at }) => at(obj([...base, ['memo', value]])),
  'deep-value': ({ base, value, depth, shape, at }) =>
    at(obj([...base, ['meta', nest(value, depth, shape)]])),
  'deep-key': ({ base, value, depth, shape, at }) =>
    at(obj([...base, ['meta', nest(`{${value}:true}`, depth, shape)]])),
  id: ({ base, pan, at }) => at(obj([['id', str(pan)], ...base.slice(1)])),
  'id-affixed': ({ base, pan, pick, at }) =>
    at(obj([['id', str(pick % 2 ? `o${pan}` : `${pan}-x`)], ...base.slice(1)])),
  merchant: ({ base, pan, at }) => at(obj(withField(base, 'merchant', str(pan)))),
  ref: ({ ctx, id, pan, pick, at }) =>
    at(
      obj([
        ['id', str(id)],
        ['type', str(pick % 2 ? 'refund' : 'void')],
        ['ref', str(pan)],
        ['createdAt', str(ctx.nowIso)],
      ]),
    ),
  batchId: ({ base, pan, at }) => at(obj([...base, ['batchId', str(pan)]])),
  subject: ({ base, pan, pick, at }) => at(obj(base), orderSubject(pick % 2 ? pan : `src-${pan}`)),
  'batch-subject': ({ pan, at }) =>
    at(
      obj([
        ['id', str(pan)],
        ['orders', '3'],
      ]),
      `pay.batches.${pan}`,
    ),
  'not-json': ({ value, pick, at }) =>
    at(`card ${JSON.parse(value) as string} cvv? no ${'{'.repeat(pick % 3)}`),
  'json-number': ({ base, pan, pick, at }) => at(obj([...base, [pick % 2 ? 'pan' : 'memo', pan]])),
  amount: ({ base, value, at }) => at(obj(withField(base, 'amount', value))),
  currency: ({ base, value, at }) => at(obj(withField(base, 'currency', value))),
  // JSON.parse keeps the last: the PAN is only in the raw bytes
  'duplicate-key': ({ base, value, at }) =>
    at(`{"pan":${value},${obj(base).slice(1)}`.replace(/}$/, ',"pan":"none"}')),
  'holder-name': ({ base, value, at }) =>
    at(obj([...base, ['holder', obj([['name', str(`Alice ${JSON.parse(value) as string}`)]])]])),
  'array-top': ({ base, value, at }) => at(`[${value},${obj(base)}]`),
};

interface PanDraw {
  pan: string;
  form: PanForm;
  place: PanPlace;
  depth: number;
  shape: number;
  pick: number;
}

/** The message a drawn PAN makes in this buffer: the values every place shares, then the place's builder. */
function panMessage({ pan, form, place, depth, shape, pick }: PanDraw, ctx: BufferContext): Planted {
  const id = `p-${ctx.nonce}-${ctx.index}`;
  const kind = `pan:${place}:${form.kind}${form.kind === 'grouped' ? `(${JSON.stringify(form.sep)})` : ''}`;
  return PAN_MESSAGES[place]({
    ctx,
    id,
    pan,
    form,
    value: panJson(pan, form),
    depth,
    shape,
    pick,
    kind,
    base: validPayment(ctx, id, pick),
    at: (text, subject = orderSubject()) => planted(subject, text, kind, { pans: [pan] }),
  });
}

const panSpecArb = (places: readonly PanPlace[]): fc.Arbitrary<MessageSpec> =>
  fc
    .record({
      pan: panArb,
      form: panFormArb,
      place: fc.constantFrom(...places),
      depth: fc.integer({ min: 1, max: 60 }),
      shape: fc.nat(),
      pick: fc.nat(),
    })
    .map((draw) => spec(`pan:${draw.place}:${draw.form.kind}`, (ctx) => panMessage(draw, ctx)));

// ---- sensitive authentication data ----

/** CVV field names in the spellings seen in the wild, any letter case and separator. */
export const SAD_NAMES = [
  'cvv',
  'CVV',
  'Cvv',
  'cvv2',
  'CVV2',
  'cvc',
  'CVC',
  'cvc2',
  'Cvc2',
  'cv2',
  'CV2',
  'cid',
  'CID',
  'securityCode',
  'security_code',
  'SECURITY-CODE',
  'Security Code',
  'cardSecurityCode',
  'card.cvv',
];
export const TRACK_NAMES = ['track2', 'Track2', 'TRACK_2', 'track2Data', 'trackData', 'track-2', 'track1'];
export const PIN_NAMES = ['pinBlock', 'PIN_BLOCK', 'pin-block', 'pinblock', 'PinBlock', 'pin_block'];

/** Numbers in the processor's own messages and examples ("ISO 4217", "2026-11-25T10:00:00Z"). */
const NUMBERS_IN_MESSAGES = new Set([101, 123, 125, 2026, 3166, 4217, 8601]);

/**
 * A CVV value that cannot be mistaken for anything the processor writes itself: 3 digits, or 4 (Amex) below
 * 8000, never a multiple of 8 or 10 (limits and sizes are round) nor a number its messages quote, so its only
 * source in a sink is the message.
 */
export const cvvArb: fc.Arbitrary<string> = fc
  .oneof(fc.integer({ min: 101, max: 999 }), fc.integer({ min: 1001, max: 7999 }))
  .filter((n) => n % 8 !== 0 && n % 10 !== 0 && !NUMBERS_IN_MESSAGES.has(n))
  .map(String);

const hex16Arb = fc
  .array(fc.constantFrom(...'0123456789ABCDEF'), { minLength: 16, maxLength: 16 })
  .map((a) => a.join(''));

const CVV_PLACES = [
  'top',
  'deep',
  'in-array',
  'number',
  'name-value',
  'free-text',
  'track',
  'pin',
  'with-pan',
] as const;

const cvvSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    cvv: cvvArb,
    name: fc.constantFrom(...SAD_NAMES),
    track: fc.constantFrom(...TRACK_NAMES),
    pin: fc.constantFrom(...PIN_NAMES),
    pinValue: hex16Arb,
    pan: panArb,
    place: fc.constantFrom(...CVV_PLACES),
    depth: fc.integer({ min: 1, max: 40 }),
    shape: fc.nat(),
    pick: fc.nat(),
  })
  .map(({ cvv, name, track, pin, pinValue, pan, place, depth, shape, pick }) =>
    spec(`sad:${place}:${name}`, (ctx: BufferContext): Planted => {
      const id = `c-${ctx.nonce}-${ctx.index}`;
      const base = validPayment(ctx, id, pick);
      const kind = `sad:${place}:${place === 'track' ? track : place === 'pin' ? pin : name}`;
      const msg = (members: [string, string][], extra: Partial<Planted>) =>
        planted(orderSubject(), obj(members), kind, extra);
      switch (place) {
        case 'top':
          return msg([...base, [name, str(cvv)]], { cvvs: [cvv] });
        case 'deep':
          return msg([...base, ['card_details', nest(obj([[name, str(cvv)]]), depth, shape)]], {
            cvvs: [cvv],
          });
        case 'in-array':
          return msg([...base, ['extra', `[1,${obj([[name, str(cvv)]])}]`]], { cvvs: [cvv] });
        case 'number':
          return msg([...base, [name, cvv]], { cvvs: [cvv] });
        case 'name-value':
          return msg(
            [
              ...base,
              [
                'fields',
                `[${obj([
                  ['name', str(name)],
                  ['value', str(cvv)],
                ])}]`,
              ],
            ],
            { cvvs: [cvv] },
          );
        case 'free-text':
          return msg([...base, ['note', str(`${name}: ${cvv}`)]], { cvvs: [cvv] });
        case 'track': {
          const data = `;${pan}=3012101${cvv}00000?`;
          return msg([...base, [track, str(data)]], { pans: [pan] });
        }
        case 'pin':
          return msg([...base, [pin, str(pinValue)]], { secrets: [pinValue] });
        case 'with-pan':
          return msg([...validPayment(ctx, id, pick, '1.00', ['pan', str(pan)]), [name, str(cvv)]], {
            pans: [pan],
            cvvs: [cvv],
          });
      }
    }),
  );

// ---- numbers, digits and spaces ----

const ODD_AMOUNTS = [
  '"1e309"',
  '1e309',
  '-1e309',
  '"-0"',
  '-0',
  '"0"',
  '"0.000"',
  '"１２.５０"',
  '"١٢٫٥٠"',
  '"١٢.٥٠"',
  '"۱۲.۵۰"',
  '"१२.५०"',
  '"𝟏𝟐.𝟓𝟎"',
  '"12\u00a0000.00"',
  '"12\u2009000.00"',
  '"12 000.00"',
  '"0x1F"',
  '"1_000"',
  '"Infinity"',
  '"NaN"',
  '" 12.50"',
  '"12.50\\n"',
  '"1.2.3"',
  '"+1"',
  '"1e2"',
  '".5"',
  '"5."',
  '"00012.50"',
  '"12.50e0"',
  '"12,50"',
  '"٠"',
  'true',
  'null',
  '[]',
  '{}',
  '"1.005"',
  '"999999999999999999999999"',
  '1.7976931348623157e308',
  '5e-324',
  '"\\u0031\\u0032.00"',
  '"1\\u00002"',
];

const hugeNumberArb = fc.oneof(
  fc.constantFrom(...ODD_AMOUNTS),
  fc.integer({ min: 16, max: 2000 }).map((n) => `"${'9'.repeat(n)}"`),
  fc.integer({ min: 16, max: 2000 }).map((n) => '9'.repeat(n)),
  fc.integer({ min: 1, max: 400 }).map((n) => `"0.${'0'.repeat(n)}1"`),
  fc.integer({ min: 300, max: 100_000 }).map((e) => `1e${e}`),
  fc.double().map((d) => (Number.isFinite(d) ? String(d) : '0')),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
);

const ODD_DATES = [
  '"0001-01-01T00:00:00Z"',
  '"9999-12-31T23:59:59.999Z"',
  '"+275760-09-13T00:00:00.000Z"',
  '"٢٠٢٦-١١-٣٠T12:00:00Z"',
  '"2026-11-30T12:00:00"',
  '"2026-02-30T00:00:00Z"',
  '"2026-11-30T24:00:00Z"',
  '"1970-01-01T00:00:00.000000001+23:59"',
  '1764500000000',
  '"2026-11-30T12:00:00\u00a0Z"',
  '"2026-11-30 12:00:00Z"',
];

const ODD_IDS = [
  '"١٢٣"',
  '"１２３"',
  '"a\u00a0b"',
  '"a\u2009b"',
  `"${'x'.repeat(65)}"`,
  '""',
  '123',
  '1e309',
  '"id\\u0000"',
  '"-"',
  '"_"',
];

const numbersSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    amount: hugeNumberArb,
    date: fc.oneof(fc.constantFrom(...ODD_DATES), fc.constant('')),
    id: fc.oneof(fc.constantFrom(...ODD_IDS), fc.constant('')),
    mcc: fc.constantFrom('', '"١٢٣٤"', '"１２３４"', '"12 4"', '5411', '"5411"'),
    futureS: fc.integer({ min: 0, max: 3 }),
    pick: fc.nat(),
  })
  .map(({ amount, date, id, mcc, futureS, pick }) =>
    spec(`numbers:${amount.slice(0, 24)}`, (ctx: BufferContext): Planted => {
      const ownId = `n-${ctx.nonce}-${ctx.index}`;
      const members = validPayment(ctx, ownId, pick).map(([k, v]): [string, string] => {
        if (k === 'amount') return [k, amount];
        if (k === 'createdAt') return [k, date || str(new Date(ctx.nowMs + futureS * 20_000).toISOString())];
        if (k === 'id' && id) return [k, id];
        return [k, v];
      });
      if (mcc) members.push(['mcc', mcc]);
      return planted(orderSubject(), obj(members), 'numbers');
    }),
  );

// ---- prototype keys ----

const PROTO_WORDS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];

const protoSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    word: fc.constantFrom(...PROTO_WORDS),
    field: fc.constantFrom('key', 'id', 'merchant', 'ref', 'currency', 'type', 'card', 'batchId', 'nested'),
    pick: fc.nat(),
  })
  .map(({ word, field, pick }) =>
    spec(`proto:${field}:${word}`, (ctx: BufferContext): Planted => {
      const id = `proto-${ctx.nonce}-${ctx.index}`;
      const base = validPayment(ctx, id, pick);
      let members: [string, string][];
      switch (field) {
        case 'key':
          members = [
            ...base,
            [
              word,
              obj([
                ['id', str('evil')],
                ['amount', str('1000000.00')],
                ['isAdmin', 'true'],
              ]),
            ],
          ];
          break;
        case 'nested':
          members = [...base, ['meta', obj([[word, obj([['prototype', obj([['polluted', 'true']])]])]])]];
          break;
        case 'ref':
          members = [
            ['id', str(id)],
            ['type', str('void')],
            ['ref', str(word)],
            ['createdAt', str(ctx.nowIso)],
          ];
          break;
        default:
          members = base.map(([k, v]) => (k === field ? [k, str(word)] : [k, v]));
          if (field === 'batchId') members.push(['batchId', str(word)]);
      }
      return planted(orderSubject(), obj(members), `proto:${field}:${word}`);
    }),
  );

// ---- deep nesting ----

const deepSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    depth: fc.oneof(
      fc.integer({ min: 50, max: 1000 }),
      fc.integer({ min: 1000, max: 4000 }),
      fc.integer({ min: 4000, max: 20_000 }),
    ),
    shape: fc.constantFrom('arrays', 'objects', 'mixed', 'top-arrays', 'top-objects'),
    withPan: fc.boolean(),
    pan: panArb,
    valid: fc.boolean(),
    pick: fc.nat(),
  })
  .map(({ depth, shape, withPan, pan, valid, pick }) =>
    spec(`deep:${shape}:${depth}`, (ctx: BufferContext): Planted => {
      const id = `deep-${ctx.nonce}-${ctx.index}`;
      const leaf = withPan ? str(pan) : '0';
      let deep: string;
      if (shape === 'arrays' || shape === 'top-arrays')
        deep = `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
      else if (shape === 'objects' || shape === 'top-objects')
        deep = `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
      else deep = `${'[{"a":'.repeat(depth >> 1)}${leaf}${'}]'.repeat(depth >> 1)}`;
      const kind = `deep:${shape}:${depth}`;
      const extra = withPan ? { pans: [pan] } : {};
      if (shape.startsWith('top-')) return planted(orderSubject(), deep, kind, extra);
      // the poison message of the issue: a rejected order ("amount":"bad") carrying the nesting
      const members = validPayment(ctx, id, pick).map(([k, v]): [string, string] =>
        k === 'amount' && !valid ? [k, str('bad')] : [k, v],
      );
      return planted(orderSubject(), obj([...members, ['extra', deep]]), kind, extra);
    }),
  );

// ---- random bytes and random JSON ----

/** `length` pseudo-random bytes from `seed` (xorshift32). */
function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const randomSpecArb: fc.Arbitrary<MessageSpec> = fc.oneof(
  fc
    .uint8Array({ maxLength: 300 })
    .map((bytes) => spec('random:bytes', () => planted(orderSubject(), bytes, 'random:bytes'))),
  fc
    .string({ unit: 'grapheme', maxLength: 200 })
    .map((s) => spec('random:text', () => planted(orderSubject(), s, 'random:text'))),
  fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.boolean()).map(([value, withId]) =>
    spec('random:json', (ctx: BufferContext): Planted => {
      const text = withId
        ? obj([
            ['id', str(`j-${ctx.nonce}-${ctx.index}`)],
            ['type', str('payment')],
            ['x', JSON.stringify(value)],
          ])
        : JSON.stringify(value);
      return planted(orderSubject(), text ?? 'null', 'random:json');
    }),
  ),
  // around the size limit; the bytes from a seed (fast-check would draw each of ~9,000 bytes on its own)
  fc
    .tuple(fc.integer({ min: 8190, max: 9000 }), fc.integer())
    .map(([length, seed]) =>
      spec('random:large', () => planted(orderSubject(), seededBytes(length, seed), 'random:large')),
    ),
);

// ---- valid orders, and ids used twice ----

const validSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    type: fc.constantFrom(
      'payment',
      'payment',
      'authorize',
      'payout',
      'capture',
      'void',
      'refund',
      'cancel',
      'modify',
    ),
    cents: fc.integer({ min: 1, max: 20_000 }),
    pick: fc.nat(),
    batch: fc.boolean(),
  })
  .map(({ type, cents, pick, batch }) =>
    spec(`valid:${type}`, (ctx: BufferContext): Planted => {
      const id = `v-${ctx.nonce}-${ctx.index}`;
      const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
      let members: [string, string][];
      if (type === 'payment' || type === 'authorize' || type === 'payout') {
        members = validPayment(ctx, id, pick, amount).map(([k, v]) =>
          k === 'type' ? [k, str(type)] : [k, v],
        );
        ctx.refs.push(id);
      } else {
        const ref = ctx.refs.length > 0 ? ctx.refs[pick % ctx.refs.length]! : `v-${ctx.nonce}-none`;
        members = [
          ['id', str(id)],
          ['type', str(type)],
          ['ref', str(ref)],
          ['createdAt', str(ctx.nowIso)],
        ];
        if (type === 'modify' || (type !== 'void' && type !== 'cancel' && pick % 2 === 0))
          members.push(['amount', str(amount)], ['currency', str('USD')]);
      }
      if (batch && pick % 5 === 0) members.push(['batchId', str(`b-${ctx.nonce}`)]);
      return planted(orderSubject(), obj(members), `valid:${type}`);
    }),
  );

/** Ids from a small pool shared by every buffer of a run: the same id comes back with another payload. */
export const CONFLICT_IDS = ['dup-1', 'dup-2', 'dup-3', 'dup-4', 'dup-5', 'dup-6', 'dup-7', 'dup-8'];

const conflictSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    id: fc.constantFrom(...CONFLICT_IDS),
    cents: fc.integer({ min: 1, max: 5000 }),
    type: fc.constantFrom('payment', 'void', 'refund'),
    pick: fc.nat(),
  })
  .map(({ id, cents, type, pick }) =>
    spec(`conflict:${id}:${type}`, (ctx: BufferContext): Planted => {
      const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
      const members: [string, string][] =
        type === 'payment'
          ? validPayment(ctx, id, pick, amount)
          : [
              ['id', str(id)],
              ['type', str(type)],
              ['ref', str(CONFLICT_IDS[pick % CONFLICT_IDS.length]!)],
              ['createdAt', str(ctx.nowIso)],
            ];
      return planted(orderSubject(), obj(members), `conflict:${type}`);
    }),
  );

const batchHeaderSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    orders: fc.oneof(fc.integer({ min: -5, max: 10 }).map(String), fc.constant('1e309')),
    pick: fc.nat(),
  })
  .map(({ orders, pick }) =>
    spec(
      'batch-header',
      (ctx: BufferContext): Planted =>
        planted(
          `pay.batches.b-${ctx.nonce}`,
          obj([
            ['id', str(`b-${ctx.nonce}`)],
            ['orders', orders],
            ['atomic', pick % 2 ? 'true' : 'false'],
          ]),
          'batch-header',
        ),
    ),
  );

// ---- batches: headers, their members, junk batch ids ----

/** A batch header on pay.batches.<source>.<id> (sometimes a bad one), its members to follow as 1.00 each. */
const batchOpenSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({
    count: fc.integer({ min: 1, max: 6 }),
    mode: fc.constantFrom('independent', 'atomic'),
    bad: fc.nat({ max: 9 }),
    source: fc.constantFrom('attack', 'other'),
  })
  .map(({ count, mode, bad, source }) =>
    spec(`batch:open:${mode}:${count}${bad === 0 ? ':bad' : ''}`, (ctx: BufferContext): Planted => {
      const id = `bt-${ctx.nonce}-${ctx.index}`;
      if (bad !== 0) ctx.batches.push({ id, left: count });
      const members: [string, string][] = [
        ['id', str(bad === 0 ? `${id}-other` : id)],
        ['count', String(count)],
        ['controlSum', str(`${count}.00`)],
        ['currency', str('USD')],
        ['mode', str(mode)],
      ];
      return planted(`pay.batches.${source}.${id}`, obj(members), 'batch:open');
    }),
  );

/** A member of a batch opened earlier in the buffer, or one naming a batch nobody opened (junk). */
const batchMemberSpecArb: fc.Arbitrary<MessageSpec> = fc
  .record({ pick: fc.nat(), junk: fc.nat({ max: 5 }) })
  .map(({ pick, junk }) =>
    spec(`batch:member${junk === 0 ? ':junk' : ''}`, (ctx: BufferContext): Planted => {
      const id = `bm-${ctx.nonce}-${ctx.index}`;
      const open = ctx.batches.filter((b) => b.left > 0);
      let batchId = `junk-${ctx.nonce}-${pick % 50}`;
      if (junk !== 0 && open.length > 0) {
        const b = open[pick % open.length]!;
        b.left--;
        batchId = b.id;
      }
      return planted(
        orderSubject(),
        obj([...validPayment(ctx, id, pick, '1.00'), ['batchId', str(batchId)]]),
        'batch:member',
      );
    }),
  );

/** The mix with batches: headers, members and junk batch ids on top of everything else. */
export function batchMix(panPlaces: readonly PanPlace[] = PAN_PLACES): fc.Arbitrary<MessageSpec> {
  return fc.oneof(
    { arbitrary: messageMix(panPlaces), weight: 70 },
    { arbitrary: batchOpenSpecArb, weight: 6 },
    { arbitrary: batchMemberSpecArb, weight: 24 },
  );
}

/** The whole mix, weighted; PANs only in `panPlaces` (all of them unless told). */
export function messageMix(panPlaces: readonly PanPlace[] = PAN_PLACES): fc.Arbitrary<MessageSpec> {
  return fc.oneof(
    { arbitrary: validSpecArb, weight: 25 },
    { arbitrary: conflictSpecArb, weight: 8 },
    { arbitrary: panSpecArb(panPlaces), weight: 20 },
    { arbitrary: cvvSpecArb, weight: 15 },
    { arbitrary: numbersSpecArb, weight: 10 },
    { arbitrary: protoSpecArb, weight: 7 },
    { arbitrary: deepSpecArb, weight: 3 },
    { arbitrary: randomSpecArb, weight: 10 },
    { arbitrary: batchHeaderSpecArb, weight: 2 },
  );
}

/** Only PANs, in `places`. */
export const panOnly = (places: readonly PanPlace[]): fc.Arbitrary<MessageSpec> => panSpecArb(places);
