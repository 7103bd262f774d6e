// The processor's and the runtime's options are parsed once, before anything opens: defaults filled,
// every nested group through its own parse, contradictions refused with a sentence naming both sides.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { of } from 'rxjs';
import { DEFAULT_APPLY_OPTIONS } from '../../src/domain/apply.ts';
import type { LedgerStore } from '../../src/ledger/store.ts';
import { DEFAULT_NATS_URL, NO_NATS_AUTH } from '../../src/nats/connect.ts';
import { DEFAULT_TOPOLOGY } from '../../src/nats/setup.ts';
import { DEFAULT_RUNTIME_CONFIG, parseRuntimeConfig } from '../../src/processor/launch.ts';
import { DEFAULT_PROCESSOR_OPTIONS, parseApplyOptions, parseProcessorOptions } from '../../src/processor/options.ts';
import { DEFAULT_BUFFER_OPTIONS } from '../../streams/buffer.ts';
import { aTempStore, removeDataDir } from '../ledger/builders.ts';
import { DEFAULT_BATCH_LIMITS } from '../../src/domain/batch-limits.ts';

let store: LedgerStore;
let dataDir: string;
beforeAll(async () => {
  ({ store, dataDir } = await aTempStore());
});
afterAll(async () => {
  await store.close();
  await removeDataDir(dataDir);
});

const offline = () => ({ store, source: of() });

describe('parseProcessorOptions', () => {
  it('fills the documented defaults around what is given', () => {
    const options = parseProcessorOptions({ ...offline(), pullBatch: 100 });
    expect(options).toMatchObject({ ...DEFAULT_PROCESSOR_OPTIONS, pullBatch: 100, natsUrl: DEFAULT_NATS_URL });
    expect(options.topology).toEqual(DEFAULT_TOPOLOGY);
    expect(options.buffer).toEqual(DEFAULT_BUFFER_OPTIONS);
    expect(options.batches).toEqual(DEFAULT_BATCH_LIMITS);
  });

  it('parses each nested group with its own parse', () => {
    expect(() => parseProcessorOptions({ ...offline(), buffer: { bufferWaitMs: 5, bufferItemsMax: 50_001 } })).toThrow('bufferItemsMax must be a whole number within 1..50000');
    expect(() => parseProcessorOptions({ ...offline(), topology: { ...DEFAULT_TOPOLOGY, durable: 'a b' } })).toThrow('topology durable');
    expect(() => parseProcessorOptions({ ...offline(), apply: { ...DEFAULT_APPLY_OPTIONS, reviewTimeoutMs: 0 } })).toThrow('reviewTimeoutMs must be a whole number');
  });

  it.each([
    [{ payloadBytesMax: 65_537 }, 'payloadBytesMax must be a whole number within 1..65536'],
    [{ futureSkewMs: -1 }, 'futureSkewMs must be a whole number within 0..3600000'],
    [{ sweepIntervalMs: 0 }, 'sweepIntervalMs must be a whole number within 10..60000'],
    [{ pullBatch: 0 }, 'pullBatch must be a whole number within 1..1000000'],
  ])('refuses %j', (partial, message) => {
    expect(() => parseProcessorOptions({ ...offline(), ...partial })).toThrow(message);
  });

  it('refuses a processor with nothing to read, and virtual time without a recording to take it from', () => {
    expect(() => parseProcessorOptions({ store })).toThrow('a processor needs a NATS connection or an offline source');
    expect(() => parseProcessorOptions({ store, nc: {} as never, virtualTime: true })).toThrow('virtualTime needs an offline source');
  });

  it('refuses pulling more messages ahead than the broker lets the processor hold unacknowledged', () => {
    const topology = { ...DEFAULT_TOPOLOGY, maxAckPending: 1000 };
    expect(() => parseProcessorOptions({ store, nc: {} as never, topology, pullBatch: 1001 })).toThrow("pullBatch (1001) exceeds the topology's maxAckPending (1000)");
    expect(parseProcessorOptions({ store, nc: {} as never, topology, pullBatch: 1000 }).pullBatch).toBe(1000);
  });
});

describe('parseApplyOptions', () => {
  it('holds last up to a year, reviews up to 30 days, and a review timeout declines or approves', () => {
    expect(parseApplyOptions()).toEqual(DEFAULT_APPLY_OPTIONS);
    expect(parseApplyOptions({ authorizationHoldMs: 365 * 86_400_000 }).authorizationHoldMs).toBe(365 * 86_400_000);
    expect(() => parseApplyOptions({ authorizationHoldMs: 365 * 86_400_000 + 1 })).toThrow('authorizationHoldMs must be a whole number within 1..31536000000');
    expect(() => parseApplyOptions({ reviewTimeoutMs: 30 * 86_400_000 + 1 })).toThrow('reviewTimeoutMs must be a whole number within 1..2592000000');
    expect(() => parseApplyOptions({ reviewTimeoutAction: 'escalate' as never })).toThrow('reviewTimeoutAction must be decline or approve, got escalate');
  });
});

describe('parseRuntimeConfig', () => {
  it('fills the documented defaults: the local NATS URL, no credentials, the default topology, no fsync', () => {
    const config = parseRuntimeConfig({ dataDir });
    expect(config).toMatchObject({ ...DEFAULT_RUNTIME_CONFIG, dataDir, natsUrl: 'nats://127.0.0.1:4222', natsAuth: NO_NATS_AUTH });
    expect(config.metricsPort).toBeUndefined();
  });

  it('checks every group before anything opens, and the metrics port within 0..65535 (0: a free one)', () => {
    expect(parseRuntimeConfig({ dataDir, metricsPort: 0 }).metricsPort).toBe(0);
    expect(() => parseRuntimeConfig({ dataDir, metricsPort: 65_536 })).toThrow('metricsPort must be a whole number within 0..65535');
    expect(() => parseRuntimeConfig({ dataDir, buffer: { bufferWaitMs: -1, bufferItemsMax: 10 } })).toThrow('bufferWaitMs');
    expect(() => parseRuntimeConfig({ dataDir, batches: { ...DEFAULT_BATCH_LIMITS, openBatchesPerSourceMax: 2000 } })).toThrow('openBatchesPerSourceMax');
    expect(() => parseRuntimeConfig({ dataDir, rulesPath: '' })).toThrow('rulesPath must name a rules file, or be false');
  });
});
