// The imperative shell of `paystream run`: opens the ledger, connects NATS, loads the rules, starts the
// processor, the request/reply service, the metrics endpoint, and stops them all in the right order.

import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection, Service } from 'nats';
import type { Observable } from 'rxjs';
import { localActor } from '../domain/actor.ts';
import { maskCard } from '../domain/cards.ts';
import type { FourEyesOptions } from '../domain/four-eyes.ts';
import { type ApplyOptions, DEFAULT_APPLY_OPTIONS } from '../domain/apply.ts';
import { ORDER_AGE_MAX_MS } from '../domain/order.ts';
import { RiskEngine } from '../domain/risk/engine.ts';
import { LedgerApi, orderJson } from '../ledger/api.ts';
import { LedgerStore } from '../ledger/store.ts';
import { startMetricsServer } from '../metrics/prometheus.ts';
import { startService } from '../nats/service.ts';
import { type NatsAuth, NO_NATS_AUTH, connectNats, maskUrl } from '../nats/connect.ts';
import { type Topology, DEFAULT_TOPOLOGY } from '../nats/setup.ts';
import { loadRules } from '../risk/config.ts';
import { type BufferOptions, DEFAULT_BUFFER_OPTIONS } from '../../streams/buffer.ts';
import { type BatchLimits, DEFAULT_BATCH_LIMITS } from '../../streams/batches.ts';
import type { Publisher } from '../../streams/publish.ts';
import type { InboundMessage } from '../../streams/types.ts';
import type { CardDetail, DashboardActions, OperatorActionView } from '../../ui/types.ts';
import { makeOps } from './operations.ts';
import { operatorActions } from './operator-actions.ts';
import { processorOptions } from './options.ts';
import { Processor } from './processor.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The default rule set shipped in data/risk.yaml. */
export const DEFAULT_RULES_PATH = path.resolve(here, '../../data/risk.yaml');

/** how far back the risk state is rebuilt from (daily limits need a day): as old as an order may be */
export const RISK_HISTORY_MS = ORDER_AGE_MAX_MS;

export interface RuntimeConfig {
  dataDir: string;
  /** NATS server URL(s); credentials in it are used to connect and shown masked */
  natsUrl: string;
  /** NATS credentials and TLS (parseNatsAuth) @default none */
  natsAuth: NatsAuth;
  topology: Topology;
  sync: boolean;
  /** a rules file; `false` runs without risk rules @default data/risk.yaml */
  rulesPath: string | false;
  metricsPort?: number;
  buffer: BufferOptions;
  apply: ApplyOptions;
  batches: BatchLimits;
  /** offline replay instead of the broker */
  source?: Observable<InboundMessage>;
  publisher?: Publisher;
  virtualTime: boolean;
  clock: () => number;
  /** four eyes on manual deposits and withdrawals @default DEFAULT_FOUR_EYES (api.ts) */
  fourEyes?: FourEyesOptions;
}

export function runtimeConfig(partial: Partial<RuntimeConfig> & Pick<RuntimeConfig, 'dataDir'>): RuntimeConfig {
  return {
    natsUrl: 'nats://127.0.0.1:4222',
    natsAuth: NO_NATS_AUTH,
    topology: DEFAULT_TOPOLOGY,
    sync: false,
    rulesPath: existsSync(DEFAULT_RULES_PATH) ? DEFAULT_RULES_PATH : false,
    buffer: DEFAULT_BUFFER_OPTIONS,
    apply: DEFAULT_APPLY_OPTIONS,
    batches: DEFAULT_BATCH_LIMITS,
    virtualTime: false,
    clock: Date.now,
    ...partial,
  };
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

export async function startRuntime(config: RuntimeConfig): Promise<Runtime> {
  const store = await LedgerStore.open(config.dataDir, {
    sync: config.sync,
    // the lock holder's file names the URL masked: a CLI that finds it connects with its own credentials
    owner: { command: 'paystream run', ...(config.source ? {} : { natsUrl: maskUrl(config.natsUrl), servicePrefix: config.topology.prefix }) },
  });
  let nc: NatsConnection | undefined;
  try {
    if (!config.source) nc = await connectNats({ url: config.natsUrl, name: 'paystream-processor', auth: config.natsAuth });
    const rulesPath = config.rulesPath;
    let risk: RiskEngine | undefined;
    if (rulesPath) {
      // rebuild the rule state (windows, averages, daily spend) from what the ledger saw, so a restart
      // does not change decisions
      const now = config.clock();
      const history = await store.riskHistory(now - RISK_HISTORY_MS);
      risk = RiskEngine.fromHistory(
        await loadRules(rulesPath),
        history.map(({ record, atMs }) => ({ order: record.order, result: record.result, atMs, ...(record.accountId ? { accountId: record.accountId } : {}) })),
        now,
      );
    }
    const processor = new Processor(
      processorOptions({
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
      }),
    );
    const reloadRules = async (): Promise<{ rules: number }> => {
      if (!risk || !rulesPath) throw new Error('this processor runs without risk rules');
      const rules = await loadRules(rulesPath);
      risk.reload(rules);
      processor.metrics.alert(config.clock(), 'rule', `rules reloaded from ${rulesPath}`);
      return { rules: rules.rules.length };
    };
    const api = new LedgerApi(store, config.clock, config.fourEyes);
    const ops = makeOps({ api, processor, applyOptions: config.apply, reloadRules, clock: config.clock });
    await processor.start();
    const service = nc ? await startService(nc, ops, config.topology) : undefined;
    const metricsServer =
      config.metricsPort !== undefined ? await startMetricsServer(processor.metrics, config.metricsPort, '127.0.0.1', { clock: config.clock }) : undefined;

    const actions: Omit<DashboardActions, 'quit'> = {
      async lookupCards(query) {
        const { cards } = await api.lookupCards({ query, limit: 20 });
        return cards.map((c) => ({ token: c.token, masked: c.masked, brand: c.brand, holder: c.holder.name, status: c.status, expiry: c.expiry }));
      },
      async cardDetail(token): Promise<CardDetail | undefined> {
        const d = await api.showCard({ query: token, transfers: 8 }).catch(() => undefined);
        if (!d) return undefined;
        return {
          token: d.card.token,
          masked: d.card.masked,
          brand: d.card.brand,
          holder: d.card.holder.name,
          status: d.card.status,
          expiry: d.card.expiry,
          accountId: d.card.accountId,
          currency: d.account?.currency ?? '',
          balance: d.account?.balance ?? '',
          holds: d.account?.holds ?? '',
          available: d.account?.available ?? '',
          todaySpend: d.todaySpend ?? '',
          transfers: d.transfers.map((t) => {
            const out = t.debit === d.card.accountId;
            return { id: t.id, atIso: t.at, kind: t.kind, direction: out ? 'out' : 'in', amount: t.amount, counterparty: out ? t.credit : t.debit };
          }),
        };
      },
      async reviewQueue() {
        const held = await store.reviewQueue(200);
        const views = [];
        for (const r of held) {
          const card = r.order.cardToken ? await store.getCard(r.order.cardToken) : undefined;
          const view: import('../../ui/types.ts').HeldOrderView = {
            orderId: r.order.id,
            type: r.order.type,
            masked: card ? maskCard(card) : '',
            merchant: r.order.merchant ?? '',
            amount: orderJson(r).amount ?? '',
            currency: r.order.currency ?? '',
            heldAt: r.result.processedAt,
          };
          if (r.reviewRule) view.rule = r.reviewRule;
          views.push(view);
        }
        return views;
      },
      async decideReview(orderId, decision) {
        // the dashboard runs in the terminal of the user who started the processor
        const actor = localActor(os.userInfo().username, 'dashboard');
        const out = (await ops[decision === 'approve' ? 'review.approve' : 'review.decline']({ orderId }, actor)) as {
          result: { status: string; reason?: string };
        };
        return out.result;
      },
    };

    let stopped = false;
    const runtime: Runtime = {
      store,
      operatorActions: operatorActions(store),
      processor,
      actions,
      reloadRules,
      async stop() {
        if (stopped) return;
        stopped = true;
        await processor.drain();
        await service?.stop().catch(() => undefined);
        await metricsServer?.close();
        if (nc) await nc.drain().catch(() => undefined);
        await store.close();
      },
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
