// The configuration of `paystream run` (and of the demo and offline replays): its defaults and its one parse.
// Pure but for the rules file's existence, apart from what starts the runtime (launch.ts), so `run` checks its
// flags, and shows them, without loading the processor, NATS or LevelDB.

import { existsSync } from 'node:fs';
import type { Observable } from 'rxjs';
import { type ApplyOptions, DEFAULT_APPLY_OPTIONS } from '../domain/apply.ts';
import { type BatchLimits, DEFAULT_BATCH_LIMITS, parseBatchLimits } from '../domain/batch-limits.ts';
import type { FourEyesOptions } from '../domain/four-eyes.ts';
import { OptionsError, wholeOption, withDefaults } from '../domain/option-checks.ts';
import { METRICS_PORT_BOUNDS } from '../metrics/port.ts';
import type { NatsAuth } from '../nats/connect.ts';
import { DEFAULT_NATS_URL, NO_NATS_AUTH } from '../nats/client-options.ts';
import { type Topology, DEFAULT_TOPOLOGY, parseTopology } from '../nats/topology.ts';
import { packageFile } from '../package-root.ts';
import { type BufferOptions, DEFAULT_BUFFER_OPTIONS, parseBufferOptions } from '../../streams/buffer-options.ts';
import type { Publisher } from '../../streams/publish.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { parseApplyOptions } from './apply-options.ts';

/** The default rule set shipped in data/risk.yaml. */
export const DEFAULT_RULES_PATH = packageFile('data/risk.yaml');

export interface RuntimeConfig {
  dataDir: string;
  /** NATS server URL(s); credentials in it are used to connect and shown masked @default DEFAULT_NATS_URL */
  natsUrl: string;
  /** NATS credentials and TLS (parseNatsAuth) @default NO_NATS_AUTH */
  natsAuth: NatsAuth;
  /** @default DEFAULT_TOPOLOGY */
  topology: Topology;
  /** fsync every ledger write @default false */
  sync: boolean;
  /** a rules file; `false` runs without risk rules @default data/risk.yaml when it exists, else false */
  rulesPath: string | false;
  /** serve Prometheus metrics on this port of 127.0.0.1 (0: a free one) @default none */
  metricsPort?: number;
  /** @default DEFAULT_BUFFER_OPTIONS */
  buffer: BufferOptions;
  /** @default DEFAULT_APPLY_OPTIONS */
  apply: ApplyOptions;
  /** @default DEFAULT_BATCH_LIMITS */
  batches: BatchLimits;
  /** offline replay instead of the broker */
  source?: Observable<InboundMessage>;
  publisher?: Publisher;
  /** each order's time is its recorded arrival (offline replay) @default false */
  virtualTime: boolean;
  /** @default Date.now */
  clock: () => number;
  /** four eyes on manual deposits and withdrawals @default DEFAULT_FOUR_EYES (api.ts) */
  fourEyes?: FourEyesOptions;
}

type Optional = 'dataDir' | 'metricsPort' | 'source' | 'publisher' | 'fourEyes' | 'rulesPath';

export const DEFAULT_RUNTIME_CONFIG: Readonly<Omit<RuntimeConfig, Optional>> = Object.freeze({
  natsUrl: DEFAULT_NATS_URL,
  natsAuth: NO_NATS_AUTH,
  topology: DEFAULT_TOPOLOGY,
  sync: false,
  buffer: DEFAULT_BUFFER_OPTIONS,
  apply: DEFAULT_APPLY_OPTIONS,
  batches: DEFAULT_BATCH_LIMITS,
  virtualTime: false,
  clock: Date.now,
});

/**
 * The runtime's configuration, parsed before anything is opened: defaults for what is missing, each nested
 * group through its own parse, the metrics port within its bounds, a rules path that names a file.
 */
export function parseRuntimeConfig(partial: Partial<RuntimeConfig> & Pick<RuntimeConfig, 'dataDir'>): RuntimeConfig {
  const rulesPath = existsSync(DEFAULT_RULES_PATH) ? DEFAULT_RULES_PATH : false;
  const config: RuntimeConfig = withDefaults({ ...DEFAULT_RUNTIME_CONFIG, dataDir: partial.dataDir, rulesPath }, partial);
  if (typeof config.dataDir !== 'string' || config.dataDir === '') throw new OptionsError('dataDir must name the ledger directory');
  if (config.rulesPath === '') throw new OptionsError('rulesPath must name a rules file, or be false');
  if (config.metricsPort !== undefined) wholeOption('metricsPort', config.metricsPort, METRICS_PORT_BOUNDS);
  config.topology = parseTopology(config.topology);
  config.buffer = parseBufferOptions(config.buffer);
  config.apply = parseApplyOptions(config.apply);
  config.batches = parseBatchLimits(config.batches);
  return config;
}
