// `paystream run`: the processor, with the dashboard on a terminal or headless for services.

import type { Command } from 'commander';
import { SYSTEM_ACTOR } from '../domain/actor.ts';
import { DEFAULT_FOUR_EYES_SPEC, fourEyesFromEnv } from '../domain/four-eyes.ts';
import { DEFAULT_APPLY_OPTIONS } from '../domain/apply.ts';
import { DEFAULT_TOPOLOGY } from '../nats/setup.ts';
import { type Runtime, runtimeConfig, startRuntime } from '../processor/launch.ts';
import { DASHBOARD_FRAME_MS, toSnapshots } from '../../streams/metrics.ts';
import { renderDashboard } from '../../ui/index.tsx';
import path from 'node:path';
import { DEFAULT_BUFFER_OPTIONS } from '../../streams/buffer.ts';
import { configureLog, log } from '../log.ts';
import { integerArg, nameArg, portArg, positiveArg } from './args.ts';
import { CliError, EXIT_USAGE, type GlobalOptions } from './context.ts';

/** an authorization hold lasts at most a year */
const HOLD_HOURS_MAX = 365 * 24;
/** an order waits in review at most 30 days */
const REVIEW_MINUTES_MAX = 30 * 24 * 60;

export interface RunFlags {
  headless?: boolean;
  sync?: boolean;
  metricsPort?: number;
  rules?: string;
  risk: boolean;
  streamPrefix: string;
  durable: string;
  bufferMs: number;
  bufferMax: number;
  holdHours: number;
  reviewMinutes: number;
  reviewTimeout: string;
  autoOpenMerchants: boolean;
  keepOrders?: boolean;
  fourEyesAbove?: string;
  fourEyesLapse?: string;
}

export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--headless', 'no dashboard (services, CI); prints orders/s when it ends')
    .option('--sync', 'fsync every ledger write (survives power loss; slower)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (127.0.0.1)', portArg)
    .option('--rules <file>', 'risk rules (YAML or JSON)')
    .option('--no-risk', 'run without risk rules')
    .option('--stream-prefix <name>', 'JetStream stream name prefix', nameArg, DEFAULT_TOPOLOGY.streamPrefix)
    .option('--durable <name>', 'durable consumer name', nameArg, DEFAULT_TOPOLOGY.durable)
    .option('--buffer-ms <ms>', 'how long an idle processor lets orders gather (busy, it never waits: buffers grow with load)', integerArg(0, 10_000), DEFAULT_BUFFER_OPTIONS.bufferWaitMs)
    .option('--buffer-max <n>', 'most orders in one ledger write', integerArg(1, 50_000), DEFAULT_BUFFER_OPTIONS.bufferItemsMax)
    .option('--hold-hours <h>', 'how long an authorization hold lasts', positiveArg(HOLD_HOURS_MAX), DEFAULT_APPLY_OPTIONS.authorizationHoldMs / 3600_000)
    .option('--review-minutes <m>', 'how long an order may wait in review', positiveArg(REVIEW_MINUTES_MAX), DEFAULT_APPLY_OPTIONS.reviewTimeoutMs / 60_000)
    .option('--review-timeout <action>', 'what a review timeout does: decline or approve', 'decline')
    .option('--no-auto-open-merchants', 'decline orders for merchants without an account')
    .option('--four-eyes-above <list>', `manual deposits/withdrawals above this wait for a second operator: CCY=amount,...,*=N or none (env PAYSTREAM_FOUR_EYES_ABOVE; default ${DEFAULT_FOUR_EYES_SPEC})`)
    .option('--four-eyes-lapse <duration>', 'a pending posting lapses after this (30m, 24h, 7d; env PAYSTREAM_FOUR_EYES_LAPSE; default 24h)')
    .option('--keep-orders', 'keep orders in the orders stream for 7 days (PANs sent inline included), e.g. for record --from-stream; by default each leaves once applied');
}

export function runtimeFrom(g: GlobalOptions, f: RunFlags) {
  if (f.reviewTimeout !== 'decline' && f.reviewTimeout !== 'approve') {
    throw new CliError('--review-timeout must be decline or approve', EXIT_USAGE, 'usage');
  }
  if (!Number.isInteger(f.bufferMs) || f.bufferMs < 0 || f.bufferMs > 10_000) {
    throw new CliError('--buffer-ms must be a whole number of milliseconds within 0..10000', EXIT_USAGE, 'usage');
  }
  for (const [name, value] of [['--buffer-max', f.bufferMax], ['--hold-hours', f.holdHours], ['--review-minutes', f.reviewMinutes]] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new CliError(`${name} must be a positive number`, EXIT_USAGE, 'usage');
  }
  const fourEyes = fourEyesFromEnv({
    PAYSTREAM_FOUR_EYES_ABOVE: f.fourEyesAbove ?? process.env.PAYSTREAM_FOUR_EYES_ABOVE,
    PAYSTREAM_FOUR_EYES_LAPSE: f.fourEyesLapse ?? process.env.PAYSTREAM_FOUR_EYES_LAPSE,
  });
  if (!fourEyes.ok) throw new CliError(fourEyes.message, EXIT_USAGE, 'usage');
  return runtimeConfig({
    fourEyes: fourEyes.options,
    dataDir: g.data,
    natsUrl: g.nats,
    natsAuth: g.natsAuth,
    topology: { ...DEFAULT_TOPOLOGY, prefix: g.prefix, streamPrefix: f.streamPrefix, durable: f.durable, ordersRetention: f.keepOrders ? 'limits' : 'applied' },
    sync: Boolean(f.sync),
    ...(f.risk === false ? { rulesPath: false as const } : f.rules ? { rulesPath: f.rules } : {}),
    ...(f.metricsPort !== undefined ? { metricsPort: f.metricsPort } : {}),
    buffer: { bufferWaitMs: f.bufferMs, bufferItemsMax: f.bufferMax },
    apply: {
      autoOpenMerchants: f.autoOpenMerchants,
      authorizationHoldMs: Math.round(f.holdHours * 3600_000),
      reviewTimeoutMs: Math.round(f.reviewMinutes * 60_000),
      reviewTimeoutAction: f.reviewTimeout,
    },
  });
}

/** Runs until SIGINT/SIGTERM (or `q` on the dashboard): drains, then resolves with the exit code. */
/** Signals that arrive while starting up are remembered and honoured once the runtime is up. */
export function earlySignals(): { requested(): boolean; release(): void } {
  // bin.js may have been listening since before the code loaded
  const fromBin = (globalThis as { paystreamEarlySignal?: { requested: boolean; handler: () => void } }).paystreamEarlySignal;
  let requested = fromBin?.requested ?? false;
  const onSignal = () => {
    requested = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => requested || (fromBin?.requested ?? false),
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (fromBin) {
        process.off('SIGINT', fromBin.handler);
        process.off('SIGTERM', fromBin.handler);
      }
    },
  };
}

export async function superviseRuntime(
  runtime: Runtime,
  headless: boolean,
  extraStop: () => Promise<void> = async () => undefined,
  early?: ReturnType<typeof earlySignals>,
): Promise<number> {
  const { processor } = runtime;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await extraStop();
      await runtime.stop();
    })();
    return stopping;
  };
  const onSignal = () => void stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  early?.release();
  if (early?.requested()) void stop();
  // a reload by signal is audited as paystream's own (whoever may signal the process is not known by name)
  const auditHup = (outcome: 'ok' | 'error', after: Record<string, string | number>) =>
    runtime.store
      .auditAlone({ actor: SYSTEM_ACTOR, action: 'rules.reload', params: { trigger: 'SIGHUP' }, atMs: Date.now(), outcome, ...(outcome === 'error' ? { error: 'reload_failed' } : {}), after })
      .catch((error: unknown) => log().error({ err: error }, 'could not audit the rules reload'));
  const onHup = () => {
    runtime.reloadRules().then(
      (r) => {
        log().info({ rules: r.rules }, 'rules reloaded');
        void auditHup('ok', { rules: r.rules });
      },
      (error: unknown) => {
        log().error({ err: error }, 'rules reload failed; the old rules stay in force');
        processor.metrics.alert(Date.now(), 'error', `rules reload failed: ${(error as Error).message}`);
        void auditHup('error', {});
      },
    );
  };
  process.on('SIGHUP', onHup);
  let dashboard: ReturnType<typeof renderDashboard> | undefined;
  // the terminal went away (closed window, dropped ssh): stop drawing, drain and exit instead of crashing
  let terminalGone = false;
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (terminalGone) return;
    terminalGone = true;
    log().warn({ code: error.code }, 'the terminal is gone; stopping');
    dashboard = undefined;
    void stop();
  };
  if (!headless) process.stdout.on('error', onStdoutError);
  if (!headless) {
    dashboard = renderDashboard({
      snapshots: toSnapshots(processor.metrics, Date.now, DASHBOARD_FRAME_MS),
      actions: { ...runtime.actions, quit: () => void stop() },
      operatorActions: runtime.operatorActions,
    });
  }
  log().info(
    { ledger: runtime.store.dataDir, nats: runtime.nc ? processor.options.natsUrl : 'offline', metricsPort: runtime.metricsPort, pid: process.pid },
    'paystream running',
  );
  let failed = false;
  await processor.done.catch((error: unknown) => {
    failed = true;
    process.stderr.write(`processor stopped: ${(error as Error).message}\n`);
  });
  await stop();
  try {
    dashboard?.unmount();
  } catch {
    // the terminal may already be gone
  }
  // the listener stays: Ink writes once more on exit, and a dead terminal must not turn that into a crash
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onHup);
  const s = processor.stats;
  log().info({ orders: s.orders, deadLetters: s.deadLetters, ordersPerSecond: Math.round(processor.ordersPerSecond()) }, 'paystream stopped');
  process.stderr.write(
    `processed ${s.orders} orders (${s.deadLetters} dead letters) in ${((Date.now() - s.startedAtMs) / 1000).toFixed(1)} s: ` +
      `${Math.round(processor.ordersPerSecond())} orders/s\n`,
  );
  return failed ? 1 : 0;
}

export function registerRun(program: Command, globals: () => GlobalOptions): void {
  addRunOptions(program.command('run').description('consume payment orders from NATS JetStream into the ledger')).action(
    async (f: RunFlags) => {
      const g = globals();
      // every flag checked before anything is written, opened or connected
      const config = runtimeFrom(g, f);
      const headless = Boolean(f.headless) || !process.stdout.isTTY;
      configureLog(headless ? 'stderr' : { file: path.join(g.data, 'paystream.log') });
      const early = earlySignals();
      const runtime = await startRuntime(config);
      process.exitCode = await superviseRuntime(runtime, headless, undefined, early);
    },
  );
}
