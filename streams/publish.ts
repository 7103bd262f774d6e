// Publish stage: a committed buffer's results, batch reports and dead letters go out, in that order.

import { type OperatorFunction, tap } from 'rxjs';
import type { OrderResult } from '../src/domain/types.ts';
import type { AppliedBuffer, DeadLetter } from './types.ts';

/** Where results, batch reports and dead letters go: the broker (src/nats/results.ts), or a sink. */
export interface Publisher {
  result(result: OrderResult): void;
  report(batchId: string, report: unknown): void;
  deadLetter(letter: DeadLetter): void;
}

/** What the pipeline publishes through: whole buffers, and the word that one has arrived before it is acked. */
export interface BufferPublisher extends Publisher {
  /** sends a buffer's results, batch reports and dead letters */
  publish(applied: AppliedBuffer): void;
  /** resolves once what `publish` sent of `applied` has reached its destination, sending it again if it may have been lost */
  delivered(applied: AppliedBuffer): Promise<void>;
}

export function publishApplied(publisher: Publisher, applied: AppliedBuffer): void {
  for (const { result } of applied.results) publisher.result(result);
  for (const { batchId, report } of applied.reports) publisher.report(batchId, report);
  for (const letter of applied.deadLetters) publisher.deadLetter(letter);
}

/** A sink that loses nothing it is given (an offline replay, a test): a buffer is delivered once published. */
export function sinkPublisher(sink: Publisher): BufferPublisher {
  return {
    result: (result) => sink.result(result),
    report: (batchId, report) => sink.report(batchId, report),
    deadLetter: (letter) => sink.deadLetter(letter),
    publish: (applied) => publishApplied(sink, applied),
    delivered: () => Promise.resolve(),
  };
}

export const publishStage =
  (publisher: BufferPublisher): OperatorFunction<AppliedBuffer, AppliedBuffer> =>
  (source) =>
    source.pipe(tap((applied) => publisher.publish(applied)));

