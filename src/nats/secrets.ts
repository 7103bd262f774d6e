// The secrets this process has read (NATS passwords, tokens, NKey seeds), so that whatever it prints
// (errors, log lines) can be masked: redactSecrets() masks them and anything shaped like a credential.

import { redactText } from '../domain/credentials.ts';

/** at most this many secrets are remembered (a process reads a handful) */
const SECRETS_MAX = 64;

const known = new Set<string>();

/** Remembers a secret so redactSecrets masks it wherever it appears. */
export function rememberSecret(secret: string | undefined): void {
  if (secret === undefined || secret.length === 0 || known.size >= SECRETS_MAX) return;
  known.add(secret);
}

/** Text as it may be shown: remembered secrets, URL credentials and NKey seeds masked (see redactText). */
export function redactSecrets(text: string): string {
  return redactText(text, known);
}
