// The bounds of batch handling (batch size, open batches, waiting orders, timeouts): defaults and their one parse.

/** Most orders one batch may announce: the processor's default and the batch file's (`paystream batch submit`). */
export const BATCH_ORDERS_MAX_DEFAULT = 10_000;

export const BATCH_MODES = ['independent', 'atomic'] as const;
export type BatchMode = (typeof BATCH_MODES)[number];

export interface BatchLimits {
  /** most orders in one batch; a header announcing more is refused batch_too_large @default 10_000 */
  batchOrdersMax: number;
  /** most batches open at once, all sources together (a header opens one; complete or rejected closes it) @default 1000 */
  openBatchesMax: number;
  /** most batches one source may have open at once; a header beyond it is rejected too_many_open_batches @default 100 */
  openBatchesPerSourceMax: number;
  /** an open batch not complete after this is rejected whole, batch_incomplete @default 300_000 */
  batchTimeoutMs: number;
  /** finished batches shown on the dashboard (memory keeps at least FINISHED_REMEMBERED_MIN for duplicates) @default 50 */
  finishedShownMax: number;
  /** how long an order naming a batch no header has opened waits for it, then it is rejected batch_unknown @default 30_000 */
  unknownBatchWaitMs: number;
  /** most orders of one source waiting for headers (a whole batch may come before its header) @default 10_000 */
  waitingOrdersPerSourceMax: number;
  /** most distinct batch ids one source's waiting orders may name @default 100 */
  waitingBatchesPerSourceMax: number;
  /** most orders waiting for headers, all sources together; beyond any bound an order is rejected batch_unknown at once @default 50_000 */
  waitingOrdersMax: number;
}

export const DEFAULT_BATCH_LIMITS: Readonly<BatchLimits> = Object.freeze({
  batchOrdersMax: BATCH_ORDERS_MAX_DEFAULT,
  openBatchesMax: 1000,
  openBatchesPerSourceMax: 100,
  batchTimeoutMs: 300_000,
  finishedShownMax: 50,
  unknownBatchWaitMs: 30_000,
  waitingOrdersPerSourceMax: 10_000,
  waitingBatchesPerSourceMax: 100,
  waitingOrdersMax: 50_000,
});

/** Each limit's bounds, inclusive; whole numbers only. */
export const BATCH_LIMIT_BOUNDS: Readonly<Record<keyof BatchLimits, readonly [min: number, max: number]>> =
  Object.freeze({
    batchOrdersMax: [1, 100_000],
    openBatchesMax: [1, 100_000],
    openBatchesPerSourceMax: [1, 100_000],
    batchTimeoutMs: [1_000, 24 * 3_600_000],
    finishedShownMax: [0, 10_000],
    unknownBatchWaitMs: [0, 3_600_000],
    waitingOrdersPerSourceMax: [0, 1_000_000],
    waitingBatchesPerSourceMax: [0, 100_000],
    waitingOrdersMax: [0, 1_000_000],
  });

/** A per-source bound and the total it is part of: the first may not exceed the second. */
const PER_SOURCE_WITHIN_TOTAL: readonly [perSource: keyof BatchLimits, total: keyof BatchLimits][] = [
  ['openBatchesPerSourceMax', 'openBatchesMax'],
  ['waitingOrdersPerSourceMax', 'waitingOrdersMax'],
];

/**
 * The batch limits, parsed: documented defaults for what is missing; each a whole number within its bounds;
 * a per-source bound above its total is a contradiction. Throws with the offending name and value.
 */
export function parseBatchLimits(partial: Partial<BatchLimits> = {}): BatchLimits {
  const limits: BatchLimits = { ...DEFAULT_BATCH_LIMITS };
  for (const [key, value] of Object.entries(partial) as [keyof BatchLimits, unknown][]) {
    if (value === undefined) continue;
    const bounds = Object.hasOwn(BATCH_LIMIT_BOUNDS, key) ? BATCH_LIMIT_BOUNDS[key] : undefined;
    if (!bounds) throw new Error(`batch limits: unknown limit ${String(key)}`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < bounds[0] || value > bounds[1]) {
      throw new Error(
        `batch limits: ${key} must be a whole number within ${bounds[0]}..${bounds[1]}, got ${String(value)}`,
      );
    }
    limits[key] = value;
  }
  for (const [perSource, total] of PER_SOURCE_WITHIN_TOTAL) {
    if (limits[perSource] > limits[total]) {
      throw new Error(
        `batch limits: ${perSource} (${limits[perSource]}) exceeds ${total} (${limits[total]})`,
      );
    }
  }
  return limits;
}
