// SHIM(integration): remove. The batch stage moved: BatchTracker (state and persistence) to
// src/ledger/batches.ts, planning and settling to src/domain/batch-plan.ts and batch-settle.ts, the limits to
// src/domain/batch-limits.ts.

import type { BatchPlan as PlanOf } from '../src/domain/batch-plan.ts';
import type { Item } from './types.ts';

export { BatchTracker } from '../src/ledger/batches.ts'; // SHIM(integration): remove
/** A buffer's plan (SHIM(integration): remove; write BatchPlan<Item> from src/domain/batch-plan.ts). */
export type BatchPlan = PlanOf<Item>;
export { type BatchLimits, DEFAULT_BATCH_LIMITS, parseBatchLimits } from '../src/domain/batch-limits.ts'; // SHIM(integration): remove
