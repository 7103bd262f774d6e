// Structured logs (pino): to stderr when headless, to <data>/paystream.log under the dashboard.
// Never log a payload: it may hold a PAN. Log ids, counts, reasons. Every line passes through
// redactSecrets: a NATS password, token or seed, or a URL's credentials, never reach a log.

import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { redactSecrets } from './nats/secrets.ts';

const options = (level: string): LoggerOptions => ({ level, hooks: { streamWrite: redactSecrets } });

let current: Logger = pino(options(process.env.PAYSTREAM_LOG ?? 'info'), pino.destination({ fd: 2, sync: false }));

export function configureLog(destination: 'stderr' | { file: string }): Logger {
  const level = process.env.PAYSTREAM_LOG ?? 'info';
  current =
    destination === 'stderr'
      ? pino(options(level), pino.destination({ fd: 2, sync: false }))
      : pino(options(level), pino.destination({ dest: privateLogFile(destination.file), mkdir: true, sync: false, mode: 0o600 }));
  return current;
}

export const log = (): Logger => current;

/** Creates the log file with mode 0600 (or sets an existing one to it, whatever the umask): logs name orders. */
function privateLogFile(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  return file;
}
