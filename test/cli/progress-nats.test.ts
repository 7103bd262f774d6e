// The commands that publish or read a real nats-server (replay, record, batch submit, generate), with a
// processor running, in this process as bin.js runs them: a script gets exactly what it got before
// progress existed and nothing on stderr (record: its one line); a terminal gets a bar and a summary on
// stderr, and the same stdout; --quiet on a terminal is a script's output.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT_OK } from '../../src/cli/output.ts';
import { DEMO_SECRET_HEX, DEMO_SEED } from '../../src/domain/generate.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { type EmbeddedNats, startNatsServer } from '../../src/nats/embedded.ts';
import { DEFAULT_TOPOLOGY } from '../../src/nats/setup.ts';
import { type Runtime, parseRuntimeConfig, startRuntime } from '../../src/processor/launch.ts';
import { REPO_ROOT } from '../e2e/harness.ts';
import { type CliOutcome, paystreamInProcess, type Seat } from './in-process.ts';

let dir: string;
let nats: EmbeddedNats;
let runtime: Runtime;

/** Runs `paystream --data <dir>/cli-data --nats <broker> <args>` in this process, stdout and stderr as `seat` says. */
const paystream = (seat: Seat, args: string[]): Promise<CliOutcome> =>
  paystreamInProcess(['--data', path.join(dir, 'cli-data'), '--nats', nats.url, ...args], seat);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-progress-nats-'));
  // the demo key: the sample payroll's and the bundled recording's card tokens were made with it
  vi.stubEnv('PAYSTREAM_KEY', DEMO_SECRET_HEX);
  vi.stubEnv('PAYSTREAM_KEY_FILE', undefined);
  vi.stubEnv('TERM', 'xterm-256color');
  nats = await startNatsServer({ storeDir: path.join(dir, 'nats') });
  const ledger = path.join(dir, 'ledger');
  const store = await LedgerStore.open(ledger);
  await seedLedger(store, { cards: 500, merchants: 60, seed: DEMO_SEED, cardBalance: '5000', merchantBalance: '1000000' });
  await store.close();
  // orders kept in the stream, so record --from-stream has something to read
  const topology = { ...DEFAULT_TOPOLOGY, ordersRetention: 'limits' as const };
  runtime = await startRuntime(parseRuntimeConfig({ dataDir: ledger, natsUrl: nats.url, rulesPath: false, topology }));
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await nats?.stop();
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

describe('replay (to the broker)', () => {
  it('a script: "replayed N messages"; a terminal: a bar over the recording counted first, and the summary', async () => {
    const recording = path.join(REPO_ROOT, 'data/sample-recording.ndjson.gz');
    const script = await paystream('script', ['replay', recording, '--speed', 'max']);
    expect(script).toEqual({ code: EXIT_OK, stdout: 'replayed 4000 messages\n', stderr: '' });
    const terminal = await paystream('terminal', ['replay', recording, '--speed', 'max']);
    expect(terminal.stdout).toBe('replayed 4000 messages\n');
    expect(terminal.stderr).toMatch(/\x1b\[1Greplay \[-+\] 0% {2}ETA -:-- {2}0\/4,000 messages\x1b\[0K/);
    expect(terminal.stderr).toMatch(/\x1b\[2Kreplayed 4,000 messages in \d+\.\d s \([\d,.]+ messages\/s\)\n$/);
  });
});

describe('record --from-stream', () => {
  it('writes the same file either way; a script reads its one line, a terminal the bar and that line with time and rate', async () => {
    const [scriptOut, terminalOut] = [path.join(dir, 'script.ndjson'), path.join(dir, 'terminal.ndjson')];
    const script = await paystream('script', ['record', '--from-stream', 'PAY_ORDERS', '--limit', '300', '--out', scriptOut]);
    expect(script).toEqual({ code: EXIT_OK, stdout: '', stderr: `recorded 300 messages to ${scriptOut}\n` });
    const terminal = await paystream('terminal', ['record', '--from-stream', 'PAY_ORDERS', '--limit', '300', '--out', terminalOut]);
    expect(terminal.stderr).toMatch(/\x1b\[1Grecord \[-+\] 0% {2}ETA -:-- {2}0\/300 messages\x1b\[0K/);
    expect(terminal.stderr).toMatch(new RegExp(`\\x1b\\[2Krecorded 300 messages to ${terminalOut.replaceAll('.', '\\.')} in \\d+\\.\\d s \\([\\d,.]+ messages/s\\)\\n$`));
    expect(await readFile(terminalOut, 'utf8')).toBe(await readFile(scriptOut, 'utf8'));
  });
});

describe('batch submit', () => {
  /** The sample payroll with order ids of its own (the broker drops an order id it has seen as a duplicate). */
  async function payroll(tag: string): Promise<string> {
    const file = path.join(dir, `${tag}.csv`);
    await writeFile(file, (await readFile(path.join(REPO_ROOT, 'data/samples/payroll.csv'), 'utf8')).replaceAll('pr-2026-06-', `${tag}-`));
    return file;
  }

  it('on a terminal: the orders published, then the orders decided while it waits, and the same report', async () => {
    const script = await paystream('script', ['batch', 'submit', await payroll('script'), '--id', 'payroll-script']);
    expect(script).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(script.stdout).toMatch(/^batch payroll-script: completed\n {2}approved/);
    const terminal = await paystream('terminal', ['batch', 'submit', await payroll('terminal'), '--id', 'payroll-terminal']);
    expect(terminal.stdout).toBe(script.stdout.replace('payroll-script', 'payroll-terminal'));
    expect(terminal.stderr).toMatch(/\x1b\[2Kpublished 5 orders of batch payroll-terminal in \d+\.\d s \([\d,.]+ orders\/s\)\n/);
    expect(terminal.stderr).toMatch(/\x1b\[2Kdecided 5 orders of batch payroll-terminal in \d+\.\d s \([\d,.]+ orders\/s\)\n$/);
  });
});

describe('generate', () => {
  it('a script: "published N messages" and nothing else; a terminal: a bar by the clock and the summary as well', async () => {
    // paced (2000 a second): the count moves with every message that waited for its time
    const generate = ['generate', '--rate', '2000', '--duration', '1s', '--cards', '500', '--merchants', '60'];
    const script = await paystream('script', generate);
    expect(script).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(script.stdout).toMatch(/^published \d+ messages\n$/);
    const terminal = await paystream('terminal', generate);
    expect(terminal.stdout).toMatch(/^published \d+ messages\n$/);
    const sent = Number(/published (\d+)/.exec(terminal.stdout)![1]).toLocaleString('en-US');
    expect(terminal.stderr).toMatch(/\x1b\[1Ggenerate \[-+\] 0% {2}ETA 0:01 {2}0 messages\x1b\[0K/);
    expect(terminal.stderr).toMatch(/\x1b\[1Ggenerate \[=+-*\] [1-9]\d% {2}ETA 0:01 {2}[1-9][\d,]* messages {2}[\d,]+\/s\x1b\[0K/);
    expect(terminal.stderr).toContain(`\x1b[2Kpublished ${sent} messages in 1.`);
    const quiet = await paystream('terminal', [...generate, '--quiet']);
    expect(quiet).toMatchObject({ code: EXIT_OK, stderr: '' });
  });
});
