// Buffer stage: smart batching. A buffer starts as soon as the work on the previous one is done; while
// that work runs, orders gather. Under light load an order waits only `bufferWaitMs` for company; under
// heavy load buffers grow (up to `bufferItemsMax`), so the fixed costs of a buffer (its LevelDB batch,
// flush and ack) are shared by more orders exactly when that matters. Never emits an empty buffer.

import { asyncScheduler, from, Observable, type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { BufferOptions } from './buffer-options.ts';

export { BUFFER_ITEMS_BOUNDS, BUFFER_WAIT_MS_BOUNDS, type BufferOptions, DEFAULT_BUFFER_OPTIONS, parseBufferOptions } from './buffer-options.ts';

/**
 * Runs `work` on one buffer at a time, in arrival order, and emits what it gives in that order. Items that
 * arrive while `work` runs wait for it and go into the next buffer together. What waits is bounded by the
 * source (the JetStream consumer's max_ack_pending); an error of the source or of `work` ends the stream.
 */
export const bufferWhileBusy =
  <T, R>(
    options: BufferOptions,
    work: (buffer: T[]) => ObservableInput<R>,
    scheduler: SchedulerLike = asyncScheduler,
  ): OperatorFunction<T, R> =>
  (source) =>
    new Observable<R>((subscriber) => {
      const pending: T[] = [];
      let busy = false;
      let sourceDone = false;
      let timer: Subscription | undefined;
      let running: Subscription | undefined;

      const start = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (busy || subscriber.closed) return;
        if (pending.length === 0) {
          if (sourceDone) subscriber.complete();
          return;
        }
        busy = true;
        const buffer = pending.splice(0, options.bufferItemsMax);
        let inner: Observable<R>;
        try {
          inner = from(work(buffer));
        } catch (error) {
          subscriber.error(error);
          return;
        }
        running = inner.subscribe({
          next: (result) => subscriber.next(result),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            running = undefined;
            busy = false;
            // whatever gathered meanwhile has waited long enough: start on it now
            start();
          },
        });
      };

      const subscription = source.subscribe({
        next: (item) => {
          pending.push(item);
          if (busy) return;
          if (pending.length >= options.bufferItemsMax) start();
          else timer ??= scheduler.schedule(start, options.bufferWaitMs);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          if (!busy) start();
        },
      });
      return () => {
        timer?.unsubscribe();
        running?.unsubscribe();
        subscription.unsubscribe();
      };
    });
