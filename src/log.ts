// Structured logs (pino): to stderr when headless, to <data>/paystream.log under the dashboard.
// Never log a payload: it may hold a PAN. Log ids, counts, reasons.

import { pino, type Logger } from 'pino';

let current: Logger = pino({ level: process.env.PAYSTREAM_LOG ?? 'info' }, pino.destination({ fd: 2, sync: false }));

export function configureLog(destination: 'stderr' | { file: string }): Logger {
  const level = process.env.PAYSTREAM_LOG ?? 'info';
  current =
    destination === 'stderr'
      ? pino({ level }, pino.destination({ fd: 2, sync: false }))
      : pino({ level }, pino.destination({ dest: destination.file, mkdir: true, sync: false }));
  return current;
}

export const log = (): Logger => current;
