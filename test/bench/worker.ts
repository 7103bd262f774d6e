// A bench worker in its own process (forked by bench.ts): the broker-limit consumer, the storage limit, the
// processor under load, the risk micro-bench. Talks to the parent over IPC; wall-clock time is what it measures.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { PassThrough, Writable } from 'node:stream';
import { ClassicLevel } from 'classic-level';
import { AckPolicy, DeliverPolicy, type JsMsg, nanos } from 'nats';
import { tokenizePan } from '../../src/domain/cards.ts';
import { DEFAULT_PAYLOAD_BYTES_MAX } from '../../src/domain/decode.ts';
import { DEFAULT_APPLY_OPTIONS } from '../../src/domain/apply.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { connectNats } from '../../src/nats/setup.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import { applyBuffer } from '../../streams/apply.ts';
import { decodeOne } from '../../streams/decode.ts';
import { DASHBOARD_FRAME_MS, toSnapshots } from '../../streams/metrics.ts';
import type { Item } from '../../streams/types.ts';
import { validateOne } from '../../streams/validate.ts';
import { renderDashboard } from '../../ui/index.tsx';
import { benchTraffic, type ChildMessage, sleep } from './lib.ts';
import { benchRisk } from './risk-bench.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const send = (m: ChildMessage): Promise<void> =>
  new Promise((resolve, reject) => process.send!(m, undefined, {}, (e) => (e ? reject(e) : resolve())));

const inbox: ChildMessage[] = [];
/** every receive() waiting: woken on each message to look for its type */
const inboxWaiters = new Set<() => void>();
process.on('message', (m: ChildMessage) => {
  inbox.push(m);
  for (const wake of [...inboxWaiters]) wake();
});
async function receive(type: string): Promise<ChildMessage> {
  for (;;) {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return inbox.splice(i, 1)[0]!;
    await new Promise<void>((r) => {
      const wake = () => {
        inboxWaiters.delete(wake);
        r();
      };
      inboxWaiters.add(wake);
    });
  }
}

// ---- 1. the broker limit: one process consuming a durable consumer with acks, and nothing else --------

export interface BrokerArgs {
  natsUrl: string;
  stream: string;
  durable: string;
  ack: 'all' | 'explicit';
  /** with AckPolicy.All: ack every this many messages (and the last) */
  ackEvery: number;
  pullBatch: number;
  maxAckPending: number;
  expected: number;
}

/** A connection and the durable consumer the broker-limit and floor workers read: from the stream's start. */
async function durableConsumer(a: BrokerArgs, name: string) {
  const nc = await connectNats({ url: a.natsUrl, name });
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(a.stream, {
    durable_name: a.durable,
    ack_policy: a.ack === 'all' ? AckPolicy.All : AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_ack_pending: a.maxAckPending,
  });
  return { nc, jsm, consumer: await nc.jetstream().consumers.get(a.stream, a.durable) };
}

async function broker(a: BrokerArgs): Promise<void> {
  const { nc, jsm, consumer } = await durableConsumer(a, 'bench-broker');
  const started = performance.now();
  let last: JsMsg | undefined;
  const count = await consumeExpected(consumer, a, (m, n) => {
    if (a.ack === 'explicit') m.ack();
    else if (n % a.ackEvery === 0) m.ack();
    last = m;
  });
  if (a.ack === 'all') (last as JsMsg | undefined)?.ack();
  await nc.flush();
  const seconds = (performance.now() - started) / 1000;
  const info = await jsm.consumers.info(a.stream, a.durable);
  await send({ type: 'done', count, seconds, ackFloor: info.ack_floor.stream_seq, maxRssMB: process.resourceUsage().maxRSS / 1024 });
  await nc.close();
}

type Consumer = Awaited<ReturnType<typeof durableConsumer>>['consumer'];

/**
 * Hands the first `expected` messages to `onMessage` (with their count so far) through the consumer's
 * callback, the cheapest way nats.js hands over messages (the processor's source reads so too); resolves with
 * the count once they have all come.
 */
async function consumeExpected(consumer: Consumer, a: BrokerArgs, onMessage: (m: JsMsg, count: number) => void): Promise<number> {
  let count = 0;
  let allReceived!: () => void;
  const received = new Promise<void>((resolve) => {
    allReceived = resolve;
  });
  const messages = await consumer.consume({
    max_messages: a.pullBatch,
    callback: (m) => {
      if (count >= a.expected) return;
      onMessage(m, ++count);
      if (count >= a.expected) allReceived();
    },
  });
  await received;
  messages.stop();
  return count;
}

// ---- 1b. the stack's floor: the least any design on these parts does for an order ----------------------

export interface FloorArgs extends BrokerArgs {
  dataDir: string;
  resultsSubject: string;
  bufferItems: number;
}

/**
 * Consume (through the consumer's callback, as the processor does), then for each order what no design can
 * leave out: decode the payload and parse its JSON, one LevelDB put (the order as received, in a batch of
 * `bufferItems`, written while the next batch fills, writes one after the other, what is in flight bounded by
 * max_ack_pending), one result published to the results stream, one ack a batch, after its write. No validation, risk, reads, ledger arithmetic or second encoding: paystream's own work
 * is what the end-to-end figure adds to this.
 */
async function floor(a: FloorArgs): Promise<void> {
  if (a.ack !== 'all') throw new Error('the floor acks a batch at a time: ack must be "all"');
  const { nc, consumer } = await durableConsumer(a, 'bench-floor');
  const db = new ClassicLevel<string, string>(a.dataDir, { valueEncoding: 'utf8', writeBufferSize: 16 * 1024 * 1024 });
  await db.open();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const started = performance.now();
  let count = 0;
  let batch = db.batch();
  let ids: string[] = [];
  const inFlight: Promise<void>[] = [];
  // writes one after the other, so an ack (AckPolicy.All) never covers a batch still being written
  let writes = Promise.resolve();
  const flush = (last: JsMsg) => {
    const full = batch;
    const written = writes.then(() => full.write());
    writes = written;
    const batchIds = ids;
    batch = db.batch();
    ids = [];
    inFlight.push(
      written.then(() => {
        for (const id of batchIds) nc.publish(`${a.resultsSubject}.accepted.${id}`, encoder.encode(`{"orderId":"${id}","status":"accepted"}`));
        last.ack();
        inFlight.shift();
      }),
    );
  };
  // through the consumer's callback, as the processor's source reads (streams/source.ts); the broker's
  // max_ack_pending bounds what is in flight, as it does for the processor
  count = await consumeExpected(consumer, a, (m, n) => {
    const text = decoder.decode(m.data);
    let id = `seq-${m.seq}`;
    try {
      const order = JSON.parse(text) as { id?: unknown };
      if (typeof order.id === 'string') id = order.id;
    } catch {
      // the bench traffic's malformed payloads: kept under their stream sequence, as a dead letter would be
    }
    batch.put(`o!${id}`, text);
    ids.push(id);
    if (ids.length >= a.bufferItems || n >= a.expected) flush(m);
  });
  await Promise.all(inFlight);
  await nc.flush();
  const seconds = (performance.now() - started) / 1000;
  await send({ type: 'done', count, seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 });
  await db.close();
  await nc.close();
}

// ---- 2. the storage limit: the apply stage (prefetch, decide, one batch) on a seeded ledger, no NATS ------

export interface StorageArgs {
  dataDir: string;
  cards: number;
  orders: number;
  bufferItems: number;
  sync: boolean;
}

/** Calls `onWritten` with each LevelDB write's operation count and time from its call to its completion. */
function timeWrites(store: LedgerStore, onWritten: (ops: number, ms: number) => void): void {
  const writeBatch = store.writeBatch.bind(store);
  store.writeBatch = (batch) => {
    const ops = batch.length;
    const started = performance.now();
    const written = writeBatch(batch);
    void written.then(
      () => onWritten(ops, performance.now() - started),
      () => undefined,
    );
    return written;
  };
}

async function storage(a: StorageArgs): Promise<void> {
  const store = await LedgerStore.open(a.dataDir, { sync: a.sync });
  // time spent inside commit (encode + ops + db.batch) and inside db.batch alone, measured by wrapping
  let commitMs = 0;
  let writeMs = 0;
  let opsWritten = 0;
  const commit = store.commit.bind(store);
  store.commit = async (...args) => {
    const t = performance.now();
    await commit(...args);
    commitMs += performance.now() - t;
  };
  timeWrites(store, (ops, ms) => {
    opsWritten += ops;
    writeMs += ms;
  });
  const deps = {
    store,
    options: DEFAULT_APPLY_OPTIONS,
    clock: Date.now,
    virtualTime: false,
    scrub: (p: Uint8Array) => p,
  };
  const traffic = benchTraffic({
    cards: a.cards,
    idPrefix: `st${Date.now().toString(36)}`,
    messagesMax: a.orders,
    startMs: Date.now(),
    ratePerSecond: 1_000_000,
  });
  const tokenize = (pan: string) => tokenizePan(pan, store.secret);
  let applyMs = 0;
  let streamSeq = 0;
  let items = 0;
  let results = 0;
  const statuses: Record<string, number> = {};
  for (let done = false; !done; ) {
    // build a buffer outside the clock: decode and validate are the pipeline's, not the storage's
    const buffer: Item[] = [];
    const nowMs = Date.now();
    while (buffer.length < a.bufferItems) {
      const next = traffic.next();
      if (next.done) {
        done = true;
        break;
      }
      // a stream sequence, as the processor's messages have: each buffer notes its attempt and records them
      const msg = { subject: next.value.subject, data: next.value.data, receivedAtMs: nowMs, streamSeq: ++streamSeq };
      const decoded = decodeOne(msg, { payloadBytesMax: DEFAULT_PAYLOAD_BYTES_MAX }, 'pay.batches.');
      const item = validateOne(decoded, { tokenizePan: tokenize, clock: Date.now, futureSkewMs: 30_000 }, nowMs);
      if (item.kind === 'order' || item.kind === 'rejected') buffer.push(item);
    }
    if (buffer.length === 0) break;
    const t = performance.now();
    const applied = await store.exclusive(() => applyBuffer(deps, buffer));
    applyMs += performance.now() - t;
    items += buffer.length;
    results += applied.results.length;
    for (const { result } of applied.results) statuses[result.status] = (statuses[result.status] ?? 0) + 1;
  }
  await store.close();
  await send({ type: 'done', items, results, applyMs, commitMs, writeMs, opsWritten, statuses });
}

/**
 * CPU ms of each of this process's threads by thread id (Linux /proc; {} elsewhere). Node does not name
 * its threads; the main thread's id is the pid, and under load the busiest other one is LevelDB's single
 * background (compaction) thread, then V8's GC helpers and the libuv pool.
 */
export function threadsCpuMs(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // fields after the command name in parentheses: utime and stime are the 12th and 13th, in 1/100 s
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[tid] = (Number(fields[11]) + Number(fields[12])) * 10;
    }
  } catch {
    return {};
  }
  return out;
}

// ---- 3-6. the processor, under the load the parent offers ----------------------------------------------

export interface ProcessorArgs {
  dataDir: string;
  natsUrl: string;
  sync: boolean;
  rules: boolean;
  dashboard: boolean;
  sampleMs: number;
}

class FakeTerminal extends Writable {
  columns = 120;
  rows = 40;
  isTTY = true;
  bytes = 0;
  writes = 0;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.bytes += chunk.length;
    this.writes++;
    cb();
  }
}

function fakeStdin(): NodeJS.ReadStream {
  return Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode() {
      return this;
    },
    ref() {
      return this;
    },
    unref() {
      return this;
    },
  }) as unknown as NodeJS.ReadStream;
}

/**
 * [ms since start, RSS, heap used, heap committed, external, RSS anonymous, RSS file-backed] in MB. The
 * file-backed part is mostly LevelDB's table files, which it memory-maps for reading: clean page cache the
 * kernel takes back under pressure, yet counted in RSS (Linux /proc/self/status; 0 where unavailable).
 */
export type MemorySample = [number, number, number, number, number, number, number];

function memorySample(atMs: number): MemorySample {
  const m = process.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  let anonKb = 0;
  let fileKb = 0;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    anonKb = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
    fileKb = Number(/RssFile:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    // not Linux: the split stays unknown
  }
  return [atMs, mb(m.rss), mb(m.heapUsed), mb(m.heapTotal), mb(m.external), Math.round(anonKb / 1024), Math.round(fileKb / 1024)];
}

/** The dashboard drawn into a fake 120x40 terminal that counts what it is sent. */
function dashboardOn(runtime: Runtime): { terminal: FakeTerminal; dashboard: ReturnType<typeof renderDashboard> } {
  const terminal = new FakeTerminal();
  const dashboard = renderDashboard(
    { snapshots: toSnapshots(runtime.processor.metrics, Date.now, DASHBOARD_FRAME_MS), actions: { ...runtime.actions, quit: () => undefined } },
    {
      stdout: terminal as unknown as NodeJS.WriteStream,
      stderr: terminal as unknown as NodeJS.WriteStream,
      stdin: fakeStdin(),
      patchConsole: false,
    },
  );
  return { terminal, dashboard };
}

async function processor(a: ProcessorArgs): Promise<void> {
  const samples: MemorySample[] = [];
  const t0 = performance.now();
  const sample = () => samples.push(memorySample(Math.round(performance.now() - t0)));
  const sampler = setInterval(sample, a.sampleMs);
  const runtime: Runtime = await startRuntime(
    parseRuntimeConfig({
      dataDir: a.dataDir,
      natsUrl: a.natsUrl,
      sync: a.sync,
      ...(a.rules ? {} : { rulesPath: false as const }),
    }),
  );
  const startupMs = performance.now() - t0;
  sample();
  const statuses: Record<string, number> = {};
  let results = 0;
  runtime.processor.results$.subscribe((r) => {
    results++;
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  });
  const { terminal, dashboard } = a.dashboard ? dashboardOn(runtime) : {};
  const cpuMs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  // where a stall comes from: the main thread's event loop, and each LevelDB write (from its call to its
  // completion), over the time since the bench last asked
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  let writeMs: number[] = [];
  timeWrites(runtime.store, (_ops, ms) => {
    if (writeMs.length < 100_000) writeMs.push(ms);
  });
  const gc = new GcPauses();
  const stalls = () => {
    const sorted = writeMs.sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    const out = {
      eventLoopMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      writes: { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] ?? 0 },
      gc: gc.take(),
    };
    loopDelay.reset();
    writeMs = [];
    return out;
  };
  const allocations = await startAllocationProfile(process.env.BENCH_ALLOC_PROFILE);
  await send({ type: 'ready', startupMs, atMs: Date.now(), cpuMs: cpuMs(), threadsCpuMs: threadsCpuMs() });
  // the bench asks how much CPU the processor has used when its backlog is drained
  void (async () => {
    for (;;) {
      await receive('cpu');
      await send({ type: 'cpu', cpuMs: cpuMs(), threadsCpuMs: threadsCpuMs(), stalls: stalls() });
    }
  })();
  await receive('stop');
  await allocations?.();
  gc.stop();
  dashboard?.unmount();
  await runtime.stop();
  clearInterval(sampler);
  sample();
  await send({
    type: 'done',
    startupMs,
    results,
    statuses,
    samples,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    risk: runtime.risk?.stats(),
    dashboard: terminal ? { bytes: terminal.bytes, writes: terminal.writes } : undefined,
  });
}

/**
 * BENCH_ALLOC_PROFILE=FILE: V8's sampling heap profiler over everything the processor allocates from
 * `ready` to `stop`, the objects collected since included (what the scavenger has to sweep), written to FILE
 * (a .heapprofile: Chrome DevTools' Memory tab, or summarised by profile-summary.ts --alloc). Returns the stop.
 */
async function startAllocationProfile(file: string | undefined): Promise<(() => Promise<void>) | undefined> {
  if (!file) return undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 32 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  return async () => {
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: unknown };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** What the collector stopped the main thread for, by kind, since the last `take` (perf_hooks GC entries). */
export interface GcPauseSummary {
  count: number;
  totalMs: number;
  maxPauseMs: number;
  /** pauses longer than 20 ms (the latency target's budget for one) */
  over20Ms: number;
  byKind: Record<string, { count: number; totalMs: number; maxMs: number }>;
}

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

/**
 * Node reports each collection's pause on the main thread as a 'gc' performance entry: a scavenge, the
 * atomic pause that ends a mark-compact, an incremental-marking step it runs at an allocation. Concurrent
 * marking on helper threads is not a pause and is not reported (it shows as those threads' CPU).
 */
class GcPauses {
  private summary = GcPauses.empty();
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.add((entry as unknown as { detail?: { kind?: number } }).detail?.kind, entry.duration);
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  private static empty(): GcPauseSummary {
    return { count: 0, totalMs: 0, maxPauseMs: 0, over20Ms: 0, byKind: {} };
  }

  private add(kind: number | undefined, ms: number): void {
    const s = this.summary;
    s.count++;
    s.totalMs += ms;
    s.maxPauseMs = Math.max(s.maxPauseMs, ms);
    if (ms > 20) s.over20Ms++;
    const name = GC_KINDS[kind ?? -1] ?? `kind ${kind}`;
    s.byKind[name] ??= { count: 0, totalMs: 0, maxMs: 0 };
    const k = s.byKind[name];
    k.count++;
    k.totalMs += ms;
    k.maxMs = Math.max(k.maxMs, ms);
  }

  take(): GcPauseSummary {
    const out = this.summary;
    this.summary = GcPauses.empty();
    return out;
  }

  stop(): void {
    this.observer.disconnect();
  }
}

// ---- 7. the risk engine micro-bench --------------------------------------------------------------------

async function risk(): Promise<void> {
  await send({ type: 'done', ...(await benchRisk()) });
}

const [role, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}');
const roles: Record<string, (a: never) => Promise<void>> = { broker, floor, storage, processor, risk };
const run = roles[role ?? ''];
if (!run) throw new Error(`unknown worker role ${role}`);
run(args as never).then(
  async () => {
    await sleep(20);
    process.exit(0);
  },
  async (error: unknown) => {
    await send({ type: 'error', message: (error as Error).stack ?? String(error) }).catch(() => undefined);
    process.exit(1);
  },
);
