// Shared pieces of `npm run bench`: the cached seeded ledgers, bench traffic, publishing a backlog, child processes.
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { headers, type JetStreamManager, type NatsConnection } from 'nats';
import {
  DEMO_SECRET_HEX,
  demoCardPans,
  demoCards,
  demoCardToken,
  demoMerchants,
  generateTraffic,
} from '../../src/domain/generate.ts';
import { LruMap } from '../../src/domain/risk/state.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { PROCESSOR_ENV, PROCESSOR_V8_FLAGS } from '../../src/cli/v8-flags.ts';
import { LedgerStore } from '../../src/ledger/store.ts';

export const here = path.dirname(fileURLToPath(import.meta.url));
/** Every bench ledger and all bench traffic use this seed; the demo key makes generated tokens match. */
export const BENCH_SEED = 4242;
export const BENCH_MERCHANTS = 1000;
export const CARD_BALANCE = '100000';
export const MERCHANT_BALANCE = '10000000';
/** cards the generator itself draws from; each order is then moved to a card of the whole ledger */
const GENERATOR_CARDS = 2000;

/** Children and seeding must tokenize PANs with the key the generator used. */
export function applyDemoSecret(): void {
  process.env.PAYSTREAM_KEY = DEMO_SECRET_HEX;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- ledgers --------------------------------------------------------------------------------------------

/**
 * A seeded ledger template under os.tmpdir(), keyed by card count: seeding 1,000,000 cards takes minutes,
 * so it is done once and copied for each run (runs change balances).
 */
export async function seededTemplate(cards: number, log: (line: string) => void): Promise<string> {
  // the suffix is the ledger layout the template was seeded in: v2 records key fingerprints and an audit trail
  const dir = path.join(os.tmpdir(), `paystream-bench-ledger-c${cards}-m${BENCH_MERCHANTS}-s${BENCH_SEED}-v2`);
  if (existsSync(path.join(dir, 'READY'))) return dir;
  await rm(dir, { recursive: true, force: true });
  log(`seeding a ledger of ${cards.toLocaleString('en-US')} cards into ${dir} (once; cached afterwards)`);
  const started = Date.now();
  const store = await LedgerStore.open(dir);
  try {
    await seedLedger(store, {
      cards,
      merchants: BENCH_MERCHANTS,
      seed: BENCH_SEED,
      cardBalance: CARD_BALANCE,
      merchantBalance: MERCHANT_BALANCE,
      chunk: 5000,
    });
  } finally {
    await store.close();
  }
  await writeFile(path.join(dir, 'READY'), new Date().toISOString());
  log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

export async function workingCopy(template: string, dest: string): Promise<string> {
  await rm(dest, { recursive: true, force: true });
  await cp(template, dest, { recursive: true });
  await rm(path.join(dest, 'READY'), { force: true });
  return dest;
}

// ---- traffic --------------------------------------------------------------------------------------------

export interface BenchMessage {
  subject: string;
  data: Uint8Array;
  msgId?: string;
  /** the order id, for orders (latency is keyed by it) */
  orderId?: string;
  /** the batch a header or an order belongs to: its orders' results wait for the whole batch */
  batchId?: string;
}

export interface TrafficOptions {
  cards: number;
  /** unique per phase, so a phase's orders are new to the ledger */
  idPrefix: string;
  messagesMax: number;
  /** createdAt of the first message, epoch ms */
  startMs: number;
  /** logical rate: createdAt advances 1000/ratePerSecond ms a message on average */
  ratePerSecond: number;
  prefix?: string;
}

const encoder = new TextEncoder();
const CARD_RE = /"card":"([0-9a-f]{64})"/;
const PAN_RE = /"pan":"(\d{12,19})"/;
const REF_RE = /"ref":"([A-Za-z0-9_-]{1,64})"/;
/** first instructions remembered, so that a capture or refund names the card its authorization used */
const CHOSEN_MAX = 400_000;

/**
 * The generator's realistic mix (payments, authorizations and follow-ups, payouts, batches, 2% trouble),
 * drawn over GENERATOR_CARDS cards, then each order moved to a card of the whole ledger with the same
 * currency (a card's currency depends only on its index mod 20). The generator takes its cards with their
 * tokens up front; this way only GENERATOR_CARDS PANs are tokenized before the first message, and a card of
 * the whole ledger when an order first moves to it.
 */
export function* benchTraffic(o: TrafficOptions): Generator<BenchMessage> {
  const small = demoCards(Math.min(GENERATOR_CARDS, o.cards), BENCH_SEED);
  const indexByToken = new Map(small.map((c, i) => [c.token, i]));
  const indexByPan = new Map(small.map((c, i) => [c.pan, i]));
  const pans = demoCardPans(o.cards, BENCH_SEED);
  const tokens = new Map<number, string>();
  const tokenOf = (i: number): string => {
    let t = tokens.get(i);
    if (t === undefined) {
      t = demoCardToken(pans[i]!);
      if (tokens.size < 2_000_000) tokens.set(i, t);
    }
    return t;
  };
  const groups = Math.max(1, Math.floor(o.cards / 20));
  let x = 0x9e3779b9;
  // bounded, and evicted in chunks: trimming a large Map one key at a time from its front is slow enough to
  // hold back publishing
  const chosen = new LruMap<string, number>(CHOSEN_MAX);
  const moved = (small: number, text: string, id: string | undefined): number => {
    const ref = REF_RE.exec(text)?.[1];
    const prior = ref === undefined ? undefined : chosen.get(ref);
    if (prior !== undefined) return prior;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    let j = (small % 20) + 20 * ((x >>> 0) % groups);
    if (j >= o.cards) j = small;
    if (id !== undefined) {
      chosen.insert(id, j);
    }
    return j;
  };
  const prefix = o.prefix ?? 'pay';
  for (const m of generateTraffic({
    seed: BENCH_SEED,
    cards: small,
    merchants: demoMerchants(BENCH_MERCHANTS),
    startMs: o.startMs,
    ratePerSecond: o.ratePerSecond,
    messagesMax: o.messagesMax,
    idPrefix: o.idPrefix,
  })) {
    let data: Uint8Array;
    if (typeof m.payload === 'string') {
      let text = m.payload;
      const card = CARD_RE.exec(text);
      const ci = card ? indexByToken.get(card[1]!) : undefined;
      if (ci !== undefined) text = text.replace(CARD_RE, `"card":"${tokenOf(moved(ci, text, m.msgId))}"`);
      else {
        const pan = PAN_RE.exec(text);
        const pi = pan ? indexByPan.get(pan[1]!) : undefined;
        if (pi !== undefined) text = text.replace(PAN_RE, `"pan":"${pans[moved(pi, text, m.msgId)]}"`);
      }
      data = encoder.encode(text);
    } else data = m.payload;
    const out: BenchMessage = { subject: `${prefix}.${m.subject}`, data };
    if (m.msgId !== undefined) out.msgId = m.msgId;
    if (m.kind !== 'batch_header' && m.kind !== 'garbage' && m.msgId !== undefined) out.orderId = m.msgId;
    if (m.batchId !== undefined) out.batchId = m.batchId;
    yield out;
  }
}

export function publishOne(nc: NatsConnection, m: BenchMessage): void {
  if (m.msgId === undefined) {
    nc.publish(m.subject, m.data);
    return;
  }
  const h = headers();
  h.set('Nats-Msg-Id', m.msgId);
  nc.publish(m.subject, m.data, { headers: h });
}

/** Publishes as fast as the connection takes them (flushing every 2000), then waits for the stream to settle. */
export async function publishBacklog(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  messages: Iterable<BenchMessage>,
): Promise<{ sent: number; lastSeq: number; seconds: number }> {
  const started = Date.now();
  let sent = 0;
  for (const m of messages) {
    publishOne(nc, m);
    if (++sent % 2000 === 0) await nc.flush();
  }
  await nc.flush();
  let last = -1;
  for (let stable = 0; stable < 3; ) {
    const seq = (await jsm.streams.info(stream)).state.last_seq;
    stable = seq === last ? stable + 1 : 0;
    last = seq;
    await sleep(100);
  }
  return { sent, lastSeq: last, seconds: (Date.now() - started) / 1000 };
}

/** Resolves once the durable consumer's ack floor reaches `seq`; the time is taken at the poll that saw it. */
export async function waitAckFloor(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  seq: number,
  options: { pollMs?: number; stallMs?: number; onPoll?: (floor: number) => void } = {},
): Promise<number> {
  const pollMs = options.pollMs ?? 50;
  const stallMs = options.stallMs ?? 60_000;
  let lastFloor = -1;
  let lastMove = Date.now();
  for (;;) {
    const info = await jsm.consumers.info(stream, durable);
    const floor = info.ack_floor.stream_seq;
    options.onPoll?.(floor);
    if (floor >= seq) return Date.now();
    if (floor !== lastFloor) {
      lastFloor = floor;
      lastMove = Date.now();
    } else if (Date.now() - lastMove > stallMs) {
      throw new Error(`${durable} stalled at ${floor} of ${seq} for ${stallMs} ms`);
    }
    await sleep(pollMs);
  }
}

// ---- child processes ------------------------------------------------------------------------------------

export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

/** Ink renders only the last frame when it thinks it runs in CI: the dashboard arm must see a terminal. */
function withoutCi(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { CI: _ci, CONTINUOUS_INTEGRATION: _ci2, ...rest } = env;
  return rest;
}

/** A bench worker (worker.ts) in its own Node process, so its CPU, heap and RSS are its own. */
export class Worker {
  readonly child: ChildProcess;
  private readonly queue: ChildMessage[] = [];
  private waiters: { type: string; resolve: (m: ChildMessage) => void; reject: (e: Error) => void }[] = [];
  private exitError: Error | undefined;
  readonly exited: Promise<number | null>;

  constructor(role: string, args: unknown, execArgv: string[] = []) {
    this.child = fork(path.join(here, 'worker.ts'), [role, JSON.stringify(args)], {
      // the same V8 flags as src/cli/bin.js gives the real processor
      // BENCH_WORKER_FLAGS: extra Node/V8 flags for a look inside (e.g. "--trace-gc"), never for the figures
      execArgv: ['--import', 'tsx', ...PROCESSOR_V8_FLAGS, ...execArgv, ...(process.env.BENCH_WORKER_FLAGS?.split(/\s+/).filter(Boolean) ?? [])],
      // as src/cli/bin.js runs the product: React's production build
      env: { ...withoutCi(process.env), ...PROCESSOR_ENV, NODE_ENV: process.env.NODE_ENV ?? 'production' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: ChildMessage) => {
      const i = this.waiters.findIndex((w) => w.type === m.type || m.type === 'error');
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        if (m.type === 'error') w!.reject(new Error(`${role} worker: ${String(m.message)}`));
        else w!.resolve(m);
      } else this.queue.push(m);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code) => {
        this.exitError = new Error(`${role} worker exited with ${code}`);
        for (const w of this.waiters) w.reject(this.exitError);
        this.waiters = [];
        resolve(code);
      });
    });
  }

  next<T = ChildMessage>(type: string): Promise<T> {
    const i = this.queue.findIndex((m) => m.type === type || m.type === 'error');
    if (i >= 0) {
      const [m] = this.queue.splice(i, 1);
      return m!.type === 'error' ? Promise.reject(new Error(String(m!.message))) : Promise.resolve(m as T);
    }
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve, reject) => this.waiters.push({ type, resolve: resolve as (m: ChildMessage) => void, reject }));
  }

  send(m: ChildMessage): void {
    this.child.send(m);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

// ---- machine --------------------------------------------------------------------------------------------

export function machineInfo(natsBinary: string | undefined) {
  const cpus = os.cpus();
  const nats = natsBinary ? spawnSync(natsBinary, ['--version'], { encoding: 'utf8' }).stdout.trim() : 'absent';
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    natsServer: nats,
    loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}
