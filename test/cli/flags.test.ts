// Every numeric flag of every command is parsed by one of src/cli/args.ts's parsers while commander reads
// the command line: a bad value fails with the reason and exit 2 before the command opens a ledger,
// connects to NATS or starts anything (`run --metrics-port abc` used to start consuming, then die with an
// unrelated timeout and exit 1).

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT_USAGE } from '../../src/cli/output.ts';
import { main } from '../../src/cli/main.ts';
import { cli } from '../e2e/harness.ts';

let dir: string;
let dataDir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-flags-'));
  // never created: a command that got as far as opening its ledger would make it
  dataDir = path.join(dir, 'ledger');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** [command words, flag, bad values, what the reason says] */
const CASES: [string[], string, string[], string][] = [
  [['run'], '--metrics-port', ['abc', '0', '70000', '-1', '80.5', ''], 'within 1..65535'],
  [['run'], '--buffer-ms', ['abc', '-1', '2.5', '10001'], 'within 0..10000'],
  [['run'], '--buffer-max', ['0', 'x', '50001'], 'within 1..50000'],
  [['run'], '--hold-hours', ['0', '-2', 'abc', '1e3', 'Infinity', '9000'], 'above 0 and at most 8760'],
  [['run'], '--review-minutes', ['0', 'NaN', '43201'], 'above 0 and at most 43200'],
  [['demo'], '--rate', ['0', 'fast', '-5'], 'above 0'],
  [['demo'], '--metrics-port', ['abc', '0', '70000'], 'within 1..65535'],
  [['cards', 'list'], '--limit', ['-1', 'abc', '2.5', '1000000000', '0'], 'within 1..1000'],
  [['cards', 'show', '1111'], '--transfers', ['-1', 'abc', '2.5', '1000000000'], 'within 1..1000'],
  [['accounts', 'list'], '--limit', ['-1', 'abc', '2.5', '1000000000'], 'within 1..1000'],
  [['accounts', 'show', 'm-1'], '--transfers', ['-1', 'abc', '2.5', '1000000000'], 'within 1..1000'],
  [['seed'], '--cards', ['-1', 'many', '1.5'], 'within 0..10000000'],
  [['seed'], '--merchants', ['-1', 'x'], 'within 0..100000'],
  [['seed'], '--seed', ['-1', 'x', '4294967296'], 'within 0..2147483647'],
  [['generate'], '--rate', ['-3', '0', 'fast', '1e9'], 'or max'],
  [['generate'], '--duration', ['0s', 'soon', '-5s', '200h'], 'must be a duration within 1ms..168h'],
  [['generate'], '--cards', ['0', 'x'], 'within 1..10000000'],
  [['generate'], '--trouble', ['2', '-0.1', 'lots'], 'within 0..1'],
  [['generate'], '--card-seed', ['-1'], 'within 0..2147483647'],
  [['replay', 'x.ndjson'], '--speed', ['0', '-1', 'fast'], 'or max'],
  [['record', '--out', 'x.ndjson'], '--limit', ['0', '-1', 'x'], 'within 1..1000000000'],
  [['record', '--out', 'x.ndjson'], '--since', ['nope', '2026-13-45T00:00:00Z'], 'must be an ISO time'],
  [['batch', 'submit', 'x.csv'], '--count', ['0', 'x'], 'within 1..1000000'],
  [['batch', 'submit', 'x.csv'], '--timeout', ['0', 'later'], 'must be a duration within 1ms..168h'],
  [['batch', 'submit', 'x.csv'], '--source', ['a.b', 'x y', ''], '1-64 of'],
  [['run'], '--stream-prefix', ['a.b', 'x y', 'PAY>'], '1-64 of'],
  [['run'], '--durable', ['a.b', '*', ''], '1-64 of'],
  [['replay', 'x.ndjson'], '--subject-prefix', ['a.b', 'p*'], '1-64 of'],
  [[], '--prefix', ['pay.*', 'pay.>', 'a..b', 'a b'], 'subject tokens'],
  [[], '--nats', ['http://x', 'nats://h:70000', 'nats://', 'ftp://h:1'], 'NATS server URLs'],
];

describe('bad flags fail before anything starts, with the reason and exit 2', () => {
  it.each(CASES)('%j %s refuses each bad value', async (words, flag, values, reason) => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const value of values) {
        stderr.mockClear();
        const argv = words.length === 0 ? [flag, value, 'run'] : ['--nats', 'nats://127.0.0.1:1', ...words, flag, value];
        const code = await main(['node', 'paystream', '--data', dataDir, ...argv]);
        const said = stderr.mock.calls.map((c) => String(c[0])).join('');
        expect(code, `${words.join(' ')} ${flag} ${value}: ${said}`).toBe(EXIT_USAGE);
        expect(said).toMatch(/^paystream: [^\n]+\n$/);
        expect(said.startsWith(`paystream: ${flag} must be `)).toBe(true);
        expect(said.endsWith(`, got ${JSON.stringify(value)}\n`)).toBe(true);
        expect(said).toContain(reason);
      }
    } finally {
      stderr.mockRestore();
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([
    ['NATS_URL', 'http://x'],
    ['PAYSTREAM_PREFIX', 'pay.*'],
  ])('refuses %s=%s from the environment the same way', async (name, value) => {
    vi.stubEnv(name, value);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'paystream', '--data', dataDir, 'run'])).toBe(EXIT_USAGE);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(new RegExp(`^paystream: ${name} must be [^\n]*, got "${value.replace(/[.*]/g, '\\$&')}"\n$`));
    } finally {
      stderr.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each([
    ['run', '--metrics-port', 'abc'],
    ['run', '--metrics-port', '0'],
    ['run', '--metrics-port', '70000'],
    ['run', '--metrics-port', '-1'],
    ['run', '--buffer-ms', 'soon'],
    ['cards', 'list', '--limit', '-1'],
    ['accounts', 'list', '--limit', '2.5'],
    ['generate', '--rate', 'abc'],
  ])('paystream %s %s %s exits 2 at once, saying why, and opens no ledger', async (...args) => {
    const out = await cli(['--data', dataDir, '--nats', 'nats://127.0.0.1:1', ...args]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(new RegExp(`^paystream: ${args.at(-2)} must be [^\\n]*, got "${args.at(-1)}"\\n$`));
    expect(existsSync(dataDir)).toBe(false);
  });
});
