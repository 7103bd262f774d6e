// A private nats-server with JetStream for one test file: free port, fresh store dir, kill and restart.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from '../../src/nats/embedded.ts';

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** what the running (or last) nats-server wrote to stderr, up to 64 KB */
  log(): string;
  /** sends a signal and waits for the process to exit */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** starts again on the same port with the same store dir */
  restart(): Promise<void>;
  /** kill (if running) and remove the store dir */
  cleanup(): Promise<void>;
}

export interface NatsServerOptions {
  /** a configuration file's text for this store dir (it must set jetstream.store_dir to it); absent: -js -sd */
  config?: (storeDir: string) => string;
  /** extra environment for nats-server (variables the configuration refers to) */
  env?: Record<string, string>;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const storeDir = await mkdtemp(path.join(os.tmpdir(), 'paystream-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let stderr = '';
  // the configuration lives beside the store dir, not in it: the store dir is what tests read
  const configFile = options.config ? `${storeDir}.conf` : undefined;
  if (configFile && options.config) await writeFile(configFile, options.config(storeDir), { mode: 0o600 });
  const args = configFile
    ? ['-c', configFile, '-a', '127.0.0.1', '-p', String(port)]
    : ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir];

  const launch = async (): Promise<void> => {
    stderr = '';
    const proc = spawn('nats-server', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
    });
    child = proc;
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${stderr.slice(-2000)}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port), exited]);
    // JetStream is ready shortly after the port opens; the log line says so
    const deadline = Date.now() + 10_000;
    while (!/Server is ready/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await gone;
  };

  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    log: () => stderr,
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async cleanup() {
      await kill('SIGKILL');
      await rm(storeDir, { recursive: true, force: true });
      if (configFile) await rm(configFile, { force: true });
    },
  };
}
