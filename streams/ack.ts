// Ack stage: after the buffer's results are flushed to the broker, one ack acknowledges the whole buffer
// (AckPolicy.All acknowledges every earlier message too). Nothing is acked before it is in LevelDB.

import { concatMap, type OperatorFunction } from 'rxjs';
import type { AppliedBuffer } from './types.ts';

export const ackStage =
  (flush: (applied: AppliedBuffer) => Promise<void> = async () => undefined): OperatorFunction<AppliedBuffer, AppliedBuffer> =>
  (source) =>
    source.pipe(
      concatMap(async (applied) => {
        if (applied.lastMessage?.ack) {
          await flush(applied);
          applied.lastMessage.ack();
        }
        return applied;
      }),
    );
