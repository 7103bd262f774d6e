// Publishing at a pace: the generator's traffic and recorded streams, onto NATS, with Nats-Msg-Id headers.

import { headers, type NatsConnection } from 'nats';
import { Observable } from 'rxjs';
import { type GeneratedMessage, generateTraffic, type GeneratorOptions } from '../domain/generate.ts';
import { payloadBytes, type RecordLine, shiftCreatedAt } from '../recording/line.ts';
import type { InboundMessage } from '../../streams/types.ts';

const encoder = new TextEncoder();

export interface PaceOptions {
  /** scale of the original inter-arrival times; Infinity = as fast as the broker takes them */
  speed: number;
  signal?: AbortSignal;
  /** told the count every flushEvery messages, and after each message that waited for its time (slow traffic) */
  onProgress?: (sent: number, elapsedMs: number) => void;
  /** flush to the broker every this many messages when unpaced @default 2000 */
  flushEvery?: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Pacing for recorded or generated traffic: a message stamped `atMs` is due (atMs - first atMs) / speed
 * after the pacer was made. Returns a promise to await when that is still ahead (by more than 5 ms), else
 * undefined, so unpaced publishing costs no await per message.
 */
export function pacer(speed: number, signal?: AbortSignal): (atMs: number) => Promise<void> | undefined {
  const startedMs = Date.now();
  let firstAtMs: number | undefined;
  return (atMs) => {
    firstAtMs ??= atMs;
    if (!Number.isFinite(speed)) return undefined;
    const dueMs = (atMs - firstAtMs) / speed - (Date.now() - startedMs);
    return dueMs > 5 ? sleep(dueMs, signal) : undefined;
  };
}

/**
 * Sends items so that item i goes out at (atMs_i - atMs_0) / speed after the start. Pauses on the
 * connection's own backpressure by flushing every `flushEvery` messages.
 */
export async function pacedPublish<T>(
  nc: NatsConnection,
  items: Iterable<T> | AsyncIterable<T>,
  toMessage: (item: T) => { subject: string; data: Uint8Array; msgId?: string; atMs: number },
  options: PaceOptions,
): Promise<number> {
  const started = Date.now();
  const pace = pacer(options.speed, options.signal);
  let sent = 0;
  const flushEvery = options.flushEvery ?? 2000;
  for await (const item of items as AsyncIterable<T>) {
    if (options.signal?.aborted) break;
    const m = toMessage(item);
    const due = pace(m.atMs);
    if (due) await due;
    const h = m.msgId ? headers() : undefined;
    if (h && m.msgId) h.set('Nats-Msg-Id', m.msgId);
    nc.publish(m.subject, m.data, h ? { headers: h } : undefined);
    sent++;
    if (sent % flushEvery === 0) {
      await nc.flush();
      options.onProgress?.(sent, Date.now() - started);
    } else if (due) options.onProgress?.(sent, Date.now() - started);
  }
  await nc.flush();
  options.onProgress?.(sent, Date.now() - started);
  return sent;
}

export function generatedToMessage(prefix: string) {
  return (m: GeneratedMessage) => {
    const out: { subject: string; data: Uint8Array; msgId?: string; atMs: number } = {
      subject: `${prefix}.${m.subject}`,
      data: typeof m.payload === 'string' ? encoder.encode(m.payload) : m.payload,
      atMs: m.atMs,
    };
    if (m.msgId !== undefined) out.msgId = m.msgId;
    return out;
  };
}

/** Publishes generated traffic at `ratePerSecond` (Infinity: as fast as possible) until the duration or abort. */
export function publishGenerated(
  nc: NatsConnection,
  prefix: string,
  generator: GeneratorOptions,
  options: PaceOptions,
): Promise<number> {
  return pacedPublish(nc, generateTraffic(generator), generatedToMessage(prefix), options);
}

/** Rewrites the subject prefix of a recorded subject (`pay.orders.x` -> `<prefix>.orders.x`). */
export function reprefix(subject: string, prefix: string | undefined): string {
  if (!prefix) return subject;
  const dot = subject.indexOf('.');
  return dot < 0 ? subject : `${prefix}${subject.slice(dot)}`;
}

/** A second, third... pass of a looped replay gets fresh ids so it is new traffic, not duplicates. */
export function relabel(payload: string, pass: number): string {
  if (pass === 0) return payload;
  return payload.replace(/"(id|ref|batchId)"\s*:\s*"([A-Za-z0-9_-]{1,60})"/g, (_m, key: string, id: string) => `"${key}":"${id}~${pass}"`.replace('~', 'L'));
}

export function recordLineMsgId(line: RecordLine): string | undefined {
  return line.headers?.['Nats-Msg-Id']?.[0];
}

/**
 * A recording as the pipeline's source, with no broker (replay --offline). Paced at `speed` (Infinity: as
 * fast as the pipeline takes it). Without `wallClock` each message keeps its recorded time, which becomes
 * the processor's clock (virtual time), so replays decide identically at any speed. With `wallClock` (the
 * demo's live loop) messages are stamped now and their createdAt moved by the same delta.
 */
export function recordingSource(
  lines: () => AsyncIterable<RecordLine>,
  options: { speed: number; loop: boolean; wallClock: boolean; signal?: AbortSignal; onProgress?: (sent: number) => void },
): Observable<InboundMessage> {
  return new Observable<InboundMessage>((subscriber) => {
    let stopped = false;
    (async () => {
      let sent = 0;
      for (let pass = 0; !stopped; pass++) {
        const pace = pacer(options.speed, options.signal);
        for await (const line of lines()) {
          if (stopped || options.signal?.aborted) break;
          const due = pace(line.receivedAtMs);
          if (due) await due;
          let data = payloadBytes(line);
          if (line.payloadBase64 === undefined && (pass > 0 || options.wallClock)) {
            let text = relabel(line.payload, pass);
            if (options.wallClock) text = shiftCreatedAt(text, Date.now() - line.receivedAtMs);
            data = encoder.encode(text);
          }
          subscriber.next({ subject: line.subject, data, receivedAtMs: options.wallClock ? Date.now() : line.receivedAtMs });
          sent++;
          if (due) options.onProgress?.(sent);
          if (sent % 1000 === 0) {
            options.onProgress?.(sent);
            await new Promise((r) => setImmediate(r));
          }
        }
        if (!options.loop || options.signal?.aborted) break;
      }
      options.onProgress?.(sent);
      subscriber.complete();
    })().catch((error: unknown) => subscriber.error(error));
    return () => {
      stopped = true;
    };
  });
}
