// The long commands on a real ledger, in this process as bin.js runs them: run by a script (stdout and
// stderr not terminals) they print exactly what they printed before progress existed and nothing on
// stderr; with --quiet the same on a terminal; on a terminal a bar and a summary line go to stderr and
// stdout does not change. `cards list --all` lists every card, page after page, in the bytes one page has.

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../../src/cli/output.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { REPO_ROOT } from '../e2e/harness.ts';
import { type CliOutcome as Outcome, paystreamInProcess, type Seat } from './in-process.ts';

let dir: string;
let seeded: string;
const SAMPLE = path.join(REPO_ROOT, 'data/sample-recording.ndjson.gz');
/** more than one page of `cards list` (1000) and one batch of `seed` (2000) */
const CARDS = 2345;

/** Runs `paystream --data <data> <args>` in this process, with stdout and stderr looking as `seat` says. */
const paystream = (seat: Seat, data: string, args: string[]): Promise<Outcome> =>
  paystreamInProcess(['--data', data, ...args], seat);

/** stdout with the seconds a command took (they differ from run to run) taken out */
const untimed = (text: string): string => text.replace(/ in \d+\.\d s$/m, ' in _ s');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-progress-'));
  vi.stubEnv('TERM', 'xterm-256color');
  vi.stubEnv('PAYSTREAM_KEY_FILE', undefined);
  vi.stubEnv('PAYSTREAM_SERVICE', undefined);
  seeded = path.join(dir, 'seeded');
  expect((await paystream('script', seeded, ['seed', '--cards', String(CARDS), '--merchants', '2'])).code).toBe(EXIT_OK);
}, 60_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

describe('seed', () => {
  it('run by a script: the one line it always printed on stdout, nothing on stderr', async () => {
    const out = await paystream('script', path.join(dir, 'seed-script'), ['seed', '--cards', String(CARDS), '--merchants', '2']);
    expect(out).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(out.stdout).toMatch(/^seeded 2345 cards \(0 existed\), 8 merchants in \d+\.\d s\n$/);
  });

  it('on a terminal: a bar with the share, ETA and count of the cards, then the summary, on stderr; stdout as a script gets it', async () => {
    const out = await paystream('terminal', path.join(dir, 'seed-terminal'), ['seed', '--cards', String(CARDS), '--merchants', '2']);
    expect(out.code).toBe(EXIT_OK);
    expect(out.stderr).toMatch(/\x1b\[1Gseed \[-+\] 0% {2}ETA -:-- {2}0\/2,345 cards\x1b\[0K/);
    expect(out.stderr).toMatch(/\x1b\[2Kseeded 2,345 cards in \d+\.\d s \([\d,.]+ cards\/s\)\n$/);
    expect(out.stdout).toMatch(/^seeded 2345 cards \(0 existed\), 8 merchants in \d+\.\d s\n$/);
  });

  it('--quiet on a terminal: nothing on stderr; --json: the same JSON', async () => {
    const quiet = await paystream('terminal', path.join(dir, 'seed-quiet'), ['seed', '--cards', '10', '--merchants', '1', '--quiet', '--json']);
    const script = await paystream('script', path.join(dir, 'seed-json'), ['seed', '--cards', '10', '--merchants', '1', '--json']);
    expect(quiet).toEqual({ code: EXIT_OK, stdout: script.stdout, stderr: '' });
    expect(JSON.parse(script.stdout)).toEqual({ cardsCreated: 10, cardsExisting: 0, merchantsCreated: 4 });
  });
});

describe('verify', () => {
  it('prints the same report on stdout whoever runs it; a bar and "verified N records" only on a terminal', async () => {
    const script = await paystream('script', seeded, ['verify']);
    expect(script).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(script.stdout).toMatch(/^OK: 2345 cards, 2357 accounts, 2353 transfers, 0 orders\naudit trail: 4 entries/);
    const terminal = await paystream('terminal', seeded, ['verify']);
    expect(terminal.stdout).toBe(script.stdout);
    // accounts (2,357), the funding accounts' balances (4), audit entries (4), transfers (2,353) and cards (2,345)
    expect(terminal.stderr).toMatch(/\x1b\[2Kverified 7,063 records in \d+\.\d s \([\d,.]+ records\/s\)\n$/);
    expect(await paystream('terminal', seeded, ['verify', '--quiet'])).toEqual({ ...script, stderr: '' });
  });
});

describe('verifyLedger reports its walk', () => {
  it('from 0, with an estimate of the whole from the sizes on disk once one can be made, to the exact count at the end', async () => {
    const store = await LedgerStore.open(seeded);
    const told: [number, number | undefined][] = [];
    try {
      await verifyLedger(store, { onProgress: (checked, estimate) => told.push([checked, estimate]) });
    } finally {
      await store.close();
    }
    expect(told[0]).toEqual([0, undefined]);
    expect(told.at(-1)).toEqual([7063, 7063]);
    const between = told.slice(1, -1);
    expect(between.length).toBeGreaterThan(0);
    for (const [checked, estimate] of between) {
      expect(checked).toBeGreaterThanOrEqual(4096);
      expect(estimate).toBeGreaterThanOrEqual(checked);
    }
  });
});

describe('cards list --all', () => {
  /** `cards list` a page of 1000 at a time, by hand, as before --all */
  async function byPages(json: boolean): Promise<string[]> {
    const pages: string[] = [];
    let after: string | undefined;
    for (;;) {
      const out = await paystream('script', seeded, ['cards', 'list', '--limit', '1000', '--json', ...(after ? ['--after', after] : [])]);
      const cards = JSON.parse(out.stdout).cards as { token: string }[];
      pages.push(json ? out.stdout : (await paystream('script', seeded, ['cards', 'list', '--limit', '1000', ...(after ? ['--after', after] : [])])).stdout);
      if (cards.length < 1000) return pages;
      after = cards.at(-1)!.token;
    }
  }

  it('--json: every card, in the JSON one `cards list` of them all would print', async () => {
    const all = await paystream('script', seeded, ['cards', 'list', '--all', '--json']);
    expect(all).toMatchObject({ code: EXIT_OK, stderr: '' });
    const cards = (await byPages(true)).flatMap((page) => JSON.parse(page).cards as unknown[]);
    expect(cards).toHaveLength(CARDS);
    expect(all.stdout).toBe(`${JSON.stringify({ cards }, null, 2)}\n`);
  });

  it('as a table: the first page exactly as `cards list --limit 1000` prints it, then a row for every other card', async () => {
    const all = await paystream('script', seeded, ['cards', 'list', '--all']);
    const [first] = await byPages(false);
    expect(all.stdout.startsWith(first!)).toBe(true);
    expect(all.stdout.split('\n')).toHaveLength(2 + CARDS + 1);
  });

  it('an empty ledger: the same as `cards list`', async () => {
    const empty = path.join(dir, 'empty');
    await paystream('script', empty, ['seed', '--cards', '0', '--merchants', '0']);
    for (const json of [[], ['--json']]) {
      const all = await paystream('script', empty, ['cards', 'list', '--all', ...json]);
      expect(all).toEqual(await paystream('script', empty, ['cards', 'list', ...json]));
    }
  });

  it('scrolling on the terminal it needs no bar; --all with --limit is refused', async () => {
    const terminal = await paystream('terminal', seeded, ['cards', 'list', '--all', '--json']);
    expect(terminal.stderr).toBe('');
    const both = await paystream('script', seeded, ['cards', 'list', '--all', '--limit', '5']);
    expect(both).toMatchObject({ code: EXIT_USAGE, stderr: 'paystream: give --all or --limit, not both: --all lists every card\n' });
  });
});

describe('replay --offline', () => {
  it('a script gets the summary it always got; a terminal the replay bar, then the verify bar, and their summaries', async () => {
    const script = await paystream('script', path.join(dir, 'replay-script'), ['replay', SAMPLE, '--offline', '--speed', 'max']);
    expect(script).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(script.stdout).toMatch(/^replayed sample-recording\.ndjson\.gz: \d+ orders, \d+ dead letters; ledger verifies\n$/);
    const terminal = await paystream('terminal', path.join(dir, 'replay-terminal'), ['replay', SAMPLE, '--offline', '--speed', 'max']);
    expect(untimed(terminal.stdout)).toBe(untimed(script.stdout));
    expect(terminal.stderr).toMatch(/\x1b\[1Greplay \[-+\] 0% {2}ETA -:-- {2}0\/4,000 messages/);
    expect(terminal.stderr).toMatch(/\x1b\[2Kreplayed 4,000 messages in \d+\.\d s \([\d,.]+ messages\/s\)\n[\s\S]*\x1b\[2Kverified [\d,]+ records in/);
  }, 60_000);
});
