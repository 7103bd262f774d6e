// Credentials made at test time for a real nats-server: a CA with server and client certificates
// (openssl, no network), NKey users, and an operator/account/user JWT chain with a credentials file.
// Nothing here is a real secret; every file goes to a temp dir the test removes.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { nkeys } from 'nats';

export interface TlsFiles {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** a certificate and key from another CA: the server must refuse it */
  strangerCert: string;
  strangerKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate it signed, in `dir`. */
export function makeTlsFiles(dir: string, clientName = 'paystream-test-client'): TlsFiles {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) => openssl(['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`], dir);
  const signed = (name: string, cn: string, caName: string, ext: string) => {
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  };
  ca('ca');
  ca('stranger-ca');
  signed('server', '127.0.0.1', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  signed('client', clientName, 'ca', 'extendedKeyUsage=clientAuth\n');
  signed('stranger', clientName, 'stranger-ca', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string) => path.join(dir, f);
  return {
    caCert: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
  };
}

/** A new NKey user: its seed (SU...) and public key (U...). */
export function makeNkeyUser(): { seed: string; publicKey: string } {
  const pair = nkeys.createUser();
  return { seed: new TextDecoder().decode(pair.getSeed()), publicKey: pair.getPublicKey() };
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

/** A NATS v2 JWT: claims signed (ed25519) by the issuer's key pair, jti the hash of the claims. */
function signJwt(issuer: ReturnType<typeof nkeys.createOperator>, subject: string, name: string, nats: Record<string, unknown>): string {
  const claims: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } };
  claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url').toUpperCase().replace(/[^A-Z2-7]/g, 'A').slice(0, 52);
  const head = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${b64url(JSON.stringify(claims))}`;
  return `${head}.${b64url(issuer.sign(new TextEncoder().encode(head)))}`;
}

export interface OperatorSetup {
  /** the server configuration lines: operator, resolver MEMORY and the preloaded account */
  serverConfig: string;
  /** a user's credentials file text (user JWT and seed) */
  creds: string;
  /** the user's seed, to check nothing prints it */
  userSeed: string;
  /** credentials of a user signed by an account the server does not know */
  strangerCreds: string;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

function credsFile(jwt: string, seed: string): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
    '',
    '*************************************************************',
    '',
  ].join('\n');
}

/** An operator, one account with JetStream, a user of it with a credentials file (decentralized auth). */
export function makeOperatorSetup(): OperatorSetup {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const user = nkeys.createUser();
  const system = nkeys.createAccount();
  // JetStream in operator mode needs a system account
  const operatorJwt = signJwt(operator, operator.getPublicKey(), 'paystream-test-operator', { type: 'operator', system_account: system.getPublicKey() });
  const systemJwt = signJwt(operator, system.getPublicKey(), 'SYS', { type: 'account', limits: UNLIMITED });
  const accountJwt = signJwt(operator, account.getPublicKey(), 'PAYSTREAM', {
    type: 'account',
    limits: { ...UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  const userJwt = signJwt(account, user.getPublicKey(), 'paystream-test-user', { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  const userSeed = new TextDecoder().decode(user.getSeed());
  const strangerAccount = nkeys.createAccount();
  const stranger = nkeys.createUser();
  const strangerJwt = signJwt(strangerAccount, stranger.getPublicKey(), 'stranger', { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  return {
    serverConfig: [
      `operator: ${operatorJwt}`,
      `system_account: ${system.getPublicKey()}`,
      'resolver: MEMORY',
      `resolver_preload: { ${account.getPublicKey()}: ${accountJwt}, ${system.getPublicKey()}: ${systemJwt} }`,
    ].join('\n'),
    creds: credsFile(userJwt, userSeed),
    userSeed,
    strangerCreds: credsFile(strangerJwt, new TextDecoder().decode(stranger.getSeed())),
  };
}
