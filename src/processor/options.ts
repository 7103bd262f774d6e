// The processor's options: one parse fills the defaults, checks the bounds and refuses contradictions; the
// processor reads only the parsed, complete object.

import type { NatsConnection } from 'nats';
import type { Observable } from 'rxjs';
import { DEFAULT_PAYLOAD_BYTES_MAX } from '../domain/decode.ts';
import { type ApplyOptions, DEFAULT_APPLY_OPTIONS } from '../domain/apply.ts';
import { type Bounds, OptionsError, wholeOption, withDefaults } from '../domain/option-checks.ts';
import type { RiskEvaluator } from '../domain/risk/decision.ts';
import type { MetricsAggregator } from '../metrics/aggregator.ts';
import type { LedgerStore } from '../ledger/store.ts';
import { DEFAULT_NATS_URL } from '../nats/connect.ts';
import { type Topology, DEFAULT_TOPOLOGY, MAX_ACK_PENDING_BOUNDS, ORDER_MESSAGE_BYTES_MAX, parseTopology } from '../nats/setup.ts';
import { type BufferOptions, DEFAULT_BUFFER_OPTIONS, parseBufferOptions } from '../../streams/buffer.ts';
import { type FaultHook, faultsFromSpec } from '../../streams/guard.ts';
import type { Publisher } from '../../streams/publish.ts';
import type { InboundMessage } from '../../streams/types.ts';
import { type BatchLimits, DEFAULT_BATCH_LIMITS, parseBatchLimits } from '../domain/batch-limits.ts';
import { parseApplyOptions } from './apply-options.ts';

export { AUTHORIZATION_HOLD_MS_BOUNDS, REVIEW_TIMEOUT_ACTIONS, REVIEW_TIMEOUT_MS_BOUNDS, parseApplyOptions } from './apply-options.ts';

const HOUR_MS = 3_600_000;


/** a payload larger than the orders stream takes could never arrive */
export const PAYLOAD_BYTES_BOUNDS: Bounds = { min: 1, max: ORDER_MESSAGE_BYTES_MAX };
/** how far ahead of the processor's clock an order's createdAt may be: a clock an hour off is broken, not skewed */
export const FUTURE_SKEW_MS_BOUNDS: Bounds = { min: 0, max: HOUR_MS };
/** messages pulled ahead: never more than the broker lets the processor hold unacknowledged */
export const PULL_BATCH_BOUNDS: Bounds = { min: 1, max: MAX_ACK_PENDING_BOUNDS.max };
/** holds and batches are checked for expiry at least once a minute */
export const SWEEP_INTERVAL_MS_BOUNDS: Bounds = { min: 10, max: 60_000 };

export interface ProcessorOptions {
  store: LedgerStore;
  /** absent for offline replays */
  nc?: NatsConnection;
  /** shown on the dashboard and in logs, never with credentials @default DEFAULT_NATS_URL */
  natsUrl: string;
  /** @default DEFAULT_TOPOLOGY */
  topology: Topology;
  /** @default DEFAULT_BUFFER_OPTIONS */
  buffer: BufferOptions;
  /** @default DEFAULT_APPLY_OPTIONS */
  apply: ApplyOptions;
  /** @default DEFAULT_BATCH_LIMITS */
  batches: BatchLimits;
  /** @default 8192 */
  payloadBytesMax: number;
  /** @default 30_000 */
  futureSkewMs: number;
  /** messages pulled ahead from JetStream @default 4000 */
  pullBatch: number;
  risk?: RiskEvaluator & { stats?(): { hitsByRule: Record<string, number> } };
  /** @default Date.now */
  clock: () => number;
  /** replay: each order's time is its recorded arrival @default false */
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

type Optional = 'store' | 'nc' | 'risk' | 'source' | 'publisher' | 'metrics' | 'faults';

export const DEFAULT_PROCESSOR_OPTIONS: Readonly<Omit<ProcessorOptions, Optional>> = Object.freeze({
  natsUrl: DEFAULT_NATS_URL,
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
});

/**
 * The processor's options, parsed: defaults for what is missing, every nested group parsed by its own
 * parse, numbers within their bounds. Refuses a processor with nothing to read (no NATS connection and no
 * offline source), virtual time without an offline source (its clock is the recording's), and pulling more
 * messages ahead than the broker lets it hold unacknowledged.
 */
export function parseProcessorOptions(partial: Partial<ProcessorOptions> & Pick<ProcessorOptions, 'store'>): ProcessorOptions {
  const options: ProcessorOptions = withDefaults({ ...DEFAULT_PROCESSOR_OPTIONS, store: partial.store }, partial);
  if (!('faults' in partial)) {
    const faults = faultsFromSpec(process.env.PAYSTREAM_TEST_FAULT);
    if (faults) options.faults = faults;
  }
  options.topology = parseTopology(options.topology);
  options.buffer = parseBufferOptions(options.buffer);
  options.apply = parseApplyOptions(options.apply);
  options.batches = parseBatchLimits(options.batches);
  wholeOption('payloadBytesMax', options.payloadBytesMax, PAYLOAD_BYTES_BOUNDS);
  wholeOption('futureSkewMs', options.futureSkewMs, FUTURE_SKEW_MS_BOUNDS);
  wholeOption('pullBatch', options.pullBatch, PULL_BATCH_BOUNDS);
  wholeOption('sweepIntervalMs', options.sweepIntervalMs, SWEEP_INTERVAL_MS_BOUNDS);
  if (!options.nc && !options.source) throw new OptionsError('a processor needs a NATS connection or an offline source');
  if (options.virtualTime && !options.source) throw new OptionsError('virtualTime needs an offline source: its clock is the recording');
  if (options.nc && options.pullBatch > options.topology.maxAckPending) {
    throw new OptionsError(`pullBatch (${options.pullBatch}) exceeds the topology's maxAckPending (${options.topology.maxAckPending})`);
  }
  return options;
}
