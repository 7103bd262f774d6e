// `paystream orders show` and `paystream review list | approve | decline`: orders, their results, and the
// ones held for an operator's review.

import type { Command } from 'commander';
import type { OrderJson } from '../ledger/api.ts';
import { orderIdArg } from './args.ts';
import type { Globals } from './global-options.ts';
import { withLedger } from './ledger-access.ts';
import { orderBlock, table } from './format.ts';
import { print } from './output.ts';

export function registerOrders(program: Command, globals: Globals): void {
  const orders = program.command('orders').description('look up orders and their results');
  orders
    .command('show')
    .description('an order, its result and its state (holds, captures, refunds)')
    .argument('<orderId>', "the order's id", orderIdArg)
    .option('--json', 'print JSON')
    .action(async (id: string) => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('orders.get', { id })) as { order: OrderJson };
        print(g, out, (v: typeof out) => orderBlock(v.order));
      });
    });
}

export function registerReview(program: Command, globals: Globals): void {
  const review = program.command('review').description('orders held for review: list, approve, decline');
  review
    .command('list')
    .option('--json', 'print JSON')
    .action(async () => {
      const g = globals();
      await withLedger(g, async (call) => {
        const out = (await call('review.list', {})) as { orders: OrderJson[] };
        print(g, out, (v: typeof out) =>
          v.orders.length === 0
            ? 'the review queue is empty'
            : table(['order', 'type', 'amount', 'merchant', 'rule', 'held at'], v.orders.map((o) => [o.orderId, o.type, `${o.amount ?? ''} ${o.currency ?? ''}`, o.merchant ?? '', o.result.rule ?? '', o.result.processedAt])),
        );
      });
    });
  for (const decision of ['approve', 'decline'] as const) {
    review
      .command(decision)
      .description(`${decision} a held order (its final result is published; decided by you, as the ledger or the NATS server knows you)`)
      .argument('<orderId>', 'as review list shows it', orderIdArg)
      .option('--json', 'print JSON')
      .action(async (orderId: string) => {
        const g = globals();
        await withLedger(g, async (call) => {
          const out = (await call(`review.${decision}`, { orderId })) as { result: { status: string; reason?: string } };
          print(g, out, (v: typeof out) => `${orderId}: ${v.result.status}${v.result.reason ? ` (${v.result.reason})` : ''}`);
        });
      });
  }
}
