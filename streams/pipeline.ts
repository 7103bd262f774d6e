// The production pipeline, the one place to read an order's path: decode -> validate -> buffer and apply ->
// publish -> ack -> record, each stage an operator of its own file.

import type { OperatorFunction } from 'rxjs';
import type { DecodeLimits } from '../src/domain/decode.ts';
import { ackStage, type FloorAcker } from './ack.ts';
import { type ApplyDeps, bufferAndApply } from './apply.ts';
import type { BufferOptions } from './buffer.ts';
import { decode } from './decode.ts';
import type { FaultHook } from './guard.ts';
import { type RecordTarget, recordStage } from './metrics.ts';
import { type BufferPublisher, publishStage } from './publish.ts';
import type { AppliedBuffer, InboundMessage } from './types.ts';
import { type ValidateOptions, validate } from './validate.ts';

export interface PipelineDeps {
  decode: {
    limits: DecodeLimits;
    /** messages on subjects under it are batch headers, not orders */
    batchSubjectPrefix: string;
    /** test seam: decoding throws on purpose for the orders it names (streams/guard.ts) */
    faults?: FaultHook;
  };
  validate: ValidateOptions;
  buffer: BufferOptions;
  apply: ApplyDeps;
  /** the broker (src/nats/results.ts) or a sink: a buffer is acked only once `delivered` says it arrived */
  publisher: BufferPublisher;
  acker: FloorAcker;
  record: RecordTarget;
}

/**
 * Messages in, committed buffers out: each buffer leaves once its write is in LevelDB, its results, reports
 * and dead letters are delivered, its messages acked up to the ack floor and its figures recorded.
 */
export const orderPipeline =
  (deps: PipelineDeps): OperatorFunction<InboundMessage, AppliedBuffer> =>
  (source) =>
    source.pipe(
      decode(deps.decode.limits, deps.decode.batchSubjectPrefix, deps.decode.faults),
      validate(deps.validate),
      bufferAndApply(deps.apply, deps.buffer),
      publishStage(deps.publisher),
      ackStage(deps.acker, (applied) => deps.publisher.delivered(applied)),
      recordStage(deps.record),
    );
