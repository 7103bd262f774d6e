// A fake connection's status(): the events a test feeds, one by one, to the publisher that iterates them.

import type { Events, Status } from 'nats';

/** `status` for a fake NatsConnection, and `emit`: an event, then a moment for the listener to act on it. */
export function statusFeed(): { status: () => AsyncIterable<Status>; emit: (type: Events) => Promise<void> } {
  const events: Status[] = [];
  let wake: (() => void) | undefined;
  return {
    status: () => ({
      async *[Symbol.asyncIterator]() {
        for (;;) {
          while (events.length > 0) yield events.shift()!;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      },
    }),
    async emit(type: Events): Promise<void> {
      events.push({ type, data: 'nats://127.0.0.1:4222' } as Status);
      wake?.();
      await new Promise((resolve) => setTimeout(resolve, 1));
    },
  };
}
