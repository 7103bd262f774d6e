// `paystream record | replay | generate | batch submit`: developer tools around the wire contract.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DeliverPolicy, type MsgHdrs } from 'nats';
import { tokenizePan } from '../domain/cards.ts';
import { BatchFileError, parseBatchFile } from '../domain/batchfile.ts';
import { DEMO_SEED, demoCardCurrency, demoCardPans, demoMerchants } from '../domain/generate.ts';
import { currentKey } from '../domain/keys.ts';
import { loadKeys } from '../ledger/keys.ts';
import { verifyLedger } from '../ledger/verify.ts';
import { pacedPublish, publishGenerated, recordLineMsgId, recordingSource, relabel, reprefix } from '../nats/loadgen.ts';
import { connectNats, DEFAULT_TOPOLOGY } from '../nats/setup.ts';
import { runtimeConfig, startRuntime } from '../processor/launch.ts';
import { readRecording } from '../recording/reader.ts';
import { openRecordingWriter, writePrivateFile } from '../recording/writer.ts';
import { payloadBytes, shiftCreatedAt, toRecordLine } from '../recording/line.ts';
import type { Publisher } from '../../streams/publish.ts';
import type { OrderResult } from '../domain/types.ts';
import { integerArg, nameArg, numberOrMaxArg, parseDurationMs, seedArg, shareArg, sinceArg, sourceArg } from './args.ts';
import { CliError, EXIT_USAGE, type GlobalOptions, print } from './context.ts';
import { registerDemo } from './demo.ts';

type Globals = () => GlobalOptions;

/** replay and generate speeds: up to a million times real time / orders a second */
const RATE_MAX = 1_000_000;

function headersObject(h: MsgHdrs | undefined): Record<string, string[]> | undefined {
  if (!h) return undefined;
  const out: Record<string, string[]> = {};
  for (const key of h.keys()) out[key] = h.values(key);
  return out;
}

/** A one-line progress report on a terminal (messages, rate, ETA), nothing when piped. */
function progressLine(total: number | undefined) {
  const started = Date.now();
  return (sent: number) => {
    if (!process.stderr.isTTY) return;
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = sent / seconds;
    const eta = total && rate > 0 ? ` ETA ${Math.max(0, (total - sent) / rate).toFixed(0)} s` : '';
    process.stderr.write(`\r${sent}${total ? `/${total}` : ''} messages  ${Math.round(rate)}/s${eta}   `);
  };
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const _ of readRecording(file)) n++;
  return n;
}

/** Interrupts: the first Ctrl-C stops cleanly. */
function abortOnSignals(): AbortController {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return controller;
}

export function registerTools(program: Command, globals: Globals): void {
  program
    .command('record')
    .description('write every message on a subject (or from a stream) as NDJSON; PANs become tokens first')
    .option('--subject <subject>', 'subject to record', 'pay.>')
    .requiredOption('--out <file>', 'output file (.gz to gzip)')
    .option('--from-stream <stream>', 'read from a JetStream stream instead (with stream sequences)')
    .option('--since <time>', 'with --from-stream: ISO time or a duration ago (e.g. 10m)', sinceArg)
    .option('--limit <n>', 'stop after n messages', integerArg(1, 1_000_000_000))
    .action(async (o: { subject: string; out: string; fromStream?: string; since?: Date; limit?: number }) => {
      const g = globals();
      // PANs become tokens under the current key version (the key file or PAYSTREAM_KEY, as the processor's)
      const secret = currentKey((await loadKeys(g.data)).ring);
      const writer = await openRecordingWriter(o.out, { tokenize: (pan) => tokenizePan(pan, secret) });
      const nc = await connectNats({ url: g.nats, name: 'paystream-record', auth: g.natsAuth });
      const abort = abortOnSignals();
      let n = 0;
      const write = async (line: Parameters<typeof writer.write>[0]) => {
        if (!writer.write(line)) await writer.drain();
        n++;
        if (o.limit && n >= o.limit) abort.abort();
      };
      try {
        if (o.fromStream) {
          // one subject as a string: a list becomes filter_subjects, which servers before 2.10 refuse
          const opts: Record<string, unknown> = { filterSubjects: o.subject };
          if (o.since) {
            const at = o.since;
            Object.assign(opts, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: at.toISOString() });
          }
          const consumer = await nc.jetstream().consumers.get(o.fromStream, opts as never);
          // reading a stream ends where the stream ends (nothing pending), like the end of a file
          if ((await consumer.info()).num_pending > 0) {
            const messages = await consumer.consume();
            abort.signal.addEventListener('abort', () => messages.stop());
            for await (const m of messages) {
              const h = headersObject(m.headers);
              await write(toRecordLine({ subject: m.subject, data: m.data, receivedAtMs: Math.floor(m.info.timestampNanos / 1e6), streamSeq: m.info.streamSequence, ...(h ? { headers: h } : {}) }));
              if (abort.signal.aborted || m.info.pending === 0) break;
            }
            messages.stop();
          }
        } else {
          const sub = nc.subscribe(o.subject);
          abort.signal.addEventListener('abort', () => sub.unsubscribe());
          process.stderr.write(`recording ${o.subject} to ${o.out} (Ctrl-C to stop)\n`);
          for await (const m of sub) {
            const h = headersObject(m.headers);
            await write(toRecordLine({ subject: m.subject, data: m.data, receivedAtMs: Date.now(), ...(h ? { headers: h } : {}) }));
          }
        }
      } finally {
        await writer.close();
        await nc.close();
        process.stderr.write(`recorded ${n} messages to ${o.out}\n`);
      }
    });

  program
    .command('replay <file>')
    .description('republish a recording with its original pacing (scaled), or feed it into a ledger with no broker')
    .option('--speed <x>', '1, 10, ... or max', numberOrMaxArg(RATE_MAX), 1)
    .option('--subject-prefix <prefix>', 'replace the first subject token (e.g. pay -> staging)', nameArg)
    .option('--loop', 'start again at the end (later passes get fresh order ids)')
    .option('--offline', 'no broker: feed the file straight into the pipeline and the ledger at --data')
    .option('--keep-created-at', 'online: send createdAt as recorded (by default it moves with the replay, so orders are as fresh as they were)')
    .option('--results <file>', 'with --offline: write every result as NDJSON')
    .option('--no-risk', 'with --offline: without risk rules')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, o: { speed: number; subjectPrefix?: string; loop?: boolean; offline?: boolean; keepCreatedAt?: boolean; results?: string; risk: boolean }) => {
      const g = globals();
      const speed = o.speed;
      const total = o.loop ? undefined : await countLines(file);
      const progress = progressLine(total);
      const abort = abortOnSignals();
      if (o.offline) {
        const results: OrderResult[] = [];
        const sink: Publisher = { result: (r) => results.push(r), report: () => undefined, deadLetter: () => undefined };
        // virtual time: the recording's clock is the processor's, so any speed gives the same ledger
        const runtime = await startRuntime(
          runtimeConfig({
            dataDir: g.data,
            topology: { ...DEFAULT_TOPOLOGY, prefix: o.subjectPrefix ?? DEFAULT_TOPOLOGY.prefix },
            source: recordingSource(() => readRecording(file), { speed, loop: Boolean(o.loop), wallClock: false, signal: abort.signal, onProgress: progress }),
            publisher: sink,
            virtualTime: true,
            ...(o.risk === false ? { rulesPath: false as const } : {}),
          }),
        );
        await runtime.processor.done.catch((error: unknown) => {
          throw new CliError(`replay failed: ${(error as Error).message}`);
        });
        const stats = { ...runtime.processor.stats };
        const verify = await verifyLedger(runtime.store);
        await runtime.stop();
        if (o.results) await writePrivateFile(o.results, results.map((r) => JSON.stringify(r)).join('\n') + (results.length ? '\n' : ''));
        if (process.stderr.isTTY) process.stderr.write('\n');
        const summary = { file: path.basename(file), orders: stats.orders, deadLetters: stats.deadLetters, results: results.length, verify };
        print(g, summary, (s: typeof summary) => `replayed ${s.file}: ${s.orders} orders, ${s.deadLetters} dead letters; ledger ${s.verify.ok ? 'verifies' : 'HAS VIOLATIONS'}`);
        if (!verify.ok) process.exitCode = 1;
        return;
      }
      const nc = await connectNats({ url: g.nats, name: 'paystream-replay', auth: g.natsAuth });
      try {
        let sent = 0;
        for (let pass = 0; pass === 0 || (o.loop && !abort.signal.aborted); pass++) {
          sent += await pacedPublish(
            nc,
            readRecording(file),
            (line) => {
              let payload = pass > 0 ? relabel(line.payload, pass) : line.payload;
              if (!o.keepCreatedAt) payload = shiftCreatedAt(payload, Date.now() - line.receivedAtMs);
              const out: { subject: string; data: Uint8Array; msgId?: string; atMs: number } = {
                subject: reprefix(line.subject, o.subjectPrefix),
                data: line.payloadBase64 === undefined ? new TextEncoder().encode(payload) : payloadBytes(line),
                atMs: line.receivedAtMs,
              };
              const msgId = recordLineMsgId(line);
              if (msgId) out.msgId = pass > 0 ? `${msgId}L${pass}` : msgId;
              return out;
            },
            { speed, signal: abort.signal, onProgress: (n) => progress(sent + n) },
          );
        }
        if (process.stderr.isTTY) process.stderr.write('\n');
        print(g, { sent }, (s: { sent: number }) => `replayed ${s.sent} messages`);
      } finally {
        await nc.close();
      }
    });

  program
    .command('generate')
    .description('publish realistic, deterministic traffic (cards from `paystream seed`)')
    .option('--rate <n>', 'orders per second, or max', numberOrMaxArg(RATE_MAX), 2000)
    .option('--duration <d>', 'how long (e.g. 60s, 5m)', parseDurationMs, 60_000)
    .option('--cards <n>', 'cards (the first N seeded ones)', integerArg(1, 10_000_000), 500)
    .option('--merchants <n>', 'merchants', integerArg(1, 100_000), 60)
    .option('--seed <n>', 'seed (same seed, same traffic)', seedArg, 1)
    .option('--card-seed <n>', 'seed the cards were created with', seedArg, DEMO_SEED)
    .option('--trouble <share>', 'share of bad payloads, duplicates, stale orders, fraud bursts', shareArg, 0.02)
    .option('--json', 'print the summary as JSON')
    .action(async (o: { rate: number; duration: number; cards: number; merchants: number; seed: number; cardSeed: number; trouble: number }) => {
      const g = globals();
      const rate = o.rate;
      const durationMs = o.duration;
      const secret = currentKey((await loadKeys(g.data)).ring);
      const cards = demoCardPans(o.cards, o.cardSeed).map((pan, i) => ({ token: tokenizePan(pan, secret), currency: demoCardCurrency(i) }));
      const nc = await connectNats({ url: g.nats, name: 'paystream-generate', auth: g.natsAuth });
      const abort = abortOnSignals();
      const progress = progressLine(Number.isFinite(rate) ? Math.round((rate * durationMs) / 1000) : undefined);
      try {
        const logicalRate = Number.isFinite(rate) ? rate : 10_000;
        const stopAt = setTimeout(() => abort.abort(), durationMs);
        const sent = await publishGenerated(
          nc,
          g.prefix,
          { seed: o.seed, cards, merchants: demoMerchants(o.merchants), startMs: Date.now(), troubleShare: o.trouble, ratePerSecond: logicalRate, durationMs, idPrefix: `g${o.seed.toString(36)}${Date.now().toString(36)}` },
          { speed: Number.isFinite(rate) ? 1 : Number.POSITIVE_INFINITY, signal: abort.signal, onProgress: (n) => progress(n) },
        );
        clearTimeout(stopAt);
        if (process.stderr.isTTY) process.stderr.write('\n');
        print(g, { sent }, (s: { sent: number }) => `published ${s.sent} messages`);
      } finally {
        await nc.close();
      }
    });

  const batch = program.command('batch').description('submit batch payment files');
  batch
    .command('submit <file>')
    .description('publish a batch from CSV, NDJSON or ISO 20022 pain.001 XML, and wait for its report')
    .option('--id <batchId>', 'batch id (default: from the file)')
    .option('--mode <mode>', 'atomic or independent')
    .option('--currency <ccy>', 'batch currency when the file does not say')
    .option('--type <type>', 'order type for lines without one', 'payout')
    .option('--count <n>', 'expected number of orders (checked before sending)', integerArg(1, 1_000_000))
    .option('--control-sum <amount>', 'expected sum (checked before sending)')
    .option('--source <token>', 'publish as this source: the header on <prefix>.batches.<source>.<id>, the orders on <prefix>.orders.<source> (the batch then takes orders from this source only)', sourceArg)
    .option('--no-wait', 'return once published')
    .option('--timeout <d>', 'how long to wait for the report', parseDurationMs, 60_000)
    .option('--json', 'print the report as JSON')
    .action(async (file: string, o: { id?: string; mode?: string; currency?: string; type: string; count?: number; controlSum?: string; source?: string; wait: boolean; timeout: number }) => {
      const g = globals();
      if (o.mode && o.mode !== 'atomic' && o.mode !== 'independent') throw new CliError('--mode must be atomic or independent', EXIT_USAGE, 'usage');
      let parsed: ReturnType<typeof parseBatchFile>;
      try {
        parsed = parseBatchFile(await readFile(file, 'utf8'), {
          createdAt: new Date().toISOString(),
          fileName: file,
          defaultType: o.type as never,
          ...(o.id ? { batchId: o.id } : {}),
          ...(o.mode ? { mode: o.mode as 'atomic' } : {}),
          ...(o.currency ? { currency: o.currency } : {}),
          ...(o.count !== undefined ? { expectedCount: o.count } : {}),
          ...(o.controlSum ? { expectedControlSum: o.controlSum } : {}),
        });
      } catch (error) {
        if (error instanceof BatchFileError) throw new CliError(`${file}: ${error.message}`);
        throw error;
      }
      const nc = await connectNats({ url: g.nats, name: 'paystream-batch', auth: g.natsAuth });
      try {
        const id = parsed.header.id;
        const reportSub = nc.subscribe(`${g.prefix}.reports.${id}`, { max: 1 });
        const enc = new TextEncoder();
        await pacedPublish(
          nc,
          [
            { subject: o.source ? `${g.prefix}.batches.${o.source}.${id}` : `${g.prefix}.batches.${id}`, payload: parsed.header, msgId: `batch-${id}` },
            ...parsed.orders.map((order) => ({ subject: `${g.prefix}.orders.${o.source ?? 'batch'}`, payload: order, msgId: order.id })),
          ],
          (m) => ({ subject: m.subject, data: enc.encode(JSON.stringify(m.payload)), msgId: m.msgId, atMs: 0 }),
          { speed: Number.POSITIVE_INFINITY },
        );
        if (!o.wait) {
          print(g, { batchId: id, published: parsed.orders.length }, (s: { batchId: string; published: number }) => `published batch ${s.batchId} (${s.published} orders)`);
          return;
        }
        const timeoutMs = o.timeout;
        const timer = setTimeout(() => reportSub.unsubscribe(), timeoutMs);
        let report: { status?: string; perStatus?: Record<string, { count: number; amount: string }>; reason?: string } | undefined;
        for await (const m of reportSub) report = m.json();
        clearTimeout(timer);
        if (!report) throw new CliError(`no report for batch ${id} within ${o.timeout / 1000} s: is a processor running?`);
        print(g, report, (r: NonNullable<typeof report>) =>
          `batch ${id}: ${r.status}${r.reason ? ` (${r.reason})` : ''}\n${Object.entries(r.perStatus ?? {}).map(([s, t]) => `  ${s.padEnd(10)} ${String(t.count).padStart(6)}  ${t.amount}`).join('\n')}`,
        );
        if (report.status !== 'completed') process.exitCode = 1;
      } finally {
        await nc.close();
      }
    });

  registerDemo(program, globals);
}
