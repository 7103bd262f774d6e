// Replaying the bundled recording offline into two empty ledgers gives identical results and ledgers.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_SECRET_HEX } from '../../src/domain/generate.ts';

const run = promisify(execFile);
const bin = path.resolve('src/cli/bin.js');
const recording = path.resolve('data/sample-recording.ndjson.gz');
const dirs: string[] = [];

async function replayIntoFreshLedger(speed: string): Promise<{ results: string; verify: string; summary: { orders: number; deadLetters: number } }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-replay-'));
  dirs.push(dir);
  const env = { ...process.env, PAYSTREAM_DATA: path.join(dir, 'ledger'), PAYSTREAM_KEY: DEMO_SECRET_HEX };
  await run('node', [bin, 'seed', '--cards', '2000', '--merchants', '60'], { env });
  const resultsFile = path.join(dir, 'results.ndjson');
  const replay = await run('node', [bin, 'replay', recording, '--offline', '--speed', speed, '--results', resultsFile, '--json'], { env });
  const verify = await run('node', [bin, 'verify', '--json'], { env });
  return { results: await readFile(resultsFile, 'utf8'), verify: verify.stdout, summary: JSON.parse(replay.stdout) };
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('replay --offline', () => {
  it('gives byte-identical results and an identical verified ledger on two empty ledgers, fast or at 10x', async () => {
    const first = await replayIntoFreshLedger('max');
    const second = await replayIntoFreshLedger('10');
    expect(first.summary.orders).toBeGreaterThan(3500);
    expect(first.summary.deadLetters).toBeGreaterThan(0);
    expect(second.results).toBe(first.results);
    expect(second.verify).toBe(first.verify);
    const verify = JSON.parse(first.verify) as { ok: boolean; orders: number };
    expect(verify.ok).toBe(true);
    const statuses = new Set(first.results.trim().split('\n').map((line) => (JSON.parse(line) as { status: string }).status));
    for (const status of ['approved', 'authorized', 'captured', 'voided', 'refunded', 'canceled', 'modified', 'held', 'declined', 'rejected', 'expired']) {
      expect(statuses).toContain(status);
    }
  }, 120_000);
});
