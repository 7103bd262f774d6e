// How old an order may be, apart from the order's validation (order.ts compiles a JSON schema when loaded).

/**
 * The oldest an order may be (createdAt before the processor's now): the longest window any state keeps,
 * the risk engine's daily figures, rebuilt from this far back after a restart (processor/launch.ts). An
 * older order could not be judged against the state it belongs to, so it is rejected `too_old` by
 * validation, with or without risk rules.
 */
export const ORDER_AGE_MAX_MS = 24 * 3600_000;
