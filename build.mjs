// `npm run build` (and so `npm ci`, through prepare): the published program, plain JavaScript in dist/, bundled
// by esbuild from src/cli/paystream.ts. Each part a command loads with import() becomes a chunk of its own,
// so a command reads only what it needs; the pure-JavaScript packages every command loads are bundled in,
// the others are left to node_modules. Types are checked by `npm test` (tsc --noEmit), not here.

import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

/** dependencies every command loads, small and pure JavaScript: read from the bundle, not from dozens of files */
const BUNDLED = ['commander', 'decimal.js', 'lru-cache'];

const { dependencies } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
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
  external: Object.keys(dependencies).filter((name) => !BUNDLED.includes(name)),
  // a bundled CommonJS package (commander) requires Node's own modules
  banner: { js: "import { createRequire as paystreamRequire } from 'node:module'; const require = paystreamRequire(import.meta.url);" },
  logLevel: 'warning',
});
