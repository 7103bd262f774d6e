// The ledger's refusal of an operation: a service error code from the closed list, and a message for the operator.

import type { ServiceErrorCode } from '../domain/reasons.ts';
import type { LockHolder } from './lock.ts';

export class LedgerError extends Error {
  override name = 'LedgerError';
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Another process holds the ledger (lock.ts); the CLI then goes through that process's NATS service. */
export class LedgerLockedError extends Error {
  override name = 'LedgerLockedError';
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      holder
        ? `the ledger at ${dataDir} is in use by process ${holder.pid} (${holder.command}, since ${holder.startedAt}); ` +
            'stop it first, or talk to it through its NATS service'
        : `the ledger at ${dataDir} is in use by another process`,
    );
  }
}

/** A decision's refusal (src/domain/operator-commands.ts) as the error the operation fails with. */
export const refusalError = (refusal: { code: ServiceErrorCode; message: string }): LedgerError =>
  new LedgerError(refusal.code, refusal.message);
