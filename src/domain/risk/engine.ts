// The risk engine: compiles a rule set, decides each order in microseconds and learns from results.
//
// State (all in memory, bounded, rebuilt from history after a restart):
// - per card: the last `windowsMax` attempts (velocity, duplicates), the last declines (decline bursts),
//   spend per currency for the current UTC day, a moving average of approved amounts, countries seen;
// - per merchant: the last `windowsMax` attempts (merchant velocity);
// - per account: spend per currency for the current UTC day;
// - per recent order: what it added to the day's spend, so the final result (or a later void, cancel,
//   modify or review decision) can settle it.
// Each map is an LRU with a maximum (cardsMax, merchantsMax, accountsMax, ordersMax; evicted in chunks, so a map
// may briefly hold up to an eighth more): the key written
// least recently is evicted first, forgetting its history (a card idle long enough to be evicted
// starts again as a new card). Each ring keeps the newest `windowsMax` entries, oldest overwritten.
//
// Two kinds of updates keep decisions independent of how the pipeline buffers orders:
// - `evaluate` records the attempt at once (so the next order in the same buffer sees it) and counts an
//   allowed or reviewed amount as pending spend;
// - `observe` settles with the final result: declined/expired/rejected release the pending spend,
//   approved/authorized feed the moving average and countries, declined feeds the decline burst.
// Time comes only from the `nowMs` arguments.
import type { Order, OrderResult, OrderType, ResultStatus } from '../types.ts';
import type { FindingReason, RiskDecision, RiskInput, RiskOutcome } from './decision.ts';
import type { BlocklistField, Rule, RuleSet } from './rules.ts';
import { LruMap, Ring } from './state.ts';
import { AttemptWindow, typeMask } from './window.ts';

export type { RiskDecision, RiskInput, RiskOutcome } from './decision.ts';

/** One past order with its final result, as replayed by `rebuild`. */
export interface RiskHistoryItem {
  order: Order;
  result: OrderResult;
  /** the nowMs the order was evaluated with */
  atMs: number;
  /** the card's account, for per-account daily limits (the order itself does not name it) */
  accountId?: string;
}

export interface RiskOptions {
  /** entries kept per card and per merchant window, and declines per card; a velocity maxCount or
   *  decline_burst maxDeclines must be below it. @default 256 */
  windowsMax: number;
  /** @default 100_000 */
  cardsMax: number;
  /** @default 10_000 */
  merchantsMax: number;
  /** @default 100_000 */
  accountsMax: number;
  /** recent orders remembered to settle their spend on a later result, modify, void or cancel. @default 50_000 */
  ordersMax: number;
  /** countries remembered per card, oldest forgotten first. @default 16 */
  countriesPerCardMax: number;
  /** moving average: the plain mean of the first N approved amounts, then exponential with weight 1/N. @default 20 */
  averageOrders: number;
}

const OPTION_BOUNDS: Readonly<Record<keyof RiskOptions, readonly [number, number, number]>> = {
  // [default, min, max]
  windowsMax: [256, 2, 65_536],
  cardsMax: [100_000, 1, 10_000_000],
  merchantsMax: [10_000, 1, 1_000_000],
  accountsMax: [100_000, 1, 10_000_000],
  ordersMax: [50_000, 1, 10_000_000],
  countriesPerCardMax: [16, 1, 256],
  averageOrders: [20, 1, 10_000],
};

/** Fills defaults and rejects values that are not integers within bounds. */
export function parseRiskOptions(input: Partial<RiskOptions> = {}): RiskOptions {
  const out = {} as RiskOptions;
  for (const [name, [fallback, min, max]] of Object.entries(OPTION_BOUNDS) as [
    keyof RiskOptions,
    readonly [number, number, number],
  ][]) {
    const value = input[name] ?? fallback;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`risk option ${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
    out[name] = value;
  }
  return out;
}

export interface RiskStats {
  /** hits per rule id since start (rules after a blocking rule are not evaluated, so not counted) */
  hitsByRule: Record<string, number>;
  decisions: Record<RiskDecision['outcome'], number>;
  evaluated: number;
  rulesEnabled: number;
  cardsTracked: number;
  merchantsTracked: number;
  accountsTracked: number;
  ordersTracked: number;
  evictions: { cards: number; merchants: number; accounts: number; orders: number };
}

// ---- state records ----

interface Decline {
  atMs: number;
}

/**
 * Spend per currency for one UTC day. Nearly every card and account spends in one currency, so that one
 * is kept in two fields and only further currencies in a Map (a Map costs ~200 bytes even with one entry,
 * and there are up to cardsMax + accountsMax of these).
 */
interface DaySpend {
  /** UTC day index (epoch ms / 86 400 000) the sums belong to */
  day: number;
  /** the first currency spent in that day, and its sum */
  sumCurrency: string | undefined;
  sumMinor: bigint;
  /** any other currencies of that day */
  otherSums: Map<string, bigint> | undefined;
}

interface CardState extends DaySpend {
  attempts: AttemptWindow;
  /** created at the first decline: most cards never have one */
  declines: Ring<Decline> | undefined;
  accountId: string | undefined;
  /** approved/authorized orders learned from, any currency */
  approvedCount: number;
  /** moving average of approved amounts in avgCurrency (the card's first currency) */
  avgMinor: bigint;
  avgCount: number;
  avgCurrency: string | undefined;
  /** created at the first approval with a country */
  countries: string[] | undefined;
}

interface MerchantState {
  attempts: AttemptWindow;
  /**
   * The merchant id as first seen: every attempt at this merchant (on its window and on the cards') refers
   * to this one string, not to its own copy from its order's JSON (a heap snapshot at 100,000 cards counted
   * ~480,000 attempts, each holding a merchant string of its own).
   */
  name: string;
}

interface OrderEntry {
  cardToken: string | undefined;
  accountId: string | undefined;
  currency: string | undefined;
  amountMinor: bigint;
  atMs: number;
  day: number;
  /** what this order currently adds to its day's spend (0 once released) */
  countedMinor: bigint;
  /** already fed to the moving average and countries */
  learned: boolean;
}

// ---- compiled rules ----

type Decisive = Extract<RiskDecision, { outcome: 'allow' | 'review' | 'block' }>;
const ALLOW: Decisive = Object.freeze({ outcome: 'allow' });
const RANK = { allow: 1, review: 2, block: 3 } as const;

interface CompiledBase {
  id: string;
  rank: number;
  decision: Decisive;
}
type Compiled =
  | (CompiledBase & { kind: 'blocklist'; list: BlocklistField; values: Set<string>; binLengths: number[] })
  | (CompiledBase & {
      kind: 'amount_limit';
      period: 'order' | 'day';
      perAccount: boolean;
      limits: Map<string, bigint>;
    })
  | (CompiledBase & {
      kind: 'velocity';
      perMerchant: boolean;
      windowMs: number;
      maxCount: number;
      maxSum: Map<string, bigint> | undefined;
      types: ReadonlySet<OrderType>;
      /** the same types as a mask for AttemptWindow.countSince */
      typeMask: number;
      sumDecision: Decisive;
    })
  | (CompiledBase & { kind: 'duplicate'; windowMs: number })
  | (CompiledBase & { kind: 'anomaly_amount'; multipleHundredths: bigint; minOrders: number })
  | (CompiledBase & { kind: 'new_country'; minOrders: number; onlyAboveAverage: boolean })
  | (CompiledBase & { kind: 'decline_burst'; windowMs: number; maxDeclines: number });

interface TimeRule {
  id: string;
  stale: boolean;
  limitMs: number;
  decision: RiskDecision;
}

interface CompiledRules {
  time: TimeRule[];
  /** block lists first, then the rest, each in file order */
  order: Compiled[];
  enabled: number;
}

const AMOUNT_REASONS = {
  order: 'amount_order',
  card: 'amount_card_day',
  account: 'amount_account_day',
} as const;

function decisive(outcome: RiskOutcome, ruleId: string, reason: FindingReason): Decisive {
  return Object.freeze(outcome === 'allow' ? { outcome } : { outcome, ruleId, reason });
}

function limitMap(limits: readonly { currency: string; maxMinor: bigint }[]): Map<string, bigint> {
  return new Map(limits.map((l) => [l.currency, l.maxMinor]));
}

function compile(set: RuleSet, options: RiskOptions): CompiledRules {
  const time: TimeRule[] = [];
  const lists: Compiled[] = [];
  const rest: Compiled[] = [];
  const ids = new Set<string>();
  for (const rule of set.rules) {
    if (ids.has(rule.id)) throw new RangeError(`duplicate risk rule id "${rule.id}"`);
    ids.add(rule.id);
    if (!rule.enabled) continue;
    const compiled = compileRule(rule, options);
    if (compiled === undefined) continue;
    if ('limitMs' in compiled) time.push(compiled);
    else if (compiled.kind === 'blocklist') lists.push(compiled);
    else rest.push(compiled);
  }
  return { time, order: [...lists, ...rest], enabled: time.length + lists.length + rest.length };
}

function needsWindow(rule: Rule, count: number, name: string, options: RiskOptions): void {
  if (count >= options.windowsMax) {
    throw new RangeError(
      `risk rule "${rule.id}": ${name} ${count} needs windowsMax above it (windowsMax is ${options.windowsMax})`,
    );
  }
}

function compileRule(rule: Rule, options: RiskOptions): Compiled | TimeRule | undefined {
  const base = (reason: FindingReason) => ({
    id: rule.id,
    rank: 'outcome' in rule ? RANK[rule.outcome] : 0,
    decision: decisive('outcome' in rule ? rule.outcome : 'allow', rule.id, reason),
  });
  switch (rule.kind) {
    case 'stale':
      return {
        id: rule.id,
        stale: true,
        limitMs: rule.maxAgeSeconds * 1000,
        decision: Object.freeze({ outcome: 'expire', ruleId: rule.id, reason: 'stale_order' }),
      };
    case 'future_skew':
      return {
        id: rule.id,
        stale: false,
        limitMs: rule.maxSkewSeconds * 1000,
        decision: Object.freeze({ outcome: 'reject', ruleId: rule.id, reason: 'future_dated' }),
      };
    case 'blocklist': {
      const values = new Set(rule.list === 'country' ? rule.values.map((v) => v.toUpperCase()) : rule.values);
      const binLengths = rule.list === 'bin' ? [...new Set(rule.values.map((v) => v.length))].sort() : [];
      return { ...base(`blocklist_${rule.list}` as const), kind: 'blocklist', list: rule.list, values, binLengths };
    }
    case 'amount_limit': {
      const perAccount = rule.scope === 'account';
      const reason = rule.period === 'order' ? 'order' : perAccount ? 'account' : 'card';
      return {
        ...base(AMOUNT_REASONS[reason]),
        kind: 'amount_limit',
        period: rule.period,
        perAccount,
        limits: limitMap(rule.limits),
      };
    }
    case 'velocity': {
      if (rule.maxCount !== undefined) needsWindow(rule, rule.maxCount, 'maxCount', options);
      const b = base('velocity_count');
      return {
        ...b,
        kind: 'velocity',
        perMerchant: rule.scope === 'merchant',
        windowMs: rule.windowSeconds * 1000,
        maxCount: rule.maxCount ?? Number.POSITIVE_INFINITY,
        maxSum: rule.maxSum === undefined ? undefined : limitMap(rule.maxSum),
        types: new Set(rule.types),
        typeMask: typeMask(rule.types),
        sumDecision: decisive(rule.outcome, rule.id, 'velocity_sum'),
      };
    }
    case 'duplicate':
      return { ...base('duplicate'), kind: 'duplicate', windowMs: rule.windowSeconds * 1000 };
    case 'anomaly_amount':
      return {
        ...base('amount_anomaly'),
        kind: 'anomaly_amount',
        multipleHundredths: BigInt(Math.round(rule.multiple * 100)),
        minOrders: Math.max(1, rule.minOrders),
      };
    case 'new_country':
      return {
        ...base('new_country'),
        kind: 'new_country',
        minOrders: Math.max(1, rule.minOrders),
        onlyAboveAverage: rule.onlyAboveAverage,
      };
    case 'decline_burst':
      needsWindow(rule, rule.maxDeclines, 'maxDeclines', options);
      return {
        ...base('decline_burst'),
        kind: 'decline_burst',
        windowMs: rule.windowSeconds * 1000,
        maxDeclines: rule.maxDeclines,
      };
  }
}

// ---- helpers ----

const DAY_MS = 86_400_000;
const dayIndex = (nowMs: number): number => Math.floor(nowMs / DAY_MS);

/** Orders judged by amount, velocity, duplicate, anomaly and block-list rules; the rest only by time rules. */
const MONEY_MOVING: ReadonlySet<OrderType> = new Set<OrderType>(['payment', 'authorize', 'payout', 'modify']);
/** Orders that open a new money movement: recorded as attempts. A modify re-checks an existing one. */
const ATTEMPTS: ReadonlySet<OrderType> = new Set<OrderType>(['payment', 'authorize', 'payout']);
/** Results that keep the amount reserved or spent. */
const SPENDING: ReadonlySet<ResultStatus> = new Set<ResultStatus>(['approved', 'authorized', 'held']);

function spentToday(state: DaySpend | undefined, day: number, currency: string): bigint {
  if (state === undefined || state.day !== day) return 0n;
  if (state.sumCurrency === currency) return state.sumMinor;
  return state.otherSums?.get(currency) ?? 0n;
}

function shiftDay(state: DaySpend, day: number, currency: string, deltaMinor: bigint): void {
  if (state.day !== day) {
    // A newer day starts empty; a settlement for a day already gone changes nothing.
    if (day < state.day || deltaMinor < 0n) return;
    state.day = day;
    state.sumCurrency = undefined;
    state.sumMinor = 0n;
    state.otherSums = undefined;
  }
  if (state.sumCurrency === undefined) state.sumCurrency = currency;
  if (state.sumCurrency === currency) {
    state.sumMinor += deltaMinor;
    return;
  }
  state.otherSums ??= new Map();
  state.otherSums.set(currency, (state.otherSums.get(currency) ?? 0n) + deltaMinor);
}

const noSpend = (): DaySpend => ({ day: 0, sumCurrency: undefined, sumMinor: 0n, otherSums: undefined });

export class RiskEngine {
  readonly options: RiskOptions;
  private rules: CompiledRules;
  private readonly cards: LruMap<string, CardState>;
  private readonly merchants: LruMap<string, MerchantState>;
  private readonly accounts: LruMap<string, DaySpend>;
  private readonly orders: LruMap<string, OrderEntry>;
  private readonly hits = new Map<string, number>();
  private readonly decisions: Record<RiskDecision['outcome'], number> = {
    allow: 0,
    review: 0,
    block: 0,
    expire: 0,
    reject: 0,
  };
  private evaluated = 0;
  /** BigInt(n) for the moving average divisor, precomputed */
  private readonly divisors: bigint[];

  constructor(rules: RuleSet, options?: Partial<RiskOptions>) {
    this.options = parseRiskOptions(options);
    this.rules = compile(rules, this.options);
    this.cards = new LruMap(this.options.cardsMax);
    this.merchants = new LruMap(this.options.merchantsMax);
    this.accounts = new LruMap(this.options.accountsMax);
    this.orders = new LruMap(this.options.ordersMax);
    this.divisors = Array.from({ length: this.options.averageOrders + 1 }, (_, n) => BigInt(Math.max(1, n)));
  }

  /** A new engine whose state is rebuilt from `history` (see `rebuild`). */
  static fromHistory(
    rules: RuleSet,
    history: Iterable<RiskHistoryItem>,
    nowMs: number,
    options?: Partial<RiskOptions>,
  ): RiskEngine {
    const engine = new RiskEngine(rules, options);
    engine.rebuild(history, nowMs);
    return engine;
  }

  /** Swaps the rules, keeping all state. Throws (and keeps the old rules) if the new set does not compile. */
  reload(rules: RuleSet): void {
    this.rules = compile(rules, this.options);
  }

  /**
   * Decides one order. Deterministic in (input, engine state); records the order as an attempt so later
   * orders see it. Evaluating the same order id again does not count it twice.
   */
  evaluate(input: RiskInput): RiskDecision {
    const { order, nowMs } = input;
    this.evaluated++;
    for (const rule of this.rules.time) {
      const hit = rule.stale
        ? nowMs - order.createdAtMs > rule.limitMs
        : order.createdAtMs - nowMs > rule.limitMs;
      if (hit) {
        this.hit(rule.id);
        this.decisions[rule.decision.outcome]++;
        return rule.decision;
      }
    }
    if (!MONEY_MOVING.has(order.type)) {
      this.decisions.allow++;
      return ALLOW;
    }

    const isModify = order.type === 'modify';
    const ref = isModify && order.ref !== undefined ? this.orders.get(order.ref) : undefined;
    const seen = isModify ? undefined : this.orders.get(order.id);
    const cardToken = order.cardToken ?? input.card?.token ?? ref?.cardToken;
    const card = cardToken === undefined ? undefined : this.cards.get(cardToken);
    const currency = order.currency ?? input.account?.currency ?? ref?.currency;
    const amount = order.amountMinor ?? (isModify ? undefined : 0n);
    const accountId = input.account?.id ?? input.card?.accountId ?? card?.accountId ?? ref?.accountId;
    const day = dayIndex(nowMs);
    // The pending amount this order (a redelivery) or its original (a modify) already added today.
    const prior = ref ?? seen;
    const replacedMinor = prior !== undefined && prior.day === day ? prior.countedMinor : 0n;

    let best: Decisive = ALLOW;
    let bestRank = 0;
    for (const rule of this.rules.order) {
      const decision = this.check(
        rule,
        input,
        cardToken,
        card,
        currency,
        amount,
        accountId,
        day,
        replacedMinor,
        seen !== undefined,
      );
      if (decision === undefined) continue;
      this.hit(rule.id);
      if (rule.rank > bestRank) {
        best = decision;
        bestRank = rule.rank;
        if (bestRank === RANK.block) break;
      }
    }

    if (ATTEMPTS.has(order.type) && seen === undefined) {
      this.record(order, cardToken, accountId, currency, amount ?? 0n, nowMs, best.outcome !== 'block');
    }
    this.decisions[best.outcome]++;
    return best;
  }

  /**
   * Settles an order with its final result (call again when a held order is decided). `nowMs` should be
   * the time the order was evaluated at; `accountId` is needed only for orders this engine did not
   * evaluate (per-account limits). Redelivered results (`duplicate: true`) are ignored.
   */
  observe(order: Order, result: OrderResult, nowMs: number, accountId?: string): void {
    if (result.duplicate) return;
    const status = result.status;
    if (ATTEMPTS.has(order.type)) {
      let entry = this.orders.get(order.id);
      if (entry === undefined) {
        if (!SPENDING.has(status) && status !== 'declined') return;
        const cardToken = order.cardToken;
        entry = this.newEntry(cardToken, accountId ?? this.accountOf(cardToken), order, nowMs);
      }
      entry.accountId ??= accountId;
      if (SPENDING.has(status)) {
        if (entry.countedMinor === 0n) this.shiftSpend(entry, entry.amountMinor);
      } else if (entry.countedMinor !== 0n) {
        this.shiftSpend(entry, -entry.countedMinor);
      }
      if (status === 'declined') this.recordDecline(entry.cardToken, entry.atMs);
      if ((status === 'approved' || status === 'authorized') && !entry.learned) {
        entry.learned = true;
        this.learn(entry, order.country);
      }
      return;
    }
    const ref = order.ref === undefined ? undefined : this.orders.get(order.ref);
    if (order.type === 'modify') {
      if (status === 'modified' && ref !== undefined && order.amountMinor !== undefined) {
        if (ref.countedMinor !== 0n) this.shiftSpend(ref, order.amountMinor - ref.countedMinor);
        ref.amountMinor = order.amountMinor;
      } else if (status === 'declined') {
        this.recordDecline(ref?.cardToken ?? order.cardToken, nowMs);
      }
      return;
    }
    if ((status === 'voided' || status === 'canceled') && ref !== undefined && ref.countedMinor !== 0n) {
      this.shiftSpend(ref, -ref.countedMinor);
    }
  }

  /**
   * Forgets all state and replays `history` (in processing order) as if each order had been evaluated at
   * its `atMs` and then observed: decisions afterwards match those of an engine that saw the stream live.
   * Items dated after `nowMs` are skipped. Orders rejected or expired never reached the windows, so they
   * are not replayed as attempts.
   */
  rebuild(history: Iterable<RiskHistoryItem>, nowMs: number): void {
    this.cards.clear();
    this.merchants.clear();
    this.accounts.clear();
    this.orders.clear();
    for (const { order, result, atMs, accountId } of history) {
      if (atMs > nowMs || result.duplicate) continue;
      const status = result.status;
      if (
        ATTEMPTS.has(order.type) &&
        status !== 'rejected' &&
        status !== 'expired' &&
        !this.orders.has(order.id)
      ) {
        const cardToken = order.cardToken;
        this.record(
          order,
          cardToken,
          accountId ?? this.accountOf(cardToken),
          order.currency,
          order.amountMinor ?? 0n,
          atMs,
          false,
        );
      }
      this.observe(order, result, atMs, accountId);
    }
  }

  stats(): RiskStats {
    return {
      hitsByRule: Object.fromEntries(this.hits),
      decisions: { ...this.decisions },
      evaluated: this.evaluated,
      rulesEnabled: this.rules.enabled,
      cardsTracked: this.cards.size,
      merchantsTracked: this.merchants.size,
      accountsTracked: this.accounts.size,
      ordersTracked: this.orders.size,
      evictions: {
        cards: this.cards.evictions,
        merchants: this.merchants.evictions,
        accounts: this.accounts.evictions,
        orders: this.orders.evictions,
      },
    };
  }

  // ---- rules ----

  private check(
    rule: Compiled,
    input: RiskInput,
    cardToken: string | undefined,
    card: CardState | undefined,
    currency: string | undefined,
    amount: bigint | undefined,
    accountId: string | undefined,
    day: number,
    replacedMinor: bigint,
    /** this order id was evaluated before: its attempt may be in the windows already */
    recordedBefore: boolean,
  ): Decisive | undefined {
    const { order, nowMs } = input;
    switch (rule.kind) {
      case 'blocklist': {
        let value: string | undefined;
        switch (rule.list) {
          case 'card':
            value = cardToken;
            break;
          case 'merchant':
            value = order.merchant;
            break;
          case 'mcc':
            value = order.mcc;
            break;
          case 'country':
            value = order.country;
            break;
          case 'bin': {
            const first6 = input.card?.first6;
            if (first6 === undefined) return undefined;
            for (const length of rule.binLengths) {
              if (rule.values.has(first6.slice(0, length))) return rule.decision;
            }
            return undefined;
          }
        }
        return value !== undefined && rule.values.has(value) ? rule.decision : undefined;
      }
      case 'amount_limit': {
        if (amount === undefined || currency === undefined) return undefined;
        const limit = rule.limits.get(currency);
        if (limit === undefined) return undefined;
        if (rule.period === 'order') return amount > limit ? rule.decision : undefined;
        let spent: bigint;
        if (rule.perAccount) {
          if (accountId === undefined) return undefined;
          // Limits are in the account's currency; an order in another one is declined by the ledger anyway.
          if (input.account !== undefined && input.account.currency !== currency) return undefined;
          spent = spentToday(this.accounts.get(accountId), day, currency);
        } else {
          spent = spentToday(card, day, currency);
        }
        return spent - replacedMinor + amount > limit ? rule.decision : undefined;
      }
      case 'velocity': {
        if (order.type === 'modify' || !rule.types.has(order.type)) return undefined;
        let ring: AttemptWindow | undefined;
        if (rule.perMerchant)
          ring = order.merchant === undefined ? undefined : this.merchants.get(order.merchant)?.attempts;
        else ring = card?.attempts;
        // bigint additions allocate: sum only for rules with a sum limit in this currency.
        const sumLimit =
          rule.maxSum === undefined || currency === undefined ? undefined : rule.maxSum.get(currency);
        let count = 1;
        let sum = amount ?? 0n;
        // a count rule cannot fire when the whole ring, plus this order, stays within the limit
        if (sumLimit === undefined && (ring === undefined || ring.size + 1 <= rule.maxCount)) return undefined;
        if (ring !== undefined) {
          const since = nowMs - rule.windowMs;
          // a count alone, of a window in time order that does not hold this order yet: counted, not scanned.
          // (An id evaluated again after its entry left `orders` (ordersMax) counts once more here, where the
          // scan would skip it; the pipeline never re-evaluates an id: the ledger answers it as a duplicate.)
          if (sumLimit === undefined && ring.ordered && !recordedBefore) {
            return 1 + ring.countSince(since, rule.typeMask) > rule.maxCount ? rule.decision : undefined;
          }
          for (let i = 0; i < ring.size; i++) {
            if (ring.atMsOf(i) <= since) break;
            if (ring.orderIdOf(i) === order.id || !rule.types.has(ring.typeOf(i))) continue;
            count++;
            // past the count limit the verdict is decided (the count outcome wins over the sum's)
            if (count > rule.maxCount) return rule.decision;
            if (sumLimit !== undefined && ring.currencyOf(i) === currency) sum += ring.amountOf(i);
          }
        }
        if (count > rule.maxCount) return rule.decision;
        return sumLimit !== undefined && sum > sumLimit ? rule.sumDecision : undefined;
      }
      case 'duplicate': {
        if (order.type === 'modify' || card === undefined || amount === undefined) return undefined;
        const merchant = order.merchant ?? '';
        const since = nowMs - rule.windowMs;
        const ring = card.attempts;
        for (let i = 0; i < ring.size; i++) {
          if (ring.atMsOf(i) <= since) break;
          if (
            ring.amountOf(i) === amount &&
            ring.merchantOf(i) === merchant &&
            ring.currencyOf(i) === currency &&
            ring.orderIdOf(i) !== order.id
          ) {
            return rule.decision;
          }
        }
        return undefined;
      }
      case 'anomaly_amount':
        if (card === undefined || amount === undefined || card.avgCount < rule.minOrders) return undefined;
        if (card.avgCurrency !== currency) return undefined;
        return amount * 100n > card.avgMinor * rule.multipleHundredths ? rule.decision : undefined;
      case 'new_country': {
        const country = order.country;
        if (country === undefined || card === undefined || card.approvedCount < rule.minOrders)
          return undefined;
        if (card.countries?.includes(country)) return undefined;
        if (!rule.onlyAboveAverage) return rule.decision;
        const above = amount !== undefined && card.avgCurrency === currency && amount > card.avgMinor;
        return above ? rule.decision : undefined;
      }
      case 'decline_burst': {
        if (card === undefined) return undefined;
        const since = nowMs - rule.windowMs;
        const ring = card.declines;
        let count = 0;
        for (let i = 0; ring !== undefined && i < ring.size && ring.newest(i).atMs > since; i++) count++;
        return count > rule.maxDeclines ? rule.decision : undefined;
      }
    }
  }

  private hit(ruleId: string): void {
    this.hits.set(ruleId, (this.hits.get(ruleId) ?? 0) + 1);
  }

  // ---- state ----

  private cardState(token: string): CardState {
    return (
      this.cards.touch(token) ??
      this.cards.insert(token, {
        attempts: new AttemptWindow(this.options.windowsMax),
        declines: undefined,
        day: 0,
        sumCurrency: undefined,
        sumMinor: 0n,
        otherSums: undefined,
        accountId: undefined,
        approvedCount: 0,
        avgMinor: 0n,
        avgCount: 0,
        avgCurrency: undefined,
        countries: undefined,
      })
    );
  }

  private accountOf(cardToken: string | undefined): string | undefined {
    return cardToken === undefined ? undefined : this.cards.get(cardToken)?.accountId;
  }

  private newEntry(
    cardToken: string | undefined,
    accountId: string | undefined,
    order: Order,
    atMs: number,
  ): OrderEntry {
    const entry: OrderEntry = {
      cardToken,
      accountId,
      currency: order.currency,
      amountMinor: order.amountMinor ?? 0n,
      atMs,
      day: dayIndex(atMs),
      countedMinor: 0n,
      learned: false,
    };
    return this.orders.insert(order.id, entry);
  }

  /** Records an attempt in the card's and merchant's windows; `pending` also counts it as today's spend. */
  private record(
    order: Order,
    cardToken: string | undefined,
    accountId: string | undefined,
    currency: string | undefined,
    amountMinor: bigint,
    atMs: number,
    pending: boolean,
  ): void {
    const entry = this.newEntry(cardToken, accountId, order, atMs);
    entry.currency = currency;
    entry.amountMinor = amountMinor;
    const cur = currency ?? '';
    const state =
      order.merchant === undefined
        ? undefined
        : (this.merchants.touch(order.merchant) ??
          this.merchants.insert(order.merchant, { attempts: new AttemptWindow(this.options.windowsMax), name: order.merchant }));
    const merchant = state?.name ?? '';
    if (cardToken !== undefined) {
      const card = this.cardState(cardToken);
      if (accountId !== undefined) card.accountId = accountId;
      card.attempts.push(atMs, amountMinor, cur, merchant, order.id, order.type);
    }
    state?.attempts.push(atMs, amountMinor, cur, merchant, order.id, order.type);
    if (pending && amountMinor > 0n) this.shiftSpend(entry, amountMinor);
  }

  private shiftSpend(entry: OrderEntry, deltaMinor: bigint): void {
    entry.countedMinor += deltaMinor;
    if (entry.currency === undefined) return;
    if (entry.cardToken !== undefined)
      shiftDay(this.cardState(entry.cardToken), entry.day, entry.currency, deltaMinor);
    if (entry.accountId !== undefined) {
      const account =
        this.accounts.touch(entry.accountId) ??
        this.accounts.insert(entry.accountId, noSpend());
      shiftDay(account, entry.day, entry.currency, deltaMinor);
    }
  }

  private recordDecline(cardToken: string | undefined, atMs: number): void {
    if (cardToken === undefined) return;
    const card = this.cardState(cardToken);
    card.declines ??= new Ring<Decline>(this.options.windowsMax);
    const ring = card.declines;
    const slot = ring.recycle();
    if (slot === undefined) ring.append({ atMs });
    else slot.atMs = atMs;
  }

  private learn(entry: OrderEntry, country: string | undefined): void {
    if (entry.cardToken === undefined) return;
    const card = this.cardState(entry.cardToken);
    card.approvedCount++;
    if (country !== undefined && !card.countries?.includes(country)) {
      // a new array of the exact size (rare: a country new to the card); a push would grow it by 16 slots
      const kept = card.countries ?? [];
      card.countries = (kept.length < this.options.countriesPerCardMax ? kept : kept.slice(1)).concat([country]);
    }
    if (entry.currency === undefined || entry.amountMinor <= 0n) return;
    card.avgCurrency ??= entry.currency;
    if (card.avgCurrency !== entry.currency) return;
    card.avgCount++;
    const n = Math.min(card.avgCount, this.options.averageOrders);
    card.avgMinor += (entry.amountMinor - card.avgMinor) / this.divisors[n]!;
  }
}
