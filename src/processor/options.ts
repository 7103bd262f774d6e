// The processor's options: one parse fills the defaults, checks the bounds and refuses contradictions; the
// processor reads only the parsed, complete object.

import type { NatsConnection } from 'nats';
import type { Observable } from 'rxjs';
import { DEFAULT_PAYLOAD_BYTES_MAX } from '../domain/decode.ts';
import { type ApplyOptions, DEFAULT_APPLY_OPTIONS } from '../domain/apply.ts';
import type { RiskEvaluator } from '../domain/risk/decision.ts';
import type { MetricsAggregator } from '../metrics/aggregator.ts';
import type { LedgerStore } from '../ledger/store.ts';
import { type Topology, DEFAULT_TOPOLOGY } from '../nats/setup.ts';
import { type BufferOptions, DEFAULT_BUFFER_OPTIONS } from '../../streams/buffer.ts';
import { type FaultHook, faultsFromSpec } from '../../streams/guard.ts';
import type { Publisher } from '../../streams/publish.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { type BatchLimits, DEFAULT_BATCH_LIMITS, parseBatchLimits } from '../../streams/batches.ts';

export interface ProcessorOptions {
  store: LedgerStore;
  /** absent for offline replays */
  nc?: NatsConnection;
  natsUrl: string;
  topology: Topology;
  buffer: BufferOptions;
  apply: ApplyOptions;
  batches: BatchLimits;
  /** @default 8192 */
  payloadBytesMax: number;
  /** @default 30_000 */
  futureSkewMs: number;
  /** messages pulled ahead from JetStream @default 4000 */
  pullBatch: number;
  risk?: RiskEvaluator & { stats?(): { hitsByRule: Record<string, number> } };
  clock: () => number;
  /** replay: each order's time is its recorded arrival */
  virtualTime: boolean;
  /** a source other than the durable consumer (offline replay) */
  source?: Observable<InboundMessage>;
  /** results/dlq sink when there is no broker */
  publisher?: Publisher;
  metrics?: MetricsAggregator;
  /** how often held/authorized holds are checked for expiry @default 1000 */
  sweepIntervalMs: number;
  /** test seam: stages throw on purpose for the orders it names @default from PAYSTREAM_TEST_FAULT (stage:orderId,...) */
  faults?: FaultHook;
}

export function processorOptions(
  partial: Partial<ProcessorOptions> & Pick<ProcessorOptions, 'store'>,
): ProcessorOptions {
  const options: ProcessorOptions = {
    natsUrl: 'nats://127.0.0.1:4222',
    topology: DEFAULT_TOPOLOGY,
    buffer: DEFAULT_BUFFER_OPTIONS,
    apply: DEFAULT_APPLY_OPTIONS,
    batches: DEFAULT_BATCH_LIMITS,
    payloadBytesMax: DEFAULT_PAYLOAD_BYTES_MAX,
    futureSkewMs: 30_000,
    pullBatch: 4000,
    clock: Date.now,
    virtualTime: false,
    sweepIntervalMs: 1000,
    ...partial,
  };
  if (!('faults' in partial)) {
    const faults = faultsFromSpec(process.env.PAYSTREAM_TEST_FAULT);
    if (faults) options.faults = faults;
  }
  if (options.buffer.bufferItemsMax < 1 || options.buffer.bufferItemsMax > 50_000) {
    throw new Error(`bufferItemsMax must be within 1..50000, got ${options.buffer.bufferItemsMax}`);
  }
  if (options.buffer.bufferWaitMs < 0 || options.buffer.bufferWaitMs > 10_000) {
    throw new Error(`bufferWaitMs must be within 0..10000, got ${options.buffer.bufferWaitMs}`);
  }
  options.batches = parseBatchLimits(options.batches);
  if (!options.nc && !options.source) throw new Error('a processor needs a NATS connection or an offline source');
  return options;
}

