// The risk engine's bounds: how much state it keeps per card, merchant, account and order, checked once.

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
