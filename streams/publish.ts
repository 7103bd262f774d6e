// Publish stage: results, batch reports and dead letters go out after the buffer is committed.

import { headers, type NatsConnection } from 'nats';
import { type OperatorFunction, tap } from 'rxjs';
import type { OrderResult } from '../src/domain/types.ts';
import { redactPanRuns, scrubSubject } from '../src/recording/scrub.ts';
import type { AppliedBuffer, DeadLetter } from './types.ts';

export interface PublishSubjects {
  results: string;
  reports: string;
  dlq: string;
}

export interface Publisher {
  result(result: OrderResult): void;
  report(batchId: string, report: unknown): void;
  deadLetter(letter: DeadLetter): void;
}

const encoder = new TextEncoder();

/**
 * A header value: NATS refuses CR and LF in one (the publish throws, which would stop the pipeline), and a
 * detail may quote input, such as the path of a forbidden field under a key with a line break in it.
 */
const headerValue = (text: string): string => text.replace(/[\r\n]/g, ' ');

/** The subject token for a reason: NATS tokens must not contain '.', '*', '>' or spaces. */
const token = (text: string): string => text.replace(/[.*>\s]/g, '_') || 'unknown';

export function natsPublisher(nc: NatsConnection, subjects: PublishSubjects): Publisher {
  return {
    result(result) {
      nc.publish(`${subjects.results}.${result.status}.${result.orderId}`, encoder.encode(JSON.stringify(result)));
    },
    report(batchId, report) {
      // a batch id comes from a subject anyone may publish on: a PAN in it must not reach the report
      nc.publish(`${subjects.reports}.${scrubSubject(batchId)}`, encoder.encode(redactPanRuns(JSON.stringify(report, bigintReplacer))));
    },
    deadLetter(letter) {
      const h = headers();
      h.set('Paystream-Reason', letter.reason);
      // details are the processor's own words (field paths, rules): PANs redacted, nothing else to blank
      h.set('Paystream-Detail', headerValue(redactPanRuns(letter.detail)).slice(0, 200));
      h.set('Paystream-Subject', scrubSubject(letter.subject));
      if (letter.orderId !== undefined) h.set('Paystream-Order-Id', redactPanRuns(letter.orderId));
      if (letter.streamSeq !== undefined) h.set('Paystream-Stream-Seq', String(letter.streamSeq));
      nc.publish(`${subjects.dlq}.${token(letter.reason)}`, letter.payload, { headers: h });
    },
  };
}

export const bigintReplacer = (_key: string, value: unknown): unknown =>
  typeof value === 'bigint' ? value.toString() : value;

export function publishApplied(publisher: Publisher, applied: AppliedBuffer): void {
  for (const result of applied.results) publisher.result(result);
  for (const { batchId, report } of applied.reports) publisher.report(batchId, report);
  for (const letter of applied.deadLetters) publisher.deadLetter(letter);
}

export const publishStage =
  (publisher: Publisher): OperatorFunction<AppliedBuffer, AppliedBuffer> =>
  (source) =>
    source.pipe(tap((applied) => publishApplied(publisher, applied)));
