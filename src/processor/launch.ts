// The imperative shell of `paystream run`: opens the ledger, connects NATS, loads the rules, starts the
// processor, the request/reply service, the metrics endpoint, and stops them all in the right order.

import type { NatsConnection, Service } from 'nats';
import type { Observable } from 'rxjs';
import { ORDER_AGE_MAX_MS } from '../domain/order-limits.ts';
import { RiskEngine } from '../domain/risk/engine.ts';
import { LedgerApi } from '../ledger/api.ts';
import { LedgerStore } from '../ledger/store.ts';
import { startMetricsServer } from '../metrics/prometheus.ts';
import { startService } from '../nats/service.ts';
import { connectNats, maskUrl } from '../nats/connect.ts';
import type { DashboardActions, OperatorActionView } from '../../ui/types.ts';
import { dashboardActions } from './dashboard-actions.ts';
import { makeOps } from './operations.ts';
import { operatorActions } from './audit-feed.ts';
import { parseProcessorOptions } from './options.ts';
import { Processor } from './processor.ts';
import { loadRules } from './rules-file.ts';
import type { RuntimeConfig } from './runtime-config.ts';

export { DEFAULT_RULES_PATH, DEFAULT_RUNTIME_CONFIG, type RuntimeConfig, parseRuntimeConfig } from './runtime-config.ts';

/** how far back the risk state is rebuilt from (daily limits need a day): as old as an order may be */
export const RISK_HISTORY_MS = ORDER_AGE_MAX_MS;

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
    if (nc) {
      await nc.drain().catch(() => undefined);
      // a broker already gone (the demo's own, stopped first) leaves the client reconnecting, which would keep
      // the process from ending: closed, whatever drain did
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
    await store.close();
  };
}
