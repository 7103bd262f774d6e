// What the risk engine remembers between orders: per card, merchant, account and recent order, and the
// day's spend that amount limits read.

import type { Aged, Ring } from './state.ts';
import type { AttemptWindow } from './window.ts';

export interface Decline {
  atMs: number;
}

/**
 * Spend per currency for one UTC day. Nearly every card and account spends in one currency, so that one
 * is kept in two fields and only further currencies in a Map (a Map costs ~200 bytes even with one entry,
 * and there are up to cardsMax + accountsMax of these).
 */
export interface DaySpend extends Aged {
  /** UTC day index (epoch ms / 86 400 000) the sums belong to */
  day: number;
  /** the first currency spent in that day, and its sum */
  sumCurrency: string | undefined;
  sumMinor: bigint;
  /** any other currencies of that day */
  otherSums: Map<string, bigint> | undefined;
}

export interface CardState extends DaySpend {
  attempts: AttemptWindow;
  /** created at the first decline: most cards never have one */
  declines: Ring<Decline> | undefined;
  accountId: string | undefined;
  /** approved/authorized orders learned from that named a country (new_country's baseline: an order
   *  without a country says nothing of where the card is used) */
  approvedWithCountry: number;
  /** moving average of approved amounts in avgCurrency (the card's first currency) */
  avgMinor: bigint;
  avgCount: number;
  avgCurrency: string | undefined;
  /** created at the first approval with a country */
  countries: string[] | undefined;
}

export interface MerchantState extends Aged {
  attempts: AttemptWindow;
  /**
   * The merchant id as first seen: every attempt at this merchant (on its window and on the cards') refers
   * to this one string rather than to its own copy from its order's JSON, since attempts are the most
   * numerous thing the engine keeps.
   */
  name: string;
}

export interface OrderEntry extends Aged {
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

/** A UTC day, the period of daily amount limits. */
const DAY_MS = 86_400_000;
export const dayIndex = (nowMs: number): number => Math.floor(nowMs / DAY_MS);

/** What `state` spent in `currency` on `day` (0 when its sums belong to another day). */
export function spentToday(state: DaySpend | undefined, day: number, currency: string): bigint {
  if (state === undefined || state.day !== day) return 0n;
  if (state.sumCurrency === currency) return state.sumMinor;
  return state.otherSums?.get(currency) ?? 0n;
}

/** Adds `deltaMinor` (negative to release) to what `state` spent in `currency` on `day`. */
export function shiftDay(state: DaySpend, day: number, currency: string, deltaMinor: bigint): void {
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
    state.sumMinor = plus(state.sumMinor, deltaMinor);
    return;
  }
  state.otherSums ??= new Map();
  state.otherSums.set(currency, plus(state.otherSums.get(currency) ?? 0n, deltaMinor));
}

/**
 * a + b, without a new bigint when a is 0 (a card's first spend of the day, an order's first count): each
 * bigint a sum makes is a heap object.
 */
export const plus = (a: bigint, b: bigint): bigint => (a === 0n ? b : a + b);

export const noSpend = (): DaySpend => ({
  movedAt: 0,
  day: 0,
  sumCurrency: undefined,
  sumMinor: 0n,
  otherSums: undefined,
});
