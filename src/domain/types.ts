// The plain data every layer shares: cards, accounts, transfers, orders and their results.
// Money is always bigint minor units of the currency (ISO 4217 exponent); never a JS number.

import type { WireBatchHeader, WireOrder } from './batchfile.ts';
import type { ResultReason } from './reasons.ts';

export type CardStatus = 'active' | 'frozen' | 'closed';
export type CardBrand =
  | 'visa'
  | 'mastercard'
  | 'amex'
  | 'discover'
  | 'jcb'
  | 'unionpay'
  | 'diners'
  | 'maestro'
  | 'mir'
  | 'unknown';

export interface CardHolder {
  name: string;
  email?: string;
  phone?: string;
}

/** A card as paystream keeps it: never the PAN, never the CVV. */
export interface Card {
  /** keyed HMAC-SHA256 of the PAN, hex (64 chars) */
  token: string;
  first6: string;
  last4: string;
  brand: CardBrand;
  /** MM/YY */
  expiry: string;
  status: CardStatus;
  holder: CardHolder;
  accountId: string;
  createdAt: string;
  /** the tokenization key version the token was made under (src/domain/keys.ts); absent: version 1 */
  keyVersion?: number;
}

export type OwnerKind = 'cardholder' | 'merchant' | 'system';

export interface Account {
  id: string;
  currency: string;
  balanceMinor: bigint;
  /** sum of open holds (pending authorizations, orders held for review) */
  holdsMinor: bigint;
  owner: { kind: OwnerKind; name: string };
  /** only the system account `funding` may go below zero */
  overdraftAllowed: boolean;
  createdAt: string;
  /** the ledger's key of the newest transfer that moved this account (its history starts there); set by the store */
  historyHead?: string;
}

export type TransferKind =
  | 'deposit'
  | 'withdrawal'
  | 'payment'
  | 'capture'
  | 'refund'
  | 'payout';

/** A ledger movement: amount leaves `debit` and arrives at `credit`. */
export interface Transfer {
  id: string;
  debit: string;
  credit: string;
  amountMinor: bigint;
  currency: string;
  kind: TransferKind;
  orderId: string;
  /** epoch ms */
  atMs: number;
}

export const ORDER_TYPES = [
  'payment',
  'authorize',
  'capture',
  'void',
  'refund',
  'payout',
  'cancel',
  'modify',
] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

/**
 * The fields of an order on the wire (batchfile.WireOrder), in the one order a batch file's lines are read in
 * and a dead letter keeps them.
 */
export const WIRE_ORDER_FIELDS = [
  'id',
  'type',
  'card',
  'pan',
  'merchant',
  'amount',
  'currency',
  'ref',
  'batchId',
  'createdAt',
  'mcc',
  'country',
] as const satisfies readonly (keyof WireOrder)[];
/** The fields of a batch header on the wire (batchfile.WireBatchHeader). */
export const WIRE_BATCH_HEADER_FIELDS = [
  'id',
  'count',
  'controlSum',
  'currency',
  'mode',
] as const satisfies readonly (keyof WireBatchHeader)[];

/** An order after decode and validate: typed, amounts in minor units, PAN already tokenized. */
export interface Order {
  id: string;
  type: OrderType;
  cardToken?: string;
  merchant?: string;
  amountMinor?: bigint;
  currency?: string;
  ref?: string;
  batchId?: string;
  createdAtMs: number;
  mcc?: string;
  country?: string;
  /** keyed digest of the payload (src/domain/fingerprint.ts): same id, different fingerprint is an id_conflict */
  fingerprint?: string;
  /**
   * An order sent with a PAN under a key ring of several versions: the PAN's tokens under the older
   * versions, newest first (cardToken holds the current version's). The ledger picks the one its card
   * has (src/domain/keys.ts resolvePanToken) before deciding; never stored.
   */
  panTokens?: string[];
}

export const RESULT_STATUSES = [
  'approved',
  'authorized',
  'captured',
  'voided',
  'refunded',
  'canceled',
  'modified',
  'held',
  'declined',
  'rejected',
  'expired',
] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

/** The final result of an order, as published on pay.results.<status>.<orderId> and stored. */
export interface OrderResult {
  orderId: string;
  status: ResultStatus;
  /** why (src/domain/reasons.ts): for declined, rejected, held, modified under review, expired and canceled held orders */
  reason?: ResultReason;
  /** for `rejected`: which field */
  field?: string;
  /** for risk outcomes: the rule id */
  rule?: string;
  transferId?: string;
  /** available balance of the card account after the order, decimal string */
  available?: string;
  batchId?: string;
  /** for review decisions: who or what decided (operator name, 'timeout') */
  decidedBy?: string;
  processedAt: string;
  latencyMs: number;
  duplicate?: true;
}
