// `paystream generate`: realistic, deterministic traffic (cards from `paystream seed`) published at a rate.

import type { Command } from 'commander';
import type { NatsConnection } from 'nats';
import { tokenizePan } from '../domain/cards.ts';
import { DEMO_SEED, type GeneratorOptions, demoCardCurrency, demoCardPans, demoMerchants } from '../domain/generate.ts';
import { currentKey } from '../domain/keys.ts';
import { type Bounds, rateOption, shareOption, wholeOption, withDefaults } from '../domain/option-checks.ts';
import { DURATION_MS_BOUNDS, SEED_BOUNDS, integerArg, numberOrMaxArg, parseDurationMs, seedArg, shareArg } from './args.ts';
import type { GlobalOptions, Globals } from './global-options.ts';
import { abortOnSignals } from './interrupts.ts';
import { print } from './output.ts';
import { QUIET_FLAG_HELP, withProgress } from './progress.ts';

/** orders a second, at most (faster: max) */
export const GENERATE_RATE_MAX = 1_000_000;
/** cards the traffic may use: the first N seeded ones */
export const GENERATE_CARDS_BOUNDS: Bounds = { min: 1, max: 10_000_000 };
export const GENERATE_MERCHANTS_BOUNDS: Bounds = { min: 1, max: 100_000 };
/** the logical arrival rate of unpaced traffic (--rate max): its createdAt times are spaced as at this rate */
const UNPACED_LOGICAL_RATE_PER_SECOND = 10_000;

export interface GenerateOptions {
  /** orders a second; Infinity: as fast as the broker takes them @default 2000 */
  ratePerSecond: number;
  /** how long to publish @default 60_000 */
  durationMs: number;
  /** how many cards: the first N seeded ones @default 500 */
  cardCount: number;
  /** @default 60 */
  merchantCount: number;
  /** same seed, same traffic @default 1 */
  seed: number;
  /** the seed the cards were created with (`paystream seed --seed`) @default DEMO_SEED */
  cardSeed: number;
  /** share of bad payloads, duplicates, stale orders and fraud bursts @default 0.02 */
  troubleShare: number;
}

export const DEFAULT_GENERATE_OPTIONS: Readonly<GenerateOptions> = Object.freeze({
  ratePerSecond: 2000,
  durationMs: 60_000,
  cardCount: 500,
  merchantCount: 60,
  seed: 1,
  cardSeed: DEMO_SEED,
  troubleShare: 0.02,
});

/** The options of `generate`, parsed: defaults for what is missing, each within its bounds. */
export function parseGenerateOptions(partial: Partial<GenerateOptions> = {}): GenerateOptions {
  const o = withDefaults(DEFAULT_GENERATE_OPTIONS, partial);
  rateOption('--rate', o.ratePerSecond, GENERATE_RATE_MAX);
  wholeOption('--duration (ms)', o.durationMs, DURATION_MS_BOUNDS);
  wholeOption('--cards', o.cardCount, GENERATE_CARDS_BOUNDS);
  wholeOption('--merchants', o.merchantCount, GENERATE_MERCHANTS_BOUNDS);
  wholeOption('--seed', o.seed, SEED_BOUNDS);
  wholeOption('--card-seed', o.cardSeed, SEED_BOUNDS);
  shareOption('--trouble', o.troubleShare);
  return o;
}

interface GenerateFlags {
  rate: number;
  duration: number;
  cards: number;
  merchants: number;
  seed: number;
  cardSeed: number;
  trouble: number;
  quiet?: boolean;
}

export function registerGenerate(program: Command, globals: Globals): void {
  const d = DEFAULT_GENERATE_OPTIONS;
  program
    .command('generate')
    .description('publish realistic, deterministic traffic (cards from `paystream seed`)')
    .option('--rate <n>', 'orders per second, or max', numberOrMaxArg(GENERATE_RATE_MAX), d.ratePerSecond)
    .option('--duration <d>', 'how long (e.g. 60s, 5m)', parseDurationMs, d.durationMs)
    .option('--cards <n>', 'cards (the first N seeded ones)', integerArg(GENERATE_CARDS_BOUNDS), d.cardCount)
    .option('--merchants <n>', 'merchants', integerArg(GENERATE_MERCHANTS_BOUNDS), d.merchantCount)
    .option('--seed <n>', 'seed (same seed, same traffic)', seedArg, d.seed)
    .option('--card-seed <n>', 'seed the cards were created with', seedArg, d.cardSeed)
    .option('--trouble <share>', 'share of bad payloads, duplicates, stale orders, fraud bursts', shareArg, d.troubleShare)
    .option('--json', 'print the summary as JSON')
    .option('--quiet', QUIET_FLAG_HELP)
    .action(async (f: GenerateFlags) => {
      const options = parseGenerateOptions({
        ratePerSecond: f.rate,
        durationMs: f.duration,
        cardCount: f.cards,
        merchantCount: f.merchants,
        seed: f.seed,
        cardSeed: f.cardSeed,
        troubleShare: f.trouble,
      });
      await generate(globals(), options, f.quiet);
    });
}

async function generate(g: GlobalOptions, o: GenerateOptions, quiet = false): Promise<void> {
  const [{ loadKeys }, { connectNats }] = await Promise.all([import('../ledger/keys.ts'), import('../nats/connect.ts')]);
  const secret = currentKey((await loadKeys(g.data)).ring);
  const cards = demoCardPans(o.cardCount, o.cardSeed).map((pan, i) => ({ token: tokenizePan(pan, secret), currency: demoCardCurrency(i) }));
  const nc = await connectNats({ url: g.nats, name: 'paystream-generate', auth: g.natsAuth });
  try {
    // the clock ends the run, so the bar goes by the clock
    const sent = await withProgress({ label: 'generate', unit: 'message', verb: 'published', durationMs: o.durationMs, quiet }, async (progress) => {
      const published = await publishFor(nc, g.prefix, o, cards, (n) => progress.update(n));
      progress.finish();
      return published;
    });
    print(g, { sent }, (s: { sent: number }) => `published ${s.sent} messages`);
  } finally {
    await nc.close();
  }
}

/** Publishes the traffic for the duration, or until Ctrl-C; the count of messages sent. */
async function publishFor(nc: NatsConnection, prefix: string, o: GenerateOptions, cards: GeneratorOptions['cards'], onProgress: (sent: number) => void): Promise<number> {
  const rate = o.ratePerSecond;
  const abort = abortOnSignals();
  const stopAt = setTimeout(() => abort.abort(), o.durationMs);
  try {
    const { publishGenerated } = await import('../nats/loadgen.ts');
    return await publishGenerated(
      nc,
      prefix,
      {
        seed: o.seed,
        cards,
        merchants: demoMerchants(o.merchantCount),
        startMs: Date.now(),
        troubleShare: o.troubleShare,
        ratePerSecond: Number.isFinite(rate) ? rate : UNPACED_LOGICAL_RATE_PER_SECOND,
        durationMs: o.durationMs,
        idPrefix: `g${o.seed.toString(36)}${Date.now().toString(36)}`,
      },
      { speed: Number.isFinite(rate) ? 1 : Number.POSITIVE_INFINITY, signal: abort.signal, onProgress },
    );
  } finally {
    clearTimeout(stopAt);
  }
}
