// The bench's cli phase: how long the built `paystream` (dist/, as the package runs it) takes to start, as a
// ratio to bare Node measured in the same run: `--help`, `cards show` on the bench's ledger, and `run
// --headless` until it consumes. Medians of interleaved runs, so a busy moment hits every command alike.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { PROCESSOR_ENV, PROCESSOR_V8_FLAGS } from '../../src/cli/v8-flags.ts';
import { startNatsServer } from '../../src/nats/embedded.ts';
import { connectNats, DEFAULT_TOPOLOGY, streamNames } from '../../src/nats/setup.ts';
import { here, workingCopy } from './lib.ts';

const exec = promisify(execFile);
const REPO_ROOT = path.resolve(here, '../..');
/** the built program, as the package's bin and npm start run it */
const BUILT = path.join(REPO_ROOT, 'dist', 'paystream.js');
/** the development launcher: the sources through tsx, as the program ran before it was built */
const FROM_SOURCES = path.join(REPO_ROOT, 'src', 'cli', 'bin.js');
/** what `run --headless` logs once it consumes: the processor started, its consumer pulling */
const READY_LINE = '"msg":"paystream running"';
/** a start that takes longer than this has failed */
const START_TIMEOUT_MS = 30_000;

export const CLI_TARGETS = { helpRatioMax: 2, cardsShowRatioMax: 3, runReadyMsMax: 1000 } as const;

export interface CliPhaseOptions {
  /** a seeded ledger to copy (never opened in place) */
  template: string;
  cards: number;
  workDir: string;
  natsBinary: string | undefined;
  /** interleaved rounds of the short commands; `run --headless` starts this many times less 4 (at least 3) */
  rounds: number;
  log: (line: string) => void;
}

export interface CliFigures {
  nodeMs: number;
  helpMs: number;
  cardsShowMs: number;
  runReadyMs: number;
  /** the same --help from the sources through tsx, fewer rounds (it is slow) */
  helpFromSourcesMs: number;
  cardsShowFromSourcesMs: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** One start of `node ...args` to its exit, in ms; a non-zero exit fails the phase. */
async function timed(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`);
  return ms;
}

/** The built program with the V8 flags and environment of its #! line. */
const built = (args: string[]) => [...PROCESSOR_V8_FLAGS, BUILT, ...args];

export async function phaseCli(o: CliPhaseOptions): Promise<CliFigures> {
  o.log('cli: building dist/ (npm run build)');
  await exec('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT });
  const env = { ...process.env, ...PROCESSOR_ENV };
  const ledger = await workingCopy(o.template, path.join(o.workDir, 'ledger-cli'));
  const token = await firstCardToken(ledger, env);
  const show = ['--data', ledger, 'cards', 'show', token];
  const times = { node: [] as number[], help: [] as number[], show: [] as number[] };
  for (let round = 0; round < o.rounds; round++) {
    times.node.push(await timed(['-e', '0'], env));
    times.help.push(await timed(built(['--help']), env));
    times.show.push(await timed(built(show), env));
  }
  const sourceRounds = Math.max(1, Math.floor(o.rounds / 3));
  const fromSources = { help: [] as number[], show: [] as number[] };
  for (let round = 0; round < sourceRounds; round++) {
    fromSources.help.push(await timed([FROM_SOURCES, '--help'], env));
    fromSources.show.push(await timed([FROM_SOURCES, ...show], env));
  }
  const runReadyMs = await runReady(o, ledger, env);
  return {
    nodeMs: median(times.node),
    helpMs: median(times.help),
    cardsShowMs: median(times.show),
    runReadyMs,
    helpFromSourcesMs: median(fromSources.help),
    cardsShowFromSourcesMs: median(fromSources.show),
  };
}

/** A card of the ledger, by token, so `cards show` finds exactly one. */
async function firstCardToken(ledger: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await exec(process.execPath, built(['--data', ledger, 'cards', 'list', '--limit', '1', '--json']), { env });
  const token = (JSON.parse(stdout) as { cards: { token: string }[] }).cards[0]?.token;
  if (!token) throw new Error('the bench ledger has no cards');
  return token;
}

/** `run --headless` on the ledger, started several times: the median time from spawn to consuming. */
async function runReady(o: CliPhaseOptions, ledger: string, env: NodeJS.ProcessEnv): Promise<number> {
  const nats = await startNatsServer({ storeDir: path.join(o.workDir, 'nats-cli'), ...(o.natsBinary ? { binary: o.natsBinary } : {}) });
  try {
    const ready: number[] = [];
    for (let start = 0; start < Math.max(3, o.rounds - 4); start++) {
      ready.push(await oneRunStart(built(['--data', ledger, '--nats', nats.url, 'run', '--headless']), env, nats.url));
    }
    return median(ready);
  } finally {
    await nats.stop();
  }
}

/** One start: ms until the ready line, checked against the broker (the durable consumer is there), then a clean stop. */
async function oneRunStart(args: string[], env: NodeJS.ProcessEnv, natsUrl: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  try {
    const ms = await untilLine(child, READY_LINE, started);
    await expectConsumer(natsUrl);
    return ms;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

function untilLine(child: ChildProcess, line: string, started: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`run --headless not ready within ${START_TIMEOUT_MS} ms: ${stderr.slice(-1000)}`)), START_TIMEOUT_MS);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes(line)) {
        clearTimeout(timer);
        resolve(performance.now() - started);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`run --headless exited ${code} before it was ready: ${stderr.slice(-1000)}`));
    });
  });
}

async function expectConsumer(natsUrl: string): Promise<void> {
  const nc = await connectNats({ url: natsUrl, name: 'bench-cli' });
  try {
    const info = await (await nc.jetstreamManager()).consumers.info(streamNames(DEFAULT_TOPOLOGY).orders, DEFAULT_TOPOLOGY.durable);
    if (!info) throw new Error('no durable consumer once run said it was ready');
  } finally {
    await nc.close();
  }
}
