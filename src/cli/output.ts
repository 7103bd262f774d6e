// What the CLI prints and how it ends: exit codes, the operator's errors, a value as JSON (--json) or for
// people, and an error described with nothing secret in it.

import { redactPans } from '../domain/cards.ts';
import { OptionsError } from '../domain/option-checks.ts';
import type { CliErrorCode, NatsErrorCode, ServiceErrorCode } from '../domain/reasons.ts';
import { KeyError } from '../ledger/keys.ts';
import { NatsOptionsError, NatsUnreachableError, redactSecrets } from '../nats/connect.ts';
import { ServiceCallError } from '../nats/service.ts';
import { plain } from '../processor/operations.ts';
import { LedgerError } from '../ledger/errors.ts';
import { LedgerLockedError } from '../ledger/lock.ts';

export const EXIT_OK = 0;
export const EXIT_OPERATIONAL = 1;
export const EXIT_USAGE = 2;

/** An error whose message is for the operator; exit code 2 for usage, 1 otherwise. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_OPERATIONAL,
    readonly code: CliErrorCode | NatsErrorCode | ServiceErrorCode = 'error',
  ) {
    super(message);
  }
}

/** A wrong or contradictory flag: exit 2, before anything opens, connects or starts. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE, 'usage');
}

/** The global --json flag, as print reads it. */
export interface OutputOptions {
  json: boolean;
}

export function print(g: OutputOptions, value: unknown, human: (v: never) => string): void {
  if (g.json) process.stdout.write(`${JSON.stringify(plain(value), null, 2)}\n`);
  else process.stdout.write(`${human(value as never)}\n`);
}

/**
 * What the CLI prints for an error: no message echoes a card number (masked to its first six and last
 * four), a NATS password, token or seed, or a URL's credentials. The code is a string: a service's error
 * comes over the wire, and its code is passed on as the service said it.
 */
export function describeError(error: unknown): { code: string; message: string; exitCode: number } {
  const described = describeErrorRaw(error);
  return { ...described, message: redactSecrets(redactPans(described.message)) };
}

function describeErrorRaw(error: unknown): { code: string; message: string; exitCode: number } {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof LedgerError || error instanceof ServiceCallError) {
    return { code: error.code, message: error.message, exitCode: EXIT_OPERATIONAL };
  }
  if (error instanceof LedgerLockedError) return { code: 'ledger_locked', message: error.message, exitCode: EXIT_OPERATIONAL };
  if (error instanceof KeyError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof NatsUnreachableError) return { code: error.code, message: error.message, exitCode: EXIT_OPERATIONAL };
  if (error instanceof NatsOptionsError || error instanceof OptionsError) return { code: error.code, message: error.message, exitCode: EXIT_USAGE };
  const e = error as { code?: string; message?: string };
  if (e?.code === 'ECONNREFUSED' || /CONNECTION_REFUSED/.test(String(e?.code))) {
    return { code: 'nats_unreachable', message: `cannot reach NATS: ${e.message ?? ''}`, exitCode: EXIT_OPERATIONAL };
  }
  return { code: 'internal', message: e?.message ?? String(error), exitCode: EXIT_OPERATIONAL };
}
