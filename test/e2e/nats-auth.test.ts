// The CLI connecting to a nats-server that requires credentials (issue 15, requirement 1): the processor
// (`run`), the CLI through the processor's service (`stats`), and a publishing tool (`batch submit`) take a
// user and password (in the URL, as flags, from NATS_USER/NATS_PASSWORD), a token, an NKey seed file, a
// credentials file and TLS with a client certificate, each from flags and from the environment. Wrong
// credentials end with a readable error and exit 1; contradictions with exit 2 before anything starts; and
// no password, token or seed appears in anything printed, in the processor's logs or in the lock holder's
// owner.json. Before: `--nats nats://u:secret@host` was refused, and the error printed `secret`.
// The processor and a few commands run as child processes (the whole CLI, end to end); the many other
// runs call main() in this process (the same code from argv on, without a node start each: ~3 s apiece
// on a loaded machine), one at a time, with their output captured and the environment stubbed.

import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { connectNats, parseNatsAuth } from '../../src/nats/connect.ts';
import { type OperatorSetup, type TlsFiles, makeNkeyUser, makeOperatorSetup, makeTlsFiles } from '../nats/auth-fixtures.ts';
import { type ChildProcessor, type CliOutcome, REPO_ROOT, type SeededLedger, cli, seededLedger, startChildProcessor } from './harness.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

const PASSWORD = 'secret';
/** the password anywhere in what is printed (the name of the tokenization key's file, secret.key, aside) */
const SECRET_WORD = /secret(?!\.key)/;
const TOKEN = 'tok-e2e-5b1d0c9a7e';
const PAYROLL = path.join(REPO_ROOT, 'data/samples/payroll.csv');

let dir: string;
const file = (name: string) => path.join(dir, name);

/** Nothing the command printed holds any of `secrets`. */
function printsNone(outcome: CliOutcome, secrets: Array<string | RegExp>): void {
  for (const s of secrets) {
    const holds = (text: string) => (typeof s === 'string' ? text.includes(s) : s.test(text));
    expect(holds(outcome.stdout), `stdout holds ${s}: ${outcome.stdout}`).toBe(false);
    expect(holds(outcome.stderr), `stderr holds ${s}: ${outcome.stderr}`).toBe(false);
  }
}

/** the variables a run may take: cleared for each in-process run unless it sets them */
const NATS_VARIABLES = ['NATS_URL', 'NATS_CREDS', 'NATS_NKEY', 'NATS_TOKEN', 'NATS_TOKEN_FILE', 'NATS_USER', 'NATS_PASSWORD', 'NATS_PASSWORD_FILE', 'NATS_TLS_CA', 'NATS_TLS_CERT', 'NATS_TLS_KEY'];

let inProcess = Promise.resolve();

/** `paystream <args>` through main() in this process (one at a time), output captured, environment stubbed. */
function run(args: string[], env: Record<string, string> = {}): Promise<CliOutcome> {
  const outcome = inProcess.then(async () => {
    for (const name of NATS_VARIABLES) vi.stubEnv(name, env[name]);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    process.exitCode = undefined;
    try {
      const code = await main(['node', 'paystream', ...args]);
      const text = (spy: typeof out) => spy.mock.calls.map((c) => String(c[0])).join('');
      return { code, stdout: text(out), stderr: text(err) };
    } finally {
      process.exitCode = undefined;
      out.mockRestore();
      err.mockRestore();
      vi.unstubAllEnvs();
    }
  });
  inProcess = outcome.then(
    () => undefined,
    () => undefined,
  );
  return outcome;
}

function ok(outcome: CliOutcome): CliOutcome {
  expect(outcome.stderr + outcome.stdout).not.toMatch(/refused|cannot reach|failed/i);
  expect(outcome.code).toBe(0);
  return outcome;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-nats-auth-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('user and password: the processor, and the CLI through its service', () => {
  let server: NatsServer;
  let ledger: SeededLedger;
  let processor: ChildProcessor;
  let url: string;

  beforeAll(async () => {
    [server, ledger] = await Promise.all([
      startNatsServer({ config: (sd) => `jetstream { store_dir: "${sd}" }\nauthorization { users: [ { user: u, password: "${PASSWORD}" } ] }\n` }),
      seededLedger(10),
    ]);
    await writeFile(file('password'), `${PASSWORD}\n`, { mode: 0o600 });
    url = `nats://u:${PASSWORD}@127.0.0.1:${server.port}`;
    // the URL with the password in it: refused before (nats.js drops a URL's userinfo)
    processor = await startChildProcessor(ledger.dataDir, url);
  });
  afterAll(async () => {
    await processor?.stop();
    await server?.cleanup();
    await ledger?.cleanup();
  });

  it('the processor connects with nats://u:secret@host; its logs and owner.json show the URL masked', async () => {
    expect(processor.stderr()).toContain('paystream running');
    expect(processor.stderr()).toContain(`nats://u:***@127.0.0.1:${server.port}`);
    expect(processor.stderr()).not.toMatch(SECRET_WORD);
    const owner = await readFile(path.join(ledger.dataDir, 'owner.json'), 'utf8');
    expect(owner).toContain(`"natsUrl":"nats://u:***@127.0.0.1:${server.port}"`);
    expect(owner).not.toContain(PASSWORD);
  });

  it('stats through the service: with --user/--password-file, NATS_USER/NATS_PASSWORD, or the URL; the figures show the URL masked', async () => {
    const [env, flags, inUrl, passwordFlag] = await Promise.all([
      cli(['--data', ledger.dataDir, 'stats', '--json'], { NATS_USER: 'u', NATS_PASSWORD: PASSWORD }),
      run(['--data', ledger.dataDir, '--user', 'u', '--password-file', file('password'), 'stats', '--json']),
      run(['--data', ledger.dataDir, 'stats', '--json'], { NATS_URL: url }),
      run(['--data', ledger.dataDir, '--user', 'u', '--password', PASSWORD, 'stats', '--json']),
    ]);
    for (const outcome of [flags, env, inUrl, passwordFlag]) {
      ok(outcome);
      printsNone(outcome, [SECRET_WORD]);
      expect(JSON.parse(outcome.stdout).snapshot.status.natsUrl).toBe(`nats://u:***@127.0.0.1:${server.port}`);
    }
  });

  it('wrong or missing credentials: a readable error, exit 1, and nothing printed holds the password', async () => {
    const [wrongUrl, wrong, none] = await Promise.all([
      cli(['--nats', `nats://u:wrongsecret@127.0.0.1:${server.port}`, 'batch', 'submit', PAYROLL, '--no-wait']),
      run(['--data', ledger.dataDir, 'stats'], { NATS_USER: 'u', NATS_PASSWORD: 'wrongsecret' }),
      run(['--data', ledger.dataDir, 'stats']),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused the connection \(authorization violation\): it did not accept the user and password from NATS_USER/);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/refused the connection \(authorization violation\): no credentials were given/);
    expect(wrongUrl.code).toBe(1);
    expect(wrongUrl.stderr).toContain(`paystream: NATS at nats://u:***@127.0.0.1:${server.port} refused the connection`);
    for (const outcome of [wrong, none, wrongUrl]) printsNone(outcome, [SECRET_WORD]);
  });
});

/**
 * Runs `batch submit` three ways (flags, environment, wrong) against a server; the first two must
 * publish (a subscriber with good credentials sees each batch header), the third fail with exit 1.
 */
async function threeWays(
  server: NatsServer,
  good: { flags: string[]; env: Record<string, string>; auth: Parameters<typeof parseNatsAuth>[0] },
  wrong: { flags: string[]; env?: Record<string, string> },
  url = server.url,
  secrets: string[] = [],
): Promise<CliOutcome> {
  const nc: NatsConnection = await connectNats({ url, name: 'auth-e2e', auth: parseNatsAuth(good.auth, {}, url) });
  try {
    const seen = new Set<string>();
    const sub = nc.subscribe('pay.batches.>', { callback: (_e, m) => seen.add(m.subject) });
    await nc.flush();
    const submit = (id: string, flags: string[], env: Record<string, string> = {}) =>
      run(['--nats', url, ...flags, 'batch', 'submit', PAYROLL, '--id', id, '--no-wait'], env);
    const [byFlags, byEnv, refused] = await Promise.all([
      submit('by-flags', good.flags),
      submit('by-env', [], good.env),
      submit('refused', wrong.flags, wrong.env),
    ]);
    ok(byFlags);
    ok(byEnv);
    await nc.flush();
    expect([...seen].sort()).toEqual(['pay.batches.by-env', 'pay.batches.by-flags']);
    sub.unsubscribe();
    expect(refused.code).toBe(1);
    for (const outcome of [byFlags, byEnv, refused]) printsNone(outcome, secrets);
    return refused;
  } finally {
    await nc.close();
  }
}

type AuthServers = Record<'token' | 'nkey' | 'creds' | 'tls', NatsServer>;

/** The token, the NKey seeds (the user's and another), and the credentials files (the user's and a stranger's). */
async function writeCredentialFiles(nkeyUser: { seed: string }, operator: OperatorSetup): Promise<void> {
  await Promise.all([
    writeFile(file('token'), `${TOKEN}\n`, { mode: 0o600 }),
    writeFile(file('user.nk'), `${nkeyUser.seed}\n`, { mode: 0o600 }),
    writeFile(file('other.nk'), `${makeNkeyUser().seed}\n`, { mode: 0o600 }),
    writeFile(file('user.creds'), operator.creds, { mode: 0o600 }),
    writeFile(file('stranger.creds'), operator.strangerCreds, { mode: 0o600 }),
  ]);
}

/** One server for each way in: a token, an NKey, operator-signed JWTs, TLS that verifies client certificates. */
async function startAuthServers(nkeyUser: { publicKey: string }, operator: OperatorSetup, tls: TlsFiles): Promise<AuthServers> {
  const js = (sd: string) => `jetstream { store_dir: "${sd}" }\n`;
  const [token, nkey, creds, tlsServer] = await Promise.all([
    startNatsServer({ config: (sd) => `${js(sd)}authorization { token: "${TOKEN}" }\n` }),
    startNatsServer({ config: (sd) => `${js(sd)}authorization { users: [ { nkey: ${nkeyUser.publicKey} } ] }\n` }),
    startNatsServer({ config: (sd) => `${js(sd)}${operator.serverConfig}\n` }),
    startNatsServer({
      config: (sd) => `${js(sd)}tls { cert_file: "${tls.serverCert}", key_file: "${tls.serverKey}", ca_file: "${tls.caCert}", verify: true, timeout: 2 }\n`,
    }),
  ]);
  return { token, nkey, creds, tls: tlsServer };
}

describe('token, NKey, credentials file, TLS: batch submit connects with flags and with the environment', () => {
  const servers = {} as AuthServers;
  let nkeyUser: { seed: string; publicKey: string };
  let operator: OperatorSetup;
  let tls: TlsFiles;

  beforeAll(async () => {
    nkeyUser = makeNkeyUser();
    operator = makeOperatorSetup();
    tls = makeTlsFiles(dir);
    await writeCredentialFiles(nkeyUser, operator);
    Object.assign(servers, await startAuthServers(nkeyUser, operator, tls));
  });
  afterAll(async () => {
    await Promise.all(Object.values(servers).map((s) => s?.cleanup()));
  });

  it('a token: --token-file and NATS_TOKEN; a wrong token is refused', async () => {
    const refused = await threeWays(
      servers.token,
      { flags: ['--token-file', file('token')], env: { NATS_TOKEN: TOKEN }, auth: { token: TOKEN } },
      { flags: ['--token', 'tok-wrong-secret-1'] },
      servers.token.url,
      [TOKEN, 'tok-wrong-secret-1'],
    );
    expect(refused.stderr).toMatch(/paystream: NATS at nats:\/\/127\.0\.0\.1:\d+ refused the connection \(authorization violation\): it did not accept the token from --token/);
  });

  it('an NKey seed file: --nkey and NATS_NKEY; another seed is refused', async () => {
    const refused = await threeWays(
      servers.nkey,
      { flags: ['--nkey', file('user.nk')], env: { NATS_NKEY: file('user.nk') }, auth: { nkey: file('user.nk') } },
      { flags: [], env: { NATS_NKEY: file('other.nk') } },
      servers.nkey.url,
      [nkeyUser.seed],
    );
    expect(refused.stderr).toMatch(/did not accept the NKey from NATS_NKEY/);
  });

  it('a credentials file (operator-signed JWTs): --creds and NATS_CREDS; a user of an unknown account is refused', async () => {
    const refused = await threeWays(
      servers.creds,
      { flags: ['--creds', file('user.creds')], env: { NATS_CREDS: file('user.creds') }, auth: { creds: file('user.creds') } },
      { flags: ['--creds', file('stranger.creds')] },
      servers.creds.url,
      [operator.userSeed],
    );
    expect(refused.stderr).toMatch(/did not accept the credentials file from --creds/);
  });

  it('TLS with verify: true: --tls-ca/--tls-cert/--tls-key and NATS_TLS_*; without a client certificate it fails', async () => {
    const url = `tls://127.0.0.1:${servers.tls.port}`;
    const refused = await threeWays(
      servers.tls,
      {
        flags: ['--tls-ca', tls.caCert, '--tls-cert', tls.clientCert, '--tls-key', tls.clientKey],
        env: { NATS_TLS_CA: tls.caCert, NATS_TLS_CERT: tls.clientCert, NATS_TLS_KEY: tls.clientKey },
        auth: { tlsCa: tls.caCert, tlsCert: tls.clientCert, tlsKey: tls.clientKey },
      },
      { flags: ['--tls-ca', tls.caCert] },
      url,
    );
    expect(refused.stderr).toMatch(/TLS with NATS at tls:\/\/127\.0\.0\.1:\d+ failed .*none was given: add --tls-cert and --tls-key/);
  });
});

describe('usage errors: exit 2 before anything starts, no secret echoed', () => {
  it('contradictions, a certificate without its key, an unreadable file', async () => {
    const never = path.join(dir, 'never-created');
    const outcomes = await Promise.all([
      cli(['--data', never, '--token', TOKEN, '--user', 'u', '--password', PASSWORD, 'stats']),
      run(['--data', never, '--nats', `nats://u:${PASSWORD}@127.0.0.1:1`, 'run', '--headless'], { NATS_TOKEN: TOKEN }),
      run(['--data', never, '--tls-cert', path.join(dir, 'client.pem'), 'run', '--headless']),
      run(['--data', never, 'generate'], { NATS_CREDS: path.join(dir, 'missing.creds') }),
    ]);
    for (const o of outcomes) {
      expect(o.code, o.stderr).toBe(2);
      printsNone(o, [SECRET_WORD, TOKEN]);
    }
    expect(outcomes[0]!.stderr).toMatch(/a token \(--token\) and a user and password \(--user\) are both given/);
    expect(outcomes[1]!.stderr).toMatch(/a token \(NATS_TOKEN\) and a user and password \(the NATS URL\) are both given/);
    expect(outcomes[2]!.stderr).toMatch(/--tls-cert gives a client certificate without its key/);
    expect(outcomes[3]!.stderr).toMatch(/NATS_CREDS: cannot read the credentials file .*missing\.creds \(ENOENT\)/);
    // nothing was opened or written
    await expect(readFile(path.join(never, 'owner.json'))).rejects.toThrow(/ENOENT/);
  });
});
