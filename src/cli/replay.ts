// `paystream replay`: a recording republished with its original pacing (scaled), or fed straight into a
// ledger with no broker (--offline).

import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { OptionsError, rateOption, withDefaults } from '../domain/option-checks.ts';
import type { OrderResult } from '../domain/types.ts';
import { DEFAULT_TOPOLOGY, NATS_NAME_TEXT, isNatsName } from '../nats/topology.ts';
import type { RecordLine } from '../recording/line.ts';
import type { Publisher } from '../../streams/publish.ts';
import { nameArg, numberOrMaxArg } from './args.ts';
import type { GlobalOptions, Globals } from './global-options.ts';
import { abortOnSignals } from './interrupts.ts';
import { CliError, print } from './output.ts';
import { type Progress, QUIET_FLAG_HELP, withProgress } from './progress.ts';

/** a replay runs at most a million times real time (faster: max) */
export const REPLAY_SPEED_MAX = 1_000_000;

export interface ReplayOptions {
  file: string;
  /** scale of the recorded pacing; Infinity: as fast as the broker or the pipeline takes it @default 1 */
  speed: number;
  /** replaces the first subject token (online), or the topology's prefix (offline) @default the recorded one */
  subjectPrefix?: string;
  /** start again at the end; later passes get fresh order ids @default false */
  loop: boolean;
  /** no broker: feed the file into the pipeline and the ledger at --data @default false */
  offline: boolean;
  /** online: send createdAt as recorded instead of moving it with the replay @default false */
  keepCreatedAt: boolean;
  /** offline: write every result to this file as NDJSON @default none */
  resultsFile?: string;
  /** offline: with the risk rules @default true */
  risk: boolean;
}

export const DEFAULT_REPLAY_OPTIONS = { speed: 1, loop: false, offline: false, keepCreatedAt: false, risk: true } as const satisfies Partial<ReplayOptions>;

/**
 * The options of `replay`, parsed: defaults, the speed within its bounds, a subject token for the prefix.
 * What only one way of replaying reads is refused for the other: results and risk rules are offline's, a
 * kept createdAt is online's.
 */
export function parseReplayOptions(partial: Partial<ReplayOptions> & Pick<ReplayOptions, 'file'>): ReplayOptions {
  const options = withDefaults<ReplayOptions>({ ...DEFAULT_REPLAY_OPTIONS, file: partial.file }, partial);
  rateOption('--speed', options.speed, REPLAY_SPEED_MAX);
  if (options.subjectPrefix !== undefined && !isNatsName(options.subjectPrefix)) throw new OptionsError(`--subject-prefix ${NATS_NAME_TEXT}`);
  if (!options.offline && options.resultsFile !== undefined) throw new OptionsError('--results writes what an offline replay decided: give --offline too');
  if (!options.offline && !options.risk) throw new OptionsError('--no-risk runs an offline replay without rules: give --offline too');
  if (options.offline && options.keepCreatedAt) throw new OptionsError('--keep-created-at is for a replay onto a broker: an offline replay keeps every recorded time');
  return options;
}

interface ReplayFlags {
  speed: number;
  subjectPrefix?: string;
  loop?: boolean;
  offline?: boolean;
  keepCreatedAt?: boolean;
  results?: string;
  risk: boolean;
  quiet?: boolean;
}

export function registerReplay(program: Command, globals: Globals): void {
  program
    .command('replay <file>')
    .description('republish a recording with its original pacing (scaled), or feed it into a ledger with no broker')
    .option('--speed <x>', '1, 10, ... or max', numberOrMaxArg(REPLAY_SPEED_MAX), DEFAULT_REPLAY_OPTIONS.speed)
    .option('--subject-prefix <prefix>', 'replace the first subject token (e.g. pay -> staging)', nameArg)
    .option('--loop', 'start again at the end (later passes get fresh order ids)')
    .option('--offline', 'no broker: feed the file straight into the pipeline and the ledger at --data')
    .option('--keep-created-at', 'online: send createdAt as recorded (by default it moves with the replay, so orders are as fresh as they were)')
    .option('--results <file>', 'with --offline: write every result as NDJSON')
    .option('--no-risk', 'with --offline: without risk rules')
    .option('--json', 'print the summary as JSON')
    .option('--quiet', QUIET_FLAG_HELP)
    .action(async (file: string, f: ReplayFlags) => {
      const g = globals();
      const options = parseReplayOptions({
        file,
        speed: f.speed,
        subjectPrefix: f.subjectPrefix,
        loop: f.loop,
        offline: f.offline,
        keepCreatedAt: f.keepCreatedAt,
        resultsFile: f.results,
        risk: f.risk,
      });
      // a recording that is not there is told before the ledger opens or NATS is tried
      await access(options.file, fsConstants.R_OK);
      if (options.offline) await replayOffline(g, options, f.quiet);
      else await replayOnline(g, options, f.quiet);
    });
}

/** Replays into the ledger at --data with no broker, in virtual time: the recording's clock is the processor's, so any speed gives the same ledger. */
async function replayOffline(g: GlobalOptions, o: ReplayOptions, quiet = false): Promise<void> {
  const [{ verifyLedger }, { recordingSource }, { parseRuntimeConfig, startRuntime }, { readRecording }, { writePrivateFile }] = await Promise.all([
    import('../ledger/verify.ts'),
    import('../nats/loadgen.ts'),
    import('../processor/launch.ts'),
    import('../recording/reader.ts'),
    import('../recording/writer.ts'),
  ]);
  const abort = abortOnSignals();
  const results: OrderResult[] = [];
  const sink: Publisher = { result: (r) => results.push(r), report: () => undefined, deadLetter: () => undefined };
  const { runtime, stats } = await withProgress(replayProgress(quiet), async (progress) => {
    await countTotal(progress, o);
    const started = await startRuntime(
      parseRuntimeConfig({
        dataDir: g.data,
        topology: { ...DEFAULT_TOPOLOGY, prefix: o.subjectPrefix ?? DEFAULT_TOPOLOGY.prefix },
        source: recordingSource(() => readRecording(o.file), { speed: o.speed, loop: o.loop, wallClock: false, signal: abort.signal, onProgress: (n) => progress.update(n) }),
        publisher: sink,
        virtualTime: true,
        ...(o.risk ? {} : { rulesPath: false as const }),
      }),
    );
    await started.processor.done.catch((error: unknown) => {
      throw new CliError(`replay failed: ${(error as Error).message}`);
    });
    progress.finish();
    return { runtime: started, stats: { ...started.processor.stats } };
  });
  const verify = await withProgress({ label: 'verify', unit: 'record', verb: 'verified', estimate: true, quiet }, async (progress) => {
    const report = await verifyLedger(runtime.store, { onProgress: (checked, estimate) => progress.update(checked, estimate) });
    progress.finish();
    return report;
  });
  await runtime.stop();
  if (o.resultsFile) await writePrivateFile(o.resultsFile, results.map((r) => JSON.stringify(r)).join('\n') + (results.length ? '\n' : ''));
  const summary = { file: path.basename(o.file), orders: stats.orders, deadLetters: stats.deadLetters, results: results.length, verify };
  print(g, summary, (s: typeof summary) => `replayed ${s.file}: ${s.orders} orders, ${s.deadLetters} dead letters; ledger ${s.verify.ok ? 'verifies' : 'HAS VIOLATIONS'}`);
  if (!verify.ok) process.exitCode = 1;
}

/** Republishes onto the broker, each message with its Nats-Msg-Id (a looped pass gets fresh ones). */
async function replayOnline(g: GlobalOptions, o: ReplayOptions, quiet = false): Promise<void> {
  const [loadgen, { connectNats }, lines, { readRecording }] = await Promise.all([
    import('../nats/loadgen.ts'),
    import('../nats/connect.ts'),
    import('../recording/line.ts'),
    import('../recording/reader.ts'),
  ]);
  const abort = abortOnSignals();
  const nc = await connectNats({ url: g.nats, name: 'paystream-replay', auth: g.natsAuth });
  try {
    const sent = await withProgress(replayProgress(quiet), async (progress) => {
      await countTotal(progress, o);
      let published = 0;
      for (let pass = 0; pass === 0 || (o.loop && !abort.signal.aborted); pass++) {
        published += await loadgen.pacedPublish(nc, readRecording(o.file), (line) => replayedMessage(line, pass, o, { ...loadgen, ...lines }), {
          speed: o.speed,
          signal: abort.signal,
          onProgress: (n) => progress.update(published + n),
        });
      }
      progress.finish();
      return published;
    });
    print(g, { sent }, (s: { sent: number }) => `replayed ${s.sent} messages`);
  } finally {
    await nc.close();
  }
}

const replayProgress = (quiet: boolean) => ({ label: 'replay', unit: 'message', verb: 'replayed', quiet });

/** The recording's length, for the bar's ETA: read once more only when a bar is shown, and not for a loop, which has no end. */
async function countTotal(progress: Progress, o: ReplayOptions): Promise<void> {
  if (progress.shown && !o.loop) progress.update(0, await countLines(o.file));
}

/** what replayedMessage takes from the publishing and recording modules, loaded with the replay */
type MessageHelpers = Pick<typeof import('../nats/loadgen.ts'), 'recordLineMsgId' | 'relabel' | 'reprefix'> &
  Pick<typeof import('../recording/line.ts'), 'payloadBytes' | 'shiftCreatedAt'>;

function replayedMessage(
  line: RecordLine,
  pass: number,
  o: ReplayOptions,
  { recordLineMsgId, relabel, reprefix, payloadBytes, shiftCreatedAt }: MessageHelpers,
): { subject: string; data: Uint8Array; msgId?: string; atMs: number } {
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
}

async function countLines(file: string): Promise<number> {
  const { readRecording } = await import('../recording/reader.ts');
  let n = 0;
  for await (const _ of readRecording(file)) n++;
  return n;
}
