// An order's wire form, apart from its validation (order.ts compiles a JSON schema when loaded): the ledger's
// batches and the CLI's commands write orders without loading it.

import { formatAmount } from './money.ts';
import type { Order } from './types.ts';

/** The wire form of an Order (inverse of validateOrder): amount ungrouped, createdAt ISO UTC, card as token. */
export function orderToWire(order: Order): Record<string, unknown> {
  const wire: Record<string, unknown> = { id: order.id, type: order.type };
  if (order.cardToken !== undefined) wire.card = order.cardToken;
  if (order.merchant !== undefined) wire.merchant = order.merchant;
  if (order.amountMinor !== undefined) {
    if (order.currency === undefined) throw new Error(`order ${order.id} has an amount without a currency`);
    wire.amount = formatAmount(order.amountMinor, order.currency, { grouping: false });
  }
  if (order.currency !== undefined) wire.currency = order.currency;
  if (order.ref !== undefined) wire.ref = order.ref;
  if (order.batchId !== undefined) wire.batchId = order.batchId;
  wire.createdAt = new Date(order.createdAtMs).toISOString();
  if (order.mcc !== undefined) wire.mcc = order.mcc;
  if (order.country !== undefined) wire.country = order.country;
  return wire;
}
