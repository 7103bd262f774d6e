// Results, batch reports and dead letters onto NATS, kept from being lost with a broker connection: a buffer's
// flush before its ack waits out a broker restart, and the results of the last seconds go again after a reconnect.

import { headers, type NatsConnection } from 'nats';
import { writeDigits } from '../domain/digits.ts';
import { bigintReplacer } from '../domain/json.ts';
import type { OrderResult } from '../domain/types.ts';
import { log } from '../log.ts';
import { redactPanRuns, scrubSubject } from '../recording/scrub.ts';
import { type BufferPublisher, type Publisher, publishApplied } from '../../streams/publish.ts';
import type { AppliedBuffer, DeadLetter } from '../../streams/types.ts';

export interface PublishSubjects {
  results: string;
  reports: string;
  dlq: string;
}

/** results published in the last this-many ms are sent again after a broker reconnect */
export const RESEND_WINDOW_MS = 5_000;
/** ...but never more than this many (memory bound): the oldest buffers' results are forgotten first */
export const RESEND_RESULTS_MAX = 50_000;
/** a flush the broker's absence made fail is tried again after this long */
export const FLUSH_RETRY_MS = 100;

const encoder = new TextEncoder();

/**
 * A header value: NATS refuses CR and LF in one (the publish throws, which would stop the pipeline), and a
 * detail may quote input, such as the path of a forbidden field under a key with a line break in it.
 */
const headerValue = (text: string): string => text.replace(/[\r\n]/g, ' ');

/** The subject token for a reason: NATS tokens must not contain '.', '*', '>' or spaces. */
const token = (text: string): string => text.replace(/[.*>\s]/g, '_') || 'unknown';

export { bigintReplacer };

/** Each message as it goes on the wire: its subject, headers and payload; nothing kept. */
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

/**
 * A buffer's results as they go on the wire, encoded once: each result's subject and JSON payload one after the
 * other in one byte array (`ends` holds where each subject and each payload ends). The resend window keeps this
 * rather than the result objects, which would otherwise live through its seconds and be promoted.
 */
interface EncodedResults {
  bytes: Buffer;
  /** for result i: its subject's end at 2i, its payload's at 2i + 1 */
  ends: Uint32Array;
}

/** A result's subject in two parts: the results prefix with its status (one string per status), and its order id. */
type SubjectPrefix = (result: OrderResult) => string;

/** The escape JSON.stringify writes for a character below 0x20 that has a short one (\b \t \n \f \r), else 0. */
const SHORT_ESCAPES = [0, 0, 0, 0, 0, 0, 0, 0, 98, 116, 110, 0, 102, 114];
/** lowercase hexadecimal digits, as JSON.stringify writes \u escapes */
const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/**
 * Encodes a buffer's results (EncodedResults) into a scratch array kept from buffer to buffer, then copies them
 * out at their exact size. A result's JSON is written straight as UTF-8 bytes, byte for byte what
 * JSON.stringify and a TextEncoder give (no JSON string, no encoder buffer); a result holding anything but
 * strings, numbers, booleans and undefined is left to JSON.stringify.
 */
class ResultEncoder {
  private scratch = Buffer.allocUnsafeSlow(1 << 16);
  private at = 0;

  constructor(private readonly prefixOf: SubjectPrefix) {}

  encode(results: AppliedBuffer['results']): EncodedResults & { subjects: string[] } {
    const count = results.length;
    const subjects = new Array<string>(count);
    const ends = new Uint32Array(count * 2);
    this.at = 0;
    for (let i = 0; i < count; i++) {
      const result = results[i]!.result;
      const prefix = this.prefixOf(result);
      subjects[i] = prefix + result.orderId;
      // the subject in its two parts: writing the joined string would flatten it into a copy
      this.text(prefix);
      this.text(result.orderId);
      const subjectEnd = this.at;
      if (!this.json(result)) {
        this.at = subjectEnd;
        this.text(JSON.stringify(result));
      }
      ends[i * 2] = subjectEnd;
      ends[i * 2 + 1] = this.at;
    }
    const bytes = Buffer.allocUnsafeSlow(this.at);
    this.scratch.copy(bytes, 0, 0, this.at);
    return { bytes, ends, subjects };
  }

  /** Makes room for `bytes` more, keeping what is written. */
  private room(bytes: number): void {
    if (this.scratch.length - this.at >= bytes) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.scratch.length * 2, this.at + bytes));
    this.scratch.copy(grown, 0, 0, this.at);
    this.scratch = grown;
  }

  /** `text` as a TextEncoder gives it. */
  private text(text: string): void {
    this.room(text.length * 3);
    this.at += this.scratch.write(text, this.at);
  }

  /** False, with something written, when a value is not a string, number, boolean or undefined. */
  private json(result: OrderResult): boolean {
    const fields = result as unknown as Record<string, unknown>;
    this.room(1);
    this.scratch[this.at++] = 123;
    let first = true;
    for (const key in fields) {
      const value = fields[key];
      const type = typeof value;
      if (type === 'undefined') continue;
      if (type !== 'string' && type !== 'number' && type !== 'boolean') return false;
      this.room(2);
      if (!first) this.scratch[this.at++] = 44;
      first = false;
      this.quoted(key);
      this.room(1);
      this.scratch[this.at++] = 58;
      if (type === 'string') this.quoted(value as string);
      else if (type === 'number') this.number(value as number);
      else this.text(value ? 'true' : 'false');
    }
    this.room(1);
    this.scratch[this.at++] = 125;
    return true;
  }

  /** A number as JSON.stringify writes it: integers digit by digit, others through String. */
  private number(n: number): void {
    if (!Number.isInteger(n) || Math.abs(n) >= 1e15) {
      this.text(Number.isFinite(n) ? String(n) : 'null');
      return;
    }
    this.room(17);
    if (n < 0) this.scratch[this.at++] = 45;
    this.at = writeDigits(this.scratch, this.at, n < 0 ? -n : n);
  }

  /** A string as JSON.stringify quotes it, in UTF-8: a lone surrogate escaped, a pair as its code point. */
  private quoted(s: string): void {
    this.room(s.length * 6 + 2);
    const b = this.scratch;
    let at = this.at;
    b[at++] = 34;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c < 0x80) {
        if (c === 34 || c === 92) b[at++] = 92;
        b[at++] = c;
      } else if (c < 0x20) {
        at = escaped(b, at, c);
      } else if (c < 0x800) {
        b[at++] = 0xc0 | (c >> 6);
        b[at++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        b[at++] = 0xe0 | (c >> 12);
        b[at++] = 0x80 | ((c >> 6) & 0x3f);
        b[at++] = 0x80 | (c & 0x3f);
      } else {
        const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) {
          at = escaped(b, at, c);
          continue;
        }
        const point = ((c - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
        b[at++] = 0xf0 | (point >> 18);
        b[at++] = 0x80 | ((point >> 12) & 0x3f);
        b[at++] = 0x80 | ((point >> 6) & 0x3f);
        b[at++] = 0x80 | (point & 0x3f);
        i++;
      }
    }
    b[at++] = 34;
    this.at = at;
  }
}

/** Writes JSON.stringify's escape of `c` (a control character or a lone surrogate) at `at`; returns its end. */
function escaped(b: Buffer, at: number, c: number): number {
  let i = at;
  b[i++] = 92;
  const short = c < SHORT_ESCAPES.length ? SHORT_ESCAPES[c]! : 0;
  if (short !== 0) {
    b[i++] = short;
    return i;
  }
  b[i++] = 117;
  b[i++] = HEX[(c >> 12) & 15]!;
  b[i++] = HEX[(c >> 8) & 15]!;
  b[i++] = HEX[(c >> 4) & 15]!;
  b[i++] = HEX[c & 15]!;
  return i;
}

/** One buffer's results and reports as they went out, kept for a resend after a reconnect. */
interface Sent {
  atMs: number;
  results: EncodedResults | undefined;
  resultCount: number;
  reports: AppliedBuffer['reports'];
}

/**
 * The processor's publisher on a broker connection. A broker that dies may lose what it had accepted but not
 * yet stored, and what was written to a socket that broke is lost with it: so the results of the last
 * RESEND_WINDOW_MS (at most RESEND_RESULTS_MAX) are sent again after every reconnect, and `delivered` sends a
 * buffer again when its flush failed. Subscribers may see an identical copy, never a missing result.
 */
export class NatsResultPublisher implements BufferPublisher {
  private readonly wire: Publisher;
  private readonly sent: Sent[] = [];
  private sentResults = 0;
  private readonly encoder: ResultEncoder;

  constructor(
    private readonly nc: NatsConnection,
    subjects: PublishSubjects,
    private readonly clock: () => number,
    private readonly retryMs = FLUSH_RETRY_MS,
  ) {
    this.wire = natsPublisher(nc, subjects);
    const prefixes = new Map<string, string>();
    this.encoder = new ResultEncoder((result) => {
      let prefix = prefixes.get(result.status);
      if (prefix === undefined) {
        prefix = `${subjects.results}.${result.status}.`;
        prefixes.set(result.status, prefix);
      }
      return prefix;
    });
    this.resendAfterReconnects().catch(() => undefined);
  }

  result(result: OrderResult): void {
    this.wire.result(result);
  }

  report(batchId: string, report: unknown): void {
    this.wire.report(batchId, report);
  }

  deadLetter(letter: DeadLetter): void {
    this.wire.deadLetter(letter);
  }

  /** Sends results, then batch reports, then dead letters, as publishApplied does, the results encoded once. */
  publish(applied: AppliedBuffer): void {
    let encoded: EncodedResults | undefined;
    if (applied.results.length > 0) {
      const withSubjects = this.encoder.encode(applied.results);
      this.sendEncoded(withSubjects, withSubjects.subjects);
      encoded = { bytes: withSubjects.bytes, ends: withSubjects.ends };
    }
    for (const { batchId, report } of applied.reports) this.wire.report(batchId, report);
    for (const letter of applied.deadLetters) this.wire.deadLetter(letter);
    this.remember(encoded, applied.results.length, applied.reports);
  }

  /** Publishes encoded results: each payload a view of the one array (nats.js copies it out at its flush). */
  private sendEncoded(encoded: EncodedResults, subjects?: string[]): void {
    const { bytes, ends } = encoded;
    const count = ends.length / 2;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const subjectEnd = ends[i * 2]!;
      const payloadEnd = ends[i * 2 + 1]!;
      const subject = subjects ? subjects[i]! : bytes.toString('utf8', at, subjectEnd);
      this.nc.publish(subject, new Uint8Array(bytes.buffer, bytes.byteOffset + subjectEnd, payloadEnd - subjectEnd));
      at = payloadEnd;
    }
  }

  /**
   * Flushes, waiting out a broker restart: a disconnect rejects the pending flush, and ending the pipeline for
   * it would stop the processor. What was written to the broken socket may be lost with it, so once a flush
   * goes through after one that failed, the buffer is sent again and flushed again. Only a closed connection
   * is final.
   */
  async delivered(applied: AppliedBuffer): Promise<void> {
    let failed = false;
    for (;;) {
      try {
        await this.nc.flush();
        if (!failed) return;
        publishApplied(this.wire, applied);
        failed = false;
      } catch (error) {
        if (this.nc.isClosed()) throw error;
        failed = true;
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      }
    }
  }

  private remember(results: EncodedResults | undefined, resultCount: number, reports: AppliedBuffer['reports']): void {
    if (resultCount === 0 && reports.length === 0) return;
    const nowMs = this.clock();
    this.sent.push({ atMs: nowMs, results, resultCount, reports });
    this.sentResults += resultCount;
    const horizonMs = nowMs - RESEND_WINDOW_MS;
    while (this.sent.length > 1 && (this.sent[0]!.atMs < horizonMs || this.sentResults > RESEND_RESULTS_MAX)) {
      this.sentResults -= this.sent.shift()!.resultCount;
    }
  }

  private async resendAfterReconnects(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== 'reconnect') continue;
      const resent = this.resendRecent(this.clock());
      log().info({ server: String(status.data), resentResults: resent }, 'results of the last seconds sent again after the reconnect');
    }
  }

  private resendRecent(nowMs: number): number {
    let resent = 0;
    for (const entry of this.sent) {
      if (entry.atMs < nowMs - RESEND_WINDOW_MS) continue;
      if (entry.results) this.sendEncoded(entry.results);
      for (const { batchId, report } of entry.reports) this.wire.report(batchId, report);
      resent += entry.resultCount;
    }
    return resent;
  }
}
