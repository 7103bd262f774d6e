// The risk engine: compiles a rule set, decides each order in microseconds and learns from results.
//
// State (all in memory, bounded, rebuilt from history after a restart; records in tracked.ts):
// - per card: the last `windowsMax` attempts (velocity, duplicates), the last declines (decline bursts),
//   spend per currency for the current UTC day, a moving average of approved amounts, countries seen;
// - per merchant: the last `windowsMax` attempts (merchant velocity);
// - per account: spend per currency for the current UTC day;
// - per recent order: what it added to the day's spend, so the final result (or a later void, cancel,
//   modify or review decision) can settle it.
// Each map is an LRU with a maximum (cardsMax, merchantsMax, accountsMax, ordersMax; evicted in chunks, so
// a map may briefly hold up to an eighth more): the key written least recently is evicted first,
// forgetting its history (a card idle long enough to be evicted starts again as a new card). Each ring
// keeps the newest `windowsMax` entries, oldest overwritten.
//
// Two kinds of updates keep decisions independent of how the pipeline buffers orders:
// - `evaluate` records the attempt at once (so the next order in the same buffer sees it) and counts an
//   allowed or reviewed amount as pending spend and as a charge the duplicate rule sees;
// - `observe` settles with the final result: declined/expired/rejected (and a later void or cancel) release
//   the pending spend and the charge, approved/authorized feed the moving average and countries, declined
//   feeds the decline burst.
// An attempt whose result is not yet known (the orders of a batch are all evaluated before any is applied)
// counts as a charge: it was allowed, so it will most likely go through, and deciding the next order cannot
// wait for it. Not counting it would let two identical payments in one batch both be charged; counting it
// blocks the second even if the first is then declined, which a retry after the result corrects.
// Time comes only from the `nowMs` arguments. What each rule kind checks is in its module (kinds.ts).
import type { Order, OrderResult, OrderType, ResultStatus } from '../types.ts';
import { ALLOW, type RiskDecision, type RiskInput } from './decision.ts';
import { type CompiledBase, type Finding, type OrderFacts, RANK } from './kind.ts';
import { kindOf } from './kinds.ts';
import { parseRiskOptions, type RiskOptions } from './options.ts';
import type { RuleSet } from './rules.ts';
import { LruRecords, Ring } from './state.ts';
import {
  type CardState,
  type DaySpend,
  type Decline,
  dayIndex,
  type MerchantState,
  noSpend,
  type OrderEntry,
  plus,
  shiftDay,
} from './tracked.ts';
import { AttemptWindow } from './window.ts';

/** One past order with its final result, as replayed by `rebuild`. */
export interface RiskHistoryItem {
  order: Order;
  result: OrderResult;
  /** the nowMs the order was evaluated with */
  atMs: number;
  /** the card's account, for per-account daily limits (the order itself does not name it) */
  accountId?: string;
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

/** A compiled rule with its kind's check: what the engine runs for every order. */
interface Runnable<D extends RiskDecision> {
  id: string;
  rank: number;
  compiled: CompiledBase;
  check: (rule: CompiledBase, facts: OrderFacts) => D | undefined;
}

interface CompiledRules {
  time: Runnable<RiskDecision>[];
  /** block lists first, then the rest, each in file order */
  money: Runnable<Finding>[];
  enabled: number;
}

function compileRules(set: RuleSet, options: RiskOptions): CompiledRules {
  const time: Runnable<RiskDecision>[] = [];
  const lists: Runnable<Finding>[] = [];
  const rest: Runnable<Finding>[] = [];
  const ids = new Set<string>();
  for (const rule of set.rules) {
    if (ids.has(rule.id)) throw new RangeError(`duplicate risk rule id "${rule.id}"`);
    ids.add(rule.id);
    if (!rule.enabled) continue;
    const kind = kindOf(rule);
    const compiled = kind.compile(rule, options);
    const runnable = { id: rule.id, rank: compiled.rank, compiled, check: kind.check };
    if (kind.phase === 'time') time.push(runnable);
    // list and money kinds give review, block or allow findings (RuleKindModule.phase)
    else (kind.phase === 'list' ? lists : rest).push(runnable as Runnable<Finding>);
  }
  return { time, money: [...lists, ...rest], enabled: time.length + lists.length + rest.length };
}

/** Orders judged by amount, velocity, duplicate, anomaly and block-list rules; the rest only by time rules. */
const MONEY_MOVING: ReadonlySet<OrderType> = new Set<OrderType>(['payment', 'authorize', 'payout', 'modify']);
/** Orders that open a new money movement: recorded as attempts. A modify re-checks an existing one. */
const ATTEMPTS: ReadonlySet<OrderType> = new Set<OrderType>(['payment', 'authorize', 'payout']);
/** Results that keep the amount reserved or spent. */
const SPENDING: ReadonlySet<ResultStatus> = new Set<ResultStatus>(['approved', 'authorized', 'held']);

export class RiskEngine {
  readonly options: RiskOptions;
  private rules: CompiledRules;
  private readonly cards: LruRecords<string, CardState>;
  private readonly merchants: LruRecords<string, MerchantState>;
  private readonly accounts: LruRecords<string, DaySpend>;
  private readonly orders: LruRecords<string, OrderEntry>;
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

  /** The facts of the order being evaluated: one object, refilled for each order. */
  private readonly facts: OrderFacts;

  constructor(rules: RuleSet, options?: Partial<RiskOptions>) {
    this.options = parseRiskOptions(options);
    this.rules = compileRules(rules, this.options);
    this.cards = new LruRecords(this.options.cardsMax);
    this.merchants = new LruRecords(this.options.merchantsMax);
    this.accounts = new LruRecords(this.options.accountsMax);
    this.orders = new LruRecords(this.options.ordersMax);
    this.divisors = Array.from({ length: this.options.averageOrders + 1 }, (_, n) => BigInt(Math.max(1, n)));
    this.facts = {
      input: { order: { id: '', type: 'payment', createdAtMs: 0 }, nowMs: 0 },
      order: { id: '', type: 'payment', createdAtMs: 0 },
      nowMs: 0,
      cardToken: undefined,
      card: undefined,
      currency: undefined,
      amount: undefined,
      accountId: undefined,
      day: 0,
      replacedMinor: 0n,
      recordedBefore: false,
      merchants: this.merchants,
      accounts: this.accounts,
    };
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
    this.rules = compileRules(rules, this.options);
  }

  /**
   * Decides one order. Deterministic in (input, engine state); records the order as an attempt so later
   * orders see it. Evaluating the same order id again does not count it twice.
   */
  evaluate(input: RiskInput): RiskDecision {
    const facts = this.facts;
    const order = input.order;
    facts.input = input;
    facts.order = order;
    facts.nowMs = input.nowMs;
    this.evaluated++;
    const timed = this.checkTime(facts);
    if (timed !== undefined) return timed;
    if (!MONEY_MOVING.has(order.type)) {
      this.decisions.allow++;
      return ALLOW;
    }
    this.gatherFacts(facts);
    const best = this.strongest(facts);
    if (ATTEMPTS.has(order.type) && !facts.recordedBefore) {
      const { cardToken, accountId, currency, amount, nowMs, card } = facts;
      // the card state gatherFacts read is still the one held: the rules only read
      this.record(order, cardToken, accountId, currency, amount ?? 0n, nowMs, best.outcome !== 'block', card);
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
      this.observeAttempt(order, status, nowMs, accountId);
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
    if ((status === 'voided' || status === 'canceled') && ref !== undefined) {
      if (ref.countedMinor !== 0n) this.shiftSpend(ref, -ref.countedMinor);
      this.markAttempt(ref.cardToken, order.ref!, false, ref.atMs);
    }
  }

  /** Settles a payment, authorization or payout with its result: spend, duplicates, declines, learning. */
  private observeAttempt(
    order: Order,
    status: ResultStatus,
    nowMs: number,
    accountId: string | undefined,
  ): void {
    const spending = SPENDING.has(status);
    let entry = this.orders.get(order.id);
    // the state of the entry's card once marked: held until the end (the card is touched, never evicted)
    let card: CardState | undefined;
    if (entry === undefined) {
      // Not evaluated here, or forgotten since (a review decided long after): a decline may still have an
      // attempt to release in the card's window. Rejected and expired orders never reached the windows.
      if (status === 'declined') card = this.markAttempt(order.cardToken, order.id, false, undefined);
      if (!spending && status !== 'declined') return;
      const cardToken = order.cardToken;
      entry = this.newEntry(cardToken, accountId ?? this.accountOf(cardToken), order, nowMs);
    } else {
      card = this.markAttempt(entry.cardToken, order.id, spending, entry.atMs);
    }
    entry.accountId ??= accountId;
    if (spending) {
      if (entry.countedMinor === 0n) this.shiftSpend(entry, entry.amountMinor, card);
    } else if (entry.countedMinor !== 0n) {
      this.shiftSpend(entry, -entry.countedMinor, card);
    }
    if (status === 'declined') this.recordDecline(entry.cardToken, entry.atMs, card);
    // a card's habits (countries, usual amount) are what it buys: a payout to it (a salary) teaches neither
    if ((status === 'approved' || status === 'authorized') && !entry.learned && order.type !== 'payout') {
      entry.learned = true;
      this.learn(entry, order.country, card);
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
          undefined,
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

  /** The first time rule the order breaks decides it outright. */
  private checkTime(facts: OrderFacts): RiskDecision | undefined {
    for (const rule of this.rules.time) {
      const decision = rule.check(rule.compiled, facts);
      if (decision !== undefined) {
        this.hit(rule.id);
        this.decisions[decision.outcome]++;
        return decision;
      }
    }
    return undefined;
  }

  /** What the money rules read about the order: its card, account, amount and what it replaces today. */
  private gatherFacts(facts: OrderFacts): void {
    const { order, input } = facts;
    const isModify = order.type === 'modify';
    const ref = isModify && order.ref !== undefined ? this.orders.get(order.ref) : undefined;
    const seen = isModify ? undefined : this.orders.get(order.id);
    const cardToken = order.cardToken ?? input.card?.token ?? ref?.cardToken;
    const card = cardToken === undefined ? undefined : this.cards.get(cardToken);
    facts.cardToken = cardToken;
    facts.card = card;
    facts.currency = order.currency ?? input.account?.currency ?? ref?.currency;
    facts.amount = order.amountMinor ?? (isModify ? undefined : 0n);
    facts.accountId = input.account?.id ?? input.card?.accountId ?? card?.accountId ?? ref?.accountId;
    facts.day = dayIndex(facts.nowMs);
    // The pending amount this order (a redelivery) or its original (a modify) already added today.
    const prior = ref ?? seen;
    facts.replacedMinor = prior !== undefined && prior.day === facts.day ? prior.countedMinor : 0n;
    facts.recordedBefore = seen !== undefined;
  }

  /** The strongest finding of the money rules, in order; the first block ends the search. */
  private strongest(facts: OrderFacts): Finding {
    let best: Finding = ALLOW;
    let bestRank = 0;
    for (const rule of this.rules.money) {
      const decision = rule.check(rule.compiled, facts);
      if (decision === undefined) continue;
      this.hit(rule.id);
      if (rule.rank > bestRank) {
        best = decision;
        bestRank = rule.rank;
        if (bestRank === RANK.block) break;
      }
    }
    return best;
  }

  private hit(ruleId: string): void {
    this.hits.set(ruleId, (this.hits.get(ruleId) ?? 0) + 1);
  }

  // ---- state ----

  /** The card's state, marked as written; `held`: the state `cards.get(token)` gave, not looked up again. */
  private cardState(token: string, held?: CardState): CardState {
    if (held !== undefined) return this.cards.touchHeld(token, held);
    return (
      this.cards.touch(token) ??
      this.cards.insert(token, {
        movedAt: 0,
        attempts: new AttemptWindow(this.options.windowsMax),
        declines: undefined,
        day: 0,
        sumCurrency: undefined,
        sumMinor: 0n,
        otherSums: undefined,
        accountId: undefined,
        approvedWithCountry: 0,
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
      movedAt: 0,
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

  /**
   * Records an attempt in the card's and merchant's windows. `pending` (allowed or held, result not yet
   * known) counts it as today's spend and as a charge the duplicate rule sees until `observe` says otherwise.
   */
  private record(
    order: Order,
    cardToken: string | undefined,
    accountId: string | undefined,
    currency: string | undefined,
    amountMinor: bigint,
    atMs: number,
    pending: boolean,
    heldCard: CardState | undefined,
  ): void {
    const entry = this.newEntry(cardToken, accountId, order, atMs);
    entry.currency = currency;
    entry.amountMinor = amountMinor;
    const cur = currency ?? '';
    const state =
      order.merchant === undefined
        ? undefined
        : (this.merchants.touch(order.merchant) ??
          this.merchants.insert(order.merchant, {
            movedAt: 0,
            attempts: new AttemptWindow(this.options.windowsMax),
            name: order.merchant,
          }));
    const merchant = state?.name ?? '';
    const card = cardToken === undefined ? undefined : this.cardState(cardToken, heldCard);
    if (card !== undefined) {
      if (accountId !== undefined) card.accountId = accountId;
      card.attempts.push(atMs, amountMinor, cur, merchant, order.id, order.type, pending);
    }
    state?.attempts.push(atMs, amountMinor, cur, merchant, order.id, order.type, pending);
    if (pending && amountMinor > 0n) this.shiftSpend(entry, amountMinor, card);
  }

  /** `heldCard`: the state of entry's card when the caller has it at hand (see cardState). */
  private shiftSpend(entry: OrderEntry, deltaMinor: bigint, heldCard?: CardState): void {
    entry.countedMinor = plus(entry.countedMinor, deltaMinor);
    if (entry.currency === undefined) return;
    if (entry.cardToken !== undefined)
      shiftDay(this.cardState(entry.cardToken, heldCard), entry.day, entry.currency, deltaMinor);
    if (entry.accountId !== undefined) {
      const account =
        this.accounts.touch(entry.accountId) ?? this.accounts.insert(entry.accountId, noSpend());
      shiftDay(account, entry.day, entry.currency, deltaMinor);
    }
  }

  /**
   * Marks an attempt in its card's window as one that charges or does not (what the duplicate rule counts).
   * `atMs`, when it was recorded, bounds the search; undefined searches the whole window. Gives the card's
   * state, if held.
   */
  private markAttempt(
    cardToken: string | undefined,
    orderId: string,
    charges: boolean,
    atMs: number | undefined,
  ): CardState | undefined {
    if (cardToken === undefined) return undefined;
    const card = this.cards.get(cardToken);
    card?.attempts.settle(orderId, charges, atMs);
    return card;
  }

  private recordDecline(cardToken: string | undefined, atMs: number, heldCard?: CardState): void {
    if (cardToken === undefined) return;
    const card = this.cardState(cardToken, heldCard);
    card.declines ??= new Ring<Decline>(this.options.windowsMax);
    const ring = card.declines;
    const slot = ring.recycle();
    if (slot === undefined) ring.append({ atMs });
    else slot.atMs = atMs;
    // A review declined later counts at its order's time, older than declines since: moved back to its
    // place, so the ring stays in time order (the burst count stops at the first old entry), as a rebuild
    // from history has it.
    for (let i = 0; i + 1 < ring.size && ring.newest(i + 1).atMs > atMs; i++) {
      ring.newest(i).atMs = ring.newest(i + 1).atMs;
      ring.newest(i + 1).atMs = atMs;
    }
  }

  private learn(entry: OrderEntry, country: string | undefined, heldCard: CardState | undefined): void {
    if (entry.cardToken === undefined) return;
    const card = this.cardState(entry.cardToken, heldCard);
    if (country !== undefined) card.approvedWithCountry++;
    if (country !== undefined && !card.countries?.includes(country)) {
      // a new array of the exact size (rare: a country new to the card); a push would grow it by 16 slots
      const kept = card.countries ?? [];
      card.countries = (kept.length < this.options.countriesPerCardMax ? kept : kept.slice(1)).concat([
        country,
      ]);
    }
    if (entry.currency === undefined || entry.amountMinor <= 0n) return;
    card.avgCurrency ??= entry.currency;
    if (card.avgCurrency !== entry.currency) return;
    card.avgCount++;
    const n = Math.min(card.avgCount, this.options.averageOrders);
    // the mean of one amount is that amount: no new bigints for a card's first (or, N = 1, every) approval
    if (n === 1) card.avgMinor = entry.amountMinor;
    else card.avgMinor += (entry.amountMinor - card.avgMinor) / this.divisors[n]!;
  }
}
