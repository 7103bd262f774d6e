// The names of the operations the CLI and the service run (processor/operations.ts has their table), and which of
// them change something. Pure data: the audit trail's actions are the changing ones, attestation lists the reads.

import { type ReadOpName, isReadOp } from './attestation.ts';

/** Every operation, in the order the service adds its endpoints. */
export const OP_NAMES = [
  'cards.register',
  'cards.list',
  'cards.lookup',
  'cards.show',
  'cards.freeze',
  'cards.unfreeze',
  'cards.close',
  'accounts.open',
  'accounts.deposit',
  'accounts.withdraw',
  'accounts.pending',
  'accounts.approve-posting',
  'accounts.reject-posting',
  'accounts.get',
  'accounts.list',
  'orders.get',
  'review.list',
  'review.approve',
  'review.decline',
  'batches.list',
  'batches.show',
  'stats',
  'verify',
  'rules.reload',
  'audit.list',
] as const;
export type OpName = (typeof OP_NAMES)[number];

/**
 * Counts a request may ask for (`limit`, `transfers`): whole numbers within 1..COUNT_MAX. The largest reply,
 * 1,000 cards or accounts or transfers of ~300 bytes, stays well under the broker's 1 MB message limit.
 */
export const COUNT_MAX = 1000;

/** An operation that changes the ledger or the rules: every one but the reads (attestation.READ_OPS). */
export type ChangingOpName = Exclude<OpName, ReadOpName>;
/** The changing operations, in OP_NAMES order: each writes an audit entry under its own name. */
export const CHANGING_OPS: readonly ChangingOpName[] = OP_NAMES.filter((op): op is ChangingOpName => !isReadOp(op));
