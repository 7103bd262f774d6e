// How paystream connects to NATS, apart from the NATS client (loading it is most of a short command's start-up):
// the default URL, the credential and TLS flags and their variables, and parseNatsAuth(), which reads and
// checks them once (contradictions and unreadable files are usage errors). connect.ts connects with them.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { maskUrl } from '../domain/credentials.ts';
import { NatsOptionsError } from './errors.ts';
import { rememberSecret } from './secrets.ts';

/** The NKey library (the NATS client's own), loaded when a seed is checked: most commands are given none. */
const nkeys = (): typeof import('nkeys.js') => createRequire(import.meta.url)('nkeys.js');

/** where paystream finds NATS when no URL is given (--nats, NATS_URL): a local nats-server */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** the largest credentials, seed, token, password or PEM file read @default 64 KiB */
export const NATS_SECRET_FILE_BYTES_MAX = 64 * 1024;
/** the longest token, user or password @default 4096 */
export const NATS_SECRET_CHARS_MAX = 4096;

/** How a client proves who it is; at most one. */
export type NatsAuthMethod = 'none' | 'user' | 'token' | 'nkey' | 'creds';

/** Parsed NATS credentials and TLS: what connectNats needs, nothing left to read or check. */
export interface NatsAuth {
  method: NatsAuthMethod;
  /** where the credentials came from, for messages (never the secret): e.g. `--creds /etc/nats/app.creds` */
  source?: string;
  user?: string;
  pass?: string;
  token?: string;
  /** an NKey user seed (SU...) */
  nkeySeed?: Uint8Array;
  /** a credentials file's bytes (user JWT and seed) */
  creds?: Uint8Array;
  /** TLS is required when set (a tls:// URL, or any of CA, certificate, key); PEM texts */
  tls?: { ca?: string; cert?: string; key?: string };
}

export const NO_NATS_AUTH: NatsAuth = Object.freeze({ method: 'none' as const });

/** The flags, as commander gives them (camelCase of --creds, --nkey, --token, ...). */
export interface NatsAuthFlags {
  creds?: string;
  nkey?: string;
  token?: string;
  tokenFile?: string;
  user?: string;
  password?: string;
  passwordFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Each flag's environment variable. */
export const NATS_AUTH_ENV: Readonly<Record<keyof NatsAuthFlags, string>> = {
  creds: 'NATS_CREDS',
  nkey: 'NATS_NKEY',
  token: 'NATS_TOKEN',
  tokenFile: 'NATS_TOKEN_FILE',
  user: 'NATS_USER',
  password: 'NATS_PASSWORD',
  passwordFile: 'NATS_PASSWORD_FILE',
  tlsCa: 'NATS_TLS_CA',
  tlsCert: 'NATS_TLS_CERT',
  tlsKey: 'NATS_TLS_KEY',
};

const FLAG_NAMES: Readonly<Record<keyof NatsAuthFlags, string>> = {
  creds: '--creds',
  nkey: '--nkey',
  token: '--token',
  tokenFile: '--token-file',
  user: '--user',
  password: '--password',
  passwordFile: '--password-file',
  tlsCa: '--tls-ca',
  tlsCert: '--tls-cert',
  tlsKey: '--tls-key',
};

/** The flags as [flags, description] pairs, for commander (main.ts registers them on the program). */
export const NATS_AUTH_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['--creds <file>', 'NATS credentials file (user JWT and NKey seed) (env NATS_CREDS)'],
  ['--nkey <file>', 'file holding an NKey user seed (SU...) (env NATS_NKEY)'],
  ['--token <token>', 'NATS token; prefer --token-file, a flag shows in the process list (env NATS_TOKEN)'],
  ['--token-file <file>', 'file holding the NATS token (env NATS_TOKEN_FILE)'],
  ['--user <user>', 'NATS user (env NATS_USER; or nats://user:password@host)'],
  ['--password <password>', 'NATS password; prefer --password-file or NATS_PASSWORD (env NATS_PASSWORD)'],
  ['--password-file <file>', 'file holding the NATS password (env NATS_PASSWORD_FILE)'],
  ['--tls-ca <file>', 'CA certificate(s) to trust for the NATS server, PEM (env NATS_TLS_CA)'],
  ['--tls-cert <file>', 'client certificate for NATS TLS, PEM (env NATS_TLS_CERT)'],
  ['--tls-key <file>', 'client certificate key for NATS TLS, PEM (env NATS_TLS_KEY)'],
];

/** What a value came from: the flag, else the environment variable, else nothing. */
interface Given {
  value: string;
  /** `--flag` or `ENV_VAR` */
  from: string;
}

function pick(flags: NatsAuthFlags, env: NodeJS.ProcessEnv, key: keyof NatsAuthFlags): Given | undefined {
  const flag = flags[key];
  if (flag !== undefined) return { value: flag, from: FLAG_NAMES[key] };
  const fromEnv = env[NATS_AUTH_ENV[key]];
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: NATS_AUTH_ENV[key] };
  return undefined;
}

/** A file's bytes: unreadable, empty or too large is a usage error naming the option and the path. */
function readOptionFile(given: Given, what: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(given.value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new NatsOptionsError(`${given.from}: cannot read the ${what} file ${given.value} (${code})`);
  }
  if (bytes.length === 0) throw new NatsOptionsError(`${given.from}: the ${what} file ${given.value} is empty`);
  if (bytes.length > NATS_SECRET_FILE_BYTES_MAX) {
    throw new NatsOptionsError(`${given.from}: the ${what} file ${given.value} is larger than ${NATS_SECRET_FILE_BYTES_MAX} bytes`);
  }
  return bytes;
}

/** A one-line secret (token, password) from a file, its trailing newline dropped; never echoed. */
function readSecretLine(given: Given, what: string): string {
  const text = readOptionFile(given, what).toString('utf8').replace(/\r?\n$/, '');
  checkSecretText(text, `${given.from} (${given.value})`, what);
  return text;
}

function checkSecretText(text: string, from: string, what: string): void {
  if (text.length === 0) throw new NatsOptionsError(`${from}: the ${what} is empty`);
  if (text.length > NATS_SECRET_CHARS_MAX) throw new NatsOptionsError(`${from}: the ${what} is longer than ${NATS_SECRET_CHARS_MAX} characters`);
  // a control character or space would not survive the CONNECT line as the server reads it
  if (/[\s\p{Cc}]/u.test(text)) throw new NatsOptionsError(`${from}: the ${what} holds spaces, line breaks or control characters`);
}

/** An NKey user seed, checked (it must decode as a user seed); the message never quotes it. */
function checkUserSeed(seed: string, from: string): void {
  let ok = false;
  try {
    const pair = nkeys().fromSeed(new TextEncoder().encode(seed));
    ok = pair.getPublicKey().startsWith('U');
  } catch {
    ok = false;
  }
  if (!ok) throw new NatsOptionsError(`${from}: not an NKey user seed (it must be one line starting SU)`);
}

/** the blocks of a credentials file: -----BEGIN ...-----, the content, ------END ...------ */
const CREDS_BLOCK_RE = /-{3,}[^\n]*-{3,}\r?\n\s*([^\s-][^\n]*?)\s*\r?\n\s*-{3,}[^\n]*-{3,}/g;

/** A credentials file's user JWT and seed, checked; the message never quotes either. */
function checkCreds(bytes: Buffer, from: string): void {
  const blocks = [...bytes.toString('utf8').matchAll(CREDS_BLOCK_RE)].map((m) => m[1]!);
  const [jwt, seed] = blocks;
  if (!jwt || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jwt) || !seed) {
    throw new NatsOptionsError(`${from}: not a NATS credentials file (a user JWT block, then an NKey seed block)`);
  }
  checkUserSeed(seed, from);
  rememberSecret(seed);
}

/** The credentials in a URL's userinfo (the first server that has some; all that have some must agree). */
function urlCredentials(url: string): { user?: string; pass?: string; token?: string } {
  let found: { user?: string; pass?: string; token?: string } | undefined;
  let foundKey: string | undefined;
  for (const part of url.split(',').map((p) => p.trim())) {
    let parsed: URL;
    try {
      parsed = new URL(/^[a-z]+:\/\//i.test(part) ? part : `nats://${part}`);
    } catch {
      continue;
    }
    if (parsed.username === '' && parsed.password === '') continue;
    const decode = (s: string): string => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new NatsOptionsError(`the NATS URL ${maskUrl(part)} has a badly escaped user or password`);
      }
    };
    const user = decode(parsed.username);
    // user:password@ (even with an empty password) is a user; a lone name@ is a token
    const userinfo = part.slice(part.indexOf('//') + 2, part.lastIndexOf('@'));
    const creds = userinfo.includes(':') ? { user, pass: decode(parsed.password) } : { token: user };
    const key = JSON.stringify(creds);
    if (foundKey !== undefined && key !== foundKey) throw new NatsOptionsError('the NATS URLs carry different credentials: give them once');
    found = creds;
    foundKey = key;
  }
  return found ?? {};
}

type GivenOptions = Record<keyof NatsAuthFlags, Given | undefined>;
type UrlCredentials = ReturnType<typeof urlCredentials>;
/** One way of authenticating and where it was given. */
interface AuthChoice {
  method: NatsAuthMethod;
  from: string;
}

/** where credentials found in a URL come from, as NatsAuth.source names it */
export const URL_FROM = 'the NATS URL';

/**
 * Reads and checks the NATS credentials and TLS settings from flags (first) and the environment, and
 * the credentials in the URL's userinfo (`nats://user:password@host`, `nats://token@host`). At most one
 * way of authenticating; a client certificate needs its key; files must be readable. Throws
 * NatsOptionsError (a usage error) with a message that names options and paths, never secrets. The
 * secrets read are remembered so that redactSecrets masks them wherever they would be printed.
 */
export function parseNatsAuth(flags: NatsAuthFlags = {}, env: NodeJS.ProcessEnv = process.env, url?: string): NatsAuth {
  const given = {} as GivenOptions;
  for (const key of Object.keys(FLAG_NAMES) as Array<keyof NatsAuthFlags>) given[key] = pick(flags, env, key);
  const fromUrl = url ? urlCredentials(url) : {};
  const choice = oneAuthChoice(given, fromUrl);
  const auth = choice ? readCredentials(choice, given, fromUrl) : { method: 'none' as const };
  const tls = readTls(given, url);
  if (tls) auth.tls = tls;
  return auth;
}

/** The one way of authenticating given, if any; two (or one given twice) is a contradiction. */
function oneAuthChoice(given: GivenOptions, fromUrl: UrlCredentials): AuthChoice | undefined {
  const choices: AuthChoice[] = [];
  if (given.creds) choices.push({ method: 'creds', from: given.creds.from });
  if (given.nkey) choices.push({ method: 'nkey', from: given.nkey.from });
  if (given.token && given.tokenFile) throw new NatsOptionsError(`${given.token.from} and ${given.tokenFile.from} both give a token: give one`);
  const tokenGiven = given.token ?? given.tokenFile;
  if (tokenGiven) choices.push({ method: 'token', from: tokenGiven.from });
  if (fromUrl.token !== undefined) choices.push({ method: 'token', from: URL_FROM });
  if (given.password && given.passwordFile) throw new NatsOptionsError(`${given.password.from} and ${given.passwordFile.from} both give a password: give one`);
  const userGiven = given.user ?? given.password ?? given.passwordFile;
  if (userGiven) choices.push({ method: 'user', from: userGiven.from });
  if (fromUrl.user !== undefined) choices.push({ method: 'user', from: URL_FROM });
  if (choices.length > 1) throw twoAuthChoices(choices[0]!, choices[1]!);
  return choices[0];
}

function twoAuthChoices(a: AuthChoice, b: AuthChoice): NatsOptionsError {
  const what = (m: AuthChoice) => (m.method === 'user' ? 'a user and password' : m.method === 'creds' ? 'a credentials file' : `a${m.method === 'nkey' ? 'n NKey seed' : ' token'}`);
  return new NatsOptionsError(
    a.method === b.method
      ? `${what(a)} is given twice (${a.from} and ${b.from}): give it once`
      : `${what(a)} (${a.from}) and ${what(b)} (${b.from}) are both given: NATS takes one way to authenticate`,
  );
}

/** Reads and checks the credentials of the chosen way, remembering each secret read. */
function readCredentials(choice: AuthChoice, given: GivenOptions, fromUrl: UrlCredentials): NatsAuth {
  switch (choice.method) {
    case 'creds':
      return readCredsFile(given.creds!);
    case 'nkey':
      return readNkeyFile(given.nkey!);
    case 'token':
      return { method: 'token', source: choice.from, token: readToken(given, fromUrl) };
    case 'user':
      return { method: 'user', source: choice.from, ...readUserPassword(given, fromUrl) };
    case 'none':
      return { method: 'none' };
  }
}

function readCredsFile(g: Given): NatsAuth {
  const bytes = readOptionFile(g, 'credentials');
  checkCreds(bytes, `${g.from} (${g.value})`);
  return { method: 'creds', source: `${g.from} ${g.value}`, creds: new Uint8Array(bytes) };
}

function readNkeyFile(g: Given): NatsAuth {
  const seed = readOptionFile(g, 'NKey seed').toString('utf8').trim();
  checkUserSeed(seed, `${g.from} (${g.value})`);
  rememberSecret(seed);
  return { method: 'nkey', source: `${g.from} ${g.value}`, nkeySeed: new TextEncoder().encode(seed) };
}

function readToken(given: GivenOptions, fromUrl: UrlCredentials): string {
  let token: string;
  if (fromUrl.token !== undefined) {
    token = fromUrl.token;
    checkSecretText(token, URL_FROM, 'token');
  } else if (given.tokenFile) {
    token = readSecretLine(given.tokenFile, 'token');
  } else {
    token = given.token!.value;
    checkSecretText(token, given.token!.from, 'token');
  }
  rememberSecret(token);
  return token;
}

function readUserPassword(given: GivenOptions, fromUrl: UrlCredentials): { user: string; pass: string } {
  const passwordGiven = given.password ?? given.passwordFile;
  let user: string;
  let pass: string;
  if (fromUrl.user !== undefined) {
    user = fromUrl.user;
    pass = fromUrl.pass ?? '';
    if (user === '') throw new NatsOptionsError(`${URL_FROM} has a password but no user`);
  } else {
    if (!given.user) throw new NatsOptionsError(`${passwordGiven!.from} gives a password but no user: add --user (or NATS_USER)`);
    user = given.user.value;
    if (!passwordGiven) {
      throw new NatsOptionsError(`${given.user.from} gives a user but no password: add --password-file, NATS_PASSWORD or --password`);
    }
    pass = given.passwordFile ? readSecretLine(given.passwordFile, 'password') : given.password!.value;
  }
  checkSecretText(user, given.user?.from ?? URL_FROM, 'user');
  checkSecretText(pass, passwordGiven?.from ?? URL_FROM, 'password');
  rememberSecret(pass);
  return { user, pass };
}

/** TLS: a CA to trust, a client certificate with its key; a tls:// URL requires TLS even without them. */
function readTls(given: GivenOptions, url: string | undefined): NatsAuth['tls'] {
  const tlsUrl = url?.split(',').some((p) => /^\s*tls:\/\//i.test(p)) ?? false;
  if (given.tlsCert && !given.tlsKey) throw new NatsOptionsError(`${given.tlsCert.from} gives a client certificate without its key: add --tls-key (or NATS_TLS_KEY)`);
  if (given.tlsKey && !given.tlsCert) throw new NatsOptionsError(`${given.tlsKey.from} gives a client key without its certificate: add --tls-cert (or NATS_TLS_CERT)`);
  if (!tlsUrl && !given.tlsCa && !given.tlsCert) return undefined;
  const tls: NonNullable<NatsAuth['tls']> = {};
  if (given.tlsCa) tls.ca = readPem(given.tlsCa, 'CA certificate');
  if (given.tlsCert && given.tlsKey) {
    tls.cert = readPem(given.tlsCert, 'client certificate');
    tls.key = readPem(given.tlsKey, 'client key');
  }
  return tls;
}

function readPem(g: Given, what: string): string {
  const text = readOptionFile(g, what).toString('utf8');
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) throw new NatsOptionsError(`${g.from}: the ${what} file ${g.value} is not PEM`);
  return text;
}
