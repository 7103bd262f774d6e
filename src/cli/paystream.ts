#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=16 --max-old-space-size=768
// The `paystream` executable: built to plain JavaScript (dist/paystream.js, the package's bin, by src/cli/build.mjs);
// src/cli/bin.js runs this same file from the TypeScript sources for development and the tests.

// The V8 flags and the environment of the #! line (src/cli/v8-flags.ts says why) apply when run as `paystream` or `npx
// paystream`; `npm start` passes them itself.

// Long-running commands remember a SIGINT/SIGTERM that arrives while the code is still loading, and
// honour it (drain, exit 0) once they are up, instead of dying half-started.
if (process.argv.slice(2).some((arg) => arg === 'run' || arg === 'demo')) {
  const early = {
    requested: false,
    handler: () => {
      early.requested = true;
    },
  };
  (globalThis as { paystreamEarlySignal?: typeof early }).paystreamEarlySignal = early;
  process.on('SIGINT', early.handler);
  process.on('SIGTERM', early.handler);
}

// React's development build (the default without NODE_ENV) makes each dashboard frame markedly dearer
process.env.NODE_ENV ??= 'production';

const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
