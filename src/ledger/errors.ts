// The ledger's refusal of an operation: a service error code from the closed list, and a message for the operator.

import type { ServiceErrorCode } from '../domain/reasons.ts';

export class LedgerError extends Error {
  override name = 'LedgerError';
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A decision's refusal (src/domain/operator-commands.ts) as the error the operation fails with. */
export const refusalError = (refusal: { code: ServiceErrorCode; message: string }): LedgerError =>
  new LedgerError(refusal.code, refusal.message);
