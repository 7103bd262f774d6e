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

/** Relative shares of trouble messages, by kind. */
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

/** A trouble kind's weight per decision step: one fraud burst step sends FRAUD_BURST_MEAN messages on average. */
const TROUBLE_WEIGHTS: Record<keyof typeof TROUBLE_MIX, number> = {
  ...TROUBLE_MIX,
  fraud_burst: TROUBLE_MIX.fraud_burst / FRAUD_BURST_MEAN,
};

/** Per decision step, the chance to open a batch so that headers and their orders make up batchShare. */
function batchStartChanceFor(o: ParsedGeneratorOptions): number {
  const batchMeanSize = (BATCH_ORDERS_MIN + o.batchOrdersMax) / 2;
  return o.batchShare / (batchMeanSize + 1 - o.batchShare * batchMeanSize);
}

/** Per decision step, the chance of trouble: a burst's extra messages take steps of their own. */
function troubleChanceFor(o: ParsedGeneratorOptions): number {
  const weightTotal = Object.values(TROUBLE_WEIGHTS).reduce((a, b) => a + b, 0);
  const extraPerTrouble = (TROUBLE_WEIGHTS.fraud_burst / weightTotal) * (FRAUD_BURST_MEAN - 1);
  return o.troubleShare / (1 + extraPerTrouble * (1 - o.troubleShare));
}

function isoAt(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

function groupByCurrency(cards: readonly GeneratorCard[]): Map<string, GeneratorCard[]> {
  const byCurrency = new Map<string, GeneratorCard[]>();
  for (const card of cards) {
    const group = byCurrency.get(card.currency);
    if (group) group.push(card);
    else byCurrency.set(card.currency, [card]);
  }
  return byCurrency;
}

type FollowUpType = Exclude<OrderType, 'payment' | 'authorize' | 'payout'>;
/** The order type drawn for a plain order, with the earlier order a follow-up acts on. */
type PlainChoice =
  | { type: 'payment' | 'authorize' | 'payout' }
  | { type: Exclude<FollowUpType, 'refund'>; authIndex: number }
  | { type: 'refund'; refundIndex: number };

/** What a new batch is: drawn before its orders. */
interface BatchPlan {
  id: string;
  payroll: boolean;
  mode: BatchMode;
  currency: string;
  /** the cards of the batch currency, which its orders cycle through */
  cards: readonly GeneratorCard[];
  count: number;
  /** payroll: the employer paying its staff; settlement: the merchant whose day of payments is sent in bulk */
  merchant: string;
}

/**
 * One run of traffic: the rng, the logical clock, the scheduled messages and the open orders follow-ups act
 * on. Every draw happens in a fixed order, so the same options give the same sequence.
 */
class Traffic {
  private readonly rng: Rng;
  private readonly merchantsZipf: Zipf;
  private readonly cardsZipf: Zipf;
  private readonly cardsByCurrency: Map<string, GeneratorCard[]>;
  private readonly cardByToken: Map<string, GeneratorCard>;
  private readonly subject: string;
  private readonly intervalMs: number;
  private readonly batchStartChance: number;
  private readonly troubleChance: number;
  private readonly schedule = new Schedule();
  private readonly openAuths = new Pool<OpenOrder>(OPEN_ORDERS_MAX);
  private readonly refundable = new Pool<OpenOrder>(OPEN_ORDERS_MAX);
  private readonly recent: GeneratedMessage[] = [];
  private activeBatches = 0;
  private orderSeq = 0;
  private batchSeq = 0;
  private clockMs: number;
  private emitted = 0;
  private batchMessages = 0;

  constructor(private readonly o: ParsedGeneratorOptions) {
    this.rng = new Rng(o.seed);
    this.merchantsZipf = new Zipf(o.merchants.length, o.merchantZipf, this.rng);
    // cards are mildly skewed too: some people use their card far more than others
    this.cardsZipf = new Zipf(o.cards.length, 0.25, this.rng);
    this.cardsByCurrency = groupByCurrency(o.cards);
    this.cardByToken = new Map(o.cards.map((c) => [c.token, c]));
    this.subject = `orders.${o.source}`;
    this.intervalMs = 1000 / o.ratePerSecond;
    this.batchStartChance = batchStartChanceFor(o);
    this.troubleChance = troubleChanceFor(o);
    this.clockMs = o.startMs;
  }

  /** The next message, or undefined once messagesMax or durationMs is reached. */
  next(): GeneratedMessage | undefined {
    if (this.emitted >= this.o.messagesMax) return undefined;
    this.clockMs += this.rng.exponential(this.intervalMs);
    if (this.clockMs - this.o.startMs > this.o.durationMs) return undefined;
    const message = this.arrival(Math.round(this.clockMs));
    this.emitted++;
    if (message.batchId !== undefined) this.batchMessages++;
    return message;
  }

  /** A scheduled burst or batch message when one is due, else trouble, a new batch or a plain order. */
  private arrival(atMs: number): GeneratedMessage {
    if (this.schedule.peekAtMs() <= this.clockMs) return this.schedule.pop()!.make(atMs);
    if (this.rng.chance(this.troubleChance)) return this.trouble(atMs);
    // batches come in lumps: lean on the start chance so the running share stays near batchShare
    const behind = this.batchMessages < this.o.batchShare * this.emitted;
    if (
      this.activeBatches < ACTIVE_BATCHES_MAX &&
      this.rng.chance(this.batchStartChance * (behind ? 1.5 : 0.5))
    )
      return this.startBatch(atMs);
    return this.plainOrder(atMs);
  }

  // ---- drawing cards, merchants and ids

  private nextId(): string {
    return `${this.o.idPrefix}-${(this.orderSeq++).toString(36)}`;
  }

  private pickCard(): GeneratorCard {
    return this.o.cards[this.cardsZipf.draw(this.rng)]!;
  }

  /** merchants settle in one currency: non-USD cards shop at the merchant's account in their own currency */
  private pickMerchant(currency: string): string {
    return merchantAccountFor(this.o.merchants[this.merchantsZipf.draw(this.rng)]!, currency);
  }

  /** any merchant, uniformly: card testers do not care where */
  private anyMerchant(): string {
    return this.o.merchants[this.rng.int(this.o.merchants.length)]!;
  }

  // ---- the wire

  /** a wire order, fields in contract order; createdAt a little before arrival (network and queueing) */
  private wireOrder(fields: Omit<WireOrder, 'createdAt'>, atMs: number): WireOrder {
    const wire: WireOrder = { id: fields.id, type: fields.type } as WireOrder;
    if (fields.card !== undefined) {
      // only a first instruction may carry the PAN (as from a checkout page); follow-ups and batches use the token
      const card = this.cardByToken.get(fields.card);
      const first = fields.type === 'payment' || fields.type === 'authorize' || fields.type === 'payout';
      if (
        card?.pan !== undefined &&
        first &&
        fields.batchId === undefined &&
        this.rng.chance(this.o.panShare)
      )
        wire.pan = card.pan;
      else wire.card = fields.card;
    }
    if (fields.merchant !== undefined) wire.merchant = fields.merchant;
    if (fields.amount !== undefined) wire.amount = fields.amount;
    if (fields.currency !== undefined) wire.currency = fields.currency;
    if (fields.ref !== undefined) wire.ref = fields.ref;
    if (fields.batchId !== undefined) wire.batchId = fields.batchId;
    wire.createdAt = isoAt(atMs - this.rng.int(250));
    if (fields.mcc !== undefined) wire.mcc = fields.mcc;
    if (fields.country !== undefined) wire.country = fields.country;
    return wire;
  }

  private message(wire: WireOrder, atMs: number, trouble?: TroubleKind): GeneratedMessage {
    const m: GeneratedMessage = {
      subject: this.subject,
      payload: JSON.stringify(wire),
      msgId: wire.id,
      atMs,
      kind: wire.type,
    };
    if (trouble !== undefined) m.trouble = trouble;
    if (wire.batchId !== undefined) m.batchId = wire.batchId;
    return m;
  }

  /** keeps a valid order among the recent ones; at RECENT_MAX it replaces a random one */
  private remember(m: GeneratedMessage): GeneratedMessage {
    if (this.recent.length >= RECENT_MAX) this.recent[this.rng.int(RECENT_MAX)] = m;
    else this.recent.push(m);
    return m;
  }

  // ---- plain orders

  /** a payment or authorization at a Zipf-popular merchant, with its mcc and country */
  private purchase(
    type: 'payment' | 'authorize',
    atMs: number,
    card = this.pickCard(),
    merchant = this.pickMerchant(card.currency),
    profile: AmountProfile = 'retail',
  ): { wire: WireOrder; open: OpenOrder } {
    const minor = drawMinor(this.rng, card.currency, profile);
    const wire = this.wireOrder(
      {
        id: this.nextId(),
        type,
        card: card.token,
        merchant,
        amount: formatMinor(minor, card.currency),
        currency: card.currency,
        mcc: merchantMcc(merchant),
        country: merchantCountry(merchant, card.currency, this.rng),
      },
      atMs,
    );
    return { wire, open: { id: wire.id, card, merchant, currency: card.currency, minor, atMs } };
  }

  /** Draws the order type from ORDER_MIX; a follow-up with no open order old enough becomes a payment. */
  private choosePlain(atMs: number): PlainChoice {
    const type: OrderType = this.rng.weighted(ORDER_MIX);
    const olderThanMs = atMs - FOLLOW_UP_AGE_MS;
    if (type === 'payment' || type === 'authorize' || type === 'payout') return { type };
    if (type === 'refund') {
      const refundIndex = this.refundable.pickOlder(this.rng, olderThanMs, (a) => a.atMs);
      return refundIndex === undefined ? { type: 'payment' } : { type, refundIndex };
    }
    const authIndex = this.openAuths.pickOlder(this.rng, olderThanMs, (a) => a.atMs);
    return authIndex === undefined ? { type: 'payment' } : { type, authIndex };
  }

  private plainOrder(atMs: number): GeneratedMessage {
    const choice = this.choosePlain(atMs);
    switch (choice.type) {
      case 'payment':
      case 'authorize':
        return this.remember(this.message(this.opening(choice.type, atMs), atMs));
      case 'payout':
        return this.remember(this.message(this.payout(atMs), atMs));
      case 'capture':
        return this.remember(this.message(this.capture(choice.authIndex, atMs), atMs));
      case 'void':
      case 'cancel':
        return this.remember(this.message(this.release(choice.type, choice.authIndex, atMs), atMs));
      case 'modify':
        return this.remember(this.message(this.modify(choice.authIndex, atMs), atMs));
      case 'refund':
        return this.remember(this.message(this.refund(choice.refundIndex, atMs), atMs));
    }
  }

  /** a payment (refundable later) or an authorization (captured, voided, canceled or modified later) */
  private opening(type: 'payment' | 'authorize', atMs: number): WireOrder {
    const { wire, open } = this.purchase(type, atMs);
    (type === 'payment' ? this.refundable : this.openAuths).add(open, this.rng);
    return wire;
  }

  private payout(atMs: number): WireOrder {
    const card = this.pickCard();
    const minor = drawMinor(this.rng, card.currency, 'payout');
    const fields = { id: this.nextId(), type: 'payout' as const, card: card.token };
    const merchant = this.pickMerchant(card.currency);
    return this.wireOrder(
      { ...fields, merchant, amount: formatMinor(minor, card.currency), currency: card.currency },
      atMs,
    );
  }

  /** 70% capture in full (no amount: "the rest"), else a partial capture (shipped in part, tip-less) */
  private capture(authIndex: number, atMs: number): WireOrder {
    const auth = this.openAuths.removeAt(authIndex);
    const fields = this.followUp('capture', auth);
    if (this.rng.chance(0.3)) {
      fields.amount = formatMinor(fractionOf(this.rng, auth.minor, 0.5, 0.99), auth.currency);
      fields.currency = auth.currency;
    }
    return this.wireOrder(fields, atMs);
  }

  private release(type: 'void' | 'cancel', authIndex: number, atMs: number): WireOrder {
    return this.wireOrder(this.followUp(type, this.openAuths.removeAt(authIndex)), atMs);
  }

  /** incremental authorization or a lowered hold: the new authorized amount */
  private modify(authIndex: number, atMs: number): WireOrder {
    const auth = this.openAuths.items[authIndex]!;
    auth.minor = fractionOf(this.rng, auth.minor, 0.7, 1.4);
    const fields = this.followUp('modify', auth);
    return this.wireOrder(
      { ...fields, amount: formatMinor(auth.minor, auth.currency), currency: auth.currency },
      atMs,
    );
  }

  /** a full refund (the payment leaves the pool) or a partial one (what is left stays refundable) */
  private refund(refundIndex: number, atMs: number): WireOrder {
    const paid = this.refundable.items[refundIndex]!;
    const fields = this.followUp('refund', paid);
    if (this.rng.chance(0.45) || paid.minor < 2n) {
      this.refundable.removeAt(refundIndex);
    } else {
      const part = fractionOf(this.rng, paid.minor, 0.1, 0.8);
      paid.minor -= part;
      fields.amount = formatMinor(part, paid.currency);
      fields.currency = paid.currency;
    }
    return this.wireOrder(fields, atMs);
  }

  private followUp(type: FollowUpType, target: OpenOrder): Omit<WireOrder, 'createdAt'> {
    return { id: this.nextId(), type, card: target.card.token, merchant: target.merchant, ref: target.id };
  }

  // ---- batches

  /** A batch header now; its orders are scheduled over the following steps. */
  private startBatch(atMs: number): GeneratedMessage {
    const plan = this.planBatch();
    const { orders, sumMinor } = this.batchOrders(plan);
    const bad = this.rng.chance(this.o.badControlSumShare);
    const controlSum = bad
      ? sumMinor + (this.rng.chance(0.5) ? 1n : -1n) * BigInt(1 + this.rng.int(3) * 99)
      : sumMinor;
    const header: WireBatchHeader = {
      id: plan.id,
      count: plan.count,
      controlSum: formatMinor(controlSum < 0n ? 0n : controlSum, plan.currency),
      currency: plan.currency,
      mode: plan.mode,
    };
    this.activeBatches++;
    this.scheduleBatchOrders(orders, atMs);
    const m: GeneratedMessage = {
      subject: `batches.${plan.id}`,
      payload: JSON.stringify(header),
      msgId: plan.id,
      atMs,
      kind: 'batch_header',
      batchId: plan.id,
    };
    if (bad) m.trouble = 'bad_control_sum';
    return m;
  }

  private planBatch(): BatchPlan {
    // upper-case B: order ids are lower-case base 36, so a batch id (and its Nats-Msg-Id) never equals one
    const id = `${this.o.idPrefix}-B${(this.batchSeq++).toString(36)}`;
    const payroll = this.rng.chance(0.6);
    const mode: BatchMode = this.rng.chance(this.o.atomicBatchShare) ? 'atomic' : 'independent';
    const currency = this.pickCard().currency;
    const cards = this.cardsByCurrency.get(currency)!;
    // a payroll pays each employee once; a settlement may hold the same card more than once
    const drawn = this.rng.between(BATCH_ORDERS_MIN, this.o.batchOrdersMax);
    const count = payroll ? Math.min(drawn, Math.max(cards.length, BATCH_ORDERS_MIN)) : drawn;
    const merchant = this.pickMerchant(currency);
    return { id, payroll, mode, currency, cards, count, merchant };
  }

  /** the batch's orders, createdAt left empty until each is sent, and the sum of their amounts */
  private batchOrders(plan: BatchPlan): { orders: WireOrder[]; sumMinor: bigint } {
    const orders: WireOrder[] = [];
    let sumMinor = 0n;
    const start = this.rng.int(plan.cards.length);
    for (let i = 0; i < plan.count; i++) {
      const card = plan.cards[(start + i * 7919) % plan.cards.length]!;
      const minor = drawMinor(this.rng, plan.currency, plan.payroll ? 'payroll' : 'retail');
      sumMinor += minor;
      orders.push({
        id: `${plan.id}-${i + 1}`,
        type: plan.payroll ? 'payout' : 'payment',
        card: card.token,
        merchant: plan.merchant,
        amount: formatMinor(minor, plan.currency),
        currency: plan.currency,
        batchId: plan.id,
        createdAt: '',
      });
    }
    return { orders, sumMinor };
  }

  /** one to six message intervals apart; the batch stops counting as active with its last order */
  private scheduleBatchOrders(orders: readonly WireOrder[], atMs: number): void {
    let t = atMs;
    orders.forEach((wire, i) => {
      t += this.intervalMs * (1 + this.rng.next() * 5);
      this.schedule.push(t, (at) => {
        if (i === orders.length - 1) this.activeBatches--;
        return this.message({ ...wire, createdAt: isoAt(at - this.rng.int(250)) }, at);
      });
    });
  }

  // ---- trouble

  private trouble(atMs: number): GeneratedMessage {
    const kind = this.rng.weighted(TROUBLE_WEIGHTS);
    switch (kind) {
      case 'not_json':
        return this.notJson(atMs);
      case 'wrong_shape':
        return this.wrongShape(atMs);
      case 'number_amount':
        return this.numberAmount(atMs);
      case 'too_precise':
        return this.tooPrecise(atMs);
      case 'duplicate':
        return this.duplicate(atMs);
      case 'stale':
      case 'future_dated':
        return this.skewed(kind, atMs);
      case 'fraud_burst':
        return this.fraudBurst(atMs);
    }
  }

  private garbage(
    trouble: TroubleKind,
    payload: Uint8Array | string,
    atMs: number,
    msgId: string,
  ): GeneratedMessage {
    return { subject: this.subject, payload, atMs, kind: 'garbage', trouble, msgId };
  }

  private notJson(atMs: number): GeneratedMessage {
    const id = this.nextId();
    const variants: (Uint8Array | string)[] = [
      `{"id":"${id}","type":"payment","amount":"12.`,
      `id=${id}&type=payment&amount=12.50`,
      `<order><id>${id}</id><amount>12.50</amount></order>`,
      new Uint8Array([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3, 0x28, 0xa0, 0xa1]),
      '',
    ];
    return this.garbage('not_json', this.rng.pick(variants), atMs, id);
  }

  private wrongShape(atMs: number): GeneratedMessage {
    const { wire } = this.purchase('payment', atMs);
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
    return this.garbage('wrong_shape', JSON.stringify(this.rng.pick(variants)()), atMs, id);
  }

  private numberAmount(atMs: number): GeneratedMessage {
    const { wire } = this.purchase('payment', atMs);
    const payload = JSON.stringify(wire).replace(
      `"amount":"${wire.amount}"`,
      `"amount":${Number(wire.amount)}`,
    );
    return {
      subject: this.subject,
      payload,
      msgId: wire.id,
      atMs,
      kind: 'payment',
      trouble: 'number_amount',
    };
  }

  private tooPrecise(atMs: number): GeneratedMessage {
    const { wire } = this.purchase('payment', atMs);
    wire.amount = currencyExponent(wire.currency!) === 0 ? `${wire.amount}.5` : `${wire.amount}5`;
    return this.message(wire, atMs, 'too_precise');
  }

  private duplicate(atMs: number): GeneratedMessage {
    if (this.recent.length === 0) return this.plainOrder(atMs);
    const again = this.rng.pick(this.recent);
    return { ...again, atMs, trouble: 'duplicate' };
  }

  private skewed(kind: 'stale' | 'future_dated', atMs: number): GeneratedMessage {
    const { wire } = this.purchase('payment', atMs);
    const skewMs = kind === 'stale' ? -STALE_AGE_MS : 10 * 60_000;
    wire.createdAt = isoAt(atMs + skewMs);
    return this.message(wire, atMs, kind);
  }

  /** card testing: one card, many merchants, seconds apart; tiny amounts first, then larger ones */
  private fraudBurst(atMs: number): GeneratedMessage {
    const card = this.pickCard();
    const size = this.rng.between(FRAUD_BURST_MEAN - 6, FRAUD_BURST_MEAN + 6);
    const first = this.purchase('payment', atMs, card, this.anyMerchant(), 'tiny');
    let t = atMs;
    for (let i = 1; i < size; i++) {
      t += 80 + this.rng.int(400);
      const merchant = this.anyMerchant();
      const profile: AmountProfile = i < size / 2 ? 'tiny' : 'retail';
      this.schedule.push(t, (at) =>
        this.message(this.purchase('payment', at, card, merchant, profile).wire, at, 'fraud_burst'),
      );
    }
    return this.message(first.wire, atMs, 'fraud_burst');
  }
}

/**
 * Endless (or bounded by messagesMax/durationMs) realistic traffic; the same options give the same sequence.
 * Follow-ups reference earlier orders of the same run; the generator does not know the processor's
 * decisions, so some follow-ups act on orders that were declined, as in real life.
 */
export function* generateTraffic(input: GeneratorOptions): Generator<GeneratedMessage> {
  const traffic = new Traffic(parseGeneratorOptions(input));
  for (let m = traffic.next(); m !== undefined; m = traffic.next()) yield m;
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
