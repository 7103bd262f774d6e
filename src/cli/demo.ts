// `paystream demo` (behind `npm start`): a fresh demo ledger, a private nats-server, the processor, the
// generator and the dashboard, all started and stopped together. No nats-server: replays the bundled
// recording offline, so the dashboard still comes up.

import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DEMO_CARD_COUNT, DEMO_MERCHANT_COUNT, DEMO_SECRET_HEX, DEMO_SEED, demoCardCurrency, demoCardPans, demoMerchants } from '../domain/generate.ts';
import { tokenizePan } from '../domain/cards.ts';
import { singleKeyRing } from '../domain/keys.ts';
import { aboveZeroOption, wholeOption, withDefaults } from '../domain/option-checks.ts';
import { METRICS_PORT_BOUNDS } from '../metrics/port.ts';
import type { EmbeddedNats } from '../nats/embedded.ts';
import type { NatsAuth } from '../nats/connect.ts';
import { NO_NATS_AUTH } from '../nats/client-options.ts';
import { type Topology, DEFAULT_TOPOLOGY } from '../nats/topology.ts';
import type { Runtime } from '../processor/launch.ts';
import { parseRuntimeConfig } from '../processor/runtime-config.ts';
import type { Publisher } from '../../streams/publish.ts';
import { packageFile } from '../package-root.ts';
import type { Globals } from './global-options.ts';
import { portArg, positiveArg } from './args.ts';
import { earlySignals } from './interrupts.ts';

/** the recording the demo replays offline: shipped in the package */
export const SAMPLE_RECORDING = packageFile('data/sample-recording.ndjson.gz');

/** the generator's rate, at most (orders a second) */
export const DEMO_RATE_MAX = 100_000;
/** each demo card's and merchant's opening balance */
const DEMO_CARD_BALANCE = '5000';
const DEMO_MERCHANT_BALANCE = '1000000';
/** with someone else's server (NATS_URL), the demo keeps to subjects and streams of its own */
const SHARED_SERVER_TOPOLOGY: Topology = { ...DEFAULT_TOPOLOGY, prefix: 'paystream-demo', streamPrefix: 'PAYSTREAM_DEMO', durable: 'paystream-demo' };

export interface DemoOptions {
  /** generated orders a second @default 40 */
  ratePerSecond: number;
  /**
   * the demo's data directory (ledger, nats-server store, log), relative to the working directory like
   * --data's default (an installed package's own folder may not be writable); its key file goes beside it
   * @default data/demo
   */
  dir: string;
  /** replay the bundled recording with no broker, even when nats-server is there @default false */
  offline: boolean;
  /** no dashboard @default false (and always when stdout is not a terminal) */
  headless: boolean;
  /** serve Prometheus metrics on this port @default none */
  metricsPort?: number;
}

export const DEFAULT_DEMO_OPTIONS: Readonly<Omit<DemoOptions, 'metricsPort'>> = Object.freeze({
  ratePerSecond: 40,
  dir: 'data/demo',
  offline: false,
  headless: false,
});

/** The options of `demo`, parsed: defaults for what is missing, the rate and port within their bounds. */
export function parseDemoOptions(partial: Partial<DemoOptions> = {}): DemoOptions {
  const options: DemoOptions = withDefaults(DEFAULT_DEMO_OPTIONS, partial);
  aboveZeroOption('--rate', options.ratePerSecond, DEMO_RATE_MAX);
  if (options.metricsPort !== undefined) wholeOption('--metrics-port', options.metricsPort, METRICS_PORT_BOUNDS);
  return options;
}

export function registerDemo(program: Command, globals: Globals): void {
  program
    .command('demo')
    .description('the embedded demo: fresh demo ledger, private nats-server, processor, generator, dashboard')
    .option('--rate <n>', 'generated orders per second', positiveArg(DEMO_RATE_MAX), DEFAULT_DEMO_OPTIONS.ratePerSecond)
    .option('--dir <dir>', 'demo data directory', DEFAULT_DEMO_OPTIONS.dir)
    .option('--offline', 'replay the bundled recording with no broker, even when nats-server is there')
    .option('--headless', 'no dashboard (prints orders/s when stopped)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port', portArg)
    .action(async (f: { rate: number; dir: string; offline?: boolean; headless?: boolean; metricsPort?: number }) => {
      const options = parseDemoOptions({ ratePerSecond: f.rate, dir: path.resolve(f.dir), offline: f.offline, headless: f.headless, metricsPort: f.metricsPort });
      // someone else's server (NATS_URL) takes the usual credentials and TLS, checked before anything starts
      const natsAuth = process.env.NATS_URL ? globals().natsAuth : NO_NATS_AUTH;
      await runDemo(options, natsAuth);
    });
}

async function runDemo(o: DemoOptions, natsAuth: NatsAuth): Promise<void> {
  const headless = o.headless || !process.stdout.isTTY;
  const early = earlySignals();
  const [{ configureLog }, { INSTALL_HINT, natsServerBinary, startNatsServer }, { superviseRuntime }] = await Promise.all([
    import('../log.ts'),
    import('../nats/embedded.ts'),
    import('./supervise.ts'),
  ]);
  const ledgerDir = path.join(o.dir, 'ledger');
  configureLog(headless ? 'stderr' : { file: path.join(o.dir, 'paystream.log') });
  const externalUrl = process.env.NATS_URL;
  const binary = natsServerBinary();
  const offline = o.offline || (!externalUrl && !binary);
  const key = await freshDemoLedger(o.dir, ledgerDir, offline);
  if (offline && !o.offline) process.stderr.write(`${INSTALL_HINT}; replaying the bundled recording offline instead\n`);
  const abort = new AbortController();
  let nats: EmbeddedNats | undefined;
  let runtime: Runtime;
  if (offline) {
    runtime = await startOfflineDemo(o, ledgerDir, externalUrl ? SHARED_SERVER_TOPOLOGY : DEFAULT_TOPOLOGY, abort.signal);
  } else {
    let url = externalUrl;
    if (!url) {
      await rm(path.join(o.dir, 'nats'), { recursive: true, force: true });
      nats = await startNatsServer({ storeDir: path.join(o.dir, 'nats'), binary: binary! });
      url = nats.url;
    }
    runtime = await startLiveDemo(o, ledgerDir, url, natsAuth, externalUrl ? SHARED_SERVER_TOPOLOGY : DEFAULT_TOPOLOGY, key, abort.signal);
  }
  // the demo's terminal closing (SIGHUP) ends it like q does, so its nats-server does not outlive it
  process.once('SIGHUP', () => process.kill(process.pid, 'SIGTERM'));
  process.exitCode = await superviseRuntime(runtime, headless, async () => abort.abort(), early);
  await nats?.stop();
}

/**
 * A new, seeded demo ledger and its key, in a key file beside the demo directory, never inside it (as a
 * real one would be): a new key each run, except offline, where the bundled recording's card tokens were
 * made with the published demo key (test PANs only; never a real key).
 */
async function freshDemoLedger(demoDir: string, ledgerDir: string, offline: boolean): Promise<Buffer> {
  const [{ newKey }, { seedLedger }, { LedgerStore }] = await Promise.all([import('../ledger/keys.ts'), import('../ledger/seed.ts'), import('../ledger/store.ts')]);
  await rm(ledgerDir, { recursive: true, force: true });
  const key = offline ? Buffer.from(DEMO_SECRET_HEX, 'hex') : newKey();
  process.env.PAYSTREAM_KEY_FILE = await writeDemoKeyFile(demoDir, key);
  const store = await LedgerStore.open(ledgerDir, { owner: { command: 'paystream demo (seeding)' } });
  await seedLedger(store, { cards: DEMO_CARD_COUNT, merchants: DEMO_MERCHANT_COUNT, seed: DEMO_SEED, cardBalance: DEMO_CARD_BALANCE, merchantBalance: DEMO_MERCHANT_BALANCE });
  await store.close();
  return key;
}

/** The bundled recording, looped in real time, with no broker. */
async function startOfflineDemo(o: DemoOptions, ledgerDir: string, topology: Topology, signal: AbortSignal): Promise<Runtime> {
  const [{ recordingSource }, { startRuntime }, { readRecording }] = await Promise.all([
    import('../nats/loadgen.ts'),
    import('../processor/launch.ts'),
    import('../recording/reader.ts'),
  ]);
  if (!existsSync(SAMPLE_RECORDING)) throw new Error(`the bundled recording ${SAMPLE_RECORDING} is missing`);
  const sink: Publisher = { result: () => undefined, report: () => undefined, deadLetter: () => undefined };
  return startRuntime(
    parseRuntimeConfig({
      dataDir: ledgerDir,
      topology,
      source: recordingSource(() => readRecording(SAMPLE_RECORDING), { speed: 1, loop: true, wallClock: true, signal }),
      publisher: sink,
      ...(o.metricsPort !== undefined ? { metricsPort: o.metricsPort } : {}),
    }),
  );
}

/** The processor on a broker, and the generator publishing the demo cards' traffic to it until the demo stops. */
async function startLiveDemo(o: DemoOptions, ledgerDir: string, url: string, natsAuth: NatsAuth, topology: Topology, key: Buffer, signal: AbortSignal): Promise<Runtime> {
  const [{ publishGenerated }, { startRuntime }] = await Promise.all([import('../nats/loadgen.ts'), import('../processor/launch.ts')]);
  const runtime = await startRuntime(
    parseRuntimeConfig({ dataDir: ledgerDir, natsUrl: url, natsAuth, topology, ...(o.metricsPort !== undefined ? { metricsPort: o.metricsPort } : {}) }),
  );
  const cards = demoCardPans(DEMO_CARD_COUNT, DEMO_SEED).map((pan, i) => ({ token: tokenizePan(pan, key), currency: demoCardCurrency(i), pan }));
  void publishGenerated(
    runtime.nc!,
    topology.prefix,
    { seed: Date.now() % 100_000, cards, merchants: demoMerchants(DEMO_MERCHANT_COUNT), startMs: Date.now(), ratePerSecond: o.ratePerSecond, idPrefix: `d${Date.now().toString(36)}` },
    { speed: 1, signal },
  ).catch(() => undefined);
  return runtime;
}

/**
 * Writes the demo ledger's key to `<dir>-keys/demo-key.json` (mode 0600, its directory 0700), replacing
 * the previous run's: outside the demo data directory, as `paystream keys init` would have it. Git-ignored.
 */
export async function writeDemoKeyFile(demoDir: string, key: Buffer): Promise<string> {
  const { createKeyFile } = await import('../ledger/keys.ts');
  const dir = `${path.resolve(demoDir)}-keys`;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'demo-key.json');
  await rm(file, { force: true });
  await createKeyFile(file, singleKeyRing(key));
  return file;
}
