// The buffer stage's options (buffer.ts), apart from RxJS: `run` shows and checks its flags without loading it.

import { type Bounds, wholeOption, withDefaults } from '../src/domain/option-checks.ts';

export interface BufferOptions {
  /** how long an idle stage lets orders gather before it starts on them; 0 = the next tick @default 5 */
  bufferWaitMs: number;
  /** most items in one buffer (one LevelDB batch) @default 2000 */
  bufferItemsMax: number;
}

export const DEFAULT_BUFFER_OPTIONS: BufferOptions = { bufferWaitMs: 5, bufferItemsMax: 2000 };

/** how long an idle stage may let orders gather */
export const BUFFER_WAIT_MS_BOUNDS: Bounds = { min: 0, max: 10_000 };
/** how many items one buffer (one LevelDB batch) may be set to hold */
export const BUFFER_ITEMS_BOUNDS: Bounds = { min: 1, max: 50_000 };

/** The buffer options, parsed: documented defaults for what is missing, each within its bounds. */
export function parseBufferOptions(partial: Partial<BufferOptions> = {}): BufferOptions {
  const options = withDefaults(DEFAULT_BUFFER_OPTIONS, partial);
  wholeOption('bufferWaitMs', options.bufferWaitMs, BUFFER_WAIT_MS_BOUNDS);
  wholeOption('bufferItemsMax', options.bufferItemsMax, BUFFER_ITEMS_BOUNDS);
  return options;
}
