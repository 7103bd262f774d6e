// The plain data every layer shares: cards, accounts, transfers, orders and their results.
// Money is always bigint minor units of the currency (ISO 4217 exponent); never a JS number.

import type { WireBatchHeader, WireOrder } from './batchfile.ts';

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

/** Reasons for `declined`: a closed list. */
export const DECLINE_REASONS = {
  insufficient_funds: 'the account has not enough available balance',
  card_frozen: 'the card is frozen',
  card_closed: 'the card is closed',
  card_expired: 'the card has expired',
  unknown_card: 'no card with this token',
  unknown_account: 'no such account',
  currency_mismatch: 'the order currency differs from the account currency',
  unknown_ref: 'the referenced order does not exist',
  invalid_ref: 'the referenced order cannot be acted on this way',
  already_captured: 'the authorization was already captured',
  authorization_closed: 'the authorization was voided, canceled or has expired',
  amount_exceeds_authorization: 'capture amount exceeds the authorized amount',
  amount_exceeds_refundable: 'refund amount exceeds what remains refundable',
  not_modifiable: 'the referenced order is final and cannot be canceled or modified',
  merchant_unknown: 'the merchant account does not exist and auto-open is off',
  risk_blocked: 'blocked by a risk rule',
  review_declined: 'declined by an operator in review',
  review_timeout: 'held for review and timed out',
  batch_declined: 'the atomic batch it belongs to was declined',
  batch_rejected: 'the batch it belongs to was rejected',
} as const;
export type DeclineReason = keyof typeof DECLINE_REASONS;

/** Reasons for `rejected`: the order is invalid input. */
export const REJECT_REASONS = {
  invalid_field: 'a field is missing or malformed',
  invalid_amount: 'the amount is not a positive decimal string within the currency exponent',
  amount_not_string: 'amounts must be decimal strings, not JSON numbers',
  amount_too_precise: 'more decimals than the currency allows',
  amount_out_of_range: 'the amount is zero, negative or absurdly large',
  unknown_currency: 'not an ISO 4217 currency code paystream knows',
  invalid_pan: 'the PAN fails the Luhn check or its length is wrong',
  cvv_forbidden: 'CVV/CVC must never be sent (PCI DSS 3.3)',
  sad_forbidden: 'track data, PINs and PIN blocks must never be sent (PCI DSS 3.3)',
  future_dated: 'createdAt is in the future beyond the allowed clock skew',
  too_old: 'createdAt is older than the longest window any state keeps (24 h)',
  batch_unknown: 'no header opened the named batch within the wait, or the waiting area was full',
  internal_error: 'handling the order raised an unexpected error: it was not applied (see its dead letter)',
  id_conflict: 'an order with this id and a different payload came first: this one is not applied (send it under a new id)',
} as const;
export type RejectReason = keyof typeof REJECT_REASONS;

/** Reasons a raw message cannot become an order at all: sent to pay.dlq.<reason>. */
export const DEAD_LETTER_REASONS = {
  too_large: 'the payload exceeds the size limit',
  not_json: 'the payload is not valid JSON',
  not_object: 'the payload is not a JSON object',
  no_id: 'the payload has no usable order id, so no result can be addressed',
  too_deep: 'the payload nests arrays and objects deeper than the decode limit (DEFAULT_NESTING_LEVELS_MAX)',
  internal_error: 'handling the message raised an unexpected error: it is dead-lettered instead of stopping the processor',
  poison: 'the message crashed the processor CRASHED_ATTEMPTS_MAX times when decided alone: dead-lettered undecided',
} as const;
export type DeadLetterReason = keyof typeof DEAD_LETTER_REASONS;

/** The final result of an order, as published on pay.results.<status>.<orderId> and stored. */
export interface OrderResult {
  orderId: string;
  status: ResultStatus;
  reason?: string;
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
