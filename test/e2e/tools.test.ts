// The developer tools against a real nats-server and a running processor: record (PAN-free, gzip, clean
// Ctrl-C), batch submit (CSV and pain.001, control sums checked before sending), generate.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SECRET_HEX, DEMO_SEED, demoCardPans } from '../../src/domain/generate.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { type EmbeddedNats, startNatsServer } from '../../src/nats/embedded.ts';
import { DEFAULT_TOPOLOGY, connectNats } from '../../src/nats/setup.ts';
import { type Runtime, startRuntime } from '../../src/processor/launch.ts';
import { parseRuntimeConfig } from '../../src/processor/launch.ts';

const exec = promisify(execFile);
const bin = path.resolve('src/cli/bin.js');
let dir: string;
let nats: EmbeddedNats;
let runtime: Runtime;
let env: NodeJS.ProcessEnv;
const ledger = () => path.join(dir, 'ledger');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('node', [bin, '--data', path.join(dir, 'cli-data'), '--nats', nats.url, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let savedKey: string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-tools-'));
  // the demo key: the bundled recording's card tokens were made with it
  savedKey = process.env.PAYSTREAM_KEY;
  env = { ...process.env, PAYSTREAM_KEY: DEMO_SECRET_HEX };
  process.env.PAYSTREAM_KEY = DEMO_SECRET_HEX;
  nats = await startNatsServer({ storeDir: path.join(dir, 'nats') });
  const store = await LedgerStore.open(ledger());
  await seedLedger(store, { cards: 500, merchants: 60, seed: DEMO_SEED, cardBalance: '5000', merchantBalance: '1000000' });
  await store.close();
  // orders kept in the stream (as `run --keep-orders`): record --from-stream below reads them back
  const topology = { ...DEFAULT_TOPOLOGY, ordersRetention: 'limits' as const };
  runtime = await startRuntime(parseRuntimeConfig({ dataDir: ledger(), natsUrl: nats.url, rulesPath: false, topology }));
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await nats?.stop();
  if (savedKey === undefined) delete process.env.PAYSTREAM_KEY;
  else process.env.PAYSTREAM_KEY = savedKey;
  await rm(dir, { recursive: true, force: true });
});

describe('paystream record', () => {
  it('writes every message as NDJSON, gzipped, with the PAN replaced by its token, and closes cleanly on SIGINT', async () => {
    const out = path.join(dir, 'rec.ndjson.gz');
    const recorder: ChildProcess = spawn('node', [bin, '--data', path.join(dir, 'cli-data'), '--nats', nats.url, 'record', '--subject', 'pay.orders.>', '--out', out], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    recorder.stderr!.on('data', (d) => {
      stderr += String(d);
    });
    const deadline = Date.now() + 10_000;
    while (!stderr.includes('recording') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const pan = demoCardPans(1, DEMO_SEED)[0]!;
    const nc = await connectNats({ url: nats.url, name: 'record-test' });
    const enc = new TextEncoder();
    nc.publish('pay.orders.rec', enc.encode(JSON.stringify({ id: 'rec-1', type: 'payment', pan, merchant: 'm-coffee-001', amount: '3.00', currency: 'USD', createdAt: new Date().toISOString() })));
    nc.publish('pay.orders.rec', enc.encode(`free text with ${pan} inside`));
    await nc.flush();
    await nc.close();
    await new Promise((r) => setTimeout(r, 500));
    const exited = new Promise<number | null>((resolve) => recorder.once('exit', (code) => resolve(code)));
    recorder.kill('SIGINT');
    expect(await exited).toBe(0);
    const text = gunzipSync(await readFile(out)).toString('utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { subject: string; payload: string; receivedAtMs: number });
    expect(lines).toHaveLength(2);
    expect(text).not.toContain(pan);
    expect(JSON.parse(lines[0]!.payload)).toMatchObject({ id: 'rec-1', card: runtime.store.tokenize(pan) });
    expect(lines[1]!.payload).toContain('[PAN REDACTED]');
    expect(lines[0]!.subject).toBe('pay.orders.rec');
  });
});

describe('paystream record --from-stream', () => {
  it('reads a stream from a point in time to its end, with stream sequences, and stops there', async () => {
    const out = path.join(dir, 'from-stream.ndjson');
    const r = await cli(['record', '--from-stream', 'PAY_ORDERS', '--subject', 'pay.orders.>', '--since', '10m', '--out', out]);
    expect(r.code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { streamSeq?: number; subject: string });
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.every((l) => typeof l.streamSeq === 'number' && l.subject.startsWith('pay.orders.'))).toBe(true);
    const empty = await cli(['record', '--from-stream', 'PAY_ORDERS', '--subject', 'pay.orders.>', '--since', '2000-01-01T00:00:00Z', '--limit', '1', '--out', path.join(dir, 'one.ndjson')]);
    expect(empty.code).toBe(0);
    expect((await readFile(path.join(dir, 'one.ndjson'), 'utf8')).trim().split('\n')).toHaveLength(1);
  });
});

describe('paystream batch submit', () => {
  it('submits the sample payroll CSV and prints the report', async () => {
    const r = await cli(['batch', 'submit', path.resolve('data/samples/payroll.csv'), '--id', 'payroll-csv-1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { status: string; perStatus: Record<string, { count: number }> };
    expect(report.status).toBe('completed');
    expect(report.perStatus.approved?.count).toBe(5);
  });

  it('submits a pain.001 file, and refuses one whose CtrlSum is off before sending anything', async () => {
    const ok = await cli(['batch', 'submit', path.resolve('data/samples/payroll-pain001.xml'), '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'completed' });
    const xml = (await readFile('data/samples/payroll-pain001.xml', 'utf8')).replaceAll('<CtrlSum>12150.39</CtrlSum>', '<CtrlSum>12150.40</CtrlSum>');
    const bad = path.join(dir, 'bad.xml');
    await writeFile(bad, xml);
    const before = runtime.processor.stats.orders;
    const refused = await cli(['batch', 'submit', bad, '--id', 'bad-ctrl-sum']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/12150\.40/);
    expect(refused.stderr).toMatch(/12150\.39/);
    await new Promise((r) => setTimeout(r, 300));
    expect(runtime.processor.stats.orders).toBe(before);
  });
});

describe('paystream replay (to the broker)', () => {
  it('republishes a recording with its inter-arrival times scaled, orders as fresh as they were', async () => {
    const before = runtime.processor.stats.orders;
    const started = Date.now();
    const r = await cli(['replay', path.resolve('data/sample-recording.ndjson.gz'), '--speed', '20', '--json']);
    const elapsedMs = Date.now() - started;
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { sent: number }).sent).toBe(4000);
    // the recording spans about 40 s: at 20x its pacing takes about 2 s, not an instant
    expect(elapsedMs).toBeGreaterThan(1500);
    const deadline = Date.now() + 15_000;
    while (runtime.processor.stats.orders - before < 3900 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(runtime.processor.stats.orders - before).toBeGreaterThan(3900);
    const expired = runtime.processor.metrics.snapshot(Date.now()).totals.sinceStart.byStatus.expired ?? 0;
    expect(expired).toBeLessThan(100); // only the recording's own stale orders, not the whole replay
  }, 60_000);
});

describe('paystream generate', () => {
  it('publishes traffic the processor turns into results', async () => {
    const before = runtime.processor.stats.orders;
    const r = await cli(['generate', '--rate', '300', '--duration', '2s', '--cards', '500', '--seed', '4', '--json']);
    expect(r.code).toBe(0);
    const sent = (JSON.parse(r.stdout) as { sent: number }).sent;
    expect(sent).toBeGreaterThan(400);
    const deadline = Date.now() + 10_000;
    while (runtime.processor.stats.orders - before < sent * 0.9 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(runtime.processor.stats.orders - before).toBeGreaterThan(sent * 0.9);
  });
});
