// `npm run build` (and so `npm ci`, through prepare): the published program, plain JavaScript in dist/, bundled
// by esbuild from src/cli/paystream.ts. Each part a command loads with import() becomes a chunk of its own,
// so a command reads only what it needs, and the dependencies are bundled in: loading them file by file
// (CommonJS resolution, package.json reads) was most of a start. Types are checked by `npm test` (tsc
// --noEmit), not here.

import { rmSync } from 'node:fs';
import { build } from 'esbuild';

/**
 * dependencies left to node_modules: LevelDB's native addon, and the dashboard's Ink and React (Ink loads
 * Yoga's WebAssembly from its own files). nkeys.js and cli-progress are loaded there too (createRequire).
 */
const EXTERNAL = ['classic-level', 'ink', 'react'];

rmSync(new URL('./dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/paystream.ts'],
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // bundled CommonJS packages (commander, ajv, nats, ...) require Node's own modules
  banner: { js: "import { createRequire as paystreamRequire } from 'node:module'; const require = paystreamRequire(import.meta.url);" },
  logLevel: 'warning',
});
