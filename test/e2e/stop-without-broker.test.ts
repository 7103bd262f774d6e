// A processor whose broker is gone when it is told to stop (the demo's own nats-server, stopped first by the
// same Ctrl-C) still stops and lets the process end: its NATS connection is closed, not left reconnecting.

import { afterAll, describe, expect, it } from 'vitest';
import { parseRuntimeConfig, startRuntime } from '../../src/processor/launch.ts';
import { seededLedger } from './harness.ts';
import { startNatsServer } from './nats-server.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('stopping after the broker is gone', () => {
  it('drains, then closes the NATS connection that can no longer reach a server', async () => {
    const ledger = await seededLedger(5);
    cleanups.push(ledger.cleanup);
    const nats = await startNatsServer();
    cleanups.push(() => nats.cleanup());
    const runtime = await startRuntime(parseRuntimeConfig({ dataDir: ledger.dataDir, natsUrl: nats.url, rulesPath: false }));
    await nats.kill('SIGKILL');
    await runtime.stop();
    expect(runtime.nc?.isClosed()).toBe(true);
  });
});
