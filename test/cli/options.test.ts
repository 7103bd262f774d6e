// Each long-running command's options are parsed once by its parseXOptions: the defaults commander shows
// in --help are the ones the parse fills, the bounds the flag parsers check are the parse's own, and a
// flag that only means something beside another is refused alone, with exit 2, before anything starts.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BATCH_SUBMIT_OPTIONS, parseBatchSubmitOptions } from '../../src/cli/batches.ts';
import { DEFAULT_DEMO_OPTIONS, parseDemoOptions } from '../../src/cli/demo.ts';
import { DEFAULT_GENERATE_OPTIONS, parseGenerateOptions } from '../../src/cli/generate.ts';
import { parseGlobalOptions } from '../../src/cli/global-options.ts';
import { main } from '../../src/cli/main.ts';
import { EXIT_USAGE } from '../../src/cli/output.ts';
import { parseRecordOptions } from '../../src/cli/record.ts';
import { DEFAULT_REPLAY_OPTIONS, parseReplayOptions } from '../../src/cli/replay.ts';
import { type RunFlags, parseRunOptions } from '../../src/cli/run.ts';
import { DEMO_SEED } from '../../src/domain/generate.ts';

let dir: string;
let dataDir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-options-'));
  // never created: a command that got as far as opening its ledger would make it
  dataDir = path.join(dir, 'ledger');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI in this process; what it wrote on stderr and its exit code. */
async function paystream(...args: string[]): Promise<{ code: number; stderr: string }> {
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(['node', 'paystream', '--data', dataDir, '--nats', 'nats://127.0.0.1:1', ...args]);
    return { code, stderr: stderr.mock.calls.map((c) => String(c[0])).join('') };
  } finally {
    stderr.mockRestore();
  }
}

describe('a flag that needs another is refused alone: exit 2, nothing opened or connected', () => {
  it.each([
    [['replay', 'x.ndjson', '--results', 'r.ndjson'], '--results writes what an offline replay decided: give --offline too'],
    [['replay', 'x.ndjson', '--no-risk'], '--no-risk runs an offline replay without rules: give --offline too'],
    [['replay', 'x.ndjson', '--offline', '--keep-created-at'], '--keep-created-at is for a replay onto a broker'],
    [['record', '--out', 'x.ndjson', '--since', '10m'], '--since reads a stream from a time: give --from-stream too'],
    [['batch', 'submit', 'x.csv', '--type', 'gift'], '--type must be one of payment, authorize, capture, void, refund, payout, cancel, modify, got "gift"'],
    [['run', '--review-timeout', 'escalate'], '--review-timeout must be decline or approve'],
  ])('paystream %j', async (args, message) => {
    const out = await paystream(...args);
    expect(out.code, out.stderr).toBe(EXIT_USAGE);
    expect(out.stderr).toContain(message);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('parseReplayOptions, parseRecordOptions, parseGenerateOptions', () => {
  it('replay: real-time speed, once, online, with the rules, by default', () => {
    expect(parseReplayOptions({ file: 'a.ndjson' })).toEqual({ ...DEFAULT_REPLAY_OPTIONS, file: 'a.ndjson', speed: 1, loop: false, offline: false, risk: true });
    expect(parseReplayOptions({ file: 'a', offline: true, risk: false, resultsFile: 'r' })).toMatchObject({ offline: true, risk: false, resultsFile: 'r' });
    expect(parseReplayOptions({ file: 'a', speed: Number.POSITIVE_INFINITY }).speed).toBe(Number.POSITIVE_INFINITY);
    expect(() => parseReplayOptions({ file: 'a', speed: 1_000_001 })).toThrow('--speed must be a number above 0 and at most 1000000, or max');
    expect(() => parseReplayOptions({ file: 'a', subjectPrefix: 'a.b' })).toThrow('--subject-prefix must be 1-64 of');
  });

  it('record: every subject under pay by default; the limit within 1..1000000000', () => {
    expect(parseRecordOptions({ out: 'x' })).toEqual({ subject: 'pay.>', out: 'x' });
    expect(parseRecordOptions({ out: 'x', fromStream: 'PAY_ORDERS', since: new Date(0), messagesMax: 1 })).toMatchObject({ messagesMax: 1 });
    expect(() => parseRecordOptions({ out: 'x', messagesMax: 0 })).toThrow('--limit must be a whole number within 1..1000000000, got 0');
  });

  it('generate: 2000 orders/s for a minute on the first 500 demo cards and 60 merchants, 2 % trouble', () => {
    expect(parseGenerateOptions()).toEqual({ ...DEFAULT_GENERATE_OPTIONS, ratePerSecond: 2000, durationMs: 60_000, cardCount: 500, merchantCount: 60, seed: 1, cardSeed: DEMO_SEED, troubleShare: 0.02 });
    expect(() => parseGenerateOptions({ cardCount: 0 })).toThrow('--cards must be a whole number within 1..10000000, got 0');
    expect(() => parseGenerateOptions({ troubleShare: 2 })).toThrow('--trouble must be a number within 0..1, got 2');
    expect(() => parseGenerateOptions({ durationMs: 7 * 24 * 3_600_000 + 1 })).toThrow('--duration (ms) must be a whole number within 1..604800000');
  });
});

describe('parseBatchSubmitOptions, parseDemoOptions, parseRunOptions', () => {
  it('batch submit: payouts by default, waiting a minute for the report', () => {
    expect(parseBatchSubmitOptions({ file: 'b.csv' })).toEqual({ ...DEFAULT_BATCH_SUBMIT_OPTIONS, file: 'b.csv', defaultType: 'payout', wait: true, timeoutMs: 60_000 });
    expect(() => parseBatchSubmitOptions({ file: 'b.csv', mode: 'all' as never })).toThrow('--mode must be atomic or independent');
    expect(() => parseBatchSubmitOptions({ file: 'b.csv', expectedCount: 1_000_001 })).toThrow('--count must be a whole number within 1..1000000');
    expect(() => parseBatchSubmitOptions({ file: 'b.csv', source: 'a.b' })).toThrow('--source must be 1-64 of');
  });

  it('demo: 40 orders/s in data/demo, with the dashboard, on a private nats-server when there is one', () => {
    expect(parseDemoOptions()).toEqual({ ...DEFAULT_DEMO_OPTIONS, ratePerSecond: 40, offline: false, headless: false });
    expect(DEFAULT_DEMO_OPTIONS.dir.endsWith(path.join('data', 'demo'))).toBe(true);
    expect(() => parseDemoOptions({ ratePerSecond: 100_001 })).toThrow('--rate must be a number above 0 and at most 100000');
  });

  it('run: the flags become the runtime configuration, hours and minutes in milliseconds', () => {
    const flags: RunFlags = {
      risk: false,
      streamPrefix: 'PAY',
      durable: 'paystream',
      bufferMs: 0,
      bufferMax: 10,
      holdHours: 0.5,
      reviewMinutes: 2,
      reviewTimeout: 'approve',
      autoOpenMerchants: false,
      keepOrders: true,
      fourEyesAbove: 'none',
    };
    const config = parseRunOptions(parseGlobalOptions({ data: dataDir }, {}), flags);
    expect(config).toMatchObject({
      dataDir,
      natsUrl: 'nats://127.0.0.1:4222',
      rulesPath: false,
      buffer: { bufferWaitMs: 0, bufferItemsMax: 10 },
      apply: { autoOpenMerchants: false, authorizationHoldMs: 1_800_000, reviewTimeoutMs: 120_000, reviewTimeoutAction: 'approve' },
      topology: { prefix: 'pay', ordersRetention: 'limits' },
    });
  });
});
