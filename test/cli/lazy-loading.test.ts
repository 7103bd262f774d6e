// Each command loads only what it needs: `paystream --help` none of the packages of the ledger, NATS, the
// processor or the dashboard, `cards show` the ledger's but none of the others. Checked by a resolve hook that
// records every package the real program (from the sources) loads, so a static import that brings one back
// into a command's registration fails here, whatever the machine's speed.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SEED } from '../../src/domain/generate.ts';
import { seedLedger } from '../../src/ledger/seed.ts';
import { LedgerStore } from '../../src/ledger/store.ts';
import { REPO_ROOT } from '../e2e/harness.ts';

const exec = promisify(execFile);

/** the packages each kind of work brings; a command that does not do that work must not load them */
const NATS = ['nats', 'nkeys.js'];
const PROCESSOR = ['rxjs', 'ajv', 'yaml', 'pino', 'prom-client', 'hdr-histogram-js'];
const DASHBOARD = ['ink', 'react'];
const LEDGER = ['classic-level', 'lru-cache'];
const BATCH_FILES = ['csv-parse', 'fast-xml-parser'];

const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(resolved.url);
  if (m && !/node_modules/.test(context.parentURL ?? '')) appendFileSync(process.env.LOADED_PACKAGES_FILE, m[1] + '\\n');
  return resolved;
}
`;

let dir: string;
let ledger: string;
let token: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-lazy-'));
  await writeFile(path.join(dir, 'hooks.mjs'), HOOKS);
  await writeFile(path.join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  ledger = path.join(dir, 'ledger');
  const store = await LedgerStore.open(ledger);
  try {
    await seedLedger(store, { cards: 3, merchants: 1, seed: DEMO_SEED, cardBalance: '100', merchantBalance: '100' });
    token = (await store.listCards({ limit: 1 }))[0]!.token;
  } finally {
    await store.close();
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The packages the program imports itself (not those its packages import) while running `args`. */
async function packagesLoadedBy(args: string[]): Promise<Set<string>> {
  const file = path.join(dir, `loaded-${args.join('-').replace(/[^a-z]/gi, '')}.txt`);
  await writeFile(file, '');
  await exec(process.execPath, ['--import', path.join(dir, 'register.mjs'), path.join(REPO_ROOT, 'src/cli/bin.js'), ...args], {
    env: { ...process.env, LOADED_PACKAGES_FILE: file },
  });
  return new Set((await readFile(file, 'utf8')).split('\n').filter((name) => name !== '' && name !== 'tsx' && name !== 'esbuild'));
}

describe('what a command loads', () => {
  it('--help loads commander and no package of the ledger, NATS, the processor, batch files or the dashboard', async () => {
    const loaded = await packagesLoadedBy(['--help']);
    expect(loaded).toContain('commander');
    for (const name of [...NATS, ...PROCESSOR, ...DASHBOARD, ...LEDGER, ...BATCH_FILES]) expect(loaded, name).not.toContain(name);
  });

  it('cards show opens the ledger and loads nothing of NATS, the processor, batch files or the dashboard', async () => {
    const loaded = await packagesLoadedBy(['--data', ledger, 'cards', 'show', token]);
    expect(loaded).toContain('classic-level');
    for (const name of [...NATS, ...PROCESSOR, ...DASHBOARD, ...BATCH_FILES]) expect(loaded, name).not.toContain(name);
  });
});
