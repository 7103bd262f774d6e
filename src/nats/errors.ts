// The errors of the NATS edge, apart from the NATS client, so the CLI tells them apart (exit code, JSON
// error code) without loading the client.

import type { CliErrorCode, NatsErrorCode, ServiceErrorCode } from '../domain/reasons.ts';
import { redactSecrets } from './secrets.ts';

/** Wrong or contradictory NATS options: a usage error (the CLI exits 2). Never carries a secret. */
export class NatsOptionsError extends Error {
  override name = 'NatsOptionsError';
  readonly code: CliErrorCode = 'usage';
}

/** Connecting failed: unreachable, credentials refused, or TLS. The message names the URL masked. */
export class NatsUnreachableError extends Error {
  override name = 'NatsUnreachableError';
  constructor(
    message: string,
    readonly code: NatsErrorCode = 'nats_unreachable',
  ) {
    super(redactSecrets(message));
  }
}

/** A request the processor's service answered with an error: the server's code and message. */
export class ServiceCallError extends Error {
  override name = 'ServiceCallError';
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
  }
}
