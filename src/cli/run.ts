// `paystream run`: the processor, with the dashboard on a terminal or headless for services.

import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_FOUR_EYES_SPEC } from '../domain/four-eyes.ts';
import { DEFAULT_APPLY_OPTIONS } from '../domain/apply.ts';
import { OptionsError } from '../domain/option-checks.ts';
import { DEFAULT_TOPOLOGY } from '../nats/topology.ts';
import { AUTHORIZATION_HOLD_MS_BOUNDS, REVIEW_TIMEOUT_ACTIONS, REVIEW_TIMEOUT_MS_BOUNDS } from '../processor/apply-options.ts';
import { type RuntimeConfig, parseRuntimeConfig } from '../processor/runtime-config.ts';
import { BUFFER_ITEMS_BOUNDS, BUFFER_WAIT_MS_BOUNDS, DEFAULT_BUFFER_OPTIONS } from '../../streams/buffer-options.ts';
import { choiceArg, integerArg, nameArg, portArg, positiveArg } from './args.ts';
import { type GlobalOptions, parseFourEyesOptions } from './global-options.ts';
import { earlySignals } from './interrupts.ts';


const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** The flags of `run`, as commander gives them. */
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

function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--headless', 'no dashboard (services, CI); prints orders/s when it ends')
    .option('--sync', 'fsync every ledger write (survives power loss; slower)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (127.0.0.1)', portArg)
    .option('--rules <file>', 'risk rules (YAML or JSON)')
    .option('--no-risk', 'run without risk rules')
    .option('--stream-prefix <name>', 'JetStream stream name prefix', nameArg, DEFAULT_TOPOLOGY.streamPrefix)
    .option('--durable <name>', 'durable consumer name', nameArg, DEFAULT_TOPOLOGY.durable)
    .option('--buffer-ms <ms>', 'how long an idle processor lets orders gather (busy, it never waits: buffers grow with load)', integerArg(BUFFER_WAIT_MS_BOUNDS), DEFAULT_BUFFER_OPTIONS.bufferWaitMs)
    .option('--buffer-max <n>', 'most orders in one ledger write', integerArg(BUFFER_ITEMS_BOUNDS), DEFAULT_BUFFER_OPTIONS.bufferItemsMax)
    .option('--hold-hours <h>', 'how long an authorization hold lasts', positiveArg(AUTHORIZATION_HOLD_MS_BOUNDS.max / HOUR_MS), DEFAULT_APPLY_OPTIONS.authorizationHoldMs / HOUR_MS)
    .option('--review-minutes <m>', 'how long an order may wait in review', positiveArg(REVIEW_TIMEOUT_MS_BOUNDS.max / MINUTE_MS), DEFAULT_APPLY_OPTIONS.reviewTimeoutMs / MINUTE_MS)
    .option('--review-timeout <action>', 'what a review timeout does: decline or approve', choiceArg(REVIEW_TIMEOUT_ACTIONS), DEFAULT_APPLY_OPTIONS.reviewTimeoutAction)
    .option('--no-auto-open-merchants', 'decline orders for merchants without an account')
    .option('--four-eyes-above <list>', `manual deposits/withdrawals above this wait for a second operator: CCY=amount,...,*=N or none (env PAYSTREAM_FOUR_EYES_ABOVE; default ${DEFAULT_FOUR_EYES_SPEC})`)
    .option('--four-eyes-lapse <duration>', 'a pending posting lapses after this (30m, 24h, 7d; env PAYSTREAM_FOUR_EYES_LAPSE; default 24h)')
    .option('--keep-orders', 'keep orders in the orders stream for 7 days (PANs sent inline included), e.g. for record --from-stream; by default each leaves once applied');
}

/**
 * The runtime configuration of `run`, from the global options and the flags, parsed by parseRuntimeConfig
 * (the bounds the flag parsers check are its own); the review timeout's action and four eyes are checked
 * here, as no flag parser reads them.
 */
export function parseRunOptions(g: GlobalOptions, f: RunFlags): RuntimeConfig {
  if (!(REVIEW_TIMEOUT_ACTIONS as readonly string[]).includes(f.reviewTimeout)) throw new OptionsError('--review-timeout must be decline or approve');
  const fourEyes = parseFourEyesOptions(process.env, { above: f.fourEyesAbove, lapse: f.fourEyesLapse });
  return parseRuntimeConfig({
    fourEyes,
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
      authorizationHoldMs: Math.round(f.holdHours * HOUR_MS),
      reviewTimeoutMs: Math.round(f.reviewMinutes * MINUTE_MS),
      reviewTimeoutAction: f.reviewTimeout as RuntimeConfig['apply']['reviewTimeoutAction'],
    },
  });
}

export function registerRun(program: Command, globals: () => GlobalOptions): void {
  addRunOptions(program.command('run').description('consume payment orders from NATS JetStream into the ledger')).action(
    async (f: RunFlags) => {
      const g = globals();
      // every flag checked before anything is written, opened or connected
      const config = parseRunOptions(g, f);
      const early = earlySignals();
      // the rules, the processor, NATS, LevelDB and the log: loaded once the flags are known to be good
      const [{ loadRules }, { configureLog }, { startRuntime }, { superviseRuntime }] = await Promise.all([
        import('../processor/rules-file.ts'),
        import('../log.ts'),
        import('../processor/launch.ts'),
        import('./supervise.ts'),
      ]);
      // a missing or broken rules file is told before the ledger opens or NATS is tried (startRuntime reads it again)
      if (config.rulesPath) {
        await access(config.rulesPath, fsConstants.R_OK);
        await loadRules(config.rulesPath);
      }
      const headless = Boolean(f.headless) || !process.stdout.isTTY;
      configureLog(headless ? 'stderr' : { file: path.join(g.data, 'paystream.log') });
      const runtime = await startRuntime(config);
      process.exitCode = await superviseRuntime(runtime, headless, undefined, early);
    },
  );
}
