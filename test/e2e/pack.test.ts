// The package as a user gets it: `npm pack`, then the tarball installed into an empty folder from the
// registry, gives a working `paystream` (--help, seed, verify, and the demo on a nats-server from the PATH),
// with nothing of the tests or the sources in it. Needs the npm registry for the dependencies.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/nats/embedded.ts';
import { REPO_ROOT, waitUntil } from './harness.ts';

const exec = promisify(execFile);
/** npm pack (which builds) and npm install from the registry, on a slow network */
const INSTALL_TIMEOUT_MS = 240_000;
/** how long the demo may take to seed its ledger, start its nats-server and process traffic */
const DEMO_SERVING_TIMEOUT_MS = 60_000;
/** what npm says when it cannot reach the registry */
const OFFLINE_RE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|network/i;
/** Debian installs nats-server under /usr/sbin, which is not on every user's PATH */
const PATH_WITH_SBIN = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;

let work: string;
let tarball: string;
let folder: string;
let bin: string;

/** `npm pack`: the tarball of this working tree, built by the prepare script as npm publishes it. */
async function packTarball(into: string): Promise<string> {
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', into], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  // prepare's own output may come first: the JSON is the last array printed
  const packed = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[') + 1)) as { filename: string }[];
  return path.join(into, packed[0]!.filename);
}

/** `npm install <tarball>` into an empty folder; a registry out of reach fails the test and says so. */
async function installInEmptyFolder(tarballFile: string, into: string): Promise<void> {
  try {
    await exec('npm', ['install', '--no-audit', '--no-fund', tarballFile], { cwd: into, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stderr = '', message } = error as { stderr?: string; message: string };
    if (OFFLINE_RE.test(stderr)) {
      throw new Error(`npm could not reach the registry to install the package's dependencies; this test needs the network:\n${stderr.slice(-2000)}`);
    }
    throw new Error(`npm install of the packed tarball failed: ${message}\n${stderr.slice(-2000)}`);
  }
}

/** The installed `paystream`, run by its #! line from the folder, as `npx paystream` would. */
async function paystream(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(bin, args, { cwd: folder, env: { ...process.env, PATH: PATH_WITH_SBIN } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path.join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'paystream-pack-'));
  folder = path.join(work, 'empty');
  await exec('mkdir', [folder]);
  tarball = await packTarball(work);
  await installInEmptyFolder(tarball, folder);
  bin = path.join(folder, 'node_modules', '.bin', 'paystream');
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm pack, installed into an empty folder', () => {
  it('holds the built program, the default rules and the bundled recording: no tests, sources or other data; it installs only what it loads from node_modules', async () => {
    const installed = path.join(folder, 'node_modules', 'paystream');
    const files = await filesUnder(installed);
    expect(files).toContain(path.join('dist', 'paystream.js'));
    expect(files).toContain(path.join('data', 'risk.yaml'));
    expect(files).toContain(path.join('data', 'sample-recording.ndjson.gz'));
    expect(files.filter((f) => /^(test|src|streams|ui)\//.test(f) || f.startsWith(`data${path.sep}samples`) || f.endsWith('.ts'))).toEqual([]);
    const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).not.toContain('tsx');
    // neither the development tools nor the packages bundled into dist/ were installed with it
    for (const name of ['tsx', 'typescript', 'esbuild', 'nats', 'rxjs', 'ajv', 'yaml', 'pino']) {
      await expect(stat(path.join(folder, 'node_modules', name)), name).rejects.toThrow();
    }
  });

  it('paystream --help prints the same help as the working tree', async () => {
    const installed = await paystream(['--help']);
    const local = await exec(process.execPath, [path.join(REPO_ROOT, 'src/cli/bin.js'), '--help']);
    expect(installed.code).toBe(0);
    expect(installed.stdout).toBe(local.stdout);
  });

  it('seeds a ledger and verifies it', async () => {
    const data = path.join(folder, 'ledger');
    const seeded = await paystream(['--data', data, 'seed', '--cards', '50', '--merchants', '5']);
    expect(seeded.stderr).toBe('');
    expect(seeded.stdout).toMatch(/^seeded 50 cards \(0 existed\), \d+ merchants in [\d.]+ s\n$/);
    const verified = await paystream(['--data', data, 'verify']);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^OK: 50 cards, /);
  });

  it('runs the demo on a nats-server from the PATH: it processes traffic, serves its metrics and stops on Ctrl-C', async () => {
    const port = await freePort();
    const demo = spawn(bin, ['demo', '--headless', '--rate', '100', '--metrics-port', String(port)], {
      cwd: folder,
      env: { ...process.env, PATH: PATH_WITH_SBIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr = collect(demo);
    try {
      const processed = await ordersServed(port, () => stderr.text);
      expect(processed).toBeGreaterThan(0);
      expect(stderr.text).not.toMatch(/replaying the bundled recording offline/);
    } finally {
      demo.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => demo.once('exit', resolve));
    expect(code).toBe(0);
    expect(stderr.text).toMatch(/processed [1-9]\d* orders/);
    // the demo's ledger is the folder's, not the installed package's
    await expect(stat(path.join(folder, 'data', 'demo', 'ledger'))).resolves.toBeTruthy();
  }, DEMO_SERVING_TIMEOUT_MS + 30_000);
});

function collect(child: ChildProcess): { text: string } {
  const out = { text: '' };
  child.stderr?.on('data', (chunk: Buffer) => {
    out.text += chunk.toString('utf8');
  });
  return out;
}

/** Polls the demo's /metrics until it has processed orders; their count. */
async function ordersServed(port: number, log: () => string): Promise<number> {
  let processed = 0;
  await waitUntil(
    'the demo to process orders and serve /metrics',
    async () => {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      processed = [...text.matchAll(/^paystream_orders_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      return processed > 0;
    },
    DEMO_SERVING_TIMEOUT_MS,
    () => log().slice(-2000),
  );
  return processed;
}
