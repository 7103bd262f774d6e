// `paystream demo` (behind `npm start`): a fresh demo ledger, a private nats-server, the processor, the
// generator and the dashboard, all started and stopped together. No nats-server: replays the bundled
// recording offline, so the dashboard still comes up.

import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEMO_CARD_COUNT, DEMO_MERCHANT_COUNT, DEMO_SECRET_HEX, DEMO_SEED, demoCardCurrency, demoCardPans, demoMerchants } from '../domain/generate.ts';
import { tokenizePan } from '../domain/cards.ts';
import { singleKeyRing } from '../domain/keys.ts';
import { createKeyFile, newKey } from '../ledger/keys.ts';
import { seedLedger } from '../ledger/seed.ts';
import { LedgerStore } from '../ledger/store.ts';
import { type EmbeddedNats, INSTALL_HINT, natsServerBinary, startNatsServer } from '../nats/embedded.ts';
import { publishGenerated, recordingSource } from '../nats/loadgen.ts';
import { NO_NATS_AUTH } from '../nats/connect.ts';
import { DEFAULT_TOPOLOGY } from '../nats/setup.ts';
import { type Runtime, runtimeConfig, startRuntime } from '../processor/launch.ts';
import { readRecording } from '../recording/reader.ts';
import type { Publisher } from '../../streams/publish.ts';
import { configureLog } from '../log.ts';
import type { GlobalOptions } from './context.ts';
import { portArg, positiveArg } from './args.ts';
import { earlySignals, superviseRuntime } from './run.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(here, '../..');
export const SAMPLE_RECORDING = path.join(PROJECT_ROOT, 'data/sample-recording.ndjson.gz');

export function registerDemo(program: Command, globals: () => GlobalOptions): void {
  program
    .command('demo')
    .description('the embedded demo: fresh demo ledger, private nats-server, processor, generator, dashboard')
    .option('--rate <n>', 'generated orders per second', positiveArg(100_000), 40)
    .option('--dir <dir>', 'demo data directory', path.join(PROJECT_ROOT, 'data/demo'))
    .option('--offline', 'replay the bundled recording with no broker, even when nats-server is there')
    .option('--headless', 'no dashboard (prints orders/s when stopped)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port', portArg)
    .action(async (o: { rate: number; dir: string; offline?: boolean; headless?: boolean; metricsPort?: number }) => {
      const headless = Boolean(o.headless) || !process.stdout.isTTY;
      // someone else's server (NATS_URL) takes the usual credentials and TLS, checked before anything starts
      const natsAuth = process.env.NATS_URL ? globals().natsAuth : NO_NATS_AUTH;
      const early = earlySignals();
      const ledgerDir = path.join(o.dir, 'ledger');
      configureLog(headless ? 'stderr' : { file: path.join(o.dir, 'paystream.log') });
      const externalUrl = process.env.NATS_URL;
      const binary = natsServerBinary();
      const offline = Boolean(o.offline) || (!externalUrl && !binary);
      await rm(ledgerDir, { recursive: true, force: true });
      // The demo ledger's key, in a key file beside the demo directory, never inside it (as a real one would be):
      // a new key each run, except offline, where the bundled recording's card tokens were made with the
      // published demo key (test PANs only; never a real key).
      const key = offline ? Buffer.from(DEMO_SECRET_HEX, 'hex') : newKey();
      const keyFile = await writeDemoKeyFile(o.dir, key);
      process.env.PAYSTREAM_KEY_FILE = keyFile;
      const store = await LedgerStore.open(ledgerDir, { owner: { command: 'paystream demo (seeding)' } });
      await seedLedger(store, { cards: DEMO_CARD_COUNT, merchants: DEMO_MERCHANT_COUNT, seed: DEMO_SEED, cardBalance: '5000', merchantBalance: '1000000' });
      await store.close();

      if (offline && !o.offline) process.stderr.write(`${INSTALL_HINT}; replaying the bundled recording offline instead\n`);

      let nats: EmbeddedNats | undefined;
      // with someone else's server, keep to our own subjects and streams so nothing mixes with real traffic
      const topology = externalUrl
        ? { ...DEFAULT_TOPOLOGY, prefix: 'paystream-demo', streamPrefix: 'PAYSTREAM_DEMO', durable: 'paystream-demo' }
        : DEFAULT_TOPOLOGY;
      const abort = new AbortController();
      const metrics = o.metricsPort !== undefined ? { metricsPort: o.metricsPort } : {};
      let runtime: Runtime;
      if (offline) {
        if (!existsSync(SAMPLE_RECORDING)) throw new Error(`the bundled recording ${SAMPLE_RECORDING} is missing`);
        const sink: Publisher = { result: () => undefined, report: () => undefined, deadLetter: () => undefined };
        runtime = await startRuntime(
          runtimeConfig({
            dataDir: ledgerDir,
            topology,
            source: recordingSource(() => readRecording(SAMPLE_RECORDING), { speed: 1, loop: true, wallClock: true, signal: abort.signal }),
            publisher: sink,
            ...metrics,
          }),
        );
      } else {
        let url = externalUrl;
        if (!url) {
          await rm(path.join(o.dir, 'nats'), { recursive: true, force: true });
          nats = await startNatsServer({ storeDir: path.join(o.dir, 'nats'), binary: binary! });
          url = nats.url;
        }
        runtime = await startRuntime(runtimeConfig({ dataDir: ledgerDir, natsUrl: url, natsAuth, topology, ...metrics }));
        const cards = demoCardPans(DEMO_CARD_COUNT, DEMO_SEED).map((pan, i) => ({ token: tokenizePan(pan, key), currency: demoCardCurrency(i), pan }));
        const nc = runtime.nc!;
        void publishGenerated(
          nc,
          topology.prefix,
          { seed: Date.now() % 100_000, cards, merchants: demoMerchants(DEMO_MERCHANT_COUNT), startMs: Date.now(), ratePerSecond: o.rate, idPrefix: `d${Date.now().toString(36)}` },
          { speed: 1, signal: abort.signal },
        ).catch(() => undefined);
      }
      // the demo's terminal closing (SIGHUP) ends it like q does, so its nats-server does not outlive it
      const onHangup = () => process.kill(process.pid, 'SIGTERM');
      process.once('SIGHUP', onHangup);
      process.exitCode = await superviseRuntime(
        runtime,
        headless,
        async () => {
          abort.abort();
        },
        early,
      );
      await nats?.stop();
    });
}

/**
 * Writes the demo ledger's key to `<dir>-keys/demo-key.json` (mode 0600, its directory 0700), replacing
 * the previous run's: outside the demo data directory, as `paystream keys init` would have it. Git-ignored.
 */
export async function writeDemoKeyFile(demoDir: string, key: Buffer): Promise<string> {
  const dir = `${path.resolve(demoDir)}-keys`;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'demo-key.json');
  await rm(file, { force: true });
  await createKeyFile(file, singleKeyRing(key));
  return file;
}
