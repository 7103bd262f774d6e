// The apply options' bounds and their parse, apart from the processor's options (options.ts loads the NATS
// client and RxJS): `run` shows and checks its flags without loading either.

import { type ApplyOptions, DEFAULT_APPLY_OPTIONS } from '../domain/apply.ts';
import { type Bounds, OptionsError, choiceOption, wholeOption, withDefaults } from '../domain/option-checks.ts';

const DAY_MS = 24 * 3_600_000;

/** an authorization hold lasts at most a year */
export const AUTHORIZATION_HOLD_MS_BOUNDS: Bounds = { min: 1, max: 365 * DAY_MS };
/** an order waits in review at most 30 days */
export const REVIEW_TIMEOUT_MS_BOUNDS: Bounds = { min: 1, max: 30 * DAY_MS };
export const REVIEW_TIMEOUT_ACTIONS: readonly ApplyOptions['reviewTimeoutAction'][] = ['decline', 'approve'];

/** The ledger decisions' options, parsed: documented defaults for what is missing, each within its bounds. */
export function parseApplyOptions(partial: Partial<ApplyOptions> = {}): ApplyOptions {
  const options = withDefaults(DEFAULT_APPLY_OPTIONS, partial);
  wholeOption('authorizationHoldMs', options.authorizationHoldMs, AUTHORIZATION_HOLD_MS_BOUNDS);
  wholeOption('reviewTimeoutMs', options.reviewTimeoutMs, REVIEW_TIMEOUT_MS_BOUNDS);
  choiceOption('reviewTimeoutAction', options.reviewTimeoutAction, REVIEW_TIMEOUT_ACTIONS);
  if (typeof options.autoOpenMerchants !== 'boolean') throw new OptionsError(`autoOpenMerchants must be true or false, got ${String(options.autoOpenMerchants)}`);
  return options;
}
