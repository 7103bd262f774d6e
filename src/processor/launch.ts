// The imperative shell of `paystream run`: opens the ledger, connects NATS, loads the rules, starts the
// processor, the request/reply service, the metrics endpoint, and stops them all in the right order.

import { existsSync } from 'node:fs';
import type { NatsConnection, Service } from 'nats';
import type { Observable } from 'rxjs';
import type { FourEyesOptions } from '../domain/four-eyes.ts';
import { type ApplyOptions, DEFAULT_APPLY_OPTIONS } from '../domain/apply.ts';
import { OptionsError, wholeOption, withDefaults } from '../domain/option-checks.ts';
import { ORDER_AGE_MAX_MS } from '../domain/order.ts';
import { RiskEngine } from '../domain/risk/engine.ts';
import { LedgerApi } from '../ledger/api.ts';
import { LedgerStore } from '../ledger/store.ts';
import { METRICS_PORT_BOUNDS, startMetricsServer } from '../metrics/prometheus.ts';
import { startService } from '../nats/service.ts';
import { type NatsAuth, DEFAULT_NATS_URL, NO_NATS_AUTH, connectNats, maskUrl } from '../nats/connect.ts';
import { type Topology, DEFAULT_TOPOLOGY, parseTopology } from '../nats/setup.ts';
import { type BufferOptions, DEFAULT_BUFFER_OPTIONS, parseBufferOptions } from '../../streams/buffer.ts';
import type { Publisher } from '../../streams/publish.ts';
import type { InboundMessage } from '../../streams/types.ts';
import type { DashboardActions, OperatorActionView } from '../../ui/types.ts';
import { dashboardActions } from './dashboard-actions.ts';
import { makeOps } from './operations.ts';
import { operatorActions } from './audit-feed.ts';
import { parseApplyOptions, parseProcessorOptions } from './options.ts';
import { Processor } from './processor.ts';
import { type BatchLimits, DEFAULT_BATCH_LIMITS, parseBatchLimits } from '../domain/batch-limits.ts';
import { loadRules } from './rules-file.ts';
import { packageFile } from '../package-root.ts';

/** The default rule set shipped in data/risk.yaml. */
export const DEFAULT_RULES_PATH = packageFile('data/risk.yaml');

/** how far back the risk state is rebuilt from (daily limits need a day): as old as an order may be */
export const RISK_HISTORY_MS = ORDER_AGE_MAX_MS;

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


export interface Runtime {
  store: LedgerStore;
  nc?: NatsConnection;
  processor: Processor;
  service?: Service;
  risk?: RiskEngine;
  metricsPort?: number;
  actions: Omit<DashboardActions, 'quit'>;
  /** the newest audit entries, for the dashboard */
  operatorActions: Observable<OperatorActionView[]>;
  reloadRules(): Promise<{ rules: number }>;
  stop(): Promise<void>;
}

/**
 * Starts everything a config names, in order (ledger, NATS, rules, processor, service, metrics endpoint);
 * whatever started is stopped again when a later step fails. The config is taken as parseRuntimeConfig
 * gives it.
 */
export async function startRuntime(config: RuntimeConfig): Promise<Runtime> {
  const store = await openLedger(config);
  let nc: NatsConnection | undefined;
  try {
    if (!config.source) nc = await connectNats({ url: config.natsUrl, name: 'paystream-processor', auth: config.natsAuth });
    const risk = config.rulesPath ? await loadRiskEngine(store, config.rulesPath, config.clock) : undefined;
    const processor = new Processor(processorOptionsFor(config, store, nc, risk));
    const reloadRules = rulesReloader(config, processor, risk);
    const api = new LedgerApi(store, config.clock, config.fourEyes);
    const ops = makeOps({ api, processor, applyOptions: config.apply, reloadRules, clock: config.clock });
    await processor.start();
    const service = nc ? await startService(nc, ops, config.topology) : undefined;
    const metricsServer =
      config.metricsPort !== undefined ? await startMetricsServer(processor.metrics, config.metricsPort, '127.0.0.1', { clock: config.clock }) : undefined;
    const runtime: Runtime = {
      store,
      operatorActions: operatorActions(store),
      processor,
      actions: dashboardActions(api, store, ops),
      reloadRules,
      stop: stopInOrder(processor, service, metricsServer, nc, store),
    };
    if (nc) runtime.nc = nc;
    if (service) runtime.service = service;
    if (risk) runtime.risk = risk;
    if (metricsServer) runtime.metricsPort = metricsServer.port;
    return runtime;
  } catch (error) {
    await nc?.close().catch(() => undefined);
    await store.close();
    throw error;
  }
}

function openLedger(config: RuntimeConfig): Promise<LedgerStore> {
  return LedgerStore.open(config.dataDir, {
    sync: config.sync,
    // the lock holder's file names the URL masked: a CLI that finds it connects with its own credentials
    owner: { command: 'paystream run', ...(config.source ? {} : { natsUrl: maskUrl(config.natsUrl), servicePrefix: config.topology.prefix }) },
  });
}

/** The rules, with their state (windows, averages, daily spend) rebuilt from what the ledger saw, so a restart does not change decisions. */
async function loadRiskEngine(store: LedgerStore, rulesPath: string, clock: () => number): Promise<RiskEngine> {
  const now = clock();
  const history = await store.riskHistory(now - RISK_HISTORY_MS);
  return RiskEngine.fromHistory(
    await loadRules(rulesPath),
    history.map(({ record, atMs }) => ({ order: record.order, result: record.result, atMs, ...(record.accountId ? { accountId: record.accountId } : {}) })),
    now,
  );
}

function processorOptionsFor(config: RuntimeConfig, store: LedgerStore, nc: NatsConnection | undefined, risk: RiskEngine | undefined) {
  return parseProcessorOptions({
    store,
    ...(nc ? { nc } : {}),
    // shown on the dashboard, in stats and logs: never with its credentials
    natsUrl: maskUrl(config.natsUrl),
    topology: config.topology,
    buffer: config.buffer,
    apply: config.apply,
    batches: config.batches,
    clock: config.clock,
    virtualTime: config.virtualTime,
    ...(risk ? { risk } : {}),
    ...(config.source ? { source: config.source } : {}),
    ...(config.publisher ? { publisher: config.publisher } : {}),
  });
}

function rulesReloader(config: RuntimeConfig, processor: Processor, risk: RiskEngine | undefined): () => Promise<{ rules: number }> {
  const rulesPath = config.rulesPath;
  return async () => {
    if (!risk || !rulesPath) throw new Error('this processor runs without risk rules');
    const rules = await loadRules(rulesPath);
    risk.reload(rules);
    processor.metrics.alert(config.clock(), 'rule', `rules reloaded from ${rulesPath}`);
    return { rules: rules.rules.length };
  };
}

/** Stops once, in order: the processor drains, then the service, the metrics endpoint, NATS and the ledger close. */
function stopInOrder(
  processor: Processor,
  service: Service | undefined,
  metricsServer: { close(): Promise<void> } | undefined,
  nc: NatsConnection | undefined,
  store: LedgerStore,
): () => Promise<void> {
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    await processor.drain();
    await service?.stop().catch(() => undefined);
    await metricsServer?.close();
    if (nc) await nc.drain().catch(() => undefined);
    await store.close();
  };
}
