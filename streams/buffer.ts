// Buffer stage: groups items by time and count, both bounded; never emits an empty buffer.

import { bufferTime, filter, type OperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';

export interface BufferOptions {
  /** longest an item waits for its buffer to fill @default 20 */
  bufferWaitMs: number;
  /** most items in one buffer (one LevelDB batch) @default 2000 */
  bufferItemsMax: number;
}

export const DEFAULT_BUFFER_OPTIONS: BufferOptions = { bufferWaitMs: 20, bufferItemsMax: 2000 };

export const bufferItems =
  <T>(options: BufferOptions, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T, T[]> =>
  (source) =>
    source.pipe(
      bufferTime(options.bufferWaitMs, null, options.bufferItemsMax, scheduler),
      filter((buffer) => buffer.length > 0),
    );
