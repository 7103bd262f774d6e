// Connecting to NATS like a NATS client should: a credentials file, an NKey seed file, a token, a user and
// password (in the URL or apart), TLS with a CA and a client certificate; each from a flag or the
// environment. parseNatsAuth() reads and checks them once (contradictions and unreadable files are usage
// errors); connectNats() connects with them. No message ever carries a password, token or seed: URLs
// are shown masked (maskUrl) and every error passes through redactSecrets.

import {
  type Authenticator,
  type ConnectionOptions,
  type NatsConnection,
  type TlsOptions,
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
} from 'nats';
import { maskUrl, stripUrlCredentials } from '../domain/credentials.ts';
import { type NatsAuth, NO_NATS_AUTH, URL_FROM, parseNatsAuth } from './client-options.ts';
import { NatsOptionsError, NatsUnreachableError } from './errors.ts';
import { redactSecrets } from './secrets.ts';

export { maskUrl, stripUrlCredentials } from '../domain/credentials.ts';
export { redactSecrets } from './secrets.ts';
export * from './client-options.ts';
export { NatsOptionsError, NatsUnreachableError } from './errors.ts';

/**
 * The nats.js connection options for a URL (credentials in it are taken out of it and used, unless
 * `auth` already says how to authenticate: then the URL may not carry any) and parsed auth.
 */
export function natsConnectionOptions(url: string, auth: NatsAuth = NO_NATS_AUTH): ConnectionOptions {
  const urlHasCredentials = stripUrlCredentials(url) !== url;
  let effective = auth;
  if (urlHasCredentials) {
    const fromUrl = parseNatsAuth({}, {}, url);
    if (auth.method !== 'none' && auth.source !== URL_FROM) {
      throw new NatsOptionsError(`the NATS URL ${maskUrl(url)} carries credentials and ${auth.source ?? 'options'} gives others: give them once`);
    }
    effective = { ...fromUrl, ...(auth.tls ? { tls: auth.tls } : {}) };
  }
  const servers = stripUrlCredentials(url)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const options: ConnectionOptions = { servers };
  switch (effective.method) {
    case 'user':
      options.user = effective.user!;
      options.pass = effective.pass!;
      break;
    case 'token':
      options.token = effective.token!;
      break;
    case 'nkey':
      options.authenticator = nkeyAuthenticator(effective.nkeySeed!) as Authenticator;
      break;
    case 'creds':
      options.authenticator = credsAuthenticator(effective.creds!) as Authenticator;
      break;
    case 'none':
      break;
  }
  if (effective.tls) {
    const tls: TlsOptions = {};
    if (effective.tls.ca) tls.ca = effective.tls.ca;
    if (effective.tls.cert) tls.cert = effective.tls.cert;
    if (effective.tls.key) tls.key = effective.tls.key;
    options.tls = tls;
  }
  return options;
}

export interface ConnectOptions {
  /** server URL(s); credentials in it are used and never shown (see natsConnectionOptions) */
  url: string;
  name: string;
  /** parsed credentials and TLS (parseNatsAuth) @default none */
  auth?: NatsAuth;
  /** give up the first connection after this long @default 5000 */
  timeoutMs?: number;
}

/** nats.js error codes that mean the server refused who we said we were */
const AUTH_CODES = new Set(['AUTHORIZATION_VIOLATION', 'AUTHENTICATION_EXPIRED', 'AUTHENTICATION_TIMEOUT', 'ACCOUNT_EXPIRED', 'BAD_AUTHENTICATION', 'BAD_CREDS']);

/** Why a connection failed, in words, with nothing secret in them. */
export function describeConnectError(error: unknown, url: string, auth: NatsAuth = NO_NATS_AUTH): NatsUnreachableError {
  const e = error as { code?: string; message?: string };
  const code = String(e?.code ?? '');
  const why = redactSecrets(String(code && !/^\d+$/.test(code) ? code : (e?.message ?? error)).toLowerCase().replaceAll('_', ' '));
  const where = maskUrl(url);
  if (AUTH_CODES.has(code)) {
    const what = { none: '', user: 'the user and password', token: 'the token', nkey: 'the NKey', creds: 'the credentials file' }[auth.method];
    const how = auth.method === 'none' ? 'no credentials were given' : `it did not accept ${what} from ${auth.source ?? 'the options'}`;
    return new NatsUnreachableError(
      `NATS at ${where} refused the connection (${why}): ${how}; give a credentials file, NKey seed, token or user and password (--creds, --nkey, --token-file, --user/--password-file or their NATS_* variables)`,
      'nats_auth_refused',
    );
  }
  const message = redactSecrets(String(e?.message ?? ''));
  if (code === 'TLS' || code === 'SERVER_OPT_NA' || /tls|ssl|certificate|self.signed|handshake|ERR_TLS|EPROTO/i.test(`${code} ${message}`)) {
    return new NatsUnreachableError(
      `TLS with NATS at ${where} failed (${why}${message && message.toLowerCase() !== why ? `: ${message}` : ''}): check --tls-ca, --tls-cert and --tls-key (or NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY) and whether the server wants TLS`,
      'nats_tls',
    );
  }
  if (auth.tls && /timeout/i.test(code)) {
    // a server with verify: true ends the TLS connection of a client whose certificate it does not accept;
    // nats.js then only sees no answer
    return new NatsUnreachableError(
      `TLS with NATS at ${where} failed (${why}: no answer after the TLS handshake): the server may not accept the client certificate (${auth.tls.cert ? 'check --tls-cert/--tls-key or NATS_TLS_CERT/NATS_TLS_KEY: is it signed by a CA the server trusts?' : 'none was given: add --tls-cert and --tls-key, or NATS_TLS_CERT and NATS_TLS_KEY'})`,
      'nats_tls',
    );
  }
  return new NatsUnreachableError(
    `cannot reach NATS at ${where} (${why}): start nats-server with JetStream (nats-server -js) or point --nats / NATS_URL at one`,
  );
}

/** ConnectOptions.timeoutMs when not given */
export const CONNECT_TIMEOUT_MS_DEFAULT = 5000;
/** the pause between two reconnect attempts */
const RECONNECT_WAIT_MS = 500;
/** how often the client pings the server, so a dead connection is noticed */
const PING_INTERVAL_MS = 10_000;

/** Connects with reconnects forever (a broker restart must not end the processor), with `auth`'s credentials and TLS. */
export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  const auth = options.auth ?? NO_NATS_AUTH;
  const connection = natsConnectionOptions(options.url, auth);
  try {
    return await connect({
      ...connection,
      name: options.name,
      timeout: options.timeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      pingInterval: PING_INTERVAL_MS,
    });
  } catch (error) {
    throw describeConnectError(error, options.url, auth);
  }
}
