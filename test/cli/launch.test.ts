// The processor's V8 flags and environment (src/cli/v8-flags.ts) are written out where a process starts:
// the #! lines of the executables and the npm scripts. They must not drift apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROCESSOR_ENV, PROCESSOR_V8_FLAGS } from '../../src/cli/v8-flags.ts';

const root = new URL('../../', import.meta.url);
const launch = [
  ...Object.entries(PROCESSOR_ENV).map(([k, v]) => `${k}=${v}`),
  'node',
  ...PROCESSOR_V8_FLAGS,
].join(' ');

describe('how the processor is launched', () => {
  // paystream.ts is built to the package's bin, whose #! line tsc keeps; bin.js runs it from the sources
  it.each(['src/cli/paystream.ts', 'src/cli/bin.js'])('the #! line of %s carries the environment and the V8 flags', (file) => {
    const shebang = readFileSync(new URL(file, root), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S ${launch}`);
  });

  // exec: the script's shell gives way to the program, so a signal npm passes on (SIGINT, SIGTERM) reaches it
  it('npm start and npm run paystream launch the built program the same way, after bringing the build up to date', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin.paystream).toBe('dist/paystream.js');
    expect(pkg.scripts.start).toBe(`npm run build --silent && exec env ${launch} ${pkg.bin.paystream} demo`);
    expect(pkg.scripts.paystream).toBe(`npm run build --silent && exec env ${launch} ${pkg.bin.paystream}`);
  });
});
