// Starts a private nats-server with JetStream (the demo, tests and the benchmark): free port, own store dir.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';

export interface EmbeddedNats {
  url: string;
  port: number;
  storeDir: string;
  process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function natsServerBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

export const INSTALL_HINT =
  'nats-server not found: install it (Debian/Ubuntu: sudo apt-get install nats-server; macOS: brew install nats-server; or https://github.com/nats-io/nats-server/releases)';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port; rejects after timeoutMs or when `child` exits. */
export async function waitForPort(port: number, timeoutMs = 10_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`nats-server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`);
}

export async function startNatsServer(options: { storeDir: string; port?: number; binary?: string }): Promise<EmbeddedNats> {
  const binary = options.binary ?? natsServerBinary();
  if (!binary) throw new Error(INSTALL_HINT);
  await mkdir(options.storeDir, { recursive: true });
  const port = options.port ?? (await freePort());
  // A small shell keeps the server on a leash: it stops the server when told to, and also when our end of
  // its stdin closes, which happens whenever this process ends, even by SIGKILL or a crash.
  const leash = [
    '"$0" "$@" & server=$!',
    "trap 'kill $server 2>/dev/null; wait $server; exit 0' TERM INT HUP",
    'exec 3<&0',
    'cat <&3 >/dev/null & wait $!',
    'kill $server 2>/dev/null; wait $server',
  ].join('\n');
  const child = spawn('sh', ['-c', leash, binary, '-js', '-a', '127.0.0.1', '-p', String(port), '-sd', options.storeDir], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  await waitForPort(port, 10_000, child);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir: options.storeDir,
    process: child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    },
  };
}
