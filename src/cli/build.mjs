// `npm run build` (and so `npm ci`, through prepare): the published program, plain JavaScript in dist/, bundled
// by esbuild from src/cli/paystream.ts. Each part a command loads with import() becomes a chunk of its own,
// so a command reads only what it needs, and the packages it uses are bundled in (they are devDependencies):
// loading them file by file (CommonJS resolution, package.json reads) was most of a start. What package.json
// lists as dependencies is what the program loads from node_modules when it runs, and only that. Types are
// checked by `npm test` (tsc --noEmit), not here.

import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

/**
 * The dependencies, loaded from node_modules: LevelDB's native addon (classic-level), the dashboard's Ink and
 * React (Ink loads Yoga's WebAssembly from its own files), and what the code loads with createRequire when it
 * needs it (nkeys.js for a seed's check, cli-progress for a bar).
 */
const EXTERNAL = Object.keys(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).dependencies);

/**
 * commander loads node:child_process as it loads, for subcommands that are executables of their own (paystream
 * has none), and with it Node's net, dgram and stream modules: here it loads it on first use, which saves
 * every command about 15 ms of start-up. A commander that no longer reads so fails the build.
 */
const commanderChildProcessOnUse = {
  name: 'commander-child-process-on-use',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager)) throw new Error(`${args.path} no longer loads node:child_process as src/cli/build.mjs expects: see commanderChildProcessOnUse`);
      const onUse = "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };";
      return { contents: source.replace(eager, onUse), loader: 'js' };
    });
  },
};

rmSync(new URL('../../dist', import.meta.url), { recursive: true, force: true });
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
  plugins: [commanderChildProcessOnUse],
  logLevel: 'warning',
});
