// `npm run bench`: paystream against this machine's own limits, in one run, as one table (and JSON).
// Broker limit, storage limit, end-to-end throughput and latency, memory, start-up, dashboard cost, risk, and
// the CLI's start-up (cli.ts).
// Options: --quick (smoke run), --json, --latency-rate N, --orders N, --cards N, --seconds S, --mem-cards N, --only a,b,
// --profile (CPU-profile the end-to-end processor), --keep (keep the work dir). Not part of `npm test`. A run
// of some phases (--only) or a --quick run writes results/last-partial.json; only a full run replaces latest.json.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import type { JetStreamManager, Msg, NatsConnection } from 'nats';
import { type EmbeddedNats, natsServerBinary, startNatsServer } from '../../src/nats/embedded.ts';
import { connectNats, DEFAULT_TOPOLOGY, ensureTopology, streamNames, subjects } from '../../src/nats/setup.ts';
import { DASHBOARD_FRAME_MS } from '../../streams/metrics.ts';
import { CLI_TARGETS, phaseCli } from './cli.ts';
import type { GcPauseSummary, MemorySample } from './worker.ts';
import {
  type BenchMessage,
  benchTraffic,
  here,
  machineInfo,
  publishBacklog,
  publishOne,
  seededTemplate,
  sleep,
  applyDemoSecret,
  waitAckFloor,
  Worker,
  workingCopy,
} from './lib.ts';

// ---- options --------------------------------------------------------------------------------------------

/** where a quick or partial run writes its results (git-ignored): never over latest.json */
const PARTIAL_RESULTS_FILE = 'last-partial.json';

const PHASES = ['cli', 'risk', 'storage', 'broker', 'floor', 'e2e', 'latency', 'dashboard', 'sync', 'memory'] as const;
type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  quick: boolean;
  json: boolean;
  /** orders in the sustained end-to-end run (and the broker-limit backlog) @default 1_000_000 (quick 60_000) */
  orders: number;
  /** cards in the end-to-end ledger @default 100_000 (quick 20_000) */
  cards: number;
  /** length of the fixed-load latency run @default 20 (quick 5) */
  seconds: number;
  /** cards in the ledger of the memory and start-up figures @default 1_000_000 (quick: --cards) */
  memCards: number;
  /** orders in each arm of the dashboard comparison and in the --sync run @default 200_000 (quick 20_000) */
  armOrders: number;
  /** headless/dashboard pairs, alternated so drift hits both arms alike @default 2 (quick 1) */
  armPairs: number;
  /** orders through the storage-limit run @default 500_000 (quick 40_000) */
  storageOrders: number;
  only: Set<Phase>;
  profile: boolean;
  keep: boolean;
  /** offered load of the latency run, instead of half the measured maximum */
  latencyRate?: number;
}

function intArg(name: string, text: string | undefined, min: number, max: number): number {
  const n = Number(text?.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer within ${min}..${max}, got ${text}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (['quick', 'json', 'profile', 'keep'].includes(key)) flags.set(key, true);
    else if (['orders', 'cards', 'seconds', 'mem-cards', 'only', 'arm-orders', 'arm-pairs', 'storage-orders', 'latency-rate'].includes(key)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`--${key} needs a value`);
      flags.set(key, value);
    } else throw new Error(`unknown option --${key} (see the top of test/bench/bench.ts)`);
  }
  const quick = flags.has('quick');
  const get = (k: string) => (typeof flags.get(k) === 'string' ? (flags.get(k) as string) : undefined);
  const orders = get('orders') ? intArg('--orders', get('orders'), 1000, 50_000_000) : quick ? 60_000 : 1_000_000;
  const cards = get('cards') ? intArg('--cards', get('cards'), 100, 10_000_000) : quick ? 20_000 : 100_000;
  const only = new Set<Phase>();
  for (const p of (get('only') ?? PHASES.join(',')).split(',')) {
    if (!PHASES.includes(p as Phase)) throw new Error(`--only takes ${PHASES.join(',')}, got ${p}`);
    only.add(p as Phase);
  }
  if (only.has('latency')) only.add('e2e'); // the offered load is half of the measured maximum
  return {
    quick,
    json: flags.has('json'),
    orders,
    cards,
    seconds: get('seconds') ? intArg('--seconds', get('seconds'), 2, 3600) : quick ? 5 : 20,
    memCards: get('mem-cards') ? intArg('--mem-cards', get('mem-cards'), 100, 10_000_000) : quick ? cards : 1_000_000,
    armOrders: get('arm-orders') ? intArg('--arm-orders', get('arm-orders'), 1000, 10_000_000) : quick ? 20_000 : 200_000,
    armPairs: get('arm-pairs') ? intArg('--arm-pairs', get('arm-pairs'), 1, 10) : quick ? 1 : 2,
    storageOrders: get('storage-orders')
      ? intArg('--storage-orders', get('storage-orders'), 1000, 50_000_000)
      : quick
        ? 40_000
        : Math.min(orders, 500_000),
    only,
    profile: flags.has('profile'),
    keep: flags.has('keep'),
    ...(get('latency-rate') ? { latencyRate: intArg('--latency-rate', get('latency-rate'), 10, 1_000_000) } : {}),
  };
}

// ---- figures --------------------------------------------------------------------------------------------

interface Figure {
  id: string;
  label: string;
  value: number;
  unit: string;
  target?: string;
  pass?: boolean;
  note?: string;
}

const figures: Figure[] = [];
const extra: Record<string, unknown> = {};
const started = performance.now();
let jsonOnly = false;
const log = (line: string) => {
  const load = os.loadavg()[0]!.toFixed(2);
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s, load ${load}] ${line}\n`);
};
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const add = (f: Figure) => {
  figures.push(f);
  log(`${f.label}: ${fmt(f.value, f.unit === 'orders/s' ? 0 : 1)} ${f.unit}${f.pass === undefined ? '' : f.pass ? ' (pass)' : ' (FAIL)'}`);
};
const load1 = () => Number(os.loadavg()[0]!.toFixed(2));

// ---- phases ---------------------------------------------------------------------------------------------

interface ProcessorDone {
  type: 'done';
  startupMs: number;
  results: number;
  statuses: Record<string, number>;
  samples: MemorySample[];
  maxRssMB: number;
  risk?: { hitsByRule: Record<string, number> };
  dashboard?: { bytes: number; writes: number };
}

interface ArmResult {
  ordersPerSecond: number;
  /** rate between 10% and 90% of the backlog: the warm-up and the tail left out */
  steadyOrdersPerSecond: number;
  seconds: number;
  messages: number;
  done: ProcessorDone;
  load: number;
  /** the processor's CPU time (user + system, all its threads) per order while it drained the backlog */
  cpuMicrosPerOrder: number;
  /** the same split by thread: main, the busiest other (LevelDB's compaction thread under load), the rest */
  threadsMicrosPerOrder: { main: number; busiestOther: number; rest: number } | undefined;
  /** the collector's pauses of the main thread while it drained the backlog (from its start) */
  gc: GcPauseSummary;
}

class Bench {
  nats!: EmbeddedNats;
  nc!: NatsConnection;
  jsm!: JetStreamManager;
  readonly stream = streamNames(DEFAULT_TOPOLOGY).orders;
  private phaseSeq = 0;

  constructor(
    readonly o: BenchOptions,
    readonly workDir: string,
  ) {}

  async startBroker(name: string): Promise<void> {
    this.nats = await startNatsServer({ storeDir: path.join(this.workDir, `nats-${name}`) });
    this.nc = await connectNats({ url: this.nats.url, name: 'bench' });
    this.jsm = await this.nc.jetstreamManager();
    await ensureTopology(this.nc, DEFAULT_TOPOLOGY);
  }

  async stopBroker(): Promise<void> {
    await this.nc.drain().catch(() => undefined);
    await this.nats.stop();
    await rm(this.nats.storeDir, { recursive: true, force: true });
  }

  /** Pre-publishes `count` messages of fresh traffic (createdAt ~ now) for `cards` cards. */
  async backlog(count: number, cards: number): Promise<{ firstSeq: number; lastSeq: number; rate: number }> {
    const before = (await this.jsm.streams.info(this.stream)).state.last_seq;
    const r = await publishBacklog(
      this.nc,
      this.jsm,
      this.stream,
      benchTraffic({
        cards,
        idPrefix: `b${(this.phaseSeq++).toString(36)}${Date.now().toString(36)}`,
        messagesMax: count,
        startMs: Date.now(),
        ratePerSecond: 1_000_000,
      }),
    );
    log(`published ${fmt(r.sent)} messages in ${r.seconds.toFixed(1)} s (${fmt(r.sent / r.seconds)}/s); stream at ${fmt(r.lastSeq)}`);
    return { firstSeq: before + 1, lastSeq: r.lastSeq, rate: r.sent / r.seconds };
  }

  processor(dataDir: string, options: { sync?: boolean; dashboard?: boolean; execArgv?: string[] }): Worker {
    const execArgv = options.execArgv ?? [];
    return new Worker(
      'processor',
      { dataDir, natsUrl: this.nats.url, sync: options.sync ?? false, rules: true, dashboard: options.dashboard ?? false, sampleMs: 250 },
      execArgv,
    );
  }

  /** Waits until the processor has acked the backlog; returns its rates. The worker keeps running. */
  async drainBacklog(worker: Worker, firstSeq: number, lastSeq: number): Promise<Omit<ArmResult, 'done'> & { startupMs: number }> {
    const ready = await worker.next<{ type: 'ready'; startupMs: number; atMs: number; cpuMs: number; threadsCpuMs: Record<string, number> }>('ready');
    const messages = lastSeq - firstSeq + 1;
    const marks: { at10?: number; at90?: number } = {};
    const doneAt = await waitAckFloor(this.jsm, this.stream, DEFAULT_TOPOLOGY.durable, lastSeq, {
      onPoll: (floor) => {
        const share = (floor - firstSeq + 1) / messages;
        if (share >= 0.1 && marks.at10 === undefined) marks.at10 = Date.now();
        if (share >= 0.9 && marks.at90 === undefined) marks.at90 = Date.now();
      },
    });
    const cpu = await processorCpu(worker);
    const cpuMicrosPerOrder = ((cpu.cpuMs - ready.cpuMs) * 1000) / messages;
    const threadsMicrosPerOrder = threadSplit(ready.threadsCpuMs, cpu.threadsCpuMs, worker.child.pid, messages);
    const seconds = (doneAt - ready.atMs) / 1000;
    const steady = marks.at10 !== undefined && marks.at90 !== undefined && marks.at90 > marks.at10 ? (0.8 * messages) / ((marks.at90 - marks.at10) / 1000) : messages / seconds;
    return {
      ordersPerSecond: messages / seconds,
      steadyOrdersPerSecond: steady,
      seconds,
      messages,
      startupMs: ready.startupMs,
      load: load1(),
      cpuMicrosPerOrder,
      threadsMicrosPerOrder,
      gc: cpu.stalls.gc,
    };
  }

  async stopProcessor(worker: Worker): Promise<ProcessorDone> {
    worker.send({ type: 'stop' });
    const done = await worker.next<ProcessorDone>('done');
    await worker.exited;
    return done;
  }

  /** One processor run over a fresh backlog of `count` orders. */
  async arm(dataDir: string, count: number, options: { sync?: boolean; dashboard?: boolean }): Promise<ArmResult> {
    const { firstSeq, lastSeq } = await this.backlog(count, this.o.cards);
    const worker = this.processor(dataDir, options);
    try {
      const r = await this.drainBacklog(worker, firstSeq, lastSeq);
      return { ...r, done: await this.stopProcessor(worker) };
    } finally {
      worker.kill();
    }
  }
}

function rssFigures(samples: MemorySample[], fromMs: number) {
  const run = samples.filter(([t]) => t >= fromMs);
  const half = run.length >> 1;
  const peak = (s: typeof run) => s.reduce((m, [, rss]) => Math.max(m, rss), 0);
  const peakOf = (i: number) => run.reduce((m, s) => Math.max(m, s[i] as number), 0);
  return {
    peakMB: peak(run),
    firstHalfPeakMB: peak(run.slice(0, half)),
    secondHalfPeakMB: peak(run.slice(half)),
    peakHeapCommittedMB: peakOf(3),
    peakAnonymousMB: peakOf(5),
    peakFileBackedMB: peakOf(6),
  };
}

async function phaseRisk(): Promise<void> {
  const w = new Worker('risk', {});
  const r = await w.next<{ type: 'done'; ordersPerSecondNoRules: number; ordersPerSecondDefaultRules: number }>('done');
  await w.exited;
  add({ id: 'risk.noRules', label: 'risk engine, no rules (evaluate+observe)', value: r.ordersPerSecondNoRules, unit: 'orders/s' });
  add({ id: 'risk.defaultRules', label: 'risk engine, default rules (data/risk.yaml)', value: r.ordersPerSecondDefaultRules, unit: 'orders/s' });
}

/**
 * --cpu-prof for a worker: each thread writes its own file (the tsx loader thread too), so the worker gets a
 * directory of its own and `keepProfile` keeps the main thread's (the largest) as `<name>-<time>.cpuprofile`.
 */
async function profileArgs(o: BenchOptions, name: string): Promise<{ execArgv: string[]; dir?: string; file?: string }> {
  if (!o.profile) return { execArgv: [] };
  const base = path.join(here, 'results', 'profiles', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await mkdir(base, { recursive: true });
  return { execArgv: ['--cpu-prof', '--cpu-prof-dir', base], dir: base, file: `${base}.cpuprofile` };
}

async function keepProfile(profile: { dir?: string; file?: string }): Promise<void> {
  if (!profile.dir || !profile.file) return;
  const files = await readdir(profile.dir);
  const sized = await Promise.all(files.map(async (f) => ({ f, size: (await stat(path.join(profile.dir!, f))).size })));
  const main = sized.sort((a, b) => b.size - a.size)[0];
  if (main) await rename(path.join(profile.dir, main.f), profile.file);
  await rm(profile.dir, { recursive: true, force: true });
  log(`CPU profile: ${path.relative(process.cwd(), profile.file)} (summarize: node --import tsx test/bench/profile-summary.ts FILE)`);
}

async function phaseStorage(o: BenchOptions, template: string, workDir: string): Promise<void> {
  const dataDir = await workingCopy(template, path.join(workDir, 'ledger-storage'));
  const profile = await profileArgs(o, 'storage');
  const w = new Worker('storage', { dataDir, cards: o.cards, orders: o.storageOrders, bufferItems: 2000, sync: false }, profile.execArgv);
  const r = await w.next<{ type: 'done'; items: number; applyMs: number; commitMs: number; writeMs: number; opsWritten: number; statuses: Record<string, number> }>('done');
  await w.exited;
  await keepProfile(profile);
  await rm(dataDir, { recursive: true, force: true });
  extra.storage = { ...r, type: undefined, opsPerOrder: r.opsWritten / r.items, load: load1(), profile: profile.file };
  add({
    id: 'storage.commit',
    label: 'storage limit: ledger commit (encode + one LevelDB batch of 2000)',
    value: r.items / (r.commitMs / 1000),
    unit: 'orders/s',
    note: `${(r.opsWritten / r.items).toFixed(1)} LevelDB ops an order; db.batch alone ${fmt(r.items / (r.writeMs / 1000))} orders/s`,
  });
  add({
    id: 'storage.apply',
    label: 'storage: apply stage without NATS (prefetch + decide + commit)',
    value: r.items / (r.applyMs / 1000),
    unit: 'orders/s',
  });
}

async function phaseBroker(b: Bench, o: BenchOptions, firstSeq: number, lastSeq: number): Promise<number> {
  const expected = lastSeq - firstSeq + 1;
  const runOne = async (ack: 'all' | 'explicit') => {
    const w = new Worker('broker', {
      natsUrl: b.nats.url,
      stream: b.stream,
      durable: `bench-${ack}`,
      ack,
      ackEvery: 1000,
      pullBatch: 4000,
      maxAckPending: DEFAULT_TOPOLOGY.maxAckPending,
      expected,
    });
    const r = await w.next<{ type: 'done'; count: number; seconds: number }>('done');
    await w.exited;
    return r.count / r.seconds;
  };
  const batched = await runOne('all');
  add({ id: 'broker.batchedAcks', label: 'broker limit: 1 process, AckPolicy.All, ack every 1000', value: batched, unit: 'orders/s' });
  const perMessage = await runOne('explicit');
  add({
    id: 'broker.perMessageAcks',
    label: 'broker limit: 1 process, per-message acks',
    value: perMessage,
    unit: 'orders/s',
    note: `batched acks are ${(batched / perMessage).toFixed(1)}x faster`,
  });
  void o;
  return batched;
}

/**
 * The floor of the fixed parts (nats.js, JSON, LevelDB, the results stream): consume, parse, one put and one
 * published result an order, batched acks, nothing else. What paystream could reach if its own work were free.
 */
async function phaseFloor(b: Bench, o: BenchOptions, workDir: string, brokerLimit: number | undefined, backlog: { firstSeq: number; lastSeq: number }): Promise<number> {
  const dataDir = path.join(workDir, 'floor-db');
  const w = new Worker('floor', {
    natsUrl: b.nats.url,
    stream: b.stream,
    durable: 'bench-floor',
    ack: 'all',
    ackEvery: 2000,
    pullBatch: 4000,
    maxAckPending: DEFAULT_TOPOLOGY.maxAckPending,
    expected: backlog.lastSeq - backlog.firstSeq + 1,
    dataDir,
    resultsSubject: subjects(DEFAULT_TOPOLOGY).results,
    bufferItems: 2000,
  });
  const r = await w.next<{ type: 'done'; count: number; seconds: number; maxRssMB: number }>('done');
  await w.exited;
  await rm(dataDir, { recursive: true, force: true });
  const rate = r.count / r.seconds;
  add({
    id: 'floor.ordersPerSecond',
    label: 'floor of the parts: consume + JSON.parse + 1 LevelDB put + 1 result + batched ack',
    value: rate,
    unit: 'orders/s',
    note: `${brokerLimit ? `${((rate / brokerLimit) * 100).toFixed(0)} % of the broker limit; ` : ''}no validation, risk, reads or ledger work: the most any design on nats.js + LevelDB + a results stream gets here (peak RSS ${r.maxRssMB.toFixed(0)} MB)`,
  });
  void o;
  return rate;
}

/** The machine's CPU time so far (all cores, in clock ticks) and the idle part of it, from /proc/stat; undefined off Linux. */
async function procStat(): Promise<{ idle: number; total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: (line[3] ?? 0) + (line[4] ?? 0), total: line.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** The whole machine's busy share of CPU time (all cores) over `ms`; undefined off Linux. */
async function machineBusyShare(ms: number): Promise<number | undefined> {
  const a = await procStat();
  await sleep(ms);
  const b = await procStat();
  return a && b && b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : undefined;
}

/** Where the processor stalled since the bench last asked: its event loop, and each LevelDB write. */
interface ProcessorStalls {
  eventLoopMs: { p99: number; max: number };
  writes: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  gc: GcPauseSummary;
}

/** The processor worker's CPU time so far (all its threads, and each), and its stalls since the last ask. */
async function processorCpu(worker: Worker): Promise<{ cpuMs: number; threadsCpuMs: Record<string, number>; stalls: ProcessorStalls }> {
  worker.send({ type: 'cpu' });
  return worker.next<{ type: 'cpu'; cpuMs: number; threadsCpuMs: Record<string, number>; stalls: ProcessorStalls }>('cpu');
}

/**
 * Waits until the machine is quiet (under 20 % busy for 3 seconds in a row), or `maxMs`: after a backlog
 * the processor's LevelDB compactions and the broker's clean-up of the consumed messages go on for minutes.
 */
async function waitForIdle(maxMs: number): Promise<{ idle: boolean; waitedMs: number }> {
  const started = performance.now();
  for (let quiet = 0; performance.now() - started < maxMs; ) {
    const busy = await machineBusyShare(1000);
    if (busy === undefined) return { idle: false, waitedMs: performance.now() - started };
    quiet = busy < 0.2 ? quiet + 1 : 0;
    if (quiet >= 3) return { idle: true, waitedMs: performance.now() - started };
  }
  return { idle: false, waitedMs: performance.now() - started };
}

/** A histogram of µs from 1 µs to 10 minutes, 3 significant digits. */
const latencyHistogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

/** The latency run's bookkeeping: when each order was sent, and its results timed as they arrive. */
class LatencyProbe {
  /** orders sent and not answered yet, by id: when they were sent */
  readonly sentAt = new Map<string, number>();
  private readonly published = new Set<string>();
  // A batch's orders are answered when the batch is settled, which needs all of it: their latency runs from
  // the moment the batch's last message was sent, and is reported apart from single orders.
  readonly batchOf = new Map<string, string>();
  private readonly batchLastSentAt = new Map<string, number>();
  /** single orders, publish to result at the subscriber */
  readonly toResult = latencyHistogram();
  /** single orders, the latency the processor reports in the result */
  readonly reported = latencyHistogram();
  /** batch orders, from their batch's last message to the result */
  readonly batchToResult = latencyHistogram();
  /** when the offered load started; results of orders sent in the warm-up after it are not counted */
  t0 = Number.POSITIVE_INFINITY;
  /** single orders answered after more than 50 ms */
  late = 0;
  private readonly decoder = new TextDecoder();

  constructor(readonly warmupMs: number) {}

  sent(message: BenchMessage, sentAtMs: number): void {
    // a duplicate (same Nats-Msg-Id) is dropped by the broker: only an id's first publish waits for a result
    if (message.orderId !== undefined && !this.published.has(message.orderId)) {
      this.published.add(message.orderId);
      this.sentAt.set(message.orderId, sentAtMs);
    }
    if (message.batchId !== undefined) {
      this.batchLastSentAt.set(message.batchId, sentAtMs);
      if (message.orderId !== undefined) this.batchOf.set(message.orderId, message.batchId);
    }
  }

  received(msg: Msg): void {
    const now = performance.now();
    const id = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    const at = this.sentAt.get(id);
    if (at === undefined) return;
    this.sentAt.delete(id);
    const batchId = this.batchOf.get(id);
    this.batchOf.delete(id);
    if (at - this.t0 < this.warmupMs) return;
    if (batchId !== undefined) {
      this.batchToResult.recordValue(Math.max(1, Math.round((now - (this.batchLastSentAt.get(batchId) ?? at)) * 1000)));
      return;
    }
    this.toResult.recordValue(Math.max(1, Math.round((now - at) * 1000)));
    const latencyMs = (JSON.parse(this.decoder.decode(msg.data)) as { latencyMs?: number }).latencyMs;
    if (typeof latencyMs === 'number') this.reported.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    if (now - at > 50) this.late++;
  }

  destroy(): void {
    this.toResult.destroy();
    this.reported.destroy();
    this.batchToResult.destroy();
  }
}

/** What serving the offered load cost: the processor's CPU, the machine's, and the stalls on both sides. */
interface LatencyRunCost {
  processorMicrosPerOrder: number;
  threads: ReturnType<typeof threadSplit>;
  machineBusy: number | undefined;
  processorStalls: ProcessorStalls;
  benchEventLoopDelayMs: { p99: number; max: number };
}

/** Half of the measured maximum (or --latency-rate), offered for `seconds`; latency from publish to the result at a subscriber. */
async function phaseLatency(b: Bench, o: BenchOptions, rate: number, worker: Worker): Promise<void> {
  const probe = new LatencyProbe(o.quick ? 1000 : 3000);
  const sub = b.nc.subscribe('pay.results.>', { callback: (_err, msg) => probe.received(msg) });
  await b.nc.flush();
  const before = (await b.jsm.streams.info(b.stream)).state.last_seq;
  const traffic = benchTraffic({
    cards: o.cards,
    idPrefix: `lat${Date.now().toString(36)}`,
    messagesMax: Math.ceil(rate * o.seconds) + 10,
    startMs: Date.now(),
    ratePerSecond: rate,
  });
  // the bench's own event loop: a stall here delays sends and receipts alike and would count as latency
  const benchLoop = monitorEventLoopDelay({ resolution: 5 });
  benchLoop.enable();
  // what the processor and the whole machine spend while it keeps up (or not) with the offered load
  const cpuBefore = await processorCpu(worker);
  const machineBefore = await procStat();
  const { sent, actualRate } = await offerLoad(b, traffic, rate, o.seconds, probe);
  await b.nc.flush();
  await waitUntilAcked(b, before);
  const cpuAfter = await processorCpu(worker);
  const machineAfter = await procStat();
  await sleep(500);
  sub.unsubscribe();
  benchLoop.disable();
  const cost: LatencyRunCost = {
    processorMicrosPerOrder: ((cpuAfter.cpuMs - cpuBefore.cpuMs) * 1000) / sent,
    threads: threadSplit(cpuBefore.threadsCpuMs, cpuAfter.threadsCpuMs, worker.child.pid, sent),
    machineBusy:
      machineBefore && machineAfter
        ? 1 - (machineAfter.idle - machineBefore.idle) / (machineAfter.total - machineBefore.total)
        : undefined,
    processorStalls: cpuAfter.stalls,
    benchEventLoopDelayMs: { p99: benchLoop.percentile(99) / 1e6, max: benchLoop.max / 1e6 },
  };
  reportLatency(o, rate, actualRate, probe, cost);
  probe.destroy();
}

/** Publishes `rate` messages a second for `seconds`, each noted by the probe; the rate actually reached. */
async function offerLoad(
  b: Bench,
  traffic: Generator<BenchMessage>,
  rate: number,
  seconds: number,
  probe: LatencyProbe,
): Promise<{ sent: number; actualRate: number }> {
  probe.t0 = performance.now();
  let sent = 0;
  for (let elapsed = 0; elapsed < seconds * 1000; elapsed = performance.now() - probe.t0) {
    const due = Math.floor((rate * elapsed) / 1000);
    while (sent < due) {
      const next = traffic.next();
      if (next.done) break;
      publishOne(b.nc, next.value);
      probe.sent(next.value, performance.now());
      sent++;
    }
    await sleep(1);
  }
  return { sent, actualRate: sent / ((performance.now() - probe.t0) / 1000) };
}

/** Waits for the stream to stop growing (three polls 100 ms apart), then for the processor to ack all of it. */
async function waitUntilAcked(b: Bench, lastSeqBefore: number): Promise<void> {
  let last = lastSeqBefore;
  for (let stable = 0; stable < 3; stable++) {
    const seq = (await b.jsm.streams.info(b.stream)).state.last_seq;
    if (seq !== last) stable = 0;
    last = seq;
    await sleep(100);
  }
  await waitAckFloor(b.jsm, b.stream, DEFAULT_TOPOLOGY.durable, last);
}

function reportLatency(o: BenchOptions, rate: number, actualRate: number, probe: LatencyProbe, cost: LatencyRunCost): void {
  const { toResult, reported, batchToResult, sentAt, warmupMs } = probe;
  const ms = (h: typeof toResult, p: number) => h.getValueAtPercentile(p) / 1000;
  // a batch cut off by the end of the run is never settled: its members stay unanswered until it times out
  const unansweredBatchMembers = [...sentAt.keys()].filter((id) => probe.batchOf.has(id)).length;
  const { threads, processorStalls: stalls, benchEventLoopDelayMs: benchLoop } = cost;
  extra.latency = {
    offeredOrdersPerSecond: rate,
    achievedPublishRate: actualRate,
    seconds: o.seconds,
    warmupMs,
    samples: toResult.totalCount,
    unanswered: sentAt.size,
    unansweredBatchMembers,
    over50ms: probe.late,
    publishToResultMs: { p50: ms(toResult, 50), p90: ms(toResult, 90), p99: ms(toResult, 99), p999: ms(toResult, 99.9), max: toResult.maxValue / 1000 },
    processorReportedMs: { p50: ms(reported, 50), p99: ms(reported, 99), max: reported.maxValue / 1000 },
    benchEventLoopDelayMs: benchLoop,
    processorMicrosPerOrder: cost.processorMicrosPerOrder,
    threadsMicrosPerOrder: threads,
    processorStalls: stalls,
    gc: stalls.gc,
    machineBusyShare: cost.machineBusy,
    batchOrdersFromBatchComplete: { samples: batchToResult.totalCount, p50: ms(batchToResult, 50), p99: ms(batchToResult, 99), max: batchToResult.maxValue / 1000 },
    load: load1(),
  };
  add({ id: 'latency.p50', label: `latency p50, publish -> result, at ${fmt(actualRate)} orders/s${o.latencyRate ? '' : ' (50% of max)'}`, value: ms(toResult, 50), unit: 'ms' });
  add({
    id: 'latency.p99',
    label: `latency p99, publish -> result, at ${fmt(actualRate)} orders/s`,
    value: ms(toResult, 99),
    unit: 'ms',
    target: '< 50 ms',
    pass: ms(toResult, 99) < 50,
    note: `${fmt(toResult.totalCount)} single orders after ${warmupMs / 1000} s warm-up (${fmt(batchToResult.totalCount)} batch orders apart: p99 ${ms(batchToResult, 99).toFixed(1)} ms from their batch's last message); processor-side p99 ${ms(reported, 99).toFixed(1)} ms; processor CPU ${fmt(cost.processorMicrosPerOrder)} µs an order${
      threads ? ` (main ${fmt(threads.main)}, busiest other ${fmt(threads.busiestOther)}, rest ${fmt(threads.rest)})` : ''
    }, machine ${cost.machineBusy === undefined ? '?' : `${(cost.machineBusy * 100).toFixed(0)} %`} busy; processor GC pauses max ${stalls.gc.maxPauseMs.toFixed(1)} ms; processor event loop delay p99 ${stalls.eventLoopMs.p99.toFixed(0)} ms, max ${stalls.eventLoopMs.max.toFixed(0)}; ${fmt(stalls.writes.count)} LevelDB writes p50 ${stalls.writes.p50Ms.toFixed(1)} / p99 ${stalls.writes.p99Ms.toFixed(0)} / max ${stalls.writes.maxMs.toFixed(0)} ms; bench event loop delay p99 ${benchLoop.p99.toFixed(1)} ms, max ${benchLoop.max.toFixed(0)} ms; ${sentAt.size} unanswered (${unansweredBatchMembers} of them in a batch the run's end cut off)`,
  });
  add({
    id: 'gc.maxPauseMs',
    label: `longest GC pause of the processor's main thread in the latency window (${fmt(actualRate)} orders/s)`,
    value: stalls.gc.maxPauseMs,
    unit: 'ms',
    target: '<= 20 ms',
    pass: stalls.gc.maxPauseMs <= 20,
    note: `perf_hooks 'gc' entries: ${fmt(stalls.gc.count)} pauses, ${fmt(stalls.gc.totalMs)} ms in all, ${stalls.gc.over20Ms} over 20 ms (${gcKinds(stalls.gc)}); concurrent marking on helper threads is not a pause and is not in these`,
  });
}

async function phaseE2e(
  b: Bench,
  o: BenchOptions,
  dataDir: string,
  limits: { broker?: number; floor?: number },
  backlog: { firstSeq: number; lastSeq: number },
): Promise<number> {
  const prof = await profileArgs(o, 'e2e');
  const profile = prof.file;
  const worker = b.processor(dataDir, { execArgv: prof.execArgv });
  try {
    const r = await b.drainBacklog(worker, backlog.firstSeq, backlog.lastSeq);
    add({
      id: 'e2e.ordersPerSecond',
      label: `e2e headless, ${fmt(o.cards)} cards, default rules, ${fmt(r.messages)} orders in ${r.seconds.toFixed(1)} s`,
      value: r.ordersPerSecond,
      unit: 'orders/s',
      note: `steady (10-90%) ${fmt(r.steadyOrdersPerSecond)} orders/s; processor CPU ${fmt(r.cpuMicrosPerOrder)} µs an order (all its threads${
        r.threadsMicrosPerOrder
          ? `: main ${fmt(r.threadsMicrosPerOrder.main)}, busiest other (LevelDB compaction) ${fmt(r.threadsMicrosPerOrder.busiestOther)}, the rest (GC helpers, libuv) ${fmt(r.threadsMicrosPerOrder.rest)}`
          : ''
      })`,
    });
    addE2eRatios(r, limits);
    const loadAtMax = r.load;
    if (o.only.has('latency')) {
      // a million orders just written leave LevelDB compacting and the broker cleaning up for minutes;
      // latency at a steady load is measured once that has settled (the wait is reported), not in the burst's wake
      const settle = await waitForIdle(o.quick ? 30_000 : 300_000);
      extra.latencySettle = settle;
      log(`machine quiet after the backlog: ${settle.idle ? 'yes' : 'no'}, after ${(settle.waitedMs / 1000).toFixed(0)} s`);
      await phaseLatency(b, o, o.latencyRate ?? Math.round(r.ordersPerSecond / 2), worker);
    }
    const done = await b.stopProcessor(worker);
    await keepProfile(prof);
    const rss = rssFigures(done.samples, 0);
    extra.e2e = { ...r, ratioToFloor: limits.floor ? r.ordersPerSecond / limits.floor : undefined, load: loadAtMax, statuses: done.statuses, results: done.results, riskHits: done.risk?.hitsByRule, rss, maxRssMB: done.maxRssMB, profile };
    add({ id: 'e2e.peakRss', label: `processor peak RSS, ${fmt(o.cards)} cards (e2e + latency run)`, value: done.maxRssMB, unit: 'MB' });
    return r.ordersPerSecond;
  } finally {
    worker.kill();
  }
}

/** End to end against the floor of the parts (the target) and against the broker alone, both from this run. */
function addE2eRatios(r: Omit<ArmResult, 'done'>, limits: { broker?: number; floor?: number }): void {
  if (limits.floor) {
    const ratio = r.ordersPerSecond / limits.floor;
    add({
      id: 'e2e.ratioToFloor',
      label: 'e2e / floor of the parts (same run)',
      value: ratio * 100,
      unit: '%',
      target: '>= 50%',
      pass: ratio >= 0.5,
      note: `the drain's main thread was stopped by the collector ${fmt(r.gc.count)} times, ${fmt(r.gc.totalMs)} ms in all (${gcKinds(r.gc)})`,
    });
  }
  if (limits.broker) {
    add({ id: 'e2e.ratioToBroker', label: 'e2e / broker limit (batched acks)', value: (r.ordersPerSecond / limits.broker) * 100, unit: '%' });
  }
}

/** "scavenge 812 / 3,120 ms / max 31 ms, ..." */
function gcKinds(gc: GcPauseSummary): string {
  return Object.entries(gc.byKind)
    .map(([kind, k]) => `${kind} ${fmt(k.count)} / ${fmt(k.totalMs)} ms / max ${k.maxMs.toFixed(1)} ms`)
    .join(', ');
}

async function phaseArms(b: Bench, o: BenchOptions, dataDir: string): Promise<void> {
  const headless: ArmResult[] = [];
  const dashboard: ArmResult[] = [];
  if (o.only.has('dashboard')) {
    for (let i = 0; i < o.armPairs; i++) {
      headless.push(await b.arm(dataDir, o.armOrders, {}));
      log(`headless arm ${i + 1}: ${fmt(headless.at(-1)!.ordersPerSecond)} orders/s`);
      dashboard.push(await b.arm(dataDir, o.armOrders, { dashboard: true }));
      log(`dashboard arm ${i + 1}: ${fmt(dashboard.at(-1)!.ordersPerSecond)} orders/s (${fmt(dashboard.at(-1)!.done.dashboard?.writes ?? 0)} terminal writes)`);
    }
  }
  const mean = (arms: ArmResult[]) => arms.reduce((s, a) => s + a.ordersPerSecond, 0) / arms.length;
  const meanCpu = (arms: ArmResult[]) => arms.reduce((s, a) => s + a.cpuMicrosPerOrder, 0) / arms.length;
  if (dashboard.length > 0) {
    const cost = 1 - mean(dashboard) / mean(headless);
    // the same cost seen as CPU: steadier than rates on a shared 2-core machine
    const cpuCost = meanCpu(dashboard) / meanCpu(headless) - 1;
    const frames = dashboard.map((d) => d.done.dashboard);
    extra.dashboard = {
      headless: headless.map((a) => ({ ordersPerSecond: a.ordersPerSecond, seconds: a.seconds, load: a.load, cpuMicrosPerOrder: a.cpuMicrosPerOrder })),
      dashboard: dashboard.map((a) => ({ ordersPerSecond: a.ordersPerSecond, seconds: a.seconds, load: a.load, cpuMicrosPerOrder: a.cpuMicrosPerOrder, terminal: a.done.dashboard })),
      cpuCostPercent: cpuCost * 100,
      terminal: `120x40 fake TTY, toSnapshots at ${DASHBOARD_FRAME_MS} ms`,
    };
    add({
      id: 'dashboard.cost',
      label: `dashboard cost (Ink at ${1000 / DASHBOARD_FRAME_MS} frames/s vs headless, ${o.armPairs} x ${fmt(o.armOrders)} orders each)`,
      value: cost * 100,
      unit: '%',
      target: '< 5%',
      pass: cost < 0.05,
      note: `headless ${fmt(mean(headless))}, dashboard ${fmt(mean(dashboard))} orders/s; processor CPU ${fmt(meanCpu(headless))} vs ${fmt(meanCpu(dashboard))} µs an order (${(cpuCost * 100).toFixed(1)} %); ${fmt(frames.reduce((s, f) => s + (f?.writes ?? 0), 0))} frames written`,
    });
  }
  if (o.only.has('sync')) {
    const sync = await b.arm(dataDir, o.armOrders, { sync: true });
    const base = headless.length > 0 ? mean(headless) : (await b.arm(dataDir, o.armOrders, {})).ordersPerSecond;
    extra.sync = { ordersPerSecond: sync.ordersPerSecond, seconds: sync.seconds, headlessOrdersPerSecond: base, load: sync.load };
    add({
      id: 'e2e.sync',
      label: `e2e with --sync (fsync per ledger write), ${fmt(o.armOrders)} orders`,
      value: sync.ordersPerSecond,
      unit: 'orders/s',
      note: `durability cost ${((1 - sync.ordersPerSecond / base) * 100).toFixed(1)}% vs headless ${fmt(base)} orders/s`,
    });
  }
}

async function phaseMemory(b: Bench, o: BenchOptions, template: string, workDir: string): Promise<void> {
  const dataDir = await workingCopy(template, path.join(workDir, 'ledger-mem'));
  const { firstSeq, lastSeq } = await b.backlog(o.orders, o.memCards);
  const worker = b.processor(dataDir, {});
  try {
    const r = await b.drainBacklog(worker, firstSeq, lastSeq);
    const done = await b.stopProcessor(worker);
    const rss = rssFigures(done.samples, done.startupMs);
    const growth = rss.secondHalfPeakMB - rss.firstHalfPeakMB;
    extra.memory = { cards: o.memCards, ...r, rss, maxRssMB: done.maxRssMB, statuses: done.statuses, samples: done.samples };
    add({
      id: 'memory.startup',
      label: `start-up with ${fmt(o.memCards)} cards (open ledger, caches, rules, topology)`,
      value: done.startupMs / 1000,
      unit: 's',
      target: '< 5 s',
      pass: done.startupMs < 5000,
    });
    add({
      id: 'memory.peakRss',
      label: `processor peak RSS, ${fmt(o.memCards)} cards, ${fmt(r.messages)} orders`,
      value: done.maxRssMB,
      unit: 'MB',
      target: '< 300 MB',
      pass: done.maxRssMB < 300,
      note: `${fmt(r.ordersPerSecond)} orders/s on this ledger; of the RSS at most ${fmt(rss.peakFileBackedMB)} MB file-backed (LevelDB's memory-mapped tables), heap committed at most ${fmt(rss.peakHeapCommittedMB)} MB`,
    });
    if (rss.peakAnonymousMB > 0) {
      add({
        id: 'memory.peakPrivate',
        label: `processor peak private (anonymous) memory, ${fmt(o.memCards)} cards`,
        value: rss.peakAnonymousMB,
        unit: 'MB',
        target: '< 300 MB',
        pass: rss.peakAnonymousMB < 300,
        note: 'RSS less the page cache of memory-mapped files: what the process itself holds',
      });
    }
    add({
      id: 'memory.growth',
      label: 'RSS growth, peak of 2nd half - peak of 1st half of the run',
      value: growth,
      unit: 'MB',
      target: '< 10% of peak (flat)',
      pass: growth < 0.1 * rss.peakMB,
    });
  } finally {
    worker.kill();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** CPU µs an order between two per-thread readings of a worker: its main thread, its busiest other, the rest. */
function threadSplit(
  before: Record<string, number>,
  after: Record<string, number>,
  pid: number | undefined,
  orders: number,
): { main: number; busiestOther: number; rest: number } | undefined {
  if (pid === undefined || after[String(pid)] === undefined) return undefined;
  const used = Object.entries(after).map(([tid, ms]) => [tid, ms - (before[tid] ?? 0)] as const);
  const main = used.find(([tid]) => tid === String(pid))?.[1] ?? 0;
  const others = used.filter(([tid]) => tid !== String(pid)).map(([, ms]) => ms).sort((a, b) => b - a);
  const busiestOther = others[0] ?? 0;
  const rest = others.slice(1).reduce((a, b) => a + b, 0);
  const perOrder = (ms: number) => (ms * 1000) / orders;
  return { main: perOrder(main), busiestOther: perOrder(busiestOther), rest: perOrder(rest) };
}

/** The cli phase's figures (cli.ts): the built program's start-up against bare Node, and run's time to consume. */
async function phaseCliFigures(o: BenchOptions, template: string, workDir: string, natsBinary: string | undefined): Promise<void> {
  const c = await phaseCli({ template, cards: o.cards, workDir, natsBinary, rounds: o.quick ? 5 : 9, log });
  const x = (ms: number) => ms / c.nodeMs;
  const sources = (ms: number) => `from the sources through tsx ${fmt(ms)} ms (${fmt(x(ms), 1)}x)`;
  add({
    id: 'cli.help',
    label: 'paystream --help (built), median, / node -e 0',
    value: x(c.helpMs),
    unit: 'x',
    target: `<= ${CLI_TARGETS.helpRatioMax}x`,
    pass: x(c.helpMs) <= CLI_TARGETS.helpRatioMax,
    note: `${fmt(c.helpMs)} ms, node -e 0 ${fmt(c.nodeMs)} ms; ${sources(c.helpFromSourcesMs)}`,
  });
  add({
    id: 'cli.cardsShow',
    label: `paystream cards show (built), ${fmt(o.cards)}-card ledger, median, / node -e 0`,
    value: x(c.cardsShowMs),
    unit: 'x',
    target: `<= ${CLI_TARGETS.cardsShowRatioMax}x`,
    pass: x(c.cardsShowMs) <= CLI_TARGETS.cardsShowRatioMax,
    note: `${fmt(c.cardsShowMs)} ms; ${sources(c.cardsShowFromSourcesMs)}`,
  });
  add({
    id: 'cli.runReady',
    label: `paystream run --headless (built), ${fmt(o.cards)}-card ledger: start to consuming, median`,
    value: c.runReadyMs,
    unit: 'ms',
    target: `< ${CLI_TARGETS.runReadyMsMax} ms`,
    pass: c.runReadyMs < CLI_TARGETS.runReadyMsMax,
    note: "until it logs 'paystream running' (processor started, its durable consumer on the broker, checked)",
  });
}

/** The last full run's results (latest.json), to show beside this run's figures; undefined if there is none. */
async function lastFullRun(file: string): Promise<{ at: string; figures: Figure[] } | undefined> {
  try {
    const earlier = JSON.parse(await readFile(file, 'utf8')) as { at?: string; figures?: Figure[] };
    return earlier.at && earlier.figures ? { at: earlier.at, figures: earlier.figures } : undefined;
  } catch {
    return undefined;
  }
}

// ---- the table ------------------------------------------------------------------------------------------

/** This run's figures, each beside the same figure of the last full run (when there is one). */
function table(last: { at: string; figures: Figure[] } | undefined): string {
  const value = (f: Figure) => `${fmt(f.value, f.unit === 'orders/s' || f.unit === 'MB' ? 0 : f.unit === 's' || f.unit === 'x' ? 2 : 1)} ${f.unit}`;
  const before = new Map((last?.figures ?? []).map((f) => [f.id, f]));
  const rows = figures.map((f) => [
    f.label,
    value(f),
    before.has(f.id) ? value(before.get(f.id)!) : '',
    f.target ?? '',
    f.pass === undefined ? '' : f.pass ? 'pass' : 'FAIL',
  ]);
  const head = ['figure', 'value', last ? `last full run (${last.at.slice(0, 16).replace('T', ' ')})` : 'last full run', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ').trimEnd();
  const notes = figures.filter((f) => f.note).map((f) => `  ${f.label}: ${f.note}`);
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line), '', 'notes:', ...notes].join('\n');
}

// ---- main -----------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  jsonOnly = o.json;
  applyDemoSecret();
  const binary = natsServerBinary();
  const machine = machineInfo(binary);
  const workDir = path.join(os.tmpdir(), `paystream-bench-run-${process.pid}`);
  await mkdir(workDir, { recursive: true });
  log(`work dir ${workDir}; ${machine.cpus} cpus, node ${machine.node}, ${machine.natsServer}`);
  const b = new Bench(o, workDir);
  try {
    const template = await seededTemplate(o.cards, log);
    // first, while the machine is quietest: start-up is measured against bare Node in the same moments
    if (o.only.has('cli')) await phaseCliFigures(o, template, workDir, binary);
    if (o.only.has('risk')) await phaseRisk();
    if (o.only.has('storage')) await phaseStorage(o, template, workDir);
    const needsBroker = ['broker', 'floor', 'e2e', 'latency', 'dashboard', 'sync'].some((p) => o.only.has(p as Phase));
    if (needsBroker) {
      await b.startBroker('main');
      const ledger = await workingCopy(template, path.join(workDir, 'ledger-e2e'));
      const backlog = await b.backlog(o.orders, o.cards);
      extra.publish = { orders: o.orders, ordersPerSecond: backlog.rate };
      const brokerLimit = o.only.has('broker') ? await phaseBroker(b, o, backlog.firstSeq, backlog.lastSeq) : undefined;
      const floor = o.only.has('floor') ? await phaseFloor(b, o, workDir, brokerLimit, backlog) : undefined;
      if (o.only.has('e2e')) await phaseE2e(b, o, ledger, { broker: brokerLimit, floor }, backlog);
      else {
        // the arms need the backlog consumed first
        const w = b.processor(ledger, {});
        await b.drainBacklog(w, backlog.firstSeq, backlog.lastSeq);
        await b.stopProcessor(w);
      }
      if (o.only.has('dashboard') || o.only.has('sync')) await phaseArms(b, o, ledger);
      await b.stopBroker();
      await rm(ledger, { recursive: true, force: true });
    }
    if (o.only.has('memory')) {
      const memTemplate = o.memCards === o.cards ? template : await seededTemplate(o.memCards, log);
      await b.startBroker('mem');
      await phaseMemory(b, o, memTemplate, workDir);
      await b.stopBroker();
    }
  } finally {
    await b.nats?.stop().catch(() => undefined);
    if (!o.keep) await rm(workDir, { recursive: true, force: true });
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const report = {
    at: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))) },
    options: { ...o, only: [...o.only] },
    totalSeconds,
    figures,
    allPass: figures.every((f) => f.pass !== false),
    details: extra,
  };
  const resultsDir = path.join(here, 'results');
  await mkdir(resultsDir, { recursive: true });
  const latest = path.join(resultsDir, 'latest.json');
  const last = await lastFullRun(latest);
  // only a full run replaces the tracked results; a quick or partial one goes beside them, untracked
  const fullRun = !o.quick && o.only.size === PHASES.length;
  const written = fullRun ? latest : path.join(resultsDir, PARTIAL_RESULTS_FILE);
  await writeFile(written, `${JSON.stringify(report, null, 2)}\n`);
  const writtenNote = fullRun
    ? 'written to test/bench/results/latest.json'
    : `written to test/bench/results/${PARTIAL_RESULTS_FILE} (a ${o.quick ? 'quick' : 'partial'} run: latest.json keeps the last full run)`;
  if (jsonOnly) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    process.stdout.write(
      `\npaystream bench: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryMB} MB, node ${machine.node}, ${machine.natsServer}\n` +
        `load average ${machine.loadAverageAtStart.join(' ')} at start, ${report.machine.loadAverageAtEnd.join(' ')} at end; ${totalSeconds.toFixed(0)} s\n\n` +
        `${table(last)}\n\n${writtenNote}\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
