// What the CLI prints and how it ends: exit codes, the operator's errors (one line each), a value as JSON
// (--json) or for people, and an error described with nothing secret in it.

import { CommanderError } from 'commander';
import { redactPans } from '../domain/cards.ts';
import { OptionsError } from '../domain/option-checks.ts';
import type { CliErrorCode, NatsErrorCode, ServiceErrorCode } from '../domain/reasons.ts';
import { plain } from '../domain/json.ts';
import { KeyError } from '../ledger/keys.ts';
import { NatsOptionsError, NatsUnreachableError, ServiceCallError } from '../nats/errors.ts';
import { redactSecrets } from '../nats/secrets.ts';
import { LedgerError, LedgerLockedError } from '../ledger/errors.ts';

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
 * The ledger's and the service's refusals of a value the command was given (an amount, a currency, a card
 * number, an expiry, a holder, an owner, an account id): usage errors like a bad flag, though found later.
 */
export const INPUT_ERROR_CODES: ReadonlySet<ServiceErrorCode> = new Set<ServiceErrorCode>([
  'invalid_request',
  'too_large',
  'invalid_field',
  'invalid_amount',
  'amount_not_string',
  'amount_too_precise',
  'amount_out_of_range',
  'invalid_account',
  'invalid_expiry',
  'invalid_holder',
  'invalid_owner',
  'invalid_pan',
  'cvv_forbidden',
  'sad_forbidden',
  'unknown_currency',
  'card_expired',
]);

/** Whether the command line asks for JSON: `--json` anywhere before `--` (a parse that failed never set the flag). */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Reports a failed command: one line on stderr, `paystream: <what is wrong>`, and with --json the same
 * error on stdout as {"error":{"code","message"}}. Returns the exit code.
 */
export function reportError(error: unknown, json: boolean): number {
  const { code, message, exitCode } = describeError(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  process.stderr.write(`paystream: ${message}\n`);
  return exitCode;
}

/**
 * What the CLI prints for an error, on one line: no message echoes a card number (masked to its first six
 * and last four), a NATS password, token or seed, or a URL's credentials. The code is a string: a
 * service's error comes over the wire, and its code is passed on as the service said it.
 */
export function describeError(error: unknown): { code: string; message: string; exitCode: number } {
  const described = describeErrorRaw(error);
  return { ...described, message: redactSecrets(redactPans(described.message)).replace(/\s*\n\s*/g, '; ').trim() };
}

function describeErrorRaw(error: unknown): { code: string; message: string; exitCode: number } {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof LedgerError || error instanceof ServiceCallError) {
    return { code: error.code, message: error.message, exitCode: INPUT_ERROR_CODES.has(error.code) ? EXIT_USAGE : EXIT_OPERATIONAL };
  }
  if (error instanceof CommanderError) return { code: 'usage', message: error.message.replace(/^error: /, ''), exitCode: EXIT_USAGE };
  // by name: importing the rules parser (and its YAML library) into every command would slow each start
  if ((error as Error)?.name === 'RulesConfigError') return { code: 'error', message: (error as Error).message, exitCode: EXIT_OPERATIONAL };
  const file = fileProblem(error);
  if (file) return { code: 'error', message: file, exitCode: EXIT_OPERATIONAL };
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

/** what a file operation's error code means, said plainly */
const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'it exists already',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
};

/** what was being done to the file, by the system call that failed */
const FILE_VERBS: Readonly<Record<string, string>> = { open: 'open', access: 'open', stat: 'find', lstat: 'find', scandir: 'read', opendir: 'read', mkdir: 'create', unlink: 'remove', rmdir: 'remove', rename: 'move' };

/** A file that could not be read or written, said as `cannot open x.csv: no such file or directory`. */
function fileProblem(error: unknown): string | undefined {
  const e = error as { code?: unknown; path?: unknown; syscall?: unknown };
  if (typeof e?.code !== 'string' || typeof e.path !== 'string' || !Object.hasOwn(FILE_ERRORS, e.code)) return undefined;
  const verb = typeof e.syscall === 'string' && Object.hasOwn(FILE_VERBS, e.syscall) ? FILE_VERBS[e.syscall] : 'use';
  return `cannot ${verb} ${e.path}: ${FILE_ERRORS[e.code]}`;
}
