// Realistic, deterministic payment traffic for a seed: order flows, batches and a small share of trouble.
// Pure: no clock, no I/O; logical time starts at `startMs`. Also the demo's cards and merchants, so that a
// recording made with them matches the ledger `paystream seed` creates.
import type { BatchMode, WireBatchHeader, WireOrder } from './batchfile.ts';
import { luhnValid, tokenizePan } from './cards.ts';
import { currencyExponent, formatAmount } from './money.ts';
import type { OrderType } from './types.ts';

export const TROUBLE_KINDS = [
  'not_json',
  'wrong_shape',
  'number_amount',
  'too_precise',
  'duplicate',
  'stale',
  'future_dated',
  'fraud_burst',
  'bad_control_sum',
] as const;
/** duplicate, stale and fraud_burst messages are valid on the wire; the processor must catch them by state. */
export type TroubleKind = (typeof TROUBLE_KINDS)[number];

export interface GeneratedMessage {
  /** relative to the prefix: `orders.<source>` or `batches.<batchId>` */
  subject: string;
  payload: Uint8Array | string;
  /** the `Nats-Msg-Id` header: the order id (or the batch id for a header) */
  msgId?: string;
  /** logical time, epoch ms, never decreasing */
  atMs: number;
  /** what it is, for stats and tests (not on the wire); `garbage` when it has no usable type */
  kind: OrderType | 'batch_header' | 'garbage';
  trouble?: TroubleKind;
  batchId?: string;
}

export interface GeneratorCard {
  token: string;
  currency: string;
  /** when given, a share (`panShare`) of this card's orders carry the PAN instead of the token */
  pan?: string;
}

export interface GeneratorOptions {
  seed: number;
  cards: GeneratorCard[];
  merchants: string[];
  /** logical start time, epoch ms */
  startMs: number;
  /** share of messages that are trouble @default 0.02 */
  troubleShare?: number;
  /** share of messages that are batch headers or batch orders @default 0.05 */
  batchShare?: number;
  /** share of batches whose header controlSum is wrong @default 0.05 */
  badControlSumShare?: number;
  /** share of atomic batches @default 0.4 */
  atomicBatchShare?: number;
  /** average messages per second of logical time (Poisson arrivals) @default 200 */
  ratePerSecond?: number;
  /** stop after this many messages @default Infinity */
  messagesMax?: number;
  /** stop after this much logical time @default Infinity */
  durationMs?: number;
  /** the `<source>` of `orders.<source>` @default 'gen' */
  source?: string;
  /** order and batch ids start with it; change it to rerun a seed against the same ledger @default `g<seed base 36>` */
  idPrefix?: string;
  /** Zipf exponent of merchant popularity @default 1.1 */
  merchantZipf?: number;
  /** share of orders sent with `pan` instead of `card`, for cards that have one @default 0.05 */
  panShare?: number;
  /** most batch orders in one generated batch @default 120 */
  batchOrdersMax?: number;
}

export interface ParsedGeneratorOptions extends Required<Omit<GeneratorOptions, 'cards' | 'merchants'>> {
  cards: readonly GeneratorCard[];
  merchants: readonly string[];
}

const TOKEN_RE = /^[0-9a-f]{64}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,40}$/;

/** Fills the defaults, clamps shares and rejects what cannot work, with a message naming the option. */
export function parseGeneratorOptions(options: GeneratorOptions): ParsedGeneratorOptions {
  const share = (name: string, value: number | undefined, fallback: number, max: number): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v < 0 || v > max)
      throw new RangeError(`${name} must be between 0 and ${max}, got ${v}`);
    return v;
  };
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
  if (options.cards.length === 0) throw new RangeError('cards must not be empty');
  if (options.merchants.length === 0) throw new RangeError('merchants must not be empty');
  for (const card of options.cards) {
    if (!TOKEN_RE.test(card.token)) throw new RangeError(`card token ${card.token} is not 64 lowercase hex`);
    if (currencyExponent(card.currency) === undefined) {
      throw new RangeError(`card currency ${card.currency} is not an ISO 4217 code paystream knows`);
    }
  }
  const troubleShare = share('troubleShare', options.troubleShare, 0.02, 0.5);
  const batchShare = share('batchShare', options.batchShare, 0.05, 0.5);
  const idPrefix = options.idPrefix ?? `g${(options.seed >>> 0).toString(36)}`;
  if (!ID_RE.test(idPrefix)) throw new RangeError(`idPrefix must be 1-40 of A-Za-z0-9_-, got ${idPrefix}`);
  const ratePerSecond = options.ratePerSecond ?? 200;
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
    throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
  }
  const batchOrdersMax = options.batchOrdersMax ?? 120;
  if (!Number.isInteger(batchOrdersMax) || batchOrdersMax < 2) {
    throw new RangeError(`batchOrdersMax must be an integer of at least 2, got ${batchOrdersMax}`);
  }
  return {
    seed: options.seed,
    cards: options.cards,
    merchants: options.merchants,
    startMs: options.startMs,
    troubleShare,
    batchShare,
    badControlSumShare: share('badControlSumShare', options.badControlSumShare, 0.05, 1),
    atomicBatchShare: share('atomicBatchShare', options.atomicBatchShare, 0.4, 1),
    ratePerSecond,
    messagesMax: options.messagesMax ?? Number.POSITIVE_INFINITY,
    durationMs: options.durationMs ?? Number.POSITIVE_INFINITY,
    source: options.source ?? 'gen',
    idPrefix,
    merchantZipf: share('merchantZipf', options.merchantZipf, 1.1, 5),
    panShare: share('panShare', options.panShare, 0.05, 1),
    batchOrdersMax,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Randomness: sfc32 seeded through splitmix32, a few lines and good enough for traffic.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;
  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    for (let i = 0; i < 12; i++) this.next();
  }
  /** uniform in [0, 1) */
  next(): number {
    // sfc32 (Chris Doty-Humphrey), as in PractRand
    this.d = (this.d + 1) >>> 0;
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (((this.c << 21) | (this.c >>> 11)) + t) >>> 0;
    return t / 4294967296;
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** integer in [min, max] */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let r = this.next() * entries.reduce((sum, [, w]) => sum + w, 0);
    for (const [key, w] of entries) {
      r -= w;
      if (r < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }
}

/** Draws indexes 0..n-1 with probability proportional to 1/(rank+1)^s, ranks shuffled by the rng. */
class Zipf {
  private readonly cumulative: Float64Array;
  private readonly rankToIndex: Uint32Array;
  constructor(n: number, s: number, rng: Rng) {
    this.cumulative = new Float64Array(n);
    let total = 0;
    for (let k = 0; k < n; k++) {
      total += 1 / (k + 1) ** s;
      this.cumulative[k] = total;
    }
    for (let k = 0; k < n; k++) this.cumulative[k]! /= total;
    this.rankToIndex = Uint32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [this.rankToIndex[i], this.rankToIndex[j]] = [this.rankToIndex[j]!, this.rankToIndex[i]!];
    }
  }
  draw(rng: Rng): number {
    const r = rng.next();
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    return this.rankToIndex[lo]!;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Amounts: drawn in "USD-like major units" as a float (randomness, not money), turned into bigint minor
// units of the order currency at once, and formatted only when the payload is written.

const PER_USD: Record<string, number> = {
  USD: 1,
  EUR: 0.92,
  GBP: 0.79,
  CHF: 0.88,
  CNY: 7.2,
  JPY: 150,
  KRW: 1350,
};

type AmountProfile = 'retail' | 'payout' | 'payroll' | 'tiny';

function drawMinor(rng: Rng, currency: string, profile: AmountProfile): bigint {
  let major: number;
  switch (profile) {
    case 'retail':
      // log-normal body (median ~25, most 5-100) with a Pareto tail into the thousands
      major = rng.chance(0.04)
        ? 150 * (1 - rng.next()) ** (-1 / 1.3)
        : Math.exp(Math.log(25) + 0.95 * rng.normal());
      major = Math.min(major, 25_000);
      break;
    case 'payout':
      major = Math.min(Math.exp(Math.log(180) + 1.0 * rng.normal()), 50_000);
      break;
    case 'payroll':
      major = Math.exp(Math.log(2600) + 0.35 * rng.normal());
      break;
    case 'tiny':
      major = 0.5 + rng.next() * 4.5;
      break;
  }
  const exponent = currencyExponent(currency) ?? 2;
  let minor = Math.round(major * (PER_USD[currency] ?? 1) * 10 ** exponent);
  // prices without minor units are usually round: JPY 1,280 rather than 1,283
  if (exponent === 0 && minor >= 1000) minor = Math.round(minor / 10) * 10;
  return BigInt(Math.max(minor, profile === 'tiny' ? 1 : 10 ** exponent / 2, 1));
}

/** Minor units as the wire's decimal string: 1250n USD -> "12.50", JPY 1280n -> "1280". */
export function formatMinor(minor: bigint, currency: string): string {
  return formatAmount(minor, currency, { grouping: false });
}

function fractionOf(rng: Rng, minor: bigint, min: number, max: number): bigint {
  const permille = BigInt(Math.round((min + rng.next() * (max - min)) * 1000));
  const part = (minor * permille) / 1000n;
  return part < 1n ? 1n : part;
}

// ---------------------------------------------------------------------------------------------------------
// Merchants: category from the name when it says one, else from a hash; country from the currency's home.

const MCC_BY_CATEGORY: Record<string, string> = {
  coffee: '5814',
  grocery: '5411',
  fuel: '5541',
  books: '5942',
  travel: '4722',
  electronics: '5732',
  pharmacy: '5912',
  restaurant: '5812',
  apparel: '5651',
  streaming: '4899',
  taxi: '4121',
  hotel: '7011',
  airline: '4511',
  games: '5816',
};
const CATEGORIES = Object.keys(MCC_BY_CATEGORY);
const COUNTRIES_BY_CURRENCY: Record<string, readonly string[]> = {
  USD: ['US'],
  EUR: ['DE', 'FR', 'NL', 'ES', 'IT', 'IE'],
  CNY: ['CN'],
  JPY: ['JP'],
  GBP: ['GB'],
  CHF: ['CH'],
  KRW: ['KR'],
};
const COUNTRIES_ABROAD = ['US', 'GB', 'DE', 'FR', 'JP', 'CN', 'MX', 'BR', 'TH', 'AE', 'SG', 'CA'];

function hashString(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function merchantMcc(merchant: string): string {
  const category =
    CATEGORIES.find((c) => merchant.includes(c)) ?? CATEGORIES[hashString(merchant) % CATEGORIES.length]!;
  return MCC_BY_CATEGORY[category]!;
}

function merchantCountry(merchant: string, currency: string, rng: Rng): string {
  if (rng.chance(0.015)) return rng.pick(COUNTRIES_ABROAD);
  const home = COUNTRIES_BY_CURRENCY[currency] ?? ['US'];
  return home[hashString(merchant) % home.length]!;
}

// ---------------------------------------------------------------------------------------------------------
// The generator.

/** Mix of plain (non-batch, non-trouble) orders; follow-ups fall back to a payment when nothing is open. */
const ORDER_MIX = {
  payment: 0.56,
  authorize: 0.15,
  capture: 0.09,
  void: 0.03,
  refund: 0.06,
  payout: 0.06,
  cancel: 0.025,
  modify: 0.025,
} as const satisfies Record<OrderType, number>;

/** Relative weights of trouble, per message (a fraud burst is several messages, so its weight is split). */
const TROUBLE_MIX = {
  not_json: 0.12,
  wrong_shape: 0.14,
  number_amount: 0.09,
  too_precise: 0.09,
  duplicate: 0.16,
  stale: 0.12,
  future_dated: 0.04,
  fraud_burst: 0.24,
} as const;
const FRAUD_BURST_MEAN = 12;
const BATCH_ORDERS_MIN = 8;
const STALE_AGE_MS = 10 * 60_000;
/** a follow-up (capture, refund, ...) only acts on an order at least this old */
const FOLLOW_UP_AGE_MS = 1_000;
/** open authorizations and refundable payments kept to act on later; at the maximum a random one is forgotten */
const OPEN_ORDERS_MAX = 5_000;
/** recent valid orders kept to republish as duplicates */
const RECENT_MAX = 64;
const ACTIVE_BATCHES_MAX = 3;

interface OpenOrder {
  id: string;
  card: GeneratorCard;
  merchant: string;
  currency: string;
  /** authorized (authorization) or still refundable (payment) */
  minor: bigint;
  atMs: number;
}

interface Scheduled {
  atMs: number;
  seq: number;
  make: (atMs: number) => GeneratedMessage;
}

/** A binary min-heap on (atMs, seq): scheduled burst and batch messages, in a deterministic order. */
class Schedule {
  private readonly heap: Scheduled[] = [];
  private seq = 0;
  get size(): number {
    return this.heap.length;
  }
  push(atMs: number, make: Scheduled['make']): void {
    this.heap.push({ atMs, seq: this.seq++, make });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  peekAtMs(): number {
    return this.heap[0]?.atMs ?? Number.POSITIVE_INFINITY;
  }
  pop(): Scheduled | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined || this.heap.length === 0) return top;
    this.heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.less(l, m)) m = l;
      if (r < this.heap.length && this.less(r, m)) m = r;
      if (m === i) return top;
      this.swap(i, m);
      i = m;
    }
  }
  private less(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }
  private swap(i: number, j: number): void {
    [this.heap[i], this.heap[j]] = [this.heap[j]!, this.heap[i]!];
  }
}

/** Bounded pool with random removal: swap-remove keeps it O(1). */
class Pool<T> {
  readonly items: T[] = [];
  constructor(private readonly max: number) {}
  add(item: T, rng: Rng): void {
    if (this.items.length < this.max) this.items.push(item);
    else this.items[rng.int(this.items.length)] = item;
  }
  /** a random item older than `beforeMs`, or undefined (two tries, then give up) */
  pickOlder(rng: Rng, beforeMs: number, atMs: (item: T) => number): number | undefined {
    for (let tries = 0; tries < 2 && this.items.length > 0; tries++) {
      const i = rng.int(this.items.length);
      if (atMs(this.items[i]!) <= beforeMs) return i;
    }
    return undefined;
  }
  removeAt(i: number): T {
    const item = this.items[i]!;
    this.items[i] = this.items[this.items.length - 1]!;
    this.items.pop();
    return item;
  }
}

/**
 * Endless (or bounded by messagesMax/durationMs) realistic traffic; the same options give the same sequence.
 * Follow-ups reference earlier orders of the same run; the generator does not know the processor's
 * decisions, so some follow-ups act on orders that were declined, as in real life.
 */
export function* generateTraffic(input: GeneratorOptions): Generator<GeneratedMessage> {
  const o = parseGeneratorOptions(input);
  const rng = new Rng(o.seed);
  const merchantsZipf = new Zipf(o.merchants.length, o.merchantZipf, rng);
  // cards are mildly skewed too: some people use their card far more than others
  const cardsZipf = new Zipf(o.cards.length, 0.25, rng);
  const cardsByCurrency = new Map<string, GeneratorCard[]>();
  for (const card of o.cards) {
    const pool = cardsByCurrency.get(card.currency);
    if (pool) pool.push(card);
    else cardsByCurrency.set(card.currency, [card]);
  }
  const cardByToken = new Map(o.cards.map((c) => [c.token, c]));
  const subject = `orders.${o.source}`;
  const intervalMs = 1000 / o.ratePerSecond;
  const batchMeanSize = (BATCH_ORDERS_MIN + o.batchOrdersMax) / 2;
  // per decision step, the chance to open a batch so that its header and orders make up batchShare of messages
  const batchStartChance = o.batchShare / (batchMeanSize + 1 - o.batchShare * batchMeanSize);
  const troubleWeights: Record<keyof typeof TROUBLE_MIX, number> = {
    ...TROUBLE_MIX,
    fraud_burst: TROUBLE_MIX.fraud_burst / FRAUD_BURST_MEAN,
  };
  // a burst's extra messages take steps of their own: lower the per-step chance so messages match troubleShare
  const troubleWeightTotal = Object.values(troubleWeights).reduce((a, b) => a + b, 0);
  const extraPerTrouble = (troubleWeights.fraud_burst / troubleWeightTotal) * (FRAUD_BURST_MEAN - 1);
  const troubleChance = o.troubleShare / (1 + extraPerTrouble * (1 - o.troubleShare));

  const schedule = new Schedule();
  const openAuths = new Pool<OpenOrder>(OPEN_ORDERS_MAX);
  const refundable = new Pool<OpenOrder>(OPEN_ORDERS_MAX);
  const recent: GeneratedMessage[] = [];
  let activeBatches = 0;
  let orderSeq = 0;
  let batchSeq = 0;
  let clock = o.startMs;
  let emitted = 0;
  let batchMessages = 0;

  const nextId = (): string => `${o.idPrefix}-${(orderSeq++).toString(36)}`;
  const pickCard = (): GeneratorCard => o.cards[cardsZipf.draw(rng)]!;
  /** merchants settle in one currency: non-USD cards shop at the merchant's account in their own currency */
  const pickMerchant = (currency: string): string => merchantAccountFor(o.merchants[merchantsZipf.draw(rng)]!, currency);
  const isoAt = (ms: number): string => new Date(Math.round(ms)).toISOString();

  /** a wire order, fields in contract order; createdAt a little before arrival (network and queueing) */
  const order = (fields: Omit<WireOrder, 'createdAt'>, atMs: number, createdAtMs?: number): WireOrder => {
    const wire: WireOrder = { id: fields.id, type: fields.type } as WireOrder;
    if (fields.card !== undefined) {
      // only a first instruction may carry the PAN (as from a checkout page); follow-ups and batches use the token
      const card = cardByToken.get(fields.card);
      const first = fields.type === 'payment' || fields.type === 'authorize' || fields.type === 'payout';
      if (card?.pan !== undefined && first && fields.batchId === undefined && rng.chance(o.panShare))
        wire.pan = card.pan;
      else wire.card = fields.card;
    }
    if (fields.merchant !== undefined) wire.merchant = fields.merchant;
    if (fields.amount !== undefined) wire.amount = fields.amount;
    if (fields.currency !== undefined) wire.currency = fields.currency;
    if (fields.ref !== undefined) wire.ref = fields.ref;
    if (fields.batchId !== undefined) wire.batchId = fields.batchId;
    wire.createdAt = isoAt(createdAtMs ?? atMs - rng.int(250));
    if (fields.mcc !== undefined) wire.mcc = fields.mcc;
    if (fields.country !== undefined) wire.country = fields.country;
    return wire;
  };
  const message = (wire: WireOrder, atMs: number, trouble?: TroubleKind): GeneratedMessage => {
    const m: GeneratedMessage = {
      subject,
      payload: JSON.stringify(wire),
      msgId: wire.id,
      atMs,
      kind: wire.type,
    };
    if (trouble !== undefined) m.trouble = trouble;
    if (wire.batchId !== undefined) m.batchId = wire.batchId;
    return m;
  };
  const remember = (m: GeneratedMessage): GeneratedMessage => {
    if (recent.length >= RECENT_MAX) recent[rng.int(RECENT_MAX)] = m;
    else recent.push(m);
    return m;
  };

  /** a payment or authorization at a Zipf-popular merchant, with its mcc and country */
  const purchase = (
    type: 'payment' | 'authorize',
    atMs: number,
    card = pickCard(),
    merchant = pickMerchant(card.currency),
    profile: AmountProfile = 'retail',
  ) => {
    const minor = drawMinor(rng, card.currency, profile);
    const wire = order(
      {
        id: nextId(),
        type,
        card: card.token,
        merchant,
        amount: formatMinor(minor, card.currency),
        currency: card.currency,
        mcc: merchantMcc(merchant),
        country: merchantCountry(merchant, card.currency, rng),
      },
      atMs,
    );
    return { wire, open: { id: wire.id, card, merchant, currency: card.currency, minor, atMs } };
  };

  const plainOrder = (atMs: number): GeneratedMessage => {
    let type: OrderType = rng.weighted(ORDER_MIX);
    const olderThan = atMs - FOLLOW_UP_AGE_MS;
    const authIndex =
      type === 'capture' || type === 'void' || type === 'cancel' || type === 'modify'
        ? openAuths.pickOlder(rng, olderThan, (a) => a.atMs)
        : undefined;
    const refundIndex = type === 'refund' ? refundable.pickOlder(rng, olderThan, (a) => a.atMs) : undefined;
    if (
      type !== 'payment' &&
      type !== 'authorize' &&
      type !== 'payout' &&
      authIndex === undefined &&
      refundIndex === undefined
    ) {
      type = 'payment';
    }
    switch (type) {
      case 'payment': {
        const { wire, open } = purchase('payment', atMs);
        refundable.add(open, rng);
        return remember(message(wire, atMs));
      }
      case 'authorize': {
        const { wire, open } = purchase('authorize', atMs);
        openAuths.add(open, rng);
        return remember(message(wire, atMs));
      }
      case 'payout': {
        const card = pickCard();
        const minor = drawMinor(rng, card.currency, 'payout');
        const fields = { id: nextId(), type, card: card.token, merchant: pickMerchant(card.currency) };
        const wire = order(
          { ...fields, amount: formatMinor(minor, card.currency), currency: card.currency },
          atMs,
        );
        return remember(message(wire, atMs));
      }
      case 'capture': {
        // 70% capture in full (no amount: "the rest"), else a partial capture (shipped in part, tip-less)
        const auth = openAuths.removeAt(authIndex!);
        const fields: Omit<WireOrder, 'createdAt'> = {
          id: nextId(),
          type,
          card: auth.card.token,
          merchant: auth.merchant,
          ref: auth.id,
        };
        if (rng.chance(0.3)) {
          fields.amount = formatMinor(fractionOf(rng, auth.minor, 0.5, 0.99), auth.currency);
          fields.currency = auth.currency;
        }
        return remember(message(order(fields, atMs), atMs));
      }
      case 'void':
      case 'cancel': {
        const auth = openAuths.removeAt(authIndex!);
        const wire = order(
          { id: nextId(), type, card: auth.card.token, merchant: auth.merchant, ref: auth.id },
          atMs,
        );
        return remember(message(wire, atMs));
      }
      case 'modify': {
        // incremental authorization or a lowered hold: the new authorized amount
        const auth = openAuths.items[authIndex!]!;
        auth.minor = fractionOf(rng, auth.minor, 0.7, 1.4);
        const fields = { id: nextId(), type, card: auth.card.token, merchant: auth.merchant, ref: auth.id };
        const wire = order(
          { ...fields, amount: formatMinor(auth.minor, auth.currency), currency: auth.currency },
          atMs,
        );
        return remember(message(wire, atMs));
      }
      case 'refund': {
        const paid = refundable.items[refundIndex!]!;
        const fields: Omit<WireOrder, 'createdAt'> = {
          id: nextId(),
          type,
          card: paid.card.token,
          merchant: paid.merchant,
          ref: paid.id,
        };
        if (rng.chance(0.45) || paid.minor < 2n) {
          refundable.removeAt(refundIndex!);
        } else {
          const part = fractionOf(rng, paid.minor, 0.1, 0.8);
          paid.minor -= part;
          fields.amount = formatMinor(part, paid.currency);
          fields.currency = paid.currency;
        }
        return remember(message(order(fields, atMs), atMs));
      }
    }
  };

  const startBatch = (atMs: number): GeneratedMessage => {
    // upper-case B: order ids are lower-case base 36, so a batch id (and its Nats-Msg-Id) never equals one
    const id = `${o.idPrefix}-B${(batchSeq++).toString(36)}`;
    const payroll = rng.chance(0.6);
    const mode: BatchMode = rng.chance(o.atomicBatchShare) ? 'atomic' : 'independent';
    const currency = pickCard().currency;
    const pool = cardsByCurrency.get(currency)!;
    // a payroll pays each employee once; a settlement may hold the same card more than once
    const drawn = rng.between(BATCH_ORDERS_MIN, o.batchOrdersMax);
    const count = payroll ? Math.min(drawn, Math.max(pool.length, BATCH_ORDERS_MIN)) : drawn;
    // payroll: one employer pays its staff; settlement: one merchant's day of card payments, sent in bulk
    const merchant = pickMerchant(currency);
    const orders: WireOrder[] = [];
    let sum = 0n;
    const start = rng.int(pool.length);
    for (let i = 0; i < count; i++) {
      const card = pool[(start + i * 7919) % pool.length]!;
      const minor = drawMinor(rng, currency, payroll ? 'payroll' : 'retail');
      sum += minor;
      orders.push({
        id: `${id}-${i + 1}`,
        type: payroll ? 'payout' : 'payment',
        card: card.token,
        merchant,
        amount: formatMinor(minor, currency),
        currency,
        batchId: id,
        createdAt: '',
      });
    }
    const bad = rng.chance(o.badControlSumShare);
    const controlSum = bad ? sum + (rng.chance(0.5) ? 1n : -1n) * BigInt(1 + rng.int(3) * 99) : sum;
    const header: WireBatchHeader = {
      id,
      count,
      controlSum: formatMinor(controlSum < 0n ? 0n : controlSum, currency),
      currency,
      mode,
    };
    activeBatches++;
    let t = atMs;
    orders.forEach((wire, i) => {
      t += intervalMs * (1 + rng.next() * 5);
      schedule.push(t, (at) => {
        if (i === orders.length - 1) activeBatches--;
        return message({ ...wire, createdAt: isoAt(at - rng.int(250)) }, at);
      });
    });
    const m: GeneratedMessage = {
      subject: `batches.${id}`,
      payload: JSON.stringify(header),
      msgId: id,
      atMs,
      kind: 'batch_header',
      batchId: id,
    };
    if (bad) m.trouble = 'bad_control_sum';
    return m;
  };

  const trouble = (atMs: number): GeneratedMessage => {
    const kind = rng.weighted(troubleWeights);
    const garbage = (payload: Uint8Array | string, msgId?: string): GeneratedMessage => {
      const m: GeneratedMessage = { subject, payload, atMs, kind: 'garbage', trouble: kind };
      if (msgId !== undefined) m.msgId = msgId;
      return m;
    };
    switch (kind) {
      case 'not_json': {
        const id = nextId();
        const variants: (Uint8Array | string)[] = [
          `{"id":"${id}","type":"payment","amount":"12.`,
          `id=${id}&type=payment&amount=12.50`,
          `<order><id>${id}</id><amount>12.50</amount></order>`,
          new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3, 0x28, 0xa0, 0xa1]),
          '',
        ];
        return garbage(rng.pick(variants), id);
      }
      case 'wrong_shape': {
        const { wire } = purchase('payment', atMs);
        const id = wire.id;
        const variants: (() => unknown)[] = [
          () => [wire],
          () => `${id}`,
          () => ({ ...wire, id: undefined }),
          () => ({ ...wire, type: 'charge' }),
          () => ({ ...wire, card: 'not-a-card-token' }),
          () => ({ ...wire, merchant: undefined }),
          () => ({ ...wire, currency: 'XYZ' }),
          () => ({ ...wire, amount: '-5.00' }),
          () => ({ ...wire, amount: '0.00' }),
          () => ({ ...wire, createdAt: 'yesterday' }),
          () => ({ ...wire, cvv: '123' }),
          () => ({ ...wire, id: `${id}/${'x'.repeat(70)}` }),
        ];
        return garbage(JSON.stringify(rng.pick(variants)()), id);
      }
      case 'number_amount': {
        const { wire } = purchase('payment', atMs);
        const payload = JSON.stringify(wire).replace(
          `"amount":"${wire.amount}"`,
          `"amount":${Number(wire.amount)}`,
        );
        return { subject, payload, msgId: wire.id, atMs, kind: 'payment', trouble: kind };
      }
      case 'too_precise': {
        const { wire } = purchase('payment', atMs);
        wire.amount = currencyExponent(wire.currency!) === 0 ? `${wire.amount}.5` : `${wire.amount}5`;
        return message(wire, atMs, kind);
      }
      case 'duplicate': {
        if (recent.length === 0) return plainOrder(atMs);
        const again = rng.pick(recent);
        return { ...again, atMs, trouble: kind };
      }
      case 'stale':
      case 'future_dated': {
        const { wire } = purchase('payment', atMs);
        const skewMs = kind === 'stale' ? -STALE_AGE_MS : 10 * 60_000;
        wire.createdAt = isoAt(atMs + skewMs);
        return message(wire, atMs, kind);
      }
      case 'fraud_burst': {
        // card testing: one card, many merchants, seconds apart; tiny amounts first, then larger ones
        const card = pickCard();
        const size = rng.between(FRAUD_BURST_MEAN - 6, FRAUD_BURST_MEAN + 6);
        const first = purchase('payment', atMs, card, o.merchants[rng.int(o.merchants.length)]!, 'tiny');
        let t = atMs;
        for (let i = 1; i < size; i++) {
          t += 80 + rng.int(400);
          const merchant = o.merchants[rng.int(o.merchants.length)]!;
          const profile: AmountProfile = i < size / 2 ? 'tiny' : 'retail';
          schedule.push(t, (at) => message(purchase('payment', at, card, merchant, profile).wire, at, kind));
        }
        return message(first.wire, atMs, kind);
      }
    }
  };

  while (emitted < o.messagesMax) {
    clock += rng.exponential(intervalMs);
    if (clock - o.startMs > o.durationMs) return;
    const atMs = Math.round(clock);
    let next: GeneratedMessage;
    if (schedule.peekAtMs() <= clock) next = schedule.pop()!.make(atMs);
    else if (rng.chance(troubleChance)) next = trouble(atMs);
    // batches come in lumps: lean on the start chance so the running share stays near batchShare
    else if (
      activeBatches < ACTIVE_BATCHES_MAX &&
      rng.chance(batchStartChance * (batchMessages < o.batchShare * emitted ? 1.5 : 0.5))
    ) {
      next = startBatch(atMs);
    } else next = plainOrder(atMs);
    emitted++;
    if (next.batchId !== undefined) batchMessages++;
    yield next;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The demo's cards and merchants: `paystream seed` registers exactly these, and recordings use them.

/** Demo only: the HMAC key that turns the demo PANs into card tokens. Never use it for real cards. */
export const DEMO_SECRET_HEX = '70617973747265616d2d64656d6f2d6b65792d6e6f742d666f722d70726f6421';
const DEMO_KEY = Buffer.from(DEMO_SECRET_HEX, 'hex');
/** The seed and sizes the demo ledger and the bundled recording share. */
export const DEMO_SEED = 20_240_601;
export const DEMO_CARD_COUNT = 2000;
export const DEMO_MERCHANT_COUNT = 60;

/** Test-card BIN prefixes (the ones payment providers document for testing), with length and weight. */
const DEMO_BINS: readonly { prefix: string; length: number; weight: number }[] = [
  { prefix: '424242', length: 16, weight: 30 }, // visa
  { prefix: '400000', length: 16, weight: 25 }, // visa
  { prefix: '555555', length: 16, weight: 15 }, // mastercard
  { prefix: '222300', length: 16, weight: 12 }, // mastercard 2-series
  { prefix: '378282', length: 15, weight: 4 }, // amex
  { prefix: '371449', length: 15, weight: 3 }, // amex
  { prefix: '601111', length: 16, weight: 4 }, // discover
  { prefix: '353011', length: 16, weight: 3 }, // jcb
  { prefix: '620000', length: 19, weight: 2 }, // unionpay
  { prefix: '305693', length: 14, weight: 2 }, // diners
];

function luhnCheckDigit(partial: string): string {
  for (let d = 0; d < 9; d++) if (luhnValid(`${partial}${d}`)) return String(d);
  return '9';
}

/**
 * `n` distinct Luhn-valid test PANs, deterministic for the seed, mostly Visa and Mastercard.
 * Prefix-stable: demoCardPans(100, s) is the start of demoCardPans(500, s).
 */
export function demoCardPans(n: number, seed: number): string[] {
  const rng = new Rng(seed ^ 0x5eed_ca4d);
  const weights = Object.fromEntries(DEMO_BINS.map((b, i) => [String(i), b.weight]));
  const seen = new Set<string>();
  const pans: string[] = [];
  while (pans.length < n) {
    const bin = DEMO_BINS[Number(rng.weighted(weights))]!;
    let partial = bin.prefix;
    while (partial.length < bin.length - 1) partial += String(rng.int(10));
    const pan = partial + luhnCheckDigit(partial);
    if (seen.has(pan)) continue;
    seen.add(pan);
    pans.push(pan);
  }
  return pans;
}

/** The card currency of the demo card at `index`: of every 20, 14 USD, 3 EUR, 2 CNY, 1 JPY. */
export function demoCardCurrency(index: number): string {
  const slot = index % 20;
  if (slot < 14) return 'USD';
  if (slot < 17) return 'EUR';
  if (slot < 19) return 'CNY';
  return 'JPY';
}

/** HMAC-SHA256 of the PAN under DEMO_SECRET_HEX, hex: the token a demo ledger gives the card. */
export function demoCardToken(pan: string): string {
  return tokenizePan(pan, DEMO_KEY);
}

/** The demo cards with their tokens and currencies, ready for generateTraffic's `cards`. */
export function demoCards(n: number, seed: number): (GeneratorCard & { pan: string })[] {
  return demoCardPans(n, seed).map((pan, i) => ({
    pan,
    token: demoCardToken(pan),
    currency: demoCardCurrency(i),
  }));
}

/** The account a merchant settles `currency` in: the id itself for USD, `<id>-<ccy>` otherwise. */
export function merchantAccountFor(merchant: string, currency: string): string {
  return currency === 'USD' ? merchant : `${merchant}-${currency.toLowerCase()}`;
}

/** Merchant account ids like `m-coffee-001`, cycling through the categories. */
export function demoMerchants(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const category = CATEGORIES[i % CATEGORIES.length]!;
    return `m-${category}-${String(Math.floor(i / CATEGORIES.length) + 1).padStart(3, '0')}`;
  });
}
