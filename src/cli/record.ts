// `paystream record`: every message on a subject (or from a JetStream stream) as NDJSON; PANs become
// tokens first.

import type { Command } from 'commander';
import type { MsgHdrs, NatsConnection, Subscription } from 'nats';
import { tokenizePan } from '../domain/cards.ts';
import { currentKey } from '../domain/keys.ts';
import { OptionsError, wholeOption, withDefaults } from '../domain/option-checks.ts';
import type { RecordLine } from '../recording/line.ts';
import { integerArg, nameArg, sinceArg, subjectArg } from './args.ts';
import type { GlobalOptions, Globals } from './global-options.ts';
import { abortOnSignals } from './interrupts.ts';
import { QUIET_FLAG_HELP, withProgress } from './progress.ts';

/** messages one recording may be limited to (--limit) */
export const RECORD_LIMIT_BOUNDS = { min: 1, max: 1_000_000_000 };

export interface RecordOptions {
  /** subject to record @default 'pay.>' */
  subject: string;
  /** the output file (.gz to gzip) */
  out: string;
  /** read from this JetStream stream instead of subscribing (with stream sequences) @default none */
  fromStream?: string;
  /** with fromStream: the first message's time @default the stream's first message */
  since?: Date;
  /** stop after this many messages (--limit) @default none */
  messagesMax?: number;
}

export const DEFAULT_RECORD_OPTIONS = { subject: 'pay.>' } as const satisfies Partial<RecordOptions>;

/** The options of `record`, parsed: defaults, the limit within its bounds; --since only with --from-stream. */
export function parseRecordOptions(partial: Partial<RecordOptions> & Pick<RecordOptions, 'out'>): RecordOptions {
  const options = withDefaults<RecordOptions>({ ...DEFAULT_RECORD_OPTIONS, out: partial.out }, partial);
  if (options.messagesMax !== undefined) wholeOption('--limit', options.messagesMax, RECORD_LIMIT_BOUNDS);
  if (options.since !== undefined && options.fromStream === undefined) throw new OptionsError('--since reads a stream from a time: give --from-stream too');
  return options;
}

export function registerRecord(program: Command, globals: Globals): void {
  program
    .command('record')
    .description('write every message on a subject (or from a stream) as NDJSON; PANs become tokens first')
    .option('--subject <subject>', 'subject to record', subjectArg, DEFAULT_RECORD_OPTIONS.subject)
    .requiredOption('--out <file>', 'output file (.gz to gzip)')
    .option('--from-stream <stream>', 'read from a JetStream stream instead (with stream sequences)', nameArg)
    .option('--since <time>', 'with --from-stream: ISO time or a duration ago (e.g. 10m)', sinceArg)
    .option('--limit <n>', 'stop after n messages', integerArg(RECORD_LIMIT_BOUNDS))
    .option('--quiet', QUIET_FLAG_HELP)
    .action(async (f: { subject: string; out: string; fromStream?: string; since?: Date; limit?: number; quiet?: boolean }) => {
      const options = parseRecordOptions({ subject: f.subject, out: f.out, fromStream: f.fromStream, since: f.since, messagesMax: f.limit });
      await record(globals(), options, f.quiet);
    });
}

async function record(g: GlobalOptions, o: RecordOptions, quiet = false): Promise<void> {
  const [{ loadKeys }, { connectNats }, { openRecordingWriter }] = await Promise.all([
    import('../ledger/keys.ts'),
    import('../nats/connect.ts'),
    import('../recording/writer.ts'),
  ]);
  // PANs become tokens under the current key version (the key file or PAYSTREAM_KEY, as the processor's)
  const secret = currentKey((await loadKeys(g.data)).ring);
  const writer = await openRecordingWriter(o.out, { tokenize: (pan) => tokenizePan(pan, secret) });
  const nc = await connectNats({ url: g.nats, name: 'paystream-record', auth: g.natsAuth });
  const abort = abortOnSignals();
  let n = 0;
  let summarised = false;
  // subscribed and confirmed by the server before "recording" is said: what is published after it is in the file
  const live = o.fromStream ? undefined : nc.subscribe(o.subject);
  if (live) {
    await nc.flush();
    // before the bar, which then stays on a line of its own
    process.stderr.write(`recording ${o.subject} to ${o.out} (Ctrl-C to stop)\n`);
  }
  try {
    await withProgress({ label: 'record', unit: 'message', verb: 'recorded', total: o.messagesMax, quiet }, async (progress) => {
      const write: Write = async (line, pending) => {
        if (!writer.write(line)) await writer.drain();
        n++;
        progress.update(n, pending === undefined ? undefined : Math.min(n + pending, o.messagesMax ?? Number.POSITIVE_INFINITY));
        if (o.messagesMax && n >= o.messagesMax) abort.abort();
      };
      try {
        if (live) await recordSubject(live, write, abort.signal);
        else await recordStream(nc, o.fromStream!, o, write, abort.signal);
      } finally {
        await writer.close();
        await nc.close();
      }
      progress.finish(`to ${o.out}`);
      summarised = progress.shown;
    });
  } finally {
    if (!summarised) process.stderr.write(`recorded ${n} messages to ${o.out}\n`);
  }
}

/** Writes one line; `pending` is what the stream still holds after it (how many are left to record). */
type Write = (line: RecordLine, pending?: number) => Promise<void>;

/** Reads a stream until it ends (nothing pending), like the end of a file. */
async function recordStream(nc: NatsConnection, stream: string, o: RecordOptions, write: Write, signal: AbortSignal): Promise<void> {
  const [{ DeliverPolicy }, { toRecordLine }] = await Promise.all([import('nats'), import('../recording/line.ts')]);
  // one subject as a string: a list becomes filter_subjects, which servers before 2.10 refuse
  const opts: Record<string, unknown> = { filterSubjects: o.subject };
  if (o.since) Object.assign(opts, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: o.since.toISOString() });
  const consumer = await nc.jetstream().consumers.get(stream, opts as never);
  if ((await consumer.info()).num_pending === 0) return;
  const messages = await consumer.consume();
  signal.addEventListener('abort', () => messages.stop());
  for await (const m of messages) {
    const h = headersObject(m.headers);
    await write(toRecordLine({ subject: m.subject, data: m.data, receivedAtMs: Math.floor(m.info.timestampNanos / 1e6), streamSeq: m.info.streamSequence, ...(h ? { headers: h } : {}) }), m.info.pending);
    if (signal.aborted || m.info.pending === 0) break;
  }
  messages.stop();
}

/** Records what is published on the subject from now until Ctrl-C (or the limit). */
async function recordSubject(sub: Subscription, write: Write, signal: AbortSignal): Promise<void> {
  const { toRecordLine } = await import('../recording/line.ts');
  if (signal.aborted) sub.unsubscribe();
  else signal.addEventListener('abort', () => sub.unsubscribe());
  for await (const m of sub) {
    const h = headersObject(m.headers);
    await write(toRecordLine({ subject: m.subject, data: m.data, receivedAtMs: Date.now(), ...(h ? { headers: h } : {}) }));
  }
}

function headersObject(h: MsgHdrs | undefined): Record<string, string[]> | undefined {
  if (!h) return undefined;
  const out: Record<string, string[]> = {};
  for (const key of h.keys()) out[key] = h.values(key);
  return out;
}
