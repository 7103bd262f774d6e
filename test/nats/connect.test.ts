// Connecting like a NATS client should (issue 15, requirement 1): parseNatsAuth reads the standard
// credentials and TLS once from flags, the environment and the URL, and refuses contradictions and
// unreadable files with a usage error that names no secret; connectNats connects with them to a real
// nats-server that requires (a) a user and password, (b) a token, (c) an NKey, (d) a credentials file
// (operator, account and user JWTs made here), (e) TLS with a client certificate (verify: true); wrong
// credentials are refused with a readable error in which no password, token or seed appears. Before this,
// `nats://u:secret@host` was refused (nats.js drops a URL's userinfo) and the error printed the URL whole.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskUrl, redactText, stripUrlCredentials } from '../../src/domain/credentials.ts';
import { configureLog, log } from '../../src/log.ts';
import {
  type NatsAuth,
  type NatsAuthFlags,
  NatsOptionsError,
  NatsUnreachableError,
  connectNats,
  natsConnectionOptions,
  parseNatsAuth,
  redactSecrets,
} from '../../src/nats/connect.ts';
import { type NatsServer, startNatsServer } from '../e2e/nats-server.ts';
import { type OperatorSetup, type TlsFiles, makeNkeyUser, makeOperatorSetup, makeTlsFiles } from './auth-fixtures.ts';

let dir: string;
const file = (name: string) => path.join(dir, name);
const PASSWORD = 'secret';
const TOKEN = 'tok-7f3a9c41e2b8d650';
let nkeyUser: { seed: string; publicKey: string };
let otherNkey: { seed: string; publicKey: string };
let operator: OperatorSetup;
let tls: TlsFiles;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'paystream-connect-'));
  nkeyUser = makeNkeyUser();
  otherNkey = makeNkeyUser();
  operator = makeOperatorSetup();
  tls = makeTlsFiles(dir);
  await writeFile(file('password'), `${PASSWORD}\n`, { mode: 0o600 });
  await writeFile(file('token'), `${TOKEN}\n`, { mode: 0o600 });
  await writeFile(file('user.nk'), `${nkeyUser.seed}\n`, { mode: 0o600 });
  await writeFile(file('other.nk'), `${otherNkey.seed}\n`, { mode: 0o600 });
  await writeFile(file('user.creds'), operator.creds, { mode: 0o600 });
  await writeFile(file('stranger.creds'), operator.strangerCreds, { mode: 0o600 });
  await writeFile(file('empty'), '');
  await writeFile(file('not-a-seed.nk'), 'SUnotaseed\n');
  await writeFile(file('not-creds.creds'), 'hello\n');
  await writeFile(file('account-seed.nk'), `${new TextDecoder().decode((await import('nats')).nkeys.createAccount().getSeed())}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The error parseNatsAuth throws, checked to be a usage error that quotes none of `secrets`. */
function usageError(flags: NatsAuthFlags, env: NodeJS.ProcessEnv = {}, url?: string, secrets: string[] = [PASSWORD, TOKEN]): string {
  let thrown: unknown;
  try {
    parseNatsAuth(flags, env, url);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(NatsOptionsError);
  const message = (thrown as Error).message;
  for (const s of secrets) expect(message).not.toContain(s);
  return message;
}

describe('maskUrl and redactText', () => {
  it('keeps the user, masks the password; masks a token in the URL whole', () => {
    expect(maskUrl('nats://u:secret@127.0.0.1:4222')).toBe('nats://u:***@127.0.0.1:4222');
    expect(maskUrl('nats://tok-abc@127.0.0.1:4222')).toBe('nats://***@127.0.0.1:4222');
    expect(maskUrl('tls://a:b@h1:4222,tls://a:b@h2:4222')).toBe('tls://a:***@h1:4222,tls://a:***@h2:4222');
    expect(maskUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(maskUrl('nats://u:p%40ss@host')).toBe('nats://u:***@host');
    expect(stripUrlCredentials('nats://u:secret@h:1,nats://h2:2')).toBe('nats://h:1,nats://h2:2');
  });

  it('masks URL credentials, NKey seeds and the secrets it is given in any text', () => {
    const seed = makeNkeyUser().seed;
    const text = `failed at nats://u:secret@h:4222 with seed ${seed} and token ${TOKEN} (${encodeURIComponent('p@ss word')})`;
    const out = redactText(text, [TOKEN, 'p@ss word']);
    expect(out).toBe('failed at nats://u:***@h:4222 with seed *** and token *** (***)');
    // e-mail addresses and ordinary words stay
    expect(redactText('decided by ceo@bank, key abc', ['abc'])).toBe('decided by ceo@bank, key abc');
  });
});

describe('parseNatsAuth', () => {
  it('no credentials: none, no TLS', () => {
    expect(parseNatsAuth({}, {}, 'nats://127.0.0.1:4222')).toEqual({ method: 'none' });
  });

  it('user and password from the URL, from flags (password file) and from the environment', () => {
    expect(parseNatsAuth({}, {}, 'nats://u:secret@h:4222')).toMatchObject({ method: 'user', user: 'u', pass: PASSWORD });
    expect(parseNatsAuth({}, {}, 'nats://u:p%40ss@h:4222')).toMatchObject({ method: 'user', user: 'u', pass: 'p@ss' });
    expect(parseNatsAuth({ user: 'u', passwordFile: file('password') }, {})).toMatchObject({ method: 'user', user: 'u', pass: PASSWORD });
    expect(parseNatsAuth({ user: 'u', password: PASSWORD }, {})).toMatchObject({ method: 'user', user: 'u', pass: PASSWORD });
    expect(parseNatsAuth({}, { NATS_USER: 'u', NATS_PASSWORD: PASSWORD })).toMatchObject({ method: 'user', user: 'u', pass: PASSWORD, source: 'NATS_USER' });
    expect(parseNatsAuth({}, { NATS_USER: 'u', NATS_PASSWORD_FILE: file('password') })).toMatchObject({ method: 'user', pass: PASSWORD });
    // a flag wins over its variable
    expect(parseNatsAuth({ user: 'flag-user' }, { NATS_USER: 'env-user', NATS_PASSWORD: PASSWORD })).toMatchObject({ user: 'flag-user' });
  });

  it('a token from the URL, a flag, a file or the environment', () => {
    expect(parseNatsAuth({}, {}, `nats://${TOKEN}@h:4222`)).toMatchObject({ method: 'token', token: TOKEN });
    expect(parseNatsAuth({ token: TOKEN }, {})).toMatchObject({ method: 'token', token: TOKEN });
    expect(parseNatsAuth({ tokenFile: file('token') }, {})).toMatchObject({ method: 'token', token: TOKEN });
    expect(parseNatsAuth({}, { NATS_TOKEN: TOKEN })).toMatchObject({ method: 'token', token: TOKEN });
    expect(parseNatsAuth({}, { NATS_TOKEN_FILE: file('token') })).toMatchObject({ method: 'token', token: TOKEN });
  });

  it('an NKey seed file and a credentials file, from flags or the environment', () => {
    const nkey = parseNatsAuth({ nkey: file('user.nk') }, {});
    expect(nkey.method).toBe('nkey');
    expect(new TextDecoder().decode(nkey.nkeySeed)).toBe(nkeyUser.seed);
    expect(parseNatsAuth({}, { NATS_NKEY: file('user.nk') }).method).toBe('nkey');
    expect(parseNatsAuth({ creds: file('user.creds') }, {})).toMatchObject({ method: 'creds', source: `--creds ${file('user.creds')}` });
    expect(parseNatsAuth({}, { NATS_CREDS: file('user.creds') }).method).toBe('creds');
  });

  it('TLS: CA, client certificate and key from flags or the environment; a tls:// URL requires TLS', () => {
    const auth = parseNatsAuth({ tlsCa: tls.caCert, tlsCert: tls.clientCert, tlsKey: tls.clientKey }, {});
    expect(auth.tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(auth.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(auth.tls?.key).toContain('PRIVATE KEY');
    expect(parseNatsAuth({}, { NATS_TLS_CA: tls.caCert, NATS_TLS_CERT: tls.clientCert, NATS_TLS_KEY: tls.clientKey }).tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(parseNatsAuth({}, {}, 'tls://h:4222').tls).toEqual({});
    expect(parseNatsAuth({}, {}, 'nats://h:4222').tls).toBeUndefined();
    expect(natsConnectionOptions('tls://h:4222', parseNatsAuth({}, {}, 'tls://h:4222')).tls).toEqual({});
  });

});

describe('parseNatsAuth refuses and remembers', () => {
  it('refuses contradictions with a usage error naming the options, never the secrets', () => {
    expect(usageError({ token: TOKEN, user: 'u', password: PASSWORD })).toMatch(/token \(--token\) and a user and password \(--user\) are both given/);
    expect(usageError({}, { NATS_TOKEN: TOKEN }, 'nats://u:secret@h')).toMatch(/NATS_TOKEN.*the NATS URL/);
    expect(usageError({ user: 'x', password: 'yyyy' }, {}, 'nats://u:secret@h')).toMatch(/given twice/);
    expect(usageError({ creds: file('user.creds'), nkey: file('user.nk') })).toMatch(/credentials file \(--creds\) and an NKey seed \(--nkey\)/);
    expect(usageError({ token: TOKEN, tokenFile: file('token') })).toMatch(/--token and --token-file both give a token/);
    expect(usageError({ password: PASSWORD, passwordFile: file('password') }, { NATS_USER: 'u' })).toMatch(/both give a password/);
    expect(usageError({ user: 'u' })).toMatch(/a user but no password/);
    expect(usageError({ password: PASSWORD })).toMatch(/a password but no user/);
    expect(usageError({ tlsCert: tls.clientCert })).toMatch(/--tls-cert gives a client certificate without its key/);
    expect(usageError({}, { NATS_TLS_KEY: tls.clientKey })).toMatch(/NATS_TLS_KEY gives a client key without its certificate/);
    expect(usageError({}, {}, 'nats://u:a@h,nats://v:b@h2')).toMatch(/different credentials/);
    expect(usageError({ user: 'u', password: 'with space' }, {}, undefined, ['with space'])).toMatch(/spaces, line breaks/);
  });

  it('refuses unreadable, empty and malformed files, naming the option and the path, never the content', () => {
    expect(usageError({ creds: file('missing.creds') })).toMatch(/--creds: cannot read the credentials file .*missing\.creds \(ENOENT\)/);
    expect(usageError({}, { NATS_NKEY: file('missing.nk') })).toMatch(/NATS_NKEY: cannot read the NKey seed file/);
    expect(usageError({ tokenFile: file('empty') })).toMatch(/--token-file: the token file .* is empty/);
    expect(usageError({ tlsCa: file('token') }, {}, undefined, [TOKEN])).toMatch(/--tls-ca: the CA certificate file .* is not PEM/);
    expect(usageError({ nkey: file('not-a-seed.nk') }, {}, undefined, ['SUnotaseed'])).toMatch(/not an NKey user seed/);
    expect(usageError({ nkey: file('account-seed.nk') })).toMatch(/not an NKey user seed/);
    expect(usageError({ creds: file('not-creds.creds') })).toMatch(/not a NATS credentials file/);
    expect(usageError({ creds: file('token') }, {}, undefined, [TOKEN])).toMatch(/not a NATS credentials file/);
    expect(usageError({ user: 'u', passwordFile: dir })).toMatch(/cannot read the password file .* \(EISDIR\)/);
  });

  it('remembers what it read: redactSecrets masks the password, token and seeds wherever they appear', () => {
    parseNatsAuth({ user: 'u', passwordFile: file('password') }, {});
    parseNatsAuth({ tokenFile: file('token') }, {});
    parseNatsAuth({ nkey: file('user.nk') }, {});
    parseNatsAuth({ creds: file('user.creds') }, {});
    const out = redactSecrets(`a ${PASSWORD} b ${TOKEN} c ${nkeyUser.seed} d ${operator.userSeed}`);
    expect(out).toBe('a *** b *** c *** d ***');
  });

  it('no log line carries a secret read or the password in a URL', async () => {
    parseNatsAuth({ tokenFile: file('token') }, {});
    const logFile = file('paystream.log');
    configureLog({ file: logFile });
    try {
      log().error({ err: new Error(`refused with ${TOKEN}`), nats: 'nats://u:secret@127.0.0.1:4222' }, `seed ${nkeyUser.seed} at nats://u:secret@h`);
      await new Promise<void>((resolve, reject) => log().flush((error) => (error ? reject(error) : resolve())));
    } finally {
      configureLog('stderr');
    }
    // the destination opens and writes asynchronously: wait for the line to land
    let written = '';
    for (let i = 0; i < 200 && !written.includes('\n'); i++) {
      written = await readFile(logFile, 'utf8');
      if (!written.includes('\n')) await new Promise((r) => setTimeout(r, 10));
    }
    expect(written).toContain('nats://u:***@127.0.0.1:4222');
    expect(written).toContain('refused with ***');
    for (const s of [TOKEN, nkeyUser.seed, 'secret']) expect(written).not.toContain(s);
  });
});

type AuthServers = Record<'user' | 'token' | 'nkey' | 'creds' | 'tls', NatsServer>;

/** One nats-server for each way of authenticating: a user and password, a token, an NKey, an operator's JWTs, TLS with verify. */
async function startAuthServers(): Promise<AuthServers> {
  const js = (storeDir: string) => `jetstream { store_dir: "${storeDir}" }\n`;
  const [user, token, nkey, creds, tlsServer] = await Promise.all([
    startNatsServer({ config: (sd) => `${js(sd)}authorization { users: [ { user: u, password: "${PASSWORD}" } ] }\n` }),
    startNatsServer({ config: (sd) => `${js(sd)}authorization { token: "${TOKEN}" }\n` }),
    startNatsServer({ config: (sd) => `${js(sd)}authorization { users: [ { nkey: ${nkeyUser.publicKey} } ] }\n` }),
    startNatsServer({ config: (sd) => `${js(sd)}${operator.serverConfig}\n` }),
    startNatsServer({
      config: (sd) =>
        `${js(sd)}tls { cert_file: "${tls.serverCert}", key_file: "${tls.serverKey}", ca_file: "${tls.caCert}", verify: true, timeout: 2 }\n`,
    }),
  ]);
  return { user, token, nkey, creds, tls: tlsServer };
}

/** Connects, checks the connection works (a request to JetStream), closes. */
async function connects(url: string, auth: NatsAuth): Promise<void> {
  const nc = await connectNats({ url, name: 'connect-test', auth, timeoutMs: 3000 });
  try {
    const info = await (await nc.jetstreamManager()).getAccountInfo();
    expect(info.streams).toBe(0);
  } finally {
    await nc.close();
  }
}

/** The connection is refused with `code`; the message is readable, masks the URL and quotes none of `secrets`. */
async function refused(url: string, auth: NatsAuth, code: string, secrets: string[], timeoutMs = 3000): Promise<string> {
  const error = await connectNats({ url, name: 'connect-test', auth, timeoutMs }).then(
    async (nc) => {
      await nc.close();
      throw new Error('connected with wrong credentials');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NatsUnreachableError);
  expect((error as NatsUnreachableError).code).toBe(code);
  const message = (error as Error).message;
  for (const s of secrets) expect(message).not.toContain(s);
  return message;
}

describe('connectNats against a real nats-server', () => {
  const servers = {} as AuthServers;
  beforeAll(async () => {
    Object.assign(servers, await startAuthServers());
  });
  afterAll(async () => {
    await Promise.all(Object.values(servers).map((s) => s?.cleanup()));
  });

  it('(a) user and password: in the URL (nats://u:secret@host, refused before), as flags, from the environment', async () => {
    const s = servers.user;
    const inUrl = `nats://u:${PASSWORD}@127.0.0.1:${s.port}`;
    await connects(inUrl, parseNatsAuth({}, {}, inUrl));
    // the URL alone, as a library caller passes it: its credentials are used too
    await connects(inUrl, { method: 'none' });
    await connects(s.url, parseNatsAuth({ user: 'u', passwordFile: file('password') }, {}, s.url));
    await connects(s.url, parseNatsAuth({}, { NATS_USER: 'u', NATS_PASSWORD: PASSWORD }, s.url));
    const wrongUrl = `nats://u:wrongsecret@127.0.0.1:${s.port}`;
    const message = await refused(wrongUrl, parseNatsAuth({}, {}, wrongUrl), 'nats_auth_refused', ['secret']);
    expect(message).toContain(`NATS at nats://u:***@127.0.0.1:${s.port} refused the connection (authorization violation)`);
    expect(await refused(s.url, { method: 'none' }, 'nats_auth_refused', [])).toContain('no credentials were given');
  });

  it('(b) a token: flag, file, environment; a wrong one is refused', async () => {
    const s = servers.token;
    await connects(s.url, parseNatsAuth({ token: TOKEN }, {}, s.url));
    await connects(s.url, parseNatsAuth({ tokenFile: file('token') }, {}, s.url));
    await connects(s.url, parseNatsAuth({}, { NATS_TOKEN: TOKEN }, s.url));
    await connects(`nats://${TOKEN}@127.0.0.1:${s.port}`, parseNatsAuth({}, {}, `nats://${TOKEN}@127.0.0.1:${s.port}`));
    const wrong = 'tok-wrong-0000000000';
    const message = await refused(s.url, parseNatsAuth({}, { NATS_TOKEN: wrong }, s.url), 'nats_auth_refused', [wrong, TOKEN]);
    expect(message).toContain('did not accept the token from NATS_TOKEN');
  });

  it('(c) an NKey seed file: flag, environment; another user seed is refused', async () => {
    const s = servers.nkey;
    await connects(s.url, parseNatsAuth({ nkey: file('user.nk') }, {}, s.url));
    await connects(s.url, parseNatsAuth({}, { NATS_NKEY: file('user.nk') }, s.url));
    const message = await refused(s.url, parseNatsAuth({ nkey: file('other.nk') }, {}, s.url), 'nats_auth_refused', [otherNkey.seed, nkeyUser.seed]);
    expect(message).toContain(`did not accept the NKey from --nkey ${file('other.nk')}`);
  });

  it('(d) a credentials file (operator, account, user JWTs): flag, environment; a user of an unknown account is refused', async () => {
    const s = servers.creds;
    await connects(s.url, parseNatsAuth({ creds: file('user.creds') }, {}, s.url));
    await connects(s.url, parseNatsAuth({}, { NATS_CREDS: file('user.creds') }, s.url));
    await refused(s.url, parseNatsAuth({}, { NATS_CREDS: file('stranger.creds') }, s.url), 'nats_auth_refused', [operator.userSeed]);
    await refused(s.url, { method: 'none' }, 'nats_auth_refused', []);
  });

  it('(e) TLS with verify: true: CA, client certificate and key; without a client certificate, or with a stranger one, it fails', async () => {
    const s = servers.tls;
    const url = `tls://127.0.0.1:${s.port}`;
    await connects(url, parseNatsAuth({ tlsCa: tls.caCert, tlsCert: tls.clientCert, tlsKey: tls.clientKey }, {}, url));
    await connects(s.url, parseNatsAuth({}, { NATS_TLS_CA: tls.caCert, NATS_TLS_CERT: tls.clientCert, NATS_TLS_KEY: tls.clientKey }, s.url));
    // the server's certificate is from a CA the client was not told to trust
    expect(await refused(url, parseNatsAuth({ tlsCert: tls.clientCert, tlsKey: tls.clientKey }, {}, url), 'nats_tls', [])).toMatch(/TLS with NATS at tls:\/\/127\.0\.0\.1/);
    // no client certificate, or one from another CA: the server (verify: true) ends the connection
    const [none, stranger] = await Promise.all([
      refused(url, parseNatsAuth({ tlsCa: tls.caCert }, {}, url), 'nats_tls', [], 1500),
      refused(url, parseNatsAuth({ tlsCa: tls.caCert, tlsCert: tls.strangerCert, tlsKey: tls.strangerKey }, {}, url), 'nats_tls', [], 1500),
    ]);
    expect(none).toMatch(/none was given: add --tls-cert and --tls-key/);
    expect(stranger).toMatch(/signed by a CA the server trusts/);
  });
});
