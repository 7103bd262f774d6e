// Keeps a started runtime (`run`, `demo`) going until it is told to stop: signals, SIGHUP rule reloads, the
// dashboard on a terminal, then a drain and the figures of the run.

import { SYSTEM_ACTOR } from '../domain/actor.ts';
import type { Runtime } from '../processor/launch.ts';
import { DASHBOARD_FRAME_MS, toSnapshots } from '../../streams/metrics.ts';
import type { renderDashboard } from '../../ui/index.tsx';
import { log } from '../log.ts';
import type { EarlySignals } from './interrupts.ts';
import { EXIT_OK, EXIT_OPERATIONAL } from './output.ts';

/** Runs until SIGINT/SIGTERM (or `q` on the dashboard): drains, then resolves with the exit code. */
export async function superviseRuntime(
  runtime: Runtime,
  headless: boolean,
  extraStop: () => Promise<void> = async () => undefined,
  early?: EarlySignals,
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
  const onHup = reloadOnHangup(runtime);
  process.on('SIGHUP', onHup);
  const dashboard = headless ? undefined : await showDashboard(runtime, stop);
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
  dashboard?.unmount();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onHup);
  reportRun(runtime);
  return failed ? EXIT_OPERATIONAL : EXIT_OK;
}

/** SIGHUP reloads the rules; a reload by signal is audited as paystream's own (whoever may signal the process is not known by name). */
function reloadOnHangup(runtime: Runtime): () => void {
  const auditHup = (outcome: 'ok' | 'error', after: Record<string, string | number>) =>
    runtime.store
      .auditAlone({ actor: SYSTEM_ACTOR, action: 'rules.reload', params: { trigger: 'SIGHUP' }, atMs: Date.now(), outcome, ...(outcome === 'error' ? { error: 'reload_failed' } : {}), after })
      .catch((error: unknown) => log().error({ err: error }, 'could not audit the rules reload'));
  return () => {
    runtime.reloadRules().then(
      (r) => {
        log().info({ rules: r.rules }, 'rules reloaded');
        void auditHup('ok', { rules: r.rules });
      },
      (error: unknown) => {
        log().error({ err: error }, 'rules reload failed; the old rules stay in force');
        runtime.processor.metrics.alert(Date.now(), 'error', `rules reload failed: ${(error as Error).message}`);
        void auditHup('error', {});
      },
    );
  };
}

/**
 * The dashboard, drawn until unmounted. The terminal going away (closed window, dropped ssh) stops the
 * drawing and the runtime (drain, exit) instead of crashing it. Ink and React load here, only for a dashboard,
 * Ink first in live mode (ui/live-ink.ts says why).
 */
async function showDashboard(runtime: Runtime, stop: () => Promise<void>): Promise<{ unmount(): void }> {
  await (await import('../../ui/live-ink.ts')).loadInkLive();
  const { renderDashboard } = await import('../../ui/index.tsx');
  let dashboard: ReturnType<typeof renderDashboard> | undefined;
  let terminalGone = false;
  // the listener stays after unmount: Ink writes once more on exit, and a dead terminal must not turn that into a crash
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (terminalGone) return;
    terminalGone = true;
    log().warn({ code: error.code }, 'the terminal is gone; stopping');
    dashboard = undefined;
    void stop();
  });
  dashboard = renderDashboard({
    snapshots: toSnapshots(runtime.processor.metrics, Date.now, DASHBOARD_FRAME_MS),
    actions: { ...runtime.actions, quit: () => void stop() },
    operatorActions: runtime.operatorActions,
  });
  return {
    unmount() {
      try {
        dashboard?.unmount();
      } catch {
        // the terminal may already be gone
      }
    },
  };
}

/** The run's figures: in the log, and one line on stderr. */
function reportRun(runtime: Runtime): void {
  const { processor } = runtime;
  const s = processor.stats;
  log().info({ orders: s.orders, deadLetters: s.deadLetters, ordersPerSecond: Math.round(processor.ordersPerSecond()) }, 'paystream stopped');
  process.stderr.write(
    `processed ${s.orders} orders (${s.deadLetters} dead letters) in ${((Date.now() - s.startedAtMs) / 1000).toFixed(1)} s: ` +
      `${Math.round(processor.ordersPerSecond())} orders/s\n`,
  );
}
