// The processor's V8 flags and environment (src/cli/v8-flags.ts) are written out where a process starts:
// the #! line of the executable and the npm scripts. They must not drift apart.
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
  it('the #! line of src/cli/bin.js carries the environment and the V8 flags', () => {
    const shebang = readFileSync(new URL('src/cli/bin.js', root), 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S ${launch}`);
  });

  it('npm start and npm run paystream launch it the same way', () => {
    const scripts = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).scripts as Record<string, string>;
    expect(scripts.start).toBe(`${launch} src/cli/bin.js demo`);
    expect(scripts.paystream).toBe(`${launch} src/cli/bin.js`);
  });
});
