#!/usr/bin/env node
// The `paystream` executable: loads the TypeScript CLI through tsx, so no build step is needed.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

// keep in step with src/cli/v8-flags.ts: a larger young generation for the processor's per-buffer garbage
setFlagsFromString('--max-semi-space-size=64');

// Long-running commands remember a SIGINT/SIGTERM that arrives while the code is still loading, and
// honour it (drain, exit 0) once they are up, instead of dying half-started.
if (process.argv.slice(2).some((arg) => arg === 'run' || arg === 'demo')) {
  const early = { requested: false, handler: () => { early.requested = true; } };
  globalThis.paystreamEarlySignal = early;
  process.on('SIGINT', early.handler);
  process.on('SIGTERM', early.handler);
}

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
