// Every reason paystream gives, as closed lists: a decline, a rejection, a dead letter, a batch report, a
// risk rule's finding, a service, CLI or NATS error, a ledger violation. Each list maps its codes to what
// they mean; the union types are their keys, so the compiler refuses a reason that is on no list, and
// test/docs/reasons.test.ts holds the README's table of each list to exactly its codes.

/** Reasons for `declined`: a closed list. */
export const DECLINE_REASONS = {
  insufficient_funds: 'the account has not enough available balance',
  card_frozen: 'the card is frozen',
  card_closed: 'the card is closed',
  card_expired: 'the card has expired',
  unknown_card: 'no card with this token',
  unknown_account: 'no such account',
  currency_mismatch: "the order's currency differs from its card's account, its merchant's account or the order it refers to",
  unknown_ref: 'the referenced order does not exist',
  invalid_ref: 'the referenced order cannot be acted on this way',
  already_captured: 'the authorization was already captured',
  authorization_closed: 'the authorization was voided, canceled or has expired',
  amount_exceeds_authorization: 'capture amount exceeds the authorized amount',
  amount_exceeds_refundable: 'refund amount exceeds what remains refundable',
  not_modifiable: 'the referenced order is final and cannot be canceled or modified',
  merchant_unknown: 'the merchant names no merchant account: none exists (and none is opened: auto-open is off, or the order is a payout or refund), or it is a system or cardholder account',
  risk_blocked: 'blocked by a risk rule',
  review_declined: 'declined by an operator in review',
  review_timeout: 'held for review and timed out',
  batch_declined: 'the atomic batch it belongs to was declined',
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
  batch_closed: 'the batch it names had already ended when the order arrived',
  batch_rejected: 'the order came beyond its batch count, or its batch was rejected whole because one of its orders was invalid',
  count_exceeded: 'its batch was rejected whole: an order came when the batch already held as many as it may',
  control_sum_mismatch: "its batch was rejected whole: the orders' amounts do not add up to the header's control sum",
  currency_mismatch: "its batch was rejected whole: an order of it is in another currency than the header's",
  batch_incomplete: 'its batch was rejected whole: not all its orders came before the batch timeout',
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
  batches_disabled: 'a batch header reached a processor that runs without batch handling',
} as const;
export type DeadLetterReason = keyof typeof DEAD_LETTER_REASONS;
/**
 * Any dead letter's reason, the last token of `pay.dlq.<reason>`: a message that never became an order, an
 * order rejected on arrival (validation, batch admission, an id conflict), or a refused batch header.
 */
export type DlqReason = DeadLetterReason | RejectReason | BatchReason;

/** Reasons in a batch report (`pay.reports.<batchId>`) and for a refused batch header. */
export const BATCH_REASONS = {
  invalid_batch:
    "the header is malformed (id, count, control sum, currency or mode), its id holds a card number or differs from its subject's, or it names a batch open for another source",
  batch_too_large: 'the header announces more orders than a batch may hold (batchOrdersMax)',
  cvv_forbidden: 'the header carries a card verification code (PCI DSS 3.3)',
  sad_forbidden: 'the header carries track data, a PIN or a PIN block (PCI DSS 3.3)',
  too_many_open_batches: 'the source already has openBatchesPerSourceMax batches open, or all sources openBatchesMax',
  count_exceeded: 'an order came when the batch already held as many as it may (its count; batchOrdersMax without a header)',
  invalid_member: 'an order naming the batch was invalid (rejected on its own), so the batch is rejected whole',
  control_sum_mismatch: "the orders' amounts do not add up to the header's control sum",
  currency_mismatch: "an order of the batch is in another currency than the header's",
  batch_incomplete: 'the batch was still incomplete when its time ran out (batchTimeoutMs)',
  atomic_batch_failed: 'an order of the atomic batch was not applied, so none was',
  internal_error: 'settling the batch raised an unexpected error: it is rejected whole (see its dead letter)',
} as const;
export type BatchReason = keyof typeof BATCH_REASONS;

/** Error codes of the request/reply service and the CLI (`{"error":{"code":...}}`). */
export const SERVICE_ERROR_CODES = {
  invalid_request: 'the request is not a JSON object with the fields the operation needs',
  too_large: 'the request is larger than the service accepts',
  unauthenticated: 'the broker attests no identity, so only reads are allowed',
  not_running: 'the operation needs a running processor: none runs, or none answers this caller',
  unavailable: 'the processor did not answer in time',
  ledger_locked: 'another process holds the ledger',
  unreadable: 'a stored record could not be read',
  internal: 'an unexpected error; the operation did not happen',
  invalid_field: 'a field holds a card number where none belongs',
  invalid_amount: 'the amount is not a positive decimal string within the currency exponent',
  amount_not_string: 'amounts must be decimal strings, not JSON numbers',
  amount_too_precise: 'more decimals than the currency allows',
  amount_out_of_range: 'the amount is zero, negative or absurdly large',
  invalid_account: "the account id is malformed, or names an account the operation may not use (a funding account; for a card, one not a cardholder's)",
  invalid_expiry: 'the expiry is not MM/YY or MM/YYYY with month 01-12',
  invalid_holder: 'the holder name is empty',
  invalid_owner: 'the owner is empty',
  invalid_pan: 'the PAN fails the Luhn check or its length is wrong',
  cvv_forbidden: 'CVV/CVC must never be sent (PCI DSS 3.3)',
  sad_forbidden: 'track data, PINs and PIN blocks must never be sent (PCI DSS 3.3)',
  unknown_currency: 'not an ISO 4217 currency code paystream knows',
  unknown_card: 'no card matches the token, card number, last four digits or holder name given',
  ambiguous: 'more than one card matches; name it by token',
  unknown_account: 'no such account',
  account_exists: 'an account with this id exists already',
  unknown_order: 'no such order',
  not_held: 'the order is not held for review',
  unknown_batch: 'no such batch',
  unknown_posting: 'no such pending posting',
  card_closed: 'the card is closed, and a closed card cannot be reopened',
  card_expired: 'the card has expired',
  insufficient_funds: 'the account has not enough available balance',
  not_pending: 'the posting is no longer waiting for a decision',
  same_operator: 'the operator who made a posting cannot approve it',
  posting_lapsed: 'the posting waited longer than its lapse time',
} as const;
export type ServiceErrorCode = keyof typeof SERVICE_ERROR_CODES;

/** What `verify` finds wrong with a ledger: the `code` of each violation in its report. */
export const VIOLATION_CODES = {
  sum_not_zero: 'the balances of a currency do not sum to zero (money was made or lost)',
  balance_mismatch: "an account's balance differs from the sum of its transfers",
  overdrawn: 'an account that may not go below zero has less than nothing available',
  holds_mismatch: "an account's holds, the holds list and its open orders' holds disagree, or a closed order still holds",
  bad_result: "an order's stored result does not match the order (id, status, or a duplicate stored)",
  orphan_transfer: 'a transfer names an account the ledger does not have',
  orphan_card: 'a card names an account the ledger does not have',
  transfer_currency: 'a transfer is in another currency than one of its accounts',
  broken_chain: "a transfer or an account's history links to a transfer that is not an earlier chained one",
  audit_chain: 'the audit trail is broken: an entry was altered, removed or put under a wrong key',
  unaudited_transfer: 'a manual deposit or withdrawal has no audit entry: money was moved around the operator commands',
  unreadable: 'a stored record could not be read, or is not where its key says',
} as const;
export type ViolationCode = keyof typeof VIOLATION_CODES;

/** Why connecting to NATS failed (NatsUnreachableError, src/nats/connect.ts). */
export const NATS_ERROR_CODES = {
  nats_unreachable: 'no NATS server answered at the URL given, or it has no JetStream',
  nats_auth_refused: 'the NATS server refused the credentials given, or none were given',
  nats_tls: 'TLS with the NATS server failed',
} as const;
export type NatsErrorCode = keyof typeof NATS_ERROR_CODES;

/** What the command line reports besides the service's codes, NATS's and the key file's (KeyErrorCode). */
export const CLI_ERROR_CODES = {
  usage: 'a flag, argument or environment variable is wrong or contradicts another: nothing was started (exit 2)',
  error: 'the command failed; its message says why (exit 1)',
} as const;
export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

/**
 * What a risk rule found: the `reason` of a held (review) or expired order's result, and of the risk
 * decision the engine hands the apply stage. A blocked order is declined `risk_blocked` and names the rule.
 */
export const RISK_REASONS = {
  stale_order: 'the order was older than the allowed age when it arrived',
  future_dated: 'the order is dated in the future beyond the allowed clock skew',
  blocklist_card: 'the card token is on a block list',
  blocklist_bin: 'the card BIN is on a block list',
  blocklist_merchant: 'the merchant is on a block list',
  blocklist_mcc: 'the merchant category code is on a block list',
  blocklist_country: 'the country is on a block list',
  amount_order: 'the order amount is above the per-order limit',
  amount_card_day: 'the card would spend more than its daily limit',
  amount_account_day: 'the account would spend more than its daily limit',
  velocity_count: 'too many orders in the window',
  velocity_sum: 'too much money in the window',
  duplicate: 'same card, merchant and amount seen moments ago under another order id',
  amount_anomaly: "the amount is far above the card's usual amount",
  new_country: 'first use of the card in this country',
  decline_burst: 'a burst of declined orders on this card',
} as const;
export type RiskReason = keyof typeof RISK_REASONS;

/** A held order canceled by a `cancel` order gets this reason, naming the cancel order's id. */
export type CanceledByReason = `canceled by ${string}`;

/**
 * What a result's `reason` can be. Each status has its own list (declined: DeclineReason, rejected:
 * RejectReason, held, modified and expired: RiskReason, canceled: CanceledByReason), except that the order
 * that fails an atomic batch is declined with the reason of whatever it got (its batch declined with it).
 */
export type ResultReason = DeclineReason | RejectReason | RiskReason | CanceledByReason;
